"""What the cluster should run: the Deployments the kustomization renders, and their images.

The rendering itself is :func:`buildgate.kustomize.render` (``kubectl kustomize``, or the
built-in reader); this module only turns its answer into the list K5 compares the cluster with.
"""
from __future__ import annotations

from dataclasses import dataclass

from buildgate.errors import CannotDecide
from buildgate.kustomize import render
from buildgate.reference import split as split_image
from buildgate.repo import Repo


@dataclass(frozen=True)
class ExpectedContainer:
    """A container of a rendered Deployment and the image the kustomization gives it."""

    name: str
    image: str  # as rendered: name:tag, name@digest or name:tag@digest
    source: str | None = None  # file:line of the image in the manifests
    built: bool = False  # the image is one the workflow builds (its digest is checked)

    @property
    def image_name(self) -> str:
        return split_image(self.image)[0]

    @property
    def tag(self) -> str:
        return split_image(self.image)[1]

    @property
    def digest(self) -> str:
        return split_image(self.image)[2]


@dataclass(frozen=True)
class ExpectedDeployment:
    namespace: str
    name: str
    containers: tuple[ExpectedContainer, ...]
    source: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.namespace}/Deployment/{self.name}"


def expected_deployments(repo: Repo, kustomization: str, default_namespace: str,
                         built_images: tuple[str, ...] = ()) -> list[ExpectedDeployment]:
    """The Deployments ``kustomization`` renders, with each container's image.

    ``default_namespace`` applies when the manifests name none (the deployer's namespace).
    Raises :class:`CannotDecide` when no rendered Deployment runs any of ``built_images``:
    then there is nothing K5 could compare.
    """
    rendered = render(repo, kustomization)
    out: list[ExpectedDeployment] = []
    for obj in rendered.objects:
        if obj.kind != "Deployment":
            continue
        containers = tuple(
            ExpectedContainer(c.name, c.image, c.source, split_image(c.image)[0] in built_images)
            for c in obj.containers if not c.init
        )
        out.append(ExpectedDeployment(obj.namespace or default_namespace, obj.name, containers, obj.source))
    if built_images and not any(c.built for d in out for c in d.containers):
        raise CannotDecide(f"the kustomization renders no Deployment running {' or '.join(built_images)} "
                           f"({rendered.evidence})", kustomization)
    return out
