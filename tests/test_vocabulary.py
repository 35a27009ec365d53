"""The step vocabulary (``buildgate.vocabulary``): every check passes on a repository or service
where its claim holds and fails, with expected / found / where, where it doesn't; what can't be
decided is an error, a missing layer a skip.

Repositories: the two onboarding repositories (``tests/data/onboarding``); registry: a sandbox
registry holding hand-assembled images (with and without attestations); cluster: the stand-in
API server; devpod: a ``local://`` host running commands of this test only.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from buildgate import vocabulary as v
from buildgate.context import Context
from buildgate.errors import CannotDecide, InputError, NotApplicable
from buildgate.repo import Repo
from buildgate.target import Image, Target
from tests.data.onboarding import make_repo

WIDGET = "acme/widget"
API = "ghcr.io/acme/platform-api"
RELEASE = ".github/workflows/release.yml"
IMAGES = ".github/workflows/images.yml"


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    root = tmp_path_factory.mktemp("vocabulary")
    return {k: make_repo(k, root / k) for k in ("release_tags", "monorepo")}


@pytest.fixture(scope="module")
def release(repos):
    r = repos["release_tags"]
    return Repo(r.path), Target(repo_path=r.path, github="acme/widget", default_branch="master",
                                images=(Image(WIDGET, "."),))


@pytest.fixture(scope="module")
def mono(repos):
    r = repos["monorepo"]
    images = tuple(Image(f"ghcr.io/acme/platform-{s}", c) for s, c in
                   (("api", "./services/api"), ("worker", "./services/worker"), ("web", "./web")))
    return Repo(r.path), Target(repo_path=r.path, github="acme/platform", images=images)


# -- events --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "name", "ref"), [
    ("push", "push", "refs/heads/main"),
    ("push to release/2.x", "push", "refs/heads/release/2.x"),
    ("push of tag v1.2.3", "push", "refs/tags/v1.2.3"),
    ("tag v2", "push", "refs/tags/v2"),
    ("pull_request", "pull_request", "refs/pull/7/merge"),
    ("pull request into develop", "pull_request", "refs/pull/7/merge"),
    ("workflow_dispatch on hotfix", "workflow_dispatch", "refs/heads/hotfix"),
    ("schedule", "schedule", "refs/heads/main"),
    ("release", "release", "refs/heads/main"),
])
def test_events_are_read_from_their_text(text, name, ref):
    ev = v.event(text, "main", "a" * 40)
    assert (ev.name, ev.ref) == (name, ref)


def test_an_unknown_event_is_an_input_error_listing_the_forms():
    with pytest.raises(InputError, match="unknown event 'a push please'.*push of tag TAG"):
        v.event("a push please", "main", "a" * 40)


# -- workflows: triggers ------------------------------------------------------------------------
def test_runs_on(release, mono):
    repo, t = release
    ok = v.workflow_runs_on(repo, t, RELEASE, "push of tag v1.2.3")
    assert ok.ok and "release.yml:5" in ok.evidence[0]
    bad = v.workflow_runs_on(repo, t, RELEASE, "push to master")
    assert not bad.ok
    assert bad.message == ("expected .github/workflows/release.yml to run on push to master; found push filters "
                           "name only tags, so branch pushes don't trigger (at .github/workflows/release.yml:5)")
    assert v.workflow_runs_on(repo, t, RELEASE, "push to master", expect=False).ok
    assert not v.workflow_runs_on(repo, t, RELEASE, "push of tag v3.0.0", expect=False).ok
    assert not v.workflow_runs_on(repo, t, RELEASE, "push of tag nightly").ok  # filtered by v*.*.*
    missing = v.workflow_runs_on(repo, t, ".github/workflows/nope.yml", "push")
    assert not missing.ok and "found no such file" in missing.message
    mrepo, mt = mono
    assert v.workflow_runs_on(mrepo, mt, IMAGES, "pull_request").ok
    assert not v.workflow_runs_on(mrepo, mt, IMAGES, "pull_request into develop").ok


def test_a_path_filter_needs_the_changed_file(tmp_path):
    repo, t = _repo_with_workflow(tmp_path, "on:\n  push:\n    branches: [main]\n    paths: ['api/**']\n"
                                            "jobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo\n")
    with pytest.raises(CannotDecide, match='changing "PATH"'):
        v.workflow_runs_on(repo, t, ".github/workflows/w.yml", "push")
    assert v.workflow_runs_on(repo, t, ".github/workflows/w.yml", "push", ["api/main.go"]).ok
    r = v.workflow_runs_on(repo, t, ".github/workflows/w.yml", "push", ["docs/x.md"])
    assert not r.ok and "w.yml:4" in r.message


# -- workflows: builds, pushes, tags --------------------------------------------------------------
def test_builds_from_a_context(release, mono):
    repo, t = release
    assert v.workflow_builds(repo, t, RELEASE, "docker.io/acme/widget", ".").ok  # the same image, in full
    r = v.workflow_builds(repo, t, RELEASE, WIDGET, "./src")
    assert not r.ok and r.message == ("expected .github/workflows/release.yml to build acme/widget from ./src; "
                                      "found acme/widget from . (at .github/workflows/release.yml:32)")
    mrepo, mt = mono
    assert v.workflow_builds(mrepo, mt, IMAGES, "ghcr.io/acme/platform-web", "web").ok
    r = v.workflow_builds(mrepo, mt, IMAGES, "ghcr.io/acme/platform-cron", "cron")
    assert not r.ok and "ghcr.io/acme/platform-api from services/api" in r.message


def test_pushes_on_an_event(release, mono):
    repo, t = release
    assert v.workflow_pushes(repo, t, RELEASE, WIDGET, "push of tag v1.2.3").ok
    r = v.workflow_pushes(repo, t, RELEASE, WIDGET, "push to master")
    assert not r.ok and "push filters name only tags" in r.message and "release.yml:5" in r.message
    mrepo, mt = mono
    assert v.workflow_pushes(mrepo, mt, IMAGES, API, "push").ok
    assert v.workflow_pushes(mrepo, mt, IMAGES, API, "pull_request", expect=False).ok
    r = v.workflow_pushes(mrepo, mt, IMAGES, API, "workflow_dispatch", expect=False)
    assert not r.ok and "pushes it" in r.message and "images.yml:52" in r.message
    assert not v.workflow_pushes(mrepo, mt, IMAGES, "ghcr.io/acme/other", "push").ok


def test_tags_with_placeholders(release, mono, repos):
    repo, t = release
    head = repos["release_tags"].head
    assert v.tagged_with(repo, t, "push of tag v1.4.2", WIDGET, "1.4.2").ok
    assert v.tagged_with(repo, t, "push of tag v1.4.2", WIDGET, "1.4").ok
    assert v.tagged_with(repo, t, "push of tag v1.4.2", WIDGET, "sha-{sha}").ok
    assert v.tagged_with(repo, t, "push of tag v1.4.2", WIDGET, "latest").ok  # flavor latest=auto, for semver
    r = v.tagged_with(repo, t, "push of tag v1.4.2", WIDGET, "v1.4.2")
    assert not r.ok
    assert r.message.startswith("expected acme/widget:v1.4.2 pushed on push of tag v1.4.2; found tags 1.4.2, 1.4, "
                                f"sha-{head}, latest (at .github/workflows/release.yml:")
    r = v.tagged_with(repo, t, "push to master", WIDGET, "master")
    assert not r.ok and "no workflow pushes acme/widget then" in r.message
    mrepo, mt = mono
    mhead = repos["monorepo"].head
    assert v.tagged_with(mrepo, mt, "push to main", API, "{short_sha}").ok
    assert v.tagged_with(mrepo, mt, "push to main", API, "{branch}").ok
    assert v.tagged_with(mrepo, mt, "push to main", API, "latest").ok
    r = v.tagged_with(mrepo, mt, "push to main", API, "sha-{short_sha}")
    assert not r.ok and f"found tags main, latest, {mhead[:7]} (at .github/workflows/images.yml:44)" in r.message


def test_every_image(mono):
    repo, t = mono
    ok = v.for_every_image(t, lambda i: v.pushed_on(repo, t, i, "push"), "pushed")
    assert ok.ok and len(ok.evidence) == 3
    bad = v.for_every_image(t, lambda i: v.pushed_on(repo, t, i, "push of tag v1.0.0"), "pushed")
    assert not bad.ok and bad.message.count("expected a workflow under .github/workflows to push") == 3
    with pytest.raises(CannotDecide, match="names no images"):
        v.for_every_image(Target(images=()), lambda i: v.pushed_on(repo, t, i, "push"), "x")


def test_what_the_model_cannot_evaluate_is_an_error_naming_it(tmp_path):
    repo, t = _repo_with_workflow(tmp_path, "on: push\njobs:\n  b:\n    runs-on: x\n    steps:\n"
                                            "      - uses: docker/build-push-action@v6\n        with:\n"
                                            "          context: ${{ vars.CONTEXT }}\n          push: true\n"
                                            "          tags: acme/app:latest\n")
    with pytest.raises(CannotDecide, match=r"vars.CONTEXT.*w.yml:8"):
        v.pushed_on(repo, t, "acme/app", "push")


# -- files and the kustomization ------------------------------------------------------------------
def test_files(release):
    repo, _ = release
    assert v.file_exists(repo, "docs/building.md").ok
    assert v.file_exists(repo, "DOCKER_BUILD.md").message == "expected DOCKER_BUILD.md to exist; found no such file (at DOCKER_BUILD.md)"
    hit = v.file_contains(repo, "docs/changelog.md", "## 1.0.0")
    assert hit.ok and hit.evidence == ["docs/changelog.md:3: '## 1.0.0'"]
    miss = v.file_contains(repo, "docs/changelog.md", "## 2.0.0")
    assert not miss.ok and "no such text in its 5 lines" in miss.message
    assert v.file_is_executable(repo, "scripts/release.sh").ok
    r = v.file_is_executable(repo, "Dockerfile")
    assert r.message == "expected Dockerfile executable in git (mode 100755); found mode 100644 (at Dockerfile)"


def test_a_path_out_of_the_repository_is_an_input_error(release):
    repo, _ = release
    with pytest.raises(InputError, match="leaves the repository"):
        v.file_exists(repo, "../etc/passwd")


def test_kustomization_sets_a_commit(mono, repos):
    repo, _ = mono
    ok = v.kustomization_sets_commit(repo, "deploy/kustomization.yaml", API)
    assert ok.ok and repos["monorepo"].built[:7] in " ".join(ok.evidence + [ok.message])
    r = v.kustomization_sets_commit(repo, "third_party/chart/kustomization.yml", "redis")
    assert not r.ok and "newTag '7.2', which is not a commit sha" in r.message
    r = v.kustomization_sets_commit(repo, "deploy/kustomization.yaml", "ghcr.io/acme/cron")
    assert not r.ok and r.message.startswith("expected an images: entry for ghcr.io/acme/cron; found entries for "
                                             "ghcr.io/acme/platform-api")
    assert "deploy/kustomization.yaml:8" in r.message
    assert not v.kustomization_sets_commit(repo, "k8s/kustomization.yml", API).ok


# -- the registry ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    from buildgate.oci import RegistryClient
    from pytest_buildgate.fixtures.registry_sandbox import BuildSpec, SandboxRegistry, registry_binary

    if registry_binary() is None:
        pytest.skip("docker-registry is not installed")
    lab = SandboxRegistry.start(tmp_path_factory.mktemp("vocab-registry"), auth=False)
    try:
        url, commit = "https://github.com/acme/widget", "c" * 40
        lab.push(BuildSpec("acme/app", "ghcr.io/acme/app", ["1.4.2", "latest"], url, commit))
        lab.push(BuildSpec("acme/app", "ghcr.io/acme/app", ["old"], url, "d" * 40))
        lab.push(BuildSpec("acme/bare", "ghcr.io/acme/bare", ["1.0"], url, commit, sbom=False))
        client = RegistryClient(mirrors=lab.mirrors, timeout=10)
        yield client
        client.close()
    finally:
        lab.stop()


def test_registry_tags_digests_and_attestations(registry, release):
    repo, _ = release
    assert v.registry_has(registry, repo, "ghcr.io/acme/app:1.4.2").ok
    r = v.registry_has(registry, repo, "ghcr.io/acme/app:sha-{short_sha}")
    head = repo.head()
    assert not r.ok and f"ghcr.io/acme/app:sha-{head[:7]} to exist" in r.message and "404" in r.message
    assert v.same_digest(registry, repo, "ghcr.io/acme/app:latest", "ghcr.io/acme/app:1.4.2").ok
    stale = v.same_digest(registry, repo, "ghcr.io/acme/app:1.4.2", "ghcr.io/acme/app:old")
    assert not stale.ok and "to resolve to sha256:" in stale.message
    with pytest.raises(InputError, match="two images"):
        v.same_digest(registry, repo, "ghcr.io/acme/app:latest", "ghcr.io/acme/bare:1.0")
    ok = v.attested(registry, repo, "ghcr.io/acme/app:1.4.2")
    assert ok.ok and "https://spdx.dev/Document" in ok.evidence[0]
    bare = v.attested(registry, repo, "ghcr.io/acme/bare:1.0")
    assert not bare.ok and bare.message.startswith("expected an SPDX SBOM; found https://slsa.dev/provenance")
    with pytest.raises(InputError, match="expected IMAGE:TAG"):
        v.registry_has(registry, repo, "ghcr.io/acme/app")


# -- the cluster -----------------------------------------------------------------------------------
def test_deployment_runs(kubeapi):
    from pytest_buildgate.fixtures.kubeapi import objects as o

    w = o.Workload("api", {"api": (f"{API}:abc1234", o.image_id(f"{API}:abc1234", "sha256:" + "a" * 64))})
    reader = kubeapi(o.world_of(o.deployment(w))).reader()
    ns = o.NAMESPACE
    assert v.deployment_runs(reader, f"{ns}/api", f"{API}:abc1234").ok
    assert v.deployment_runs(reader, f"{ns}/api", API).ok  # no tag named: the repository is enough
    r = v.deployment_runs(reader, f"{ns}/api", f"{API}:def5678")
    assert r.message == (f"expected a container of {ns}/Deployment/api running {API}:def5678; "
                         f"found api: {API}:abc1234 (at {ns}/Deployment/api)")
    r = v.deployment_runs(reader, f"{ns}/web", API)
    assert r.message == f"expected Deployment {ns}/web running {API}; found no such Deployment (at {ns}/Deployment/web)"
    with pytest.raises(InputError, match="NAMESPACE/NAME"):
        v.deployment_runs(reader, "api", API)


# -- the devpod ------------------------------------------------------------------------------------
def test_devpod_commands_are_argument_lists(tmp_path):
    from buildgate.devpod.host import open_host

    host = open_host("local://", repo_dir=str(tmp_path), timeout=30)
    (tmp_path / "marker").write_text("here\n")
    assert v.devpod_exits(host, "sh -c 'exit 3'", 3).ok
    assert v.devpod_exits(host, "test -f marker", 0).ok  # run in the repository's checkout
    r = v.devpod_exits(host, "false", 0)
    assert not r.ok and r.message.startswith("expected false to exit 0; found exit 1")
    # no shell reads the words: $HOME and globs reach the program as written
    echoed = v.devpod_exits(host, "echo $HOME '*' \"a b\"", 0)
    assert echoed.ok and "$HOME * a b" in echoed.evidence[0]
    for shell_syntax in ("echo a; touch pwned", "echo a | tee pwned", "echo a > pwned", "true && touch pwned"):
        with pytest.raises(InputError, match="one command only"):
            v.devpod_exits(host, shell_syntax, 0)
    assert not (tmp_path / "pwned").exists()
    assert v.command_argv("sh -c 'exit 3'") == ["sh", "-c", "exit 3"]


# -- a missing layer -------------------------------------------------------------------------------
def test_a_missing_layer_is_a_skip_with_its_reason(release):
    repo, t = release
    ctx = Context(t, repo)
    for layer in ("registry", "cluster", "devpod"):
        with pytest.raises(NotApplicable, match=f"the {layer} layer is not available"):
            getattr(ctx, layer)


def _repo_with_workflow(tmp_path: Path, text: str) -> tuple[Repo, Target]:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "w.yml").write_text(text)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@x",
           "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@x"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "w"]):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, env=env, capture_output=True)
    return Repo(tmp_path), Target(repo_path=tmp_path, github="acme/app")


def test_every_documented_step_is_one_step_definition_and_every_definition_is_documented():
    """docs/vocabulary.md and steps/vocabulary_steps.py say the same: each documented sentence
    (with sample values) matches exactly one step pattern, and each pattern is documented."""
    import re as re_

    from tests.helpers import ROOT

    source = (ROOT / "steps" / "vocabulary_steps.py").read_text()
    from pytest_buildgate.steps.vocabulary_steps import _re

    parsers_ = {p: _re(p) for p in re_.findall(r"@then\(_re\('([^']+)'\)", source)}
    doc = (ROOT / "docs" / "vocabulary.md").read_text()
    steps_part = doc[doc.index("## Workflows"):doc.index("## Your own steps")]
    sentences = [s for row in steps_part.splitlines() if row.startswith("| `")
                 for s in re_.findall(r"`([^`]+)`", row.split(" | ")[0])]
    assert len(sentences) >= 22
    used = set()
    for sentence in sentences:
        sample = re_.sub(r'"[^"]+"', '"x"', sentence).replace(" exits CODE", " exits 0")
        hits = [p for p, parser in parsers_.items() if parser.is_matching(sample)]
        assert len(hits) == 1, (sentence, hits)
        used.update(hits)
    assert used == set(parsers_), set(parsers_) - used
