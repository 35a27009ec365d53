"""GitHub Actions annotations: each failed or errored criterion as a workflow command.

Inside Actions (``GITHUB_ACTIONS=true``), a line ``::error file=F,line=L,title=T::MESSAGE`` on
standard output becomes an annotation on the pull request's diff at ``F:L``. The place is the
first repository-relative ``file:line`` in the criterion's message (else in its evidence); a
criterion with none is annotated without a place. Escaping follows the workflow-command format:
in the message ``%``, CR and LF become ``%25``, ``%0D``, ``%0A``; in a property ``:`` and ``,``
become ``%3A`` and ``%2C`` as well, so audited text can never end the command early or start a
command of its own.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from buildgate.verdict import Verdict

# A repository-relative path with an extension (or a dotfile), then :LINE.
_PLACE = re.compile(r"(?<![\w/.:@-])((?:[\w.-]+/)*[\w-]*\.?[\w-]+\.[A-Za-z0-9]+|(?:[\w.-]+/)*\.[\w-]+):(\d+)\b")
_MAX_MESSAGE = 4000


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def place_of(texts: Iterable[str]) -> tuple[str, int] | None:
    """The first ``file:line`` of the texts whose file is relative to the repository."""
    for text in texts:
        for m in _PLACE.finditer(str(text)):
            path, line = m.group(1), int(m.group(2))
            if not path.startswith(("/", "../")) and "//" not in path and line > 0:
                return path, line
    return None


def workflow_commands(report: dict[str, Any]) -> list[str]:
    """One ``::error`` line per criterion that failed or errored (an interrupted run: one more)."""
    lines = []
    for cid, c in report["criteria"].items():
        verdict = Verdict(c["verdict"])
        if verdict not in (Verdict.FAIL, Verdict.ERROR):
            continue
        props = []
        place = place_of([c["message"], *c.get("evidence", [])])
        if place is not None:
            props += [f"file={escape_property(place[0])}", f"line={place[1]}"]
        title = f"{cid} {verdict.value}: {c.get('title', '')}"
        props.append(f"title={escape_property(title)}")
        message = " ".join(str(c["message"]).split())[:_MAX_MESSAGE]
        lines.append(f"::error {','.join(props)}::{escape_data(message)}")
    if report.get("interrupted"):
        lines.append("::error title=buildgate::the run was interrupted; the gate is closed")
    return lines


def blob_links(text: str, github: str, commit: str) -> str:
    """Markdown text with each repository ``file:line`` linked to the blob at ``commit``.

    ``text`` must already be escaped Markdown (see :func:`buildgate.reports.markdown.inline`);
    only paths made of safe characters are linked.
    """
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", github or "") or not re.fullmatch(r"[0-9a-f]{40}", commit or ""):
        return text

    def link(m: re.Match[str]) -> str:
        path, line = m.group(1), m.group(2)
        if path.startswith(("/", "../")) or "//" in path or not re.fullmatch(r"[\w./-]+", path):
            return m.group(0)
        return f"[{path}:{line}](https://github.com/{github}/blob/{commit}/{path}#L{line})"

    return _PLACE.sub(link, text)
