"""Schema of the target file's ``registry:`` section (owned by the registry layer)."""
from __future__ import annotations

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        # host -> endpoint URL, e.g. {"ghcr.io": "http://127.0.0.1:5000"}
        "mirrors": {"type": "object", "additionalProperties": {"type": "string", "pattern": "^https?://"}},
        # names of environment variables holding credentials (never the credentials themselves)
        "username_env": {"type": "string"},
        "token_env": {"type": "string"},
        "docker_config": {"type": "string"},
        "timeout": {"type": "number", "exclusiveMinimum": 0},
        "insecure": {"type": "boolean"},
        "ca_bundle": {"type": "string"},
        "max_manifest_bytes": {"type": "integer", "minimum": 1024},
        "max_blob_bytes": {"type": "integer", "minimum": 1024},
        # retries on 429/503 (with Retry-After), bounded; 0 disables
        "max_retries": {"type": "integer", "minimum": 0, "maximum": 10},
    },
}
