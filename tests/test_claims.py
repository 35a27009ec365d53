"""Claim audit: extraction, mapping, judgement, the claim checks, hostile documents, and end to end."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from buildgate import claims
from buildgate.claims import checks as claim_checks
from buildgate.claims import judging as judge_mod
from buildgate.claims.render import claim_line
from buildgate.context import Context
from buildgate.errors import CannotDecide, InputError
from buildgate.reports import markdown
from buildgate.result import CheckResult
from buildgate.verdict import Verdict
from pytest_buildgate.fixtures.sandbox_repo import TEMPLATE, make_sandbox_repo
from tests.helpers import ROOT, run_features, run_pytest

SEED = ROOT.parent / "shared" / "seed" / "resolution-mo-3t8p.md"
EXAMPLE = ROOT / "fixtures" / "sandbox" / "resolution.md"
WORKFLOW = ".github/workflows/build-push.yml"

DOC = """# Done
**Status:** ✅ **RESOLVED** - Solution implemented
**Task ID:** x-1
**Resolution Date:** 2026-01-01
**File:** `ci/build.yml`

## Features
- Builds both images
- [x] GitHub Actions cache for faster builds
- [ ] Multi-arch images

**Images:**
- `ghcr.io/org/app:latest`

## Notes
A prose line with no path is not a claim.
See `docs/guide.md` and ![flow](img/flow.png), or [the guide](docs/other.md).

1. **GitHub Actions automatically**:
   - Pushes to GHCR
2. Run it by hand:
   ```bash
   # Trigger it
   gh workflow run build.yml --ref main && echo started
   FOO=1 ./scripts/x.sh --fast
   docker build -f api/Dockerfile -t ghcr.io/org/app:dev .
   ```

```
tree:
├── not a command
gh run list --workflow build.yml
```

```yaml
on: push
```

```console
$ bash scripts/y.sh -v
output line
```

| thing | state |
|---|---|
| `README.md` | ✅ |
| other | ❌ |

### Option 1 (IMPLEMENTED ✅)
✅ GitHub Actions cache for faster builds
"""


def test_every_kind_of_checkable_statement_is_extracted_with_its_line():
    got = [(c.line, c.kind, c.text) for c in claims.extract_claims(DOC)]
    assert got == [
        (2, "check", "Status: RESOLVED - Solution implemented"),
        (5, "field", "File: ci/build.yml"),                      # Task ID and Resolution Date are metadata
        (8, "item", "Builds both images"),
        (9, "check", "GitHub Actions cache for faster builds"),  # a checked task; its ✅ twin at line 50 is a duplicate
        (13, "item", "ghcr.io/org/app:latest"),                  # "**Images:**" only labels its list; [ ] claims nothing
        (17, "mention", "See docs/guide.md and ![flow](img/flow.png), or [the guide](docs/other.md)."),
        (20, "item", "Pushes to GHCR"),                           # its lead-in item is not a claim
        (21, "item", "Run it by hand"),
        (24, "command", "gh workflow run build.yml --ref main && echo started"),
        (25, "command", "FOO=1 ./scripts/x.sh --fast"),
        (26, "command", "docker build -f api/Dockerfile -t ghcr.io/org/app:dev ."),
        (32, "command", "gh run list --workflow build.yml"),      # an untagged fence: only what buildgate checks
        (40, "command", "bash scripts/y.sh -v"),                  # console: prompt lines only; yaml: none
        (46, "check", "README.md"),                                # a table row holding ✅
        (49, "check", "Option 1 (IMPLEMENTED)"),                   # a heading holding ✅
    ]


def test_what_each_claim_names():
    by_line = {c.line: c for c in claims.extract_claims(DOC)}
    assert by_line[5].paths == ["ci/build.yml"]
    assert by_line[13].images == ["ghcr.io/org/app:latest"] and by_line[13].paths == []
    assert by_line[17].paths == ["docs/guide.md", "img/flow.png", "docs/other.md"]
    assert by_line[24].commands == ["gh workflow run build.yml --ref main", "echo started"]
    assert by_line[25].paths == ["scripts/x.sh"] and by_line[40].paths == ["scripts/y.sh"]
    assert by_line[26].paths == ["api/Dockerfile"] and by_line[26].images == []
    assert by_line[20].context == "Done › Notes › GitHub Actions automatically"
    assert by_line[13].context == "Done › Features › Images"
    assert by_line[24].context == "Done › Notes › Run it by hand › Trigger it"
    assert claims.subject_checks(by_line[24]) == [
        "workflow exists: build.yml", "workflow dispatchable: build.yml",
        "options accepted: gh workflow run build.yml --ref main"]
    assert claims.subject_checks(by_line[32]) == ["workflow exists: build.yml", "options accepted: gh run list --workflow build.yml"]
    assert claims.subject_checks(by_line[25]) == ["file exists: scripts/x.sh", "options accepted: FOO=1 ./scripts/x.sh --fast"]


@pytest.mark.skipif(not SEED.exists(), reason=f"the seed resolution document is not beside the project ({SEED})")
def test_the_seed_document_yields_every_statement_and_maps_it():
    cl = {c.line: c for c in claims.claims_of(SEED)}
    assert len(cl) == 60
    kinds = [c.kind for c in cl.values()]
    # 22 ✅ lines (the 22 claims read before), 27 list items and steps, Title/Problem/File x2, 6 commands, 1 mention
    assert {k: kinds.count(k) for k in set(kinds)} == {"check": 22, "item": 27, "field": 4, "command": 6, "mention": 1}
    assert cl[123].checks == ["W1", "W2", "file exists: .github/workflows/build-push.yml"]
    assert cl[127].checks == ["W9.retry"]
    assert cl[36].checks == ["W1b", "W4"]                      # builds, not duplicates (W12)
    assert cl[82].checks == ["K7", "K6", "K5"]
    assert "K7" in cl[39].checks and cl[39].checks[0] == "W10"
    assert cl[55].checks == ["doc covers: devpod_trigger"]
    assert cl[88].checks == ["workflow exists: build-push.yml", "workflow dispatchable: build-push.yml",
                             "options accepted: gh workflow run build-push.yml"]
    assert cl[9].summary and cl[157].summary and cl[151].summary
    assert [line for line, c in cl.items() if not c.checks and not c.summary] == [74, 75, 76, 106, 107, 110, 111, 114, 115]


# -- judging -----------------------------------------------------------------------------------
def _claim(text: str, line: int, checks: list[str], summary: bool = False) -> claims.Claim:
    return claims.Claim(text, line, checks=checks, summary=summary)


def test_judgement_names_the_deciding_check_and_its_evidence():
    outcomes = {
        "W7": CheckResult.passed("cache ok", ["wf.yml:12: cache-from type=gha"]),
        "W9.retry": CheckResult.passed("retry loop", ["wf.yml:130: for attempt in 1 2 3"]),
        "W10": CheckResult.failed("a pushed tag", "885f407", "wf.yml:120", ["wf.yml:120: kustomize edit"]),
        "file exists: x.md": CheckResult.failed("x.md in the repository", "no such file or folder"),
        "G1": claims.Finding(Verdict.NOT_CHECKED, "not checked in this run"),
        "V3.stops": claims.Finding(Verdict.SKIPPED, "no devpod"),
    }
    asked: list[str] = []

    def run_part(key):
        asked.append(key)
        if key == "W8":
            raise CannotDecide("an expression it can't evaluate", "wf.yml:40")
        return outcomes[key]

    cl = [_claim("cache", 1, ["W7"]), _claim("updates", 2, ["W9.retry", "W10", "file exists: x.md"]),
          _claim("sbom", 3, ["W8", "G1"]), _claim("no check", 4, []), _claim("warn", 5, ["W7", "V3.stops"]),
          _claim("RESOLVED", 6, [], summary=True), _claim("cache again", 7, ["W7"])]
    section = claims.judge(cl, run_part)
    got = {c["line"]: (c["status"], c["check"]) for c in section["claims"]}
    assert got == {1: ("verified", "W7"), 2: ("contradicted", "W10"), 3: ("unverifiable", "W8"),
                   4: ("unverifiable", None), 5: ("unverifiable", "V3.stops"), 6: ("contradicted", "the other claims"),
                   7: ("verified", "W7")}
    assert asked.count("W7") == 1                       # each key decided once per judgement
    c2 = section["claims"][1]
    assert c2["reason"].startswith("W10 fails: expected a pushed tag; found 885f407 (at wf.yml:120); file exists: x.md fails")
    assert c2["where"] == ["wf.yml:120"] and c2["evidence"] == ["wf.yml:120: kustomize edit"]
    assert [c["verdict"] for c in c2["checks"]] == ["pass", "fail", "fail"]
    assert section["claims"][2]["reason"] == ("nothing disproves it, but W8 error (cannot decide: wf.yml:40: an "
                                              "expression it can't evaluate), G1 not checked")
    assert section["claims"][3]["reason"].startswith("unverifiable (no check)")
    assert section["claims"][4]["reason"] == "nothing disproves it (W7 pass), but V3.stops skipped"
    assert section["claims"][0]["where"] == ["wf.yml:12"]
    assert section["summary"] == "claims: 2 verified, 2 contradicted, 3 unverifiable (1 with no check) (of 7)"


def _report_criteria(**verdicts: str) -> dict:
    return {cid: {"verdict": v, "message": f"{cid} {v} msg", "evidence": [f"{cid} evidence"]} for cid, v in verdicts.items()}


def test_the_runner_runs_repository_parts_and_takes_the_rest_from_the_run(monkeypatch):
    ran: list[str] = []
    monkeypatch.setattr(judge_mod, "run_criterion", lambda key, ctx: ran.append(key) or CheckResult.passed(f"{key} ok"))
    monkeypatch.setattr(judge_mod, "run_claim_check", lambda key, ctx: ran.append(key) or CheckResult.passed(f"{key} ok"))
    criteria = _report_criteria(D3="fail", W1="pass", V3="fail", V4="pass", K7="not checked")
    runner = claims.Runner(object(), lambda cid: claims.Finding.from_report(criteria.get(cid)))
    f = {k: claims.Finding.of(runner(k)) for k in
         ("D3.paths", "W1", "V3.stops", "V4.asks", "W9.retry_part", "K7", "file exists: a.md", "G1")}
    assert ran == ["D3.paths", "file exists: a.md"]      # a repository part runs (D3 failed for any part)
    assert f["D3.paths"].verdict == Verdict.PASS
    assert (f["W1"].verdict, f["W1"].evidence) == (Verdict.PASS, ["W1 evidence"])
    # another layer's part: the criterion's pass is the part's; its failure may be another part's
    assert f["V3.stops"].verdict == Verdict.ERROR and "whether V3.stops holds can't be told" in f["V3.stops"].message
    assert f["V4.asks"].verdict == Verdict.PASS and "judged by V4 as a whole" in f["V4.asks"].note
    assert f["G1"].verdict == Verdict.NOT_CHECKED
    assert f["K7"].verdict == Verdict.NOT_CHECKED      # not checked in this run: stays so


def test_a_part_the_registry_does_not_hold_is_judged_by_its_criterion_soundly():
    runner = claims.Runner(object(), lambda cid: claims.Finding.from_report(_report_criteria(W9="fail", W7="pass").get(cid)))
    failing, passing = claims.Finding.of(runner("W9.no such part")), claims.Finding.of(runner("W7.no such part"))
    assert failing.verdict == Verdict.ERROR and "W9 has no part 'no such part'" in failing.message
    assert passing.verdict == Verdict.PASS and "judged by W7 as a whole" in passing.note


def test_gh_runs_for_a_bounded_number_of_commands(monkeypatch):
    monkeypatch.setattr(claim_checks, "MAX_GH_CALLS", 2)
    monkeypatch.setattr(judge_mod, "MAX_GH_CALLS", 2)
    monkeypatch.setattr(judge_mod, "run_claim_check", lambda key, ctx: CheckResult.passed("ok"))
    runner = claims.Runner(object(), lambda cid: claims.Finding.from_report(None))
    got = [claims.Finding.of(runner(f"options accepted: gh run view {i}")).verdict for i in range(3)]
    assert got == [Verdict.PASS, Verdict.PASS, Verdict.ERROR]


# -- mappings ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "problem", "line"),
    [
        ("rules: [{pattern: 'x'}]", "needs `pattern` and `checks`", 1),
        ("rules:\n  - pattern: '('\n    checks: [W1]\n", "invalid pattern", 2),
        ("rules:\n  - pattern: 'x'\n    within: '(?=a)'\n    checks: [W1]\n", "invalid pattern", 2),
        ("rules:\n  - pattern: 'x'\n    checks: [Z1]\n", "unknown check 'Z1'", 2),
        ("rules:\n  - pattern: 'x'\n    checks: [file exist]\n", "unknown check 'file exist'", 2),
        ("rules:\n  - pattern: 'x'\n    checks: [doc covers: nothing]\n", "`doc covers` needs one of the topics", 2),
        ("rules:\n  - pattern: 'x'\n    checks: []\n", "checks must be `summary` or a list", 2),
        ("rules:\n  - pattern: 'x'\n    checks: [W1]\n    why: y\n", "unknown rule key 'why'", 2),
        ("rule: []\nrules: []\n", "unknown key 'rule' (expected `rules`, `extends`)", 1),
        ("extends: 3\nrules: []\n", "`extends:` must be a file path", 1),
        ("rules: []\nextend: x.yml\n", "unknown key 'extend'", 2),
        ("rules: {a: b}", "`rules:` list", None),
        ("rules: [", "invalid YAML", None),
    ],
)
def test_bad_mapping_files_are_one_line_input_errors(tmp_path, content, problem, line):
    bad = tmp_path / "map.yml"
    bad.write_text(content)
    with pytest.raises(InputError) as exc:
        claims.load_mapping(bad)
    assert problem in str(exc.value), str(exc.value)
    assert str(exc.value).startswith(f"{bad}:{line}: " if line else str(bad)), str(exc.value)
    assert "\n" not in str(exc.value)


def test_a_pattern_that_could_backtrack_forever_is_refused_with_its_line(tmp_path):
    mapping = tmp_path / "map.yml"
    mapping.write_text("rules:\n  - pattern: 'ok'\n    checks: [W1]\n  - pattern: '(a+)\\1'\n    checks: [W2]\n")
    with pytest.raises(InputError, match=rf"{mapping}:4: invalid pattern \(RE2 syntax"):
        claims.load_mapping(mapping)


def test_a_task_map_sits_on_top_of_the_default_one(tmp_path):
    base = tmp_path / "base.yml"
    base.write_text("rules:\n  - pattern: 'cache'\n    checks: [W7]\n  - pattern: 'retry'\n    checks: [W9]\n")
    top = tmp_path / "top.yml"
    top.write_text("extends: base.yml\nrules:\n  - pattern: 'retry'\n    criteria: [W9.retry, 'file exists: x']\n"
                   "  - pattern: 'docs'\n    within: 'documentation'\n    checks: [{doc covers: troubleshooting}]\n")
    mapping = claims.load_mapping(top)
    assert mapping.files == [str(top), str(tmp_path / "base.yml")]
    cl = claims.map_claims([claims.Claim("retry on push", 1), claims.Claim("cache", 2), claims.Claim("docs", 3),
                            claims.Claim("docs", 4, context="Documentation"), claims.Claim("nothing", 5)], mapping)
    assert [c.checks for c in cl] == [["W9.retry", "file exists: x"], ["W7"], [], ["doc covers: troubleshooting"], []]
    loop = tmp_path / "loop.yml"
    loop.write_text("extends: loop.yml\nrules: []\n")
    with pytest.raises(InputError, match="loops back"):
        claims.load_mapping(loop)


def test_the_shipped_maps_load_and_every_rule_matches_a_claim_of_its_own():
    mapping = claims.load_mapping()
    assert [Path(f).name for f in mapping.files] == ["claims-mo-3t8p.yml", "claims-default.yml"]
    for note in mapping.notes:   # parts other branches are adding; judged soundly until they land
        assert " has no part " in note and "W9" in note


# -- the claim checks, on the sandbox ----------------------------------------------------------
@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    return make_sandbox_repo(tmp_path_factory.mktemp("claims") / "moltbook-org")


def _ctx(sandbox) -> Context:
    return Context(sandbox.target, sandbox.target.repo())


def _run(key: str, sandbox) -> CheckResult:
    return claims.run_claim_check(key, _ctx(sandbox))


def test_file_and_workflow_checks(sandbox):
    assert _run("file exists: DOCKER_BUILD.md", sandbox).ok
    assert _run("file exists: api/", sandbox).evidence == ["api/: a folder of the repository"]
    assert _run("file exists: ../../etc/passwd", sandbox).message == (
        "expected ../../etc/passwd in the repository; found no such file or folder")
    for name in ("build-push.yml", "Build and push images", WORKFLOW):
        assert _run(f"workflow exists: {name}", sandbox).ok, name
    missing = _run("workflow exists: docker-build.yml", sandbox)
    assert not missing.ok and "holds build-push.yml" in missing.message
    with pytest.raises(CannotDecide, match="ids can't be mapped"):
        _run("workflow exists: 12345", sandbox)
    assert _run("workflow dispatchable: build-push.yml", sandbox).evidence == [f"{WORKFLOW}:19: on: workflow_dispatch"]
    assert _run("workflow dispatchable", sandbox).ok            # no subject: the fix's workflow


def test_a_workflow_without_workflow_dispatch_is_not_dispatchable(tmp_path):
    wf = (TEMPLATE / WORKFLOW).read_text().replace("  workflow_dispatch:\n", "")
    repo = make_sandbox_repo(tmp_path / "r", files={WORKFLOW: wf})
    result = _run("workflow dispatchable: build-push.yml", repo)
    assert not result.ok and result.message.endswith(f"found only push, pull_request (at {WORKFLOW}:6)")


@pytest.mark.skipif(not __import__("shutil").which("gh"), reason="the real gh is not installed (apt install gh)")
def test_gh_commands_are_validated_by_the_real_gh_offline(sandbox):
    assert _run("options accepted: gh workflow run build-push.yml --ref main", sandbox).ok
    rejected = _run("options accepted: gh workflow run build-push.yml --jq .id", sandbox)
    assert not rejected.ok and "unknown flag: --jq" in rejected.message
    watch = _run("options accepted: gh run watch", sandbox)
    assert watch.ok and "in a terminal" in watch.message


def test_script_commands_use_the_options_the_script_accepts(sandbox):
    assert _run("options accepted: scripts/build-images.sh --push --tag x", sandbox).ok
    rejected = _run("options accepted: bash scripts/build-images.sh --platform linux/arm64", sandbox)
    assert not rejected.ok and rejected.message.startswith("expected options scripts/build-images.sh accepts (--help, "
                                                           "--push, --tag, -h); found `bash scripts/build-images.sh "
                                                           "--platform linux/arm64` passes --platform")
    assert _run("options accepted: ./scripts/check-build-status.sh 3", sandbox).ok
    with pytest.raises(CannotDecide, match="no visible option parser"):
        _run("options accepted: ./scripts/check-build-status.sh --all", sandbox)
    with pytest.raises(CannotDecide, match="not of git"):
        _run("options accepted: git push origin main", sandbox)


def test_image_script_and_doc_checks(sandbox):
    assert _run("image pushed: ghcr.io/ardenone/moltbook-api:latest", sandbox).ok
    assert _run("image pushed: ghcr.io/ardenone/moltbook-frontend", sandbox).ok
    wrong_tag = _run("image pushed: ghcr.io/ardenone/moltbook-api:v1", sandbox)
    assert not wrong_tag.ok and "with tags main, " in wrong_tag.message
    assert "no workflow under .github/workflows/ builds ghcr.io/other/app" in _run(
        "image pushed: ghcr.io/other/app:latest", sandbox).message
    assert _run("script sound: scripts/build-images.sh", sandbox).ok
    assert _run("script workflow: scripts/check-build-status.sh", sandbox).ok
    assert not _run("script workflow: scripts/build-images.sh", sandbox).ok     # it names no workflow
    assert _run("doc covers: devpod_trigger", sandbox).ok


# -- hostile documents ---------------------------------------------------------------------------
def test_a_command_in_a_document_is_never_executed(tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    evil = f"#!/bin/sh\ntouch {marker}-script\n"
    repo = make_sandbox_repo(tmp_path / "r", files={"scripts/evil.sh": evil}, modes={"scripts/evil.sh": 0o755})
    doc = tmp_path / "doc.md"
    doc.write_text(f"```bash\ntouch {marker}-touch\n./scripts/evil.sh --x\n"
                   f"gh workflow run \"$(touch {marker}-subst)\" `touch {marker}-tick`\ngh run view 1 --log\n```\n"
                   f"- run `gh api repos/x/y -X DELETE` then `./scripts/evil.sh`\n")
    from buildgate.devpod import gh as gh_mod

    calls = []
    real_run = gh_mod.subprocess.run

    def recording(argv, **kw):
        calls.append((list(argv), dict(kw.get("env") or {})))
        return real_run(argv, **kw)

    monkeypatch.setattr(gh_mod.subprocess, "run", recording)
    ctx = Context(repo.target, repo.target.repo())
    section = claims.judge(claims.claims_of(doc), claims.Runner(ctx, lambda cid: claims.Finding.from_report(None)))
    assert len(section["claims"]) == 5
    assert not list(tmp_path.glob("ran*")), "a command of the document ran"
    gh_calls = [(argv, env) for argv, env in calls if any(Path(a).name == "gh" for a in argv[:4]) and "--version" not in argv]
    assert gh_calls, "gh validated nothing"
    for argv, env in gh_calls:   # only ever against the closed loopback port, with a dummy token
        assert env["GH_HOST"] == "127.0.0.1:9" and env["GH_TOKEN"] == "buildgate-dummy" and env["HTTPS_PROXY"] == "http://127.0.0.1:9"
        assert "-R" not in argv or argv[argv.index("-R") + 1] == "127.0.0.1:9/owner/repo"


def test_hostile_documents_are_read_in_bounded_time(tmp_path):
    """2 MiB of what makes Markdown parsers and backtracking patterns slow: linear time."""
    n = claims.MAX_DOC_BYTES - 64
    cases = {
        "brackets": "[" * n, "emphasis": "*a" * (n // 2), "links": "[a](" * (n // 4),
        "words": "- [x] " + "resolved complete " * (n // 18), "heading": "# " + " " * (n - 4) + "x",
        "fence": "```bash\n" + "$(" * (n // 2 - 8) + "\n```\n",
    }
    for name, text in cases.items():
        doc = tmp_path / f"{name}.md"
        doc.write_text(text)
        started = time.monotonic()
        found = claims.claims_of(doc)
        took = time.monotonic() - started
        assert took < 20, (name, took)
        assert all(len(c.text) <= 2000 for c in found), name


def test_a_document_with_too_many_claims_is_refused_with_its_line(tmp_path):
    doc = tmp_path / "many.md"
    doc.write_text("".join(f"- claim number {i}\n" for i in range(claims.MAX_CLAIMS + 5)))
    with pytest.raises(InputError, match=rf"{doc}:{claims.MAX_CLAIMS + 1}: the document holds more than 2000 claims"):
        claims.claims_of(doc)


def test_an_oversized_claims_document_is_refused_up_front_in_one_line(tmp_path):
    doc = tmp_path / "huge.md"
    doc.write_bytes(b"x" * (claims.MAX_DOC_BYTES + 1))
    code, report, out = run_pytest("features/", "-m", "W1", "--claims", str(doc))
    assert code == 4 and report is None, out
    assert f"buildgate: --claims: {doc}: claims document is {claims.MAX_DOC_BYTES + 1} bytes" in out
    assert "Traceback" not in out


def test_claim_text_never_injects_markdown_html_or_terminal_escapes(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("- ✅ <img src=x onerror=alert(1)> | **Gate:** open \x1b[31mred\x1b[0m\n"
                   "- `x.md` </td></tr> <script>alert(1)</script>\n")
    section = claims.judge(claims.claims_of(doc), lambda key: CheckResult.passed("ok", ["a|b <b>"]))
    text = "\n".join(markdown.claims_section(section))
    assert "<img" not in text and "<script" not in text and "</td>" not in text
    assert "&lt;img src=x onerror=alert(1)&gt; \\| Gate: open" in text
    assert not any(line.startswith(("**Gate", "<")) for line in text.splitlines())
    assert all("\x1b" not in claim_line(c) for c in section["claims"])
    assert "?[31mred?[0m" in claim_line(section["claims"][0])


# -- end to end --------------------------------------------------------------------------------
def _audit(repo: Path) -> dict:
    code, report = run_features("-m", "repo", "--repo", str(repo), "--claims", str(EXAMPLE))
    return report["claims"]


def test_sandbox_claims_audit_and_a_mutant_with_exactly_three_false_claims(tmp_path):
    good = make_sandbox_repo(tmp_path / "good")
    audit = _audit(good.path)
    repo_only = {c["text"]: c["status"] for c in audit["claims"]}
    assert "contradicted" not in repo_only.values()
    assert repo_only["GitHub Actions cache for faster builds"] == "verified"
    assert repo_only["File: .github/workflows/build-push.yml"] == "verified"

    workflow = (TEMPLATE / WORKFLOW).read_text()
    broken = workflow.replace("          cache-from: type=gha,scope=api\n", "").replace(
        "          cache-to: type=gha,mode=max,scope=api\n", "").replace("sbom: true", "sbom: false")
    readme = "# Moltbook\n\nImages are built by GitHub Actions.\n"
    bad = make_sandbox_repo(tmp_path / "bad", files={WORKFLOW: broken, "README.md": readme})
    audit = _audit(bad.path)
    contradicted = sorted(c["text"] for c in audit["claims"] if c["status"] == "contradicted" and not c["summary"])
    assert contradicted == [
        "GitHub Actions cache for faster builds",
        "README.md - References DOCKER_BUILD.md",
        "SBOM and provenance generation for security",
    ]
    by_text = {c["text"]: c for c in audit["claims"]}
    assert by_text["GitHub Actions cache for faster builds"]["check"] == "W7"
    assert by_text["README.md - References DOCKER_BUILD.md"]["check"] == "D2"
    assert by_text["SBOM and provenance generation for security"]["check"] == "W8"
    assert by_text["Status: RESOLVED - Solution implemented"]["status"] == "contradicted"


def test_the_embedded_sandbox_is_audited_under_xdist(tmp_path):
    """No --repo: the controller has no sandbox fixture of its own; it builds the same repository."""
    md = tmp_path / "audit.md"
    code, report, out = run_pytest("features/", "-m", "W1", "-n", "2", "--claims", str(EXAMPLE),
                                   "--buildgate-markdown", str(md))
    assert code == 0, out
    by_line = {c["line"]: c for c in report["claims"]["claims"]}
    assert by_line[14]["status"] == "verified" and by_line[14]["check"] == "file exists: .github/workflows/build-push.yml", \
        by_line[14]
    assert by_line[43]["status"] == "verified", by_line[43]   # script sound: the script, in git, passes S1
    assert by_line[31]["status"] == "unverifiable" and "W2 not checked" in by_line[31]["reason"], by_line[31]
    assert "VERIFIED      line 14: File: .github/workflows/build-push.yml" in out, out
    assert "| 14 | File: .github/workflows/build-push.yml | ✅ verified |" in md.read_text()


def test_the_sandbox_is_the_same_repository_wherever_it_is_built(tmp_path):
    """The claim audit of an embedded-sandbox run reads a copy the controller builds: the same commits."""
    a, b = make_sandbox_repo(tmp_path / "a"), make_sandbox_repo(tmp_path / "b")
    assert a.head == b.head and a.built_commit == b.built_commit
