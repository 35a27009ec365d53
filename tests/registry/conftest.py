"""Shared fixtures for the registry layer's tests: one token-auth registry per session holding a
good image set and one mutant per defect (under different repository names), and a small
scriptable HTTP server on loopback for faults the real registry can't play."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator

import pytest

from pytest_buildgate.fixtures.registry_sandbox import BuildSpec, SandboxRegistry, registry_binary

COMMIT = "1234567890abcdef1234567890abcdef12345678"
OLD = "fedcba0987654321fedcba0987654321fedcba09"
REPO_URL = "https://github.com/ardenone/moltbook-org"
FORK = "https://github.com/someone/fork"
TAGS = ["main", COMMIT[:7], "latest"]
PRIVATE = "mut/private"


@dataclass
class Lab:
    registry: SandboxRegistry
    images: dict[str, str] = field(default_factory=dict)  # mutant name -> image name

    def image(self, name: str) -> str:
        return self.images[name]


def _specs(host: str) -> list[tuple[str, list[BuildSpec]]]:
    def spec(repo: str, **kw: object) -> BuildSpec:
        base = dict(repository=f"mut/{repo}", image_name=f"{host}/mut/{repo}", tags=list(TAGS),
                    repo_url=REPO_URL, commit=COMMIT)
        base.update(kw)
        return BuildSpec(**base)  # type: ignore[arg-type]

    return [
        ("good", [spec("good")]),
        ("latest-missing", [spec("latest-missing", tags=["main", COMMIT[:7]])]),
        ("latest-stale", [spec("latest-stale", tags=["latest"], commit=OLD),
                          spec("latest-stale", tags=["main", COMMIT[:7]])]),
        ("no-commit-tag", [spec("no-commit-tag", tags=["main", "latest"])]),
        ("no-sbom", [spec("no-sbom", sbom=False)]),
        ("no-provenance", [spec("no-provenance", provenance=False)]),
        ("no-attestations", [spec("no-attestations", shape="none")]),
        ("provenance-other-commit", [spec("provenance-other-commit", provenance_commit=OLD)]),
        ("provenance-other-repo", [spec("provenance-other-repo", provenance_repo=FORK)]),
        ("wrong-labels", [spec("wrong-labels", labels={"org.opencontainers.image.source": FORK,
                                                       "org.opencontainers.image.revision": OLD})]),
        ("no-labels", [spec("no-labels", labels={})]),
        ("artifact-v1", [spec("artifact-v1", shape="artifact", provenance_version="v1")]),
        ("cosign", [spec("cosign", shape="cosign")]),
        ("private", [spec("private")]),
    ]


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if registry_binary() is None:
        pytest.skip("docker-registry is not installed")
    reg = SandboxRegistry.start(tmp_path_factory.mktemp("registry-lab"), private={PRIVATE})
    out = Lab(reg)
    def push_group(specs: list[BuildSpec]) -> None:
        for s in specs:  # in order: a group may retag (latest-stale)
            reg.push(s)

    try:
        groups = _specs(reg.registry_host)
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(push_group, [specs for _, specs in groups]))
        out.images = {name: specs[0].image_name for name, specs in groups}
        yield out
    finally:
        reg.stop()


# -- a scriptable loopback server --------------------------------------------------------------------
Reply = tuple[int, dict, bytes]


@dataclass
class Seen:
    method: str
    path: str
    headers: dict


class FaultServer:
    """``routes`` maps a path (without query) to a function ``(Seen) -> (status, headers, body)``."""

    def __init__(self) -> None:
        self.routes: dict[str, Callable[[Seen], Reply]] = {}
        self.seen: list[Seen] = []
        srv = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a: object) -> None:
                pass

            def _do(self) -> None:
                path = self.path.split("?", 1)[0]
                s = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
                srv.seen.append(s)
                fn = srv.routes.get(path)
                status, headers, body = fn(s) if fn else (404, {}, b'{"errors":[{"code":"NOT_FOUND"}]}')
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if "Content-Length" not in headers and "X-No-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = _do

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def jreply(status: int, doc: object, headers: dict | None = None) -> Reply:
    body = json.dumps(doc).encode()
    return status, {"Content-Type": "application/json", **(headers or {})}, body


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    s = FaultServer()
    yield s
    s.stop()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (kernel backlog) but never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock.getsockname()[1]
    sock.close()
