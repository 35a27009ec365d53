"""K6: the Argo CD Application is Synced and Healthy at a revision that holds the kustomization change.

"Holds" is decided with the repository's history: the Application's revision must be the
kustomization commit (the last commit that touched the kustomization file) or a descendant of
it. The check waits (budget ``cluster.wait.sync``) for Argo CD to catch up; a Degraded app, or a
failed sync operation, fails once it has lasted the grace period.
"""
from __future__ import annotations

from typing import Any

from buildgate.cluster.config import WaitBudget
from buildgate.cluster.evidence import application_evidence, redact
from buildgate.cluster.reader import APPLICATIONS, ClusterReader
from buildgate.cluster.wait import DEGRADED, DONE, PENDING, Observation, eventually
from buildgate.errors import CannotDecide, InputError
from buildgate.repo import Repo
from buildgate.result import CheckResult


def kustomization_commit(repo: Repo, path: str) -> str:
    """The last commit (from the repository's revision) that touched ``path``."""
    out = repo.git("log", "-1", "--format=%H", repo.rev or "HEAD", "--", path).strip()
    if not out:
        raise InputError("no commit touches the kustomization file", path)
    return out


def revisions_of(app: dict) -> list[str]:
    sync = (app.get("status") or {}).get("sync") or {}
    if sync.get("revision"):
        return [str(sync["revision"])]
    return [str(r) for r in sync.get("revisions") or [] if r]


def contains(repo: Repo, revision: str, commit: str) -> bool | None:
    """True when ``revision`` is ``commit`` or a descendant; None when the repo doesn't know it."""
    full = repo.try_rev_parse(revision)
    if full is None:
        return None
    return repo.is_ancestor(commit, full)


def application_observation(app: dict | None, repo: Repo, commit: str) -> Observation:
    if app is None:
        return Observation(PENDING, "no such Application")
    st = app.get("status") or {}
    sync = (st.get("sync") or {}).get("status") or "Unknown"
    health = (st.get("health") or {}).get("status") or "Unknown"
    phase = (st.get("operationState") or {}).get("phase")
    revs = revisions_of(app)
    verdicts = {r: contains(repo, r, commit) for r in revs}
    if not revs:
        rev_text = "no revision"
    else:
        rev_text = ", ".join(
            f"{r[:12]} ({'contains' if v else 'unknown to the repository' if v is None else 'does not contain'} "
            f"{commit[:7]})" for r, v in verdicts.items())
    summary = f"sync {sync} at {rev_text}, health {health}" + (f", operation {phase}" if phase else "")
    rv = (app.get("metadata") or {}).get("resourceVersion")
    facts = [f"unknown:{r}" for r, v in verdicts.items() if v is None]
    if sync == "Synced" and health == "Healthy" and revs and any(verdicts.values()):
        return Observation(DONE, summary, rv, facts)
    if health == "Degraded" or phase in ("Failed", "Error"):
        return Observation(DEGRADED, summary, rv, facts)
    return Observation(PENDING, summary, rv, facts)


def application_deployed(reader: ClusterReader, namespace: str, name: str, repo: Repo, kustomization: str,
                         budget: WaitBudget) -> CheckResult:
    """K6, waiting up to ``budget`` for Argo CD to sync the kustomization commit."""
    ref = f"{namespace}/Application/{name}"
    commit = kustomization_commit(repo, kustomization)
    expected = (f"Application {name} Synced and Healthy at a revision containing {commit[:7]} "
                f"(last commit touching {kustomization})")
    if not reader.argocd_served():
        raise CannotDecide("the cluster does not serve applications.argoproj.io/v1alpha1: the Argo CD "
                           "Application CRD is missing (is Argo CD installed in this cluster?)", ref)
    first = reader.get_application(namespace, name)
    if first is None:
        return CheckResult.failed(expected, "no such Application", ref)
    seen: dict[str, Any] = {"app": first}

    def observe() -> Observation:
        app = seen.pop("app", None) if "app" in seen else reader.get_application(namespace, name)
        seen["last"] = app
        return application_observation(app, repo, commit)

    def wake(obs: Observation, seconds: float) -> None:
        reader.wait_for_change(APPLICATIONS, namespace, name, obs.resource_version, seconds)

    out = eventually(observe, budget, wake)
    last = seen.get("last")
    evidence = [f"kustomization commit {commit} (last commit touching {kustomization})",
                f"{ref}: {out.end} {out.describe()}; last state: {redact(out.last.summary)}"]
    if last is not None:
        evidence += application_evidence(last)
    if out.ok:
        return CheckResult.passed(f"{ref} {out.last.summary}", evidence)
    unknown = [f[len("unknown:"):] for f in out.last.facts if f.startswith("unknown:")]
    if unknown and "sync Synced" in out.last.summary and "health Healthy" in out.last.summary:
        raise CannotDecide(f"Application revision {unknown[0]} is not in the local repository; fetch it "
                           f"to decide whether it contains {commit[:7]}", ref)
    if out.end == DEGRADED:
        found = f"Degraded {out.describe()}, grace {budget.degraded_grace:g}s: {out.last.summary}"
    else:
        found = f"{out.last.summary} {out.describe()}"
    return CheckResult.failed(expected, redact(found), ref, evidence)

