"""Hostile or broken ``registry:``/``cluster:`` sections of a target file: one line naming the
key (and the file), never a traceback, never a silent "no credentials"; and the secrets a
crash could print under ``--showlocals`` or ``--junitxml`` stay hidden."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from buildgate.cluster.config import cluster_config
from buildgate.errors import BuildgateError, InputError, TargetError
from buildgate.oci import client_from_target
from buildgate.target import load
from tests.hostile.wire import Clock

ROOT = Path(__file__).resolve().parents[2]


def target_file(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "target.yml"
    p.write_text(textwrap.dedent(text))
    return p


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text
    return text


def registry_client_error(tmp_path: Path, section: str) -> str:
    """Load a target whose ``registry:`` section is ``section`` and build its client: the
    error (schema or construction) as one line."""
    path = target_file(tmp_path, "images:\n  - {name: ghcr.io/org/app, context: .}\nregistry:\n" + section)
    with Clock(20), pytest.raises(TargetError) as info:
        client_from_target(load(path)).close()
    text = one_line(info.value)
    assert ":pw@" not in text and ":pw@" not in repr(info.value.args)  # a URL's password is never echoed
    return text


@pytest.mark.parametrize("url", ["http://[::1", "ghcr cache", "http://user:pw@cache.example", "http://cache:99999",
                                 "https://", "ftp://cache.example", "http://cache.example/?x=1", "http://ca che"])
def test_a_mirror_that_is_not_a_url_names_the_key(tmp_path, url):
    text = registry_client_error(tmp_path, f"  mirrors: {{ghcr.io: {json.dumps(url)}}}\n")
    assert "registry.mirrors.ghcr.io" in text and "pw" not in text


def test_a_mirror_with_a_trailing_newline_is_refused(tmp_path):
    text = registry_client_error(tmp_path, '  mirrors: {ghcr.io: "http://cache.example/\\n"}\n')
    assert "registry.mirrors.ghcr.io" in text


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "0", "1e9"])
def test_a_timeout_that_is_not_a_finite_time_names_the_key(tmp_path, value):
    text = registry_client_error(tmp_path, f"  timeout: {value}\n")
    assert "registry.timeout" in text and "target.yml" in text


@pytest.mark.parametrize("key", ["request_deadline", "run_budget"])
def test_the_new_time_keys_are_checked_too(tmp_path, key):
    assert f"registry.{key}" in registry_client_error(tmp_path, f"  {key}: .nan\n")


def test_a_ca_bundle_that_does_not_exist_names_the_key(tmp_path):
    text = registry_client_error(tmp_path, "  ca_bundle: certs/none.pem\n")
    assert "registry.ca_bundle: 'certs/none.pem': no such file" in text and str(tmp_path) in text


def test_a_docker_config_that_does_not_exist_is_an_error_not_no_credentials(tmp_path):
    text = registry_client_error(tmp_path, "  docker_config: nowhere/config.json\n")
    assert "registry.docker_config: 'nowhere/config.json': no such file" in text


def test_a_fifo_as_docker_config_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "fifo.json")
    with Clock(20):
        text = registry_client_error(tmp_path, "  docker_config: fifo.json\n")
    assert "not a regular file" in text


def test_docker_config_tilde_is_expanded(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    (home / ".docker" / "config.json").write_text(json.dumps(
        {"auths": {"ghcr.io": {"auth": base64.b64encode(b"me:docker-secret-value").decode()}}}))
    monkeypatch.setenv("HOME", str(home))
    for name in ("GHCR_TOKEN", "GITHUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    path = target_file(tmp_path, "registry:\n  docker_config: ~/.docker/config.json\n")
    c = client_from_target(load(path))
    try:
        cred = c.credentials.get("ghcr.io")
        assert cred is not None and cred.source == f"docker config {home}/.docker/config.json"
        assert "docker-secret-value" not in repr(cred) and "docker-secret-value" not in repr(c)
    finally:
        c.close()


@pytest.mark.parametrize("section, key", [
    ("  request_timeout: .nan\n", "cluster.request_timeout"),
    ("  request_deadline: .nan\n", "cluster.request_deadline"),
    ("  wait: {sync: {timeout: .nan}}\n", "cluster.wait.sync.timeout"),
    ("  request_timeout: .inf\n", "cluster.request_timeout"),
    ("  wait: {rollout: {interval: .inf}}\n", "cluster.wait.rollout.interval"),
])
def test_cluster_times_that_are_not_finite_name_the_key(tmp_path, section, key):
    path = target_file(tmp_path, "cluster:\n  kubeconfig: kc\n" + section)
    with pytest.raises(TargetError) as info:
        cluster_config(load(path).cluster, tmp_path)
    assert key in one_line(info.value)


def test_a_docker_config_nested_deep_is_an_input_error(tmp_path):
    (tmp_path / "deep.json").write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(InputError, match="nested too deeply"):
        client_from_target(load(target_file(tmp_path, "registry:\n  docker_config: deep.json\n"))).credentials.get("x")


CRASHING_TESTS = '''
import base64, json, os, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from buildgate.oci import EnvCredentials, RegistryClient

class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_GET(self):
        if self.path.startswith("/token"):
            body = json.dumps({"token": os.environ["HOSTILE_ISSUED"], "expires_in": "soon"}).encode()
            self.send_response(200)
        elif self.headers.get("Authorization") == "Bearer " + os.environ["HOSTILE_ISSUED"]:
            body = b"[" * 200000
            self.send_response(200)
        else:
            body = b"{}"
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Bearer realm="http://127.0.0.1:%d/token"' % self.server.server_address[1])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

def _client():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    host = "127.0.0.1:%d" % srv.server_address[1]
    creds = EnvCredentials(host, ("HOSTILE_TOKEN",), ("HOSTILE_USER",))
    return RegistryClient(mirrors={"ghcr.io": "http://" + host}, credentials=creds, timeout=5)

def test_crash_in_the_client():
    _client().resolve_tag("ghcr.io/org/app", "latest")  # deep JSON after a real token exchange

def test_crash_after_auth_in_the_test():
    c = _client()
    header = c.credentials.get(list(c.mirrors.values())[0][7:]).basic_header()
    assert header is None, "crash with the header in a local"
'''


def test_showlocals_and_junitxml_never_print_a_credential(tmp_path):
    """A crashing run under ``-l`` and ``--junitxml``: the locals of every frame are printed
    and recorded; neither the password, its Basic encoding nor the issued token appears."""
    secret, issued, user = "hostile-password-value-42", "issued-token-value-99", "someone"
    (tmp_path / "test_crash.py").write_text(CRASHING_TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOSTILE_TOKEN": secret, "HOSTILE_USER": user,
           "HOSTILE_ISSUED": issued}
    with Clock(120):
        proc = subprocess.run([sys.executable, "-m", "pytest", "-l", "--tb=long", "-p", "no:cacheprovider",
                               "-p", "no:xdist", "-p", "no:benchmark", "--junitxml", str(tmp_path / "junit.xml"),
                               "-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path),
                               str(tmp_path / "test_crash.py")],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=110)
    assert (tmp_path / "junit.xml").exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout + proc.stderr + (tmp_path / "junit.xml").read_text()
    assert "2 failed" in proc.stdout, proc.stdout[-2000:]
    assert "ProtocolError" in out and "nested too deeply" in out  # the crash really happened, with locals
    assert "Secret('***')" in out
    basic = base64.b64encode(f"{user}:{secret}".encode()).decode()
    for leak in (secret, basic, issued):
        assert leak not in out, f"{leak!r} printed by a crash"


def test_buildgate_errors_render_as_one_line():
    assert isinstance(TargetError("a\nb", "f:1"), BuildgateError) and str(TargetError("a\nb", "f:1")) == "f:1: a b"
