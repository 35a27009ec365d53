"""K2 (newTag names a commit at or before HEAD) and K3 (the bot's tag-update commits)."""
from __future__ import annotations

import hashlib
import subprocess

import pytest

from buildgate.errors import CannotDecide
from buildgate.tag_history import (
    k3_bot_updates,
    k2_newtags_in_history,
    job_writes_kustomization,
    kustomization_changes,
    tag_hex,
    update_job_introduced,
)
from buildgate.kustomize import Kustomization
from buildgate.repo import Repo
from tests.kustomize.helpers import BOT, KUST, History, kustomization, mutate, sandbox, sandbox_kust, template

IMAGES = ["ghcr.io/ardenone/moltbook-api", "ghcr.io/ardenone/moltbook-frontend"]
WORKFLOW = ".github/workflows/build-push.yml"


def k2(repo: Repo):
    return k2_newtags_in_history(repo, Kustomization.load(repo, KUST), IMAGES)


def k3(repo: Repo):
    return k3_bot_updates(repo, KUST, ".github/workflows", ("github-actions[bot]", "github-actions"))


def retag(sb, tag: str) -> str:
    text = sandbox_kust(sb)
    return text.replace(f"newTag: {sb.new_tag}", f"newTag: {tag}")


# -- tag forms ----------------------------------------------------------------------------------
@pytest.mark.parametrize("tag, hexpart, extracted", [
    ("abc1234", "abc1234", False),
    ("a" * 40, "a" * 40, False),
    ("main-abc1234", "abc1234", True),
    ("sha-abc1234def", "abc1234def", True),
    ("latest", None, False),
    ("v1.2.3", None, False),
    ("release-2024", None, False),   # too short a hex part to be a sha
    ("main-", None, False),
])
def test_tag_hex(tag, hexpart, extracted):
    got, note = tag_hex(tag)
    assert got == hexpart
    assert (note is not None) is extracted


# -- K2 -----------------------------------------------------------------------------------------
def test_sandbox_newtags_are_commits_before_head(tmp_path):
    sb = sandbox(tmp_path)
    result = k2(sb.target.repo())
    assert result.ok, result.message
    assert any(e.startswith(f"ghcr.io/ardenone/moltbook-api: newTag {sb.new_tag} (k8s/kustomization.yml:13) is "
                            f"commit {sb.built_commit[:12]}") for e in result.evidence)


@pytest.mark.parametrize("form", ["main-{}", "sha-{}", "{full}"])
def test_prefixed_and_full_tags_resolve(tmp_path, form):
    sb = sandbox(tmp_path)
    tag = form.format(sb.new_tag, full=sb.built_commit)
    mutate(sb, {KUST: retag(sb, tag)}, who=BOT)
    result = k2(sb.target.repo())
    assert result.ok, result.message
    if "{}" in form:
        assert any(f"hex part {sb.new_tag} extracted from {tag!r}" in e for e in result.evidence)


def test_newtag_not_in_history_fails(tmp_path):
    sb = sandbox(tmp_path)
    mutate(sb, {KUST: retag(sb, "deadbee")}, who=BOT)
    result = k2(sb.target.repo())
    assert not result.ok
    assert result.message.startswith("expected the newTag of ghcr.io/ardenone/moltbook-api to name a commit of the "
                                     "repository; found newTag 'deadbee': no commit deadbee exists "
                                     "(at k8s/kustomization.yml:13)")


def test_newtag_that_is_no_sha_fails(tmp_path):
    sb = sandbox(tmp_path)
    mutate(sb, {KUST: retag(sb, "latest")}, who=BOT)
    result = k2(sb.target.repo())
    assert not result.ok
    assert "found newTag 'latest', which is not a commit sha (at k8s/kustomization.yml:13)" in result.message


def test_newtag_on_another_branch_fails(tmp_path):
    sb = sandbox(tmp_path)
    h = History(sb.path, init=False)
    h.git("checkout", "-q", "-b", "feature")
    side = h.commit("feat: experiment", {"api/app/version.txt": "experiment\n"})
    h.git("checkout", "-q", "main")
    mutate(sb, {KUST: retag(sb, side[:7])}, who=BOT)
    result = k2(sb.target.repo())
    assert not result.ok
    assert (f"found commit {side[:7]} (2026-01-01 06:00 UTC, Dana Developer: 'feat: experiment'), not an ancestor "
            "of HEAD (on feature) (at k8s/kustomization.yml:13)") in result.message


def _commit_object(n: int) -> bytes:
    return (b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
            b"author t <t@example.invalid> 1767225600 +0000\ncommitter t <t@example.invalid> 1767225600 +0000\n"
            b"\ncollision " + str(n).encode() + b"\n")


def test_ambiguous_short_sha_cannot_be_decided(tmp_path):
    sb = sandbox(tmp_path)
    # Two commit objects whose ids share their first 4 hex digits (a birthday search, in memory).
    seen: dict[str, int] = {}
    for n in range(100_000):
        body = _commit_object(n)
        prefix = hashlib.sha1(b"commit %d\x00" % len(body) + body).hexdigest()[:4]
        if prefix in seen:
            pair = (seen[prefix], n)
            break
        seen[prefix] = n
    shas = [subprocess.run(["git", "-C", str(sb.path), "hash-object", "-t", "commit", "-w", "--stdin"],
                           input=_commit_object(n), capture_output=True, check=True).stdout.decode().strip()
            for n in pair]
    assert shas[0][:4] == shas[1][:4]
    mutate(sb, {KUST: retag(sb, shas[0][:4])}, who=BOT)
    with pytest.raises(CannotDecide) as exc:
        k2(sb.target.repo())
    assert str(exc.value).startswith(f"k8s/kustomization.yml:13: newTag '{shas[0][:4]}' of ghcr.io/ardenone/moltbook-api: "
                                     f"short sha {shas[0][:4]} is ambiguous, commits")
    assert shas[0][:12] in str(exc.value) and shas[1][:12] in str(exc.value)


def test_shallow_clone_missing_the_commit_cannot_be_decided(tmp_path):
    sb = sandbox(tmp_path)
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{sb.path}", str(clone)], check=True,
                   capture_output=True)
    with pytest.raises(CannotDecide, match="shallow clone; fetch the full history"):
        k2(Repo(clone))


def test_k2_judges_the_newtags_present(tmp_path):
    """An image with no entry is K1's failure: K2 judges the entries present, and says so."""
    sb = sandbox(tmp_path)
    text = sandbox_kust(sb)
    mutate(sb, {KUST: text[:text.index("  - name: ghcr.io/ardenone/moltbook-frontend")]}, who=BOT)
    result = k2(sb.target.repo())
    assert result.ok, result.message
    assert any("moltbook-frontend: no newTag" in e and "not judged" in e for e in result.evidence)
    bad = text[:text.index("  - name: ghcr.io/ardenone/moltbook-frontend")].replace(f"newTag: {sb.new_tag}", "newTag: latest")
    mutate(sb, {KUST: bad}, who=BOT)
    result = k2(sb.target.repo())
    assert not result.ok and "'latest', which is not a commit sha" in result.message


def test_no_newtag_at_all_is_nothing_to_judge(tmp_path):
    sb = sandbox(tmp_path)
    text = sandbox_kust(sb)
    mutate(sb, {KUST: text[:text.index("images:")]}, who=BOT)
    with pytest.raises(CannotDecide, match="no newTag for any built image"):
        k2(sb.target.repo())


# -- K3 -----------------------------------------------------------------------------------------
def test_sandbox_history_shows_the_bot_updates(tmp_path):
    sb = sandbox(tmp_path)
    result = k3(sb.target.repo())
    assert result.ok, result.message
    ev = "\n".join(result.evidence)
    assert "job 'update-kustomization' in .github/workflows/build-push.yml writes the kustomization since" in ev
    assert (f"bot updates: {sb.head[:7]} 2026-01-01 05:00 UTC 'chore: update image tags to {sb.new_tag} [skip ci]'; "
            in ev)


def test_hand_edited_newtag_after_the_bot_fails(tmp_path):
    sb = sandbox(tmp_path)
    edit = mutate(sb, {KUST: retag(sb, sb.head[:7])}, message="fix: pin the tag by hand")
    result = k3(sb.target.repo())
    assert not result.ok
    assert result.message == (
        f"expected the newest newTag change in k8s/kustomization.yml to be a bot update; found hand-edited in "
        f"{edit[:7]} by Dana Developer (2026-01-01 06:00 UTC, 'fix: pin the tag by hand'): newTag "
        f"{sb.new_tag}, {sb.new_tag} -> {sb.head[:7]}, {sb.head[:7]} (at k8s/kustomization.yml @ {edit[:7]})")
    # the same target still passes K2: the hand-written tag is a commit of history
    assert k2(sb.target.repo()).ok


def test_later_human_change_without_newtag_is_explained(tmp_path):
    sb = sandbox(tmp_path)
    edit = mutate(sb, {KUST: sandbox_kust(sb) + "commonLabels:\n  app.kubernetes.io/part-of: moltbook\n"},
                  message="chore: label everything")
    result = k3(sb.target.repo())
    assert result.ok, result.message
    assert any(e.startswith(f"later change {edit[:7]} 2026-01-01 06:00 UTC 'chore: label everything' by Dana "
                            "Developer does not change newTag") for e in result.evidence)


def _early_history(tmp_path, *, bot_first: bool, job: bool = True) -> History:
    """Manifests, maybe a bot tag update, then the workflow (with or without the update job)."""
    h = History(tmp_path / "r")
    files = {p: template(p) for p in ("k8s/namespace.yml", "k8s/api/deployment.yml", "k8s/frontend/deployment.yml",
                                     "k8s/api/service.yml", "k8s/frontend/service.yml")}
    files[KUST] = kustomization("latest")
    first = h.commit("feat: manifests", files)
    if bot_first:
        h.commit(f"chore: update image tags to {first[:7]}", {KUST: kustomization(first[:7])}, who=BOT)
    wf = template(WORKFLOW)
    if not job:
        wf = wf[:wf.index("  update-kustomization:")]
    h.commit("ci: build workflow", {WORKFLOW: wf})
    return h


def test_no_bot_commits_fails(tmp_path):
    h = _early_history(tmp_path, bot_first=False)
    h.commit("chore: bump tags by hand", {KUST: kustomization("abc1234")})
    result = k3(h.repo)
    assert not result.ok
    assert result.message.startswith("expected commits by github-actions[bot] or github-actions updating newTag in "
                                     "k8s/kustomization.yml; found none among 2 commit(s) (newest ")
    assert result.message.endswith("'chore: bump tags by hand' by Dana Developer) (at k8s/kustomization.yml)")


def test_bot_commits_only_before_the_job_fail(tmp_path):
    h = _early_history(tmp_path, bot_first=True)
    result = k3(h.repo)
    assert not result.ok
    assert result.message.startswith("expected bot newTag updates after the update job appeared in ")
    assert "found 1 bot update(s), none after it (newest " in result.message
    assert result.message.endswith(f"(at {WORKFLOW} @ {h.git('rev-parse', '--short=7', 'HEAD')})")


def test_bot_commits_without_any_update_job_fail(tmp_path):
    h = _early_history(tmp_path, bot_first=True, job=False)
    result = k3(h.repo)
    assert not result.ok
    assert result.message.startswith("expected a workflow job under .github/workflows writing k8s/kustomization.yml "
                                     "before the bot's updates; found no revision of .github/workflows has one")


def test_job_introduction_is_the_first_revision_with_the_job(tmp_path):
    h = _early_history(tmp_path, bot_first=False, job=False)
    with_job = h.commit("ci: write the tags back", {WORKFLOW: template(WORKFLOW)})
    h.commit("ci: tweak", {WORKFLOW: template(WORKFLOW) + "# tweak\n"})
    job = update_job_introduced(h.repo, ".github/workflows", KUST)
    assert job is not None and job.sha == with_job and job.job == "update-kustomization"


def test_kustomization_changes_reads_newtag_diffs_in_one_log(tmp_path):
    sb = sandbox(tmp_path)
    changes = kustomization_changes(sb.target.repo(), KUST)
    assert [c.author for c in changes] == ["github-actions[bot]", "github-actions[bot]", "Dana Developer"]
    assert changes[0].added == (sb.new_tag, sb.new_tag) and changes[0].changes_newtag
    assert changes[-1].removed == () and changes[-1].added == ("latest", "latest")  # the file's first commit


@pytest.mark.parametrize("job, writes", [
    ({"steps": [{"run": "sed -i 's/newTag: .*/newTag: x/' k8s/kustomization.yml"}]}, True),
    ({"steps": [{"run": "cd k8s\nkustomize edit set image a=a:1"}]}, True),
    ({"steps": [{"run": "yq -i '.images[0].newTag = \"x\"' k8s/kustomization.yml"}]}, True),
    ({"steps": [{"uses": "stefanzweifel/git-auto-commit-action@v5", "with": {"file_pattern": "k8s/kustomization.yml"}}]}, True),
    ({"steps": [{"run": "cat k8s/kustomization.yml"}]}, False),
    ({"steps": [{"run": "kustomize build k8s | kubectl apply -f -"}]}, False),
    ({"steps": [{"run": "sed -i s/a/b/ other/kustomization.yml"}]}, False),
])
def test_job_writes_kustomization(job, writes):
    assert job_writes_kustomization(job, KUST) is writes
