"""The plugin: feature collection, tag validation, verdict mapping, and the report under xdist."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import ROOT, run_pytest

DATA = ROOT / "tests" / "data" / "plugin"
PLUGIN_ARGS = ("-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT), "-p", "conftest", "-p", "demo_steps")


def _run_demo(tmp_path: Path, *extra: str, feature_text: str | None = None):
    shutil.copy(DATA / "demo_steps.py", tmp_path / "demo_steps.py")
    feature = tmp_path / "demo.feature"
    feature.write_text(feature_text if feature_text is not None else (DATA / "demo.feature").read_text())
    return run_pytest(str(feature), *PLUGIN_ARGS, *extra, cwd=tmp_path, env={"PYTHONPATH": f"{ROOT}:{tmp_path}"})


def test_feature_files_are_collected_with_readable_ids(tmp_path):
    code, _, out = _run_demo(tmp_path, "--collect-only", "-q")
    assert code == 0, out
    assert "::test_a_check_that_holds" in out
    assert "::test_a_crash_is_a_bug_reported_as_an_error" in out


def test_verdicts_map_outcomes_per_criterion(tmp_path):
    code, report, out = _run_demo(tmp_path)
    assert code == 1, out
    got = {cid: c["verdict"] for cid, c in report["criteria"].items()}
    assert got["W1"] == "pass"
    assert got["W2"] == "fail"
    assert report["criteria"]["W2"]["message"] == "expected yes; found no (at demo.txt:2)"
    assert report["criteria"]["W2"]["evidence"] == ["demo.txt:2 says no"]
    assert got["W3"] == "error" and "demo.yml:3" in report["criteria"]["W3"]["message"]
    assert got["W4"] == "skipped" and "no devpod configured" in report["criteria"]["W4"]["message"]
    assert got["W5"] == "pass"
    # W6 is decided by two scenarios: one passes, one fails -> fail
    assert got["W6"] == "fail" and len(report["criteria"]["W6"]["scenarios"]) == 2
    assert got["W7"] == "error" and report["criteria"]["W7"]["message"].startswith("crash (a bug in buildgate)")
    assert got["W8"] == "not checked" and report["criteria"]["W8"]["message"] == "not checked in this run"
    # the failing step is named, as Gherkin, with file:line
    step = report["criteria"]["W2"]["scenarios"][0]["step"]
    assert step.startswith("Then the demo check passes (") and "demo.feature:" in step


def test_errors_print_one_line_not_a_traceback(tmp_path):
    _, _, out = _run_demo(tmp_path, "-k", "cannot_be_decided")
    assert "ERROR W3: cannot decide: demo.yml:3" in out
    assert "Traceback" not in out and "def _undecided" not in out


def test_report_is_complete_under_xdist(tmp_path):
    pytest.importorskip("xdist")
    code, report, out = _run_demo(tmp_path, "-n", "2")
    assert code == 1, out
    verdicts = {cid: c["verdict"] for cid, c in report["criteria"].items() if c["scenarios"]}
    assert verdicts == {"W1": "pass", "W2": "fail", "W3": "error", "W4": "skipped", "W5": "pass", "W6": "fail", "W7": "error"}


@pytest.mark.parametrize(
    ("feature", "problem"),
    [
        ("Feature: x\n  @repo @W1 @wip\n  Scenario: a\n    Given a demo check that holds\n", "unknown tag(s) @wip"),
        ("Feature: x\n  @repo\n  Scenario: a\n    Given a demo check that holds\n", "has no criterion id tag"),
        ("Feature: x\n  @W1\n  Scenario: a\n    Given a demo check that holds\n", "needs layer tag(s) @repo"),
        (
            "@repo @W1\nFeature: x\n  Scenario: a\n    Given a demo check that holds\n"
            "  Scenario: a\n    Given a demo check that holds\n",
            "duplicate scenario name 'a'",
        ),
        ("Feature: x\n  Scenario: a\n    Given b\n  Background: c\n", "invalid Gherkin"),
        ("Feature: x\n  Scenario a\n    Given oops\n", "no scenarios"),
    ],
)
def test_bad_features_are_collection_errors_with_a_reason(tmp_path, feature, problem):
    code, _, out = _run_demo(tmp_path, "--collect-only", "-q", feature_text=feature)
    assert code == 2, out
    assert problem in out
    assert "Traceback" not in out


def test_invalid_target_file_is_a_usage_error(tmp_path):
    bad = tmp_path / "target.yml"
    bad.write_text("repo:\n  path: .\n  workflw: x.yml\n")
    code, _, out = run_pytest("features/", "--collect-only", "-q", "--target", str(bad))
    assert code == 4
    assert "invalid target" in out and "unknown key(s) workflw" in out and f"{bad}:" in out


def test_all_reports_are_complete_under_xdist(tmp_path):
    import json
    import xml.etree.ElementTree as ET

    pytest.importorskip("xdist")
    md, junit, cuke = tmp_path / "r.md", tmp_path / "r.xml", tmp_path / "r.cucumber.json"
    code, report, out = _run_demo(
        tmp_path, "-n", "2", "--buildgate-markdown", str(md), "--buildgate-junit", str(junit),
        "--buildgate-cucumber", str(cuke),
    )
    assert code == 1, out
    assert len(report["scenarios"]) == 7
    cases = ET.parse(junit).getroot().findall(".//testcase")
    assert sorted(c.get("name") for c in cases)[0] == "A check that cannot be decided [W3]"
    assert len(cases) == 7 and len(ET.parse(junit).getroot().findall(".//failure")) == 2
    features = json.loads(cuke.read_text())
    elements = features[0]["elements"]
    assert len(elements) == 7
    failing = next(e for e in elements if e["name"] == "A check that does not hold")
    assert [s["result"]["status"] for s in failing["steps"]] == ["passed", "failed"]
    text = md.read_text()
    assert "| W2 | ❌ fail |" in text and "expected yes; found no (at demo.txt:2)" in text


def test_gate_sets_the_exit_status_and_honours_waivers(tmp_path):
    # The target file's folder and the repository are audited: they hold no test of the run.
    (tmp_path / "audited").mkdir()
    target = tmp_path / "audited" / "target.yml"
    target.write_text(
        "repo: {path: .}\nwaivers:\n"
        "  - {criterion: W2, reason: 'known, tracked in INFRA-1', expires: 2999-01-01}\n"
    )
    code, report, out = _run_demo(tmp_path, "-k", "holds or not_hold", "--target", str(target))
    assert report["criteria"]["W2"]["verdict"] == "waived"
    assert code == 0, out
    assert "gate: open" in out
    target.write_text("repo: {path: .}\nwaivers:\n  - {criterion: W2, reason: 'old', expires: 2000-01-01}\n")
    code, report, out = _run_demo(tmp_path, "-k", "holds or not_hold", "--target", str(target))
    assert code == 1 and "expired on 2000-01-01" in report["criteria"]["W2"]["message"]


def test_errors_close_the_gate_unless_allowed(tmp_path):
    code, _, _ = _run_demo(tmp_path, "-k", "cannot_be_decided")
    assert code == 1
    code, report, out = _run_demo(tmp_path, "-k", "cannot_be_decided", "--allow-errors")
    assert code == 0, out
    assert report["gate"]["open"] and report["criteria"]["W3"]["verdict"] == "error"


def test_real_features_under_xdist_lose_no_scenario(tmp_path):
    """The repository layer of the sandbox, split over two workers: every report has all 22."""
    import json
    import xml.etree.ElementTree as ET

    pytest.importorskip("xdist")
    from tests.helpers import run_features

    junit, cuke = tmp_path / "j.xml", tmp_path / "c.json"
    code, report = run_features("-m", "repo", "-n", "2", "--buildgate-junit", str(junit), "--buildgate-cucumber", str(cuke))
    assert code == 0
    assert report["summary"]["pass"] == 22 and report["gate"]["open"]
    assert len(report["scenarios"]) == len(ET.parse(junit).getroot().findall(".//testcase"))
    assert sum(len(f["elements"]) for f in json.loads(cuke.read_text())) == len(report["scenarios"])
    assert {s["feature"]["uri"] for s in report["scenarios"]} == {
        "features/repo/workflow.feature", "features/repo/docs_and_scripts.feature", "features/repo/kustomization.feature",
    }


def test_a_folder_that_is_not_a_git_checkout_is_an_error_not_a_failure(tmp_path):
    from tests.helpers import run_features

    (tmp_path / "README.md").write_text("# not a repo\n")
    code, report = run_features("-m", "repo", "--repo", str(tmp_path))
    assert code == 1
    verdicts = {c["verdict"] for c in report["criteria"].values() if c["scenarios"]}
    assert verdicts == {"error"}
    assert "not a git checkout" in report["criteria"]["W1"]["message"]


def test_a_collection_error_keeps_the_run_red_even_if_collection_continues(tmp_path):
    broken = "Feature: x\n  @repo\n  Scenario: no id\n    Given a demo check that holds\n"
    shutil.copy(DATA / "demo_steps.py", tmp_path / "demo_steps.py")
    (tmp_path / "demo.feature").write_text((DATA / "demo.feature").read_text())
    (tmp_path / "zz_broken.feature").write_text(broken)
    code, report, out = run_pytest(
        str(tmp_path), *PLUGIN_ARGS, "-k", "holds", "--continue-on-collection-errors",
        cwd=tmp_path, env={"PYTHONPATH": f"{ROOT}:{tmp_path}"},
    )
    assert report["gate"]["open"]  # what ran passed ...
    assert code == 1, out          # ... but a feature that didn't collect keeps the run red


@pytest.mark.parametrize("option", ["--buildgate-report", "--buildgate-markdown", "--buildgate-junit", "--buildgate-cucumber"])
def test_report_paths_that_cannot_be_written_are_refused_up_front(tmp_path, option):
    (tmp_path / "a-file").write_text("x")
    for bad, reason in ((str(tmp_path), "is a folder"), (str(tmp_path / "a-file" / "x.json"), "cannot create it")):
        code, _, out = run_pytest("features/", "-m", "W1", option, bad)
        assert code == 4, out
        assert f"{option} {bad}: {reason}" in out and "Traceback" not in out
