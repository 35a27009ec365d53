"""Steps for the registry layer (G1-G6, K4): one library call and ``check`` each."""
from __future__ import annotations

from pytest_bdd import given, parsers, then

from steps.common import check


def _g():
    """:mod:`buildgate.oci.checks`, imported when a registry step runs, not at collection."""
    from buildgate.oci import checks

    return checks


@given("the registry that holds the target's images", target_fixture="registry_images")
def _(registry_client, target):
    return [img.name for img in target.images]


@given("the commit the workflow built last on the default branch", target_fixture="built")
def _(registry_expectation):
    return registry_expectation


@then(parsers.parse('every image has the tag "{tag}"'))
def _(registry_client, registry_images, tag):
    check(_g().g1_tag_exists(registry_client, registry_images, tag))


@then("every image has the commit tag the workflow pushes for that commit")
def _(registry_client, registry_images, built):
    check(_g().g2_commit_tags_exist(registry_client, registry_images, built.tags, built.commit))


@then(parsers.parse('"{tag}" and the commit tag resolve to the same digest for every image'))
def _(registry_client, registry_images, built, tag):
    check(_g().g3_same_digest(registry_client, registry_images, built.tags, built.commit, moving_tag=tag))


@then("every platform image of the commit tag carries an SPDX SBOM and a SLSA provenance")
def _(registry_client, registry_images, built):
    check(_g().g4_attestations_present(registry_client, registry_images, built.tags, built.commit))


@then("every provenance names the source repository and that commit")
def _(registry_client, registry_images, built):
    check(_g().g5_provenance_matches(registry_client, registry_images, built.tags, built.commit, built.repo_url))


@then("every image's OCI labels name the source repository and that commit")
def _(registry_client, registry_images, built):
    check(_g().g6_labels_match(registry_client, registry_images, built.tags, built.commit, built.repo_url))


@then("every newTag of the kustomization exists in the registry for its image")
def _(registry_client, registry_images, repo, target):
    g = _g()
    refs = g.kustomization_refs(repo, target.kustomization)
    check(g.k4_newtags_exist(registry_client, refs, registry_images))
