"""GitOps objects that deploy the kustomization: Argo CD Applications and ApplicationSets, Flux
Kustomizations and HelmReleases (criterion K7, and the live Application of K6).

* :func:`k7_gitops_applies_tags` -- K7 over a repository (:mod:`.k7`).
* :func:`application_overrides` -- the image overrides of one Application object as the
  Kubernetes API returns it (a dict), for K6 to check the live spec the same way.
"""
from __future__ import annotations

from typing import Iterable

from buildgate.cluster.fields import ref_of
from buildgate.errors import ProtocolError
from buildgate.gitops.images import BuiltImages, Override
from buildgate.gitops.k7 import built_image_aliases, k7_gitops_applies_tags
from buildgate.gitops.objects import Fields, application_deployers, clean_path
from buildgate.repo_url import repo_key


def application_overrides(app: dict, images: Iterable[str], github: str | None = None, folder: str | None = None,
                          aliases: Iterable[str] = ()) -> list[Override]:
    """The settings of a live Argo CD Application that override a built image's tag, digest or name.

    Only sources that deploy ``folder`` of ``github`` count when they are given (None: every
    source). ``aliases``: names the kustomization maps onto a built image (``name: api`` with
    ``newName: ghcr.io/org/api``; :func:`built_image_aliases` reads them). Each
    :class:`Override` has ``describe()`` (one line) and
    ``where`` (``namespace/Application/name``, the field in ``source``). A field of the wrong
    type is a :class:`~buildgate.errors.ProtocolError` naming it. An override whose image can't
    be named (a Helm ``image.tag`` with no repository) is included: on a live object it is a
    setting on the deployed source either way.
    """
    ref = ref_of(app, "Application")
    f = Fields(ref, f"Application {ref.rsplit('/', 1)[-1]}", error=lambda reason, where: ProtocolError(reason, where))
    spec = f.get(app, "spec", dict, "spec")
    built = BuiltImages(images, aliases)
    want = repo_key(github) if github else None
    out: list[Override] = []
    for dep in application_deployers(f, spec, ref):
        if want is not None and (not isinstance(dep.url, str) or repo_key(dep.url) != want):
            continue
        if folder is not None and dep.path != clean_path(folder):
            continue
        out += [ov for ov in dep.overrides if built.override_hits(ov) is not False]
    return out


__all__ = ["Override", "application_overrides", "built_image_aliases", "k7_gitops_applies_tags"]
