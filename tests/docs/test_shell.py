"""The shell reader behind S2 (and V4): commands, quoting, variables, gh workflow arguments."""
from __future__ import annotations

import pytest

from buildgate.scripts import gh_workflow_words, workflows_named_by
from buildgate.shell import REPO_ROOT, SCRIPT_DIR, UNRESOLVED, expand, parse_shell
from tests.docs.helpers import git_repo


def _named(text: str) -> list[tuple[str, int]]:
    sc = parse_shell(text)
    out = []
    for w in gh_workflow_words(sc):
        for v in expand(w.text, sc.variables):
            out.append((v, w.line))
    return out


@pytest.mark.parametrize(("script", "expected"), [
    ("gh workflow run build-push.yml\n", [("build-push.yml", 1)]),
    ("gh workflow run --ref main -f a=b build.yml\n", [("build.yml", 1)]),
    ("gh workflow run 'Build and push' --ref main\n", [("Build and push", 1)]),
    ("gh workflow view x.yml --yaml\n", [("x.yml", 1)]),
    ("gh run list --workflow=a.yml --limit 3\n", [("a.yml", 1)]),
    ("gh run list --workflow a.yml\n", [("a.yml", 1)]),
    ("gh run list -L 5 -w a.yml\n", [("a.yml", 1)]),
    ("gh api -X POST repos/o/r/actions/workflows/api.yml/dispatches -f ref=main\n", [("api.yml", 1)]),
    ("WORKFLOW=build-push.yml\n\ngh workflow run \"$WORKFLOW\"\n", [("build-push.yml", 3)]),
    ('W="${WORKFLOW:-dflt.yml}"\ngh workflow run "${W}"\n', [("dflt.yml", 2)]),
    ('gh workflow run "${1:-first.yml}"\n', [("first.yml", 1)]),
    ('if ! gh workflow run a.yml; then exit 1; fi\n', [("a.yml", 1)]),
    ('id="$(gh run list --workflow "$W" --json databaseId)"\nW=b.yml\n', [("b.yml", 1)]),
    ("run=`gh run list -w c.yml`\n", [("c.yml", 1)]),
    ("gh workflow run \\\n  --ref main \\\n  d.yml\n", [("d.yml", 3)]),  # the line of the name
    ("/usr/bin/gh workflow run e.yml\n", [("e.yml", 1)]),
    ("GH_TOKEN=x gh workflow run f.yml\n", [("f.yml", 1)]),
])
def test_gh_workflow_arguments(script, expected):
    assert _named(script) == expected


@pytest.mark.parametrize("script", [
    "echo 'gh workflow run a.yml'\n",  # a string, not a command
    'echo "then run: gh workflow run a.yml"\n',
    "# gh workflow run a.yml\n",  # a comment
    "cat <<EOF\ngh workflow run a.yml\nEOF\n",  # a here-document
    "gh run list --limit 5\n",  # no workflow named
    "gh run watch\n",
    "gh workflow list\n",
    "git push origin main\n",
])
def test_no_workflow_named(script):
    assert _named(script) == []


def test_unresolved_values_stay_marked():
    assert _named('gh workflow run "$1"\n') == [(UNRESOLVED, 1)]
    assert _named('W=$(pick)\ngh workflow run "$W"\n') == [(UNRESOLVED, 2)]
    assert expand("${x%%:*}", {"x": ["a:b"]}) == [UNRESOLVED]


def test_several_assignments_give_several_values():
    assert _named('W=a.yml\nif x; then W=b.yml; fi\ngh workflow run "$W"\n') == [("a.yml", 3), ("b.yml", 3)]


def test_self_reference_and_cycles_end():
    assert expand("$A", {"A": ["$B"], "B": ["$A"]}) == [UNRESOLVED]
    assert expand("${W:-z}", {"W": ["${W:-y}"]}) == ["y"]


def test_folder_idioms():
    sc = parse_shell('D="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"\nR=$(git rev-parse --show-toplevel)\n'
                     'S=$(dirname "$0")\n')
    assert expand("$D", sc.variables) == [SCRIPT_DIR + "/.."]
    assert expand("$R/x", sc.variables) == [REPO_ROOT + "/x"]
    assert expand("$S", sc.variables) == [SCRIPT_DIR]


def test_heredoc_and_comments_are_fragments():
    sc = parse_shell("a # note x.md\ncat <<-'END'\n\tbody y.md\n\tEND\nb\n")
    assert [(f.text.strip(), f.line) for f in sc.fragments] == [("note x.md", 1), ("body y.md", 3)]
    assert [[w.text for w in c] for c in sc.commands] == [["a"], ["cat"], ["b"]]


@pytest.mark.parametrize("garbage", ["'unterminated\n", '"also $(unterminated\n', "${x\n", "a\x00b", "$((1+\n"])
def test_garbage_never_crashes(garbage):
    parse_shell(garbage)


def test_workflows_named_by_reads_the_repository(tmp_path):
    repo = git_repo(tmp_path / "r", {"scripts/t.sh": "#!/bin/bash\nwf=build-push.yml\ngh workflow run \"$wf\" --ref main\n"})
    assert workflows_named_by(repo, "scripts/t.sh") == [("build-push.yml", 3)]
    # an unresolved value is returned as written
    repo2 = git_repo(tmp_path / "r2", {"t.sh": 'gh workflow run "$1"\n'})
    assert workflows_named_by(repo2, "t.sh") == [("$1", 1)]


def test_deep_nesting_is_an_input_error_not_a_crash():
    from buildgate.errors import InputError
    deep = "x=" + "$(" * 500 + "echo" + ")" * 500 + "\n"
    with pytest.raises(InputError, match="nested more than"):
        parse_shell(deep, "s.sh")
    cds = 'D="' + '$(cd "' * 300 + '/x' + '" && pwd)' * 300 + '"\n'
    with pytest.raises(InputError, match="nested more than"):
        parse_shell(cds, "s.sh")
