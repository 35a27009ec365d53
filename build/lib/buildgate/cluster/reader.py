"""A read-only view of a Kubernetes cluster, on the official ``kubernetes`` client.

The reader only ever issues GET requests (get, list, watch). It asks the typed client APIs for
the raw JSON (``_preload_content=False``) and hands back plain dicts, the objects exactly as
the API serves them. Every way a request can go wrong becomes a one-line exception of
:mod:`buildgate.errors`: 401/403 -> :class:`Unauthorized` naming the missing permission,
unreachable -> :class:`Unreachable`, 5xx or garbage -> :class:`ProtocolError`, a redirect ->
:class:`ProtocolError` naming where it pointed (never followed). Messages never carry the
kubeconfig's credentials or the server's headers.

Under the client, :mod:`buildgate.cluster.http` bounds every request: ``request_timeout`` per
socket read, ``request_deadline`` for the whole answer, :data:`MAX_RESPONSE_BYTES` of body. A
watch (:meth:`ClusterReader.wait_for_change`) is read line by line and ends at the wait's own
deadline, whatever the server sends (BOOKMARKs forever, no end); an ERROR event with 410 Gone
(the resourceVersion expired) re-lists and watches again.

Credential plugins: a kubeconfig user with ``exec:`` or ``auth-provider:`` makes the official
client run that program, as kubectl does; :attr:`ClusterReader.plugin` names it and
:meth:`ClusterReader.describe` says so in the evidence (see docs/cluster-rbac.md).

The ``kubernetes`` client (~150 ms to import) is imported on first use, not with this module:
the constants and :func:`selector_string` serve K5/K6 and the repository-only run without it.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import yaml

from buildgate.bounded import Deadline, loads_json
from buildgate.cluster import fields as F
from buildgate.cluster.config import DEFAULT_NAMESPACE, DEFAULT_REQUEST_DEADLINE, ClusterConfig
from buildgate.cluster.http import install
from buildgate.errors import (
    BuildgateError,
    CannotDecide,
    InputError,
    NotApplicable,
    ProtocolError,
    RateLimited,
    RemoteError,
    Unauthorized,
    Unreachable,
)
from buildgate.redact import origin_of, safe_url

if TYPE_CHECKING:  # pragma: no cover
    from kubernetes import client as k8s
    from kubernetes.client.exceptions import ApiException

def _k8s():
    """The ``kubernetes.client`` module, imported on first use."""
    from kubernetes import client

    return client


MAX_RESPONSE_BYTES = 32 * 1024 * 1024  # one answer, or one whole watch stream
MAX_WATCH_LINE = 4 * 1024 * 1024  # one watch event
WATCH_GRACE = 2.0  # seconds a watch may outlive its timeoutSeconds before it is cut
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
                 request_timeout: float = 15.0, source: str = "cluster",
                 request_deadline: float = DEFAULT_REQUEST_DEADLINE, plugin: str | None = None,
                 max_bytes: int = MAX_RESPONSE_BYTES) -> None:
        self.api_client = api_client
        self.namespace = namespace or DEFAULT_NAMESPACE
        self.request_timeout = request_timeout
        self.request_deadline = request_deadline
        self.source = source
        self.plugin = plugin
        self.host = origin_of(api_client.configuration.host)
        self._http = install(api_client, request_deadline=request_deadline, max_bytes=max_bytes)
        self._gone: set[str] = set()  # watches whose last answer was 410 Gone
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
        plugin = None
        try:
            if cfg.in_cluster:
                k8s_config.load_incluster_config(client_configuration=conf)
                source = "in-cluster config"  # the harness's own namespace is not the app's
            else:
                path = str(cfg.kubeconfig) if cfg.kubeconfig else None
                if path is not None and not Path(path).is_file():
                    raise InputError("kubeconfig file not found", path)
                plugin = credential_plugin(path, cfg.context)
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
        return cls(k8s.ApiClient(conf), namespace=namespace, request_timeout=cfg.request_timeout, source=source,
                   request_deadline=cfg.request_deadline, plugin=plugin)

    def close(self) -> None:
        self.api_client.close()

    def describe(self) -> str:
        """One evidence line: which cluster, from where, and any credential plugin it ran."""
        line = f"cluster {self.host} ({self.source})"
        if self.plugin:
            line += (f"; credentials from the kubeconfig's {self.plugin}, a program the kubeconfig names, "
                     f"run as kubectl would run it")
        return line

    # -- the one place requests go through -----------------------------------------------------
    def _call(self, verb: str, kind: Kind, namespace: str | None, fn: Callable[..., Any], *args: Any,
              missing_ok: bool = False, timeout: float | None = None, **kwargs: Any) -> Any:
        import urllib3
        from kubernetes.client.exceptions import ApiException

        where = f"{namespace}/{kind.qualified}" if namespace else kind.qualified
        self.requests += 1
        read_timeout = timeout or self.request_timeout
        try:
            with self._http.limits(Deadline(self.request_deadline, "request deadline")):
                resp = fn(*args, _preload_content=False, _request_timeout=(read_timeout, read_timeout), **kwargs)
            data = resp.data
        except ApiException as exc:
            if exc.status == 404 and missing_ok:
                return None
            raise self._error(exc, verb, kind, namespace, where) from None
        except BuildgateError as exc:  # the bounded HTTP layer: deadline, size, read-only
            raise type(exc)(f"{verb} {kind.qualified} at {self.host}: {exc.reason}", where) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise Unreachable(f"cannot reach the cluster API at {self.host}: {type(exc).__name__}", where) from None
        return loads_json(data, f"answer to {verb} {kind.qualified}", where)

    def _error(self, exc: ApiException, verb: str, kind: Kind, namespace: str | None, where: str) -> RemoteError:
        status = exc.status or 0
        scope = f"in namespace {namespace}" if namespace else "at cluster scope"
        if 300 <= status < 400:
            location = (exc.headers or {}).get("location") if hasattr(exc.headers or {}, "get") else None
            target = origin_of(urljoin(self.api_client.configuration.host + "/", location)) if location else None
            to = ("without saying where" if not target else
                  f"to {target}, another host" if target != self.host else f"to {safe_url(location)} on the same host")
            return ProtocolError(f"the cluster API at {self.host} answered {verb} {kind.qualified} with a redirect "
                                 f"({status}) {to}; an API server does not redirect, so buildgate does not follow it "
                                 f"(is the kubeconfig's server address a proxy or a login page?)", where)
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

        Uses a watch with ``timeoutSeconds``, cut :data:`WATCH_GRACE` seconds after it however
        the server behaves (BOOKMARKs forever, a drip, no end); falls back to sleeping when the
        watch is refused, unavailable or malformed. A 410 Gone (the resourceVersion expired)
        returns True at once, so the caller re-lists and watches again from a fresh version;
        a second 410 in a row sleeps instead, so a server answering only 410 can't spin the
        wait. Returns True when a change arrived (or a re-list is due), False when the time
        ran out.
        """
        start = time.monotonic()
        secs = int(timeout)
        key = f"{namespace}/{kind.qualified}/{name}"
        if secs >= 1 and resource_version and kind.qualified not in self._watch_broken:
            try:
                outcome = self._watch_once(kind, namespace, name, resource_version, secs)
            except RemoteError:
                self._watch_broken.add(kind.qualified)  # e.g. no "watch" permission: poll instead
                outcome = "broken"
            if outcome == "changed":
                self._gone.discard(key)
                return True
            if outcome == "gone" and key not in self._gone:
                self._gone.add(key)
                return True
        rest = timeout - (time.monotonic() - start)
        if rest > 0:
            time.sleep(rest)
        return False

    def _watch_once(self, kind: Kind, namespace: str, name: str, rv: str, secs: int) -> str:
        """One watch: ``changed``, ``timeout`` (nothing within ``secs``) or ``gone`` (410)."""
        if kind == DEPLOYMENTS:
            fn, args = self._apps.list_namespaced_deployment, (namespace,)
        elif kind == APPLICATIONS:
            fn = self._custom.list_namespaced_custom_object
            args = (kind.group, kind.version, namespace, kind.plural)
        else:
            raise CannotDecide(f"no watch for {kind.qualified}")
        import urllib3
        from kubernetes.client.exceptions import ApiException

        where = f"{namespace}/{kind.qualified}"
        self.requests += 1
        deadline = Deadline(secs + WATCH_GRACE, "watch deadline")
        try:
            with self._http.limits(deadline):
                resp = fn(*args, field_selector=f"metadata.name={name}", resource_version=rv, watch=True,
                          allow_watch_bookmarks=True, timeout_seconds=secs, _preload_content=False,
                          _request_timeout=(min(5.0, float(secs)), secs + WATCH_GRACE))
        except ApiException as exc:
            if exc.status == 410:
                return "gone"
            raise self._error(exc, "watch", kind, namespace, where) from None
        except Unreachable:
            if deadline.expired:
                return "timeout"
            raise
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise Unreachable(f"watch on {kind.qualified} failed: {type(exc).__name__}", where) from None
        try:
            for line in resp.lines(MAX_WATCH_LINE):
                event = loads_json(line, f"watch event on {kind.qualified}", where)
                typ = event.get("type") if isinstance(event, dict) else None
                if typ in ("ADDED", "MODIFIED", "DELETED"):
                    return "changed"
                if typ == "ERROR":
                    obj = event.get("object")
                    code = obj.get("code") if isinstance(obj, dict) else None
                    if code == 410:
                        return "gone"
                    reason = obj.get("reason") if isinstance(obj, dict) else None
                    raise ProtocolError(f"watch on {kind.qualified} ended with an ERROR event "
                                        f"({code!r} {reason if isinstance(reason, str) else ''})".strip(), where)
                if typ != "BOOKMARK":
                    raise ProtocolError(f"watch on {kind.qualified} sent an event of unknown type {typ!r}"[:200], where)
        except Unreachable:
            if resp.expired:  # the watch outlived its time: the wait's budget decides, not an error
                return "timeout"
            raise
        finally:
            resp.close()
        return "timeout"


def credential_plugin(path: str | None, context: str | None) -> str | None:
    """The credential plugin the kubeconfig's active user runs (``exec plugin `aws```,
    ``auth-provider `oidc```), or None. Read from the same files the official client reads
    (``path``, else ``$KUBECONFIG``'s list, else ``~/.kube/config``; the first one naming a
    thing wins, as kubectl merges them). Problems reading them are left to the client."""
    files = [path] if path else [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p] or \
        [str(Path("~/.kube/config").expanduser())]
    docs = []
    for f in files:
        try:
            if Path(f).is_file() and Path(f).stat().st_size <= 4 * 1024 * 1024:
                doc = yaml.safe_load(Path(f).read_text())
                if isinstance(doc, dict):
                    docs.append(doc)
        except (OSError, ValueError, yaml.YAMLError, RecursionError):
            continue

    def first(key: str, name: str | None) -> dict:
        for doc in docs:
            for item in doc.get(key) or []:
                if isinstance(item, dict) and item.get("name") == name:
                    return item
        return {}

    current = context or next((d.get("current-context") for d in docs if d.get("current-context")), None)
    ctx = first("contexts", current).get("context") or {}
    user = (first("users", ctx.get("user")) if isinstance(ctx, dict) else {}).get("user") or {}
    if not isinstance(user, dict):
        return None
    if isinstance(user.get("exec"), dict):
        command = user["exec"].get("command")
        return f"exec plugin `{os.path.basename(str(command))}`" if command else "exec plugin (no command)"
    if isinstance(user.get("auth-provider"), dict):
        return f"auth-provider `{user['auth-provider'].get('name')}`"
    return None
