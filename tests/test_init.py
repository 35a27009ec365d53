"""``buildgate init`` and the first five minutes of a new user, on two repositories whose shape
differs from the sandbox (``tests/data/onboarding``): one image on Docker Hub built only on
release tags, and a monorepo with three images built by one matrix job and a kustomization in
``deploy/``.

For each: ``init`` (what it infers, and from where), then an audit that finds the written target
on its own, then the annotations a GitHub Actions run prints, and the team's own criterion X1
(``examples/features``), which holds on one repository and not on the other. Built-in W verdicts
are asserted only where they hold today (issue 10 improves the workflow model on these shapes).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from buildgate import init as init_mod
from buildgate import target as target_mod
from tests.data.onboarding import make_repo
from tests.helpers import ROOT, run_pytest

EXAMPLES = ROOT / "examples"


def _init(repo: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "buildgate", "init", "--repo", str(repo), *extra],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_CONFIG_GLOBAL": os.devnull})


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    root = tmp_path_factory.mktemp("onboarding")
    return {k: make_repo(k, root / k) for k in ("release_tags", "monorepo")}


# -- what init infers ------------------------------------------------------------------------------
def test_release_tags_repository(repos):
    inf = init_mod.infer(repos["release_tags"].path)
    assert (inf.default_branch.value, inf.github.value) == ("master", "acme/widget")
    assert "checked-out branch" in inf.default_branch.source  # no origin/HEAD here
    assert inf.workflow.value == ".github/workflows/release.yml"  # tests.yml pushes nothing
    [img] = inf.images
    assert (img.name, img.context) == ("acme/widget", ".")
    assert img.pushed_on == ["push of tag v1.2.3"]
    assert img.name_where == ".github/workflows/release.yml:27" and img.context_where == ".github/workflows/release.yml:35"
    assert "docker.io/acme/widget in full" in img.note
    assert inf.kustomization is None
    assert inf.docs.value == "docs/building.md" and inf.readme.value == "README.md"
    assert {k: f.value for k, f in inf.scripts.items()} == {"local_build": "scripts/local-build.sh"}
    assert inf.scripts["local_build"].source == "scripts/local-build.sh:5 runs a container build"
    assert any("kustomization" in u for u in inf.unknown)
    assert any(u.startswith("repo.scripts.devpod_trigger") for u in inf.unknown)


def test_monorepo(repos):
    inf = init_mod.infer(repos["monorepo"].path)
    assert inf.default_branch.value == "main" and "origin/HEAD" in inf.default_branch.source
    assert inf.github.value == "acme/platform"
    assert inf.workflow.value == ".github/workflows/images.yml"
    assert [(i.name, i.context, i.matrix) for i in inf.images] == [
        ("ghcr.io/acme/platform-api", "./services/api", "matrix service=api, context=services/api"),
        ("ghcr.io/acme/platform-worker", "./services/worker", "matrix service=worker, context=services/worker"),
        ("ghcr.io/acme/platform-web", "./web", "matrix service=web, context=web"),
    ]
    assert all(i.pushed_on == ["push to main", "workflow_dispatch on main"] for i in inf.images)
    # the kustomization naming the built images wins over the vendored one and the overlay
    assert inf.kustomization.value == "deploy/kustomization.yaml"
    assert inf.kustomization.source.startswith("deploy/kustomization.yaml:8: its images: name 3 of the 3")
    assert sorted(inf.other_kustomizations) == ["deploy/overlays/staging/kustomization.yaml (images: none)",
                                                "third_party/chart/kustomization.yml (images: redis)"]
    built = repos["monorepo"].built[:7]
    assert f"deploy/kustomization.yaml:9: ghcr.io/acme/platform-api (newTag {built})" in inf.kustomization_entries
    assert inf.docs.value == "docs/build-images.md"
    assert {k: f.value for k, f in inf.scripts.items()} == {
        "local_build": "scripts/build-all.sh", "devpod_trigger": "scripts/trigger-build.sh",
        "build_status": "scripts/build-status.sh"}
    assert [s.value for s in inf.other_scripts] == []  # lint.sh runs no build tool
    assert inf.unknown == []


def test_on_the_sandbox_it_infers_the_target_the_sandbox_is_audited_with(tmp_path):
    from pytest_buildgate.fixtures.sandbox_repo import make_sandbox_repo

    sandbox = make_sandbox_repo(tmp_path / "sandbox")
    text = init_mod.render(init_mod.infer(sandbox.path))
    (sandbox.path / ".buildgate").mkdir()
    (sandbox.path / ".buildgate" / "target.yml").write_text(text)
    got, want = target_mod.load(sandbox.path / ".buildgate" / "target.yml"), sandbox.target
    for key in ("default_branch", "workflow", "workflows_dir", "kustomization", "docs", "readme", "scripts", "images"):
        assert getattr(got, key) == getattr(want, key), key
    assert "#   - repo.github: the repository has no origin remote" in text


def test_every_inferred_value_says_where_it_came_from_and_the_file_loads(repos, tmp_path):
    inf = init_mod.infer(repos["monorepo"].path)
    text = init_mod.render(inf)
    for key in ("workflow", "kustomization", "docs", "local_build", "devpod_trigger", "build_status", "- name",
                "context"):
        lines = [ln for ln in text.splitlines() if ln.lstrip().startswith(key + ":")]
        assert lines, key
        assert all(re.search(r"# .*[\w./-]+:\d+", ln) for ln in lines if not ln.lstrip().startswith("#")), lines
    out = tmp_path / ".buildgate" / "target.yml"
    out.parent.mkdir()
    out.write_text(text)
    t = target_mod.load(out)
    assert t.repo_path == tmp_path and t.github == "acme/platform" and t.kustomization == "deploy/kustomization.yaml"
    assert [(i.name, i.context) for i in t.images] == [(i.name, i.context) for i in inf.images]
    assert t.scripts["devpod_trigger"] == "scripts/trigger-build.sh"


def test_what_cannot_be_inferred_is_a_commented_placeholder_naming_why(tmp_path):
    repo = tmp_path / "odd"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "hub.yml").write_text(
        "on:\n  push:\n    branches: [main]\njobs:\n  b:\n    runs-on: x\n    steps:\n"
        "      - id: meta\n        uses: docker/metadata-action@v5\n        with:\n"
        "          images: ${{ secrets.HUB_USER }}/app\n"
        "      - uses: docker/build-push-action@v6\n        with:\n          push: true\n"
        "          tags: ${{ steps.meta.outputs.tags }}\n")
    _git(repo, "init", "-q", "-b", "trunk")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=a", "-c", "user.email=a@x", "commit", "-qm", "x")
    _git(repo, "remote", "add", "origin", "https://x-access-token:ghp_SECRET123@gitlab.example/acme/app.git")
    proc = _init(repo)
    assert proc.returncode == 0, proc.stderr
    text = (repo / ".buildgate" / "target.yml").read_text()
    assert "ghp_SECRET123" not in text + proc.stdout + proc.stderr
    assert "repo.github: the origin remote is on gitlab.example, not a github.com repository" in text
    unknown = next(ln for ln in text.splitlines() if "the images it builds are unknown offline" in ln)
    assert unknown.startswith("#   - .github/workflows/hub.yml:") and "`${{ secrets.HUB_USER }}` at " \
        ".github/workflows/hub.yml:11" in unknown, unknown
    assert '  default_branch: "trunk"' in text
    assert "\n# images:" in text and "\n  # workflow:" in text and "\nimages:" not in text
    t = target_mod.load(repo / ".buildgate" / "target.yml")  # placeholders leave the defaults
    assert t.workflow == target_mod.Target().workflow and t.default_branch == "trunk"


# -- writing ---------------------------------------------------------------------------------------
def test_a_second_run_never_overwrites_without_force(tmp_path):
    repo = make_repo("release_tags", tmp_path / "widget").path
    first = _init(repo)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0] == f"wrote {repo}/.buildgate/target.yml"
    path = repo / ".buildgate" / "target.yml"
    path.write_text(path.read_text() + "# my edit\n")
    again = _init(repo)
    assert again.returncode == 2 and again.stdout == ""
    assert again.stderr.strip() == f"buildgate: input error: {path}: already exists; run with --force to overwrite it"
    assert path.read_text().endswith("# my edit\n")
    forced = _init(repo, "--force")
    assert forced.returncode == 0 and "# my edit" not in path.read_text()


def test_init_never_writes_out_of_the_repository_nor_runs_anything_of_it(tmp_path):
    marker = tmp_path / "RAN"
    outside = tmp_path / "outside"
    outside.mkdir()
    repo = tmp_path / "hostile"
    (repo / "scripts").mkdir(parents=True)
    (repo / "scripts" / "build.sh").write_text(f"#!/bin/sh\ntouch {marker}\ndocker build -t a/b .\n")
    (repo / "evil.sh").write_text(f"#!/bin/sh\ntouch {marker}\n")
    os.chmod(repo / "evil.sh", 0o755)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=a", "-c", "user.email=a@x", "commit", "-qm", "x")
    for key in ("core.fsmonitor", "core.pager", "core.sshCommand"):
        _git(repo, "config", key, str(repo / "evil.sh"))
    os.symlink(outside, repo / ".buildgate")
    proc = _init(repo)
    assert proc.returncode == 2 and "path leaves the repository" in proc.stderr, proc.stderr
    assert list(outside.iterdir()) == []
    os.unlink(repo / ".buildgate")
    (repo / ".buildgate").mkdir()
    victim = outside / "victim.txt"
    victim.write_text("keep me\n")
    os.symlink(victim, repo / ".buildgate" / "target.yml")
    assert _init(repo).returncode == 2  # a file (or a link) is there: not without --force
    forced = _init(repo, "--force")
    assert forced.returncode == 0, forced.stderr
    assert victim.read_text() == "keep me\n"  # the link was replaced, never followed
    assert not (repo / ".buildgate" / "target.yml").is_symlink()
    assert not marker.exists()


def test_a_folder_that_is_no_git_checkout_is_a_one_line_error(tmp_path):
    proc = _init(tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == f"buildgate: input error: {tmp_path}: not a git checkout (buildgate reads the repository through git)\n"


# -- a new user's first run: init, audit, annotations, a criterion of their own ------------------------
@pytest.fixture(scope="module")
def first_runs(repos):
    """For each repository: init, the X1 declaration pasted in, then one audit as a GitHub Actions
    job would run it (the repository layer, with the example features)."""
    snippet = "\n".join(ln for ln in (EXAMPLES / "target.own-criteria.yml").read_text().splitlines()
                        if not ln.startswith("#"))
    out = {}
    for kind, r in repos.items():
        init = _init(r.path, "--force")
        assert init.returncode == 0, init.stderr
        target = r.path / ".buildgate" / "target.yml"
        target.write_text(target.read_text() + snippet + "\n")
        code, report, text = run_pytest(
            "features/", "-m", "repo", "--repo", str(r.path), "--buildgate-features", str(EXAMPLES / "features"),
            env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": ""})
        out[kind] = (init.stdout, code, report, text)
    return out


def _verdicts(report: dict) -> dict[str, str]:
    return {cid: c["verdict"] for cid, c in report["criteria"].items() if c["scenarios"]}


def test_the_audit_finds_the_written_target_on_its_own(first_runs, repos):
    for kind, (init_out, code, report, text) in first_runs.items():
        assert report is not None, text
        assert report["target"]["source"] == f"{repos[kind].path}/.buildgate/target.yml"
        assert code == 1  # both have failures: the gate is closed
        assert f"next: python3 -m pytest features/ -m repo --repo {repos[kind].path}" in init_out


def test_release_tags_verdicts(first_runs):
    _, _, report, text = first_runs["release_tags"]
    v = _verdicts(report)
    # what holds on this shape today
    assert v["W1"] == "pass" and v["W2"] == "pass" and v["W8"] == "pass"
    assert v["W3"] == "fail" and "push filters name only tags" in report["criteria"]["W3"]["message"]
    assert v["K1"] == "error" and "k8s/kustomization.yml: file not found" in report["criteria"]["K1"]["message"]
    assert v["S1"] == "fail" and "scripts/build-images-devpod.sh" in report["criteria"]["S1"]["message"]
    assert v["X1"] == "pass", report["criteria"]["X1"]
    assert report["criteria"]["X1"]["title"] == "Release tags publish versioned images"
    assert len(report["criteria"]["X1"]["scenarios"]) == 3


def test_monorepo_verdicts(first_runs, repos):
    _, _, report, text = first_runs["monorepo"]
    v = _verdicts(report)
    assert v["W1"] == "pass" and v["W1b"] == "pass" and v["W3"] == "pass" and v["K2"] == "pass"
    assert v["W8"] == "fail" and "sbom: not set (at .github/workflows/images.yml:48)" in report["criteria"]["W8"]["message"]
    assert v["W9"] == "fail"
    assert v["X1"] == "fail"
    assert report["criteria"]["X1"]["message"].startswith(
        "expected a workflow under .github/workflows to push ghcr.io/acme/platform-api on push of tag v1.4.2; found "
        ".github/workflows/images.yml: workflow does not run: push filters name only branches")
    assert "X1" in report["gate"]["blocking"]


def test_annotations_in_actions(first_runs):
    for kind, (_, _, report, text) in first_runs.items():
        lines = [ln for ln in text.splitlines() if ln.startswith("::error ")]
        bad = [cid for cid, c in report["criteria"].items() if c["verdict"] in ("fail", "error")]
        assert len(lines) == len(bad), lines
        for cid in bad:
            assert any(f"title={cid} {report['criteria'][cid]['verdict']}%3A" in ln for ln in lines), (cid, lines)
    rel = "\n".join(first_runs["release_tags"][3].splitlines())
    assert "::error file=.github/workflows/release.yml,line=5,title=W3 fail%3A Triggers%3A push to main" in rel
    mono = first_runs["monorepo"][3]
    assert "::error file=.github/workflows/images.yml,line=48,title=W8 fail%3A" in mono
    assert ("::error file=.github/workflows/images.yml,line=5,title=X1 fail%3A Release tags publish versioned images"
            "::expected a workflow under .github/workflows to push ghcr.io/acme/platform-api") in mono
