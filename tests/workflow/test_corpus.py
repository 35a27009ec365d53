"""The workflow corpus, table-driven: every criterion W1–W12 on every pattern gives the verdict
its file's header expects, an error names the unknown it depends on (and where), and no
workflow, however mangled, ends in a traceback."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from buildgate.workflow.model import _WF_CACHE
from tests.workflow.corpus import CRITERIA, WORKFLOW, load_cases, make_repo, verdicts

CASES = load_cases()


def test_the_corpus_is_complete() -> None:
    assert len(CASES) >= 40
    for case in CASES:
        assert case.pattern, f"{case.name}: no pattern line"
        assert case.images, f"{case.name}: no images line"
        assert set(case.expect) == set(CRITERIA), f"{case.name}: expectations for {sorted(set(CRITERIA) ^ set(case.expect))}"
        assert all(reason for _v, reason in case.expect.values()), f"{case.name}: a verdict without its reason"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_case(case, tmp_path: Path) -> None:
    repo, target = make_repo(case, tmp_path / case.name)
    got = verdicts(repo, target)
    wrong = {cid: (case.expect[cid][0], got[cid][0], got[cid][1]) for cid in CRITERIA if got[cid][0] != case.expect[cid][0]}
    assert not wrong, wrong
    for cid in CRITERIA:
        verdict, message = got[cid]
        assert "\n" not in message, (cid, message)
        if verdict == "error":
            for name in case.names(cid):
                assert name in message, (cid, name, message)
            assert ".yml" in message or ".hcl" in message or ".json" in message, (cid, message)


def _mangle(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    op = rng.randrange(7)
    i = rng.randrange(len(lines))
    if op == 0:  # drop a line
        del lines[i]
    elif op == 1:  # shift its indentation
        lines[i] = " " * rng.choice((1, 3, 5)) + lines[i]
    elif op == 2:  # break an expression
        lines[i] = lines[i].replace("}}", "}", 1).replace("${{", "${{ (", 1)
    elif op == 3:  # cut the file short
        lines = lines[:i]
    elif op == 4:  # a value of the wrong type
        if ":" in lines[i]:
            key = lines[i].split(":", 1)[0]
            lines[i] = f"{key}: [1, {{a: b}}, null]"
    elif op == 5:  # duplicate a line
        lines.insert(i, lines[i])
    else:  # swap two lines
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(6))
def test_mangled_workflows_always_get_a_verdict(seed: int, tmp_path: Path) -> None:
    """Any workflow file gets a verdict (pass, fail or error) for every W criterion, never a
    traceback: the corpus, each file mangled a few ways."""
    rng = random.Random(seed)
    for case in rng.sample(CASES, 7):
        text = case.path.read_text()
        for _ in range(rng.randrange(1, 4)):
            text = _mangle(text, rng)
        repo, target = make_repo(case, tmp_path / case.name)
        (repo.root / WORKFLOW).write_text(text)
        _WF_CACHE.clear()
        got = verdicts(repo, target)
        assert set(got) == set(CRITERIA)
        for cid, (verdict, message) in got.items():
            assert verdict in ("pass", "fail", "error"), (case.name, cid, verdict, message)
            assert "\n" not in message and "Traceback" not in message
