"""Helpers shared by the devpod tests."""
from __future__ import annotations

from buildgate.devpod import DevpodHost


def track(dh: DevpodHost) -> DevpodHost:
    """Remember every temporary folder the harness makes in this devpod (the sandbox's /tmp is
    the host's too, where parallel tests on local:// make folders of the same name)."""
    made: list[str] = []
    mktemp = dh.mktemp_dir

    def recording(*a: object, **kw: object) -> str:
        made.append(mktemp(*a, **kw))  # type: ignore[arg-type]
        return made[-1]

    dh.mktemp_dir = recording  # type: ignore[method-assign]
    dh.made = made  # type: ignore[attr-defined]
    return dh
