"""The devpod layer (V1–V4): host access through testinfra, probes, checks.

``host``: :class:`DevpodHost` (argument-list commands over any testinfra backend);
``probes``: root mount, devpod traces, a throwaway build and its cause (V1, V2); ``shims``:
scripts run behind recording shims, which calls build or push (V3, V4); ``isolate`` and
``launcher``: how a script runs contained (unprivileged, shims over the real tools, no network,
an allow-listed environment, traced); ``effects``: what the trace shows it did; ``scan``: the
static scan of a script for calls the shims can't see (V3); ``gh``: offline validation of gh
calls with the real gh; ``checks``: the verdicts; ``api``: one function per step.
"""
from __future__ import annotations

from buildgate.devpod.host import DevpodHost, RunResult, from_target_section, open_host

__all__ = ["DevpodHost", "RunResult", "from_target_section", "open_host"]
