"""Steps for K1-K3 and K7: the kustomization's image overrides, its newTags in history, the bot's
updates, and what deploys it."""
from __future__ import annotations

from pytest_buildgate.steps.common import criterion_steps

criterion_steps({
    "the kustomization overrides every built image and the rendered manifests use it": "K1",
    "every newTag names a commit of the repository's history": "K2",
    "the history shows the automated tag-update commits": "K3",
    "every GitOps object deploying the kustomization's folder applies its tags, from the default branch": "K7",
})
