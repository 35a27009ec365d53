"""Rules of the house that a test can hold: the library never imports pytest; steps reach checks only
through the one criteria registry (type-only imports of the context, repo and workflow model aside)."""
from __future__ import annotations

import ast
from pathlib import Path

from buildgate import criteria
from tests.helpers import ROOT


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_library_never_imports_pytest():
    offenders = {
        str(p.relative_to(ROOT)): sorted(n for n in _imports(p) if n.split(".")[0] in ("pytest", "_pytest", "pytest_bdd",
                                                                                        "pytest_buildgate", "fixtures", "steps"))
        for p in (ROOT / "buildgate").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def _step_tables() -> dict[str, str]:
    """Every ``criterion_steps({line: key})`` table of the step modules, merged."""
    out: dict[str, str] = {}
    for path in (ROOT / "steps").glob("*_steps.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "criterion_steps":
                out.update(ast.literal_eval(node.args[0]))
    return out


def test_every_criterion_of_the_registry_has_a_scenario_and_every_part_a_step():
    features = "\n".join(p.read_text() for p in (ROOT / "features").rglob("*.feature"))
    keys = set(_step_tables().values())
    for cid, crit in criteria.CRITERIA.items():
        if not crit.parts:  # declared by a team's target file: decided by its own scenarios
            continue
        assert f"@{cid}\n" in features or f"@{cid} " in features, f"{cid} has no scenario"
        for part in crit.parts:
            key = f"{cid}.{part}" if part else cid
            assert key in keys, f"no step runs {key}"


def test_the_registry_is_the_only_place_steps_reach_library_checks():
    """Steps call the registry; a direct call of an id-named check would wire it twice. The step
    vocabulary (``steps/vocabulary_steps.py``) decides no criterion of its own: it calls
    :mod:`buildgate.vocabulary`, and only that."""
    for path in (ROOT / "steps").glob("*_steps.py"):
        names = _imports(path)
        if path.name == "vocabulary_steps.py":
            assert {n for n in names if n.startswith("buildgate")} <= {"buildgate", "buildgate.context"}, names
            assert "from buildgate import vocabulary\n" in path.read_text()
            continue
        assert not {n for n in names if n.startswith("buildgate.") and n not in (
            "buildgate.context", "buildgate.repo", "buildgate.workflow.model")}, (path.name, names)


def test_every_package_of_the_tree_ships_in_the_wheel():
    """pyproject.toml lists the packages by hand (the checkout's features/, steps/ and fixtures/
    install as pytest_buildgate.*): a new subpackage must be added there."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapped = {folder: package for package, folder in config["package-dir"].items()}
    found = set()
    for init in [*ROOT.glob("buildgate/**/__init__.py"), *ROOT.glob("pytest_buildgate/**/__init__.py"),
                 *ROOT.glob("steps/**/__init__.py"), *ROOT.glob("fixtures/**/__init__.py")]:
        rel = init.parent.relative_to(ROOT).as_posix()
        top, _, rest = rel.partition("/")
        base = mapped.get(top, top)
        found.add(base + ("." + rest.replace("/", ".") if rest else ""))
    assert found <= set(config["packages"]), sorted(found - set(config["packages"]))
