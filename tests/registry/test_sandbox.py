"""The sandbox registry itself: GHCR-like tokens, what gets pushed, read-only client, cleanup;
and the registry features end to end against a real target file pointing at a sandbox registry."""
from __future__ import annotations

import base64
import json
import socket

import httpx
import jwt
import pytest
from cryptography import x509

from buildgate.oci import RegistryClient
from buildgate.oci import checks as g
from pytest_buildgate.fixtures.registry_sandbox import SandboxRegistry, push_sandbox_images, registry_binary
from pytest_buildgate.fixtures.registry_sandbox.tokens import TokenService
from pytest_buildgate.fixtures.sandbox_repo import make_sandbox_repo
from tests.helpers import run_pytest, verdicts

SECRET = "ghp_buildgateTestSecretNeverPrinted"
pytestmark = pytest.mark.skipif(registry_binary() is None, reason="docker-registry is not installed")


def test_token_is_an_rs256_jwt_with_x5c():
    svc = TokenService()
    svc.private = {"org/secret"}
    token = svc.issue(None, "repository:org/app:pull,push repository:org/secret:pull")
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    cert = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    claims = jwt.decode(token, cert.public_key(), algorithms=["RS256"], audience=svc.service, issuer=svc.issuer)
    assert claims["access"] == [{"type": "repository", "name": "org/app", "actions": ["pull"]},
                                {"type": "repository", "name": "org/secret", "actions": []}]
    assert {"exp", "nbf", "iat", "jti"} <= set(claims)


def test_sandbox_registry_fixture(sandbox_registry, sandbox_repo):
    """What the features read: every tag of every image, on one index digest, built by podman."""
    for img in sandbox_repo.target.images:
        pushed = sandbox_registry.pushed[img.name]
        assert set(pushed) == set(sandbox_repo.tags[img.name]) and sandbox_repo.new_tag in pushed
        assert len(set(pushed.values())) == 1
    assert set(sandbox_registry.mirrors) == {"ghcr.io"}
    assert sandbox_registry.mirrors["ghcr.io"].startswith("http://127.0.0.1:")
    assert all(b.built_by in ("podman", "hand") for b in sandbox_registry.builds)
    if not sandbox_registry.notes:
        assert {b.built_by for b in sandbox_registry.builds} == {"podman"}


def test_anonymous_callers_cannot_push_and_the_client_only_reads(tmp_path):
    with SandboxRegistry.start(tmp_path / "lab") as lab:
        repo = make_sandbox_repo(tmp_path / "repo")
        push_sandbox_images(lab, repo, podman=False)
        token = httpx.get(lab.tokens.realm, params={"service": lab.tokens.service,
                                                    "scope": "repository:ardenone/moltbook-api:pull,push"}).json()["token"]
        r = httpx.post(f"{lab.url}/v2/ardenone/moltbook-api/blobs/uploads/", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401  # pull-only token
        client = RegistryClient(mirrors=lab.mirrors, timeout=5)
        images = [i.name for i in repo.target.images]
        tags = repo.tags[images[0]]
        assert g.g4_attestations_present(client, images, tags, repo.built_commit).ok
        assert g.g6_labels_match(client, images, tags, repo.built_commit, "https://github.com/ardenone/moltbook-org").ok
        client.close()
        import time

        time.sleep(0.3)  # the access log is read by a thread
        ours = [a for a in lab.registry.access if a.user_agent.startswith("buildgate-oci/")]
        assert len(ours) >= len(client.requests.entries) - client.requests.count(kind="token") > 0
        assert {a.method for a in ours} <= {"GET", "HEAD"}


def test_stop_leaves_nothing_behind():
    lab = SandboxRegistry.start()
    proc, port, workdir = lab.registry.proc, int(lab.url.rsplit(":", 1)[1]), lab.workdir
    realm_port = int(lab.tokens.realm.split(":")[2].split("/")[0])
    lab.stop()
    assert proc.poll() is not None
    assert not workdir.exists()
    for p in (port, realm_port):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", p)) != 0


def _target_file(tmp_path, repo_path, mirrors=None):
    lines = ["name: registry-e2e", "repo:", f"  path: {repo_path}"]
    if mirrors is not None:
        lines += ["registry:", "  mirrors:"] + [f"    {k}: {v}" for k, v in mirrors.items()]
    path = tmp_path / "target.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_features_on_a_real_target_with_a_newtag_never_pushed(tmp_path):
    """The real defect: the bot writes a tag the workflow never pushed. K4 fails, G1-G6 pass."""
    good = make_sandbox_repo(tmp_path / "good")
    k = (good.path / "k8s" / "kustomization.yml").read_text().replace(f"newTag: {good.new_tag}", f"newTag: main-{good.new_tag}", 1)
    broken = make_sandbox_repo(tmp_path / "broken", files={"k8s/kustomization.yml": k})
    with SandboxRegistry.start(tmp_path / "lab") as lab:
        push_sandbox_images(lab, good, podman=False)
        target = _target_file(tmp_path, broken.path, lab.mirrors)
        code, report, out = run_pytest("features/registry", "-q", "--target", str(target), timeout=300,
                                       env={"GHCR_TOKEN": SECRET, "GITHUB_TOKEN": SECRET})
    assert report is not None, out[-2000:]
    assert SECRET not in out and SECRET not in json.dumps(report)
    v = verdicts(report)
    assert v["K4"] == "fail", out[-2000:]
    assert {v[c] for c in ("G1", "G2", "G3", "G4", "G5", "G6")} == {"pass"}, v
    msg = report["criteria"]["K4"]["message"]
    assert f"expected ghcr.io/ardenone/moltbook-api:main-{good.new_tag} (the kustomization's newTag) to exist" in msg
    assert "k8s/kustomization.yml:13" in msg and "\n" not in msg
    assert code != 0


def test_real_target_without_registry_section_skips(tmp_path):
    repo = make_sandbox_repo(tmp_path / "repo")
    code, report, out = run_pytest("features/registry", "-q", "--target", str(_target_file(tmp_path, repo.path)),
                                   "--allow-skipped", timeout=300)
    assert report is not None, out[-2000:]
    v = verdicts(report)
    assert v["G1"] == v["K4"] == "skipped", v
    assert "has no registry: section" in report["criteria"]["G1"]["message"]
