"""Repo: safe reads from the work tree and from revisions, and read recording."""
from __future__ import annotations

import os
import subprocess

import pytest

from buildgate.errors import InputError
from buildgate.repo import Repo


def _git_repo(tmp_path, files: dict[str, str], links: dict[str, str] | None = None) -> Repo:
    root = tmp_path / "r"
    root.mkdir()
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    for rel, target in (links or {}).items():
        os.symlink(target, root / rel)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b",
           "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@b"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "x"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, env=env, capture_output=True)
    return Repo(root)


@pytest.mark.parametrize("at_revision", [False, True])
def test_symlink_loops_and_escapes_are_one_line_errors(tmp_path, at_revision):
    repo = _git_repo(tmp_path, {"ok.md": "fine\n"}, {"a.md": "b.md", "b.md": "a.md", "out.md": "../../etc/passwd", "abs.md": "/etc/passwd", "good.md": "ok.md"})
    if at_revision:
        repo = repo.at("HEAD")
    assert repo.read_text("good.md") == "fine\n"
    for rel, reason in (("a.md", "symlink"), ("out.md", "outside" if at_revision else "leaves the repository"), ("abs.md", "")):
        with pytest.raises(InputError) as exc:
            repo.read_bytes(rel)
        assert reason in str(exc.value)
        assert "\n" not in str(exc.value)


def test_hostile_paths_are_refused_without_reading(tmp_path):
    repo = _git_repo(tmp_path, {"x": "x"})
    for rel in ("../x", "/etc/passwd", "a/../../x", "", "nul\x00byte"):
        with pytest.raises(InputError):
            repo.read_bytes(rel)


def test_binary_and_oversized_files(tmp_path):
    repo = _git_repo(tmp_path, {"big.yml": "a: b\n" * 10, "bin.yml": "x"})
    (repo.root / "bin.yml").write_bytes(b"\x00\x01\x02")
    with pytest.raises(InputError, match="over the 10-byte limit"):
        repo.read_bytes("big.yml", limit=10)
    with pytest.raises(InputError, match="binary file"):
        repo.load_yaml("bin.yml")


def test_recording_collects_what_a_revision_read(tmp_path):
    repo = _git_repo(tmp_path, {"a.yml": "a: 1\n", "d/b.txt": "b"}).at("HEAD")
    with repo.recording() as outer:
        with repo.recording() as inner:
            repo.read_text("a.yml")
        repo.list_files("d")
    assert {f[0] for f in inner} == {"entry"}
    assert {f[0] for f in outer} == {"entry", "tree"}  # a folder listing is its tree id
    assert repo.replay_equal(outer)
    with repo.recording() as hist:
        repo.head()
    assert not repo.replay_equal(hist)  # history reads are never replayed
