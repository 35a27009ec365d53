"""The audited repository never runs code in the audit (issue 13, critical).

A hostile repository carries a ``conftest.py`` (at its root and in a ``tests/`` folder pytest
would consider), pytest configuration files that would load a plugin of its own, and that plugin.
Each writes a marker file when imported and forces every test to pass. Its workflow file was
deleted, so an honest audit fails W1. Every documented form of the command must leave no marker
and report W1 failing.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, run_pytest

RIGGER = '''
import pathlib, pytest
pathlib.Path({marker!r}).write_text("ran")

@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    rep.outcome = "passed"
    return rep
'''
INI = "[pytest]\naddopts = -p hostile_plugin\npythonpath = .\n"
TOML = '[tool.pytest.ini_options]\naddopts = ["-p", "hostile_plugin"]\npythonpath = ["."]\n'
CFG = "[tool:pytest]\naddopts = -p hostile_plugin\npythonpath = .\n"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@x", "GIT_COMMITTER_NAME": "a",
                        "GIT_COMMITTER_EMAIL": "a@x", "PATH": "/usr/bin:/bin", "HOME": str(repo)})


def hostile_repo(root: Path, marker: Path, config_files: bool = True) -> Path:
    """A git repository whose conftest files, pytest configuration and plugin would rig the audit."""
    repo = root / "hostile"
    (repo / "tests").mkdir(parents=True)
    (repo / "README.md").write_text("# nothing to see\n")
    for where in (repo / "conftest.py", repo / "tests" / "conftest.py", repo / "hostile_plugin.py"):
        where.write_text(RIGGER.format(marker=str(marker)))
    if config_files:
        (repo / "pytest.ini").write_text(INI)
        (repo / "pyproject.toml").write_text(TOML)
        (repo / "setup.cfg").write_text(CFG)
        (repo / "tox.ini").write_text(INI)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "no workflow here")
    return repo


def _target_file(folder: Path, repo: Path) -> Path:
    """A target file in the repository's folder (as ``.buildgate/target.yml`` would be)."""
    target = folder / "target.yml"
    target.write_text(f"repo: {{path: {repo}}}\n")
    (folder / "conftest.py").write_text((repo / "conftest.py").read_text())
    return target


def _forms(repo: Path, target: Path) -> list[list[str]]:
    return [
        ["features/", "-m", "W1", "--repo", str(repo)],
        ["features/", "-m", "W1", f"--repo={repo}"],
        ["features/", "-m", "W1", "--target", str(target)],
        ["features/", "-m", "W1", f"--target={target}"],
        ["features/", "-m", "W1", "--target", str(target), "--repo", str(repo)],
        ["features/", "-m", "W1", "-n", "2", "--repo", str(repo)],
    ]


@pytest.mark.parametrize("form", range(6))
def test_no_documented_form_runs_the_repository_code(tmp_path, form):
    marker = tmp_path / "MARKER"
    repo = hostile_repo(tmp_path, marker)
    target = _target_file(repo, repo)
    args = _forms(repo, target)[form]
    code, report, out = run_pytest(*args)
    assert not marker.exists(), f"the audited repository's code ran: {args}\n{out}"
    assert code == 1, out
    assert report["criteria"]["W1"]["verdict"] == "fail", report["criteria"]["W1"]
    assert "no such file" in report["criteria"]["W1"]["message"]


def test_repository_first_on_the_command_line_is_refused_when_pytest_read_its_configuration(tmp_path):
    """pytest takes its configuration from the first path that has one, before any plugin loads:
    with the repository first, buildgate refuses the run (its conftest files never load)."""
    marker = tmp_path / "MARKER"
    repo = hostile_repo(tmp_path, marker, config_files=False)
    (repo / "pytest.ini").write_text("[pytest]\naddopts = -q\n")
    code, report, out = run_pytest("--repo", str(repo), "features/", "-m", "W1")
    assert code == 4, out
    assert "pytest took its configuration from" in out and "inside the audited" in out
    assert report is None and not marker.exists()


def test_repository_first_without_configuration_files_still_loads_none_of_its_conftests(tmp_path):
    marker = tmp_path / "MARKER"
    repo = hostile_repo(tmp_path, marker, config_files=False)
    code, report, out = run_pytest("--repo", str(repo), "features/", "-m", "W1")
    assert not marker.exists(), out
    assert code == 1 and report["criteria"]["W1"]["verdict"] == "fail", out


def test_a_path_inside_the_repository_is_never_collected(tmp_path):
    marker = tmp_path / "MARKER"
    repo = hostile_repo(tmp_path, marker, config_files=False)
    code, _, out = run_pytest("features/", str(repo / "tests"), "-m", "W1", f"--repo={repo}")
    assert code == 4 and "is inside the audited" in out, out
    assert not marker.exists()


def test_history_never_runs_the_repository_code(tmp_path):
    marker = tmp_path / "MARKER"
    repo = hostile_repo(tmp_path, marker)
    proc = subprocess.run([sys.executable, "-m", "buildgate", "history", "--repo", str(repo), "--criteria", "W1"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert not marker.exists(), proc.stdout + proc.stderr
    assert "W1" in proc.stdout and "fail" in proc.stdout, proc.stdout + proc.stderr


def test_the_target_found_in_the_repository_loads_none_of_its_folder(tmp_path):
    """``--repo PATH`` finds ``PATH/.buildgate/target.yml`` on its own; that folder is inside the
    audited repository, so its ``conftest.py`` and test files never load, under xdist too."""
    marker = tmp_path / "MARKER"
    repo = hostile_repo(tmp_path, marker, config_files=False)
    own = repo / ".buildgate"
    own.mkdir()
    (own / "target.yml").write_text("name: hostile\nrepo: {path: /nonexistent, workflow: .github/workflows/ci.yml}\n")
    (own / "conftest.py").write_text(RIGGER.format(marker=str(marker)))
    (own / "test_rigged.py").write_text(RIGGER.format(marker=str(marker)) + "\ndef test_x():\n    pass\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "a target of its own")
    for extra in ((), ("-n", "2")):
        code, report, out = run_pytest("features/", "-m", "W1", "--repo", str(repo), *extra)
        assert not marker.exists(), out
        assert report["target"]["source"] == f"{own}/target.yml", out
        assert code == 1 and report["criteria"]["W1"]["verdict"] == "fail", out
        assert ".github/workflows/ci.yml" in report["criteria"]["W1"]["message"]
    code, _, out = run_pytest("features/", str(own), "-m", "W1", "--repo", str(repo))
    assert code == 4 and "is inside the audited" in out and not marker.exists(), out


def test_running_from_inside_the_audited_repository_is_refused(tmp_path):
    """python -m pytest puts the current folder first on sys.path: inside the repository, its own
    modules would shadow buildgate's. The run is refused, in one line."""
    marker = tmp_path / "MARKER"
    repo = hostile_repo(tmp_path, marker, config_files=False)
    code, report, out = run_pytest(str(ROOT / "features"), "-m", "W1", "--repo", str(repo), cwd=repo)
    assert code == 4 and "run from inside the audited" in out, out
    assert report is None and not marker.exists()
