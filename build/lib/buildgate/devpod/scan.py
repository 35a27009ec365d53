"""The static scan of a script (V3): the build-tool calls a PATH shim would not see (by absolute
path, through ``command -p``/``env``/``sudo``/``exec``, after a ``PATH`` reset, or through a
path looked up with ``command -v``), and whether each can run before the guard's exit.

The script is read with :mod:`buildgate.shell`: its simple commands and variables
(:func:`~buildgate.shell.parse_shell`) and its functions (the command tree).
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Sequence

from buildgate import shell as sh
from buildgate.devpod.shims import BUILD_TOOLS, Call, build_or_push, subcommand_words

_SHELLS = ("sh", "bash", "dash", "ash", "ksh", "zsh", "busybox")


@dataclass(frozen=True)
class Bypass:
    """A build-tool call in a script that a PATH shim would not see: by absolute path, through
    ``command -p``/``env``/``sudo``/``exec``, after a ``PATH`` reset, or through a path looked up
    with ``command -v``."""

    line: int
    tool: str
    how: str
    text: str
    kind: str | None  # "build" | "push" | "unknown" (subcommand not known statically) | None (harmless)
    reach: bool | None = None  # True: runs before the guard's exit; False: only after it (or never); None: can't tell
    reach_note: str = ""

    @property
    def blocking(self) -> bool:
        """A build or push (or a call that may be one) that can run before the guard stops the script."""
        return self.kind is not None and self.reach is not False


@dataclass
class ScriptScan:
    """What :func:`scan_script` found: the calls the shims can't see, and the guard's exit."""

    bypasses: list[Bypass]
    guard_exit: int | None
    guard_note: str  # how the guard's exit was found, or why it wasn't

    def evidence(self, script: str) -> list[str]:
        if not self.bypasses:
            return ["static scan: no build tool called by absolute path, command -p, env, sudo, exec or after a PATH reset"]
        out = [f"static scan: `{b.text}` calls {b.tool} {b.how} at {script}:{b.line}"
               f" ({b.kind or 'not a build or push'}; {b.reach_note})" for b in self.bypasses]
        return out + [f"static scan: {self.guard_note}"]


def _functions(text: str) -> dict[str, tuple[int, int]]:
    """``{name: (first line, last line)}`` of the functions a script defines."""
    return {f.name: (f.line, f.end_line) for f in sh.parse(text).functions()}


def _lookup_tool(code: str) -> str | None:
    """The build tool a path lookup in ``code`` names: ``command -v docker``, ``which docker``,
    ``type -p docker``, ``hash -t docker``, also inside ``$(...)``."""
    for part in (code, *sh.substitutions(code)):
        for cmd, _guarded in sh.parse(part).simple_commands():
            argv = [sh.dequote(w) for w in cmd.argv]
            if argv[:1] == ["which"]:
                named = argv[1:2]
            elif argv[:2] in (["command", "-v"], ["command", "-V"], ["type", "-p"], ["type", "-P"], ["hash", "-t"]):
                named = argv[2:3]
            else:
                continue
            if named and named[0] in BUILD_TOOLS:
                return named[0]
    return None


def _keeps_path(value: str) -> bool:
    """A ``PATH=`` value that starts with the old PATH (``$PATH:/x``, ``${PATH}``, ``${PATH:-/bin}``)."""
    parts = sh.word_parts(value)
    if not parts:
        return False
    first, rest = parts[0], value[parts[0].end:]
    if first.kind == "var" and first.text == "PATH":
        return rest == "" or rest.startswith(":")
    par = sh.parameter(first.text) if first.kind == "param" else None
    if par is None or par.name != "PATH" or par.index is not None:
        return False
    return par.op.startswith(":") or (par.op == "" and (rest == "" or rest.startswith(":")))


def _variable(word: str) -> str | None:
    """The name when ``word`` is exactly ``$NAME`` or ``${NAME}``."""
    parts = sh.word_parts(word)
    if len(parts) != 1 or parts[0].start != 0 or parts[0].end != len(word):
        return None
    if parts[0].kind == "var":
        return parts[0].text
    par = sh.parameter(parts[0].text) if parts[0].kind == "param" else None
    return par.name if par is not None and not par.op and par.index is None and not par.name.isdigit() else None


def _status_nonzero(words: list[str]) -> bool:
    """``exit N`` with N not a literal 0 (an unknown status counts as non-zero; bare ``exit`` doesn't)."""
    return len(words) > 1 and words[1] != "0"


def scan_script(text: str, docs: str = "DOCKER_BUILD.md", path: str = "<script>") -> ScriptScan:
    """Find the build-tool calls a PATH shim would miss, and whether each can run before the
    guard's exit. The guard's exit is the first top-level ``exit N`` (N ≠ 0), or call of a
    function that exits so, with the docs named within the dozen lines before it (or in that
    function): the refusal V3 asks for. Reachability is read from the text: top-level calls by
    line, calls inside functions by the lines their top-level callers are on."""
    script = sh.parse_shell(text, path)
    lines = text.splitlines()
    funcs = _functions(text)
    lookups = _lookup_vars(text)
    path_resets: list[int] = []
    found: list[tuple[int, str, str, list[str], str]] = []  # (line, tool, how, words after the tool, command)
    calls: dict[str, list[int]] = {}  # function name -> lines it is called on
    exits: list[int] = []
    for cmd in script.commands:
        words = [w.text for w in cmd]
        line = cmd[0].line
        _scan_command(words, line, script.variables, lookups, path_resets, found, 0)
        body = sh.command_words(cmd)
        names, k = sh.assignments([w.text for w in body])
        if k >= len(body):
            if any(n == "PATH" and not _keeps_path(v) for n, _op, v in names):
                path_resets.append(line)
            continue
        first = body[k].text
        if first in funcs and not (line == funcs[first][0] and len(body) == k + 1):  # not its own definition
            calls.setdefault(first, []).append(line)
        if first == "exit" and _status_nonzero([w.text for w in body[k:]]):
            exits.append(line)

    def inside(line: int) -> str | None:
        for name, (a, b) in funcs.items():
            if a < line <= b or (a == line == b):
                return name
        return None

    base = posixpath.basename(docs)
    code_lines = {n for n, ln in enumerate(lines, 1) if not ln.lstrip().startswith("#")}

    def names_docs(a: int, b: int) -> bool:
        return any(base in lines[n - 1] for n in range(max(1, a), min(b, len(lines)) + 1) if n in code_lines)

    exiting = {name for name, (a, b) in funcs.items() if any(a <= e <= b for e in exits)}
    guard_candidates: list[tuple[int, str]] = []
    for e in exits:
        if inside(e) is None and names_docs(e - 12, e):
            guard_candidates.append((e, f"`exit` at line {e}"))
    for name in exiting:
        a, b = funcs[name]
        for c in calls.get(name, []):
            if inside(c) is None and (names_docs(a, b) or names_docs(c - 12, c)):
                guard_candidates.append((c, f"call of {name} (which exits) at line {c}"))
    guard = min(guard_candidates) if guard_candidates else None
    if guard:
        guard_note = f"the guard's exit: {guard[1]}"
    else:
        guard_note = (f"no guard's exit found (no top-level `exit N` with {base} named just before it), "
                      "so buildgate can't tell what runs before it")

    def first_top_call(name: str, seen: frozenset[str] = frozenset()) -> tuple[int | None, bool]:
        """(earliest top-level line at which ``name`` runs, whether that is certain)."""
        best: int | None = None
        certain = True
        for c in calls.get(name, []):
            owner = inside(c)
            if owner is None:
                line_ = c
            elif owner in seen or owner == name:
                certain = False
                continue
            else:
                line_, ok = first_top_call(owner, seen | {name})
                certain = certain and ok
                if line_ is None:
                    continue
            best = line_ if best is None else min(best, line_)
        return best, certain

    bypasses = []
    seen: set[tuple[int, str]] = set()
    for line, tool, how, rest, shown in found:
        if (line, how) in seen:
            continue
        seen.add((line, how))
        kind = _bypass_kind(tool, rest, script.variables)
        owner = inside(line)
        if owner is None:
            at, certain = line, True
        else:
            at, certain = first_top_call(owner)
            if at is None and certain:
                bypasses.append(Bypass(line, tool, how, shown, kind, False,
                                       f"in {owner}, which is never called"))
                continue
        if guard is None or at is None or not certain:
            reach, note = None, "can't tell whether it runs before the guard exits"
        elif at < guard[0]:
            reach, note = True, f"runs before the guard's exit at line {guard[0]}" + (f" (through {owner}, called at line {at})" if owner else "")
        elif at == guard[0]:
            reach, note = None, f"on the guard's own line {guard[0]}: can't tell which runs first"
        else:
            reach, note = False, f"only after the guard's exit at line {guard[0]}" + (f" (through {owner}, called at line {at})" if owner else "")
        bypasses.append(Bypass(line, tool, how, shown, kind, reach, note))
    return ScriptScan(bypasses, guard[0] if guard else None, guard_note)


def _lookup_vars(text: str) -> dict[str, str]:
    """``{NAME: tool}`` for ``NAME=$(command -v docker)``-style assignments (a path resolved once)."""
    out: dict[str, str] = {}
    for cmd in sh.split_commands(text).commands:
        found, _k = sh.assignments([t.text for t in cmd.words if not t.op])
        for name, _op, value in found:
            tool = _lookup_tool(value)
            if tool:
                out[name] = tool
    return out


def _scan_command(words: list[str], line: int, variables: dict[str, list[str]], lookups: dict[str, str],
                  path_resets: list[int], found: list[tuple[int, str, str, list[str], str]], depth: int) -> None:
    """Add the shim-bypassing build-tool call of one simple command (if any) to ``found``."""
    i, how = 0, ""
    while i < len(words) and words[i] in sh.KEYWORDS:
        i += 1
    start = i
    names, k = sh.assignments(words[i:])
    i += k
    if any(n == "PATH" and not _keeps_path(v) for n, _op, v in names):
        how = "with PATH reset in front of it"
    while i < len(words):
        w = words[i]
        if w == "exec":
            i += 1
            while i < len(words) and words[i].startswith("-"):
                i += 2 if words[i] == "-a" else 1
        elif w == "command":
            i += 1
            opts = []
            while i < len(words) and words[i].startswith("-") and words[i] != "--":
                opts.append(words[i])
                i += 1
            if any("v" in o or "V" in o for o in opts):
                return  # a lookup, not a call
            if any("p" in o for o in opts):
                how = "through `command -p` (the default PATH)"
            if i < len(words) and words[i] == "--":
                i += 1
        elif w in ("builtin", "nohup", "time", "nice", "stdbuf", "setsid", "chronic"):
            i += 1
            while i < len(words) and words[i].startswith("-"):
                i += 2 if words[i] in ("-n", "-i", "-o", "-e") else 1
        elif w == "timeout":
            i += 1
            while i < len(words) and words[i].startswith("-"):
                i += 2 if words[i] in ("-s", "-k", "--signal", "--kill-after") else 1
            i += 1  # the duration
        elif w in ("env", "sudo", "doas"):
            if w == "env":
                how = how or "through `env`"
            else:
                how = f"through `{w}` (its own PATH)"
            i += 1
            while i < len(words) and (words[i].startswith("-") or sh.ASSIGN.match(words[i])):
                if words[i] in ("-u", "--unset", "-C", "--chdir", "-S", "--split-string", "-U", "--user", "-g", "--group"):
                    i += 1
                if words[i].startswith("-i") or words[i] == "--ignore-environment" or words[i].startswith("PATH="):
                    how = "through `env` with a replaced environment or PATH" if w == "env" else how
                i += 1
        elif w in _SHELLS and "-c" in words[i + 1:i + 3] and depth < 3:
            j = words.index("-c", i + 1)
            if j + 1 < len(words):
                for sub in sh.parse_shell(words[j + 1]).commands:
                    _scan_command([x.text for x in sub], line, variables, lookups, path_resets, found, depth + 1)
            return
        elif w == "eval" and depth < 3:
            for sub in sh.parse_shell(" ".join(words[i + 1:])).commands:
                _scan_command([x.text for x in sub], line, variables, lookups, path_resets, found, depth + 1)
            return
        else:
            break
    if i >= len(words):
        return
    word, rest = words[i], words[i + 1:]
    shown = " ".join(w for w in words[start:] if w)[:200]
    ref = _variable(word)
    if ref and ref in lookups:
        found.append((line, lookups[ref], f"through ${ref}, a path looked up with command -v", rest, shown))
        return
    looked_up = _lookup_tool(word)
    if looked_up:
        found.append((line, looked_up, "through a path looked up with command -v", rest, shown))
        return
    for value in sh.expand(word, variables):
        tool = value.rsplit("/", 1)[-1]
        if tool not in BUILD_TOOLS:
            continue
        if "/" in value:
            found.append((line, tool, f"by absolute path {value}" if value.startswith("/") else f"by path {value}", rest, shown))
        elif how:
            found.append((line, tool, how, rest, shown))
        elif any(p < line for p in path_resets):
            reset = max(p for p in path_resets if p < line)
            found.append((line, tool, f"after PATH is reset at line {reset}", rest, shown))
        return


def _bypass_kind(tool: str, rest: Sequence[str], variables: dict[str, list[str]]) -> str | None:
    """build/push as :func:`build_or_push` reads the call; "unknown" when its subcommand can't be
    read statically (a variable, a substitution); ``None`` for a harmless call (info, version)."""
    args = []
    for a in rest:
        values = sh.expand(a, variables)
        args.append(values[0] if len(values) == 1 and sh.is_resolved(values[0]) else sh.UNRESOLVED)
    kind = build_or_push(Call(tool, tuple(args)))
    if kind:
        return kind
    if any(sh.UNRESOLVED in w for w in subcommand_words(args)):
        return "unknown"
    return None
