"""Repo in history walks: incremental trees, derived git answers, replay facts, and git that can't be lied to."""
from __future__ import annotations

import os
import subprocess

import pytest

from benchmarks.realistic_repo import build
from buildgate import repo as repo_mod
from buildgate.repo import Repo, first_parent_trees, frozen_state

_ENV = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull, "GIT_AUTHOR_NAME": "a",
        "GIT_AUTHOR_EMAIL": "a@b", "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@b"}


def _git(root, *args):
    return subprocess.run(["git", "-C", str(root), *args], check=True, env=_ENV, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def realistic(tmp_path_factory):
    return build(tmp_path_factory.mktemp("realistic") / "repo", commits=90)


def _repo_with(tmp_path, *commits):
    """A repository with one commit per ``{path: content}`` (None deletes; ``("link", target)``
    makes a symlink); returns (root, commit ids oldest first)."""
    root = tmp_path / "r"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    for n, files in enumerate(commits):
        for rel, content in files.items():
            path = root / rel
            if content is None:
                _git(root, "rm", "-rq", rel)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, tuple):
                os.symlink(content[1], path)
            else:
                path.write_text(content)
        _git(root, "add", "-A")
        _git(root, "commit", "-qm", f"c{n}")
    return root, _first_parent(root)


def _first_parent(root):
    return list(reversed(_git(root, "rev-list", "--first-parent", "HEAD").split()))


def test_incremental_trees_equal_a_full_listing_at_every_commit(realistic):
    repo = Repo(realistic.path)
    shas = _first_parent(realistic.path)
    assert any(len(_git(realistic.path, "rev-list", "--parents", "-1", s).split()) > 2 for s in shas)  # merges too
    for at in first_parent_trees(repo, shas):
        full = repo_mod._parse_listing(_git(realistic.path, "ls-tree", "-r", "-t", "-l", "-z", "--full-tree", at.rev))
        assert {p: e[:3] for p, e in at._ls_tree().items()} == {p: e[:3] for p, e in full.items()}, at.rev
        assert {p: e[3] for p, e in at._ls_tree().items() if e[1] == "blob"} == \
               {p: e[3] for p, e in full.items() if e[1] == "blob"}, at.rev  # sizes, for the read limit


def test_trees_follow_deleted_folders_type_changes_and_symlinks(tmp_path):
    root, shas = _repo_with(tmp_path, {"a/b.txt": "b", "c": "file"},
                            {"a": None, "c": None, "c/d.txt": "d", "link": ("link", "c/d.txt")})
    walked = list(first_parent_trees(Repo(root), shas))
    assert set(walked[1]._ls_tree()) == {"c", "c/d.txt", "link"}
    assert walked[1].read_text("link") == "d"
    assert walked[0].read_text("c") == "file"


def _k3_questions(sha: str, first: str) -> list[tuple[str, ...]]:
    return [
        ("log", "--no-color", "--no-ext-diff", "--no-textconv", "-p", "-U0", "--format=%x1e%H%x1f%an%x1f%s", sha, "--",
         "k8s/kustomization.yml"),
        ("log", "--reverse", "--format=%H%x1f%ct%x1f%s", sha, "--", ".github/workflows"),
        ("log", "--format=%H", sha, "--", "DOCKER_BUILD.md", "scripts"),
        ("rev-list", "--ancestry-path", f"{first}..{sha}"),
        ("merge-base", "--is-ancestor", first, sha),
    ]


def test_derived_answers_equal_what_git_says_at_every_commit(realistic):
    """Path-limited logs, ancestry paths and ancestry tests are derived from the parent's answer
    along the walk; each must be byte for byte what git answers."""
    repo = Repo(realistic.path)
    shas = _first_parent(realistic.path)
    repo_mod._ANSWERS.clear()
    derived = 0
    calls = []
    real_exec = Repo._exec

    def counting(self, args, input_bytes=None):
        calls.append(args)
        return real_exec(self, args, input_bytes)

    Repo._exec = counting
    try:
        for at in first_parent_trees(repo, shas):
            for q in _k3_questions(at.rev, shas[3]):
                before = len(calls)
                got = repo._answer(q, None, repo_mod.answer_kind(q))
                derived += len(calls) == before
                want = real_exec(repo, q)
                assert (got[0], got[1]) == (want.returncode, want.stdout), (at.rev[:7], q)
    finally:
        Repo._exec = real_exec
    assert derived > len(shas) * 2  # most answers came without running git


def test_answers_about_refs_are_kept_only_while_the_state_is_frozen(tmp_path):
    root, (first,) = _repo_with(tmp_path, {"f": "1"})
    repo = Repo(root)
    with frozen_state():
        assert repo.git("rev-parse", "main").strip() == first
        (root / "f").write_text("2")
        _git(root, "commit", "-qam", "2")
        assert repo.git("rev-parse", "main").strip() == first  # promised not to change
    assert repo.git("rev-parse", "main").strip() != first
    assert repo_mod.answer_kind(("rev-parse", "--disambiguate=abc1234")) == "state"
    assert repo_mod.answer_kind(("show", "-s", first, "--")) == "immutable"
    assert repo_mod.answer_kind(("log", "--all", first)) == "state"


def test_replace_refs_and_grafts_do_not_rewrite_history(tmp_path):
    root, (c0, c1, c2) = _repo_with(tmp_path, {"f": "0"}, {"f": "1", "wf.yml": "x"}, {"f": "2"})
    _git(root, "replace", c2, c0)  # HEAD's content replaced by the first commit's
    (root / ".git" / "info").mkdir(exist_ok=True)
    (root / ".git" / "info" / "grafts").write_text(f"{c1}\n")  # c1 made a root commit
    repo = Repo(root)
    assert [c.subject for c in repo.log()] == ["c2", "c1", "c0"]
    assert repo.at("HEAD").exists("wf.yml")
    assert repo.at(c2).read_text("f") == "2"


def test_exists_and_listing_facts_replay_at_other_revisions(tmp_path):
    root, (one, two) = _repo_with(tmp_path, {"d/a.md": "a", "x.sh": "x"}, {"d/a.md": "changed", "notes.md": "n"})
    a, b = Repo(root).at(one), Repo(root).at(two)
    with a.recording() as facts:
        assert a.exists("d/a.md") and a.is_dir("d") and a.any_file_named("x.sh") and not a.any_file_matching("*.txt")
    assert b.replay_equal(facts)  # content changed, but nothing these calls looked at
    with a.recording() as listing:
        a.list_files("d")
    assert not b.replay_equal(listing)  # the folder's tree changed
    with a.recording() as named:
        assert not a.any_file_named("notes.md")
    assert not b.replay_equal(named)


def test_memo_reuses_a_value_only_where_its_reads_are_equal(tmp_path):
    root, shas = _repo_with(tmp_path, {"k.yml": "a: 1\n"}, {"other": "o"}, {"k.yml": "a: 2\n"})
    made = []

    def make(r):
        made.append(r.rev)
        return r.read_text("k.yml")

    values = []
    for s in shas:
        r = Repo(root).at(s)
        values.append(r.memo("test", "k", lambda r=r: make(r)))
    assert values == ["a: 1\n", "a: 1\n", "a: 2\n"]
    assert made == [shas[0], shas[2]]


@pytest.mark.parametrize("pattern, path, matches", [
    ("docs/*.md", "docs/a.md", True), ("docs/*.md", "docs/x/a.md", False), ("docs/**/*.md", "docs/a.md", True),
    ("docs/**/*.md", "docs/x/y/a.md", True), ("**", "a/b/c", True), ("**/README.md", "README.md", True),
    ("S?ATUS_[0-9]*.md", "STATUS_1.md", True), ("*.md", "a/b.md", False), ("a/**/**/b", "a/b", True),
])
def test_path_globs(pattern, path, matches):
    assert repo_mod.glob_match(pattern, path) is matches


def test_a_hostile_glob_does_not_backtrack():
    import time

    start = time.perf_counter()
    assert not repo_mod.glob_match("**/a/**/a/**/a/**/a/**/a/**/b", "/".join(["a"] * 300) + "/c")
    assert not repo_mod.glob_match("*a*a*a*a*a*a*a*a*b", "a" * 250)
    assert time.perf_counter() - start < 1.0
