"""Pure units of the registry layer: credentials, challenges, provenance parsing, tag classes,
client configuration from a target. No network."""
from __future__ import annotations

import base64
import json

import pytest

from buildgate.errors import CannotDecide, InputError
from buildgate.oci import (
    ChainCredentials,
    DockerConfigCredentials,
    EnvCredentials,
    client_from_target,
)
from buildgate.oci.client import _registry_name
from buildgate.oci.attestations import commit_matches, provenance_claims
from buildgate.repo_url import repo_key
from buildgate.oci.auth import parse_challenge
from buildgate.oci.checks import commit_tags, require_commit_tags
from buildgate.redact import Secret, safe_url
from buildgate.target import from_dict

SHA = "039d20cfb8d75a2aa0beb8f9630c2efdb276d952"


def test_secret_never_prints():
    s = Secret("ghp_abcdef")
    assert "ghp_abcdef" not in repr(s) and "ghp_abcdef" not in str(s) and "ghp_abcdef" not in f"{s}"
    cred = EnvCredentials(environ={"GHCR_TOKEN": "ghp_abcdef", "GITHUB_ACTOR": "bot"}).get("ghcr.io")
    assert cred.username == "bot" and cred.source == "env GHCR_TOKEN"
    assert "ghp_abcdef" not in repr(cred)
    header = cred.basic_header()
    assert header.reveal() == "Basic " + base64.b64encode(b"bot:ghp_abcdef").decode()
    assert "Ym90" not in repr(header) and "Ym90" not in f"{header}"  # even the encoded header never prints


def test_env_credentials_go_to_their_host_only():
    env = {"GITHUB_TOKEN": "t"}
    src = EnvCredentials(environ=env)
    assert src.get("ghcr.io").source == "env GITHUB_TOKEN"
    assert src.get("127.0.0.1:5000") is None and src.get("docker.io") is None
    assert EnvCredentials(environ={}).get("ghcr.io") is None


def test_docker_config(tmp_path, monkeypatch):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"auths": {
        "ghcr.io": {"auth": base64.b64encode(b"me:pw1").decode()},
        "https://index.docker.io/v1/": {"username": "hub", "password": "pw2"},
        "reg.example:5000": {"identitytoken": "idt"},
    }, "credsStore": "desktop"}))
    src = DockerConfigCredentials(cfg)
    assert src.get("ghcr.io").username == "me" and src.get("ghcr.io").secret.reveal() == "pw1"
    assert src.get("docker.io").username == "hub"
    assert src.get("reg.example:5000").identity_token
    assert src.get("quay.io") is None
    with pytest.raises(InputError, match="docker config file not found"):  # named: must exist
        DockerConfigCredentials(tmp_path / "missing.json").get("ghcr.io")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-such-dir"))
    assert DockerConfigCredentials().get("ghcr.io") is None  # the default file may be absent
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(InputError, match="not valid JSON"):
        DockerConfigCredentials(tmp_path / "bad.json").get("ghcr.io")
    chain = ChainCredentials(EnvCredentials(environ={}), src)
    assert chain.get("ghcr.io").source.startswith("docker config ")


def test_parse_challenge():
    c = parse_challenge('Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull"')
    assert (c.scheme, c.realm, c.service, c.scope) == ("bearer", "https://ghcr.io/token", "ghcr.io", "repository:a/b:pull")
    assert parse_challenge('Basic realm="x"').scheme == "basic"
    assert parse_challenge(None) is None


def test_registry_name_and_sanitize():
    assert _registry_name("ghcr.io/ardenone/moltbook-api") == ("ghcr.io", "ardenone/moltbook-api")
    assert _registry_name("nginx") == ("docker.io", "library/nginx")
    assert _registry_name("localhost:5000/x") == ("localhost:5000", "x")
    assert safe_url("https://user:pw@h.example/v2/x?sig=abc#f") == "https://h.example/v2/x"


@pytest.mark.parametrize("url", [
    "https://github.com/ardenone/moltbook-org",
    "https://github.com/Ardenone/Moltbook-Org.git",
    "git+https://github.com/ardenone/moltbook-org.git#refs/heads/main",
    "https://github.com/ardenone/moltbook-org.git#" + SHA,
    "git@github.com:ardenone/moltbook-org.git",
    "https://github.com/ardenone/moltbook-org@refs/heads/main",
    "https://github.com/ardenone/moltbook-org/",
])
def test_provenance_and_label_urls_name_the_repository(url):
    assert repo_key(url) == "github.com/ardenone/moltbook-org"


def test_repository_keys_keep_other_repos_apart():
    assert repo_key("https://github.com/ardenone/moltbook-org-fork") != repo_key("https://github.com/ardenone/moltbook-org")


def test_commit_matches():
    assert commit_matches(SHA, SHA) and commit_matches(SHA[:7], SHA) and commit_matches(SHA.upper(), SHA)
    assert not commit_matches(SHA[:6], SHA) and not commit_matches("main", SHA)
    assert not commit_matches("f" * 40, SHA)


def test_commit_tags_whatever_the_format():
    tags = ["main", SHA[:7], f"sha-{SHA[:7]}", f"main-{SHA[:8]}", SHA, "latest", "v1.2.3", "deadbee"]
    assert commit_tags(tags, SHA) == [SHA[:7], f"sha-{SHA[:7]}", f"main-{SHA[:8]}", SHA]
    with pytest.raises(CannotDecide, match="no tag naming commit"):
        require_commit_tags(["main", "latest"], SHA)


def _v1(vcs_source, vcs_rev, config_uri=None, config_sha=None):
    ext = {"configSource": {"uri": config_uri, "digest": {"sha1": config_sha}}} if config_uri else {"configSource": {"path": "Dockerfile"}}
    return {"predicateType": "https://slsa.dev/provenance/v1",
            "subject": [{"name": "pkg:docker/x", "digest": {"sha256": "ab" * 32}}],
            "predicate": {"buildDefinition": {"externalParameters": ext, "resolvedDependencies": [
                {"uri": "pkg:docker/docker/dockerfile@1", "digest": {"sha256": "cd" * 32}}]},
                "runDetails": {"builder": {"id": "https://github.com/ardenone/moltbook-org/actions/runs/9/attempts/1"},
                               "metadata": {"https://mobyproject.org/buildkit@v1#metadata": {
                                   "vcs": {"source": vcs_source, "revision": vcs_rev}}}}}}


def test_provenance_claims_v1_and_remote_context():
    c = provenance_claims(_v1("https://github.com/ardenone/moltbook-org", SHA,
                              "https://github.com/ardenone/moltbook-org.git#refs/heads/main", SHA))
    assert ("https://github.com/ardenone/moltbook-org", "runDetails.metadata.vcs.source") in c.repos
    assert (SHA, "buildDefinition.externalParameters.configSource.digest.sha1") in c.commits
    assert ("https://github.com/ardenone/moltbook-org", "builder.id") in c.repos
    assert c.subjects == ["sha256:" + "ab" * 32]
    # a docker-image dependency is not a source claim
    assert all("resolvedDependencies" not in p for _, p in c.repos)


def test_provenance_claims_v02_materials():
    st = {"predicateType": "https://slsa.dev/provenance/v0.2", "predicate": {
        "invocation": {"configSource": {"uri": "https://github.com/ardenone/moltbook-org.git#main",
                                        "digest": {"sha1": SHA}, "entryPoint": "Dockerfile"}},
        "materials": [{"uri": "pkg:docker/node@20", "digest": {"sha256": "00" * 32}}]}}
    c = provenance_claims(st)
    assert c.commits == [(SHA, "predicate.invocation.configSource.digest.sha1")]
    assert len(c.repos) == 1


def test_client_from_target_reads_the_registry_section(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_TOKEN", "value-not-shown")
    t = from_dict({"registry": {"mirrors": {"quay.io": "http://127.0.0.1:9"}, "token_env": "MY_TOKEN",
                                "timeout": 3, "max_manifest_bytes": 2048, "docker_config": str(tmp_path / "empty.json")}})
    (tmp_path / "empty.json").write_text("{}")
    c = client_from_target(t)
    assert c.timeout == 3 and c.max_manifest_bytes == 2048
    assert c.endpoint("quay.io/a/b") == ("http://127.0.0.1:9", "a/b")
    cred = c.credentials.get("ghcr.io")
    assert cred is not None and cred.source == "env MY_TOKEN"
    assert c.credentials.get("127.0.0.1:9") is None  # env credentials never go to a mirror
    assert "value-not-shown" not in repr(c)
    c.close()


def test_target_registry_schema_rejects_unknown_keys():
    from buildgate.errors import TargetError

    with pytest.raises(TargetError, match="unknown key"):
        from_dict({"registry": {"password": "x"}})
