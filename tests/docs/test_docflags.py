"""D3's second part: docs show only options the helper scripts accept."""
from __future__ import annotations

import pytest

from buildgate.docs.options import d3_docs_show_accepted_options, invocations, option_parser
from buildgate.repo import Repo
from pytest_buildgate.fixtures.sandbox_repo import TEMPLATE, make_sandbox_repo
from tests.helpers import run_features

DOC = (TEMPLATE / "DOCKER_BUILD.md").read_text()
SCRIPT = (TEMPLATE / "scripts/build-images.sh").read_text()


def test_reads_a_case_loop_and_whether_unknown_options_are_rejected():
    p = option_parser(SCRIPT, "scripts/build-images.sh")
    assert p.options == {"--push", "--tag", "-h", "--help"} and p.rejects_unknown
    assert "--tag" in p.takes_value and p.line > 1
    lenient = 'for a; do\n  case "$a" in\n    --push) push=1 ;;\n    *) rest+=("$a") ;;\n  esac\ndone\n'
    p = option_parser(lenient, "x.sh")
    assert p.options == {"--push"} and not p.rejects_unknown and p.accepts("--anything")


def test_reads_getopts_and_scripts_without_a_parser():
    p = option_parser('while getopts ":ht:" o; do :; done\n', "g.sh")
    assert p.options == {"-h", "-t"} and p.takes_value == {"-t"} and p.rejects_unknown
    assert option_parser('gh workflow run x.yml --ref "${1:-main}"\n', "t.sh") is None


def test_finds_invocations_in_code_spans_and_fences_with_lines():
    text = "Run `./scripts/b.sh --push` or:\n\n```bash\nexport X=1 && scripts/b.sh --tag v1 # comment --nope\n```\n"
    got = [(i.line, i.options) for i in invocations("D.md", text, ["scripts/b.sh"])]
    assert got == [(1, ("--push",)), (4, ("--tag",))]


def test_sandbox_passes_and_a_rejected_option_fails_with_file_line(tmp_path):
    good = make_sandbox_repo(tmp_path / "good")
    t = good.target
    assert d3_docs_show_accepted_options(Repo(good.path), [t.docs, t.readme], t.scripts.values()).ok
    doc = DOC.replace("scripts/build-images.sh --tag my-test", "scripts/build-images.sh --platform linux/arm64")
    bad = make_sandbox_repo(tmp_path / "bad", files={"DOCKER_BUILD.md": doc})
    r = d3_docs_show_accepted_options(Repo(bad.path), [t.docs, t.readme], t.scripts.values())
    line = next(n for n, ln in enumerate(doc.splitlines(), 1) if "--platform" in ln)
    assert not r.ok
    assert r.message == (
        "expected options scripts/build-images.sh accepts (--help, --push, --tag, -h; scripts/build-images.sh:16); "
        f"found the docs show `scripts/build-images.sh --platform linux/arm64` with --platform (at DOCKER_BUILD.md:{line})"
    )


@pytest.mark.parametrize("unreadable", [b"\x00\x01", None])
def test_unreadable_scripts_are_not_checked_and_say_so(tmp_path, unreadable):
    files = {"scripts/build-images.sh": None} if unreadable is None else {}
    sb = make_sandbox_repo(tmp_path / "r", files=files)
    if unreadable is not None:
        (sb.path / "scripts/build-images.sh").write_bytes(unreadable)
    t = sb.target
    r = d3_docs_show_accepted_options(Repo(sb.path), [t.docs, t.readme], t.scripts.values())
    assert r.ok and any("scripts/build-images.sh: not read" in e for e in r.evidence)


def test_end_to_end_only_d3_fails(tmp_path):
    doc = DOC.replace("scripts/build-images.sh --push", "scripts/build-images.sh --push --platform arm64")
    bad = make_sandbox_repo(tmp_path / "r", files={"DOCKER_BUILD.md": doc})
    _, report = run_features("-m", "repo", "--repo", str(bad.path))
    failing = {cid for cid, c in report["criteria"].items() if c["verdict"] != "pass" and c["scenarios"]}
    assert failing == {"D3"}
    assert "--platform" in report["criteria"]["D3"]["message"]


def test_reads_the_parser_through_the_shell_reader():
    """Comments are no code, arms may be quoted or parenthesised, and a `*)` arm that calls a
    usage function rejects; a case over a command's output is no option parser."""
    text = ('#!/bin/sh\n# case "$1" in --old) ;; esac\nmode=$(uname)\ncase "$mode" in Linux) ;; esac\n'
            'while [ $# -gt 0 ]; do\n  case $1 in\n    ("--platform"|-p) PLATFORM=$2; shift ;;\n'
            "    '--no-cache') NOCACHE=1 ;;\n    *)\n      usage\n      ;;\n  esac\n  shift\ndone\n")
    p = option_parser(text, "b.sh")
    assert (p.options, p.rejects_unknown, p.line, p.takes_value) == (
        {"--platform", "-p", "--no-cache"}, True, 6, {"--platform", "-p"})
    lenient = 'case "$1" in\n  --x) x=1 ;;\n  *) echo "ignoring $1" ;;\nesac\n'
    assert not option_parser(lenient, "l.sh").rejects_unknown


def test_docs_command_lines_are_read_with_the_shell_reader():
    text = ("```sh\n(cd app && ../scripts/b.sh --a) | tee log\n"
            "sudo scripts/b.sh \"--tag=v2\" 'unterminated\n"
            "FOO=1 ./scripts/b.sh --push > out.log 2>&1 # --not-shown\n```\n")
    got = [(i.line, i.script, i.options) for i in invocations("D.md", text, ["scripts/b.sh", "../scripts/b.sh"])]
    assert got == [(2, "../scripts/b.sh", ("--a",)), (3, "scripts/b.sh", ("--tag=v2",)), (4, "scripts/b.sh", ("--push",))]
