"""Broken sandbox targets: each fails its D/S criterion with a useful message, others still pass."""
from __future__ import annotations

import re

import pytest

from buildgate.errors import CannotDecide
from buildgate.repo import Repo
from pytest_buildgate.fixtures.sandbox_repo import TEMPLATE, make_sandbox_repo
from tests.docs.helpers import run_all

DOCS = (TEMPLATE / "DOCKER_BUILD.md").read_text()
README = (TEMPLATE / "README.md").read_text()
TRIGGER = (TEMPLATE / "scripts" / "build-images-devpod.sh").read_text()
STATUS = (TEMPLATE / "scripts" / "check-build-status.sh").read_text()
WORKFLOW = (TEMPLATE / ".github" / "workflows" / "build-push.yml").read_text()
CRITERIA = ("D1", "D2", "D3", "S1", "S2")


def _line_of(text: str, needle: str) -> list[int]:
    return [n for n, ln in enumerate(text.splitlines(), 1) if needle in ln]


def _verdicts(tmp_path, files=None, modes=None):
    sb = make_sandbox_repo(tmp_path / "repo", files=files, modes=modes)
    return run_all(Repo(sb.path), sb.target)


def _only_fails(results, *failing):
    for cid in CRITERIA:
        if cid in failing:
            assert not results[cid].ok, f"{cid} should fail: {results[cid].message}"
            assert "\n" not in results[cid].message
        else:
            assert results[cid].ok, f"{cid} should pass: {results[cid].message}"


def test_the_sandbox_passes_all_five(tmp_path):
    results = _verdicts(tmp_path)
    _only_fails(results)
    assert any("Troubleshooting" in e for e in results["D1"].evidence)
    assert any("scripts/build-images-devpod.sh:15: names build-push.yml" in e for e in results["S2"].evidence)


def test_d1_docs_without_troubleshooting(tmp_path):
    cut = DOCS[: DOCS.index("## Troubleshooting")]
    results = _verdicts(tmp_path, files={"DOCKER_BUILD.md": cut})
    _only_fails(results, "D1")
    msg = results["D1"].message
    assert msg == (
        "expected DOCKER_BUILD.md to cover 5 topics (the overlay error and its cause, GitHub Actions as the way "
        "to build, triggering a build from the devpod, building on a local machine, troubleshooting); found no "
        "section on troubleshooting (looked for troubleshooting / common problems + a remedy (fix / check / "
        "solution)) (at DOCKER_BUILD.md)"
    )


def test_d1_topic_found_under_another_heading(tmp_path):
    renamed = DOCS.replace("## Troubleshooting", "## When things go wrong\n\nCommon problems and their fixes:")
    results = _verdicts(tmp_path, files={"DOCKER_BUILD.md": renamed})
    _only_fails(results)
    assert any("troubleshooting: 'When things go wrong'" in e for e in results["D1"].evidence)


# Adversarial docs: each names every topic's keywords, none covers the topics. They must fail D1.
DENIES_ALL = ("Do not use overlay, nested builds are fine. Don't use GitHub Actions to build. The devpod can push. "
              "Never build locally with docker build. No troubleshooting needed, just try.\n")
ONE_SECTION = """# Building the images

## Everything you need

The devpod's root is overlayfs, so a nested overlay mount fails with `invalid argument`. GitHub Actions
builds and pushes the images; trigger it from the devpod with `gh workflow run build-push.yml`. On your
laptop run `scripts/build-images.sh` (docker build). Troubleshooting: check the run logs and re-run.
"""
HEADINGS_ONLY = """# Building the images

## The overlay error: nested overlay mounts fail with invalid argument

## Build and push with GitHub Actions

## Trigger a build from the devpod

## Build locally with docker build

## Troubleshooting: check and fix

See above.
"""
DENIES_UNDER_HEADINGS = """# Building the images

## Overlay

Do not use overlay, nested builds are fine.

## GitHub Actions

Don't use GitHub Actions to build images.

## From the devpod

The devpod can push whatever it likes.

## Local builds

Never build locally with docker build.

## Troubleshooting

No troubleshooting needed, just try. If the build fails, use your judgement.
"""
ALL_TOPICS = ("the overlay error and its cause", "GitHub Actions as the way to build",
              "triggering a build from the devpod", "building on a local machine", "troubleshooting")


def test_d1_a_heading_less_doc_that_denies_every_topic_fails(tmp_path):
    results = _verdicts(tmp_path, files={"DOCKER_BUILD.md": DENIES_ALL})
    _only_fails(results, "D1")
    msg = results["D1"].message
    assert msg.startswith("expected DOCKER_BUILD.md to cover 5 topics (")
    assert "; found no headings at all; no section on the overlay error and its cause (looked for overlay/overlayfs + " \
           "nested / invalid argument / not supported); GitHub Actions as the way to build (looked for " in msg
    assert all(f"{t} (looked for " in msg for t in ALL_TOPICS)
    assert msg.endswith("(at DOCKER_BUILD.md)")


def test_d1_one_section_cannot_count_for_every_topic(tmp_path):
    results = _verdicts(tmp_path, files={"DOCKER_BUILD.md": ONE_SECTION})
    _only_fails(results, "D1")
    msg = results["D1"].message
    assert "the overlay error and its cause: 'Everything you need' at DOCKER_BUILD.md:3" in results["D1"].evidence
    for t in ALL_TOPICS[1:]:
        assert (f"{t} (looked for " in msg)
    assert ": 'Everything you need' at DOCKER_BUILD.md:3 covers it, but already counts for the overlay error and " \
           "its cause)" in msg


def test_d1_headings_without_bodies_cover_nothing(tmp_path):
    results = _verdicts(tmp_path, files={"DOCKER_BUILD.md": HEADINGS_ONLY})
    _only_fails(results, "D1")
    msg = results["D1"].message
    assert all(f"{t} (looked for " in msg for t in ALL_TOPICS)
    assert "'The overlay error: nested overlay mounts fail with invalid argument' at DOCKER_BUILD.md:3 names it, " \
           "but only its heading names the topic" in msg
    assert "'Troubleshooting: check and fix' at DOCKER_BUILD.md:11 names it, but only its heading names the topic" in msg


def test_d1_troubleshooting_without_a_remedy_fails(tmp_path):
    # "try" and "use" are no remedy; the other sections are thin denials, and only troubleshooting
    # can be told apart by its words (what a section asserts is beyond D1: see the D1 evidence)
    results = _verdicts(tmp_path, files={"DOCKER_BUILD.md": DENIES_UNDER_HEADINGS})
    _only_fails(results, "D1")
    assert results["D1"].message.endswith(
        "found no section on troubleshooting (looked for troubleshooting / common problems + a remedy "
        "(fix / check / solution)) (at DOCKER_BUILD.md)")


def test_d1_docs_deleted(tmp_path):
    results = _verdicts(tmp_path, files={"DOCKER_BUILD.md": None})
    assert not results["D1"].ok
    assert results["D1"].message == "expected DOCKER_BUILD.md; found no such file"
    # the README still links it (D2 is about the link), but every mention now dangles (D3)
    assert results["D2"].ok and "does not exist" in results["D2"].evidence[0]
    assert not results["D3"].ok and "README.md:8 names DOCKER_BUILD.md" in results["D3"].message
    assert results["S1"].ok and results["S2"].ok


def test_d2_readme_with_only_a_bare_mention(tmp_path):
    bare = README.replace("[DOCKER_BUILD.md](DOCKER_BUILD.md)", "DOCKER_BUILD.md")
    results = _verdicts(tmp_path, files={"README.md": bare})
    _only_fails(results, "D2")
    assert results["D2"].message == (
        "expected a link in README.md to DOCKER_BUILD.md; found only a bare mention of DOCKER_BUILD.md, "
        "not a link (at README.md:8)"
    )


def test_d2_readme_without_any_mention(tmp_path):
    results = _verdicts(tmp_path, files={"README.md": "# Moltbook\n\nThe API and frontend.\n"})
    _only_fails(results, "D2")
    assert "found no link to or mention of DOCKER_BUILD.md" in results["D2"].message


def test_d3_workflow_renamed_docs_still_name_the_old_file(tmp_path):
    files = {
        ".github/workflows/build-push.yml": None,
        ".github/workflows/docker-build.yml": WORKFLOW,
        # the scripts were updated, the docs were not: the real defect
        "scripts/build-images-devpod.sh": TRIGGER.replace("build-push.yml", "docker-build.yml"),
        "scripts/check-build-status.sh": STATUS.replace("build-push.yml", "docker-build.yml"),
    }
    results = _verdicts(tmp_path, files=files)
    _only_fails(results, "D3")
    msg = results["D3"].message
    stale = _line_of(DOCS, "build-push.yml")
    assert stale == [20, 41]
    # the renamed workflow's own paths: filter still names the old file too (D3 reads workflows);
    # the message leads with the build docs
    assert "found 4 dangling" in msg
    assert "DOCKER_BUILD.md:20 names .github/workflows/build-push.yml (no such file)" in msg
    assert "DOCKER_BUILD.md:41 names build-push.yml" in msg
    assert msg.endswith("(at DOCKER_BUILD.md:20)")
    dangling = [e for e in results["D3"].evidence if e.startswith("dangling:")]
    assert len(dangling) == 4
    assert [d.split(" names")[0] for d in dangling[2:]] == ["dangling: .github/workflows/docker-build.yml:12",
                                                            "dangling: .github/workflows/docker-build.yml:18"]


def test_s1_script_not_executable_in_git(tmp_path):
    results = _verdicts(tmp_path, modes={"scripts/check-build-status.sh": 0o644})
    _only_fails(results, "S1")
    assert results["S1"].message == (
        "expected scripts/check-build-status.sh executable in git (mode 100755); found mode 100644 "
        "(at scripts/check-build-status.sh)"
    )


def test_s1_syntax_error(tmp_path):
    broken = STATUS.replace("fi\n", "")  # an if without fi
    results = _verdicts(tmp_path, files={"scripts/check-build-status.sh": broken})
    _only_fails(results, "S1")
    msg = results["S1"].message
    assert "expected scripts/check-build-status.sh to parse with bash -n; found syntax error" in msg
    assert re.search(r"\(at scripts/check-build-status\.sh:\d+\)", msg)


def test_s1_shellcheck_error(tmp_path):
    broken = STATUS.replace('count="${1:-5}"', 'count="${1:-5}"\nif [ "$count" = 0]; then exit 0; fi')
    results = _verdicts(tmp_path, files={"scripts/check-build-status.sh": broken})
    _only_fails(results, "S1")
    msg = results["S1"].message
    assert "expected no shellcheck errors in scripts/check-build-status.sh; found SC" in msg
    assert "(at scripts/check-build-status.sh:8)" in msg
    assert any("SC1020" in e for e in results["S1"].evidence)


def test_s1_missing_script(tmp_path):
    results = _verdicts(tmp_path, files={"scripts/build-images.sh": None})
    assert not results["S1"].ok
    assert "expected scripts/build-images.sh to exist; found no such file" in results["S1"].message
    # DOCKER_BUILD.md names the deleted script, so D3 fails too
    assert not results["D3"].ok and "names scripts/build-images.sh" in results["D3"].message


def test_s2_trigger_names_a_renamed_workflow_by_name(tmp_path):
    trig = TRIGGER.replace('workflow="build-push.yml"', 'workflow="Build images"')
    results = _verdicts(tmp_path, files={"scripts/build-images-devpod.sh": trig})
    _only_fails(results, "S2")
    assert results["S2"].message == (
        "expected scripts/build-images-devpod.sh:15 to name an existing workflow; found Build images, "
        "but .github/workflows/ holds: build-push.yml (Build and push images) "
        "(at scripts/build-images-devpod.sh:15)"
    )


def test_s2_trigger_names_a_renamed_workflow_file(tmp_path):
    trig = TRIGGER.replace("build-push.yml", "docker-build.yml")
    results = _verdicts(tmp_path, files={"scripts/build-images-devpod.sh": trig})
    assert not results["S2"].ok
    assert "found docker-build.yml" in results["S2"].message
    # the stale file name is also a dangling path (D3), at the gh line
    assert "scripts/build-images-devpod.sh:15 names docker-build.yml" in results["D3"].message
    assert results["D1"].ok and results["D2"].ok and results["S1"].ok


def test_s2_status_script_naming_no_workflow(tmp_path):
    status = STATUS.replace('--workflow="$workflow" ', "")
    results = _verdicts(tmp_path, files={"scripts/check-build-status.sh": status})
    _only_fails(results, "S2")
    assert results["S2"].message == (
        "expected a gh workflow run/gh run list naming a workflow; found none (at scripts/check-build-status.sh)"
    )


def test_s2_unresolvable_workflow_is_cannot_decide(tmp_path):
    trig = TRIGGER.replace('gh workflow run "$workflow"', 'gh workflow run "$1"')
    sb = make_sandbox_repo(tmp_path / "repo", files={"scripts/build-images-devpod.sh": trig})
    from buildgate import scripts
    with pytest.raises(CannotDecide, match=r"can't resolve|\$1"):
        scripts.s2_scripts_name_existing_workflow(Repo(sb.path), sb.target.scripts, sb.target.workflows_dir)
