"""K6 decides only on what Argo CD resolved: a full commit id (never a branch, HEAD or short sha
resolved in the local clone), from a source that deploys the kustomization's folder of the
target's repository."""
from __future__ import annotations

import copy

import pytest

from buildgate.cluster import k6
from buildgate.errors import CannotDecide
from buildgate.repo import Repo
from pytest_buildgate.fixtures.kubeapi import objects as o
from tests.cluster.helpers import FAST, git, tiny_repo

KUST = "k8s/kustomization.yml"
GITHUB = "ardenone/moltbook-org"
OURS = "https://github.com/ardenone/moltbook-org.git"


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    h = tiny_repo(tmp_path_factory.mktemp("k6src") / "repo")
    git(h.path, "tag", "-a", "-m", "release", "v1", h.head)
    h.tag_object = git(h.path, "rev-parse", "v1")  # type: ignore[attr-defined]
    return h


def _run(kubeapi, history, app, github=GITHUB, kustomization=KUST):
    world = o.world_of(app)
    r = kubeapi(world).reader()
    world.restart_clock()
    return k6.k6_application_deployed(r, "argocd", "moltbook", Repo(history.path), kustomization, FAST, github=github)


# -- the revision must be a full commit id --------------------------------------------------------
@pytest.mark.parametrize("revision", ["HEAD", "main", "main~0", "HEAD^{commit}", "v1", "short"])
def test_a_symbolic_revision_cannot_be_decided(kubeapi, history, revision):
    """Each of these resolves in the local clone (and used to pass); none says what Argo CD synced."""
    if revision == "short":
        revision = history.head[:12]
    with pytest.raises(CannotDecide) as exc:
        _run(kubeapi, history, o.application(revision=revision, repo_url=OURS))
    assert f"Application revision {revision!r} is not a full commit id (40 or 64 lower-case hex digits)" in str(exc.value)
    assert exc.value.where == "argocd/Application/moltbook"


def test_a_symbolic_revision_of_one_of_several_sources_cannot_be_decided(kubeapi, history):
    app = _multi(history, revisions=["1.2.3", "main"])
    with pytest.raises(CannotDecide, match="Application revision 'main' is not a full commit id"):
        _run(kubeapi, history, app)


def test_a_full_id_naming_an_annotated_tag_is_not_a_commit(kubeapi, history):
    with pytest.raises(CannotDecide, match=f"Application revision {history.tag_object} names a tag object, not a commit"):
        _run(kubeapi, history, o.application(revision=history.tag_object, repo_url=OURS))


def test_a_full_commit_id_still_passes(kubeapi, history):
    res = _run(kubeapi, history, o.application(revision=history.head, repo_url=OURS))
    assert res.ok, res.message


# -- the source must be the target's repository and the kustomization's folder ---------------------
@pytest.mark.parametrize("url", [
    "https://github.com/ardenone/moltbook-org",
    "https://github.com/ardenone/moltbook-org.git",
    "https://github.com/ardenone/moltbook-org/",
    "https://github.com/Ardenone/Moltbook-Org.git",
    "git@github.com:ardenone/moltbook-org.git",
    "ssh://git@github.com/ardenone/moltbook-org.git",
])
@pytest.mark.parametrize("path", ["k8s", "./k8s", "k8s/"])
def test_equivalent_repo_urls_and_paths_match(kubeapi, history, url, path):
    res = _run(kubeapi, history, o.application(revision=history.head, repo_url=url, path=path))
    assert res.ok, res.message


def test_another_repository_fails_naming_both(kubeapi, history):
    res = _run(kubeapi, history, o.application(revision=history.head, repo_url="https://github.com/someone/fork.git"))
    assert not res.ok
    assert res.message == (
        "expected Application moltbook deploying a source https://github.com/ardenone/moltbook-org path k8s "
        "(the folder of k8s/kustomization.yml); found spec.source https://github.com/someone/fork.git path k8s "
        "(at argocd/Application/moltbook)")


def test_another_folder_fails_naming_both(kubeapi, history):
    res = _run(kubeapi, history, o.application(revision=history.head, repo_url=OURS, path="k8s/overlays/dev"))
    assert not res.ok
    assert res.message == (
        "expected Application moltbook deploying a source https://github.com/ardenone/moltbook-org path k8s "
        f"(the folder of k8s/kustomization.yml); found spec.source {OURS} path k8s/overlays/dev "
        "(at argocd/Application/moltbook)")


@pytest.mark.parametrize("kustomization, folder", [
    ("k8s/kustomization.yml", "k8s"), ("kustomization.yml", ""), ("./deploy/prod/kustomization.yaml", "deploy/prod")])
def test_the_folder_of_the_kustomization(kustomization, folder):
    assert k6.kustomization_folder(kustomization) == folder


@pytest.mark.parametrize("path, matches", [(".", True), ("", True), ("/", True), (None, True), ("k8s", False)])
def test_a_kustomization_at_the_root_wants_the_root(path, matches):
    app = o.application(revision="a" * 40, repo_url=OURS)
    if path is None:
        del app["spec"]["source"]["path"]
    else:
        app["spec"]["source"]["path"] = path
    assert (k6.matching_sources(app, GITHUB, "") == [0]) is matches
    if not matches:
        assert k6.source_mismatch(app, GITHUB, "") == f"spec.source {OURS} path k8s"


def test_without_github_only_the_path_is_compared(kubeapi, history):
    res = _run(kubeapi, history, o.application(revision=history.head, repo_url="https://git.example/x.git"),
               github=None)
    assert res.ok, res.message
    res = _run(kubeapi, history, o.application(revision=history.head, repo_url=OURS, path="elsewhere"), github=None)
    assert not res.ok and "expected Application moltbook deploying a source path k8s" in res.message


# -- multi-source Applications --------------------------------------------------------------------
def _multi(history, revisions, sources=None):
    app = o.application(revision=history.head, repo_url=OURS)
    app = copy.deepcopy(app)
    del app["spec"]["source"]
    app["spec"]["sources"] = sources or [
        {"repoURL": "https://charts.example.com", "chart": "redis", "targetRevision": "1.2.3"},
        {"repoURL": OURS, "path": "k8s", "targetRevision": "main"},
    ]
    del app["status"]["sync"]["revision"]
    app["status"]["sync"]["revisions"] = revisions
    return app


def test_multi_source_passes_when_one_source_matches(kubeapi, history):
    res = _run(kubeapi, history, _multi(history, ["1.2.3", history.head]))
    assert res.ok, res.message


def test_multi_source_decides_on_the_matching_source_s_revision(kubeapi, history):
    res = _run(kubeapi, history, _multi(history, [history.head, history.before]))
    assert not res.ok
    assert f"{history.before[:12]} (does not contain {history.kust[:7]})" in res.message


def test_multi_source_without_a_matching_source_fails_listing_them(kubeapi, history):
    app = _multi(history, ["1.2.3", history.head], sources=[
        {"repoURL": "https://charts.example.com", "chart": "redis", "targetRevision": "1.2.3"},
        {"repoURL": "https://github.com/someone/fork", "path": "k8s", "targetRevision": "main"},
    ])
    res = _run(kubeapi, history, app)
    assert not res.ok
    assert res.message.endswith(
        "found spec.sources[0] https://charts.example.com path (root); spec.sources[1] https://github.com/someone/fork "
        "path k8s (at argocd/Application/moltbook)")
