"""The target file: validation errors name the key and file:line; paths never leave the repo."""
from __future__ import annotations

import pytest

from buildgate import target
from buildgate.errors import TargetError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("repo:\n  path: .\n  workflw: x.yml\n", "t.yml:3: repo: unknown key(s) workflw"),
        ("repo:\n  path: 3\n", "t.yml:2: repo.path: expected string, found int 3"),
        ("repo:\n  workflow: ../../etc/passwd\n", "t.yml:2: repo.workflow: '../../etc/passwd': path leaves the repository"),
        ("repo:\n  scripts:\n    local_build: /etc/x.sh\n", "t.yml:3: repo.scripts.local_build: '/etc/x.sh': absolute path"),
        ("images:\n  - name: ghcr.io/a/b\n    context: ../x\n", "t.yml:3: images[0].context: '../x': path leaves the repository"),
        ("images: []\n", "t.yml"),
        ("- a\n- b\n", "expected object"),
        ("registry:\n  mirrors: {ghcr.io: ftp://x}\n", "registry.mirrors.ghcr.io"),
        ("repo:\n  docs_scope: docs/*.md\n", "t.yml:2: repo.docs_scope: expected array, found str"),
        ("repo:\n  docs_scope:\n    - docs/*.md\n    - ''\n", "t.yml:4: repo.docs_scope.1:"),
        ("repo:\n  docs_scope:\n    - docs/*.md\n    - ../*.md\n", "t.yml:4: repo.docs_scope[1]: '../*.md': '..' leaves"),
        ("repo:\n  docs_scope: [/etc/*.md]\n", "t.yml:2: repo.docs_scope[0]: '/etc/*.md': absolute path"),
    ],
)
def test_invalid_target_files_are_one_line_errors_at_file_line(tmp_path, text, expected):
    path = tmp_path / "t.yml"
    path.write_text(text)
    with pytest.raises(TargetError) as exc:
        target.load(path)
    message = str(exc.value)
    assert "\n" not in message
    assert expected in message.replace(str(tmp_path) + "/", "")


def test_bad_files_are_target_errors(tmp_path):
    with pytest.raises(TargetError, match="target file not found"):
        target.load(tmp_path / "missing.yml")
    (tmp_path / "bin.yml").write_bytes(b"\x00\x01")
    with pytest.raises(TargetError, match="binary file"):
        target.load(tmp_path / "bin.yml")
    (tmp_path / "bad.yml").write_text("repo: [\n")
    with pytest.raises(TargetError, match="invalid YAML"):
        target.load(tmp_path / "bad.yml")


def test_defaults_are_the_real_targets_names(tmp_path):
    (tmp_path / "t.yml").write_text("repo: {path: ../repo}\n")
    t = target.load(tmp_path / "t.yml")
    assert t.repo_path == (tmp_path.parent / "repo").resolve()
    assert t.workflow == ".github/workflows/build-push.yml" and t.kustomization == "k8s/kustomization.yml"
    assert [i.name for i in t.images] == ["ghcr.io/ardenone/moltbook-api", "ghcr.io/ardenone/moltbook-frontend"]
    assert [i.context_path for i in t.images] == ["api", "moltbook-frontend"]


def test_docs_scope_globs(tmp_path):
    (tmp_path / "t.yml").write_text("repo:\n  docs_scope: ['docs/**/*.md', RUNBOOK.md]\n")
    assert target.load(tmp_path / "t.yml").docs_scope == ("docs/**/*.md", "RUNBOOK.md")
    assert target.Target().docs_scope == ()
