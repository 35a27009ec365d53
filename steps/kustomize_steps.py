"""Steps for K1-K3: the kustomization's image overrides, its newTags in history, the bot's updates.

``Given the target repository`` is shared with the other repository steps (steps/docs_steps.py).
"""
from __future__ import annotations

import pytest
from pytest_bdd import then

from buildgate import kustomize, tag_history
from buildgate.kustomize import Kustomization, Rendered
from buildgate.repo import Repo
from buildgate.target import Target
from steps.common import check


@then("the kustomization overrides every built image and the rendered manifests use it")
def _kustomization_overrides_images(kustomization: Kustomization, target: Target, request: pytest.FixtureRequest) -> None:
    # Rendered only once the file is known to be a Kustomization (a wrong kind fails K1).
    def rendered() -> Rendered:
        return request.getfixturevalue("kustomize_rendered")

    check(kustomize.k1_overrides_apply(kustomization, rendered, [i.name for i in target.images]))


@then("every newTag names a commit of the repository's history")
def _newtags_in_history(repo: Repo, kustomization: Kustomization, target: Target) -> None:
    check(tag_history.k2_newtags_in_history(repo, kustomization, [i.name for i in target.images]))


@then("the history shows the automated tag-update commits")
def _bot_updates(repo: Repo, target: Target) -> None:
    check(tag_history.k3_bot_updates(repo, target.kustomization, target.workflows_dir, target.bot_authors))
