"""Schema of the target file's ``cluster:`` section (owned by the cluster layer)."""
from __future__ import annotations

_WAIT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "timeout": {"type": "number", "minimum": 0},
        "interval": {"type": "number", "exclusiveMinimum": 0},
        "degraded_grace": {"type": "number", "minimum": 0},
    },
}

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "kubeconfig": {"type": "string"},
        "context": {"type": "string"},
        "in_cluster": {"type": "boolean"},
        "namespace": {"type": "string"},
        "argocd": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "namespace": {"type": "string"},
                "application": {"type": "string"},
            },
        },
        "wait": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"rollout": _WAIT, "sync": _WAIT},
        },
    },
}
