"""D3, second part: every helper-script invocation the docs show uses options the script accepts.

A real defect of the audited history: docs describing ``scripts/build-images.sh --platform``
after the script stopped accepting it. A renamed option is a dangling reference just like a
renamed file, so this is part of D3.

What a script accepts is read statically (the script is never run), through the shell package's
command tree: the patterns of the arms of its ``case "$1" in ... esac`` argument loop, or its
``getopts`` string; command lines in the docs are read with the same reader. A script with neither has no
visible option parser, so its options can't be checked: that is said in the evidence, and it is
not a failure. An option the docs show that the parser doesn't list fails only when the parser
rejects unknown options (a ``-*)`` arm, or a ``*)`` arm that exits non-zero or prints usage).
Hand-written: no library reads a shell script's accepted options.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Iterable

from buildgate.docs.markdown import markdown_refs
from buildgate.errors import InputError
from buildgate.repo import Repo
from buildgate.result import CheckResult
from buildgate.shell import NAME, Node, Simple, dequote, parse, references, split_commands, walk

_CATCH_ALL_OPTION = {"-*", "--*", "-?*", "-[!-]*"}
_REJECTING_WORDS = re.compile(r"\busage\b|\bdie\b")  # `usage`, `echo "usage: ..."`, `die "unknown"`


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


def _commands(nodes: list[Node]) -> list[list[str]]:
    """The unquoted words of every simple command under ``nodes``."""
    return [[dequote(w) for w in n.argv] for n, _up in walk(nodes) if isinstance(n, Simple)]


def _rejects(body: list[Node]) -> bool:
    """An arm that stops the script: ``exit N`` (N not 0), ``return N``, or a usage/die call."""
    for argv in _commands(body):
        status = argv[1] if len(argv) > 1 else ""
        if argv[:1] == ["exit"] and status[:1] in tuple("123456789$"):
            return True
        if argv[:1] == ["return"] and status[:1] in tuple("123456789"):
            return True
        if any(_REJECTING_WORDS.search(w) for w in argv):
            return True
    return False


def _takes_value(body: list[Node]) -> bool:
    """An arm that reads the option's value: ``$2`` or ``shift 2``."""
    for node, _up in walk(body):
        if isinstance(node, Simple):
            if [dequote(w) for w in node.argv[:2]] == ["shift", "2"]:
                return True
            if any("2" in references(w) for w in node.argv):
                return True
    return False


def option_parser(text: str, script: str) -> OptionParser | None:
    """The option parser of a script, or None when it has no visible one."""
    tree = parse(text)
    for case in tree.cases():
        subject = list(references(case.subject.text)) if case.subject is not None else []
        if not any(r == "1" or NAME.fullmatch(r) for r in subject):
            continue
        patterns = [(dequote(p.text), arm) for arm in case.arms for p in arm.patterns]
        options = {p for p, _ in patterns if p.startswith("-") and p not in _CATCH_ALL_OPTION and "*" not in p}
        if not options:
            continue
        rejects = any(p in _CATCH_ALL_OPTION for p, _ in patterns)
        rejects = rejects or any(p == "*" and _rejects(arm.body) for p, arm in patterns)
        takes_value = {p for p, arm in patterns if p in options and _takes_value(arm.body)}
        return OptionParser(script, options, rejects, case.line, takes_value)
    for node, _up in tree.walk():
        argv = [dequote(w) for w in node.argv] if isinstance(node, Simple) else []
        if argv[:1] == ["getopts"] and len(argv) > 1:
            m = re.match(r"[A-Za-z0-9:]*", argv[1].removeprefix(":"))
            spec = m.group(0) if m else ""
            opts = {f"-{c}" for c in spec if c != ":"}
            values = {f"-{c}" for c, nxt in zip(spec, spec[1:] + " ") if c != ":" and nxt == ":"}
            return OptionParser(script, opts, True, node.line, values)
    return None


@dataclass(frozen=True)
class Invocation:
    doc: str
    line: int
    script: str
    options: tuple[str, ...]
    text: str


def invocations(doc: str, text: str, scripts: Iterable[str]) -> list[Invocation]:
    """Every place ``doc`` shows one of ``scripts`` being run, with the options it passes."""
    names = {posixpath.normpath(s): s for s in scripts}
    refs = markdown_refs(text)
    samples = list(refs.code)
    for body, first in refs.fences:
        samples += [(ln, first + i) for i, ln in enumerate(body.splitlines())]
    found = []
    for sample, line in samples:
        for command in split_commands(sample).commands:
            words = [(t.text if t.op else dequote(t.text), t.op) for t in command.words]
            for i, (word, op) in enumerate(words):
                script = None if op else names.get(posixpath.normpath(word.removeprefix("./")))
                if script is None:
                    continue
                opts = []
                for arg, arg_op in words[i + 1:]:
                    if arg == "--" and not arg_op:
                        break
                    if not arg_op and arg.startswith("-") and len(arg) > 1:
                        opts.append(arg)
                found.append(Invocation(doc, line, script, tuple(opts), " ".join(w for w, _ in words[i:]).strip()))
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
