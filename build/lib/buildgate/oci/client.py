"""A small, read-only OCI distribution client on httpx (GET and HEAD only).

Why not a library: oras-py caches one token for every repository (the second repository
breaks), python-dxf refuses HTTP token realms (the sandbox uses one). See FACTS.md.

What it does:

* auth: anonymous, Basic and Bearer, one token cached per (realm, service, scope); once a
  registry has sent a Bearer challenge, tokens for other repositories are fetched up front
  (saves the 401 round trip);
* the full manifest ``Accept`` list (an OCI index is never missed), digests verified against
  the bytes received;
* redirects followed by hand, and ``Authorization`` never sent to another origin, for every
  kind of request (token fetches included: the token request's Basic credential goes in the
  same guarded slot as a registry's Bearer token, never in plain headers); a credential goes
  only to its registry's host or that registry's known token service (:func:`realm_allowed`),
  and the GitHub token only to ``ghcr.io`` (:func:`client_from_target`). Every credential,
  down to the ready ``Authorization`` value, is a :class:`~buildgate.redact.Secret`;
* bounded in time and memory (:mod:`buildgate.bounded`): ``timeout`` bounds each socket
  operation, ``request_deadline`` one whole exchange (a body sent one byte a second ends
  there), ``run_budget`` the total time a run spends on registries; every body is streamed
  under a byte cap, JSON nested too deep for the parser is an error;
* 429/503 with ``Retry-After`` retried within a bounded budget, TLS verification on by default;
* mirrors: ``{"ghcr.io": "http://127.0.0.1:5000"}`` sends requests for ``ghcr.io/...``
  images to that endpoint;
* a per-client cache, so a run never asks the same question twice, and a
  :class:`RequestLog` that counts requests per image and kind.

Errors are :class:`buildgate.errors.RemoteError` subclasses with one-line reasons; URLs in
them carry no query string or userinfo, and credentials never appear anywhere.

``httpx`` is imported when a client is built, not with this module (a repository-only run
loads the registry fixtures and steps but never talks to a registry).
"""
from __future__ import annotations

import email.utils
import hashlib
import ipaddress
import json
import math
import os
import re
import stat
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from buildgate import reference
from buildgate.bounded import Deadline, RunBudget, loads_json
from buildgate.errors import NotApplicable, ProtocolError, RateLimited, TargetError, Unauthorized, Unreachable
from buildgate.oci.auth import (
    GHCR_HOST,
    GHCR_TOKEN_ENVS,
    GHCR_USER_ENVS,
    ChainCredentials,
    Challenge,
    Credential,
    CredentialSource,
    DockerConfigCredentials,
    EnvCredentials,
    NoCredentials,
    parse_challenge,
)
from buildgate.redact import Secret, reveal, safe_url

if TYPE_CHECKING:  # pragma: no cover
    import httpx

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
MANIFEST_ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))

ATTESTATION_REF_TYPE = "vnd.docker.reference.type"
ATTESTATION_REF_DIGEST = "vnd.docker.reference.digest"

DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_BLOB_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_RETRIES = 3
DEFAULT_MAX_RETRY_WAIT = 10.0
DEFAULT_TIMEOUT = 10.0
DEFAULT_REQUEST_DEADLINE = 60.0
DEFAULT_RUN_BUDGET = 600.0
MAX_TOKEN_BYTES = 256 * 1024
MAX_SECONDS = 86400.0  # no time setting may be longer than a day (nor inf, nor NaN)
MAX_REDIRECTS = 5
MAX_TAG_PAGES = 200
USER_AGENT = "buildgate-oci/0.1 (read-only)"


# -- request accounting -------------------------------------------------------------------------
@dataclass(frozen=True)
class RequestRecord:
    image: str
    kind: str  # token | manifest | blob | tags | referrers
    method: str
    url: str  # sanitised: no userinfo, no query string
    status: int | None


class RequestLog:
    """Every HTTP request the client made, for the benchmark and for cache tests."""

    def __init__(self) -> None:
        self.entries: list[RequestRecord] = []
        self._lock = threading.Lock()

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self.entries.append(record)

    def count(self, image: str | None = None, kind: str | None = None) -> int:
        return sum(1 for e in self.entries if (image is None or e.image == image) and (kind is None or e.kind == kind))

    def per_image(self) -> dict[str, dict[str, int]]:
        """``{image: {kind: n}}``."""
        out: dict[str, Counter] = {}
        for e in self.entries:
            out.setdefault(e.image, Counter())[e.kind] += 1
        return {k: dict(v) for k, v in out.items()}

    def repeated(self) -> list[tuple[str, str, int]]:
        """Non-token requests made more than once: ``(method, url, n)`` (should be empty)."""
        c = Counter((e.method, e.url) for e in self.entries if e.kind != "token" and e.status != 401)
        return [(m, u, n) for (m, u), n in c.items() if n > 1]

    def __len__(self) -> int:
        return len(self.entries)


# -- results --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Manifest:
    """A manifest or index as the registry served it (bytes verified against ``digest``)."""

    digest: str
    media_type: str
    data: dict
    raw: bytes = field(repr=False)

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES or (
            self.media_type not in MANIFEST_TYPES and isinstance(self.data.get("manifests"), list)
        )


@dataclass(frozen=True)
class ResolvedTag:
    """What a tag points to."""

    image: str
    tag: str
    digest: str  # of the index or manifest the tag points to
    media_type: str
    child_digests: dict[str, str]  # platform ("linux/amd64") -> manifest digest; attestations excluded
    manifest: Manifest = field(repr=False)

    @property
    def is_index(self) -> bool:
        return self.manifest.is_index

    @property
    def ref(self) -> str:
        return f"{self.image}:{self.tag}@{self.digest}"


def platform_key(platform: Any) -> str:
    if not isinstance(platform, dict):
        return "unknown/unknown"
    parts = [str(platform.get("os", "unknown")), str(platform.get("architecture", "unknown"))]
    if platform.get("variant"):
        parts.append(str(platform["variant"]))
    return "/".join(parts)


def is_attestation_descriptor(desc: dict) -> bool:
    ann = desc.get("annotations") or {}
    return ann.get(ATTESTATION_REF_TYPE) == "attestation-manifest" or platform_key(desc.get("platform")) == "unknown/unknown"


def _registry_name(image: str) -> tuple[str, str]:
    """(registry host, repository path) of ``image`` by the Docker reference grammar
    (:mod:`buildgate.reference`); NotApplicable for a name the grammar refuses."""
    ref = reference.parse(image)
    if not ref.path or any(c.isupper() for c in ref.path):
        raise NotApplicable(f"not a valid image name: {image!r}")
    return ref.registry, ref.path




def _origin(url: str) -> tuple[str, str]:
    p = urlsplit(url)
    return p.scheme, p.netloc.rsplit("@", 1)[-1].lower()


def _is_loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class _Response:
    status: int
    headers: httpx.Headers
    body: bytes
    url: str


@dataclass
class _Token:
    value: Secret
    expires: float


# Header names that carry a credential: never sent to another origin, whoever put them there.
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
_B64TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]+")  # RFC 6750 b64token: what a Bearer value may hold


class _DeadlineBackend:
    """An httpcore network backend whose every socket operation (connect, TLS, write, read of
    headers and body) waits at most until the calling thread's current deadline.

    httpx's own timeout bounds each operation; a server sending one byte per operation would
    never trip it. The deadline is set per exchange by :meth:`RegistryClient._once`."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._local = threading.local()

    def set(self, deadline: Deadline | None) -> None:
        self._local.deadline = deadline

    def cap(self, timeout: float | None, kind: str = "read") -> float | None:
        import httpcore

        deadline: Deadline | None = getattr(self._local, "deadline", None)
        if deadline is None:
            return timeout
        left = deadline.cap(timeout)
        if left <= 0:
            raise (httpcore.ConnectTimeout if kind == "connect" else
                   httpcore.WriteTimeout if kind == "write" else httpcore.ReadTimeout)("deadline reached")
        return left

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> _DeadlineStream:
        return _DeadlineStream(self._inner.connect_tcp(host, port, self.cap(timeout, "connect"), local_address,
                                                       socket_options), self)

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> _DeadlineStream:
        return _DeadlineStream(self._inner.connect_unix_socket(path, self.cap(timeout, "connect"), socket_options), self)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _DeadlineStream:
    def __init__(self, inner: Any, backend: _DeadlineBackend) -> None:
        self._inner = inner
        self._backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._backend.cap(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._backend.cap(timeout, "write"))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> _DeadlineStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, self._backend.cap(timeout, "connect")),
                               self._backend)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


# -- the client -----------------------------------------------------------------------------------
class RegistryClient:
    """Read-only registry client with per-scope tokens, caching and request accounting."""

    def __init__(
        self,
        *,
        mirrors: dict[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        credentials: CredentialSource | None = None,
        verify: bool | str = True,
        max_manifest_bytes: int = DEFAULT_MAX_MANIFEST_BYTES,
        max_blob_bytes: int = DEFAULT_MAX_BLOB_BYTES,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        insecure_hosts: tuple[str, ...] = (),
        transport: httpx.BaseTransport | None = None,
        request_deadline: float = DEFAULT_REQUEST_DEADLINE,
        run_budget: float = DEFAULT_RUN_BUDGET,
    ) -> None:
        """Bad settings raise :class:`ValueError` naming the argument (``client_from_target``
        checks the target's keys first, naming them and the file)."""
        for name, value in (("timeout", timeout), ("request_deadline", request_deadline),
                            ("run_budget", run_budget), ("max_retry_wait", max_retry_wait)):
            _check_seconds(name, value)
        self.mirrors = {k: _check_endpoint(f"mirrors.{k}", v) for k, v in (mirrors or {}).items()}
        self.timeout = float(timeout)
        self.request_deadline = float(request_deadline)
        self.budget = RunBudget(float(run_budget), "registry run")
        self.credentials: CredentialSource = credentials or NoCredentials()
        self.max_manifest_bytes = max_manifest_bytes
        self.max_blob_bytes = max_blob_bytes
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.insecure_hosts = insecure_hosts
        self.requests = RequestLog()
        import httpx

        self._deadlines: _DeadlineBackend | None = None
        if transport is None:
            transport = httpx.HTTPTransport(verify=verify, trust_env=False)
            pool = transport._pool  # noqa: SLF001 -- httpcore.ConnectionPool; no public hook for the backend
            self._deadlines = _DeadlineBackend(pool._network_backend)  # noqa: SLF001
            pool._network_backend = self._deadlines  # noqa: SLF001
        self._http = httpx.Client(
            timeout=httpx.Timeout(self.timeout),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
            transport=transport,
        )
        self._lock = threading.RLock()
        self._tokens: dict[tuple, _Token] = {}
        self._challenges: dict[str, Challenge] = {}  # endpoint base -> last bearer/basic challenge
        self._tag_cache: dict[tuple[str, str], ResolvedTag | None] = {}
        self._manifest_cache: dict[tuple[str, str], Manifest | None] = {}
        self._blob_cache: dict[tuple[str, str], bytes] = {}
        self._tags_cache: dict[str, list[str]] = {}
        self._referrers_cache: dict[tuple[str, str], list[dict] | None] = {}

    # -- lifecycle
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "RegistryClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RegistryClient(mirrors={self.mirrors!r})"

    # -- endpoints
    def endpoint(self, image: str) -> tuple[str, str]:
        """``(base URL, repository)`` the client talks to for ``image`` (mirrors applied)."""
        host, repo = _registry_name(image)
        if host in self.mirrors:
            return self.mirrors[host], repo
        if host == "docker.io":
            return "https://registry-1.docker.io", repo
        scheme = "http" if host in self.insecure_hosts else "https"
        return f"{scheme}://{host}", repo

    # -- public API
    def resolve_tag(self, image: str, tag: str) -> ResolvedTag | None:
        """What ``image:tag`` points to, or None when the registry says it does not exist."""
        key = (image, tag)
        with self._lock:
            if key in self._tag_cache:
                return self._tag_cache[key]
            m = self._get_manifest(image, tag)
            resolved = None
            if m is not None:
                children: dict[str, str] = {}
                if m.is_index:
                    for desc in m.data.get("manifests") or []:
                        if isinstance(desc, dict) and not is_attestation_descriptor(desc) and isinstance(desc.get("digest"), str):
                            children.setdefault(platform_key(desc.get("platform")), desc["digest"])
                resolved = ResolvedTag(image, tag, m.digest, m.media_type, children, m)
                self._manifest_cache[(image, m.digest)] = m
            self._tag_cache[key] = resolved
            return resolved

    def manifest(self, image: str, digest: str) -> Manifest | None:
        """A manifest by digest (cached), or None when absent."""
        with self._lock:
            key = (image, digest)
            if key not in self._manifest_cache:
                self._manifest_cache[key] = self._get_manifest(image, digest)
            return self._manifest_cache[key]

    def blob(self, image: str, digest: str, max_bytes: int | None = None) -> bytes:
        """A blob's bytes (verified against its digest). A missing blob is a protocol error:
        only blobs a manifest references are ever asked for."""
        limit = max_bytes or self.max_blob_bytes
        with self._lock:
            key = (image, digest)
            if key in self._blob_cache:
                return self._blob_cache[key]
            base, repo = self.endpoint(image)
            resp = self._request(image, "blob", "GET", f"{base}/v2/{repo}/blobs/{digest}", {}, repo, limit)
            if resp.status == 404:
                raise ProtocolError(f"blob {digest} referenced by a manifest is missing", safe_url(resp.url))
            self._expect_ok(resp)
            if digest.startswith("sha256:") and _sha256(resp.body) != digest:
                raise ProtocolError(f"blob content does not match its digest {digest}", safe_url(resp.url))
            self._blob_cache[key] = resp.body
            return resp.body

    def json_blob(self, image: str, digest: str, max_bytes: int | None = None) -> Any:
        return loads_json(self.blob(image, digest, max_bytes), f"blob {digest}", image)

    def tags(self, image: str) -> list[str]:
        """Every tag of ``image`` (following ``Link`` pagination); [] when the repository is unknown."""
        with self._lock:
            if image in self._tags_cache:
                return list(self._tags_cache[image])
            base, repo = self.endpoint(image)
            url = f"{base}/v2/{repo}/tags/list?n=1000"
            out: list[str] = []
            seen: set[str] = set()
            for _ in range(MAX_TAG_PAGES):
                resp = self._request(image, "tags", "GET", url, {"Accept": "application/json"}, repo, self.max_manifest_bytes)
                if resp.status == 404:
                    break
                self._expect_ok(resp)
                doc = self._parse_json(resp)
                page = doc.get("tags") if isinstance(doc, dict) else None
                if page is None:
                    page = []
                if not isinstance(page, list) or not all(isinstance(t, str) for t in page):
                    raise ProtocolError("tag list is not a list of strings", safe_url(resp.url))
                out.extend(page)
                nxt = _next_link(resp.headers.get("link"), resp.url)
                if not nxt or nxt in seen:
                    break
                if _origin(nxt) != _origin(base):
                    raise ProtocolError("tag list pagination points to another host", safe_url(nxt))
                seen.add(nxt)
                url = nxt
            else:
                raise ProtocolError(f"tag list has more than {MAX_TAG_PAGES} pages", safe_url(url))
            self._tags_cache[image] = out
            return list(out)

    def referrers(self, image: str, digest: str) -> list[dict] | None:
        """OCI 1.1 referrers of ``digest`` (descriptors), or None when the registry has no
        referrers API (404, as on GHCR and distribution 2.8)."""
        with self._lock:
            key = (image, digest)
            if key in self._referrers_cache:
                return self._referrers_cache[key]
            base, repo = self.endpoint(image)
            resp = self._request(image, "referrers", "GET", f"{base}/v2/{repo}/referrers/{digest}",
                                 {"Accept": OCI_INDEX}, repo, self.max_manifest_bytes)
            result: list[dict] | None
            if resp.status in (404, 405, 400):
                result = None
            else:
                self._expect_ok(resp)
                ctype = resp.headers.get("content-type", "").split(";")[0].strip()
                if ctype and ctype != OCI_INDEX and "json" not in ctype:
                    result = None
                else:
                    doc = self._parse_json(resp)
                    mans = doc.get("manifests") if isinstance(doc, dict) else None
                    result = [d for d in mans if isinstance(d, dict)] if isinstance(mans, list) else None
            self._referrers_cache[key] = result
            return result

    # -- manifests
    def _get_manifest(self, image: str, ref: str) -> Manifest | None:
        base, repo = self.endpoint(image)
        url = f"{base}/v2/{repo}/manifests/{ref}"
        resp = self._request(image, "manifest", "GET", url, {"Accept": MANIFEST_ACCEPT}, repo, self.max_manifest_bytes)
        if resp.status == 404:
            return None
        self._expect_ok(resp)
        where = f"{image}:{ref}" if not ref.startswith("sha256:") else f"{image}@{ref}"
        digest = _sha256(resp.body)
        header = resp.headers.get("docker-content-digest")
        if header and header.startswith("sha256:") and header != digest:
            raise ProtocolError(f"manifest bytes hash to {digest}, registry says {header}", where)
        if ref.startswith("sha256:") and digest != ref:
            raise ProtocolError(f"manifest bytes hash to {digest}, expected {ref}", where)
        data = loads_json(resp.body, "manifest", where)
        if not isinstance(data, dict):
            raise ProtocolError("manifest is not a JSON object", where)
        media = data.get("mediaType") or resp.headers.get("content-type", "").split(";")[0].strip()
        if not isinstance(media, str):
            raise ProtocolError("manifest mediaType is not a string", where)
        if media not in INDEX_TYPES + MANIFEST_TYPES and not isinstance(data.get("manifests"), list) and not isinstance(data.get("layers"), list):
            raise ProtocolError(f"unexpected manifest media type {media!r}", where)
        return Manifest(digest, media, data, resp.body)

    # -- HTTP plumbing
    def _parse_json(self, resp: _Response) -> Any:
        return loads_json(resp.body, "answer", safe_url(resp.url))

    def _expect_ok(self, resp: _Response) -> None:
        if 200 <= resp.status < 300:
            return
        where = safe_url(resp.url)
        if resp.status == 401:
            raise Unauthorized("401 unauthorized", where)
        if resp.status == 403:
            raise Unauthorized("403 denied: the credentials lack pull access", where)
        if resp.status == 429:
            raise RateLimited("429 too many requests", where)
        raise ProtocolError(f"unexpected HTTP {resp.status}{_error_code(resp)}", where)

    def _request(self, image: str, kind: str, method: str, url: str, headers: dict[str, str],
                 repo: str, limit: int) -> _Response:
        """One logical request: auth, one challenge round, redirects and retries."""
        base = _base_of(url)
        auth = self._auth_header(image, base, repo, None)
        resp = self._send(image, kind, method, url, headers, auth, limit)
        if resp.status == 401:
            challenge = parse_challenge(resp.headers.get("www-authenticate"))
            if challenge is None or challenge.scheme not in ("bearer", "basic"):
                raise Unauthorized("401 without a usable WWW-Authenticate challenge", safe_url(resp.url))
            self._challenges[base] = challenge
            retried_with = self._auth_header(image, base, repo, challenge, fresh=auth is not None)
            if retried_with is None:
                raise Unauthorized("401 unauthorized and no credentials configured for this registry", safe_url(resp.url))
            resp = self._send(image, kind, method, url, headers, retried_with, limit)
            if resp.status == 401:
                cred = self.credentials.get(_origin(base)[1])
                detail = f"credentials from {cred.source} were rejected" if cred else "anonymous access was refused"
                raise Unauthorized(f"401 unauthorized: {detail}", safe_url(resp.url))
        if resp.status == 403:
            cred = self.credentials.get(_origin(base)[1])
            who = f"credentials from {cred.source}" if cred else "anonymous access"
            raise Unauthorized(f"403 denied: {who} may not pull {repo}", safe_url(resp.url))
        return resp

    def _send(self, image: str, kind: str, method: str, url: str, headers: dict[str, str],
              auth: Secret | None, limit: int) -> _Response:
        """Send with bounded retries on 429/503 and hand-followed redirects.

        ``auth`` (the whole ``Authorization`` value) goes to ``url``'s origin only; ``headers``
        must carry no credential (any that does is dropped), so no hop to another origin, for
        any kind of request, ever carries one."""
        attempt = 0
        origin = _origin(url)
        current = url
        redirects = 0
        plain = {k: v for k, v in headers.items() if k.lower() not in _CREDENTIAL_HEADERS}
        while True:
            h: dict[str, str | Secret] = dict(plain)
            if auth and _origin(current) == origin:
                h["Authorization"] = auth
            resp = self._once(image, kind, method, current, h, limit)
            if resp.status in (301, 302, 303, 307, 308):
                loc = resp.headers.get("location")
                if not loc:
                    raise ProtocolError(f"HTTP {resp.status} redirect without Location", safe_url(current))
                redirects += 1
                if redirects > MAX_REDIRECTS:
                    raise ProtocolError(f"more than {MAX_REDIRECTS} redirects", safe_url(url))
                nxt = urljoin(current, loc)
                if urlsplit(nxt).scheme not in ("http", "https"):
                    raise ProtocolError("redirect to a non-HTTP location", safe_url(current))
                if urlsplit(nxt).scheme == "http" and urlsplit(current).scheme == "https":
                    raise ProtocolError("redirect from HTTPS down to HTTP refused", safe_url(nxt))
                current = nxt
                continue
            if resp.status in (429, 503) and attempt < self.max_retries:
                wait = _retry_after(resp.headers.get("retry-after"), attempt)
                if wait > self.max_retry_wait:
                    raise RateLimited(f"HTTP {resp.status} asks to wait {wait:.0f}s, over the {self.max_retry_wait:.0f}s budget",
                                      safe_url(current))
                if wait > self.budget.remaining():
                    raise Unreachable(f"HTTP {resp.status} asks to wait {wait:.0f}s, past the registry run budget "
                                      f"({self.budget.seconds:g}s)", safe_url(current))
                attempt += 1
                time.sleep(wait)
                self.budget.charge(wait)
                continue
            if resp.status == 429:
                raise RateLimited(f"429 too many requests, still after {attempt} retries", safe_url(current))
            if resp.status >= 500:
                raise ProtocolError(f"server error HTTP {resp.status}{_error_code(resp)}"
                                    + (f" after {attempt} retries" if attempt else ""), safe_url(current))
            return resp

    def _once(self, image: str, kind: str, method: str, url: str, headers: dict[str, str | Secret],
              limit: int) -> _Response:
        """One HTTP exchange, within ``request_deadline`` (and what is left of the run budget)."""
        import httpx

        where = safe_url(url)
        status: int | None = None
        deadline = self.budget.deadline(self.request_deadline, "request deadline")
        if deadline.seconds <= 0:
            raise Unreachable(f"the registry run budget of {self.budget.seconds:g}s is spent; no more requests", where)
        if self._deadlines is not None:
            self._deadlines.set(deadline)
        started = time.monotonic()
        try:
            # secrets are revealed inside the call: no frame holds them as plain text
            with self._http.stream(method, url, headers={k: reveal(v) for k, v in headers.items()}) as r:
                status = r.status_code
                body = b""
                if method != "HEAD" and (200 <= r.status_code < 300 or r.status_code in (401, 403, 404, 429) or r.status_code >= 500):
                    length = r.headers.get("content-length")
                    if length and length.isdigit() and int(length) > limit:
                        raise ProtocolError(f"answer is {int(length)} bytes, over the {limit}-byte limit", where)
                    chunks: list[bytes] = []
                    size = 0
                    for chunk in r.iter_bytes():
                        size += len(chunk)
                        if size > limit:
                            raise ProtocolError(f"answer is over the {limit}-byte limit", where)
                        chunks.append(chunk)
                    body = b"".join(chunks)
                return _Response(r.status_code, r.headers, body, str(r.url))
        except httpx.TimeoutException:
            if deadline.expired:
                raise Unreachable(f"the exchange did not finish within the {deadline.seconds:g}s "
                                  f"{deadline.what} (a server answering too slowly)", where) from None
            raise Unreachable(f"no answer within {self.timeout:g}s (timeout)", where) from None
        except httpx.ConnectError as exc:
            raise Unreachable(f"cannot connect: {_short_exc(exc)}", where) from None
        except httpx.RemoteProtocolError as exc:
            raise ProtocolError(f"the server broke the HTTP protocol: {_short_exc(exc)}", where) from None
        except httpx.HTTPError as exc:
            raise Unreachable(f"HTTP transport error: {_short_exc(exc)}", where) from None
        except httpx.InvalidURL:
            raise ProtocolError("the URL to request is not a valid URL (from a redirect or a Link header?)", where) from None
        except UnicodeError:  # a header value that HTTP can't carry (never echoed: it may be a credential)
            raise ProtocolError("a request header (a credential?) or an answer's header is not ASCII", where) from None
        finally:
            if self._deadlines is not None:
                self._deadlines.set(None)
            self.budget.charge(time.monotonic() - started)
            self.requests.add(RequestRecord(image, kind, method, where, status))

    # -- auth
    def _auth_header(self, image: str, base: str, repo: str, challenge: Challenge | None,
                     fresh: bool = False) -> Secret | None:
        """The Authorization value for ``repo`` at ``base``, using the last known challenge."""
        challenge = challenge or self._challenges.get(base)
        if challenge is None:
            return None
        host = _origin(base)[1]
        cred = self.credentials.get(host)
        if challenge.scheme == "basic":
            if cred is None or cred.identity_token:
                return None
            if urlsplit(base).scheme != "https" and not _is_loopback(urlsplit(base).hostname or ""):
                raise Unauthorized("refusing to send credentials over plain HTTP", safe_url(base))
            return cred.basic_header()
        scope = f"repository:{repo}:pull"
        token = self._bearer(image, base, challenge, scope, cred, fresh)
        return Secret("Bearer " + token.reveal()) if token else None

    def _bearer(self, image: str, base: str, challenge: Challenge, scope: str, cred: Credential | None,
                fresh: bool) -> Secret | None:
        realm = challenge.realm
        if not realm:
            raise Unauthorized("Bearer challenge without a realm", safe_url(base))
        key = (realm, challenge.service, scope, cred.source if cred else None)
        cached = self._tokens.get(key)
        if cached and not fresh and cached.expires > time.monotonic():
            return cached.value
        try:
            rp = urlsplit(realm)
            rp.port  # noqa: B018 -- parses the port: a bad one raises here, not later
        except ValueError:
            raise Unauthorized("token realm is not a valid URL", safe_url(realm)) from None
        if rp.scheme not in ("http", "https"):
            raise Unauthorized("token realm is not an HTTP URL", safe_url(realm))
        headers = {"Accept": "application/json"}
        send_creds = cred is not None and (rp.scheme == "https" or _is_loopback(rp.hostname or ""))
        if cred is not None and not send_creds:
            raise Unauthorized("refusing to send credentials to a plain-HTTP token realm", safe_url(realm))
        registry_host = (urlsplit(base).hostname or "").lower()
        if cred is not None and not realm_allowed(registry_host, realm):
            raise Unauthorized(
                f"refusing to send credentials from {cred.source} to the token realm on {rp.hostname}: the "
                f"registry is {registry_host}, and a credential goes only to its registry's own host or that "
                f"registry's known token service", safe_url(realm))
        basic = cred.basic_header() if send_creds and cred is not None else None
        params = {"scope": scope}
        if challenge.service:
            params["service"] = challenge.service
        import httpx

        try:
            url = str(httpx.URL(realm).copy_merge_params(params))
        except (httpx.InvalidURL, ValueError, TypeError):
            raise Unauthorized("token realm is not a valid URL", safe_url(realm)) from None
        # the credential rides in the guarded slot: a redirect to another origin drops it
        resp = self._send(image, "token", "GET", url, headers, basic, MAX_TOKEN_BYTES)
        where = safe_url(realm)
        if resp.status in (401, 403):
            detail = f"credentials from {cred.source} were rejected" if cred else "anonymous token refused"
            raise Unauthorized(f"token service answered {resp.status}: {detail}", where)
        if resp.status != 200:
            raise ProtocolError(f"token service answered HTTP {resp.status}", where)
        doc = loads_json(resp.body, "token service answer", where)
        value = (doc.get("token") or doc.get("access_token")) if isinstance(doc, dict) else None
        if not isinstance(value, str) or not value:
            raise ProtocolError("token service answer holds no token", where)
        if not _B64TOKEN.fullmatch(value):
            raise ProtocolError("token service answer holds a malformed token (not a b64token)", where)
        ttl = _ttl(doc.get("expires_in"))
        token = Secret(value)
        del value, doc  # only the Secret outlives this point
        self._tokens[key] = _Token(token, time.monotonic() + max(10.0, ttl - 5))
        return token


# Token services that live on another host than their registry, known to belong to it. A
# credential for the registry may be sent there; any other foreign realm gets no credential.
KNOWN_TOKEN_REALMS: dict[str, frozenset[str]] = {
    "ghcr.io": frozenset({"https://ghcr.io/token"}),  # same host; listed for clarity
    "registry-1.docker.io": frozenset({"https://auth.docker.io/token"}),
    "registry.gitlab.com": frozenset({"https://gitlab.com/jwt/auth"}),
}


def realm_allowed(registry_host: str, realm: str) -> bool:
    """Whether a credential for ``registry_host`` (the host the client talks to, a mirror's
    host when mirrored; no port) may be sent to the Bearer ``realm`` it names.

    Allowed: a realm on the registry's own host name (any port: the sandbox's token service
    and registry share 127.0.0.1), or one of :data:`KNOWN_TOKEN_REALMS` for that registry
    (``https://ghcr.io/token`` for GHCR). Everything else is refused: a registry, or whoever
    answers in its name, can't make buildgate hand a credential to a third host. A mirror
    whose challenge points at ``https://ghcr.io/token`` is refused too: a credential configured
    for the mirror is the mirror's, not GHCR's (read through the mirror anonymously, or
    without the mirror).
    """
    rp = urlsplit(realm)
    realm_host = (rp.hostname or "").lower()
    if not realm_host or not registry_host:
        return False
    if realm_host == registry_host.lower():
        return True
    return safe_url(realm).rstrip("/") in KNOWN_TOKEN_REALMS.get(registry_host.lower(), frozenset())


def _check_seconds(name: str, value: Any) -> float:
    """A time setting: a finite number of seconds, > 0 and at most a day."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 < value <= MAX_SECONDS:
        raise ValueError(f"{name}: expected a number of seconds > 0 and <= {MAX_SECONDS:g}, found {value!r}")
    return float(value)


def _check_endpoint(name: str, url: Any) -> str:
    """A mirror endpoint: ``http(s)://host[:port][/path]``, nothing else (no userinfo, no query,
    no whitespace or control characters). Returned without a trailing ``/``."""
    bad = ValueError(f"{name}: {safe_url(url)!r} is not an http(s) URL of a registry (http(s)://host[:port][/path])")
    if not isinstance(url, str) or not url.isprintable() or any(c.isspace() for c in url):
        raise bad
    try:
        p = urlsplit(url)
        port = p.port
    except ValueError:
        raise bad from None
    if p.scheme not in ("http", "https") or not p.hostname or p.query or p.fragment or "?" in url or "#" in url:
        raise bad
    if "@" in p.netloc:
        raise ValueError(f"{name}: a mirror URL must not carry credentials (use registry.token_env or docker_config)")
    if port == 0:
        raise bad
    try:
        import httpx

        httpx.URL(url)
    except Exception:  # httpx.InvalidURL and friends: the URL is refused either way
        raise bad from None
    return url.rstrip("/")


def _base_of(url: str) -> str:
    p = urlsplit(url)
    return urlunsplit((p.scheme, p.netloc, "", "", ""))


def _ttl(ttl: Any) -> float:
    """``expires_in`` of a token answer (seconds, finite, 60 when absent or odd)."""
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not math.isfinite(ttl):
        return 60.0
    return float(min(max(ttl, 0), MAX_SECONDS))


def _retry_after(value: str | None, attempt: int) -> float:
    """Seconds a 429/503 asks to wait: ASCII delta-seconds or an HTTP date; anything else
    (non-ASCII digits, garbage, a date that overflows) gets the default backoff."""
    if value:
        value = value.strip()
        if re.fullmatch(r"[0-9]{1,10}", value):
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
        except (TypeError, ValueError, OverflowError, IndexError, AttributeError):
            pass
    return min(0.25 * (2 ** attempt), 4.0)


def _next_link(header: str | None, current: str) -> str | None:
    if not header:
        return None
    for part in header.split(","):
        if 'rel="next"' in part or "rel=next" in part:
            start, end = part.find("<"), part.find(">")
            if 0 <= start < end:
                return urljoin(current, part[start + 1:end])
    return None


def _error_code(resp: _Response) -> str:
    try:
        doc = json.loads(resp.body[:4096]) if resp.body else None
        code = doc["errors"][0]["code"] if isinstance(doc, dict) else None
        return f" ({code})" if isinstance(code, str) and code.isupper() else ""
    except (ValueError, KeyError, IndexError, TypeError, RecursionError):
        return ""


def _short_exc(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "Connection refused" in text:
        return "connection refused"
    return text[:160]


# -- from a target ----------------------------------------------------------------------------------
def client_from_target(target: Any, transport: httpx.BaseTransport | None = None) -> RegistryClient:
    """A client configured by ``target.registry`` (mirrors, env var names, docker config, TLS).

    Credentials are looked up in this order: environment variables, then Docker's
    ``config.json`` (the target's path, or the default). Which hosts get environment
    credentials:

    * by default, GHCR's conventions (``GHCR_TOKEN``/``GITHUB_TOKEN``, ``GHCR_USERNAME``/
      ``GITHUB_ACTOR``) apply to ``ghcr.io`` only: a target naming an image on another host
      never makes buildgate send the GitHub token there;
    * when the target sets ``registry.token_env`` explicitly, that variable is sent to the
      registry hosts of the images the target names (and to nothing else). Whoever writes
      the target file chooses where that token goes, so a CI job must read the target file
      from a trusted revision (see ``.github/workflows/gate-example.yml``);
    * never to a mirror (a host listed under ``registry.mirrors`` is read through the mirror,
      which gets no environment credentials).

    Whatever the source, a credential is only sent to the registry host itself or to its
    own token service (see :func:`realm_allowed`).
    """
    cfg: dict = dict(getattr(target, "registry", {}) or {})
    where = str(getattr(target, "source", None) or "target")
    base_dir = _target_dir(target)
    sources: list[CredentialSource] = []
    explicit = bool(cfg.get("token_env"))
    token_envs = (cfg["token_env"],) if explicit else GHCR_TOKEN_ENVS
    user_envs = (cfg["username_env"],) if cfg.get("username_env") else GHCR_USER_ENVS
    image_hosts = {img.registry.lower() for img in getattr(target, "images", ())}
    hosts = (image_hosts or {GHCR_HOST}) if explicit else {GHCR_HOST}
    for host in sorted(hosts):
        # env credentials go to the real registry only, never to a mirror of it
        if host not in cfg.get("mirrors", {}):
            sources.append(EnvCredentials(host, token_envs, user_envs))
    docker_config = None
    if cfg.get("docker_config"):
        docker_config = _config_path(cfg["docker_config"], "registry.docker_config", base_dir, where)
    sources.append(DockerConfigCredentials(docker_config))
    verify: bool | str = True
    if cfg.get("ca_bundle"):
        verify = str(_config_path(cfg["ca_bundle"], "registry.ca_bundle", base_dir, where))
    if cfg.get("insecure"):
        verify = False
    kwargs: dict[str, Any] = {}
    if cfg.get("max_manifest_bytes"):
        kwargs["max_manifest_bytes"] = int(cfg["max_manifest_bytes"])
    if cfg.get("max_blob_bytes"):
        kwargs["max_blob_bytes"] = int(cfg["max_blob_bytes"])
    if cfg.get("max_retries") is not None:
        kwargs["max_retries"] = int(cfg["max_retries"])
    for key, default in (("timeout", DEFAULT_TIMEOUT), ("request_deadline", DEFAULT_REQUEST_DEADLINE),
                         ("run_budget", DEFAULT_RUN_BUDGET)):
        try:
            kwargs[key] = _check_seconds(f"registry.{key}", cfg.get(key, default))
        except ValueError as exc:
            raise TargetError(str(exc), where) from None
    try:
        mirrors = {h: _check_endpoint(f"registry.mirrors.{h}", u) for h, u in dict(cfg.get("mirrors", {})).items()}
        return RegistryClient(mirrors=mirrors, credentials=ChainCredentials(*sources), verify=verify,
                              transport=transport, **kwargs)
    except ValueError as exc:
        raise TargetError(str(exc), where) from None


def _target_dir(target: Any) -> Path | None:
    src = str(getattr(target, "source", None) or "")
    return None if not src or src.startswith("<") else Path(src).resolve().parent


def _config_path(value: str, key: str, base_dir: Path | None, where: str) -> Path:
    """A file the ``registry:`` section names: ``~`` expanded, relative to the target file's
    folder, and it must be a regular file (a missing one is an error, never "no credentials")."""
    p = Path(value).expanduser()
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    try:
        st = os.stat(p)
    except OSError:
        raise TargetError(f"{key}: {value!r}: no such file ({p})", where) from None
    if not stat.S_ISREG(st.st_mode):
        raise TargetError(f"{key}: {value!r}: not a regular file ({p})", where)
    return p


