"""End to end: ``pytest features/repo/kustomization.feature --repo MUTANT`` gives the right verdicts."""
from __future__ import annotations

from tests.helpers import run_pytest, verdicts
from tests.kustomize.helpers import KUST, mutate, sandbox, sandbox_kust

FEATURE = "features/repo/kustomization.feature"


def _run(repo_path):
    code, report, out = run_pytest(FEATURE, "-q", "--repo", str(repo_path), timeout=120)
    assert report is not None, out
    return code, report, out


def test_sandbox_passes_k1_to_k3_and_k7(tmp_path):
    code, report, out = run_pytest(FEATURE, "-q", timeout=120)
    assert code == 0, out
    assert verdicts(report) == {"K1": "pass", "K2": "pass", "K3": "pass", "K7": "pass"}
    assert report["criteria"]["K1"]["evidence"][0].startswith("rendered with ")


def test_hand_edited_tag_fails_k3_only(tmp_path):
    sb = sandbox(tmp_path)
    edit = mutate(sb, {KUST: sandbox_kust(sb).replace(f"newTag: {sb.new_tag}", f"newTag: {sb.head[:7]}")},
                  message="fix: pin the tag by hand")
    code, report, out = _run(sb.path)
    assert code == 1, out
    assert verdicts(report) == {"K1": "pass", "K2": "pass", "K3": "fail", "K7": "pass"}
    assert f"hand-edited in {edit[:7]} by Dana Developer" in report["criteria"]["K3"]["message"]


def test_hostile_resource_fails_k1_naming_file_and_line(tmp_path):
    """A kustomization that does not render (here: a resource outside the repository, which
    kustomize refuses too) fails K1: the repository is broken, the audit is not."""
    sb = sandbox(tmp_path)
    mutate(sb, {KUST: sandbox_kust(sb).replace("resources:\n", "resources:\n  - ../../etc\n", 1)})
    code, report, out = _run(sb.path)
    assert code == 1, out
    got = verdicts(report)
    assert got["K1"] == "fail" and got["K2"] == "pass"
    msg = report["criteria"]["K1"]["message"]
    assert "resource '../../etc' leaves the repository (at k8s/kustomization.yml:5)" in msg and "to render" in msg
    assert "Traceback" not in report["criteria"]["K1"]["message"]


APP = "k8s/argocd-application.yml"


def test_an_argo_images_override_of_the_real_targets_shape_fails_k7_only(tmp_path):
    """The real target's Application pins both built images to latest: the tag updates do nothing."""
    sb = sandbox(tmp_path)
    app = (sb.path / APP).read_text().replace(
        "    path: k8s\n",
        "    path: k8s\n    kustomize:\n      images:\n"
        "        - ghcr.io/ardenone/moltbook-api:latest\n        - ghcr.io/ardenone/moltbook-frontend:latest\n")
    mutate(sb, {APP: app}, message="argocd: pin images")
    code, report, out = _run(sb.path)
    assert code == 1, out
    assert verdicts(report) == {"K1": "pass", "K2": "pass", "K3": "pass", "K7": "fail"}
    message = report["criteria"]["K7"]["message"]
    assert f"{APP}:1" in message or f"{APP}:" in message, message
    assert "latest" in message and "moltbook-api" in message, message


def test_an_application_following_another_branch_fails_k7(tmp_path):
    sb = sandbox(tmp_path)
    mutate(sb, {APP: (sb.path / APP).read_text().replace("targetRevision: main", "targetRevision: release")},
           message="argocd: follow release")
    code, report, out = _run(sb.path)
    assert code == 1, out
    assert verdicts(report)["K7"] == "fail"
    assert "release" in report["criteria"]["K7"]["message"]
