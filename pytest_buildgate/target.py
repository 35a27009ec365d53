"""``--target`` and ``--repo``: what a run audits, and the guard that keeps the audit's own process
out of the audited repository's hands.

pytest loads ``conftest.py`` files from the paths on its command line before it runs any test,
and takes its configuration (``pytest.ini``, ``pyproject.toml``, ``tox.ini``, ``setup.cfg``) from
the first of those paths that has one. The repository under audit is untrusted: its
``conftest.py`` could rig every verdict. So:

- these options are registered by a ``pytest11`` entry-point plugin, before pytest decides which
  command-line words are paths: ``--repo PATH`` and ``--target FILE`` are never taken for test
  folders whose ``conftest.py`` would be loaded;
- before any ``conftest.py`` is loaded, the run is refused (one line) when pytest took its
  configuration or its root folder from the audited repository or the target file's folder, or
  when a path on the command line lies inside them;
- nothing inside them is ever collected.

What this guard cannot undo: pytest reads its configuration file before any plugin is loaded,
from the first path on the command line that has one. A configuration file in the audited
repository that loads code of its own (``pythonpath`` with ``-p``) would have run before the
refusal. Put ``features/`` first on the command line (as every documented command does), or use
``--repo=PATH``, or ``buildgate audit``.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from buildgate import target as target_mod
from buildgate.errors import TargetError

TARGET_KEY = pytest.StashKey["target_mod.Target | None"]()
_AUDITED_KEY = pytest.StashKey["tuple[Path, ...]"]()
BUILDGATE_ROOT = Path(__file__).resolve().parent.parent   # a source checkout's root (trusted)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("buildgate", "buildgate: audit a build-and-deploy fix")
    group.addoption("--target", metavar="FILE", help="target file (YAML); default: the embedded sandbox")
    group.addoption("--repo", metavar="PATH", help="audit this local git checkout (overrides the target's repo.path)")


def load_target(target_file: str | None, repo: str | None) -> target_mod.Target | None:
    """The target named on the command line; ``None`` means the embedded sandbox."""
    try:
        if target_file:
            target = target_mod.load(target_file)
        elif repo:
            target = target_mod.Target(source="--repo")
        else:
            return None
        if repo:
            target.repo_path = Path(repo).expanduser().resolve()
    except TargetError as exc:
        raise pytest.UsageError(f"buildgate: invalid target: {exc}") from None
    return target


def audited_folders(target_file: str | None, target: target_mod.Target | None) -> tuple[Path, ...]:
    """The folders whose files are untrusted: the repository and the target file's folder."""
    folders = []
    if target is not None and target.repo_path is not None:
        folders.append(Path(target.repo_path).resolve())
    if target_file:
        folders.append(Path(target_file).expanduser().resolve().parent)
    # buildgate's own checkout is trusted even when it is audited or holds a target file
    return tuple(dict.fromkeys(f for f in folders if f != BUILDGATE_ROOT))


def _inside(path: Path, folders: tuple[Path, ...]) -> Path | None:
    for folder in folders:
        if path == folder or folder in path.parents:
            return folder
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Load the target, then refuse a run that would read anything of the audited folders."""
    ns = early_config.known_args_namespace
    target = load_target(ns.target, ns.repo)
    early_config.stash[TARGET_KEY] = target
    folders = audited_folders(ns.target, target)
    early_config.stash[_AUDITED_KEY] = folders
    if not folders:
        return
    inipath = early_config.inipath
    if inipath is not None and inipath.resolve() != BUILDGATE_ROOT / "pyproject.toml":
        inside = _inside(inipath.resolve(), folders)
        if inside is not None:
            raise pytest.UsageError(
                f"buildgate: pytest took its configuration from {inipath}, inside the audited {inside}; "
                "put features/ first on the command line (or use --repo=PATH)")
    inside = _inside(early_config.rootpath.resolve(), folders)
    if inside is not None and early_config.rootpath.resolve() != BUILDGATE_ROOT:
        raise pytest.UsageError(f"buildgate: pytest's root folder {early_config.rootpath} is the audited {inside}; "
                                "put features/ first on the command line")
    invocation = early_config.invocation_params.dir
    for arg in ns.file_or_dir:
        path = (invocation / str(arg).split("::", 1)[0]).resolve()
        inside = _inside(path, folders)
        if inside is not None:
            raise pytest.UsageError(f"buildgate: {arg} is inside the audited {inside}: "
                                    "buildgate never collects or loads anything from it")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Never collect inside the audited repository or the target file's folder."""
    folders = config.stash.get(_AUDITED_KEY, ())
    if folders and _inside(Path(collection_path).resolve(), folders) is not None:
        return True
    return None


def target_of(config: pytest.Config) -> target_mod.Target | None:
    """The run's target (``None``: the embedded sandbox)."""
    return config.stash.get(TARGET_KEY, None)
