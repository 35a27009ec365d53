"""D3, second part: every helper-script invocation the docs show uses options the script accepts.

A real defect of the audited history: docs describing ``scripts/build-images.sh --platform``
after the script stopped accepting it. A renamed option is a dangling reference just like a
renamed file, so this is part of D3.

What a script accepts is read statically (the script is never run): the option patterns of its
``case "$1" in ... esac`` argument loop, or its ``getopts`` string. A script with neither has no
visible option parser, so its options can't be checked: that is said in the evidence, and it is
not a failure. An option the docs show that the parser doesn't list fails only when the parser
rejects unknown options (a ``-*)`` arm, or a ``*)`` arm that exits non-zero or prints usage).
Hand-written: no library reads a shell script's accepted options.
"""
from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field
from typing import Iterable

from buildgate.docs.markdown import markdown_refs
from buildgate.errors import InputError
from buildgate.repo import Repo
from buildgate.result import CheckResult

_CASE = re.compile(r"\bcase\s+(\S+)\s+in\b(.*?)\besac\b", re.S)
_ARM = re.compile(r"(?m)^[ \t]*\(?[ \t]*([^\s()#][^)\n]*?)[ \t]*\)")
_GETOPTS = re.compile(r"""\bgetopts\s+["']?:?([A-Za-z0-9:]+)["']?""")
_CATCH_ALL_OPTION = {"-*", "--*", "-?*", "-[!-]*"}
_REJECTS = re.compile(r"\bexit\s+[1-9]|\bexit\s+\$|\busage\b|\bdie\b|\breturn\s+[1-9]")


@dataclass
class OptionParser:
    """The options a script's argument loop lists, and whether unknown ones are rejected."""

    script: str
    options: set[str] = field(default_factory=set)
    rejects_unknown: bool = False
    line: int = 0
    takes_value: set[str] = field(default_factory=set)

    def accepts(self, option: str) -> bool:
        name = option.split("=", 1)[0]
        return name in self.options or not self.rejects_unknown


def option_parser(text: str, script: str) -> OptionParser | None:
    """The option parser of a script, or None when it has no visible one."""
    for m in _CASE.finditer(text):
        subject, body = m.group(1), m.group(2)
        if not re.search(r"\$\{?(1|[A-Za-z_][A-Za-z0-9_]*)\}?", subject):
            continue
        arms = list(_ARM.finditer(body))
        patterns = [(p.strip().strip("\"'"), a) for a in arms for p in a.group(1).split("|")]
        options = {p for p, _ in patterns if p.startswith("-") and p not in _CATCH_ALL_OPTION and "*" not in p}
        if not options:
            continue
        line = text.count("\n", 0, m.start()) + 1
        rejects = any(p in _CATCH_ALL_OPTION for p, _ in patterns)
        for p, arm in patterns:
            if p == "*":
                nxt = body.find(";;", arm.end())
                if _REJECTS.search(body[arm.end(): nxt if nxt != -1 else len(body)]):
                    rejects = True
        takes_value = set()
        for p, arm in patterns:
            nxt = body.find(";;", arm.end())
            if p in options and re.search(r"\$2|\bshift\s+2\b", body[arm.end(): nxt if nxt != -1 else len(body)]):
                takes_value.add(p)
        return OptionParser(script, options, rejects, line, takes_value)
    g = _GETOPTS.search(text)
    if g:
        spec = g.group(1)
        opts = {f"-{c}" for c in spec if c != ":"}
        values = {f"-{c}" for c, nxt in zip(spec, spec[1:] + " ") if c != ":" and nxt == ":"}
        return OptionParser(script, opts, True, text.count("\n", 0, g.start()) + 1, values)
    return None


@dataclass(frozen=True)
class Invocation:
    doc: str
    line: int
    script: str
    options: tuple[str, ...]
    text: str


def _split(command: str) -> list[str]:
    try:
        return shlex.split(command, comments=True)
    except ValueError:  # an unterminated quote in a docs sample: read it word by word
        return command.split()


def invocations(doc: str, text: str, scripts: Iterable[str]) -> list[Invocation]:
    """Every place ``doc`` shows one of ``scripts`` being run, with the options it passes."""
    names = {posixpath.normpath(s): s for s in scripts}
    refs = markdown_refs(text)
    samples = list(refs.code)
    for body, first in refs.fences:
        samples += [(ln, first + i) for i, ln in enumerate(body.splitlines())]
    found = []
    for sample, line in samples:
        for command in re.split(r"\|\||&&|[|;]", sample):
            words = _split(command)
            for i, word in enumerate(words):
                script = names.get(posixpath.normpath(word.removeprefix("./")))
                if script is None:
                    continue
                opts = []
                for arg in words[i + 1:]:
                    if arg == "--":
                        break
                    if arg.startswith("-") and len(arg) > 1:
                        opts.append(arg)
                found.append(Invocation(doc, line, script, tuple(opts), " ".join(words[i:]).strip()))
                break
    return found


def d3_docs_show_accepted_options(repo: Repo, docs: Iterable[str], scripts: Iterable[str]) -> CheckResult:
    """Every option the docs pass to a helper script is one the script's parser accepts."""
    scripts = [s for s in dict.fromkeys(scripts)]
    parsers: dict[str, OptionParser | None] = {}
    evidence: list[str] = []
    for s in scripts:
        try:
            parsers[s] = option_parser(repo.read_text(s), s)
        except InputError as exc:
            parsers[s] = None
            evidence.append(f"{s}: not read ({exc.reason}); its options are not checked")
            continue
        p = parsers[s]
        evidence.append(
            f"{s}: no option parser found; its options are not checked" if p is None else
            f"{s}:{p.line} accepts {', '.join(sorted(p.options))}"
            + ("" if p.rejects_unknown else " (and ignores unknown options)")
        )
    bad = []
    for doc in dict.fromkeys(docs):
        if not repo.exists(doc):
            continue
        try:
            text = repo.read_text(doc)
        except InputError as exc:
            evidence.append(f"{doc}: not read ({exc.reason})")
            continue
        for inv in invocations(doc, text, scripts):
            p = parsers.get(inv.script)
            if p is None:
                continue
            rejected = [o for o in inv.options if not p.accepts(o)]
            evidence.append(f"{doc}:{inv.line} runs `{inv.text}`" + (f": {', '.join(rejected)} rejected" if rejected else ""))
            for option in rejected:
                bad.append(CheckResult.failed(
                    f"options {inv.script} accepts ({', '.join(sorted(p.options))}; {inv.script}:{p.line})",
                    f"the docs show `{inv.text}` with {option}", f"{doc}:{inv.line}"))
    if bad:
        first = bad[0].message
        more = f" (+{len(bad) - 1} more)" if len(bad) > 1 else ""
        return CheckResult(False, first + more, evidence)
    return CheckResult.passed("every script option the docs show is accepted by its script", evidence)
