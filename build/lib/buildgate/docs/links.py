"""D2: the README links the build docs."""
from __future__ import annotations

import posixpath

from buildgate.repo import Repo
from buildgate.result import CheckResult
from buildgate.docs.markdown import link_path, markdown_refs



def d2_readme_links_docs(repo: Repo, readme: str, docs: str, github: str | None = None) -> CheckResult:
    """D2: the README has a Markdown/HTML link whose target resolves to the docs file."""
    want = posixpath.normpath(docs)
    if not repo.exists(readme):
        return CheckResult.failed(f"{readme} linking {docs}", "no such file")
    text = repo.read_text(readme)
    refs = markdown_refs(text)
    others: list[str] = []
    for href, line in refs.links:
        target = link_path(href, readme, github)
        if target == want:
            note = "" if repo.exists(docs) else f" ({docs} itself does not exist: see D1)"
            return CheckResult.passed(f"{readme}:{line} links {docs}",
                                      [f"{readme}:{line}: link {href} -> {target}{note}"])
        if target and posixpath.basename(target).lower() == posixpath.basename(want).lower():
            others.append(f"{href} ({readme}:{line}) -> {target}")
    if others:
        return CheckResult.failed(f"a link in {readme} to {docs}",
                                  f"links that resolve elsewhere: {'; '.join(others)}", readme, others)
    name = posixpath.basename(want)
    for n, ln in enumerate(text.splitlines(), 1):
        if name.lower() in ln.lower():
            return CheckResult.failed(f"a link in {readme} to {docs}", f"only a bare mention of {name}, not a link",
                                      f"{readme}:{n}", [f"{readme}:{n}: {ln.strip()[:160]}"])
    return CheckResult.failed(f"a link in {readme} to {docs}", f"no link to or mention of {name}", readme)

