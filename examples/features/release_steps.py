"""A team's own step, beside the vocabulary: loaded because its name ends in ``_steps.py`` and it
sits directly in a folder named by ``--buildgate-features``.

Steps use the public step API (``check``, ``record``) and the library; the check itself lives in
a library call, so this step stays one line of logic.
"""
from __future__ import annotations

from pytest_bdd import then

from buildgate import vocabulary
from pytest_buildgate.verdicts import check, record


@then("the changelog has a section for the latest release tag")
def _changelog_has_release(ctx) -> None:
    tags = ctx.repo.git("tag", "--list", "v*", "--sort=-v:refname").split()
    record([f"release tags: {', '.join(tags[:5]) or 'none'}"])
    version = tags[0].removeprefix("v") if tags else "(no release tag)"
    check(vocabulary.file_contains(ctx.repo, "docs/changelog.md", f"## {version}"))
