"""History timeline: criteria flip at known commits; reuse changes nothing; the work tree is untouched."""
from __future__ import annotations

import os
import re
import subprocess
import sys

from buildgate import timeline
from buildgate.repo import Repo
from buildgate.context import Context
from buildgate.criteria import of_layer
from buildgate.target import Target
from pytest_buildgate.fixtures.sandbox_repo import TEMPLATE, _History, make_sandbox_repo
from tests.helpers import ROOT

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
    for cid in of_layer("repo"):
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
        for cid in of_layer("repo"):
            assert same(fast.outcomes[sha][cid]) == same(slow.outcomes[sha][cid]), (sha[:7], cid)


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


# -- the realistic repository ------------------------------------------------------------------
import datetime as dt
import shutil
import struct
import xml.etree.ElementTree as ET

import pytest

from benchmarks.realistic_repo import build as build_realistic
from buildgate.timeline import checks as tl_checks
from buildgate.timeline.checks import Outcome

SVG_NS = {"s": "http://www.w3.org/2000/svg"}


@pytest.fixture(scope="module")
def realistic(tmp_path_factory):
    """A 120-commit realistic repository and its timeline (status notes, bot updates, the real defects)."""
    repo = build_realistic(tmp_path_factory.mktemp("realistic") / "repo", commits=120)
    tl = timeline.run(Repo(repo.path), Target(), jobs=2)
    return repo, tl


def _index(tl, sha):
    return [c.sha for c in tl.commits].index(sha)


def test_realistic_history_shows_the_real_defects_and_no_status_note_noise(realistic):
    repo, tl = realistic
    ev = repo.events
    ch = tl.transitions()
    # D3 fails from the commit whose build docs name ./scripts/setup-docker-buildx.sh, not before:
    # the status notes' dangling paths (added in most commits) are out of scope
    assert [(c["sha"], c["to"]) for c in ch["D3"][1:]] == [(ev["buildx_doc"], "fail")], ch["D3"]
    assert "setup-docker-buildx.sh" in tl.outcomes[tl.head]["D3"].message
    assert tl.outcomes[tl.head]["D3"].message.find("DOCKER_BUILD.md") < tl.outcomes[tl.head]["D3"].message.find("scripts/")
    assert "--watch" in tl.outcomes[ev["rejected_option"]]["D3"].message
    # S2 fails while the scripts name the renamed workflow; D1 while the build docs are deleted
    assert [(c["sha"], c["to"]) for c in ch["S2"][2:]] == [(ev["wf_renamed"], "fail"), (ev["scripts_follow"], "pass")]
    assert [(c["sha"], c["to"]) for c in ch["D1"][2:]] == [(ev["docs_deleted"], "fail"), (ev["docs_restored"], "pass")]
    assert tl.verdict_at(tl.head, "K2") == "pass" and tl.verdict_at(tl.head, "K3") == "pass"


def test_incremental_run_equals_running_every_check_at_every_commit(realistic, tmp_path):
    repo, fast = realistic
    slow = timeline.run(Repo(repo.path), Target(), f"{fast.commits[60].sha}..HEAD", jobs=1, reuse=False)
    assert slow.stats["reused"] == 0
    for sha in slow.outcomes:
        for cid in slow.criteria:
            assert fast.outcomes[sha][cid].verdict == slow.outcomes[sha][cid].verdict, (sha[:7], cid)
            assert fast.outcomes[sha][cid].message == slow.outcomes[sha][cid].message, (sha[:7], cid)


def test_a_status_note_commit_costs_no_file_reads(realistic):
    """A commit that only edits a status note reuses every check that reads files; nothing is read."""
    from buildgate.repo import first_parent_trees, frozen_state

    repo, tl = realistic
    shas = [c.sha for c in tl.commits]
    names = {sha: Repo(repo.path).git("show", "--format=", "--name-only", sha).split() for sha in shas}
    note_only = next(i for i, s in enumerate(shas) if i > 30 and names[s] and all(n.endswith(".md") and n not in
                     ("DOCKER_BUILD.md", "README.md") for n in names[s]) and len(Repo(repo.path).log(rev=s)[0].parents) == 1)
    calls = []
    real = Repo._exec
    with frozen_state():
        walked = list(first_parent_trees(Repo(repo.path), shas[note_only - 1:note_only + 1]))
        ctx = tl_checks.context(walked[0], Target())
        before = {cid: tl_checks.outcome(cid, ctx) for cid in tl.criteria}
        Repo._exec = lambda self, args, input_bytes=None: calls.append(args) or real(self, args, input_bytes)
        try:
            at = walked[1]
            reused = [cid for cid in tl.criteria if at.replay_equal(before[cid].reads)]
            ctx = tl_checks.context(at, Target())
            for cid in tl.criteria:
                if cid not in reused:
                    tl_checks.outcome(cid, ctx)
        finally:
            Repo._exec = real
    assert {"D1", "D2", "D3", "S1", "S2", "K1"} <= set(reused)
    assert not [a for a in calls if "cat-file" in a or "ls-tree" in a], calls  # no file read, no listing


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.skipif(shutil.which("rsvg-convert") is None, reason="rsvg-convert (librsvg2-bin) not installed")
def test_chart_renders_readably_at_1200px(realistic, tmp_path):
    repo, tl = realistic
    closed = repo.events["rejected_option"]
    text = timeline.svg(tl, closed)
    assert len(text.encode()) < 100_000
    (tmp_path / "t.svg").write_text(text)
    png = tmp_path / "t.png"
    subprocess.run(["rsvg-convert", "-w", "1200", str(tmp_path / "t.svg"), "-o", str(png)], check=True)
    width, height = _png_size(png)
    assert width == 1200 and 500 <= height <= 1000
    root = ET.fromstring(text)
    rows = root.findall(".//s:g[@class='row']", SVG_NS)
    assert [r.get("data-criterion") for r in rows] == tl.criteria
    trans = tl.transitions()
    for row in rows:
        cid = row.get("data-criterion")
        runs = row.findall("s:rect", SVG_NS)[:-1]  # the last square is the verdict now
        assert len(runs) == len(trans[cid]), cid  # one segment per run of equal verdicts
        assert all(r.find("s:title", SVG_NS) is not None and cid in r.find("s:title", SVG_NS).text for r in runs)
        labels = [t.text for t in row.findall("s:text[@class='change']", SVG_NS)]
        assert labels == [c["sha"][:7] for c in trans[cid][1:]], cid  # every change labelled
    assert root.find(".//s:g[@class='closed-at']", SVG_NS) is not None
    assert closed[:7] in ET.tostring(root.find(".//s:g[@class='closed-at']", SVG_NS), encoding="unicode")
    assert len(root.findall(".//s:g[@class='date-axis']/s:text", SVG_NS)) >= 4
    assert len(root.findall(".//s:g[@class='commit-axis']/s:text", SVG_NS)) >= 5
    legend = ET.tostring(root.find(".//s:g[@class='legend']", SVG_NS), encoding="unicode")
    assert all(w in legend for w in ("pass", "fail", "error", "closed"))


def test_chart_stays_small_when_a_criterion_flaps_at_every_commit():
    from buildgate.repo import Commit

    commits = [Commit(f"{i:040x}", f"change {i}", "a", 1767225600 + i * 600, ()) for i in range(2000)]
    outcomes = {c.sha: {"W1": Outcome("pass" if i % 2 else "fail", "m" * 300), "D3": Outcome("pass", "ok")}
                for i, c in enumerate(commits)}
    tl = timeline.Timeline(commits, ["W1", "D3"], outcomes, {"commits": 2000, "run": 0, "reused": 0})
    text = timeline.svg(tl)
    assert len(text.encode()) < 100_000
    root = ET.fromstring(text)
    assert root.findall(".//s:rect[@class='run mixed']", SVG_NS)  # drawn as "changing often"
    assert "changing often" in text


def test_cli_markdown_table_and_closed_at_date_in_utc(realistic, tmp_path):
    """--closed-at DAY picks the last commit by the end of that day in UTC, in any time zone."""
    repo, tl = realistic
    day = dt.datetime.fromtimestamp(tl.commits[0].timestamp, dt.timezone.utc).date()
    end = dt.datetime.combine(day, dt.time(23, 59, 59), dt.timezone.utc).timestamp()
    expected = [c for c in tl.commits if c.timestamp <= end][-1]
    outs = []
    for tz in ("Pacific/Kiritimati", "America/Los_Angeles", "UTC"):  # UTC+14, UTC-8
        proc = subprocess.run(
            [sys.executable, "-m", "buildgate", "history", "--repo", str(repo.path), "--closed-at", day.isoformat(),
             "--markdown", str(tmp_path / "m.md"), "--svg", str(tmp_path / "t.svg"), "--jobs", "2"],
            capture_output=True, text=True, cwd=ROOT, env={**os.environ, "TZ": tz})
        assert proc.returncode in (0, 1), proc.stderr
        outs.append(next(ln for ln in proc.stdout.splitlines() if ln.startswith("closed at ") and "UTC" in ln))
    assert len(set(outs)) == 1 and outs[0].startswith(f"closed at {expected.sha[:7]} (")
    assert f"the last commit on or before {day.isoformat()} 23:59:59 UTC" in outs[0]
    md = (tmp_path / "m.md").read_text()
    assert md.startswith("## What changed since the task was closed") and "D3" in md
    assert "![history timeline](t.svg)" in md and "| criterion | when closed | now | changed at |" in md
    changed = [c for c in tl.criteria if tl.verdict_at(expected.sha, c) != tl.verdict_at(tl.head, c)]
    regressed = tl.regressions(expected.sha)
    assert [ln.split("**")[1] for ln in md.splitlines() if ln.startswith("| **")] == \
        sorted(changed, key=lambda c: (c not in regressed, tl.criteria.index(c)))


def test_timeline_d3_reads_the_docs_scope_and_leads_with_the_build_docs(realistic):
    repo, tl = realistic
    ours = tl_checks.outcome("D3", Context(Target(), Repo(repo.path).at(tl.head)))
    assert (ours.verdict, ours.message) == (tl.outcomes[tl.head]["D3"].verdict, tl.outcomes[tl.head]["D3"].message)
    ctx = Context(Target(docs_scope=("BUILD_STATUS_*.md",)), Repo(repo.path).at(tl.head))
    scoped = tl_checks.outcome("D3", ctx)

    def dangling(message):
        return int(re.search(r"found (\d+) dangling", message).group(1))

    assert scoped.verdict == "fail" and dangling(scoped.message) > dangling(ours.message)  # the notes' too
    assert re.search(r"dangling: DOCKER_BUILD\.md:\d+ names", scoped.message)  # the build docs lead


def test_history_ignores_replace_refs(tmp_path):
    sandbox = make_sandbox_repo(tmp_path / "repo", files={WORKFLOW: None})  # HEAD has no workflow
    good = Repo(sandbox.path).git("rev-parse", "HEAD~1").strip()
    subprocess.run(["git", "-C", str(sandbox.path), "replace", sandbox.head, good], check=True)
    tl = timeline.run(Repo(sandbox.path), sandbox.target, jobs=1)
    assert tl.verdict_at(tl.head, "W1") == "fail"
