"""A read-only view of a Kubernetes cluster, on the official ``kubernetes`` client.

The reader only ever issues GET requests (get, list, watch). It asks the typed client APIs for
the raw JSON (``_preload_content=False``) and hands back plain dicts, the objects exactly as
the API serves them. Every way a request can go wrong becomes a one-line exception of
:mod:`buildgate.errors`: 401/403 -> :class:`Unauthorized` naming the missing permission,
unreachable -> :class:`Unreachable`, 5xx or garbage -> :class:`ProtocolError`. Messages never
carry the kubeconfig's credentials or the server's headers.

The ``kubernetes`` client (~150 ms to import) is imported on first use, not with this module:
the constants and :func:`selector_string` serve K5/K6 and the repository-only run without it.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from buildgate.cluster import fields as F
from buildgate.cluster.config import DEFAULT_NAMESPACE, ClusterConfig
from buildgate.errors import (
    CannotDecide,
    InputError,
    NotApplicable,
    ProtocolError,
    RateLimited,
    RemoteError,
    Unauthorized,
    Unreachable,
)
from buildgate.redact import origin_of

if TYPE_CHECKING:  # pragma: no cover
    from kubernetes import client as k8s
    from kubernetes.client.exceptions import ApiException

def _k8s():
    """The ``kubernetes.client`` module, imported on first use."""
    from kubernetes import client

    return client


MAX_RESPONSE_BYTES = 32 * 1024 * 1024
RBAC_DOC = "docs/cluster-rbac.md"


@dataclass(frozen=True)
class Kind:
    """An API resource the reader reads."""

    group: str
    version: str
    plural: str

    @property
    def qualified(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def api_group(self) -> str:
        return f'"{self.group}"' if self.group else '"" (core)'


DEPLOYMENTS = Kind("apps", "v1", "deployments")
PODS = Kind("", "v1", "pods")
EVENTS = Kind("", "v1", "events")
APPLICATIONS = Kind("argoproj.io", "v1alpha1", "applications")


def selector_string(selector: dict | None, where: str | None = None) -> str:
    """A label selector (``matchLabels`` and ``matchExpressions``) in the API's string form.

    A selector of the wrong shape (labels that aren't strings, an expression that isn't an
    object) is a :class:`ProtocolError` naming the field and ``where``."""
    at, kind = where or "label selector", "Deployment"
    if selector is not None and not isinstance(selector, dict):
        raise F.malformed(kind, "spec.selector", "an object", selector, at)
    labels = F.get(selector or {}, "matchLabels", dict, at, kind, {}, prefix="spec.selector.")
    for k, v in labels.items():
        if not isinstance(v, str):
            raise F.malformed(kind, f"spec.selector.matchLabels.{k}", "a string", v, at)
    parts = [f"{k}={v}" for k, v in sorted(labels.items())]
    for i, expr in enumerate(F.objects(selector or {}, "matchExpressions", at, kind, prefix="spec.selector.")):
        pre = f"spec.selector.matchExpressions[{i}]."
        key, op = F.text(expr, "key", at, kind, prefix=pre), F.text(expr, "operator", at, kind, prefix=pre)
        values = F.strings(expr, "values", at, kind, prefix=pre)
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(str(key))
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
        else:
            raise CannotDecide(f"unknown label selector operator {op!r}", where)
    return ",".join(parts)


def _one(out: Any, kind: str, where: str) -> dict | None:
    """A single object as the API served it: a JSON object (or None for 404)."""
    if out is not None and not isinstance(out, dict):
        raise F.malformed(kind, "(the answer)", "an object", out, where)
    return out


def _items(out: Any, kind: str, where: str) -> list[dict]:
    """A list answer's ``items``: a list of objects (``null`` reads as empty)."""
    if not isinstance(out, dict):
        raise F.malformed(kind, "(the answer)", "an object", out, where)
    return list(F.objects(out, "items", where, kind))


class ClusterReader:
    """get/list/watch against one cluster; every answer is a plain dict."""

    def __init__(self, api_client: k8s.ApiClient, *, namespace: str | None = None,
                 request_timeout: float = 15.0, source: str = "cluster") -> None:
        self.api_client = api_client
        self.namespace = namespace or DEFAULT_NAMESPACE
        self.request_timeout = request_timeout
        self.source = source
        self.host = origin_of(api_client.configuration.host)
        k8s = _k8s()
        self._apps = k8s.AppsV1Api(api_client)
        self._core = k8s.CoreV1Api(api_client)
        self._custom = k8s.CustomObjectsApi(api_client)
        self._watch_broken: set[str] = set()
        self.requests = 0

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def from_config(cls, cfg: ClusterConfig) -> ClusterReader:
        """Connect as the target's ``cluster:`` section says; NotApplicable when it names no cluster."""
        if not cfg.configured:
            raise NotApplicable("no cluster configured in the target (set cluster.kubeconfig, "
                                "cluster.context or cluster.in_cluster)")
        from kubernetes import config as k8s_config
        from kubernetes.config.config_exception import ConfigException

        k8s = _k8s()
        conf = k8s.Configuration()
        namespace = cfg.namespace
        try:
            if cfg.in_cluster:
                k8s_config.load_incluster_config(client_configuration=conf)
                source = "in-cluster config"  # the harness's own namespace is not the app's
            else:
                path = str(cfg.kubeconfig) if cfg.kubeconfig else None
                if path is not None and not Path(path).is_file():
                    raise InputError("kubeconfig file not found", path)
                k8s_config.load_kube_config(config_file=path, context=cfg.context, client_configuration=conf,
                                            persist_config=False)
                source = f"kubeconfig {path or '(default)'}" + (f" context {cfg.context}" if cfg.context else "")
                if namespace is None:
                    contexts, current = k8s_config.list_kube_config_contexts(path)
                    active = next((c for c in contexts if c.get("name") == cfg.context), current) if cfg.context else current
                    namespace = ((active or {}).get("context") or {}).get("namespace")
        except (ConfigException, OSError, ValueError, TypeError, AttributeError, yaml.YAMLError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise InputError(f"cannot load the cluster configuration: {first}",
                             str(cfg.kubeconfig or "in-cluster")) from None
        conf.retries = 1
        return cls(k8s.ApiClient(conf), namespace=namespace, request_timeout=cfg.request_timeout, source=source)

    def close(self) -> None:
        self.api_client.close()

    # -- the one place requests go through -----------------------------------------------------
    def _call(self, verb: str, kind: Kind, namespace: str | None, fn: Callable[..., Any], *args: Any,
              missing_ok: bool = False, timeout: float | None = None, **kwargs: Any) -> Any:
        import urllib3
        from kubernetes.client.exceptions import ApiException

        where = f"{namespace}/{kind.qualified}" if namespace else kind.qualified
        self.requests += 1
        try:
            resp = fn(*args, _preload_content=False, _request_timeout=timeout or self.request_timeout, **kwargs)
            data = resp.data
        except ApiException as exc:
            if exc.status == 404 and missing_ok:
                return None
            raise self._error(exc, verb, kind, namespace, where) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise Unreachable(f"cannot reach the cluster API at {self.host}: {type(exc).__name__}", where) from None
        if len(data) > MAX_RESPONSE_BYTES:
            raise ProtocolError(f"answer to {verb} {kind.qualified} is {len(data)} bytes, over the limit", where)
        try:
            return json.loads(data)
        except ValueError:
            raise ProtocolError(f"answer to {verb} {kind.qualified} is not JSON", where) from None

    def _error(self, exc: ApiException, verb: str, kind: Kind, namespace: str | None, where: str) -> RemoteError:
        status = exc.status or 0
        scope = f"in namespace {namespace}" if namespace else "at cluster scope"
        if status == 401:
            return Unauthorized(f"the cluster at {self.host} rejected the credentials (401) on {verb} "
                                f"{kind.qualified}", where)
        if status == 403:
            return Unauthorized(
                f"forbidden (403): missing permission to {verb} {kind.qualified} {scope} "
                f"(apiGroup {kind.api_group}, resource {kind.plural!r}, verb {verb!r}); "
                f"grant it as in {RBAC_DOC}", where)
        if status == 404:
            return CannotDecide(f"the cluster does not serve {kind.qualified} ({kind.group or 'core'}/{kind.version})",
                                where)
        if status == 429:
            return RateLimited(f"the cluster API throttled {verb} {kind.qualified} (429)", where)
        return ProtocolError(f"the cluster API answered {status} {exc.reason or ''} on {verb} {kind.qualified}".strip(),
                             where)

    # -- reads ---------------------------------------------------------------------------------
    # Every answer's shape is checked here (an object; a list's ``items`` a list of objects);
    # the fields inside are checked where they are read (buildgate.cluster.fields).
    def get_deployment(self, namespace: str, name: str) -> dict | None:
        out = self._call("get", DEPLOYMENTS, namespace, self._apps.read_namespaced_deployment, name, namespace,
                         missing_ok=True)
        return _one(out, "Deployment", f"{namespace}/Deployment/{name}")

    def list_pods(self, namespace: str, label_selector: str) -> list[dict]:
        out = self._call("list", PODS, namespace, self._core.list_namespaced_pod, namespace,
                         label_selector=label_selector)
        return _items(out, "PodList", f"{namespace}/{PODS.qualified}")

    def list_events(self, namespace: str, kind: str, name: str) -> list[dict]:
        """Events about one object, oldest first."""
        out = self._call("list", EVENTS, namespace, self._core.list_namespaced_event, namespace,
                         field_selector=f"involvedObject.kind={kind},involvedObject.name={name}")
        items = _items(out, "EventList", f"{namespace}/{EVENTS.qualified}")

        def when(e: dict) -> str:
            where = F.ref_of(e, "Event", namespace)
            return (F.text(e, "lastTimestamp", where, "Event") or F.text(e, "eventTime", where, "Event")
                    or F.text(e, "metadata.creationTimestamp", where, "Event"))

        return sorted(items, key=when)

    def argocd_served(self) -> bool:
        """Whether the cluster serves ``applications.argoproj.io/v1alpha1`` (the Argo CD CRD)."""
        out = self._call("get", Kind("argoproj.io", "v1alpha1", "(discovery)"), None,
                         self._custom.get_api_resources, APPLICATIONS.group, APPLICATIONS.version, missing_ok=True)
        if out is None:
            return False
        where = "argoproj.io/v1alpha1 (discovery)"
        if not isinstance(out, dict):
            raise F.malformed("APIResourceList", "(the answer)", "an object", out, where)
        resources = F.objects(out, "resources", where, "APIResourceList")
        return any(F.text(r, "name", where, "APIResourceList", prefix=f"resources[{i}].") == APPLICATIONS.plural
                   for i, r in enumerate(resources))

    def get_application(self, namespace: str, name: str) -> dict | None:
        out = self._call("get", APPLICATIONS, namespace, self._custom.get_namespaced_custom_object,
                         APPLICATIONS.group, APPLICATIONS.version, namespace, APPLICATIONS.plural, name,
                         missing_ok=True)
        return _one(out, "Application", f"{namespace}/Application/{name}")

    # -- waiting -------------------------------------------------------------------------------
    def wait_for_change(self, kind: Kind, namespace: str, name: str, resource_version: str | None,
                        timeout: float) -> bool:
        """Block up to ``timeout`` seconds until ``name`` changes after ``resource_version``.

        Uses a watch with ``timeoutSeconds`` (and a client read timeout just past it, so a
        server that ignores it can't hold us); falls back to sleeping when the watch is refused
        or unavailable. Returns True when a change arrived, False when the time ran out.
        """
        start = time.monotonic()
        secs = int(timeout)
        if secs >= 1 and resource_version and kind.qualified not in self._watch_broken:
            try:
                if self._watch_once(kind, namespace, name, resource_version, secs):
                    return True
            except RemoteError:
                self._watch_broken.add(kind.qualified)  # e.g. no "watch" permission: poll instead
        rest = timeout - (time.monotonic() - start)
        if rest > 0:
            time.sleep(rest)
        return False

    def _watch_once(self, kind: Kind, namespace: str, name: str, rv: str, secs: int) -> bool:
        if kind == DEPLOYMENTS:
            fn, args = self._apps.list_namespaced_deployment, (namespace,)
        elif kind == APPLICATIONS:
            fn = self._custom.list_namespaced_custom_object
            args = (kind.group, kind.version, namespace, kind.plural)
        else:
            raise CannotDecide(f"no watch for {kind.qualified}")
        import urllib3
        from kubernetes import watch as k8s_watch
        from kubernetes.client.exceptions import ApiException

        w = k8s_watch.Watch()
        self.requests += 1
        try:
            for event in w.stream(fn, *args, field_selector=f"metadata.name={name}", resource_version=rv,
                                  timeout_seconds=secs, _request_timeout=(min(5.0, secs), secs + 1.0),
                                  deserialize=False):
                if isinstance(event, dict) and event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                    w.stop()
                    return True
        except ApiException as exc:
            raise self._error(exc, "watch", kind, namespace, f"{namespace}/{kind.qualified}") from None
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
            return False
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise Unreachable(f"watch on {kind.qualified} failed: {type(exc).__name__}") from None
        return False
