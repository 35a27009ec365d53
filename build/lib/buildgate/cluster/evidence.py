"""Evidence for a cluster verdict: status conditions, pods, recent events, Argo CD conditions.

Everything here is built from status fields and event messages only (never from pod specs, so
no environment values, secret-backed or literal, can reach a report), and every line goes
through :func:`buildgate.redact.redact`, which masks anything shaped like a credential.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from buildgate.cluster import fields as F
from buildgate.errors import RemoteError
from buildgate.redact import redact

if TYPE_CHECKING:  # pragma: no cover
    from buildgate.cluster.reader import ClusterReader

MAX_EVENTS = 10


def conditions(obj: dict, prefix: str, kind: str = "Deployment") -> list[str]:
    """``prefix condition Type=Status Reason: message`` for each status condition."""
    out = []
    for i, c in enumerate(F.objects(obj, "status.conditions", prefix, kind)):
        at = f"status.conditions[{i}]."
        msg = F.text(c, "message", prefix, kind, prefix=at)
        status = F.text(c, "status", prefix, kind, prefix=at) or None
        ctype = F.text(c, "type", prefix, kind, prefix=at) or None
        reason = F.text(c, "reason", prefix, kind, prefix=at)
        head = f"{ctype}={status}" if status is not None else str(ctype)
        out.append(redact(f"{prefix} condition {head} {reason}: {msg}".replace(" :", ":")))
    return out


def waiting_reasons(pod: dict) -> list[tuple[str, str, str, int]]:
    """(container, reason, message, restarts) for each container not running."""
    out = []
    where, kind = F.ref_of(pod, "Pod"), "Pod"
    for field in ("initContainerStatuses", "containerStatuses"):
        for i, cs in enumerate(F.objects(pod, f"status.{field}", where, kind)):
            at = f"status.{field}[{i}]."
            name = F.text(cs, "name", where, kind, "?", prefix=at)
            restarts = F.integer(cs, "restartCount", where, kind, prefix=at)
            state = F.get(cs, "state", dict, where, kind, {}, prefix=at)
            if "waiting" in state:
                w = F.get(state, "waiting", dict, where, kind, {}, prefix=at + "state.")
                out.append((name, F.text(w, "reason", where, kind, prefix=at + "state.waiting.") or "Waiting",
                            F.text(w, "message", where, kind, prefix=at + "state.waiting."), restarts))
            elif "terminated" in state:
                t = F.get(state, "terminated", dict, where, kind, {}, prefix=at + "state.")
                if F.integer(t, "exitCode", where, kind, prefix=at + "state.terminated.") != 0:
                    out.append((name, F.text(t, "reason", where, kind, prefix=at + "state.terminated.") or "Terminated",
                                F.text(t, "message", where, kind, prefix=at + "state.terminated."), restarts))
    return out


def pod_line(pod: dict) -> str:
    where, kind = F.ref_of(pod, "Pod"), "Pod"
    parts = [f"pod {where.replace('/Pod/', '/', 1)}: phase {F.text(pod, 'status.phase', where, kind, '?')}"]
    for i, cs in enumerate(F.objects(pod, "status.containerStatuses", where, kind)):
        at = f"status.containerStatuses[{i}]."
        parts.append(f"container {F.text(cs, 'name', where, kind, '?', prefix=at)} "
                     f"ready={F.get(cs, 'ready', bool, where, kind, prefix=at)} "
                     f"restarts={F.integer(cs, 'restartCount', where, kind, prefix=at)} "
                     f"imageID {F.text(cs, 'imageID', where, kind, prefix=at) or '(none)'}")
    for name, reason, msg, restarts in waiting_reasons(pod):
        parts.append(f"container {name} {reason}: {msg} (restarts {restarts})")
    return redact("; ".join(parts))


def event_lines(events: list[dict], limit: int = MAX_EVENTS) -> list[str]:
    out = []
    for e in events[-limit:]:
        where, kind = F.ref_of(e, "Event"), "Event"
        count = (F.integer(e, "count", where, kind) or F.integer(e, "series.count", where, kind) or 1)
        when = F.text(e, "lastTimestamp", where, kind) or F.text(e, "eventTime", where, kind)
        out.append(redact(f"event {F.text(e, 'type', where, kind, 'Normal')} {F.text(e, 'reason', where, kind)} "
                          f"{F.text(e, 'involvedObject.kind', where, kind) or None}/"
                          f"{F.text(e, 'involvedObject.name', where, kind) or None}"
                          f" x{count} {when}: {F.text(e, 'message', where, kind)}"))
    return out


def rollout_line(dep: dict) -> str:
    where, kind = F.ref_of(dep, "Deployment"), "Deployment"

    def num(path: str, default: int | None = 0) -> int | None:
        return F.get(dep, path, int, where, kind, default)

    return redact(
        f"{where}: generation {num('metadata.generation', None)} "
        f"observed {num('status.observedGeneration', None)}, replicas desired {num('spec.replicas', 1)} "
        f"current {num('status.replicas')} updated {num('status.updatedReplicas')} "
        f"ready {num('status.readyReplicas')} available {num('status.availableReplicas')}"
    )


def deployment_evidence(reader: ClusterReader, dep: dict, pods: list[dict] | None = None) -> list[str]:
    """What a user asks for when a rollout check fails: status, conditions, pods and their events."""
    where = F.ref_of(dep, "Deployment")
    ns, name = F.text(dep, "metadata.namespace", where, "Deployment"), F.text(dep, "metadata.name", where, "Deployment")
    lines = [rollout_line(dep)] + conditions(dep, f"{ns}/Deployment/{name}")
    pods = pods if pods is not None else []
    lines += [pod_line(p) for p in pods[:10]]
    targets = [("Deployment", name)] + [("Pod", F.text(p, "metadata.name", F.ref_of(p, "Pod", ns), "Pod"))
                                        for p in pods[:10]]
    for kind, obj_name in targets:
        try:
            lines += event_lines(reader.list_events(ns, kind, obj_name))
        except RemoteError as exc:  # evidence is best effort; say why it is missing
            lines.append(redact(f"events of {kind}/{obj_name} unavailable: {exc}"))
            break
    return lines


def application_evidence(app: dict) -> list[str]:
    where, kind = F.ref_of(app, "Application"), "Application"
    revision = F.text(app, "status.sync.revision", where, kind) or F.strings(app, "status.sync.revisions", where, kind)
    health_msg = F.text(app, "status.health.message", where, kind)
    lines = [
        redact(f"{where}: sync {F.text(app, 'status.sync.status', where, kind) or None} at {revision or None}, "
               f"health {F.text(app, 'status.health.status', where, kind) or None}"
               f"{': ' + health_msg if health_msg else ''}"),
    ]
    sources = F.objects(app, "spec.sources", where, kind)
    paths = [(f"spec.sources[{i}].", s) for i, s in enumerate(sources)] or \
        [("spec.source.", F.get(app, "spec.source", dict, where, kind, {}))]
    for at, src in paths:
        lines.append(redact(f"{where}: source {F.text(src, 'repoURL', where, kind, prefix=at) or None} "
                            f"path {F.text(src, 'path', where, kind, prefix=at) or None} "
                            f"targetRevision {F.text(src, 'targetRevision', where, kind, prefix=at) or None}"))
    if F.get(app, "status.operationState", dict, where, kind):
        lines.append(redact(f"{where}: operation {F.text(app, 'status.operationState.phase', where, kind) or None}: "
                            f"{F.text(app, 'status.operationState.message', where, kind)}"))
    for i, c in enumerate(F.objects(app, "status.conditions", where, kind)):
        at = f"status.conditions[{i}]."
        lines.append(redact(f"{where} condition {F.text(c, 'type', where, kind, prefix=at) or None}: "
                            f"{F.text(c, 'message', where, kind, prefix=at)}"))
    for i, r in enumerate(F.objects(app, "status.resources", where, kind)[:20]):
        at = f"status.resources[{i}]."
        status = F.text(r, "status", where, kind, prefix=at) or None
        h_status = F.text(r, "health.status", where, kind, prefix=at) or None
        if status not in (None, "Synced") or h_status not in (None, "Healthy"):
            lines.append(redact(f"{where} resource {F.text(r, 'kind', where, kind, prefix=at) or None}/"
                                f"{F.text(r, 'name', where, kind, prefix=at) or None}: sync {status}, "
                                f"health {h_status} {F.text(r, 'health.message', where, kind, prefix=at)}"))
    return lines
