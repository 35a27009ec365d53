"""The GitHub CLI's arguments, read offline: which workflow a ``gh`` command line names.

One reading for every place that needs it: S2 and D3 (the helper scripts' ``gh`` commands, read
with the shell reader), V4 (the calls a devpod script made, recorded by a shim) and the claim
audit (commands in a resolution document). Which workflow *file* a name means is
:func:`buildgate.workflow.builds.gh_workflow`.

Hand-written: gh has no Python binding; the flag tables follow ``gh workflow run|view|enable|
disable --help`` and ``gh run list --help`` (a flag that takes a value must be skipped with it).
"""
from __future__ import annotations

import re
from typing import Sequence

# Flags of `gh workflow …` and `gh run list` that take a value (so the word after is no workflow).
VALUE_FLAGS = frozenset({"-r", "--ref", "-f", "--raw-field", "-F", "--field", "-R", "--repo", "-b", "--branch",
                         "-u", "--user", "-L", "--limit", "-e", "--event", "-s", "--status", "-c", "--commit",
                         "-q", "--jq", "-t", "--template", "--json", "--created", "-a", "--attempt", "-i",
                         "--interval", "-w", "--workflow"})
REPO_FLAGS = ("-R", "--repo")
_API_WORKFLOW = re.compile(r"actions/workflows/([^/?\s]+)")


def _positional(args: Sequence[str], value_flags: frozenset[str]) -> int | None:
    """The index of the first positional argument, past flags and the values they take."""
    skip = False
    for i, a in enumerate(args):
        if skip:
            skip = False
            continue
        if a == "--":
            continue
        if a.startswith("-"):
            skip = "=" not in a and a in value_flags
            continue
        return i
    return None


def workflows_named(args: Sequence[str]) -> list[tuple[int, str, str]]:
    """``(index in args, workflow, role)`` for each workflow a gh command line names (``args`` are
    the words after ``gh``). Roles: ``run``/``view``/``enable``/``disable`` (``gh workflow X W``),
    ``filter`` (``gh run list --workflow W``, ``-w W``, ``-wW``), ``api`` (``gh api …/workflows/W…``)."""
    if len(args) < 2:
        return []
    group, action = args[0], args[1]
    out: list[tuple[int, str, str]] = []
    if group == "workflow" and action in ("run", "view", "enable", "disable"):
        flags = VALUE_FLAGS - {"--json"} if action == "run" else VALUE_FLAGS  # run's --json is a boolean
        i = _positional(args[2:], flags)
        if i is not None:
            out.append((i + 2, args[i + 2], action))
    elif group == "run" and action in ("list", "ls"):
        for i, a in enumerate(args[2:], 2):
            if a in ("-w", "--workflow") and i + 1 < len(args):
                out.append((i + 1, args[i + 1], "filter"))
            elif a.startswith("--workflow="):
                out.append((i, a.split("=", 1)[1], "filter"))
            elif a.startswith("-w") and len(a) > 2 and not a.startswith("--"):
                out.append((i, a[2:].lstrip("="), "filter"))
    elif group == "api":
        for i, a in enumerate(args[1:], 1):
            m = _API_WORKFLOW.search(a)
            if m:
                out.append((i, m.group(1), "api"))
    return out


def repo_of(args: Sequence[str]) -> str | None:
    """The repository a gh command line names with ``-R``/``--repo`` (``None`` if none)."""
    for i, a in enumerate(args):
        if a in REPO_FLAGS and i + 1 < len(args):
            return args[i + 1]
        for f in REPO_FLAGS:
            if a.startswith(f + "="):
                return a.split("=", 1)[1]
        if a.startswith("-R") and len(a) > 2 and not a.startswith("--"):
            return a[2:].lstrip("=")
    return None
