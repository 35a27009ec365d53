"""D1-D3 and S1-S2 on small generated repositories: the edges the sandbox mutants don't reach."""
from __future__ import annotations

import pytest

from buildgate import scripts
from buildgate.docs import links, paths, topics
from buildgate.errors import CannotDecide, InputError
from tests.docs.helpers import git_repo

GOOD_DOC = """# Builds

## The devpod can't build
Its root is overlayfs; a nested overlay mount fails with `invalid argument`.

## GitHub Actions
The workflow builds and pushes the images.

## From the devpod
Run `gh workflow run build.yml` to trigger it.

## Local machine
Use `docker build` on your laptop.

## Troubleshooting
Check the run logs, then re-run.
"""


# -- D1 ---------------------------------------------------------------------------------------
def test_sections_nest_subsections_but_not_under_a_lone_title():
    secs = topics.sections("# T\nintro\n## A\na\n### A1\na1\n## B\nb\n")
    by = {s.heading: s for s in secs}
    assert by["T"].text == "# T\nintro" and by["T"].end == 2
    assert by["A"].text == "## A\na\n### A1\na1"
    assert by["B"].line == 7


def test_d1_all_topics(tmp_path):
    repo = git_repo(tmp_path / "r", {"DOCKER_BUILD.md": GOOD_DOC})
    res = topics.d1_docs_cover_topics(repo, "DOCKER_BUILD.md")
    assert res.ok, res.message
    assert "troubleshooting: 'Troubleshooting' at DOCKER_BUILD.md:15" in res.evidence


def test_d1_topic_spread_over_subsections_counts(tmp_path):
    doc = GOOD_DOC.replace("## Troubleshooting\nCheck the run logs, then re-run.\n",
                           "## Troubleshooting\n### Build failed\nCheck the logs.\n")
    res = topics.d1_docs_cover_topics(git_repo(tmp_path / "r", {"D.md": doc}), "D.md")
    assert res.ok, res.message


def test_d1_names_every_missing_topic_and_what_it_looked_for(tmp_path):
    doc = "# Builds\n\n## GitHub Actions\nThe workflow builds the images.\n"
    res = topics.d1_docs_cover_topics(git_repo(tmp_path / "r", {"D.md": doc}), "D.md")
    assert not res.ok
    msg = res.message
    assert msg.startswith("expected D.md to cover 5 topics (the overlay error and its cause, ")
    assert ("; found no section on the overlay error and its cause (looked for overlay/overlayfs + nested / "
            "invalid argument / not supported); triggering a build from the devpod (") in msg
    assert "; building on a local machine (" in msg and "; troubleshooting (looked for " in msg
    assert "GitHub Actions as the way to build (looked" not in msg
    assert msg.endswith("(at D.md)")
    assert "GitHub Actions as the way to build: 'GitHub Actions' at D.md:3" in res.evidence


def test_d1_one_word_is_not_a_topic(tmp_path):
    # "overlay" alone, with no cause, does not cover the overlay error
    doc = GOOD_DOC.replace("Its root is overlayfs; a nested overlay mount fails with `invalid argument`.",
                           "Something about overlay.")
    res = topics.d1_docs_cover_topics(git_repo(tmp_path / "r", {"D.md": doc}), "D.md")
    assert not res.ok and "the overlay error and its cause" in res.message
    assert any("closest 'The devpod can't build' at D.md:3 lacks nested / invalid argument / not supported" in e
               for e in res.evidence)


def test_d1_a_parent_and_its_subsections_count_as_distinct_sections(tmp_path):
    # "Building" covers local builds with its own text; its subsection covers GitHub Actions
    doc = GOOD_DOC.replace("## GitHub Actions\nThe workflow builds and pushes the images.\n\n", "").replace(
        "## Local machine\nUse `docker build` on your laptop.\n",
        "## Building\nUse `docker build` on your laptop.\n\n### GitHub Actions\nThe workflow builds and pushes the images.\n")
    res = topics.d1_docs_cover_topics(git_repo(tmp_path / "r", {"D.md": doc}), "D.md")
    assert res.ok, res.message
    assert "building on a local machine: 'Building' at D.md:9" in res.evidence
    assert "GitHub Actions as the way to build: 'GitHub Actions' at D.md:12" in res.evidence


def test_d1_a_parent_covering_a_topic_only_through_a_subsection_takes_it(tmp_path):
    # the parent's own text is a heading and nothing: it covers local builds only through its
    # subsection, so one of the two topics has no section of its own
    doc = GOOD_DOC.replace("## GitHub Actions\nThe workflow builds and pushes the images.\n\n", "").replace(
        "## Local machine\nUse `docker build` on your laptop.\n",
        "## Local machine\n\n### How\nGitHub Actions builds the images; `docker build` works too.\n")
    res = topics.d1_docs_cover_topics(git_repo(tmp_path / "r", {"D.md": doc}), "D.md")
    assert not res.ok
    assert "found no section on building on a local machine (looked for local machine + docker build / build script: " \
           "'Local machine' at D.md:9 covers it, but overlaps 'How' at D.md:11, which counts for GitHub Actions as " \
           "the way to build) (at D.md)" in res.message, res.message


@pytest.mark.parametrize("body", ["", "Try it."])
def test_d1_a_heading_alone_covers_nothing(tmp_path, body):
    doc = GOOD_DOC.replace("## GitHub Actions\nThe workflow builds and pushes the images.\n",
                           f"## GitHub Actions builds the images\n{body}\n")
    res = topics.d1_docs_cover_topics(git_repo(tmp_path / "r", {"D.md": doc}), "D.md")
    assert not res.ok
    assert "GitHub Actions as the way to build (looked for GitHub Actions + build / push / image: 'GitHub Actions " \
           "builds the images' at D.md:6 names it, but only its heading names the topic)" in res.message, res.message


def test_d1_a_short_body_is_not_content(tmp_path):
    doc = GOOD_DOC.replace("## GitHub Actions\nThe workflow builds and pushes the images.\n",
                           "## GitHub Actions\nBuilds images.\n")
    res = topics.d1_docs_cover_topics(git_repo(tmp_path / "r", {"D.md": doc}), "D.md")
    assert not res.ok
    assert "'GitHub Actions' at D.md:6 names it, but its body is 2 word(s), with no code block" in res.message
    code = GOOD_DOC.replace("## GitHub Actions\nThe workflow builds and pushes the images.\n",
                            "## GitHub Actions\n```\ngh workflow run build.yml  # builds the images\n```\n")
    assert topics.d1_docs_cover_topics(git_repo(tmp_path / "r2", {"D.md": code}), "D.md").ok


@pytest.mark.parametrize("remedy,ok", [
    ("Just try again, or use another machine.", False),
    ("Nothing here needs you: use it and try.", False),
    ("Check the run logs, then re-run.", True),
    ("Log in with a token that can write packages.", True),
    ("The fix is to restart the runner.", True),
])
def test_d1_troubleshooting_needs_a_remedy(tmp_path, remedy, ok):
    doc = GOOD_DOC.replace("Check the run logs, then re-run.", remedy)
    res = topics.d1_docs_cover_topics(git_repo(tmp_path / "r", {"D.md": doc}), "D.md")
    assert res.ok is ok, res.message
    if not ok:
        assert res.message.endswith("found no section on troubleshooting (looked for troubleshooting / common problems "
                                    "+ a remedy (fix / check / solution)) (at D.md)")


def test_d1_heading_less_text_is_no_section(tmp_path):
    doc = GOOD_DOC.split("## The devpod can't build")[0] + (
        "Its root is overlayfs; a nested overlay mount fails with `invalid argument`.\n\n")
    doc = doc.replace("# Builds\n\n", "") + GOOD_DOC.split("## GitHub Actions")[1].join(["## GitHub Actions", ""])
    res = topics.d1_docs_cover_topics(git_repo(tmp_path / "r", {"D.md": doc}), "D.md")
    assert not res.ok and "found no section on the overlay error and its cause (looked for " in res.message
    assert any("heading-less text at D.md:1 mentions it: that is no section of its own" in e for e in res.evidence)


def test_d1_binary_docs_are_an_input_error(tmp_path):
    repo = git_repo(tmp_path / "r", {"x": "y"})
    (tmp_path / "r" / "D.md").write_bytes(b"\x00\x01binary")
    with pytest.raises(InputError, match="binary"):
        topics.d1_docs_cover_topics(repo, "D.md")


def test_d1_reads_a_git_revision(tmp_path):
    repo = git_repo(tmp_path / "r", {"D.md": GOOD_DOC})
    (tmp_path / "r" / "D.md").unlink()  # gone from the work tree, still in HEAD
    assert not topics.d1_docs_cover_topics(repo, "D.md").ok
    assert topics.d1_docs_cover_topics(repo.at("HEAD"), "D.md").ok


# -- D2 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("readme", [
    "See [the guide](DOCKER_BUILD.md).\n",
    "See [the guide][g].\n\n[g]: ./DOCKER_BUILD.md#why\n",
    'See <a href="DOCKER_BUILD.md">the guide</a>.\n',
    "<p>\n<a href='DOCKER_BUILD.md'>guide</a>\n</p>\n",
    "See [guide](/DOCKER_BUILD.md).\n",
    "See [guide](https://github.com/o/r/blob/main/DOCKER_BUILD.md).\n",
])
def test_d2_link_forms(tmp_path, readme):
    repo = git_repo(tmp_path / "r", {"README.md": readme, "DOCKER_BUILD.md": "x"})
    res = links.d2_readme_links_docs(repo, "README.md", "DOCKER_BUILD.md", "o/r")
    assert res.ok, res.message


def test_d2_relative_to_the_readme_folder(tmp_path):
    repo = git_repo(tmp_path / "r", {"docs/README.md": "[g](../DOCKER_BUILD.md)\n", "DOCKER_BUILD.md": "x"})
    assert links.d2_readme_links_docs(repo, "docs/README.md", "DOCKER_BUILD.md").ok
    repo2 = git_repo(tmp_path / "r2", {"docs/README.md": "[g](DOCKER_BUILD.md)\n", "DOCKER_BUILD.md": "x"})
    res = links.d2_readme_links_docs(repo2, "docs/README.md", "DOCKER_BUILD.md")
    assert not res.ok and "links that resolve elsewhere: DOCKER_BUILD.md (docs/README.md:1) -> docs/DOCKER_BUILD.md" in res.message


def test_d2_mention_in_code_is_not_a_link(tmp_path):
    repo = git_repo(tmp_path / "r", {"README.md": "# X\n\nRead `DOCKER_BUILD.md`.\n", "DOCKER_BUILD.md": "x"})
    res = links.d2_readme_links_docs(repo, "README.md", "DOCKER_BUILD.md")
    assert not res.ok and "bare mention" in res.message and "README.md:3" in res.message


def test_d2_missing_readme(tmp_path):
    res = links.d2_readme_links_docs(git_repo(tmp_path / "r", {"x": "y"}), "README.md", "DOCKER_BUILD.md")
    assert res.message == "expected README.md linking DOCKER_BUILD.md; found no such file"


# -- D3 ---------------------------------------------------------------------------------------
def _d3(tmp_path, files, scripts_=("s/a.sh",), executable=()):
    repo = git_repo(tmp_path / "r", files, executable)
    return paths.d3_named_paths_exist(repo, "D.md", "README.md", list(scripts_), ".github/workflows", "o/r")


def test_d3_ignores_urls_anchors_placeholders_and_system_paths(tmp_path):
    files = {
        "D.md": ("[site](https://example.com/x.md) [top](#top) [mail](mailto:a@b.c)\n"
                 "Edit `path/to/your.yml` or `<name>.yml` or `$FILE.sh`; see `/etc/hosts.conf`.\n"
                 "Images: `ghcr.io/o/api`. https://github.com/o/r/blob/main/gone.md\n"
                 "~/notes.md and Node.js\n"),
        "README.md": "hi\n",
        "s/a.sh": "#!/bin/bash\n[ -f /.dockerenv ] && cat /var/run/secrets/x.yml\necho \"$HOME/x.sh\"\n",
    }
    res = _d3(tmp_path, files)
    assert res.ok, res.message


def test_d3_reports_every_dangling_reference_with_file_and_line(tmp_path):
    files = {
        "D.md": ("# D\n\nSee [old](docs/old.md) and `scripts/gone.sh`.\n\n```\n./scripts/missing.sh --x\n"
                 "gh workflow run old.yml\n```\n\nAlso .github/workflows/stale.yml and NOPE.md.\n"),
        "README.md": "[d](D.md) <a href=\"x/y.md\">y</a>\n",
        "s/a.sh": '#!/bin/bash\n# see OTHER.md\n"$(dirname "$0")/helper.sh"\ngh run list --workflow=old2.yml\n',
        ".github/workflows/build.yml": "on: push\n",
    }
    res = _d3(tmp_path, files)
    assert not res.ok
    dangling = sorted(e for e in res.evidence if e.startswith("dangling:"))
    assert dangling == sorted([
        "dangling: D.md:3 names docs/old.md (no such file)",
        "dangling: D.md:3 names scripts/gone.sh (no such file)",
        "dangling: D.md:6 names ./scripts/missing.sh (no such file)",
        "dangling: D.md:7 names old.yml (no such file)",
        "dangling: D.md:10 names .github/workflows/stale.yml (no such file)",
        "dangling: D.md:10 names NOPE.md (no such file)",
        "dangling: README.md:1 names x/y.md (no such file)",
        "dangling: s/a.sh:2 names OTHER.md (no such file: tried s/OTHER.md, OTHER.md)",
        'dangling: s/a.sh:3 names $(dirname "$0")/helper.sh (no such file)',
        "dangling: s/a.sh:4 names old2.yml (no such file)",
    ]), dangling
    assert "found 10 dangling: D.md:3 names docs/old.md (no such file);" in res.message
    assert "(+7 more)" in res.message and res.message.endswith("(at D.md:3)")


def test_d3_resolves_script_folders_and_the_repository_root(tmp_path):
    files = {
        "D.md": "x\n", "README.md": "x\n",
        "s/a.sh": ('#!/bin/bash\nhere="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"\n'
                   'root="$(git rev-parse --show-toplevel)"\n"$here/b.sh"\n"$root/k8s/k.yml"\n./s/b.sh\n'),
        "s/b.sh": "#!/bin/bash\n", "k8s/k.yml": "a: 1\n",
    }
    res = _d3(tmp_path, files)
    assert res.ok, res.message
    assert {"exists: s/a.sh:4: $(dirname \"$0\")/b.sh", "exists: s/a.sh:5: $(git rev-parse --show-toplevel)/k8s/k.yml",
            "exists: s/a.sh:6: ./s/b.sh"} <= set(res.evidence)


@pytest.mark.parametrize("hostile", [
    "[x](../outside.md)", "[x](../../../../etc/passwd.md)", "`../secrets.yml`", "[x](/../../etc/x.md)",
])
def test_d3_hostile_paths_are_reported_and_never_read(tmp_path, hostile):
    (tmp_path / "outside.md").write_text("exists outside the repository")
    res = _d3(tmp_path, {"D.md": hostile + "\n", "README.md": "x\n", "s/a.sh": "#!/bin/bash\n"})
    assert not res.ok
    assert "leaves the repository" in res.message


def test_d3_symlink_out_of_the_repository_dangles(tmp_path):
    (tmp_path / "secret.md").write_text("outside")
    repo = git_repo(tmp_path / "r", {"D.md": "[s](link.md)\n", "README.md": "x\n"})
    (tmp_path / "r" / "link.md").symlink_to(tmp_path / "secret.md")
    res = paths.d3_named_paths_exist(repo, "D.md", "README.md", [], ".github/workflows")
    assert not res.ok and "D.md:1 names link.md" in res.message


def test_d3_globs_must_match_something(tmp_path):
    files = {"D.md": "All `scripts/*.sh` and `k8s/*.yaml`.\n", "README.md": "x\n", "scripts/a.sh": "#!/bin/bash\n"}
    res = _d3(tmp_path, files, scripts_=("scripts/a.sh",))
    assert not res.ok
    assert [e for e in res.evidence if e.startswith("dangling")] == ["dangling: D.md:1 names k8s/*.yaml (no such file)"]


def test_d3_nothing_to_read_fails(tmp_path):
    res = _d3(tmp_path, {"other.txt": "x"})
    assert not res.ok and "found none of them" in res.message


def test_d3_reads_status_notes_only_when_the_target_lists_them(tmp_path):
    files = {"D.md": "See `k8s/k.yml`.\n", "README.md": "x\n", "k8s/k.yml": "a: 1\n",
             "BUILD_STATUS_001.md": "# Status\n\nRan `scripts/fix-overlay.sh` (gone now).\n",
             "docs/notes/2026/jan.md": "Old: [runbook](../../RUNBOOK.md).\n"}
    repo = git_repo(tmp_path / "r", files)
    assert paths.d3_named_paths_exist(repo, "D.md", "README.md", [], ".github/workflows").ok  # out of scope
    res = paths.d3_named_paths_exist(repo, "D.md", "README.md", [], ".github/workflows",
                                     scope=["BUILD_STATUS_*.md", "docs/**/*.md"])
    assert not res.ok
    assert sorted(e for e in res.evidence if e.startswith("dangling")) == [
        "dangling: BUILD_STATUS_001.md:3 names scripts/fix-overlay.sh (no such file)",
        "dangling: docs/notes/2026/jan.md:1 names ../../RUNBOOK.md (no such file)",
    ]
    assert "4 files (D.md, README.md, BUILD_STATUS_001.md, docs/notes/2026/jan.md)" in res.message
    assert paths.docs_in_scope(repo, "D.md", "README.md", ["docs/*.md"]) == ["D.md", "README.md"]  # * stays in a folder


def test_d3_message_leads_with_the_build_docs(tmp_path):
    files = {"README.md": "Run `scripts/a-gone.sh`.\n", "D.md": "x\n\nRun `scripts/z-gone.sh`.\n",
             "s/a.sh": "#!/bin/bash\n./s/also-gone.sh\n"}
    res = _d3(tmp_path, files)
    assert "found 3 dangling: D.md:3 names scripts/z-gone.sh" in res.message
    assert res.message.index("README.md:1") < res.message.index("s/a.sh:2")


def test_d3_reads_the_workflows(tmp_path):
    wf = ("on:\n  push:\n    paths: ['api/**', '.github/workflows/old-name.yml']\njobs:\n  b:\n    runs-on: x\n"
          "    steps:\n      - uses: ./.github/actions/setup\n      - uses: actions/checkout@v4\n"
          "      - run: ./scripts/gone.sh && cat k8s/k.yml\n")
    files = {"D.md": "x\n", "README.md": "x\n", "k8s/k.yml": "a: 1\n", "api/x": "x",
             ".github/workflows/build.yml": wf}
    res = _d3(tmp_path, files)
    assert [e for e in res.evidence if e.startswith("dangling")] == [
        "dangling: .github/workflows/build.yml:3 names .github/workflows/old-name.yml (no such file)",
        "dangling: .github/workflows/build.yml:8 names ./.github/actions/setup (no such file)",
        "dangling: .github/workflows/build.yml:10 names ./scripts/gone.sh (no such file)",
    ]
    assert "exists: .github/workflows/build.yml:10: k8s/k.yml" in res.evidence


def test_d3_and_d1_read_a_file_once_per_content_across_revisions(tmp_path):
    """Along a history, a file whose blob is unchanged is neither read nor parsed again."""
    import subprocess

    from buildgate.repo import Repo, first_parent_trees
    from tests.docs.helpers import _ENV

    repo = git_repo(tmp_path / "r", {"DOCKER_BUILD.md": GOOD_DOC, "README.md": "v0\n",
                                     ".github/workflows/build.yml": "on: push\n"})
    for i in range(1, 4):
        (tmp_path / "r" / "README.md").write_text(f"v{i}: see `DOCKER_BUILD.md`\n")
        subprocess.run(["git", "-C", str(repo.root), "commit", "-qam", f"c{i}"], check=True, env=_ENV)
    shas = list(reversed(repo.git("rev-list", "HEAD").split()))
    read: list[str] = []
    real = Repo._blob

    def counting(self, oid, *args, **kwargs):
        read.append(oid)
        return real(self, oid, *args, **kwargs)

    Repo._blob = counting
    try:
        for n, at in enumerate(first_parent_trees(repo, shas)):
            if n == 1:
                read.clear()  # from the second revision on
            res = paths.d3_named_paths_exist(at, "DOCKER_BUILD.md", "README.md", [], ".github/workflows")
            assert res.ok, res.message
            assert topics.d1_docs_cover_topics(at, "DOCKER_BUILD.md").ok
    finally:
        Repo._blob = real
    readmes = {Repo(repo.root).at(s).content_id("README.md") for s in shas[1:]}
    assert set(read) == readmes and len(read) == len(readmes)  # only the changed file, once per version


# -- S1 / S2 ----------------------------------------------------------------------------------
def test_s1_without_shellcheck_cannot_decide(tmp_path, monkeypatch):
    repo = git_repo(tmp_path / "r", {"a.sh": "#!/bin/bash\necho hi\n"}, executable=("a.sh",))
    monkeypatch.setattr(scripts, "find_shellcheck", lambda: None)
    with pytest.raises(CannotDecide, match="shellcheck not found"):
        scripts.s1_helper_scripts(repo, {"local_build": "a.sh"})


def test_s1_at_a_revision_uses_the_committed_content(tmp_path):
    repo = git_repo(tmp_path / "r", {"a.sh": "#!/bin/bash\necho hi\n"}, executable=("a.sh",))
    (tmp_path / "r" / "a.sh").write_text("#!/bin/bash\nif true; then\n")  # broken only in the work tree
    assert not scripts.s1_helper_scripts(repo, {"local_build": "a.sh"}).ok
    res = scripts.s1_helper_scripts(repo.at("HEAD"), {"local_build": "a.sh"})
    assert res.ok, res.message


def test_s1_untracked_script(tmp_path):
    repo = git_repo(tmp_path / "r", {"x": "y"})
    (tmp_path / "r" / "a.sh").write_text("#!/bin/bash\necho hi\n")
    res = scripts.s1_helper_scripts(repo, {"local_build": "a.sh"})
    assert res.message == "expected a.sh executable in git (mode 100755); found a file git does not track (at a.sh)"


def test_s2_workflow_named_by_name_or_path(tmp_path):
    files = {
        ".github/workflows/build.yml": "name: Build images\non: push\n",
        ".github/workflows/broken.yml": "name: [unclosed\n",
        "t.sh": "gh workflow run 'build images'\n",
        "s.sh": "gh run list --workflow .github/workflows/build.yml\n",
    }
    repo = git_repo(tmp_path / "r", files)
    res = scripts.s2_scripts_name_existing_workflow(repo, {"devpod_trigger": "t.sh", "build_status": "s.sh"},
                                                 ".github/workflows")
    assert res.ok, res.message
    assert "t.sh:1: names build images -> .github/workflows/build.yml" in res.evidence
    assert any(e.startswith(".github/workflows/broken.yml: name unknown") for e in res.evidence)


def test_s2_missing_script_fails(tmp_path):
    repo = git_repo(tmp_path / "r", {".github/workflows/b.yml": "on: push\n", "s.sh": "gh run list -w b.yml\n"})
    res = scripts.s2_scripts_name_existing_workflow(repo, {"devpod_trigger": "t.sh", "build_status": "s.sh"},
                                                 ".github/workflows")
    assert res.message == "expected t.sh naming a workflow; found no such file (at t.sh)"


def test_d3_workflow_paths_and_anchored_mentions(tmp_path):
    files = {
        "D.md": ("Run `gh run list --workflow=./.github/workflows/b.yml` or `gh workflow view --yaml b.yml`;\n"
                 "read D.md#top and s/a.sh:3.\n"),
        "README.md": "x\n", "s/a.sh": "#!/bin/bash\n", ".github/workflows/b.yml": "on: push\n",
    }
    res = _d3(tmp_path, files)
    assert res.ok, res.message
    assert {"exists: D.md:1: ./.github/workflows/b.yml", "exists: D.md:1: b.yml", "exists: D.md:2: s/a.sh"} <= set(res.evidence)
