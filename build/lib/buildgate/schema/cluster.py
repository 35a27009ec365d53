"""Schema of the target file's ``cluster:`` section (owned by the cluster layer).

``kubeconfig`` (a path, relative to the target file), ``context`` and ``in_cluster`` say where the
cluster is; none of them means "no cluster": the cluster scenarios are skipped. ``wait.rollout``
and ``wait.sync`` are the budgets of the waiting steps (seconds): ``timeout`` (0 = look once),
``interval`` between looks, ``degraded_grace`` before a Degraded state fails the step.
``request_timeout`` bounds each socket read, ``request_deadline`` one whole answer. Every time
is finite and at most a day (``.inf`` is refused here, ``.nan`` by
:func:`buildgate.cluster.config.cluster_config`).
"""
from __future__ import annotations

_DAY = 86400

_WAIT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "timeout": {"type": "number", "minimum": 0, "maximum": _DAY},
        "interval": {"type": "number", "exclusiveMinimum": 0, "maximum": _DAY},
        "degraded_grace": {"type": "number", "minimum": 0, "maximum": _DAY},
    },
}

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "kubeconfig": {"type": "string"},
        "context": {"type": "string"},
        "in_cluster": {"type": "boolean"},
        # namespace of the Deployments when the rendered manifests don't name one
        "namespace": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?\\Z"},
        # seconds one socket read may take, and one whole request (however the server drips)
        "request_timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": _DAY},
        "request_deadline": {"type": "number", "exclusiveMinimum": 0, "maximum": _DAY},
        "argocd": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "namespace": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?\\Z"},
                "application": {"type": "string", "minLength": 1},
            },
        },
        "wait": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"rollout": _WAIT, "sync": _WAIT},
        },
    },
}
