"""Steps of the cluster layer (K5, K6): each line runs its criterion (part) through the registry."""
from __future__ import annotations

from pytest_buildgate.steps.common import criterion_steps, observation_step

observation_step("given", "the Deployments the kustomization renders", "rendered deployments")

criterion_steps({
    "each Deployment's containers use the kustomization's images": "K5.containers",
    "each rollout completes within the rollout budget": "K5.rollouts",
    "each Deployment's pods run the registry digest of their tag": "K5.digests",
    "the Argo CD Application is Synced and Healthy at a revision containing the kustomization commit": "K6",
})
