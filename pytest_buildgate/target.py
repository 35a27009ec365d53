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

With ``--repo PATH`` and no ``--target``, the target file is ``PATH/.buildgate/target.yml`` when
the repository holds one (``buildgate init`` writes it). It lies inside the audited repository,
so it is as untrusted as the rest of it: its folder is never collected and no ``conftest.py`` of
it is loaded, it may not lead out of the repository through a symlink, and it may not set the
sections that make buildgate reach hosts or send credentials (``registry:``, ``cluster:``,
``devpod:``): a file that does is refused unless it is named with ``--target``, which says the
person running the audit trusts it.

A team's own features come from the folders named by ``--buildgate-features`` (see
:mod:`pytest_buildgate.collection`); their Python runs, so a folder inside the audited
repository is refused.

What this guard cannot undo: pytest reads its configuration file before any plugin is loaded,
from the first path on the command line that has one. A configuration file in the audited
repository that loads code of its own (``pythonpath`` with ``-p``) would have run before the
refusal. Put ``features/`` first on the command line (as every documented command does), or use
``--repo=PATH``, or ``buildgate audit``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from buildgate import criteria
from buildgate import target as target_mod
from buildgate.errors import InputError, TargetError
from buildgate.repo import Repo
from pytest_buildgate.locations import CHECKOUT

TARGET_KEY = pytest.StashKey["target_mod.Target | None"]()
_AUDITED_KEY = pytest.StashKey["tuple[Path, ...]"]()
OWN_TARGET = ".buildgate/target.yml"  # where ``buildgate init`` writes a repository's target file
# Sections through which a target makes buildgate reach hosts, send credentials or run programs.
REACHING = ("registry", "cluster", "devpod")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("buildgate", "buildgate: audit a build-and-deploy fix")
    group.addoption("--target", metavar="FILE", help="target file (YAML); default: the embedded sandbox")
    group.addoption("--repo", metavar="PATH", help="audit this local git checkout (overrides the target's repo.path)")


def discovered_target(repo: str | None) -> str | None:
    """``PATH/.buildgate/target.yml`` of ``--repo PATH``, when the repository holds one."""
    if not repo:
        return None
    root = Path(repo).expanduser()
    candidate = root / OWN_TARGET
    if not (candidate.exists() or candidate.is_symlink()):
        return None
    try:
        Repo(root).resolve(OWN_TARGET)  # a symlink out of the repository is refused, never read
    except InputError as exc:
        raise pytest.UsageError(f"buildgate: invalid target: {candidate}: {exc.reason}") from None
    return str(candidate)


def load_target(target_file: str | None, repo: str | None, discovered: bool = False) -> target_mod.Target | None:
    """The target named on the command line (or found in ``--repo``); ``None``: the embedded sandbox."""
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
    reaching = [f"{k}:" for k in REACHING if k in target.sections]
    if discovered and reaching:
        raise pytest.UsageError(
            f"buildgate: {target_file} was found in the audited repository and sets {', '.join(reaching)} "
            "(hosts and credentials buildgate would use); a file inside the repository under audit is untrusted, "
            f"so buildgate uses one that sets them only when you name it: --target {target_file}")
    target.in_audited_repository = discovered
    return target


def declare_criteria(target: target_mod.Target | None) -> None:
    """Register the target's own criteria (before features are collected and markers registered)."""
    criteria.forget_declared()
    for own in target.criteria if target is not None else ():
        try:
            criteria.declare(own.id, own.layer, own.title, own.where)
        except InputError as exc:
            raise pytest.UsageError(f"buildgate: invalid target: {exc}") from None


def audited_folders(target_file: str | None, target: target_mod.Target | None) -> tuple[Path, ...]:
    """The folders whose files are untrusted: the repository and the target file's folder."""
    folders = []
    if target is not None and target.repo_path is not None:
        folders.append(Path(target.repo_path).resolve())
    if target_file:
        folders.append(Path(target_file).expanduser().resolve().parent)
    # buildgate's own checkout is trusted even when it is audited or holds a target file
    return tuple(dict.fromkeys(f for f in folders if f != CHECKOUT))


def _inside(path: Path, folders: tuple[Path, ...]) -> Path | None:
    for folder in folders:
        if path == folder or folder in path.parents:
            return folder
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Load the target, then refuse a run that would read anything of the audited folders."""
    ns = early_config.known_args_namespace
    found = None if ns.target else discovered_target(ns.repo)
    target_file = ns.target or found
    target = load_target(target_file, ns.repo, discovered=found is not None)
    declare_criteria(target)
    early_config.stash[TARGET_KEY] = target
    folders = audited_folders(target_file, target)
    early_config.stash[_AUDITED_KEY] = folders
    if not folders:
        return
    inipath = early_config.inipath
    if inipath is not None and (CHECKOUT is None or inipath.resolve() != CHECKOUT / "pyproject.toml"):
        inside = _inside(inipath.resolve(), folders)
        if inside is not None:
            raise pytest.UsageError(
                f"buildgate: pytest took its configuration from {inipath}, inside the audited {inside}; "
                "put features/ first on the command line (or use --repo=PATH)")
    inside = _inside(early_config.rootpath.resolve(), folders)
    if inside is not None and early_config.rootpath.resolve() != CHECKOUT:
        raise pytest.UsageError(f"buildgate: pytest's root folder {early_config.rootpath} is the audited {inside}; "
                                "put features/ first on the command line")
    invocation = early_config.invocation_params.dir
    inside = _inside(Path(invocation).resolve(), folders)
    if inside is not None and any(entry in ("", ".") or Path(entry).resolve() == Path(invocation).resolve()
                                  for entry in sys.path):
        raise pytest.UsageError(
            f"buildgate: run from inside the audited {inside}: Python imports modules from the current folder "
            "first, so the repository's own Python may run; run from another folder (or `buildgate audit`)")
    for arg in ns.file_or_dir:
        path = (invocation / str(arg).split("::", 1)[0]).resolve()
        inside = _inside(path, folders)
        if inside is not None:
            raise pytest.UsageError(f"buildgate: {arg} is inside the audited {inside}: "
                                    "buildgate never collects or loads anything from it")
    for arg in getattr(ns, "buildgate_feature_dirs", None) or ():
        inside = _inside((invocation / str(arg)).expanduser().resolve(), folders)
        if inside is not None:
            raise pytest.UsageError(f"buildgate: --buildgate-features {arg} is inside the audited {inside}: its step "
                                    "modules would run the audited repository's Python; keep your features outside it")


def pytest_unconfigure(config: pytest.Config) -> None:
    criteria.forget_declared()


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Never collect inside the audited repository or the target file's folder."""
    folders = config.stash.get(_AUDITED_KEY, ())
    if folders and _inside(Path(collection_path).resolve(), folders) is not None:
        return True
    return None


def target_of(config: pytest.Config) -> target_mod.Target | None:
    """The run's target (``None``: the embedded sandbox)."""
    return config.stash.get(TARGET_KEY, None)
