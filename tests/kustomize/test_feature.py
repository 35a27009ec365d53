"""End to end: ``pytest features/repo/kustomization.feature --repo MUTANT`` gives the right verdicts."""
from __future__ import annotations

from tests.helpers import run_pytest, verdicts
from tests.kustomize.helpers import KUST, mutate, sandbox, sandbox_kust

FEATURE = "features/repo/kustomization.feature"


def _run(repo_path):
    code, report, out = run_pytest(FEATURE, "-q", "--repo", str(repo_path), timeout=120)
    assert report is not None, out
    return code, report, out


def test_sandbox_passes_k1_to_k3(tmp_path):
    code, report, out = run_pytest(FEATURE, "-q", timeout=120)
    assert code == 0, out
    assert verdicts(report) == {"K1": "pass", "K2": "pass", "K3": "pass"}
    assert report["criteria"]["K1"]["evidence"][0].startswith("rendered with ")


def test_hand_edited_tag_fails_k3_only(tmp_path):
    sb = sandbox(tmp_path)
    edit = mutate(sb, {KUST: sandbox_kust(sb).replace(f"newTag: {sb.new_tag}", f"newTag: {sb.head[:7]}")},
                  message="fix: pin the tag by hand")
    code, report, out = _run(sb.path)
    assert code == 1, out
    assert verdicts(report) == {"K1": "pass", "K2": "pass", "K3": "fail"}
    assert f"hand-edited in {edit[:7]} by Dana Developer" in report["criteria"]["K3"]["message"]


def test_hostile_resource_is_an_error_naming_file_and_line(tmp_path):
    sb = sandbox(tmp_path)
    mutate(sb, {KUST: sandbox_kust(sb).replace("resources:\n", "resources:\n  - ../../etc\n", 1)})
    code, report, out = _run(sb.path)
    assert code == 1, out
    got = verdicts(report)
    assert got["K1"] == "error" and got["K2"] == "pass"
    assert "k8s/kustomization.yml:5: resource '../../etc' leaves the repository" in report["criteria"]["K1"]["message"]
    assert "Traceback" not in report["criteria"]["K1"]["message"]
