"""The cluster reader and K5/K6 against a hostile Kubernetes API server on loopback.

The server is raw sockets (``tests.hostile.wire``), reached through a real kubeconfig and the
official ``kubernetes`` client. Each case asserts the verdict or the error, that the
kubeconfig's token never shows (messages, evidence, ``repr``, another host), and that nothing
hung (a generous wall-clock guard)."""
from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest

from buildgate.cluster import k6
from buildgate.cluster.config import WaitBudget, cluster_config
from buildgate.cluster.reader import DEPLOYMENTS, ClusterReader
from buildgate.errors import BuildgateError, CannotDecide, ProtocolError, RemoteError, Unreachable
from buildgate.repo import Repo
from pytest_buildgate.fixtures.kubeapi import objects as o
from tests.cluster.helpers import tiny_repo
from tests.hostile.wire import Clock, Req, Wire, WireServer, wire_servers

KTOKEN = "kube-bearer-token-never-printed-0123456789"
KUST = "k8s/kustomization.yml"
APP_PATH = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications"
DISCOVERY = "/apis/argoproj.io/v1alpha1"
WAIT = WaitBudget(timeout=3.0, interval=2.0, degraded_grace=1.0)  # a pause of 2 s: long enough to watch
GUARD = 30.0


@pytest.fixture
def wire():
    yield from wire_servers()


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    return tiny_repo(tmp_path_factory.mktemp("hostile-k6") / "repo")


def kubeconfig(path: Path, server: str, user: dict | None = None) -> Path:
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": user or {"token": KTOKEN}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u", "namespace": "moltbook"}}],
        "current-context": "x"}))
    return path


def reader(tmp_path: Path, server: WireServer, **settings) -> ClusterReader:
    cfg = cluster_config({"kubeconfig": str(kubeconfig(tmp_path / "kc", server.url)), "request_timeout": 1,
                          "request_deadline": 2, **settings})
    return ClusterReader.from_config(cfg)


def app_doc(revision: str, sync: str = "Synced", rv: str = "7") -> dict:
    doc = o.application(revision=revision, sync=sync)
    doc["metadata"]["resourceVersion"] = rv
    return doc


def no_leak(*things: object) -> None:
    for thing in things:
        for text in (str(thing), repr(thing)):
            assert KTOKEN not in text, f"the kubeconfig token leaked in {text[:200]!r}"


def argo(server: WireServer, get=None, watch=None) -> WireServer:
    """Discovery says Argo CD is installed; ``get`` answers the Application, ``watch`` its watch."""
    server.route(DISCOVERY, lambda r, w: w.json(200, {"kind": "APIResourceList", "groupVersion": "argoproj.io/v1alpha1",
                                                      "resources": [{"name": "applications", "namespaced": True,
                                                                     "kind": "Application", "verbs": ["get"]}]}))

    def apps(req: Req, w: Wire) -> None:
        if req.query.get("watch") in ("true", "1"):
            return (watch or (lambda r, ww: ww.json(200, {})))(req, w)
        return get(req, w)

    server.route(APP_PATH, apps)
    return server


def run_k6(tmp_path, server, history, budget=WAIT, **kw):
    r = reader(tmp_path, server)
    try:
        with Clock(GUARD):
            res = k6.k6_application_deployed(r, "argocd", "moltbook", Repo(history.path), KUST, budget, **kw)
    finally:
        r.close()
    no_leak(res.message, res.evidence, r)
    for req in server.seen:  # the token went to the API server only, and only as a header
        no_leak(req.target)
    return res


def k6_error(tmp_path, server, history, kind=RemoteError) -> BuildgateError:
    with pytest.raises(kind) as info:
        run_k6(tmp_path, server, history)
    exc = info.value
    assert "\n" not in str(exc)
    no_leak(exc, exc.args)
    return exc


def watch_head(w: Wire) -> None:
    w.head(200, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"})


def bookmark(rv: int) -> bytes:
    return json.dumps({"type": "BOOKMARK", "object": {"kind": "Application", "apiVersion": "argoproj.io/v1alpha1",
                                                     "metadata": {"resourceVersion": str(rv)}}}).encode() + b"\n"


# -- time -----------------------------------------------------------------------------------------
def test_an_application_dripped_one_byte_at_a_time_ends_at_the_request_deadline(tmp_path, wire, history):
    body = json.dumps(app_doc(history.head)).encode()
    server = argo(wire(), get=lambda r, w: (w.head(200, {"Content-Length": str(len(body))}), w.drip(body, 0.2)))
    exc = k6_error(tmp_path, server, history, Unreachable)
    assert "did not arrive within the 2s request deadline" in str(exc)


def test_discovery_headers_dripped_end_at_the_request_deadline(tmp_path, wire, history):
    server = wire().route(DISCOVERY, lambda r, w: w.drip(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 500 + b"\r\n\r\n", 0.1))
    exc = k6_error(tmp_path, server, history, Unreachable)
    assert "request deadline" in str(exc) and "CRD" not in str(exc)


def test_an_endless_watch_of_bookmarks_ends_with_the_wait(tmp_path, wire, history):
    def endless(req: Req, w: Wire) -> None:  # ignores timeoutSeconds, never sends a real event
        watch_head(w)
        n = 100
        while True:
            n += 1
            w.chunk(bookmark(n))
            w.pause(0.05)

    server = argo(wire(), get=lambda r, w: w.json(200, app_doc(history.head, sync="OutOfSync")), watch=endless)
    with Clock(GUARD) as clock:
        res = run_k6(tmp_path, server, history)
    assert not res.ok and "sync OutOfSync" in res.message and "(budget 3s)" in res.message
    assert sum(1 for r in server.seen if r.query.get("watch")) >= 1
    assert all(r.query.get("allowWatchBookmarks") == "true" for r in server.seen if r.query.get("watch"))
    no_leak(res.message, res.evidence)
    assert clock.elapsed < WAIT.timeout + 8


def test_a_410_gone_watch_event_relists_and_watches_again(tmp_path, wire, history):
    gets = []

    def get(req: Req, w: Wire) -> None:
        gets.append(req)
        w.json(200, app_doc(history.head, sync="OutOfSync" if len(gets) < 2 else "Synced", rv=str(len(gets))))

    def gone(req: Req, w: Wire) -> None:
        watch_head(w)
        w.chunk(json.dumps({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                                        "reason": "Expired", "code": 410,
                                                        "message": "too old resource version"}}).encode() + b"\n")
        w.send(b"0\r\n\r\n")

    server = argo(wire(), get=get, watch=gone)
    res = run_k6(tmp_path, server, history, budget=WaitBudget(timeout=20, interval=5, degraded_grace=1))
    assert res.ok, res.message
    assert len(gets) == 2  # re-listed once, right after the 410 (not after the 5 s pause)


def test_a_server_answering_only_410_does_not_spin_the_wait(tmp_path, wire, history):
    def gone(req: Req, w: Wire) -> None:
        w.json(410, {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"})

    server = argo(wire(), get=lambda r, w: w.json(200, app_doc(history.head, sync="OutOfSync")), watch=gone)
    res = run_k6(tmp_path, server, history)
    assert not res.ok and "sync OutOfSync" in res.message
    assert sum(1 for r in server.seen if r.query.get("watch")) <= 3


@pytest.mark.parametrize("line", [
    b'{"type": "ERROR", "object": {"code": 500, "reason": "InternalError"}}\n',
    b"this is not json\n",
    b'{"type": "SURPRISE", "object": {}}\n',
    b'["a", "list"]\n',
    b"[" * 100_000 + b"\n",
], ids=["error-500", "not-json", "unknown-type", "not-an-object", "deep"])
def test_bad_watch_events_fall_back_to_polling(tmp_path, wire, history, line):
    def bad(req: Req, w: Wire) -> None:
        watch_head(w)
        w.chunk(line)
        w.send(b"0\r\n\r\n")

    server = argo(wire(), get=lambda r, w: w.json(200, app_doc(history.head, sync="OutOfSync")), watch=bad)
    res = run_k6(tmp_path, server, history)
    assert not res.ok and "sync OutOfSync" in res.message
    assert sum(1 for r in server.seen if r.query.get("watch")) == 1  # then polling


def test_a_watch_line_that_never_ends_is_cut_at_the_line_cap(tmp_path, wire, history):
    def endless_line(req: Req, w: Wire) -> None:
        watch_head(w)
        w.chunk(b'{"type": "MODIFIED", "object": {"pad": "')
        w.endless(b"x" * 65536)

    server = argo(wire(), get=lambda r, w: w.json(200, app_doc(history.head, sync="OutOfSync")), watch=endless_line)
    res = run_k6(tmp_path, server, history)
    assert not res.ok and "sync OutOfSync" in res.message


def test_reader_watch_with_endless_bookmarks_returns_after_its_time(tmp_path, wire):
    server = wire()

    def endless(req: Req, w: Wire) -> None:
        watch_head(w)
        for n in range(10**9):
            w.chunk(bookmark(n))
            w.pause(0.02)

    server.route("/apis/apps/v1/namespaces/moltbook/deployments", endless)
    r = reader(tmp_path, server)
    try:
        with Clock(GUARD) as clock:
            changed = r.wait_for_change(DEPLOYMENTS, "moltbook", "moltbook-api", "5", 1.0)
    finally:
        r.close()
    assert changed is False and clock.elapsed < 1.0 + 5


# -- memory -----------------------------------------------------------------------------------------
def test_a_declared_400_mib_application_is_refused_before_reading(tmp_path, wire, history):
    server = argo(wire(), get=lambda r, w: (w.head(200, {"Content-Length": str(400 << 20)}),
                                            w.endless(b"x" * 65536, chunked=False)))
    exc = k6_error(tmp_path, server, history, ProtocolError)
    assert f"the answer is {400 << 20} bytes, over the 33554432-byte limit" in str(exc)


def test_an_endless_chunked_application_stops_at_the_byte_cap(tmp_path, wire, history):
    server = argo(wire(), get=lambda r, w: (w.head(200, {"Transfer-Encoding": "chunked"}), w.endless(b" " * 65536)))
    exc = k6_error(tmp_path, server, history, RemoteError)
    assert "over the 33554432-byte limit" in str(exc) or "request deadline" in str(exc)


def test_an_error_answer_with_an_endless_body_is_read_only_in_part(tmp_path, wire, history):
    server = argo(wire(), get=lambda r, w: (w.head(500, {"Transfer-Encoding": "chunked"}), w.endless(b"e" * 65536)))
    exc = k6_error(tmp_path, server, history, ProtocolError)
    assert "answered 500" in str(exc)


@pytest.mark.parametrize("body, match", [
    (b'{"a":' * 200_000 + b"1" + b"}" * 200_000, "nested too deeply"),
    (b"<html>login</html>", "is not valid JSON"),
    (b"[1, 2, 3]", "expected an object"),
], ids=["deep", "html", "list"])
def test_malformed_applications_are_one_line_errors(tmp_path, wire, history, body, match):
    server = argo(wire(), get=lambda r, w: w.reply(200, body, {"Content-Type": "application/json"}))
    exc = k6_error(tmp_path, server, history, RemoteError)
    assert match in str(exc)


# -- redirects --------------------------------------------------------------------------------------
def test_a_cross_host_redirect_is_named_as_such_and_not_followed(tmp_path, wire, history):
    server, other = wire(), wire()
    server.route(DISCOVERY, lambda r, w: w.reply(302, b"", {"Location": f"{other.url}/login?next=/apis"}))
    exc = k6_error(tmp_path, server, history, ProtocolError)
    text = str(exc)
    assert f"redirect (302) to {other.url}, another host" in text
    assert "CRD is missing" not in text and "next=" not in text
    assert other.seen == []  # never followed: nothing, let alone the token, went there


def test_a_same_host_redirect_is_named_too(tmp_path, wire, history):
    server = wire()
    server.route(DISCOVERY, lambda r, w: w.reply(301, b"", {"Location": "/elsewhere"}))
    exc = k6_error(tmp_path, server, history, ProtocolError)
    assert "redirect (301) to" in str(exc) and "same host" in str(exc)


def test_the_reader_refuses_to_write(tmp_path, wire):
    server = wire()
    r = reader(tmp_path, server)
    try:
        with pytest.raises(ProtocolError, match="read-only: refusing to send DELETE"):
            r.api_client.rest_client.request("DELETE", f"{server.url}/api/v1/namespaces/x/pods/y")
    finally:
        r.close()
    assert server.seen == []


# -- credential plugins ---------------------------------------------------------------------------
def test_an_exec_plugin_runs_and_is_named_in_the_evidence(tmp_path, wire, history):
    plugin = tmp_path / "get-token.py"
    plugin.write_text("import json\nprint(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1beta1', "
                      "'kind': 'ExecCredential', 'status': {'token': %r}}))\n" % KTOKEN)
    server = argo(wire(), get=lambda r, w: w.json(200, app_doc(history.head)))
    kc = kubeconfig(tmp_path / "kc-exec", server.url, {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": sys.executable, "args": [str(plugin)],
        "interactiveMode": "Never"}})
    r = ClusterReader.from_config(cluster_config({"kubeconfig": str(kc), "request_timeout": 2}))
    try:
        with Clock(GUARD):
            res = k6.k6_application_deployed(r, "argocd", "moltbook", Repo(history.path), KUST, WAIT)
    finally:
        r.close()
    assert res.ok, res.message
    assert any(f"exec plugin `{Path(sys.executable).name}`" in e and "run as kubectl would" in e for e in res.evidence)
    assert any(req.headers.get("authorization") == f"Bearer {KTOKEN}" for req in server.seen)  # it really ran
    no_leak(res.message, res.evidence, r.describe(), r)


# -- K6 false passes --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rollback(tmp_path_factory):
    """main: kust (tags abc1234) -> later; branch ``rollback`` from later puts the old tag back,
    then goes on (both descend from the kustomization commit; neither is on main)."""
    from tests.cluster.helpers import commit, git

    h = tiny_repo(tmp_path_factory.mktemp("rollback") / "repo")
    git(h.path, "checkout", "-q", "-b", "rollback", h.head)
    branch = commit(h.path, "roll the tags back", 1767240000, {KUST: "images:\n  - name: x\n    newTag: old\n"})
    branch_later = commit(h.path, "more on the branch", 1767240100, {"note.txt": "descendant\n"})
    git(h.path, "checkout", "-q", "main")
    return h, branch, branch_later


def test_a_descendant_on_a_branch_that_rolled_the_tags_back_fails(tmp_path, wire, rollback):
    h, branch, branch_later = rollback
    for revision in (branch, branch_later):
        server = argo(wire(), get=lambda r, w, rev=revision: w.json(200, app_doc(rev)))
        res = run_k6(tmp_path, server, h, budget=WaitBudget(0, 1, 0), default_branch="main")
        assert not res.ok, res.message
        assert f"{revision[:12]} (contains {h.kust[:7]} but is not on main's history)" in res.message


def test_a_main_revision_with_other_images_than_the_audited_ones_fails(tmp_path, wire, rollback):
    """Auditing the kustomization commit while main has since rolled the tags back: Argo CD at
    main's tip descends from the change and is on main, but deploys other images."""
    from tests.cluster.helpers import commit, git

    h, _, _ = rollback
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(h.path), str(clone))
    tip = commit(clone, "undo on main", 1767250000, {KUST: "images:\n  - name: x\n    newTag: rolled-back\n"})
    server = argo(wire(), get=lambda r, w: w.json(200, app_doc(tip)))
    r = reader(tmp_path, server)
    try:
        audited = Repo(clone, rev=h.kust)
        res = k6.k6_application_deployed(r, "argocd", "moltbook", audited, KUST, WaitBudget(0, 1, 0),
                                         default_branch="main")
    finally:
        r.close()
    assert not res.ok
    assert f"{tip[:12]} (on main but its {KUST} images differ from the audited ones)" in res.message


def test_the_change_itself_on_main_still_passes(tmp_path, wire, rollback):
    h, _, _ = rollback
    server = argo(wire(), get=lambda r, w: w.json(200, app_doc(h.head)))
    res = run_k6(tmp_path, server, h, budget=WaitBudget(0, 1, 0), default_branch="main")
    assert res.ok, res.message
    assert any("default branch tip" in e and "newTag abc1234" in e for e in res.evidence)


def test_an_unknown_default_branch_is_an_input_error(tmp_path, wire, history):
    server = argo(wire(), get=lambda r, w: w.json(200, app_doc(history.head)))
    with pytest.raises(BuildgateError, match="default branch 'trunk' is not in the local repository"):
        run_k6(tmp_path, server, history, default_branch="trunk")


def test_a_missing_crd_is_still_reported_as_missing(tmp_path, wire, history):
    server = wire()  # discovery answers 404
    with pytest.raises(CannotDecide, match="CRD is missing"):
        run_k6(tmp_path, server, history)


def test_k6_result_never_holds_the_token(tmp_path, wire, history):
    doc = copy.deepcopy(app_doc(history.before, sync="OutOfSync"))
    doc["status"]["conditions"] = [{"type": "ComparisonError", "message": f"auth failed: token={KTOKEN}"}]
    server = argo(wire(), get=lambda r, w: w.json(200, doc))
    res = run_k6(tmp_path, server, history, budget=WaitBudget(0, 1, 0))
    assert not res.ok
    no_leak(res.message, res.evidence)
