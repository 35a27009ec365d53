"""Hostile and broken repositories, target files and environments (issue 12).

Each case asserts the verdict or the one-line error, that nothing of the repository ran, and
that nothing hung (a bounded wall time, generous: a hang guard, not a speed test).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from buildgate import tag_history
from buildgate.errors import InputError, TargetError
from buildgate.kustomize import Kustomization
from buildgate.repo import Repo
from buildgate.target import load
from pytest_buildgate.fixtures.sandbox_repo import BOT, HUMAN, make_sandbox_repo
from tests.helpers import ROOT, run_pytest

KUST = "k8s/kustomization.yml"


def _git(repo: Path, *args: str, who: tuple[str, str] = HUMAN, committer: tuple[str, str] | None = None) -> str:
    committer = committer or who
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull,
           "GIT_AUTHOR_NAME": who[0], "GIT_AUTHOR_EMAIL": who[1],
           "GIT_COMMITTER_NAME": committer[0], "GIT_COMMITTER_EMAIL": committer[1]}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    return make_sandbox_repo(tmp_path_factory.mktemp("sandbox") / "repo")


def _copy(sandbox, dest: Path) -> Path:
    shutil.copytree(sandbox.path, dest, symlinks=True)
    return dest


# -- the repository's own git configuration ----------------------------------------------------
def _arm(repo: Path, marker: Path) -> None:
    """Every git setting that would run a program, pointed at one that writes the marker."""
    hook = repo / "evil.sh"
    hook.write_text(f"#!/bin/sh\necho ran >> {marker}\ncat >/dev/null 2>&1\nexit 0\n")
    hook.chmod(0o755)
    hooks = repo / ".git" / "evil-hooks"
    hooks.mkdir()
    for name in ("post-checkout", "pre-commit", "post-index-change", "reference-transaction", "fsmonitor-watchman"):
        (hooks / name).write_text(hook.read_text())
        (hooks / name).chmod(0o755)
    included = repo / ".git" / "more.config"
    included.write_text(f"[core]\n\tfsmonitor = {hook}\n")
    with (repo / ".git" / "config").open("a") as fh:
        fh.write(
            f"[core]\n\tfsmonitor = {hook}\n\thooksPath = {hooks}\n\tpager = {hook}\n\tsshCommand = {hook}\n"
            f"\taskPass = {hook}\n\tuntrackedCache = true\n"
            f"[diff]\n\texternal = {hook}\n[log]\n\tshowSignature = true\n[gpg]\n\tprogram = {hook}\n"
            f"[credential]\n\thelper = !{hook}\n[filter \"evil\"]\n\tclean = {hook}\n\tsmudge = {hook}\n"
            f"\tprocess = {hook}\n\trequired = true\n[include]\n\tpath = {included}\n"
        )
    (repo / ".gitattributes").write_text("* filter=evil diff=evil\n")
    (repo / "README.md").write_text((repo / "README.md").read_text() + "\n")  # a dirty work tree


def test_a_hostile_git_config_runs_nothing_in_an_audit_or_the_history(sandbox, tmp_path):
    marker = tmp_path / "MARKER"
    repo = _copy(sandbox, tmp_path / "repo")
    _arm(repo, marker)
    started = time.monotonic()
    code, report, out = run_pytest("features/", "-m", "repo", "--repo", str(repo), timeout=300)
    assert report is not None, out
    proc = subprocess.run([sys.executable, "-m", "buildgate", "history", "--repo", str(repo), "--jobs", "1"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert not marker.exists(), f"git ran the repository's program: {marker.read_text()}"
    assert time.monotonic() - started < 280
    assert report["criteria"]["W1"]["verdict"] == "pass" and report["criteria"]["K3"]["verdict"] == "pass", out
    assert "Traceback" not in proc.stdout + proc.stderr


def test_an_inherited_git_environment_does_not_redirect_the_audit(sandbox, tmp_path):
    """Run from inside a git hook of another repository: GIT_DIR and friends point elsewhere."""
    other = tmp_path / "other"
    other.mkdir()
    _git(other, "init", "-q")
    _git(other, "commit", "-q", "--allow-empty", "-m", "unrelated")
    env = {"GIT_DIR": str(other / ".git"), "GIT_WORK_TREE": str(other), "GIT_INDEX_FILE": str(other / ".git/index"),
           "GIT_OBJECT_DIRECTORY": str(other / ".git/objects"), "GIT_CONFIG_COUNT": "1",
           "GIT_CONFIG_KEY_0": "core.fsmonitor", "GIT_CONFIG_VALUE_0": f"touch {tmp_path / 'MARKER'}"}
    code, report, out = run_pytest("features/", "-m", "repo", "--repo", str(sandbox.path), env=env)
    assert code == 0, out
    assert report["summary"]["fail"] == report["summary"]["error"] == 0
    assert not (tmp_path / "MARKER").exists()


# -- files that are not files --------------------------------------------------------------------
def test_a_fifo_in_the_work_tree_is_an_error_not_a_hang(sandbox, tmp_path):
    repo = _copy(sandbox, tmp_path / "repo")
    (repo / "DOCKER_BUILD.md").unlink()
    os.mkfifo(repo / "DOCKER_BUILD.md")
    with pytest.raises(InputError, match="not a regular file"):
        Repo(repo).read_bytes("DOCKER_BUILD.md")
    started = time.monotonic()
    code, report, out = run_pytest("features/", "-m", "D1", "--repo", str(repo), timeout=120)
    assert time.monotonic() - started < 110
    assert report["criteria"]["D1"]["verdict"] == "error", out
    assert "not a regular file" in report["criteria"]["D1"]["message"]


def test_a_fifo_target_file_is_one_line(tmp_path):
    fifo = tmp_path / "t.yml"
    os.mkfifo(fifo)
    with pytest.raises(TargetError, match="not a regular file"):
        load(fifo)


@pytest.mark.parametrize(("text", "says"), [
    ("1: x\n", "unknown key(s) 1"),
    ("~: x\n", "unknown key(s) None"),
    ('images: [{name: "ghcr.io/a/b\\n", context: .}]\n', "images.0.name: 'ghcr.io/a/b\\n' is not a valid value"),
    ('waivers: [{criterion: "W1\\n", reason: r, expires: 2030-01-01}]\n', "waivers.0.criterion"),
    ("waivers: [{criterion: W99, reason: r, expires: 2030-01-01}]\n", "unknown criterion 'W99'"),
    ('repo: {github: "a/b\\n"}\n', "repo.github: 'a/b\\n' is not a valid value"),
    ("a: &a [1,2,3,4,5,6,7,8,9]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
     "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
     "name: *f\n", "expands to more than"),
    ("name: " + "[" * 5000 + "]" * 5000 + "\n", "t.yml"),
])
def test_hostile_target_files_are_one_line_errors(tmp_path, text, says):
    path = tmp_path / "t.yml"
    path.write_text(text)
    started = time.monotonic()
    with pytest.raises(TargetError) as err:
        load(path)
    assert time.monotonic() - started < 10
    assert says in str(err.value) and "\n" not in str(err.value).replace("\\n", "")
    assert len(str(err.value)) < 400


# -- degraded histories ---------------------------------------------------------------------------
def test_a_shallow_clone_cannot_decide_k2_or_k3(sandbox, tmp_path):
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{sandbox.path}", str(shallow)], check=True)
    code, report, out = run_pytest("features/", "-m", "K2 or K3", "--repo", str(shallow))
    assert {report["criteria"][c]["verdict"] for c in ("K2", "K3")} == {"error"}, out
    assert "shallow clone" in report["criteria"]["K3"]["message"]


def test_a_corrupt_commit_is_an_error_naming_the_object(tmp_path):
    repo = tmp_path / "r"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "base")
    base = _git(repo, "rev-parse", "HEAD")
    (repo / "k8s").mkdir()
    (repo / KUST).write_text("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nimages:\n"
                             f"  - name: ghcr.io/o/api\n    newTag: {base[:7]}\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "tag")
    obj = repo / ".git" / "objects" / base[:2] / base[2:]
    obj.chmod(0o644)
    obj.write_bytes(b"garbage")
    r = Repo(repo)
    with pytest.raises(InputError, match=f"loose object {base} .* is corrupt"):
        tag_history.k2_newtags_in_history(r, Kustomization.load(r, KUST), ["ghcr.io/o/api"])


def test_a_human_commit_borrowing_the_bots_name_is_no_bot_update(sandbox, tmp_path):
    repo = _copy(sandbox, tmp_path / "repo")
    kust = (repo / KUST).read_text().replace(f"newTag: {sandbox.new_tag}", f"newTag: {sandbox.head[:7]}")
    (repo / KUST).write_text(kust)
    _git(repo, "commit", "-q", "-am", "chore: update image tags [skip ci]", who=BOT, committer=HUMAN)
    result = tag_history.k3_bot_updates(Repo(repo), KUST, ".github/workflows", ["github-actions[bot]"])
    assert not result.ok and "hand-edited" in result.message, result.message
    assert any("carries the bot's name" in e for e in result.evidence)
    assert tag_history.BOT_IDENTITY_NOTE in result.evidence
