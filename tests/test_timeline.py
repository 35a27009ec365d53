"""History timeline: criteria flip at known commits; reuse changes nothing; the work tree is untouched."""
from __future__ import annotations

import os
import re
import subprocess
import sys

from buildgate import timeline
from buildgate.repo import Repo
from buildgate.repochecks import REPO_CHECKS, RevisionContext, run_check
from buildgate.target import Target
from fixtures.sandbox_repo import TEMPLATE, _History, make_sandbox_repo
from tests.helpers import ROOT, run_features

WORKFLOW = ".github/workflows/build-push.yml"


def _history_repo(tmp_path):
    """The sandbox plus 56 commits; W7, D2 and S1 flip at known commits."""
    sandbox = make_sandbox_repo(tmp_path / "repo")
    h = _History(sandbox.path)
    h.clock += 10 * 3600
    good_wf = (TEMPLATE / WORKFLOW).read_text()
    no_cache = "".join(ln for ln in good_wf.splitlines(keepends=True) if "cache-from" not in ln and "cache-to" not in ln)
    flips: dict[str, list[str]] = {}
    for i in range(56):
        (sandbox.path / "api" / "app" / "version.txt").write_text(f"moltbook-api 2.{i}\n")
        if i == 10:
            (sandbox.path / WORKFLOW).write_text(no_cache)
        if i == 20:
            (sandbox.path / WORKFLOW).write_text(good_wf)
        if i == 30:
            (sandbox.path / "README.md").write_text("# Moltbook\n\nBuilt by GitHub Actions.\n")
        if i == 40:
            os.chmod(sandbox.path / "scripts" / "check-build-status.sh", 0o644)
        sha = h.commit(f"change {i}")
        if i in (10, 20):
            flips.setdefault("W7", []).append(sha)
        if i == 30:
            flips["D2"] = [sha]
        if i == 40:
            flips["S1"] = [sha]
    return sandbox, flips


def test_timeline_names_exactly_the_commits_where_criteria_flip(tmp_path):
    sandbox, flips = _history_repo(tmp_path)
    repo = Repo(sandbox.path)
    status_before = repo.git("status", "--porcelain")
    tl = timeline.run(repo, sandbox.target, f"{sandbox.head}..HEAD", jobs=2)
    assert len(tl.commits) == 56
    changes = tl.transitions()
    first = tl.commits[0].sha
    for cid in REPO_CHECKS:
        later = [(c["sha"], c["to"]) for c in changes[cid] if c["sha"] != first]
        expected = {
            "W7": [(flips["W7"][0], "fail"), (flips["W7"][1], "pass")],
            "D2": [(flips["D2"][0], "fail")],
            "S1": [(flips["S1"][0], "fail")],
        }.get(cid, [])
        assert later == expected, cid
        if cid not in ("D2", "S1") or first not in flips.get(cid, []):
            assert changes[cid][0]["to"] == "pass", (cid, changes[cid][0])
    assert repo.git("status", "--porcelain") == status_before  # nothing checked out or written
    assert tl.stats["reused"] > 0


def test_reuse_gives_the_same_outcomes_as_running_every_check(tmp_path):
    sandbox, _ = _history_repo(tmp_path)
    repo = Repo(sandbox.path)
    fast = timeline.run(repo, sandbox.target, jobs=1)
    slow = timeline.run(repo, sandbox.target, jobs=1, reuse=False)
    assert slow.stats["reused"] == 0 and fast.stats["reused"] > 0
    def same(outcome):  # a reused message may name the revision it was computed at
        return outcome.verdict, re.sub(r"\b[0-9a-f]{7,40}\b", "<rev>", outcome.message)

    for sha in slow.outcomes:
        for cid in REPO_CHECKS:
            assert same(fast.outcomes[sha][cid]) == same(slow.outcomes[sha][cid]), (sha[:7], cid)


def test_plain_checks_agree_with_the_feature_run(tmp_path):
    """The history's checks and the features decide the same verdicts (here on a broken target)."""
    wf = (TEMPLATE / WORKFLOW).read_text().replace("sbom: true", "sbom: false")
    bad = make_sandbox_repo(tmp_path / "bad", files={WORKFLOW: wf, "README.md": "# x\n"}, modes={"scripts/build-images.sh": 0o644})
    _, report = run_features("-m", "repo", "--repo", str(bad.path))
    ctx = RevisionContext(Repo(bad.path).at("HEAD"), Target(repo_path=bad.path))
    plain = {cid: run_check(cid, ctx).verdict for cid in REPO_CHECKS}
    features = {cid: report["criteria"][cid]["verdict"] for cid in REPO_CHECKS}
    assert plain == features
    assert {c for c, v in plain.items() if v != "pass"} == {"W8", "D2", "S1"}


def test_cli_reports_regressions_since_the_task_was_closed(tmp_path):
    sandbox, flips = _history_repo(tmp_path)
    closed = flips["W7"][1]  # after W7 was mended, before D2 and S1 broke
    out_json = tmp_path / "t.json"
    proc = subprocess.run(
        [sys.executable, "-m", "buildgate", "history", "--repo", str(sandbox.path), "--closed-at", closed,
         "--json", str(out_json), "--svg", str(tmp_path / "t.svg"), "--jobs", "2"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert proc.returncode == 1, proc.stderr
    assert f"closed at {closed[:7]}; held then, not now: D2, S1" in proc.stdout
    import json

    data = json.loads(out_json.read_text())
    assert data["closed_at"]["held_then_not_now"] == ["D2", "S1"]
    assert (tmp_path / "t.svg").read_text().startswith("<svg")


def test_cli_bad_input_is_one_line(tmp_path):
    for args in (["--repo", str(tmp_path / "none")], ["--repo", str(ROOT), "--", "--output=x"], ["--repo", str(ROOT), "--criteria", "G1"]):
        proc = subprocess.run([sys.executable, "-m", "buildgate", "history", *args], capture_output=True, text=True, cwd=ROOT)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("buildgate: ") and "Traceback" not in proc.stderr
