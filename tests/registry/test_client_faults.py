"""The client against small loopback servers that misbehave in ways the real registry won't:
each fault is an error of the right kind with a one-line reason, never a pass, never a secret."""
from __future__ import annotations

import hashlib
import json
import time

import pytest

from buildgate.errors import NotApplicable, ProtocolError, RateLimited, RemoteError, Unauthorized, Unreachable
from buildgate.oci import RegistryClient, StaticCredentials
from buildgate.oci.client import MANIFEST_ACCEPT, OCI_INDEX
from tests.registry.conftest import jreply

SECRET = "hunter2-very-secret-token"
INDEX = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "a" * 64, "size": 10,
     "platform": {"os": "linux", "architecture": "amd64"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "b" * 64, "size": 10,
     "platform": {"os": "unknown", "architecture": "unknown"},
     "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                     "vnd.docker.reference.digest": "sha256:" + "a" * 64}},
]}).encode()
INDEX_DIGEST = "sha256:" + hashlib.sha256(INDEX).hexdigest()
MANIFEST_PATH = "/v2/org/app/manifests/latest"


def index_reply(_s=None):
    return 200, {"Content-Type": OCI_INDEX, "Docker-Content-Digest": INDEX_DIGEST}, INDEX


def client_for(server, **kw):
    kw.setdefault("timeout", 2)
    return RegistryClient(mirrors={"ghcr.io": server.url}, **kw)


def assert_clean(exc: RemoteError) -> str:
    text = str(exc)
    assert "\n" not in text and SECRET not in text and "Traceback" not in text
    return text


def test_full_accept_list_and_index_children(fault_server):
    fault_server.routes[MANIFEST_PATH] = index_reply
    c = client_for(fault_server)
    r = c.resolve_tag("ghcr.io/org/app", "latest")
    assert r.digest == INDEX_DIGEST and r.is_index
    assert r.child_digests == {"linux/amd64": "sha256:" + "a" * 64}  # the attestation is excluded
    accept = fault_server.seen[0].headers["accept"]
    for media in ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json",
                  "application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"):
        assert media in accept
    assert accept == MANIFEST_ACCEPT
    assert {s.method for s in fault_server.seen} == {"GET"}


def test_404_is_data_not_an_error(fault_server):
    c = client_for(fault_server)
    assert c.resolve_tag("ghcr.io/org/app", "nope") is None
    assert c.resolve_tag("ghcr.io/org/app", "nope") is None
    assert len(fault_server.seen) == 1  # cached


def test_401_with_bad_credentials_names_the_source_not_the_secret(fault_server):
    def registry(s):
        return jreply(401, {"errors": [{"code": "UNAUTHORIZED"}]},
                      {"WWW-Authenticate": f'Bearer realm="{fault_server.url}/token",service="reg",scope="x"'})

    fault_server.routes[MANIFEST_PATH] = registry
    fault_server.routes["/token"] = lambda s: jreply(401, {"details": "bad creds"})
    creds = StaticCredentials({fault_server.host: ("me", SECRET)}, source="env GHCR_TOKEN")
    c = client_for(fault_server, credentials=creds)
    with pytest.raises(Unauthorized) as exc:
        c.resolve_tag("ghcr.io/org/app", "latest")
    text = assert_clean(exc.value)
    assert "token service answered 401: credentials from env GHCR_TOKEN were rejected" in text
    assert fault_server.seen[-1].headers["authorization"].startswith("Basic ")  # sent to the realm only


def test_401_anonymous_and_403(fault_server):
    fault_server.routes[MANIFEST_PATH] = lambda s: jreply(401, {}, {"WWW-Authenticate": 'Basic realm="r"'})
    with pytest.raises(Unauthorized, match="no credentials configured"):
        client_for(fault_server).resolve_tag("ghcr.io/org/app", "latest")
    fault_server.routes[MANIFEST_PATH] = lambda s: jreply(403, {"errors": [{"code": "DENIED"}]})
    with pytest.raises(Unauthorized) as exc:
        client_for(fault_server).resolve_tag("ghcr.io/org/app", "latest")
    assert "403 denied: anonymous access may not pull org/app" in assert_clean(exc.value)


def test_basic_auth_is_retried_once_with_credentials(fault_server):
    def registry(s):
        if s.headers.get("authorization", "").startswith("Basic "):
            return index_reply()
        return jreply(401, {}, {"WWW-Authenticate": 'Basic realm="registry"'})

    fault_server.routes[MANIFEST_PATH] = registry
    creds = StaticCredentials({fault_server.host: ("me", SECRET)})
    r = client_for(fault_server, credentials=creds).resolve_tag("ghcr.io/org/app", "latest")
    assert r is not None and len(fault_server.seen) == 2


def test_429_then_success(fault_server):
    calls = []

    def flaky(s):
        calls.append(s)
        return jreply(429, {}, {"Retry-After": "0"}) if len(calls) < 3 else index_reply()

    fault_server.routes[MANIFEST_PATH] = flaky
    r = client_for(fault_server, max_retries=3).resolve_tag("ghcr.io/org/app", "latest")
    assert r is not None and len(calls) == 3


def test_429_past_the_budget(fault_server):
    fault_server.routes[MANIFEST_PATH] = lambda s: jreply(429, {}, {"Retry-After": "0"})
    with pytest.raises(RateLimited) as exc:
        client_for(fault_server, max_retries=2).resolve_tag("ghcr.io/org/app", "latest")
    assert "429 too many requests, still after 2 retries" in assert_clean(exc.value)
    assert len(fault_server.seen) == 3
    fault_server.routes[MANIFEST_PATH] = lambda s: jreply(429, {}, {"Retry-After": "3600"})
    start = time.monotonic()
    with pytest.raises(RateLimited, match="over the 10s budget"):
        client_for(fault_server).resolve_tag("ghcr.io/org/app", "latest")
    assert time.monotonic() - start < 2


def test_5xx_is_a_protocol_error(fault_server):
    fault_server.routes[MANIFEST_PATH] = lambda s: jreply(500, {"errors": [{"code": "UNKNOWN"}]})
    with pytest.raises(ProtocolError) as exc:
        client_for(fault_server).resolve_tag("ghcr.io/org/app", "latest")
    assert "server error HTTP 500 (UNKNOWN)" in assert_clean(exc.value)


def test_a_server_that_never_answers_times_out_within_budget(silent_port):
    c = RegistryClient(mirrors={"ghcr.io": f"http://127.0.0.1:{silent_port}"}, timeout=0.5)
    start = time.monotonic()
    with pytest.raises(Unreachable) as exc:
        c.resolve_tag("ghcr.io/org/app", "latest")
    assert time.monotonic() - start < 3
    assert "no answer within 0.5s (timeout)" in assert_clean(exc.value)


def test_connection_refused(silent_port):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(Unreachable, match="cannot connect"):
        RegistryClient(mirrors={"ghcr.io": f"http://127.0.0.1:{port}"}, timeout=1).resolve_tag("ghcr.io/org/app", "x")


def test_garbage_json(fault_server):
    fault_server.routes[MANIFEST_PATH] = lambda s: (200, {"Content-Type": OCI_INDEX}, b"{not json")
    with pytest.raises(ProtocolError, match="manifest is not valid JSON"):
        client_for(fault_server).resolve_tag("ghcr.io/org/app", "latest")


def test_manifest_over_the_size_limit(fault_server):
    big = b'{"schemaVersion":2,"manifests":[],"pad":"' + b"x" * 20000 + b'"}'
    fault_server.routes[MANIFEST_PATH] = lambda s: (200, {"Content-Type": OCI_INDEX}, big)
    with pytest.raises(ProtocolError, match="over the 4096-byte limit"):
        client_for(fault_server, max_manifest_bytes=4096).resolve_tag("ghcr.io/org/app", "latest")
    # no Content-Length: the limit holds while streaming
    fault_server.routes[MANIFEST_PATH] = lambda s: (200, {"Content-Type": OCI_INDEX, "X-No-Length": "1"}, big)
    with pytest.raises(ProtocolError, match="answer is over the 4096-byte limit"):
        client_for(fault_server, max_manifest_bytes=4096).resolve_tag("ghcr.io/org/app", "latest")


def test_digest_mismatch_is_an_error(fault_server):
    fault_server.routes[MANIFEST_PATH] = lambda s: (200, {"Content-Type": OCI_INDEX,
                                                          "Docker-Content-Digest": "sha256:" + "0" * 64}, INDEX)
    with pytest.raises(ProtocolError, match="manifest bytes hash to"):
        client_for(fault_server).resolve_tag("ghcr.io/org/app", "latest")


def test_redirect_to_another_host_carries_no_authorization(fault_server):
    from tests.registry.conftest import FaultServer

    other = FaultServer()  # another origin (another port)
    try:
        blob = b'{"hello":"world"}'
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        other.routes["/signed/blob"] = lambda s: (200, {"Content-Type": "application/octet-stream"}, blob)

        def registry_blob(s):
            if not s.headers.get("authorization"):
                return jreply(401, {}, {"WWW-Authenticate": f'Bearer realm="{fault_server.url}/token",service="reg"'})
            return 307, {"Location": f"{other.url}/signed/blob?sig=abc&token=xyz"}, b""

        fault_server.routes[f"/v2/org/app/blobs/{digest}"] = registry_blob
        fault_server.routes["/token"] = lambda s: jreply(200, {"token": "tok-" + SECRET})
        c = client_for(fault_server)
        assert c.blob("ghcr.io/org/app", digest) == blob
        assert other.seen and all("authorization" not in s.headers for s in other.seen)
        assert fault_server.seen[-1].headers["authorization"] == "Bearer tok-" + SECRET
        assert all("sig=" not in r.url for r in c.requests.entries)  # signed URLs are not logged
    finally:
        other.stop()


def test_paginated_tag_list(fault_server):
    pages = {"": (["a", "b"], '</v2/org/app/tags/list?n=2&last=b>; rel="next"'),
             "b": (["c", "d"], '</v2/org/app/tags/list?n=2&last=d>; rel="next"'),
             "d": (["e"], None)}

    def tags(s):
        last = s.path.split("last=")[1].split("&")[0] if "last=" in s.path else ""
        names, link = pages[last]
        return jreply(200, {"name": "org/app", "tags": names}, {"Link": link} if link else {})

    fault_server.routes["/v2/org/app/tags/list"] = tags
    c = client_for(fault_server)
    assert c.tags("ghcr.io/org/app") == ["a", "b", "c", "d", "e"]
    assert c.tags("ghcr.io/org/app") == ["a", "b", "c", "d", "e"]
    assert len(fault_server.seen) == 3


def test_token_cached_per_repository_scope(fault_server):
    scopes = []

    def token(s):
        scope = s.path.split("scope=")[1].split("&")[0]
        scopes.append(scope)
        return jreply(200, {"token": "t-" + scope.replace("%3A", ":").split(":")[1].replace("%2F", "/")})

    def registry_for(repo):
        def handler(s):
            if s.headers.get("authorization") != f"Bearer t-{repo}":
                return jreply(401, {}, {"WWW-Authenticate": f'Bearer realm="{fault_server.url}/token",service="reg"'})
            return index_reply()
        return handler

    fault_server.routes["/token"] = token
    for repo in ("org/one", "org/two"):
        fault_server.routes[f"/v2/{repo}/manifests/latest"] = registry_for(repo)
        fault_server.routes[f"/v2/{repo}/manifests/{INDEX_DIGEST}"] = registry_for(repo)
    c = client_for(fault_server)
    assert c.resolve_tag("ghcr.io/org/one", "latest") is not None
    assert c.resolve_tag("ghcr.io/org/two", "latest") is not None  # one token would break here
    assert c.manifest("ghcr.io/org/one", INDEX_DIGEST) is not None  # cached from the tag
    assert len(scopes) == 2 and c.requests.count(kind="token") == 2
    # the second repository got its token up front: no second 401
    assert [s.path for s in fault_server.seen].count("/v2/org/two/manifests/latest") == 1


def test_bad_image_names_are_not_applicable():
    with pytest.raises(NotApplicable):
        RegistryClient().resolve_tag("ghcr.io/Org/App", "latest")


def test_tls_verification_is_on_by_default():
    c = RegistryClient()
    assert c.endpoint("ghcr.io/org/app") == ("https://ghcr.io", "org/app")
    assert c._http._transport._pool._ssl_context.verify_mode.name == "CERT_REQUIRED"  # noqa: SLF001


def test_referrers_are_read_when_the_index_has_no_attestations(fault_server):
    from buildgate.oci.attestations import find_attestations

    statement = json.dumps({"_type": "https://in-toto.io/Statement/v1", "predicateType": "https://spdx.dev/Document",
                            "subject": [], "predicate": {}}).encode()
    st_digest = "sha256:" + hashlib.sha256(statement).hexdigest()
    art = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "artifactType": "application/vnd.docker.attestation.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": "sha256:" + "4" * 64, "size": 2},
                      "layers": [{"mediaType": "application/vnd.in-toto+json", "digest": st_digest, "size": len(statement)}],
                      "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "a" * 64,
                                  "size": 10}}).encode()
    art_digest = "sha256:" + hashlib.sha256(art).hexdigest()
    plain = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [json.loads(INDEX)["manifests"][0]]}).encode()
    fault_server.routes[MANIFEST_PATH] = lambda s: (200, {"Content-Type": OCI_INDEX}, plain)
    fault_server.routes["/v2/org/app/referrers/sha256:" + "a" * 64] = lambda s: jreply(
        200, {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": art_digest, "size": len(art)}]},
        {"Content-Type": OCI_INDEX})
    fault_server.routes[f"/v2/org/app/manifests/{art_digest}"] = lambda s: (
        200, {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}, art)
    fault_server.routes[f"/v2/org/app/blobs/{st_digest}"] = lambda s: (200, {}, statement)
    c = client_for(fault_server)
    atts = find_attestations(c, c.resolve_tag("ghcr.io/org/app", "latest"))
    pa = atts["linux/amd64"]
    # no annotation on the layer: the statement itself was read to learn its predicate type
    assert [(s.origin, s.predicate_type) for s in pa.statements] == [("referrers", "https://spdx.dev/Document")]
    assert not pa.provenance
