"""Steps for D1-D3 (build docs, README link, dangling paths and options) and S1-S2 (helper scripts)."""
from __future__ import annotations

from pytest_bdd import then

from buildgate import scripts
from buildgate.docs import links, options, paths, topics
from buildgate.repo import Repo
from buildgate.target import Target
from steps.common import check


@then("the build docs cover the overlay error, GitHub Actions, devpod triggers, local builds and troubleshooting")
def _docs_cover_topics(repo: Repo, target: Target) -> None:
    check(topics.d1_docs_cover_topics(repo, target.docs))


@then("the README links the build docs")
def _readme_links_docs(repo: Repo, target: Target) -> None:
    check(links.d2_readme_links_docs(repo, target.readme, target.docs, target.github))


@then("every path the docs and scripts name exists")
def _named_paths_exist(repo: Repo, target: Target) -> None:
    check(paths.d3_named_paths_exist(repo, target.docs, target.readme, target.scripts.values(),
                                 target.workflows_dir, target.github))


@then("every helper-script option the docs show is one the script accepts")
def _doc_options_accepted(repo: Repo, target: Target) -> None:
    check(options.d3_docs_show_accepted_options(repo, [target.docs, target.readme], target.scripts.values()))


@then("the helper scripts exist, are executable, parse and pass shellcheck")
def _helper_scripts(repo: Repo, target: Target) -> None:
    check(scripts.s1_helper_scripts(repo, target.scripts))


@then("the devpod trigger and status scripts name an existing workflow")
def _scripts_name_workflow(repo: Repo, target: Target) -> None:
    check(scripts.s2_scripts_name_existing_workflow(repo, target.scripts, target.workflows_dir))
