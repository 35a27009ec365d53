"""Steps of the cluster layer (K5, K6): one library call each, then ``check``.

``buildgate.cluster.k5``/``k6`` are imported inside the steps, so a run that never reaches the
cluster layer (``-m repo``) doesn't load them.
"""
from __future__ import annotations

from pytest_bdd import given, then

from steps.common import check, record


@given("the Deployments the kustomization renders", target_fixture="cluster_deployments")
def _(cluster_expected, cluster_reader):
    record([f"cluster: {cluster_reader.source} ({cluster_reader.host})"] +
           [f"rendered {d.ref}: " + ", ".join(f"{c.name}={c.image}" for c in d.containers) for d in cluster_expected])
    return cluster_expected


@then("each Deployment's containers use the kustomization's images")
def _(cluster_reader, cluster_deployments):
    from buildgate.cluster import k5

    check(k5.k5_containers_use_images(cluster_reader, cluster_deployments))


@then("each rollout completes within the rollout budget")
def _(cluster_reader, cluster_deployments, cluster_config):
    from buildgate.cluster import k5

    check(k5.k5_rollouts_complete(cluster_reader, cluster_deployments, cluster_config.rollout))


@then("each Deployment's pods run the registry digest of their tag")
def _(cluster_reader, cluster_deployments, registry_client):
    from buildgate.cluster import k5

    check(k5.k5_pods_run_registry_digests(cluster_reader, cluster_deployments, registry_client.resolve_tag))


@then("the Argo CD Application is Synced and Healthy at a revision containing the kustomization commit")
def _(cluster_reader, cluster_config, repo, target):
    from buildgate.cluster import k6

    check(k6.k6_application_deployed(cluster_reader, cluster_config.argocd_namespace, cluster_config.application,
                                  repo, target.kustomization, cluster_config.sync, github=target.github))
