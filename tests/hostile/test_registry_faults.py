"""The registry client against a hostile registry on loopback (raw sockets, ports from the OS).

Every case asserts the outcome (a result, or a one-line error of the right kind), that no
credential leaked (not to another host, not in any message, ``repr`` or argument), and that
nothing hung (a generous wall-clock guard, not a speed goal)."""
from __future__ import annotations

import base64
import hashlib
import json

import pytest

from buildgate.errors import BuildgateError, ProtocolError, RateLimited, RemoteError, Unauthorized, Unreachable
from buildgate.oci import RegistryClient, StaticCredentials
from buildgate.oci.client import OCI_INDEX
from tests.hostile.wire import Clock, Req, Wire, WireServer, wire_servers

SECRET = "s3cret-registry-password-never-printed"
USER = "auditor"
TOKEN = "registry-issued-token-0123456789"
IMAGE = "ghcr.io/org/app"
MANIFEST = "/v2/org/app/manifests/latest"
INDEX = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "a" * 64, "size": 9,
     "platform": {"os": "linux", "architecture": "amd64"}}]}).encode()
BASIC = base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
FORBIDDEN = (SECRET, BASIC, TOKEN)
GUARD = 20.0  # seconds: the hang guard of every case (the deadlines under test are 1-2 s)


@pytest.fixture
def wire():
    yield from wire_servers()


def client(server: WireServer, **kw) -> RegistryClient:
    kw.setdefault("timeout", 1.0)
    kw.setdefault("request_deadline", 2.0)
    kw.setdefault("run_budget", 60.0)
    kw.setdefault("credentials", StaticCredentials({server.host: (USER, SECRET)}, source="env GHCR_TOKEN"))
    return RegistryClient(mirrors={"ghcr.io": server.url}, **kw)


def no_leak(*things: object) -> None:
    for thing in things:
        for text in (str(thing), repr(thing)):
            for secret in FORBIDDEN:
                assert secret not in text, f"credential leaked in {text[:200]!r}"


def failure(fn, kind: type[BuildgateError] = RemoteError) -> BuildgateError:
    """Run ``fn``; it must raise ``kind``, one line, nothing secret in it."""
    with Clock(GUARD):
        with pytest.raises(kind) as info:
            fn()
    exc = info.value
    assert "\n" not in str(exc) and "Traceback" not in str(exc)
    no_leak(exc, exc.args, exc.reason, exc.where)
    return exc


def foreign_clean(server: WireServer) -> None:
    """``server`` (another host) never saw a credential of ours, in any header."""
    for req in server.seen:
        assert "authorization" not in req.headers, f"Authorization sent to another host: {req.target}"
        no_leak(req.headers, req.target)


def bearer_registry(server: WireServer, manifest=None) -> None:
    """A registry on ``server`` that wants our Bearer token (from its own token service)."""
    def registry(req: Req, w: Wire) -> None:
        if req.headers.get("authorization") != f"Bearer {TOKEN}":
            return w.json(401, {"errors": [{"code": "UNAUTHORIZED"}]},
                          {"WWW-Authenticate": f'Bearer realm="{server.url}/token",service="reg"'})
        if manifest is not None:
            return manifest(req, w)
        w.reply(200, INDEX, {"Content-Type": OCI_INDEX})
    server.route(MANIFEST, registry)


# -- credentials on redirects -------------------------------------------------------------------
def test_token_service_redirect_to_another_host_drops_the_credential(wire):
    reg, other = wire(), wire()
    bearer_registry(reg)
    reg.route("/token", lambda r, w: w.reply(307, b"", {"Location": f"{other.url}/token?x=1"}))
    other.route("/token", lambda r, w: w.json(200, {"token": TOKEN}))
    c = client(reg)
    with Clock(GUARD):
        got = c.resolve_tag(IMAGE, "latest")
    assert got is not None and got.is_index  # the registry itself accepted the token
    foreign_clean(other)
    assert [r.headers.get("authorization") for r in reg.seen if r.path == "/token"] == [f"Basic {BASIC}"]
    no_leak(got, c, c.requests.entries)


def test_token_redirect_there_and_back_sends_the_credential_to_its_own_host_only(wire):
    reg, other = wire(), wire()
    bearer_registry(reg)
    reg.route("/token", lambda r, w: w.reply(302, b"", {"Location": f"{other.url}/bounce"})
              if "back" not in r.target else w.json(200, {"token": TOKEN}))
    other.route("/bounce", lambda r, w: w.reply(302, b"", {"Location": f"{reg.url}/token?back=1"}))
    assert client(reg).resolve_tag(IMAGE, "latest") is not None
    foreign_clean(other)


def test_manifest_redirect_to_another_host_drops_the_token(wire):
    reg, other = wire(), wire()
    bearer_registry(reg, lambda r, w: w.reply(307, b"", {"Location": f"{other.url}/elsewhere"}))
    reg.route("/token", lambda r, w: w.json(200, {"token": TOKEN}))
    other.route("/elsewhere", lambda r, w: w.reply(200, INDEX, {"Content-Type": OCI_INDEX}))
    assert client(reg).resolve_tag(IMAGE, "latest") is not None
    foreign_clean(other)


@pytest.mark.parametrize("location, match", [
    ("{url}" + MANIFEST, "more than 5 redirects"),          # a loop
    ("file:///etc/passwd", "non-HTTP location"),
    ("http://[::1", "location"),
    ("gopher://127.0.0.1:70/x", "non-HTTP location"),
])
def test_bad_redirects_are_errors(wire, location, match):
    reg = wire()
    reg.route(MANIFEST, lambda r, w: w.reply(302, b"", {"Location": location.format(url=reg.url)}))
    exc = failure(lambda: client(reg).resolve_tag(IMAGE, "latest"), ProtocolError)
    assert match in str(exc)


def test_token_realm_on_another_host_gets_no_credential(wire):
    reg, other = wire(), wire()
    reg.route(MANIFEST, lambda r, w: w.json(401, {}, {"WWW-Authenticate": f'Bearer realm="http://localhost:{other.port}/t"'}))
    exc = failure(lambda: client(reg).resolve_tag(IMAGE, "latest"), Unauthorized)
    assert "refusing to send credentials from env GHCR_TOKEN to the token realm on localhost" in str(exc)
    assert other.seen == []


# -- time -----------------------------------------------------------------------------------------
def test_manifest_body_dripped_one_byte_at_a_time_ends_at_the_deadline(wire):
    reg = wire()
    reg.route(MANIFEST, lambda r, w: (w.head(200, {"Content-Length": str(len(INDEX)), "Content-Type": OCI_INDEX}),
                                      w.drip(INDEX, 0.2)))
    exc = failure(lambda: client(reg, credentials=None).resolve_tag(IMAGE, "latest"), Unreachable)
    assert "did not finish within the 2s request deadline" in str(exc)


def test_headers_dripped_one_byte_at_a_time_end_at_the_deadline(wire):
    reg = wire()
    reg.route(MANIFEST, lambda r, w: w.drip(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 400 + b"\r\n\r\n", 0.1))
    exc = failure(lambda: client(reg, credentials=None).resolve_tag(IMAGE, "latest"), Unreachable)
    assert "request deadline" in str(exc)


def test_token_service_dripping_its_answer_ends_at_the_deadline(wire):
    reg = wire()
    bearer_registry(reg)
    body = json.dumps({"token": TOKEN}).encode()
    reg.route("/token", lambda r, w: (w.head(200, {"Content-Length": str(len(body))}), w.drip(body, 0.2)))
    exc = failure(lambda: client(reg).resolve_tag(IMAGE, "latest"), Unreachable)
    assert "request deadline" in str(exc)


def test_a_server_that_says_nothing_times_out_per_read(wire):
    reg = wire()
    reg.route(MANIFEST, lambda r, w: w.pause(30))
    exc = failure(lambda: client(reg, credentials=None, timeout=0.5).resolve_tag(IMAGE, "latest"), Unreachable)
    assert "no answer within 0.5s" in str(exc)


def test_the_run_budget_ends_a_run_of_slow_answers(wire):
    reg = wire()
    reg.route("/v2/", lambda r, w: (w.head(200, {"Content-Length": "100000", "Content-Type": OCI_INDEX}),
                                    w.drip(b"x" * 100000, 0.05)))
    c = client(reg, credentials=None, request_deadline=1.0, run_budget=2.5)
    errors = []
    with Clock(GUARD):
        for tag in ("a", "b", "c", "d", "e"):
            try:
                c.resolve_tag(IMAGE, tag)
            except Unreachable as exc:
                errors.append(str(exc))
    assert len(errors) == 5
    assert any("run budget" in e for e in errors), errors
    assert c.budget.spent <= 2.5 + 2.0


# -- headers --------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["²", "٣", "\u0661\u0662", "1e9", "-5", "Fri, 31 Dec 99999 23:59:59 GMT", "", "0x10"])
def test_odd_retry_after_values_never_crash(wire, value):
    reg = wire()
    reg.route(MANIFEST, lambda r, w: w.reply(429, b"{}", {"Retry-After": value.encode("utf-8").decode("latin-1")}))
    exc = failure(lambda: client(reg, credentials=None, max_retries=1).resolve_tag(IMAGE, "latest"), RateLimited)
    assert "429 too many requests, still after 1 retries" in str(exc)


@pytest.mark.parametrize("raw", [
    b"HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 2\r\n\r\n{}",
    b"HTTP/1.1 abc Broken\r\nContent-Length: 2\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"short\":",
    b"HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 2\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(5000)) + b"Content-Length: 2\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"garbage\r\n\r\n",
    b"",
], ids=["no-colon", "bad-status", "short-body", "space-in-name", "5000-headers", "negative-length",
        "bad-chunk", "garbage", "closed"])
def test_malformed_answers_are_one_line_errors(wire, raw):
    reg = wire()
    reg.route(MANIFEST, lambda r, w: w.send(raw))
    failure(lambda: client(reg, credentials=None).resolve_tag(IMAGE, "latest"), RemoteError)


def test_non_latin1_header_bytes_are_not_a_crash(wire):
    reg = wire()
    reg.route(MANIFEST, lambda r, w: w.send(b"HTTP/1.1 200 OK\r\nContent-Type: \xff\xfe\xc3\r\n"
                                            b"Docker-Content-Digest: sha256:\xe2\x82\xac\r\nContent-Length: "
                                            + str(len(INDEX)).encode() + b"\r\n\r\n" + INDEX))
    with Clock(GUARD):
        try:
            got = client(reg, credentials=None).resolve_tag(IMAGE, "latest")
        except RemoteError as exc:
            no_leak(exc)
            assert "\n" not in str(exc)
        else:
            assert got is not None and got.digest == "sha256:" + hashlib.sha256(INDEX).hexdigest()


@pytest.mark.parametrize("token", ["tok\r\nX-Evil: 1", "t\u00f6ken", "two words", "a\x00b"])
def test_malformed_tokens_are_refused_not_sent(wire, token):
    reg = wire()
    bearer_registry(reg)
    reg.route("/token", lambda r, w: w.json(200, {"token": token}))
    exc = failure(lambda: client(reg).resolve_tag(IMAGE, "latest"), ProtocolError)
    assert "malformed token" in str(exc) and token not in str(exc)
    assert not any("x-evil" in r.headers for r in reg.seen)


@pytest.mark.parametrize("challenge", ["Negotiate", "Bearer", 'Bearer realm=""', "\x7f\x01", 'Bearer realm="ftp://x/t"',
                                       'Bearer realm="http://[::1/t"'])
def test_unusable_challenges_are_unauthorized(wire, challenge):
    reg = wire()
    reg.route(MANIFEST, lambda r, w: w.json(401, {}, {"WWW-Authenticate": challenge}))
    failure(lambda: client(reg).resolve_tag(IMAGE, "latest"), Unauthorized)


def test_a_registry_that_rejects_every_token_is_unauthorized_not_a_loop(wire):
    reg = wire()
    reg.route(MANIFEST, lambda r, w: w.json(401, {}, {"WWW-Authenticate": f'Bearer realm="{reg.url}/token"'}))
    reg.route("/token", lambda r, w: w.json(200, {"token": TOKEN}))
    exc = failure(lambda: client(reg).resolve_tag(IMAGE, "latest"), Unauthorized)
    assert "credentials from env GHCR_TOKEN were rejected" in str(exc)
    assert len(reg.seen) <= 4


def test_tag_pagination_to_another_host_is_refused(wire):
    reg, other = wire(), wire()
    reg.route("/v2/org/app/tags/list", lambda r, w: w.json(200, {"tags": ["a"]},
                                                           {"Link": f'<{other.url}/v2/org/app/tags/list?last=a>; rel="next"'}))
    exc = failure(lambda: client(reg).tags(IMAGE), ProtocolError)
    assert "another host" in str(exc) and other.seen == []


# -- memory -----------------------------------------------------------------------------------------
DEEP = b"[" * 200_000 + b"]" * 200_000
DEEP_OBJ = b'{"a":' * 200_000 + b"1" + b"}" * 200_000


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJ], ids=["arrays", "objects"])
def test_manifest_nested_200000_deep_is_an_error(wire, body):
    reg = wire()
    reg.route(MANIFEST, lambda r, w: w.reply(200, body, {"Content-Type": OCI_INDEX}))
    exc = failure(lambda: client(reg, credentials=None).resolve_tag(IMAGE, "latest"), ProtocolError)
    assert "nested too deeply" in str(exc)


def test_token_answer_nested_deep_is_an_error(wire):
    reg = wire()
    bearer_registry(reg)
    reg.route("/token", lambda r, w: w.reply(200, b'{"token":' + DEEP[:100_000] + b"]" * 0 + b"}"))
    exc = failure(lambda: client(reg).resolve_tag(IMAGE, "latest"), ProtocolError)
    assert "token service answer" in str(exc)


def test_tag_list_nested_deep_is_an_error(wire):
    reg = wire()
    reg.route("/v2/org/app/tags/list", lambda r, w: w.reply(200, DEEP_OBJ))
    exc = failure(lambda: client(reg, credentials=None).tags(IMAGE), ProtocolError)
    assert "nested too deeply" in str(exc)


def test_server_error_with_a_deep_body_is_a_plain_server_error(wire):
    reg = wire()
    reg.route(MANIFEST, lambda r, w: w.reply(500, b'{"errors":' + DEEP[:8000]))
    exc = failure(lambda: client(reg, credentials=None, max_retries=0).resolve_tag(IMAGE, "latest"), ProtocolError)
    assert "server error HTTP 500" in str(exc)


def test_a_declared_400_mib_answer_is_refused_before_reading(wire):
    reg = wire()
    reg.route(MANIFEST, lambda r, w: (w.head(200, {"Content-Length": str(400 << 20), "Content-Type": OCI_INDEX}),
                                      w.endless(b"x" * 65536, chunked=False)))
    exc = failure(lambda: client(reg, credentials=None).resolve_tag(IMAGE, "latest"), ProtocolError)
    assert f"answer is {400 << 20} bytes, over the 4194304-byte limit" in str(exc)


def test_an_endless_chunked_answer_stops_at_the_byte_cap(wire):
    reg = wire()
    reg.route(MANIFEST, lambda r, w: (w.head(200, {"Transfer-Encoding": "chunked", "Content-Type": OCI_INDEX}),
                                      w.endless(b"[" * 65536)))
    exc = failure(lambda: client(reg, credentials=None, max_manifest_bytes=1 << 20).resolve_tag(IMAGE, "latest"),
                  ProtocolError)
    assert "over the 1048576-byte limit" in str(exc)


def test_an_endless_token_answer_stops_at_its_cap(wire):
    reg = wire()
    bearer_registry(reg)
    reg.route("/token", lambda r, w: (w.head(200, {"Transfer-Encoding": "chunked"}), w.endless(b" " * 65536)))
    exc = failure(lambda: client(reg).resolve_tag(IMAGE, "latest"), ProtocolError)
    assert "over the 262144-byte limit" in str(exc)


def test_a_digest_header_that_lies_is_caught(wire):
    reg = wire()
    reg.route(MANIFEST, lambda r, w: w.reply(200, INDEX, {"Content-Type": OCI_INDEX,
                                                          "Docker-Content-Digest": "sha256:" + "0" * 64}))
    exc = failure(lambda: client(reg, credentials=None).resolve_tag(IMAGE, "latest"), ProtocolError)
    assert "manifest bytes hash to" in str(exc)
