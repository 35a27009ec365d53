"""The criterion catalogue (ids, layers, one-line titles), as in CRITERIA.md."""
from __future__ import annotations

from dataclasses import dataclass

LAYERS = ("repo", "registry", "cluster", "devpod")


@dataclass(frozen=True)
class Criterion:
    id: str
    layer: str
    title: str


_TABLE = [
    ("W1", "repo", "The workflow file exists at the claimed path"),
    ("W1b", "repo", "Some workflow builds and pushes both images"),
    ("W2", "repo", "The workflow is valid YAML and a valid workflow"),
    ("W3", "repo", "Triggers: push to main, pull requests, manual runs; path filters cover both contexts"),
    ("W4", "repo", "Builds both images with Buildx from their contexts"),
    ("W5", "repo", "Pushes to GHCR with the workflow token, packages: write, never on pull_request"),
    ("W6", "repo", "Tags: branch name, commit SHA and latest (on the default branch only)"),
    ("W7", "repo", "Layer cache in the GitHub Actions cache"),
    ("W8", "repo", "SBOM and provenance attestations enabled"),
    ("W9", "repo", "A job updates the kustomization after both builds, on push to main, with retry"),
    ("W10", "repo", "The tag written to the kustomization is a tag the build pushes"),
    ("W11", "repo", "Every computed tag is a valid image tag for every triggering event"),
    ("D1", "repo", "DOCKER_BUILD.md covers the overlay error, Actions, devpod trigger, local build, troubleshooting"),
    ("D2", "repo", "README.md links DOCKER_BUILD.md"),
    ("D3", "repo", "Every workflow, script or doc path named in docs and scripts exists"),
    ("S1", "repo", "Helper scripts exist, are executable in git, parse, and have no shellcheck errors"),
    ("S2", "repo", "The devpod trigger and status scripts name a workflow file that exists"),
    ("K1", "repo", "The kustomization overrides each built image, and the rendered manifests use them"),
    ("K2", "repo", "Each newTag names a commit of the repository's history"),
    ("K3", "repo", "History shows the automated tag-update commits"),
    ("K4", "registry", "Each newTag exists in the registry for its image"),
    ("K5", "cluster", "The cluster runs exactly the kustomization's images, rollouts complete"),
    ("K6", "cluster", "The Argo CD Application is Synced and Healthy at a revision with the change"),
    ("G1", "registry", "latest exists for both images"),
    ("G2", "registry", "The tag for the current main commit exists for both images"),
    ("G3", "registry", "latest and the commit tag resolve to the same digest"),
    ("G4", "registry", "Each image index carries SBOM and provenance attestations for every platform"),
    ("G5", "registry", "The provenance names the source repository and the commit"),
    ("G6", "registry", "OCI labels source and revision match repo and commit"),
    ("V1", "devpod", "The devpod's root filesystem is overlay"),
    ("V2", "devpod", "A container build inside the devpod fails with the overlay error"),
    ("V3", "devpod", "The local build script stops in the devpod and names DOCKER_BUILD.md"),
    ("V4", "devpod", "The devpod trigger script asks for exactly the workflow that builds"),
]

CRITERIA: dict[str, Criterion] = {cid: Criterion(cid, layer, title) for cid, layer, title in _TABLE}
