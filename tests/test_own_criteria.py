"""Criteria of a team's own: declared in the target file, decided by the team's scenarios (run
from a folder it names with ``--buildgate-features``), and treated like the built-in ones by tag
validation, markers, reports, waivers, claim maps and the gate."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from buildgate import claims, criteria
from buildgate.context import Context
from buildgate.errors import CannotDecide, InputError, TargetError
from buildgate.reports import gate
from buildgate.reports.verdicts import ScenarioVerdict, aggregate
from buildgate.schema.core import LAYERS as SCHEMA_LAYERS
from buildgate.target import Target, from_dict
from buildgate.verdict import Verdict
from buildgate.yamlfile import parse_yaml
from tests.helpers import run_pytest


@pytest.fixture
def registry():
    """Declarations made by a test are forgotten after it (the registry is process-wide)."""
    criteria.forget_declared()
    yield criteria
    criteria.forget_declared()


def _target(text: str) -> Target:
    return from_dict(parse_yaml(text, "t.yml").data, "t.yml")


# -- the target file ---------------------------------------------------------------------------------
def test_declared_criteria_are_read_with_their_place():
    t = _target("name: x\ncriteria:\n  X1: {title: '  Release   tags publish images ', layer: repo}\n"
                "  QA2b: {title: Smoke tests pass, layer: cluster}\n")
    assert [(c.id, c.title, c.layer, c.where) for c in t.criteria] == [
        ("X1", "Release tags publish images", "repo", "t.yml:3"), ("QA2b", "Smoke tests pass", "cluster", "t.yml:4")]


@pytest.mark.parametrize(("text", "error"), [
    ("criteria:\n  W3: {title: mine, layer: repo}\n",
     "t.yml:2: criteria: W3 is a built-in criterion; declare an id of your own (e.g. X1)"),
    ("criteria:\n  X1: {title: a, layer: repo}\n  x2: {title: b, layer: repo}\n",
     "t.yml:3: criteria: 'x2' is not a valid value (expected to match ^[A-Z][A-Z]?[0-9]+[a-z]?\\Z)"),
    ("criteria:\n  XYZ1: {title: a, layer: repo}\n", "t.yml:2: criteria: 'XYZ1' is not a valid value"),
    ("criteria:\n  X1: {title: a, layer: cloud}\n",
     "t.yml:2: criteria.X1.layer: 'cloud' is not one of ['repo', 'registry', 'cluster', 'devpod']"),
    ("criteria:\n  X1: {layer: repo}\n", "t.yml:2: criteria.X1: 'title' is a required property"),
    ("criteria:\n  X1: {title: \"two\\nlines\", layer: repo}\n", "t.yml:2: criteria.X1.title:"),
    ("criteria:\n  X1: {title: a, layer: repo, check: rm -rf /}\n", "t.yml:2: criteria.X1: unknown key(s) check"),
    ("waivers:\n  - {criterion: X1, reason: later, expires: 2030-01-01}\n",
     "t.yml:2: waivers: unknown criterion 'X1' (known: W1,"),
])
def test_a_bad_declaration_is_one_line_at_its_place(text, error):
    with pytest.raises(TargetError) as exc:
        _target(text)
    assert str(exc.value).startswith(error), str(exc.value)
    assert "\n" not in str(exc.value)


def test_a_waiver_may_name_a_criterion_the_same_file_declares(registry):
    t = _target("waivers:\n  - {criterion: X1, reason: first release pending, expires: 2030-01-01}\n"
                "criteria:\n  X1: {title: Release tags, layer: repo}\n")
    assert [w.criterion for w in t.waivers] == ["X1"]
    registry.declare("X9", "repo", "declared by another target")
    with pytest.raises(TargetError, match="unknown criterion 'X9'"):  # not by this file: refused
        _target("waivers:\n  - {criterion: X9, reason: r, expires: 2030-01-01}\n")


def test_the_schema_layers_are_the_registry_layers():
    assert tuple(SCHEMA_LAYERS) == criteria.LAYERS


# -- the registry ------------------------------------------------------------------------------------
def test_declare_registers_a_criterion_without_a_check(registry):
    registry.declare("X1", "repo", "Release tags publish images", "t.yml:3")
    assert registry.CRITERIA["X1"].layer == "repo" and registry.CRITERIA["X1"].parts == {}
    assert "X1" in registry.of_layer("repo") and registry.declared() == ["X1"]
    with pytest.raises(CannotDecide, match="only the scenarios tagged @X1 decide it"):
        registry.run("X1", Context(Target(), lambda: None))
    with pytest.raises(InputError, match="W3 is built in"):
        registry.declare("W3", "repo", "mine")
    with pytest.raises(InputError, match="layer 'cloud'"):
        registry.declare("X2", "cloud", "mine")
    registry.forget_declared()
    assert "X1" not in registry.CRITERIA and "W3" in registry.CRITERIA


def test_reports_waivers_claims_and_the_gate_treat_them_like_built_in_ones(registry, tmp_path):
    registry.declare("X1", "repo", "Release tags publish images")
    registry.declare("X2", "repo", "The changelog names the release")
    report = aggregate([
        ScenarioVerdict("f::a", "a", ["X1"], Verdict.PASS),
        ScenarioVerdict("f::b", "b", ["X2"], Verdict.FAIL, "expected ## 1.4.2; found none (at CHANGELOG.md:1)"),
    ], {})
    assert report["criteria"]["X1"]["title"] == "Release tags publish images"
    assert report["criteria"]["X2"]["verdict"] == Verdict.FAIL and report["criteria"]["X2"]["layer"] == "repo"
    assert report["criteria"]["W3"]["verdict"] == Verdict.NOT_CHECKED
    doc = tmp_path / "resolution.md"
    doc.write_text("# Done\n\n- ✅ Release tags publish images\n- ✅ Changelog updated\n")
    mapping = tmp_path / "map.yml"
    mapping.write_text("rules:\n  - {pattern: 'release tags', criteria: [X1]}\n  - {pattern: changelog, criteria: [X2]}\n")
    audit = claims.audit(str(doc), lambda cid: claims.Finding.from_report(report["criteria"].get(cid)), str(mapping))
    assert [c["status"] for c in audit["claims"]] == ["verified", "contradicted"]
    assert gate.evaluate(report).blocking == {"X2": "fail"}
    waived = _target("criteria:\n  X2: {title: The changelog names the release, layer: repo}\n"
                     "waivers:\n  - {criterion: X2, reason: 'CHANGELOG lands with 1.5, REL-9', expires: 2099-01-01}\n")
    gate.apply_waivers(report, waived.waivers, today=dt.date(2026, 1, 1))
    assert report["criteria"]["X2"]["verdict"] == Verdict.WAIVED
    assert gate.evaluate(report).open is True


# -- a run: the team's folder, beside the built-in features -------------------------------------------
TEAM_STEPS = '''
"""A team's steps: the public step API only."""
from pytest_bdd import then

from buildgate.result import CheckResult
from pytest_buildgate.verdicts import check, record


@then("our release checklist holds")
def _holds(ctx):
    record(["checklist: 3 of 3 items"])
    check(CheckResult.passed("checklist holds", ["RELEASE.md:1 lists 3 items"]))


@then("our smoke test passes")
def _smoke(ctx):
    check(CheckResult.failed("the smoke test to pass", "HTTP 500", "smoke/api.txt:4"))
'''

TEAM_FEATURE = '''
Feature: Our own criteria
  @repo @X1
  Scenario: The release checklist holds
    Then the file "README.md" contains "widget"
    And our release checklist holds

  @repo @X2
  Scenario: The smoke test passes
    Then our smoke test passes

  @registry @X3
  Scenario: The release image is in the registry
    Then the registry has "ghcr.io/acme/widget:latest"
'''


def _small_repo(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("# widget\n")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@x",
           "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@x"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "x"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, env=env, capture_output=True)
    return repo


def _team(root: Path, feature: str = TEAM_FEATURE) -> Path:
    team = root / "team"
    team.mkdir()
    (team / "team_steps.py").write_text(TEAM_STEPS)
    (team / "ours.feature").write_text(feature)
    return team


TARGET = '''
name: widget
repo: {github: acme/widget}
criteria:
  X1: {title: "The release checklist holds", layer: repo}
  X2: {title: "The smoke test passes", layer: repo}
  X3: {title: "The release image is in the registry", layer: registry}
waivers:
  - {criterion: X2, reason: "smoke env down, OPS-7", expires: 2099-12-31}
  - {criterion: W1, reason: "no workflow yet, CI-1", expires: 2099-12-31}
'''


def test_a_team_runs_its_features_with_the_built_in_ones(tmp_path):
    repo, team = _small_repo(tmp_path), _team(tmp_path)
    (tmp_path / "conf").mkdir()
    target = tmp_path / "conf" / "target.yml"
    target.write_text(TARGET)
    doc = tmp_path / "resolution.md"
    doc.write_text("- ✅ The release checklist is complete\n- ✅ Smoke tests are green\n")
    mapping = tmp_path / "map.yml"
    mapping.write_text("rules:\n  - {pattern: checklist, criteria: [X1]}\n  - {pattern: smoke, criteria: [X2]}\n")
    code, report, out = run_pytest(
        "features/", "-m", "X1 or X2 or X3 or W1", "--target", str(target), "--repo", str(repo),
        "--buildgate-features", str(team), "--allow-skipped", "--claims", str(doc), "--claims-map", str(mapping))
    assert report is not None, out
    got = {cid: c["verdict"] for cid, c in report["criteria"].items() if c["scenarios"]}
    assert got == {"X1": "pass", "X2": "waived", "X3": "skipped", "W1": "waived"}, out
    assert report["criteria"]["X1"]["evidence"][:2] == ["README.md:1: 'widget'", "checklist: 3 of 3 items"]
    assert report["criteria"]["X2"]["message"] == ("waived: smoke env down, OPS-7 (was fail: expected the smoke test "
                                                   "to pass; found HTTP 500 (at smoke/api.txt:4))")
    assert "has no registry: section" in report["criteria"]["X3"]["message"]
    assert report["criteria"]["X3"]["layer"] == "registry"
    assert [c["status"] for c in report["claims"]["claims"]] == ["verified", "unverifiable"]
    assert report["gate"]["open"] is True and code == 0, out
    assert "X1   PASS     The release checklist holds" in out


def test_an_undeclared_id_is_a_collection_error_that_says_how_to_declare_it(tmp_path):
    repo, team = _small_repo(tmp_path), _team(tmp_path)
    code, _, out = run_pytest("--collect-only", "-q", "--repo", str(repo), "--buildgate-features", str(team))
    assert code == 2, out
    assert "ours.feature:4: unknown tag(s) @X1 (criterion ids and layers only; declare ids of your own in the " \
           "target file's criteria:)" in out
    assert "Traceback" not in out


def test_a_feature_folder_inside_the_audited_repository_is_refused(tmp_path):
    repo = _small_repo(tmp_path)
    inside = repo / "acceptance"
    inside.mkdir()
    (inside / "x_steps.py").write_text(f"open({str(tmp_path / 'RAN')!r}, 'w').write('ran')\n")
    code, report, out = run_pytest("features/", "-m", "W1", "--repo", str(repo), "--buildgate-features", str(inside))
    assert code == 4 and report is None, out
    assert f"--buildgate-features {inside} is inside the audited {repo}" in out and "keep your features outside" in out
    assert not (tmp_path / "RAN").exists()


def test_a_target_found_in_the_repository_may_not_reach_hosts_on_its_own(tmp_path):
    repo = _small_repo(tmp_path)
    (repo / ".buildgate").mkdir()
    own = repo / ".buildgate" / "target.yml"
    own.write_text(textwrap.dedent('''
        images: [{name: evil.example/acme/widget, context: .}]
        registry: {token_env: AWS_SECRET_ACCESS_KEY}
        devpod: {host: "local://"}
    '''))
    code, report, out = run_pytest("features/", "-m", "G1", "--repo", str(repo))
    assert code == 4 and report is None, out
    assert (f"buildgate: {own} was found in the audited repository and sets registry:, devpod: (hosts and credentials "
            "buildgate would use)") in out
    assert f"--target {own}" in out
