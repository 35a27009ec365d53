"""The target file's ``cluster:`` section, read into typed settings with defaults."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from buildgate.errors import TargetError

DEFAULT_NAMESPACE = "moltbook"
DEFAULT_ARGOCD_NAMESPACE = "argocd"
DEFAULT_APPLICATION = "moltbook"
DEFAULT_REQUEST_TIMEOUT = 15.0  # seconds per socket read
DEFAULT_REQUEST_DEADLINE = 60.0  # seconds for one whole answer


@dataclass(frozen=True)
class WaitBudget:
    """How long a step may wait, how often it looks, and how long Degraded is tolerated."""

    timeout: float
    interval: float
    degraded_grace: float

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, default: WaitBudget, key: str = "cluster.wait") -> WaitBudget:
        data = data or {}
        return cls(
            seconds(data.get("timeout", default.timeout), f"{key}.timeout"),
            seconds(data.get("interval", default.interval), f"{key}.interval"),
            seconds(data.get("degraded_grace", default.degraded_grace), f"{key}.degraded_grace"),
        )


def seconds(value: Any, key: str) -> float:
    """A time setting as a float: finite and not negative (NaN passes JSON Schema; not here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise TargetError(f"{key}: expected a finite number of seconds, found {value!r}")
    return float(value)


DEFAULT_ROLLOUT = WaitBudget(timeout=300.0, interval=5.0, degraded_grace=30.0)
DEFAULT_SYNC = WaitBudget(timeout=300.0, interval=5.0, degraded_grace=60.0)


@dataclass(frozen=True)
class ClusterConfig:
    """Where the cluster is and how long to wait for it."""

    kubeconfig: Path | None = None
    context: str | None = None
    in_cluster: bool = False
    namespace: str | None = None
    argocd_namespace: str = DEFAULT_ARGOCD_NAMESPACE
    application: str = DEFAULT_APPLICATION
    rollout: WaitBudget = DEFAULT_ROLLOUT
    sync: WaitBudget = DEFAULT_SYNC
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    request_deadline: float = DEFAULT_REQUEST_DEADLINE

    @property
    def configured(self) -> bool:
        """True when the target names a cluster (a kubeconfig, a context or in-cluster config)."""
        return self.in_cluster or self.kubeconfig is not None or self.context is not None


def cluster_config(section: dict[str, Any] | None, base_dir: Path | None = None) -> ClusterConfig:
    """Build the settings from a validated ``cluster:`` section (see ``buildgate.schema.cluster``).

    A relative ``kubeconfig`` is read relative to ``base_dir`` (the target file's folder).
    """
    s = dict(section or {})
    kubeconfig = None
    if s.get("kubeconfig"):
        p = Path(s["kubeconfig"]).expanduser()
        kubeconfig = (base_dir / p) if (base_dir is not None and not p.is_absolute()) else p
    argo = s.get("argocd") or {}
    wait = s.get("wait") or {}
    return ClusterConfig(
        kubeconfig=kubeconfig,
        context=s.get("context"),
        in_cluster=bool(s.get("in_cluster", False)),
        namespace=s.get("namespace"),
        argocd_namespace=argo.get("namespace", DEFAULT_ARGOCD_NAMESPACE),
        application=argo.get("application", DEFAULT_APPLICATION),
        rollout=WaitBudget.from_dict(wait.get("rollout"), DEFAULT_ROLLOUT, "cluster.wait.rollout"),
        sync=WaitBudget.from_dict(wait.get("sync"), DEFAULT_SYNC, "cluster.wait.sync"),
        request_timeout=seconds(s.get("request_timeout", DEFAULT_REQUEST_TIMEOUT), "cluster.request_timeout"),
        request_deadline=seconds(s.get("request_deadline", DEFAULT_REQUEST_DEADLINE), "cluster.request_deadline"),
    )
