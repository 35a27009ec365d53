"""The cluster layer: a read-only reader on the official client, waiting, evidence, K5 and K6.

Public API:

* :func:`buildgate.cluster.config.cluster_config` -> :class:`ClusterConfig` (the ``cluster:`` section)
* :class:`buildgate.cluster.reader.ClusterReader` (``from_config``; get/list/watch only)
* :func:`buildgate.cluster.expected.expected_deployments` (what the kustomization renders)
* K5: :mod:`buildgate.cluster.k5` (``k5_containers_use_images``, ``k5_rollouts_complete``,
  ``k5_pods_run_registry_digests``); K6: :func:`buildgate.cluster.k6.k6_application_deployed`
* :func:`buildgate.cluster.wait.eventually`, :func:`buildgate.redact.redact`
* :mod:`buildgate.cluster.http`: the bounded, read-only, no-redirect HTTP under the official client
"""
from __future__ import annotations
