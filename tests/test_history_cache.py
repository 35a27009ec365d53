"""The history's persistent cache: a re-run computes only new commits; a corrupt, foreign or
hostile cache is ignored with one warning line and never changes a verdict that matters."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.realistic_repo import add_commit, build
from buildgate import timeline
from buildgate.repo import Repo, still_true
from buildgate.target import Target
from buildgate.timeline import cache as cache_mod
from tests.helpers import ROOT


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """A realistic repository, its timeline without a cache, and a cache filled by one run."""
    base = tmp_path_factory.mktemp("cached")
    repo = build(base / "repo", commits=60)
    plain = timeline.run(Repo(repo.path), Target(), jobs=2)
    cache_dir = base / "cache"
    first = timeline.run(Repo(repo.path), Target(), jobs=2, cache_dir=cache_dir)
    assert first.stats["cached"] == 0 and not first.notes
    return repo, plain, cache_dir


def _verdicts(tl):
    return {sha: {c: (o.verdict, o.message) for c, o in per.items()} for sha, per in tl.outcomes.items()}


def _cache_file(cache_dir: Path) -> Path:
    files = list(cache_dir.glob("buildgate-history-*.json"))
    assert len(files) == 1
    return files[0]


def _copy(cache_dir: Path, dest: Path) -> Path:
    dest.mkdir()
    src = _cache_file(cache_dir)
    (dest / src.name).write_bytes(src.read_bytes())
    return dest / src.name


def test_a_rerun_reads_old_commits_from_the_cache_and_agrees(warm):
    repo, plain, cache_dir = warm
    again = timeline.run(Repo(repo.path), Target(), jobs=2, cache_dir=cache_dir)
    assert again.stats["cached"] == len(plain.commits) - 1  # all but HEAD, which is always computed
    assert _verdicts(again) == _verdicts(plain)
    assert not again.notes


def test_one_new_commit_costs_one_commit(warm, tmp_path):
    repo, plain, cache_dir = warm
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo.path), str(clone)], check=True)
    new = add_commit(clone, 1)
    cdir = _copy(cache_dir, tmp_path / "c").parent
    tl = timeline.run(Repo(clone), Target(), jobs=2, cache_dir=cdir)
    assert tl.head == new and tl.stats["cached"] == len(plain.commits)
    assert tl.stats["run"] <= len(tl.criteria)  # only the new commit ran its checks
    assert {s: v for s, v in _verdicts(tl).items() if s != new} == _verdicts(plain)


@pytest.mark.parametrize("content, why", [
    (b"\x00\x01garbage", "not valid JSON"),
    (b'{"format": "something-else"}', "not a buildgate history cache"),
    (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
])
def test_corrupt_or_foreign_cache_is_ignored_with_one_warning(warm, tmp_path, content, why):
    repo, plain, cache_dir = warm
    path = _copy(cache_dir, tmp_path / "c")
    path.write_bytes(content)
    tl = timeline.run(Repo(repo.path), Target(), jobs=1, cache_dir=path.parent)
    assert len(tl.notes) == 1 and why in tl.notes[0] and "\n" not in tl.notes[0]
    assert tl.stats["cached"] == 0 and _verdicts(tl) == _verdicts(plain)
    json.loads(path.read_text())  # replaced by a valid cache


def _tamper(path: Path, edit) -> None:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def test_a_forged_outcome_at_head_drops_the_whole_cache(warm, tmp_path):
    repo, plain, cache_dir = warm
    path = _copy(cache_dir, tmp_path / "c")
    head = plain.head

    def forge(data):
        data["messages"].append("forged")
        for cid in data["commits"][head]:
            data["commits"][head][cid] = ["pass", len(data["messages"]) - 1, []]
    _tamper(path, forge)
    tl = timeline.run(Repo(repo.path), Target(), jobs=1, cache_dir=path.parent)
    assert any("disagrees with a fresh run" in n for n in tl.notes)
    assert _verdicts(tl) == _verdicts(plain) and tl.stats["cached"] == 0


@pytest.mark.parametrize("edit", [
    lambda d: d["commits"].update({"not-a-sha": {}}),
    lambda d: next(iter(d["commits"].values())).update({"W1": ["maybe", 0, []]}),
    lambda d: next(iter(d["commits"].values())).update({"W1": ["pass", 10**9, []]}),
    lambda d: next(iter(d["commits"].values())).update({"G1": ["pass", 0, []]}),
    lambda d: d["content"].update({"d3-refs": {"k": [["line", "x", "code", None]]}}),
    lambda d: d["content"].update({"__import__('os')": {}}),
    lambda d: d.update({"context": "0" * 24}),
    lambda d: d.update({"version": 99}),
])
def test_malformed_fields_are_refused(warm, tmp_path, edit):
    repo, plain, cache_dir = warm
    path = _copy(cache_dir, tmp_path / "c")
    _tamper(path, edit)
    tl = timeline.run(Repo(repo.path), Target(), jobs=1, cache_dir=path.parent)
    assert len(tl.notes) == 1 and tl.notes[0].startswith(f"ignoring the history cache {path}")
    assert tl.stats["cached"] == 0 and _verdicts(tl) == _verdicts(plain)


def test_special_files_are_never_read(warm, tmp_path):
    repo, plain, cache_dir = warm
    name = _cache_file(cache_dir).name
    fifo_dir = tmp_path / "fifo"
    fifo_dir.mkdir()
    os.mkfifo(fifo_dir / name)  # opening it for reading would block forever
    link_dir = tmp_path / "link"
    link_dir.mkdir()
    (link_dir / name).symlink_to("/dev/zero")  # reading it never ends
    for d in (fifo_dir, link_dir):
        tl = timeline.run(Repo(repo.path), Target(), jobs=1, cache_dir=d)
        assert any("not a regular file" in n for n in tl.notes), tl.notes
        assert _verdicts(tl) == _verdicts(plain)


def test_context_changes_with_the_target(warm):
    repo, _plain, _ = warm
    r = Repo(repo.path)
    crit = timeline.engine.checks.criteria()
    assert cache_mod.context_key(r, Target(), crit) == cache_mod.context_key(r, Target(), crit)
    assert cache_mod.context_key(r, Target(), crit) != cache_mod.context_key(r, Target(docs="OTHER.md"), crit)


def test_state_facts_are_checked_against_git_again(warm):
    repo, _plain, _ = warm
    r = Repo(repo.path)
    head = r.git("rev-parse", "HEAD").strip()
    answer = r._answer(("rev-parse", f"--disambiguate={head[:7]}"), None, "state")
    refs = r._answer(("for-each-ref", "--format=%(refname)", "refs/heads"), None, "state")
    facts = [[["rev-parse", f"--disambiguate={head[:7]}"], "", _digest(answer)],
             [["rev-parse", "--disambiguate=ffffff7"], "", _digest((0, b"", b""))],
             [["rev-parse", "--disambiguate=ffffff7"], "", _digest((0, b"f" * 40 + b"\n", b""))],
             [["for-each-ref", "--format=%(refname)", "refs/heads"], "", _digest(refs)],
             [["for-each-ref", "--format=%(refname)", "refs/heads"], "", "0" * 32]]
    assert still_true(r, facts) == [True, True, False, True, False]


def _digest(answer):
    from buildgate.repo import _digest as digest

    return digest(answer)


def test_cli_cache_warning_is_one_line(warm, tmp_path):
    repo, _plain, cache_dir = warm
    path = _copy(cache_dir, tmp_path / "c")
    path.write_text("{")
    proc = subprocess.run([sys.executable, "-m", "buildgate", "history", "--repo", str(repo.path), "--cache",
                           str(path.parent), "--jobs", "1"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode in (0, 1), proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("buildgate: warning: ignoring the history cache")
