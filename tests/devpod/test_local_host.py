"""The devpod host through a stock testinfra backend (``local://``): same probes, same verdicts."""
from __future__ import annotations

import subprocess

from buildgate.devpod import api, open_host, probes


def test_local_backend_reads_the_real_root_mount() -> None:
    dh = open_host("local://")
    assert dh.name == "local://"
    fstype = subprocess.run(["findmnt", "-n", "-o", "FSTYPE", "/"], capture_output=True, text=True).stdout.strip()
    root = probes.root_mount(dh)
    assert root.fstype == fstype
    res = api.v1_overlay_root(dh)
    assert res.ok == (fstype == "overlay")
    if not res.ok:
        assert res.message.startswith(f"expected the devpod's root filesystem to be overlay; found {fstype} ")
        assert "(at local://:/proc/self/mountinfo:" in res.message


def test_local_backend_quotes_arguments(tmp_path) -> None:
    dh = open_host("local://")
    res = dh.run(["printf", "%s|", "$(echo no)", "a b", "*"], cwd=str(tmp_path), env={"Y": "`id`"})
    assert res.stdout == "$(echo no)|a b|*|"
    assert dh.run(["false"]).rc == 1
