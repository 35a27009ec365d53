"""K5: the cluster runs exactly the images the kustomization names.

Three checks, each on the Deployments :func:`buildgate.cluster.expected.expected_deployments`
lists:

* :func:`k5_containers_use_images` -- each live Deployment's containers use newName:newTag;
* :func:`k5_rollouts_complete` -- each rollout completes within the budget (waiting, with
  Degraded -- crash-looping or unpullable pods, ProgressDeadlineExceeded -- failing after the
  grace period), with conditions, pods and events as evidence on failure;
* :func:`k5_pods_run_registry_digests` -- every pod's ``imageID`` is the digest the registry gives
  for that tag (the index digest or one of its platform manifests). A tag whose digest moved
  since the pod pulled it fails, naming both digests.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from buildgate.cluster import fields as F
from buildgate.cluster.config import WaitBudget
from buildgate.cluster.evidence import (
    deployment_evidence,
    pod_line,
    redact,
    rollout_line,
    waiting_reasons,
)
from buildgate.cluster.expected import ExpectedContainer, ExpectedDeployment
from buildgate.cluster.reader import DEPLOYMENTS, ClusterReader, selector_string
from buildgate.cluster.wait import DEGRADED, DONE, PENDING, Observation, eventually
from buildgate.errors import CannotDecide
from buildgate.result import CheckResult

# Container states that mean "this will not become ready by waiting": Degraded.
BAD_WAITING = frozenset({
    "CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "InvalidImageName", "CreateContainerConfigError",
    "CreateContainerError", "RunContainerError", "ErrImageNeverPull",
})


class ResolvedLike(Protocol):
    digest: str
    child_digests: Any  # dict platform -> digest (buildgate.oci) or a list of digests


Resolver = Callable[[str, str], "ResolvedLike | None"]


def _with_source(reader: ClusterReader, result: CheckResult) -> CheckResult:
    """``result`` with the cluster (and any credential plugin it ran) as its first evidence line."""
    result.evidence.insert(0, reader.describe())
    return result


# -- containers -------------------------------------------------------------------------------
def _live_containers(dep: dict, where: str) -> dict[str, str]:
    out = {}
    for i, c in enumerate(F.objects(dep, "spec.template.spec.containers", where, "Deployment")):
        at = f"spec.template.spec.containers[{i}]."
        out[F.text(c, "name", where, "Deployment", prefix=at)] = F.text(c, "image", where, "Deployment", prefix=at)
    return out


def k5_containers_use_images(reader: ClusterReader, expected: list[ExpectedDeployment]) -> CheckResult:
    """Each rendered Deployment exists and each of its containers uses the rendered image."""
    results: list[CheckResult] = []
    for exp in expected:
        dep = reader.get_deployment(exp.namespace, exp.name)
        if dep is None:
            results.append(CheckResult.failed(f"Deployment {exp.ref} (rendered from {exp.source or 'the kustomization'})",
                                              "no such Deployment in the cluster", exp.ref))
            continue
        live = _live_containers(dep, exp.ref)
        for c in exp.containers:
            where = f"{exp.ref} container {c.name}"
            found = live.get(c.name)
            if found is None:
                results.append(CheckResult.failed(f"container {c.name} running {c.image}",
                                                  f"no container {c.name} (containers: {', '.join(live) or 'none'})",
                                                  exp.ref))
            elif found != c.image:
                results.append(CheckResult.failed(c.image + (f" (from {c.source})" if c.source else ""), found, where))
            else:
                results.append(CheckResult.passed(f"{where} uses {found}",
                                                  [f"{where}: image {found} as rendered" +
                                                   (f" from {c.source}" if c.source else "")]))
    return _with_source(reader, CheckResult.combine(results, f"{len(expected)} Deployment(s) use the kustomization's images"))


# -- rollouts ---------------------------------------------------------------------------------
def _pods_of(reader: ClusterReader, dep: dict, namespace: str | None = None, name: str | None = None) -> list[dict]:
    where = F.ref_of(dep, "Deployment", namespace, name)
    ns = F.text(dep, "metadata.namespace", where, "Deployment", namespace or "")
    sel = selector_string(F.get(dep, "spec.selector", dict, where, "Deployment"), where)
    if not sel:
        raise CannotDecide("Deployment has an empty selector", where)
    pods = reader.list_pods(ns, sel)
    out = []
    for p in pods:
        if not F.get(p, "metadata.deletionTimestamp", str, F.ref_of(p, "Pod", ns), "Pod"):
            out.append(p)
    return out


def rollout_observation(dep: dict | None, pods: list[dict], where: str | None = None) -> Observation:
    """Done, pending or degraded, the way ``kubectl rollout status`` decides it.

    Every field read is type-checked: a malformed Deployment or pod is a
    :class:`~buildgate.errors.ProtocolError` naming the field and ``namespace/Deployment/name``.
    """
    if dep is None:
        return Observation(PENDING, "the Deployment does not exist")
    where = where or F.ref_of(dep, "Deployment")
    kind = "Deployment"
    for section in ("metadata", "spec", "status"):
        F.get(dep, section, dict, where, kind)
    rv = F.text(dep, "metadata.resourceVersion", where, kind) or None
    want = F.integer(dep, "spec.replicas", where, kind, 1)
    gen = F.integer(dep, "metadata.generation", where, kind)
    observed = F.integer(dep, "status.observedGeneration", where, kind)
    updated, total = F.integer(dep, "status.updatedReplicas", where, kind), F.integer(dep, "status.replicas", where, kind)
    available = F.integer(dep, "status.availableReplicas", where, kind)
    summary = (f"{updated}/{want} updated, {available} available, {total} total, "
               f"observedGeneration {observed}/{gen}")
    conds = F.objects(dep, "status.conditions", where, kind)
    reasons = [(F.ref_of(p, "Pod"), w) for p in pods for w in waiting_reasons(p)]  # validates every pod
    if observed >= gen and updated >= want and total <= updated and available >= updated:
        return Observation(DONE, summary, rv)
    for i, c in enumerate(conds):
        at = f"status.conditions[{i}]."
        if (F.text(c, "type", where, kind, prefix=at) == "Progressing"
                and F.text(c, "reason", where, kind, prefix=at) == "ProgressDeadlineExceeded"):
            return Observation(DEGRADED, f"{summary}; ProgressDeadlineExceeded: "
                                         f"{F.text(c, 'message', where, kind, prefix=at)}", rv)
    bad = [(ref, w) for ref, w in reasons if w[1] in BAD_WAITING]
    if bad:
        ref, (cname, reason, _msg, restarts) = bad[0]
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        return Observation(DEGRADED, f"{summary}; pod {ref.rsplit('/', 1)[-1]} container {cname} "
                                     f"{reason}, {restarts} restarts{more}", rv)
    return Observation(PENDING, summary, rv)


def rollout_complete(reader: ClusterReader, namespace: str, name: str, budget: WaitBudget) -> CheckResult:
    """One Deployment's rollout completes within ``budget``; evidence on failure."""
    ref = f"{namespace}/Deployment/{name}"
    seen: dict[str, Any] = {}

    def observe() -> Observation:
        dep = reader.get_deployment(namespace, name)
        pods = _pods_of(reader, dep, namespace, name) if dep is not None else []
        seen["dep"], seen["pods"] = dep, pods
        return rollout_observation(dep, pods, ref)

    def wake(obs: Observation, seconds: float) -> None:
        reader.wait_for_change(DEPLOYMENTS, namespace, name, obs.resource_version, seconds)

    out = eventually(observe, budget, wake)
    if out.ok:
        return CheckResult.passed(f"rollout of {ref} complete ({out.last.summary})",
                                  [f"{ref}: rollout complete {out.describe()}: {out.last.summary}",
                                   rollout_line(seen["dep"])])
    evidence = [f"{ref}: {out.end} {out.describe()}; last state: {redact(out.last.summary)}"]
    if seen.get("dep") is not None:
        evidence += deployment_evidence(reader, seen["dep"], seen.get("pods") or [])
    if out.end == DEGRADED:
        found = f"Degraded {out.describe()}, grace {budget.degraded_grace:g}s: {out.last.summary}"
    else:
        found = f"not complete {out.describe()}: {out.last.summary}"
    return CheckResult.failed(f"rollout of {name} complete", redact(found), ref, evidence)


def k5_rollouts_complete(reader: ClusterReader, expected: list[ExpectedDeployment], budget: WaitBudget) -> CheckResult:
    """Every rendered Deployment's rollout completes, all within one ``budget`` (the step's):
    each Deployment waits only for what the ones before it left (at least one look each)."""
    start = time.monotonic()
    results = []
    for e in expected:
        left = max(0.0, budget.timeout - (time.monotonic() - start))
        results.append(rollout_complete(reader, e.namespace, e.name, replace(budget, timeout=left)))
    return _with_source(reader, CheckResult.combine(results, f"{len(expected)} rollout(s) complete"))


# -- digests ----------------------------------------------------------------------------------
def image_id_digest(image_id: str) -> str | None:
    """The registry digest in a container status ``imageID`` (``name@sha256:..``,
    ``docker-pullable://name@sha256:..``), or None when it carries none."""
    ref = image_id.split("://", 1)[-1]
    if "@" not in ref:
        return None
    digest = ref.rsplit("@", 1)[1]
    return digest if digest.startswith("sha256:") and len(digest) == 71 else None


def _children(resolved: ResolvedLike) -> list[str]:
    kids = getattr(resolved, "child_digests", None) or []
    return list(kids.values()) if isinstance(kids, dict) else list(kids)


def _allowed_digests(c: ExpectedContainer, resolve: Resolver) -> tuple[set[str], str, list[str]] | CheckResult:
    """Digests a pod may run for ``c``, the registry's digest to name, and evidence."""
    if c.digest:  # the kustomization pins a digest itself
        return {c.digest}, c.digest, [f"{c.image}: digest pinned in the kustomization"]
    if not c.tag:
        raise CannotDecide(f"image {c.image} has neither tag nor digest", c.source)
    resolved = resolve(c.image_name, c.tag)
    if resolved is None:
        return CheckResult.failed(f"tag {c.tag} of {c.image_name} in the registry", "no such tag",
                                  f"{c.image_name}:{c.tag}")
    kids = _children(resolved)
    allowed = {resolved.digest, *kids}
    ev = [f"registry: {c.image_name}:{c.tag} -> {resolved.digest}"
          + (f" (platform manifests {', '.join(kids)})" if kids else "")]
    return allowed, resolved.digest, ev


def k5_pods_run_registry_digests(reader: ClusterReader, expected: list[ExpectedDeployment],
                              resolve: Resolver) -> CheckResult:
    """Every running pod of every rendered Deployment runs the registry's digest of its tag."""
    results: list[CheckResult] = []
    for exp in expected:
        built = [c for c in exp.containers if c.built]
        if not built:
            continue
        dep = reader.get_deployment(exp.namespace, exp.name)
        if dep is None:
            results.append(CheckResult.failed(f"Deployment {exp.ref}", "no such Deployment in the cluster", exp.ref))
            continue
        want = F.integer(dep, "spec.replicas", exp.ref, "Deployment", 1)
        if want == 0:
            raise CannotDecide("the Deployment is scaled to 0: no pod runs the image", exp.ref)
        pods = _pods_of(reader, dep, exp.namespace, exp.name)
        if not pods:
            results.append(CheckResult.failed(f"{want} pod(s) of {exp.name} running", "no pods", exp.ref))
            continue
        for c in built:
            got = _allowed_digests(c, resolve)
            if isinstance(got, CheckResult):
                results.append(got)
                continue
            allowed, registry_digest, ev = got
            results.append(_pods_digest(exp, c, pods, allowed, registry_digest, ev))
    if not results:
        raise CannotDecide("no rendered Deployment runs an image the workflow builds")
    return _with_source(reader, CheckResult.combine(results, "every pod runs the registry digest of its tag"))


def _pods_digest(exp: ExpectedDeployment, c: ExpectedContainer, pods: list[dict], allowed: set[str],
                 registry_digest: str, evidence: list[str]) -> CheckResult:
    bad: list[CheckResult] = []
    for p in pods:
        ref = F.ref_of(p, "Pod", exp.namespace)
        where = f"{ref} container {c.name}"
        spec_image = None
        for i, x in enumerate(F.objects(p, "spec.containers", ref, "Pod")):
            at = f"spec.containers[{i}]."
            if F.text(x, "name", ref, "Pod", prefix=at) == c.name:
                spec_image = F.text(x, "image", ref, "Pod", prefix=at)
        image_id = ""
        for i, st in enumerate(F.objects(p, "status.containerStatuses", ref, "Pod")):
            at = f"status.containerStatuses[{i}]."
            if F.text(st, "name", ref, "Pod", prefix=at) == c.name:
                image_id = F.text(st, "imageID", ref, "Pod", prefix=at)
                break
        if not image_id:
            bad.append(CheckResult.failed(f"{c.image} running at {registry_digest}", "no imageID yet (not started)",
                                          where, [pod_line(p)]))
            continue
        digest = image_id_digest(image_id)
        if digest is None:
            raise CannotDecide(f"imageID {image_id!r} carries no registry digest; can't compare it", where)
        evidence.append(f"{where}: imageID {image_id}")
        if digest in allowed:
            continue
        if spec_image == c.image:
            found = f"{digest}: the tag {c.tag} now points to {registry_digest}, not to what the pod pulled"
        else:
            found = f"{digest} from image {spec_image}"
        bad.append(CheckResult.failed(f"{c.image} at {registry_digest} (registry)", found, where, [pod_line(p)]))
    if bad:
        return CheckResult(False, "; ".join(b.message for b in bad), evidence + [e for b in bad for e in b.evidence])
    return CheckResult.passed(f"{exp.ref} container {c.name}: {len(pods)} pod(s) run {registry_digest}", evidence)
