"""Where credentials may go: the GitHub token only to ghcr.io, a named ``token_env`` only to the
hosts the target names, and no credential to a token realm on a third host.

The registries are an ``httpx.MockTransport`` that answers like a token-auth registry and
records every request, so a credential that leaves for the wrong host shows up in the log."""
from __future__ import annotations

import base64
import hashlib
import json

import httpx
import pytest

from buildgate.errors import Unauthorized
from buildgate.oci import client_from_target
from buildgate.oci.client import OCI_INDEX, realm_allowed
from buildgate.target import from_dict

SECRET = "ghp_SECRETsecretSECRETsecret0123456789"
OTHER_SECRET = "my-own-registry-token-0123456789"
INDEX = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}).encode()


class FakeRegistries:
    """Token-auth registries on any host: a 401 Bearer challenge naming ``realms[host]`` (default
    ``https://HOST/token``), a token service there, and one index at every tag."""

    def __init__(self, realms: dict[str, str] | None = None) -> None:
        self.realms = realms or {}
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        host = request.url.host
        if request.url.path.endswith("/token") or request.url.path.endswith("/auth"):
            return httpx.Response(200, json={"token": f"tok-for-{host}"})
        if not request.headers.get("authorization", "").startswith("Bearer "):
            realm = self.realms.get(host, f"https://{host}/token")
            return httpx.Response(401, json={"errors": [{"code": "UNAUTHORIZED"}]},
                                  headers={"WWW-Authenticate": f'Bearer realm="{realm}",service="{host}"'})
        return httpx.Response(200, content=INDEX, headers={
            "Content-Type": OCI_INDEX, "Docker-Content-Digest": "sha256:" + hashlib.sha256(INDEX).hexdigest()})

    def credentials_sent_to(self, host: str) -> list[str]:
        """The decoded Basic credentials (``user:secret``) any request to ``host`` carried."""
        out = []
        for r in self.seen:
            auth = r.headers.get("authorization", "")
            if r.url.host == host and auth.startswith("Basic "):
                out.append(base64.b64decode(auth[6:]).decode())
        return out

    def hosts(self) -> set[str]:
        return {r.url.host for r in self.seen}


@pytest.fixture
def github_env(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", SECRET)
    monkeypatch.setenv("GHCR_TOKEN", SECRET)
    monkeypatch.setenv("GITHUB_ACTOR", "someone")
    monkeypatch.setenv("MY_TOKEN", OTHER_SECRET)


def _target(tmp_path, images: list[str], **registry):
    empty = tmp_path / "empty-docker-config.json"  # a named docker config must exist: an empty one
    empty.write_text("{}")
    registry.setdefault("docker_config", str(empty))
    return from_dict({"images": [{"name": n, "context": "."} for n in images], "registry": registry})


def _leaks(fake: FakeRegistries, secret: str) -> list[str]:
    """Every request that carried ``secret`` in any header, in any encoding we send."""
    b64 = base64.b64encode(f"buildgate:{secret}".encode()).decode()
    b64_actor = base64.b64encode(f"someone:{secret}".encode()).decode()
    return [str(r.url) for r in fake.seen for v in r.headers.values()
            if secret in v or b64 in v or b64_actor in v]


def test_the_github_token_never_reaches_another_registry_host(tmp_path, github_env):
    """The reviewer's repro: a target naming ``attacker.example/x/y`` got Basic someone:ghp_..."""
    fake = FakeRegistries()
    c = client_from_target(_target(tmp_path, ["attacker.example/x/y"]), transport=httpx.MockTransport(fake))
    try:
        assert c.credentials.get("attacker.example") is None
        assert c.resolve_tag("attacker.example/x/y", "latest") is not None  # anonymous token, then the index
    finally:
        c.close()
    assert fake.hosts() == {"attacker.example"}
    assert fake.credentials_sent_to("attacker.example") == []
    assert _leaks(fake, SECRET) == []


def test_the_github_token_still_goes_to_ghcr(tmp_path, github_env):
    fake = FakeRegistries()
    c = client_from_target(_target(tmp_path, ["ghcr.io/org/app", "attacker.example/x/y"]),
                           transport=httpx.MockTransport(fake))
    try:
        c.resolve_tag("ghcr.io/org/app", "latest")
        c.resolve_tag("attacker.example/x/y", "latest")
    finally:
        c.close()
    assert fake.credentials_sent_to("ghcr.io") == [f"someone:{SECRET}"]  # at https://ghcr.io/token only
    assert [str(r.url).split("?")[0] for r in fake.seen if r.headers.get("authorization", "").startswith("Basic ")] \
        == ["https://ghcr.io/token"]
    assert fake.credentials_sent_to("attacker.example") == []


def test_an_explicit_token_env_goes_to_the_named_image_hosts_only(tmp_path, github_env):
    fake = FakeRegistries()
    t = _target(tmp_path, ["ghcr.io/org/app", "reg.example/org/app"], token_env="MY_TOKEN")
    c = client_from_target(t, transport=httpx.MockTransport(fake))
    try:
        assert c.credentials.get("reg.example").source == "env MY_TOKEN"
        assert c.credentials.get("ghcr.io").source == "env MY_TOKEN"
        assert c.credentials.get("other.example") is None  # a host the target does not name
        c.resolve_tag("reg.example/org/app", "latest")
        c.resolve_tag("other.example/org/app", "latest")
    finally:
        c.close()
    assert fake.credentials_sent_to("reg.example") == [f"someone:{OTHER_SECRET}"]
    assert fake.credentials_sent_to("other.example") == []
    assert _leaks(fake, SECRET) == []  # the GitHub token is not used when the target names another variable


def test_no_env_credentials_to_a_mirror(tmp_path, github_env):
    t = _target(tmp_path, ["ghcr.io/org/app"], mirrors={"ghcr.io": "https://ghcr-cache.internal"})
    c = client_from_target(t)
    try:
        assert c.credentials.get("ghcr-cache.internal") is None
    finally:
        c.close()


def test_no_credentials_to_a_token_realm_on_another_host(tmp_path, github_env):
    fake = FakeRegistries(realms={"reg.example": "https://collector.example/token"})
    t = _target(tmp_path, ["reg.example/org/app"], token_env="MY_TOKEN")
    c = client_from_target(t, transport=httpx.MockTransport(fake))
    try:
        with pytest.raises(Unauthorized) as exc:
            c.resolve_tag("reg.example/org/app", "latest")
    finally:
        c.close()
    text = str(exc.value)
    assert "\n" not in text and OTHER_SECRET not in text
    assert ("refusing to send credentials from env MY_TOKEN to the token realm on collector.example: "
            "the registry is reg.example") in text
    assert text.startswith("https://collector.example/token: ")
    assert "collector.example" not in fake.hosts()  # nothing at all went there
    assert _leaks(fake, OTHER_SECRET) == []


def test_ghcr_token_is_not_sent_to_a_foreign_realm_even_from_ghcr(tmp_path, github_env):
    """Whoever answers for ghcr.io can't redirect the token to a third host."""
    fake = FakeRegistries(realms={"ghcr.io": "https://ghcr.io.evil.example/token"})
    c = client_from_target(_target(tmp_path, ["ghcr.io/org/app"]), transport=httpx.MockTransport(fake))
    try:
        with pytest.raises(Unauthorized, match="token realm on ghcr.io.evil.example: the registry is ghcr.io"):
            c.resolve_tag("ghcr.io/org/app", "latest")
    finally:
        c.close()
    assert fake.hosts() == {"ghcr.io"} and _leaks(fake, SECRET) == []


def test_anonymous_tokens_from_a_foreign_realm_are_still_fetched(tmp_path, monkeypatch):
    """No credential, nothing to protect: a registry whose token service lives elsewhere works."""
    for name in ("GITHUB_TOKEN", "GHCR_TOKEN", "MY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    fake = FakeRegistries(realms={"reg.example": "https://auth.reg-cdn.example/token"})
    c = client_from_target(_target(tmp_path, ["reg.example/org/app"]), transport=httpx.MockTransport(fake))
    try:
        assert c.resolve_tag("reg.example/org/app", "latest") is not None
    finally:
        c.close()
    assert "auth.reg-cdn.example" in fake.hosts()
    assert not any("authorization" in r.headers for r in fake.seen if r.url.host == "auth.reg-cdn.example")


@pytest.mark.parametrize("registry, realm, allowed", [
    ("ghcr.io", "https://ghcr.io/token", True),
    ("reg.example", "https://reg.example:8443/token", True),
    ("127.0.0.1", "http://127.0.0.1:40123/token", True),  # the sandbox: token service on another port
    ("registry-1.docker.io", "https://auth.docker.io/token", True),
    ("registry.gitlab.com", "https://gitlab.com/jwt/auth", True),
    ("reg.example", "https://ghcr.io/token", False),  # GHCR's realm is GHCR's, not any registry's
    ("ghcr-cache.internal", "https://ghcr.io/token", False),  # a mirror's credential stays with the mirror
    ("reg.example", "https://auth.docker.io/token", False),
    ("ghcr.io", "https://attacker.example/token", False),
    ("ghcr.io", "https://ghcr.io.attacker.example/token", False),
    ("reg.example", "not a url", False),
])
def test_realm_allowed(registry, realm, allowed):
    assert realm_allowed(registry, realm) is allowed
