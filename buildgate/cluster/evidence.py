"""Evidence for a cluster verdict: status conditions, pods, recent events, Argo CD conditions.

Everything here is built from status fields and event messages only (never from pod specs, so
no environment values, secret-backed or literal, can reach a report), and every line goes
through :func:`redact`, which masks anything shaped like a credential.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from buildgate.errors import RemoteError

if TYPE_CHECKING:  # pragma: no cover
    from buildgate.cluster.reader import ClusterReader

MAX_LINE = 300
MAX_EVENTS = 10

_REDACTIONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 [REDACTED]"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "[REDACTED-JWT]"),
    (re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"), "[REDACTED]"),
    (re.compile(r"(?i)\b([a-z0-9_.-]*(?:password|passwd|token|secret|api[_-]?key|access[_-]?key|credentials?))"
                r"(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;]+)"), r"\1\2[REDACTED]"),
    (re.compile(r"(?i)(://)[^/\s:@]+:[^/\s@]+@"), r"\1[REDACTED]@"),
]


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Mask credential-shaped substrings (and any literal ``secrets``), keep one line, cap length."""
    out = " ".join(str(text).split())
    for s in secrets:
        if s:
            out = out.replace(s, "[REDACTED]")
    for rx, repl in _REDACTIONS:
        out = rx.sub(repl, out)
    return out if len(out) <= MAX_LINE else out[: MAX_LINE - 1] + "…"


def conditions(obj: dict, prefix: str) -> list[str]:
    """``prefix condition Type=Status Reason: message`` for each status condition."""
    out = []
    for c in (obj.get("status") or {}).get("conditions") or []:
        msg = c.get("message") or ""
        status = c.get("status")
        head = f"{c.get('type')}={status}" if status is not None else str(c.get("type"))
        out.append(redact(f"{prefix} condition {head} {c.get('reason') or ''}: {msg}".replace(" :", ":")))
    return out


def waiting_reasons(pod: dict) -> list[tuple[str, str, str, int]]:
    """(container, reason, message, restarts) for each container not running."""
    out = []
    st = pod.get("status") or {}
    for cs in (st.get("initContainerStatuses") or []) + (st.get("containerStatuses") or []):
        state = cs.get("state") or {}
        if "waiting" in state:
            w = state["waiting"] or {}
            out.append((cs.get("name", "?"), w.get("reason") or "Waiting", w.get("message") or "",
                        int(cs.get("restartCount") or 0)))
        elif "terminated" in state and (state["terminated"] or {}).get("exitCode", 0) != 0:
            t = state["terminated"] or {}
            out.append((cs.get("name", "?"), t.get("reason") or "Terminated", t.get("message") or "",
                        int(cs.get("restartCount") or 0)))
    return out


def pod_line(pod: dict) -> str:
    meta = pod.get("metadata") or {}
    st = pod.get("status") or {}
    parts = [f"pod {meta.get('namespace')}/{meta.get('name')}: phase {st.get('phase', '?')}"]
    for cs in st.get("containerStatuses") or []:
        parts.append(f"container {cs.get('name')} ready={cs.get('ready')} restarts={cs.get('restartCount', 0)} "
                     f"imageID {cs.get('imageID') or '(none)'}")
    for name, reason, msg, restarts in waiting_reasons(pod):
        parts.append(f"container {name} {reason}: {msg} (restarts {restarts})")
    return redact("; ".join(parts))


def event_lines(events: list[dict], limit: int = MAX_EVENTS) -> list[str]:
    out = []
    for e in events[-limit:]:
        inv = e.get("involvedObject") or {}
        count = e.get("count") or (e.get("series") or {}).get("count") or 1
        when = e.get("lastTimestamp") or e.get("eventTime") or ""
        out.append(redact(f"event {e.get('type', 'Normal')} {e.get('reason', '')} {inv.get('kind')}/{inv.get('name')}"
                          f" x{count} {when}: {e.get('message', '')}"))
    return out


def rollout_line(dep: dict) -> str:
    meta, spec, st = dep.get("metadata") or {}, dep.get("spec") or {}, dep.get("status") or {}
    return redact(
        f"{meta.get('namespace')}/Deployment/{meta.get('name')}: generation {meta.get('generation')} "
        f"observed {st.get('observedGeneration')}, replicas desired {spec.get('replicas', 1)} "
        f"current {st.get('replicas', 0)} updated {st.get('updatedReplicas', 0)} ready {st.get('readyReplicas', 0)} "
        f"available {st.get('availableReplicas', 0)}"
    )


def deployment_evidence(reader: ClusterReader, dep: dict, pods: list[dict] | None = None) -> list[str]:
    """What a user asks for when a rollout check fails: status, conditions, pods and their events."""
    meta = dep.get("metadata") or {}
    ns, name = meta.get("namespace", ""), meta.get("name", "")
    lines = [rollout_line(dep)] + conditions(dep, f"{ns}/Deployment/{name}")
    pods = pods if pods is not None else []
    lines += [pod_line(p) for p in pods[:10]]
    targets = [("Deployment", name)] + [("Pod", (p.get("metadata") or {}).get("name", "")) for p in pods[:10]]
    for kind, obj_name in targets:
        try:
            lines += event_lines(reader.list_events(ns, kind, obj_name))
        except RemoteError as exc:  # evidence is best effort; say why it is missing
            lines.append(redact(f"events of {kind}/{obj_name} unavailable: {exc}"))
            break
    return lines


def application_evidence(app: dict) -> list[str]:
    meta, spec, st = app.get("metadata") or {}, app.get("spec") or {}, app.get("status") or {}
    where = f"{meta.get('namespace')}/Application/{meta.get('name')}"
    sync, health, op = st.get("sync") or {}, st.get("health") or {}, st.get("operationState") or {}
    src = spec.get("source") or {}
    lines = [
        redact(f"{where}: sync {sync.get('status')} at {sync.get('revision') or sync.get('revisions')}, "
               f"health {health.get('status')}{': ' + health['message'] if health.get('message') else ''}"),
        redact(f"{where}: source {src.get('repoURL')} path {src.get('path')} targetRevision {src.get('targetRevision')}"),
    ]
    if op:
        lines.append(redact(f"{where}: operation {op.get('phase')}: {op.get('message', '')}"))
    for c in st.get("conditions") or []:
        lines.append(redact(f"{where} condition {c.get('type')}: {c.get('message', '')}"))
    for r in (st.get("resources") or [])[:20]:
        h = r.get("health") or {}
        if r.get("status") not in (None, "Synced") or h.get("status") not in (None, "Healthy"):
            lines.append(redact(f"{where} resource {r.get('kind')}/{r.get('name')}: sync {r.get('status')}, "
                                f"health {h.get('status')} {h.get('message', '')}"))
    return lines
