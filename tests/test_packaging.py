"""After ``pip install .`` (a wheel, not editable), ``buildgate audit`` and the pytest plugin work
from any folder: the built-in features, steps, fixtures and the sandbox ship in the package."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.helpers import ROOT


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with buildgate installed from its wheel (dependencies from this machine)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"  # built from a copy: a build leaves build/ and *.egg-info behind
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", "build", "*.egg-info", "__pycache__"))
    wheels = base / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(wheels), str(source)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    [wheel] = wheels.glob("buildgate-*.whl")
    env_dir = base / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index",
                              "-q", str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    return env_dir


def _env(tmp_path: Path) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)} | {"HOME": str(tmp_path)}


def test_the_wheel_holds_the_bundle_and_imports_it_from_the_install(installed, tmp_path):
    code = ("import pytest_buildgate.steps.common as s, pytest_buildgate.fixtures.sandbox_repo as f, buildgate;"
            "from pytest_buildgate.locations import features_dir;"
            "print(s.__file__); print(f.TEMPLATE / '.github/workflows/build-push.yml'); print(features_dir())")
    out = subprocess.run([str(installed / "bin" / "python"), "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, env=_env(tmp_path), timeout=120)
    assert out.returncode == 0, out.stderr
    steps, workflow, features = out.stdout.split()
    assert steps.startswith(str(installed)) and Path(workflow).is_file(), out.stdout
    assert features.startswith(str(installed)) and len(list(Path(features).glob("*/*.feature"))) >= 7


def test_buildgate_audit_runs_the_sandbox_from_any_folder(installed, tmp_path):
    report = tmp_path / "r.json"
    proc = subprocess.run([str(installed / "bin" / "buildgate"), "audit", "-m", "repo", "-q",
                           "--buildgate-report", str(report)],
                          capture_output=True, text=True, cwd=tmp_path, env=_env(tmp_path), timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    verdicts = json.loads(report.read_text())
    assert verdicts["gate"]["open"] and verdicts["summary"]["pass"] == len(
        [c for c in verdicts["criteria"].values() if c["layer"] == "repo"])
    assert "PytestAssertRewriteWarning" not in proc.stdout


def test_buildgate_audit_reads_no_configuration_of_the_folder_it_runs_in(installed, tmp_path):
    """A hostile pytest.ini (or conftest.py) in the current folder is never read."""
    marker = tmp_path / "MARKER"
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:buildgate\n")
    (tmp_path / "conftest.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    proc = subprocess.run([str(installed / "bin" / "buildgate"), "audit", "-m", "W1", "-q"],
                          capture_output=True, text=True, cwd=tmp_path, env=_env(tmp_path), timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert not marker.exists()


def test_the_installed_sandbox_is_every_file_git_has_of_it(installed):
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "fixtures/sandbox"], capture_output=True, text=True,
                            check=True).stdout.split()
    [site] = list(installed.glob("lib/python*/site-packages"))
    shipped = site / "pytest_buildgate" / "fixtures" / "sandbox"
    got = sorted(p.relative_to(shipped).as_posix() for p in shipped.rglob("*") if p.is_file())
    assert got == sorted(p[len("fixtures/sandbox/"):] for p in listed)


def test_buildgate_audit_loads_no_conftest_above_its_features(installed, tmp_path):
    """``-c /dev/null`` alone would cut conftest loading at /dev: every ancestor of the installed
    features folder would count. A conftest.py planted above it is never imported."""
    [site] = list(installed.glob("lib/python*/site-packages"))
    marker = tmp_path / "MARKER"
    planted = [site / "pytest_buildgate" / "conftest.py", site / "conftest.py"]
    for path in planted:
        path.write_text(f"open({str(marker)!r}, 'w').close()\n")
    try:
        proc = subprocess.run([str(installed / "bin" / "buildgate"), "audit", "-m", "W1", "-q"],
                              capture_output=True, text=True, cwd=tmp_path, env=_env(tmp_path), timeout=600)
    finally:
        for path in planted:
            path.unlink()
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert not marker.exists()
