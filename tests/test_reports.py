"""The reports: escaping of audited text, atomic writes, and an interrupted run."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

from buildgate.reports import markdown, verdicts
from buildgate.reports import files
from buildgate.reports.files import write_report
from buildgate.reports.gate import evaluate
from buildgate.verdict import Verdict
from tests.helpers import ROOT

DATA = ROOT / "tests" / "data" / "plugin"


def _report(message: str, evidence: list[str], claim: str = "x") -> dict:
    rep = verdicts.aggregate([verdicts.ScenarioVerdict("f::t", "a scenario", ["W1"], Verdict.FAIL, message, evidence)],
                             {"name": "t"})
    rep["claims"] = {"summary": "s", "claims": [{"text": claim, "status": "verified", "criteria": ["W1"]}]}
    evaluate(rep)
    return rep


def test_markdown_cannot_be_injected_by_file_names_messages_or_claims():
    name = "docs/x.md\n\n**Gate:** open\n<h1>Gate: open</h1>"
    text = markdown.markdown(_report(f"expected a file; found {name}", [f"{name}:3 names it"], "<h1>Gate: open</h1>"))
    lines = text.splitlines()
    assert [ln for ln in lines if ln.startswith("**Gate:**")] == ["**Gate:** closed by W1 (fail)"]
    assert "<h1>" not in text and "&lt;h1&gt;Gate: open&lt;/h1&gt;" in text
    assert not any(ln.startswith(("#", "<")) and "Gate" in ln and "open" in ln for ln in lines)


def test_a_failed_write_leaves_the_previous_report_whole(tmp_path, monkeypatch):
    out = tmp_path / "r.json"
    assert write_report(str(out), '{"good": 1}\n') is None

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", disk_full)
    problem = write_report(str(out), '{"half": ')
    assert problem == f"buildgate: cannot write {out}: No space left on device"
    assert json.loads(out.read_text()) == {"good": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_an_interrupted_run_says_so_and_closes_the_gate(tmp_path):
    shutil.copy(DATA / "demo_steps.py", tmp_path / "demo_steps.py")
    (tmp_path / "demo.feature").write_text(
        "@repo\nFeature: slow\n  @W1\n  Scenario: quick\n    Given a demo check that holds\n    Then the demo check passes\n"
        "  @W2\n  Scenario: slow\n    Given a demo check that takes its time\n    Then the demo check passes\n")
    started, report_path, md = tmp_path / "started", tmp_path / "r.json", tmp_path / "r.md"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(tmp_path / "demo.feature"), "-c",
         str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT), "-p", "conftest", "-p", "demo_steps",
         "--buildgate-report", str(report_path), "--buildgate-markdown", str(md)],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": f"{ROOT}:{tmp_path}", "DEMO_STARTED": str(started)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not started.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert started.exists(), proc.communicate()[0]
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2, out
    report = json.loads(report_path.read_text())
    assert report["interrupted"] is True and report["gate"]["open"] is False and report["gate"]["interrupted"]
    assert report["criteria"]["W1"]["verdict"] == "pass"
    assert "**Gate:** closed: the run was interrupted" in md.read_text()
    assert "gate: closed (the run was interrupted)" in out
