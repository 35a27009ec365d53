"""The devpod layer (V1–V4): host access through testinfra, probes, checks.

``host``: :class:`DevpodHost` (argument-list commands over any testinfra backend);
``probes``: root mount, devpod traces, a throwaway build, scripts behind PATH shims;
``gh``: offline validation of gh calls with the real gh; ``checks``: the verdicts;
``api``: one function per step.
"""
from __future__ import annotations

from buildgate.devpod.host import DevpodHost, RunResult, from_target_section, open_host

__all__ = ["DevpodHost", "RunResult", "from_target_section", "open_host"]
