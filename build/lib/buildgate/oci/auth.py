"""Credentials and registry auth challenges.

Credentials come from environment variables (GHCR conventions: a token in ``GHCR_TOKEN`` or
``GITHUB_TOKEN``, a username in ``GHCR_USERNAME`` or ``GITHUB_ACTOR``) or from Docker's
``config.json``. A :class:`~buildgate.redact.Secret` never shows its value in ``repr``/``str``,
so a credential that reaches a message (or a ``--showlocals`` traceback) by mistake prints as
``***``; even the ready ``Authorization`` value is a Secret. Credentials say *where* they came from
(``env GHCR_TOKEN``, ``docker config /root/.docker/config.json``) so errors can name the
source without naming the value.
"""
from __future__ import annotations

import base64
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Protocol

from buildgate.bounded import loads_json
from buildgate.errors import InputError, ProtocolError
from buildgate.redact import Secret

GHCR_HOST = "ghcr.io"
GHCR_TOKEN_ENVS = ("GHCR_TOKEN", "GITHUB_TOKEN")
GHCR_USER_ENVS = ("GHCR_USERNAME", "GITHUB_ACTOR")
MAX_DOCKER_CONFIG_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Credential:
    """A username with a password/token (``secret``), or an identity token, plus its origin."""

    username: str
    secret: Secret
    source: str  # e.g. "env GHCR_TOKEN" -- never the value
    identity_token: bool = False

    def basic_header(self) -> Secret:
        """The ``Authorization`` value for Basic auth (a :class:`Secret`: it holds the password)."""
        return Secret("Basic " + base64.b64encode(f"{self.username}:{self.secret.reveal()}".encode()).decode())

    def __repr__(self) -> str:
        return f"Credential(username={self.username!r}, source={self.source!r})"


class CredentialSource(Protocol):
    """Anything that can find a credential for a registry host."""

    def get(self, host: str) -> Credential | None: ...


class NoCredentials:
    """Anonymous access only."""

    def get(self, host: str) -> Credential | None:
        return None


class StaticCredentials:
    """One credential for a fixed set of hosts (tests, sandboxes)."""

    def __init__(self, hosts: Mapping[str, tuple[str, str]], source: str = "static") -> None:
        self._creds = {h: Credential(u, Secret(p), source) for h, (u, p) in hosts.items()}

    def get(self, host: str) -> Credential | None:
        return self._creds.get(host)


class EnvCredentials:
    """A token (and username) from environment variables, for one registry host.

    With no names given, GHCR's conventions apply to ``ghcr.io``: ``GHCR_TOKEN`` or
    ``GITHUB_TOKEN``, and ``GHCR_USERNAME`` or ``GITHUB_ACTOR`` (GHCR accepts any username
    with a token, so a missing username becomes ``buildgate``). The answer is None for every
    other host: :func:`buildgate.oci.client.client_from_target` builds one per host, and gives
    another host than ``ghcr.io`` an instance only when the target names ``token_env``.
    """

    def __init__(
        self,
        host: str = GHCR_HOST,
        token_envs: tuple[str, ...] = GHCR_TOKEN_ENVS,
        username_envs: tuple[str, ...] = GHCR_USER_ENVS,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.host = host
        self.token_envs = token_envs
        self.username_envs = username_envs
        self._environ = environ if environ is not None else os.environ

    def get(self, host: str) -> Credential | None:
        if host != self.host:
            return None
        for name in self.token_envs:
            value = self._environ.get(name)
            if value:
                user = next((self._environ[u] for u in self.username_envs if self._environ.get(u)), "buildgate")
                return Credential(user, Secret(value), f"env {name}")
        return None


class DockerConfigCredentials:
    """``auths`` entries of Docker's ``config.json`` (``auth`` base64, or username/password,
    or ``identitytoken``). Credential helpers (``credsStore``/``credHelpers``) are not run:
    buildgate never executes programs named by a config file.

    With no ``path``, the default file (``$DOCKER_CONFIG/config.json`` or
    ``~/.docker/config.json``) is read when it exists. A ``path`` that is named (``required``,
    as from the target's ``registry.docker_config``) must be a regular file: a missing one is
    an :class:`InputError`, never a silent "no credentials". Only regular files are opened
    (a FIFO or a device would block the run)."""

    def __init__(self, path: str | os.PathLike | None = None, required: bool | None = None) -> None:
        self.required = (path is not None) if required is None else required
        if path is None:
            base = os.environ.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
            path = Path(base) / "config.json"
        self.path = Path(path).expanduser()
        self._auths: dict[str, Credential] | None = None

    def _load(self) -> dict[str, Credential]:
        if self._auths is not None:
            return self._auths
        self._auths = {}
        where = str(self.path)
        try:
            st = os.stat(self.path)
        except OSError:
            if self.required:
                raise InputError("docker config file not found", where) from None
            return self._auths
        if not stat.S_ISREG(st.st_mode):
            raise InputError("docker config is not a regular file", where)
        try:
            with open(self.path, "rb") as fh:
                raw = fh.read(MAX_DOCKER_CONFIG_BYTES + 1)
        except OSError as exc:
            raise InputError(f"cannot read docker config: {exc.strerror}", where) from None
        if len(raw) > MAX_DOCKER_CONFIG_BYTES:
            raise InputError("docker config is over 1 MiB", where)
        try:
            doc = loads_json(raw, "docker config")
        except ProtocolError as exc:
            raise InputError(exc.reason, where) from None
        auths = doc.get("auths") if isinstance(doc, dict) else None
        if not isinstance(auths, dict):
            return self._auths
        source = f"docker config {self.path}"
        for key, entry in auths.items():
            if not isinstance(entry, dict):
                continue
            host = _host_of_config_key(str(key))
            cred = _entry_credential(entry, source)
            if cred is not None:
                self._auths.setdefault(host, cred)
        return self._auths

    def get(self, host: str) -> Credential | None:
        auths = self._load()
        if host in auths:
            return auths[host]
        if host in ("docker.io", "registry-1.docker.io"):
            return auths.get("index.docker.io")
        return None


def _host_of_config_key(key: str) -> str:
    key = re.sub(r"^[a-z]+://", "", key)
    host = key.split("/", 1)[0]
    return host


def _entry_credential(entry: dict, source: str) -> Credential | None:
    if isinstance(entry.get("identitytoken"), str) and entry["identitytoken"]:
        return Credential("<token>", Secret(entry["identitytoken"]), source, identity_token=True)
    if isinstance(entry.get("auth"), str) and entry["auth"]:
        try:
            user, _, pw = base64.b64decode(entry["auth"]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        if user and pw:
            return Credential(user, Secret(pw), source)
        return None
    if isinstance(entry.get("username"), str) and isinstance(entry.get("password"), str):
        return Credential(entry["username"], Secret(entry["password"]), source)
    return None


class ChainCredentials:
    """The first source that has a credential for the host wins."""

    def __init__(self, *sources: CredentialSource) -> None:
        self.sources = sources

    def get(self, host: str) -> Credential | None:
        for src in self.sources:
            cred = src.get(host)
            if cred is not None:
                return cred
        return None


# -- WWW-Authenticate ---------------------------------------------------------------------------
_PARAM = re.compile(r'([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "bearer" or "basic" (lower case)
    params: dict

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")

    @property
    def service(self) -> str | None:
        return self.params.get("service")

    @property
    def scope(self) -> str | None:
        return self.params.get("scope")


def parse_challenge(header: str | None) -> Challenge | None:
    """Parse a ``WWW-Authenticate`` header (first challenge only)."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    params = {m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3)) for m in _PARAM.finditer(rest)}
    params = {k: v.replace('\\"', '"') for k, v in params.items()}
    return Challenge(scheme.lower(), params)
