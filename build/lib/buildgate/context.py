"""What every criterion's check is called with: one :class:`Context` per audit or per revision.

A context holds the target and its repository, parses the shared inputs (the build workflow,
the kustomization, its rendering) once and lazily, and reaches the other layers through
*providers*: the pytest side provides them from its fixtures (starting a sandbox when a scenario
first asks), ``buildgate history`` provides none, so a layer check there is ``NotApplicable``.

A value that failed to build (a workflow that doesn't parse) fails the same way for every check
that asks for it, and what building it read (:meth:`Repo.recording`) counts as read by each of
those checks, so the history timeline can reuse an outcome whose inputs did not change.
"""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Callable, Mapping

from buildgate.errors import BuildgateError, NotApplicable
from buildgate.repo import Repo
from buildgate.target import Target

if TYPE_CHECKING:  # pragma: no cover
    from buildgate.kustomize import Kustomization, Rendered
    from buildgate.workflow.model import Workflow

Provider = Callable[[], Any]

# The layers' providers, by the name a check asks for.
LAYER_VALUES = {
    "registry_client": "registry",
    "cluster_reader": "cluster",
    "cluster_config": "cluster",
    "devpod_host": "devpod",
}


class Context:
    """The target, its repository, lazily parsed shared inputs, and the layers' clients."""

    def __init__(self, target: Target, repo: Repo | Provider, providers: Mapping[str, Provider] | None = None,
                 cache: dict[str, Any] | None = None) -> None:
        self.target = target
        self._repo = repo
        self._providers = dict(providers or {})
        self._cache: dict[str, Any] = {} if cache is None else cache
        self._reads: dict[str, set] = {}

    # -- the repository and what is parsed from it -------------------------------------------
    @property
    def repo(self) -> Repo:
        if not isinstance(self._repo, Repo):
            self._repo = self._repo()
        return self._repo

    def memo(self, key: str, make: Callable[[], Any]) -> Any:
        """``make()`` once per context; a buildgate error it raised is raised again each time."""
        # Reads are recorded only on a context opened on a Repo (the history timeline's); a pytest
        # context gets its repository from a fixture, and a devpod probe may not need one at all.
        repo = self._repo if isinstance(self._repo, Repo) else None
        if key not in self._cache:
            with (repo.recording() if repo is not None else contextlib.nullcontext(set())) as reads:
                try:
                    self._cache[key] = make()
                except BuildgateError as exc:
                    self._cache[key] = exc
            self._reads[key] = set(reads)
        elif repo is not None:  # what building it read counts as read by every check that uses it
            for fact in self._reads.get(key, ()):
                repo.record(fact)
        value = self._cache[key]
        if isinstance(value, BuildgateError):
            raise value
        return value

    @property
    def workflow(self) -> Workflow:
        """The claimed workflow or, when that file is missing, the one that builds both images."""
        from buildgate.workflow.builds import subject_workflow

        return self.memo("workflow", lambda: subject_workflow(self.repo, self.target))

    @property
    def kustomization(self) -> Kustomization:
        from buildgate.kustomize import Kustomization

        return self.memo("kustomization", lambda: Kustomization.load(self.repo, self.target.kustomization))

    def rendered(self) -> Rendered:
        """The manifests the kustomization renders (a call: rendering is what K1 decides last)."""
        from buildgate.kustomize import render

        return self.memo("rendered", lambda: render(self.repo, self.target.kustomization))

    @property
    def image_names(self) -> list[str]:
        return [i.name for i in self.target.images]

    # -- the other layers --------------------------------------------------------------------
    def provide(self, name: str) -> Any:
        """A layer's client or setting (``registry_client``, ``cluster_reader``, ``cluster_config``,
        ``devpod_host``); ``NotApplicable`` when this run has no such layer."""
        provider = self._providers.get(name)
        if provider is None:
            raise NotApplicable(f"the {LAYER_VALUES.get(name, name)} layer is not available in this run")
        return provider()

    @property
    def registry(self) -> Any:
        return self.provide("registry_client")

    @property
    def cluster(self) -> Any:
        return self.provide("cluster_reader")

    @property
    def cluster_config(self) -> Any:
        return self.provide("cluster_config")

    @property
    def devpod(self) -> Any:
        return self.provide("devpod_host")
