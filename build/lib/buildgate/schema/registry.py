"""Schema of the target file's ``registry:`` section (owned by the registry layer).

Times are seconds, finite and at most a day (``.inf`` and ``.nan`` are refused here or, for
NaN, which JSON Schema can't see, by :func:`buildgate.oci.client.client_from_target`); files
are checked to exist there too, relative to the target file's folder, ``~`` expanded.
"""
from __future__ import annotations

_SECONDS = {"type": "number", "exclusiveMinimum": 0, "maximum": 86400}

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        # host -> endpoint URL, e.g. {"ghcr.io": "http://127.0.0.1:5000"}; no userinfo, query or spaces
        "mirrors": {"type": "object", "additionalProperties": {
            "type": "string", "pattern": "^https?://[^/?#\\s]+(/[^?#\\s]*)?\\Z"}},  # userinfo: refused by the client, unechoed
        # names of environment variables holding credentials (never the credentials themselves)
        "username_env": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*\\Z"},
        "token_env": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*\\Z"},
        "docker_config": {"type": "string", "minLength": 1},
        "timeout": _SECONDS,           # seconds per socket operation (connect, each read)
        "request_deadline": _SECONDS,  # seconds for one whole request, however the server drips
        "run_budget": _SECONDS,        # seconds the whole run may spend talking to registries
        "insecure": {"type": "boolean"},
        "ca_bundle": {"type": "string", "minLength": 1},
        "max_manifest_bytes": {"type": "integer", "minimum": 1024, "maximum": 1 << 30},
        "max_blob_bytes": {"type": "integer", "minimum": 1024, "maximum": 1 << 30},
        # retries on 429/503 (with Retry-After), bounded; 0 disables
        "max_retries": {"type": "integer", "minimum": 0, "maximum": 10},
    },
}
