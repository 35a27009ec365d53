"""Claim audit: extraction, mapping, judgement, and end to end on the sandbox and a mutant."""
from __future__ import annotations

from pathlib import Path

import pytest

from buildgate import claims
from buildgate.errors import InputError
from buildgate.reports.verdicts import ScenarioVerdict, aggregate
from fixtures.sandbox_repo import TEMPLATE, make_sandbox_repo
from tests.helpers import ROOT, run_features

SEED = ROOT.parent / "shared" / "seed" / "resolution-mo-3t8p.md"
EXAMPLE = ROOT / "fixtures" / "sandbox" / "resolution.md"


def test_extracts_check_lines_and_checklists_under_validation_and_features():
    text = (
        "# Done\n**Status:** ✅ **RESOLVED** - Solution implemented\n"
        "## Features\n- Builds both images\n- [x] GitHub Actions cache for faster builds\n"
        "```\n✅ not a claim, a code sample\n```\n"
        "## Notes\n- not a claim, no check mark\n"
        "## Validation\n1. Workflow exists at `.github/workflows/x.yml`\n"
        "✅ `DOCKER_BUILD.md` - docs\n✅ `DOCKER_BUILD.md` - docs\n"
    )
    got = [(c.line, c.text) for c in claims.extract_claims(text)]
    assert got == [
        (2, "Status: RESOLVED - Solution implemented"),
        (4, "Builds both images"),
        (5, "GitHub Actions cache for faster builds"),
        (12, "Workflow exists at .github/workflows/x.yml"),
        (13, "DOCKER_BUILD.md - docs"),
    ]


@pytest.mark.skipif(not SEED.exists(), reason=f"the seed resolution document is not beside the project ({SEED})")
def test_seed_document_claims_are_all_mapped_or_listed():
    cl = claims.map_claims(claims.extract_claims(SEED.read_text()), claims.load_mapping())
    assert len(cl) == 22
    by_line = {c.line: c for c in cl}
    assert by_line[123].criteria == ["W1", "W2"]
    assert by_line[127].criteria == ["W9"]
    assert by_line[132].criteria == ["D2"]
    assert by_line[9].summary and by_line[157].summary
    assert all(c.criteria or c.summary for c in cl)


def _report(**verdicts: str) -> dict:
    return aggregate([ScenarioVerdict(f"f::{k}", k, [k], v, f"{k} {v} msg", [f"{k} evidence"]) for k, v in verdicts.items()], {})


def test_judgement_verified_contradicted_unverifiable():
    cl = claims.map_claims(
        [claims.Claim("GitHub Actions cache for faster builds", 1, ""),
         claims.Claim("Has retry logic for git push", 2, ""),
         claims.Claim("SBOM and provenance generation for security", 3, ""),
         claims.Claim("Works on my machine", 4, ""),
         claims.Claim("Status: RESOLVED - Solution implemented", 5, "")],
        claims.load_mapping(),
    )
    result = claims.judge(cl, _report(W7="pass", W9="fail", W8="pass", G4="skipped"))
    status = {c["line"]: c["status"] for c in result["claims"]}
    assert status == {1: "verified", 2: "contradicted", 3: "unverifiable", 4: "unverifiable", 5: "contradicted"}
    retry = result["claims"][1]
    assert retry["reason"] == "W9 fails: W9 fail msg" and retry["evidence"] == ["W9 evidence"]
    assert "G4 skipped" in result["claims"][2]["reason"] and "G5 not checked" in result["claims"][2]["reason"]
    assert result["claims"][3]["reason"] == "no criterion maps to this claim"
    assert result["summary"] == "claims: 1 verified, 2 contradicted, 2 unverifiable (of 5)"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("rules: [{pattern: 'x'}]", "needs `pattern` and `criteria`"),
        ("rules: [{pattern: '(', criteria: [W1]}]", "invalid pattern"),
        ("rules: [{pattern: 'x', criteria: [Z1]}]", "criterion ids"),
        ("rules: {a: b}", "`rules:` list"),
        ("rules: [", "invalid YAML"),
    ],
)
def test_bad_mapping_files_are_one_line_input_errors(tmp_path, content, problem):
    bad = tmp_path / "map.yml"
    bad.write_text(content)
    with pytest.raises(InputError) as exc:
        claims.load_mapping(bad)
    assert problem in str(exc.value) and str(bad) in str(exc.value)


def _audit(repo: Path) -> dict:
    code, report = run_features("-m", "repo", "--repo", str(repo), "--claims", str(EXAMPLE))
    return report["claims"]


def test_sandbox_claims_audit_and_a_mutant_with_exactly_three_false_claims(tmp_path):
    good = make_sandbox_repo(tmp_path / "good")
    audit = _audit(good.path)
    repo_only = {c["text"]: c["status"] for c in audit["claims"]}
    assert "contradicted" not in repo_only.values()
    assert repo_only["GitHub Actions cache for faster builds"] == "verified"

    workflow = (TEMPLATE / ".github/workflows/build-push.yml").read_text()
    broken = workflow.replace("          cache-from: type=gha,scope=api\n", "").replace(
        "          cache-to: type=gha,mode=max,scope=api\n", "").replace("sbom: true", "sbom: false")
    readme = "# Moltbook\n\nImages are built by GitHub Actions.\n"
    bad = make_sandbox_repo(tmp_path / "bad", files={".github/workflows/build-push.yml": broken, "README.md": readme})
    audit = _audit(bad.path)
    contradicted = sorted(c["text"] for c in audit["claims"] if c["status"] == "contradicted" and not c["summary"])
    assert contradicted == [
        "GitHub Actions cache for faster builds",
        "README.md - References DOCKER_BUILD.md",
        "SBOM and provenance generation for security",
    ]
    by_text = {c["text"]: c for c in audit["claims"]}
    assert "W7 fails" in by_text["GitHub Actions cache for faster builds"]["reason"]
    assert "D2 fails" in by_text["README.md - References DOCKER_BUILD.md"]["reason"]
    assert "W8 fails" in by_text["SBOM and provenance generation for security"]["reason"]
    assert by_text["Status: RESOLVED - Solution implemented"]["status"] == "contradicted"


def test_hostile_documents_are_matched_in_linear_time(tmp_path):
    """The shipped map's patterns on about 2 MiB of repeated words: RE2, no backtracking."""
    import time

    words = "resolved complete " * 50000  # no "implemented": a backtracking engine scans on and on
    doc = tmp_path / "doc.md"
    doc.write_text(f"✅ {words}\n- [x] {words}\n# {' ' * 200000}x\n")
    started = time.monotonic()
    result = claims.audit(doc, _report(W1="pass"))
    assert time.monotonic() - started < 20, "claim matching must be linear in the document's size"
    assert result["claims"], result


def test_a_pattern_that_could_backtrack_forever_is_refused_with_its_line(tmp_path):
    mapping = tmp_path / "map.yml"
    mapping.write_text("rules:\n  - pattern: 'ok'\n    criteria: [W1]\n  - pattern: '(a+)\\1'\n    criteria: [W2]\n")
    with pytest.raises(InputError, match=rf"{mapping}:4: invalid pattern \(RE2 syntax"):
        claims.load_mapping(mapping)


def test_an_oversized_claims_document_is_refused_up_front_in_one_line(tmp_path):
    from tests.helpers import run_pytest

    doc = tmp_path / "huge.md"
    doc.write_bytes(b"x" * (claims.MAX_DOC_BYTES + 1))
    code, report, out = run_pytest("features/", "-m", "W1", "--claims", str(doc))
    assert code == 4 and report is None, out
    assert f"buildgate: --claims: {doc}: claims document is {claims.MAX_DOC_BYTES + 1} bytes" in out
    assert "Traceback" not in out
