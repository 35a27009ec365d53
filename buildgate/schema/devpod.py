"""Schema of the target file's ``devpod:`` section (owned by the devpod layer)."""
from __future__ import annotations

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        # a testinfra host spec: kubectl://POD?namespace=..&container=.., local://, ssh://, podman://, docker://
        "host": {"type": "string"},
        # where the target repository is checked out inside the devpod
        "repo_path": {"type": "string"},
        "timeout": {"type": "number", "exclusiveMinimum": 0},
    },
}
