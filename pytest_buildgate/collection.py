"""Feature collection: each ``.feature`` file becomes a module of pytest-bdd scenario tests.

FACTS.md: pytest-bdd collects no ``.feature`` file by itself, and ``scenarios()`` can't be called
from a conftest. So a ``.feature`` file is collected as a :class:`FeatureFile`, whose module
``scenarios()`` fills; test ids read ``features/repo/workflow.feature::test_<scenario>``.

Before that, its tags and scenario names are validated (one line per problem, as a collection
error): every scenario names at least one criterion id of the registry and the layer tag of each,
no unknown tag, no two scenarios of the same name.

The plugin is installed for every pytest run of the environment, so it collects ``.feature``
files only in a buildgate run: a folder listed in the ``buildgate_features`` ini option, or a
path named on the command line when that option is set or a target is given.

A team's own features: ``--buildgate-features DIR`` (repeatable) collects the ``.feature`` files
under ``DIR`` with the built-in ones, and loads each ``*_steps.py`` module directly in ``DIR``
as a plugin, so the team's steps (written with the public step API,
``from pytest_buildgate.verdicts import check, record``) are visible to every feature. Their
tags may name the criteria the target file declares (``criteria:``): the known tags are computed
per run, after the target is loaded and its criteria registered.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import types
from pathlib import Path

import pytest
from pytest_bdd import scenarios
from pytest_bdd.gherkin_parser import get_gherkin_document

from buildgate.criteria import CRITERIA, LAYERS


def known_tags() -> set[str]:
    """Criterion ids of the registry (the built-in ones and the target's own) and the layers."""
    return set(CRITERIA) | set(LAYERS)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("buildgate_features", type="paths", default=[],
                  help="folders whose .feature files are buildgate criteria (relative to the ini file)")
    group = parser.getgroup("buildgate")
    group.addoption("--buildgate-features", metavar="DIR", action="append", default=[], dest="buildgate_feature_dirs",
                    help="a folder of your own features, run with the built-in ones: its .feature files are "
                         "collected and its *_steps.py modules loaded as step plugins (repeatable)")


def feature_dirs(config: pytest.Config) -> list[Path]:
    """The folders named by ``--buildgate-features``, resolved."""
    base = config.invocation_params.dir
    return [(base / str(d)).expanduser().resolve() for d in config.getoption("buildgate_feature_dirs") or ()]


def pytest_configure(config: pytest.Config) -> None:
    for layer in LAYERS:
        config.addinivalue_line("markers", f"{layer}: scenario needs the {layer} layer")
    for cid, c in CRITERIA.items():
        config.addinivalue_line("markers", f"{cid}: criterion {cid}: {c.title}")
    args = [(config.invocation_params.dir / str(a).split("::", 1)[0]).resolve() for a in config.args]
    for folder in feature_dirs(config):
        if not folder.is_dir():
            raise pytest.UsageError(f"buildgate: --buildgate-features {folder}: no such folder")
        for module in sorted(folder.glob("*_steps.py")):
            _load_steps(config, module)
        if not any(a == folder or a in folder.parents for a in args):
            config.args.append(str(folder))


def _load_steps(config: pytest.Config, path: Path) -> str:
    """Import a team's step module from its file and register it as a plugin (its steps become
    fixtures every feature sees). Not put on ``sys.path``: it imports installed packages only."""
    name = f"buildgate_features_{hashlib.sha1(str(path).encode()).hexdigest()[:10]}_{path.stem}"
    if config.pluginmanager.has_plugin(name):
        return name
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise pytest.UsageError(f"buildgate: --buildgate-features: {path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the team's code: one line, no traceback
        del sys.modules[name]
        raise pytest.UsageError(f"buildgate: --buildgate-features: {path}: {type(exc).__name__}: "
                                f"{' '.join(str(exc).split())}") from None
    config.pluginmanager.register(module, name)
    return name


def is_buildgate_run(config: pytest.Config) -> bool:
    """A run of buildgate's criteria: ``buildgate_features`` is set (this checkout's ini, or
    ``buildgate audit``), or a target, a repository or a team's features folder is given."""
    return (bool(config.getini("buildgate_features")) or bool(config.getoption("target") or config.getoption("repo"))
            or bool(config.getoption("buildgate_feature_dirs")))


def _wanted(file_path: Path, config: pytest.Config) -> bool:
    if not is_buildgate_run(config):
        return False
    path = file_path.resolve()
    roots = [Path(p).resolve() for p in config.getini("buildgate_features")]
    roots += [(config.invocation_params.dir / str(a).split("::", 1)[0]).resolve() for a in config.args]
    roots += feature_dirs(config)
    return any(path == r or r in path.parents for r in roots)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".feature" and _wanted(file_path, parent.config):
        return FeatureFile.from_parent(parent, path=file_path)
    return None


class FeatureFile(pytest.Module):
    """A ``.feature`` file collected as a module of pytest-bdd scenario tests.

    Uses ``pytest.Module._getobj`` (an internal; pytest is pinned to a minor version and
    ``tests/test_plugin.py`` covers this collector).
    """

    def _getobj(self) -> types.ModuleType:
        path = str(self.path)
        problems = validate_feature(path)
        if problems:
            raise self.CollectError("; ".join(problems))
        module = types.ModuleType(f"buildgate_feature_{abs(hash(path))}")
        module.__file__ = path
        code = compile("scenarios(__feature__, features_base_dir=__base__)", path, "exec")
        module.__dict__.update(scenarios=scenarios, __feature__=path, __base__=os.path.dirname(path))
        try:
            exec(code, module.__dict__)  # noqa: S102 - fixed code; pytest-bdd binds tests into the module
        except Exception as exc:  # pytest-bdd parse errors: one line, no traceback
            raise self.CollectError(f"{path}: {type(exc).__name__}: {' '.join(str(exc).split())}") from None
        for name in ("scenarios", "__feature__", "__base__"):
            del module.__dict__[name]
        return module


def validate_feature(path: str) -> list[str]:
    """Tag and naming rules every feature must follow (one message per problem)."""
    try:
        doc = get_gherkin_document(path)
    except Exception as exc:
        return [f"{path}: invalid Gherkin: {' '.join(str(exc).split())}"]
    problems: list[str] = []
    feature = doc.feature
    if feature is None:
        return [f"{path}: no Feature"]
    feature_tags = {t.name.lstrip("@") for t in feature.tags}

    def scenarios_in(children: list, inherited: set[str]):
        for child in children:
            if child.rule is not None:
                yield from scenarios_in(child.rule.children, inherited | {t.name.lstrip("@") for t in child.rule.tags})
            elif child.scenario is not None:
                yield child.scenario, inherited

    seen: dict[str, int] = {}
    known = known_tags()
    for sc, inherited in scenarios_in(feature.children, feature_tags):
        where = f"{path}:{sc.location.line}"
        tags = inherited | {t.name.lstrip("@") for t in sc.tags}
        for ex in sc.examples:
            tags |= {t.name.lstrip("@") for t in ex.tags}
        unknown = sorted(tags - known)
        if unknown:
            problems.append(f"{where}: unknown tag(s) {', '.join('@' + t for t in unknown)} (criterion ids and "
                            "layers only; declare ids of your own in the target file's criteria:)")
        ids = [t for t in tags if t in CRITERIA]
        if not ids:
            problems.append(f"{where}: scenario {sc.name!r} has no criterion id tag")
        missing_layers = sorted({CRITERIA[i].layer for i in ids} - tags)
        if missing_layers:
            problems.append(f"{where}: scenario {sc.name!r} needs layer tag(s) {', '.join('@' + l for l in missing_layers)}")
        if sc.name in seen:
            problems.append(f"{where}: duplicate scenario name {sc.name!r} (first at line {seen[sc.name]})")
        seen.setdefault(sc.name, sc.location.line)
    if not seen:
        problems.append(f"{path}: no scenarios (is a 'Scenario:' line missing its colon?)")
    return problems
