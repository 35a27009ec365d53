"""How a build is written in a workflow: ``docker``/``podman`` command lines in ``run:`` steps
(the build, push and login verbs and their options) and the list inputs of
docker/build-push-action and docker/metadata-action.

The command lines come from :func:`buildgate.shell.expanded_commands` (the one shell reader):
this module only knows what docker's words mean.
"""
from __future__ import annotations

from typing import Any, Iterable

from buildgate.workflow import expressions as ex

DOCKER_CLIS = ("docker", "podman")

_VALUE_OPTS = {
    "-t", "--tag", "-f", "--file", "--platform", "--build-arg", "--cache-from", "--cache-to",
    "-o", "--output", "--label", "--target", "--secret", "--ssh", "--attest", "--sbom",
    "--provenance", "--builder", "--progress", "--network", "--iidfile", "--metadata-file",
    "--add-host", "--annotation", "--build-context", "--cgroup-parent", "--shm-size", "--ulimit",
    "--allow", "--call", "--load", "--push",
}
_FLAG_OPTS = {"--push", "--load", "--pull", "--no-cache", "-q", "--quiet", "--rm", "--check"}
_LOGIN_VALUE_OPTS = {"-u", "--username", "-p", "--password"}


def is_docker(words: list[str]) -> bool:
    """The command is ``docker`` or ``podman`` (by any path)."""
    return bool(words) and words[0].rsplit("/", 1)[-1] in DOCKER_CLIS


def docker_args(words: list[str]) -> tuple[str, list[str]] | None:
    """``docker [buildx] build|push ARGS`` -> (verb, args); None for anything else."""
    if not is_docker(words):
        return None
    rest = list(words[1:])
    while rest and rest[0].startswith("-"):  # global options like --debug
        rest = rest[1:]
    if len(rest) >= 2 and rest[0] == "buildx" and rest[1] in ("build", "b"):
        return "buildx", rest[2:]
    if rest and rest[0] in ("build", "image") and (rest[0] == "build" or (len(rest) > 1 and rest[1] == "build")):
        return "build", rest[1:] if rest[0] == "build" else rest[2:]
    if rest and rest[0] == "push" or (len(rest) > 1 and rest[0] == "image" and rest[1] == "push"):
        return "push", rest[1:] if rest[0] == "push" else rest[2:]
    return None


def login_server(words: list[str]) -> str | None:
    """The SERVER word of ``docker|podman|buildah login [OPTIONS] [SERVER]`` ("" when none: Docker
    Hub), or None when the command is no login."""
    if not words or words[0].rsplit("/", 1)[-1] not in (*DOCKER_CLIS, "buildah") or len(words) < 2 \
            or words[1] != "login":
        return None
    skip = False
    for w in words[2:]:
        if skip:
            skip = False
        elif w in _LOGIN_VALUE_OPTS:
            skip = True
        elif not w.startswith("-"):
            return w
    return ""


def parse_build_args(args: list[str]) -> dict[str, Any]:
    """Options of ``docker buildx build`` as a dict of lists, plus the positional context."""
    opts: dict[str, list[str]] = {}
    positional: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("--") and "=" in a:
            k, v = a.split("=", 1)
            opts.setdefault(k, []).append(v)
        elif a in _FLAG_OPTS:
            opts.setdefault(a, []).append("true")
        elif a in _VALUE_OPTS or (a.startswith("--") and i + 1 < len(args) and not args[i + 1].startswith("-")
                                  and a not in _FLAG_OPTS and a not in ("--sbom", "--provenance")):
            if i + 1 < len(args):
                opts.setdefault(a, []).append(args[i + 1])
                i += 1
        elif a.startswith("-t") and len(a) > 2:
            opts.setdefault("-t", []).append(a[2:])
        elif a.startswith("-"):
            opts.setdefault(a, []).append("true")
        else:
            positional.append(a)
        i += 1
    opts["_positional"] = positional
    return opts


def build_options(words: list[str]) -> dict[str, Any]:
    """:func:`parse_build_args` of a build command line (empty options for anything else)."""
    return parse_build_args((docker_args(words) or ("", []))[1])


def output_pushes(outputs: Iterable[str]) -> bool:
    """Whether buildx ``--output``/``outputs:`` entries push to a registry."""
    for o in outputs:
        attrs = dict(kv.split("=", 1) if "=" in kv else ("type", kv) for kv in str(o).split(","))
        typ = attrs.get("type", "").strip()
        if typ == "registry":
            return True
        if typ == "image" and attrs.get("push", "false").strip().lower() == "true":
            return True
    return False


def csv_lines(value: Any) -> list[str]:
    """``tags:``/``cache-from:`` style inputs: newline- (or comma-) separated entries."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    text = ex.to_str(value)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines
