"""Schema of the target file's ``devpod:`` section (owned by the devpod layer)."""
from __future__ import annotations

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        # a testinfra host spec: kubectl://POD?namespace=..&container=.., local://, ssh://, podman://, docker://
        "host": {"type": "string", "pattern": "^(kubectl|local|ssh|safe-ssh|paramiko|podman|docker)://"},
        # where the target repository is checked out inside the devpod (absent: scripts are staged
        # into a temporary folder in the devpod)
        "repo_path": {"type": "string", "pattern": "^/"},
        # seconds allowed for one command in the devpod
        "timeout": {"type": "number", "exclusiveMinimum": 0},
        # V2: which build tool to try (auto: podman, then buildah, then docker)
        "builder": {"enum": ["auto", "podman", "buildah", "docker"]},
        # V2: storage driver for podman/buildah's private probe storage; "" means the devpod's default
        "storage_driver": {"type": "string"},
        # V2: where the probe's temporary folder goes (should be on the devpod's root filesystem)
        "workdir": {"type": "string", "pattern": "^/"},
        # V2: a Docker-compatible API the devpod exposes (dockerd, podman system service); when set,
        # the probe builds through the docker SDK instead of a CLI. Never holds credentials.
        "docker_host": {"type": "string", "pattern": "^(unix|tcp|ssh|npipe)://"},
    },
}
