"""K6: the Argo CD Application is Synced and Healthy at a revision that holds the kustomization change.

"Holds" is decided with the repository's history. The Application's revision must

1. be the kustomization commit (the last commit that touched the kustomization file) or a
   descendant of it;
2. lie on the default branch's history (an ancestor of, or equal to, the default branch's tip:
   ``default_branch`` resolved locally, ``origin/<branch>`` when there is no local branch, or the
   audited revision when no branch is named). A descendant on another branch -- one that later
   rolled the tags back, say -- is not the change, however it descends;
3. carry the same kustomization ``images:`` as the audited revision (name, newName, newTag,
   digest), read from the revision itself.

The check waits (budget ``cluster.wait.sync``) for Argo CD to catch up; a Degraded app, or a
failed sync operation, fails once it has lasted the grace period.

Only what Argo CD itself resolved counts: the revision must be a full commit id (a symbolic
``HEAD``/``main``/``main~0`` would be resolved in the local clone: :class:`CannotDecide`), and
the Application must deploy the kustomization's folder of the target's repository
(``spec.source`` or one of ``spec.sources``; otherwise a failure naming both). Every field read
from the Application is type-checked (:mod:`buildgate.cluster.fields`).
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Any, Sequence

from buildgate.cluster import fields as F
from buildgate.cluster.config import WaitBudget
from buildgate.cluster.evidence import application_evidence
from buildgate.redact import redact
from buildgate.cluster.reader import APPLICATIONS, ClusterReader
from buildgate.cluster.wait import DEGRADED, DONE, PENDING, Observation, eventually
from buildgate.errors import BuildgateError, CannotDecide, InputError
from buildgate.kustomize import Kustomization
from buildgate.gitops import application_overrides, built_image_aliases
from buildgate.gitops.objects import clean_path
from buildgate.repo_url import repo_key
from buildgate.oci.checks import github_url
from buildgate.repo import Repo
from buildgate.result import CheckResult


def kustomization_commit(repo: Repo, path: str) -> str:
    """The last commit (from the repository's revision) that touched ``path``."""
    out = repo.git("log", "-1", "--format=%H", repo.rev or "HEAD", "--", path).strip()
    if not out:
        raise InputError("no commit touches the kustomization file", path)
    return out


KIND = "Application"
_FULL_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def kustomization_folder(kustomization: str) -> str:
    """The folder Argo CD must deploy from: ``k8s/kustomization.yml`` -> ``k8s`` (root: ``""``)."""
    return clean_path(posixpath.dirname(kustomization))


def sources_of(app: dict) -> list[tuple[str, dict]]:
    """``(field, source)`` for each source: ``spec.sources[i]`` (multi-source), else ``spec.source``."""
    where = ref_of(app)
    multi = F.objects(app, "spec.sources", where, KIND)
    if multi:
        return [(f"spec.sources[{i}]", s) for i, s in enumerate(multi)]
    return [("spec.source", F.get(app, "spec.source", dict, where, KIND, {}))]


def source_text(field: str, src: dict, where: str) -> str:
    url = F.text(src, "repoURL", where, KIND, prefix=field + ".") or "(none)"
    path = F.text(src, "path", where, KIND, prefix=field + ".")
    return f"{field} {url} path {path or '(root)'}"


def matching_sources(app: dict, github: str | None, folder: str) -> list[int]:
    """Indexes (into :func:`sources_of`) of the sources that deploy ``folder`` of ``github``
    (``ORG/REPO``; None: any repository). URLs compare normalised (``https://github.com/O/R(.git)``,
    ``git@github.com:O/R.git``, ``ssh://``, case), paths after ``normpath``."""
    where = ref_of(app)
    want_url = repo_key(github) if github else None
    out = []
    for i, (field, src) in enumerate(sources_of(app)):
        url = F.text(src, "repoURL", where, KIND, prefix=field + ".")
        path = F.text(src, "path", where, KIND, prefix=field + ".")  # absent: the repository's root
        if want_url is not None and repo_key(url) != want_url:
            continue
        if clean_path(path) != folder:
            continue
        out.append(i)
    return out


def revisions_of(app: dict, sources: list[int] | None = None) -> list[str]:
    """The revisions Argo CD reports (``status.sync.revision``, or ``revisions`` for a
    multi-source app, one per source); with ``sources``, only those sources' revisions."""
    where = ref_of(app)
    single = F.text(app, "status.sync.revision", where, KIND)
    many = F.strings(app, "status.sync.revisions", where, KIND)
    if sources is None:
        return [single] if single else [r for r in many if r]
    if many and F.objects(app, "spec.sources", where, KIND):
        return [many[i] for i in sources if i < len(many) and many[i]]
    return [single] if single and sources else []


def ref_of(app: dict) -> str:
    return F.ref_of(app, KIND)


def commit_id(revision: str, where: str) -> str:
    """``revision`` as a commit id: it must already be a full one (40 or 64 hex digits).

    Argo CD reports the commit it synced; a symbolic name (``HEAD``, ``main``, ``main~0``, a
    tag, a short sha) would be resolved in the *local* clone, which says nothing about what the
    cluster runs, so it is :class:`CannotDecide`. A full id naming an object that is not a
    commit (an annotated tag) is refused too."""
    if not _FULL_COMMIT.fullmatch(revision):
        raise CannotDecide(f"Application revision {revision!r} is not a full commit id (40 or 64 lower-case hex "
                           f"digits); a branch, tag, HEAD or short sha would be resolved in the local clone, not "
                           f"as Argo CD resolved it", where)
    return revision


def contains(repo: Repo, revision: str, commit: str, where: str = "") -> bool | None:
    """True when ``revision`` (a full commit id) is ``commit`` or a descendant; None when the
    repository doesn't know it."""
    full = commit_id(revision, where)
    resolved = repo.try_rev_parse(full)
    if resolved is None:
        return None
    if resolved != full:
        raise CannotDecide(f"Application revision {revision} names a {repo.git('cat-file', '-t', full).strip()} "
                           f"object, not a commit", where)
    return repo.is_ancestor(commit, full)


CONTAINS, MISSING, OFF_BRANCH, OTHER_IMAGES, UNKNOWN = (
    "contains", "does not contain", "not on the default branch", "other kustomization images", "unknown")


@dataclass(frozen=True)
class Baseline:
    """What a revision is judged against: the kustomization commit, the default branch's tip
    and the audited kustomization images."""

    commit: str
    tip: str
    branch: str
    kustomization: str
    images: tuple

    def judge(self, repo: Repo, revision: str, where: str) -> str:
        """One of :data:`CONTAINS`, :data:`MISSING`, :data:`OFF_BRANCH`, :data:`OTHER_IMAGES`,
        :data:`UNKNOWN` (the repository doesn't know the revision)."""
        known = contains(repo, revision, self.commit, where)
        if known is None:
            return UNKNOWN
        if not known:
            return MISSING
        if not repo.is_ancestor(revision, self.tip):
            return OFF_BRANCH
        return CONTAINS if kustomization_images(repo.at(revision), self.kustomization) == self.images else OTHER_IMAGES

    def phrase(self, verdict: str) -> str:
        return {CONTAINS: f"contains {self.commit[:7]}", MISSING: f"does not contain {self.commit[:7]}",
                OFF_BRANCH: f"contains {self.commit[:7]} but is not on {self.branch}'s history",
                OTHER_IMAGES: f"on {self.branch} but its {self.kustomization} images differ from the audited ones",
                UNKNOWN: "unknown to the repository"}[verdict]


def kustomization_images(repo: Repo, path: str) -> tuple:
    """The ``images:`` entries of the kustomization at ``repo``'s revision, as comparable tuples
    (None when the file is missing or unreadable there: it equals nothing audited)."""
    try:
        kust = Kustomization.load(repo, path)
    except BuildgateError:
        return (None,)
    return tuple(sorted((i.name or "", i.new_name or "", i.new_tag or "", i.digest or "") for i in kust.images))


def baseline(repo: Repo, kustomization: str, default_branch: str | None = None) -> Baseline:
    """The kustomization commit, the default branch's tip (``default_branch``, else
    ``origin/<default_branch>``; the audited revision when none is named) and the audited images."""
    if default_branch:
        tip = repo.try_rev_parse(default_branch) or repo.try_rev_parse(f"origin/{default_branch}")
        if tip is None:
            raise InputError(f"default branch {default_branch!r} is not in the local repository (neither "
                             f"{default_branch} nor origin/{default_branch})", str(repo.root))
        branch = default_branch
    else:
        tip, branch = repo.head(), "the audited revision"
    return Baseline(kustomization_commit(repo, kustomization), tip, branch, kustomization,
                    kustomization_images(repo, kustomization))


def application_observation(app: dict | None, repo: Repo, base: Baseline | str, github: str | None = None,
                            folder: str | None = None) -> Observation:
    """One look at the Application. With ``folder`` (and ``github``), only the revisions of the
    sources deploying that folder of that repository count. ``base`` is a :class:`Baseline`
    (a bare commit id: judged against the audited revision)."""
    if app is None:
        return Observation(PENDING, "no such Application")
    if isinstance(base, str):
        base = Baseline(base, repo.head(), "the audited revision", "", ())
    where = ref_of(app)
    sync = F.text(app, "status.sync.status", where, KIND) or "Unknown"
    health = F.text(app, "status.health.status", where, KIND) or "Unknown"
    phase = F.text(app, "status.operationState.phase", where, KIND) or None
    revs = revisions_of(app, matching_sources(app, github, folder) if folder is not None else None)
    verdicts = {r: base.judge(repo, r, where) if base.kustomization else
                (UNKNOWN if (c := contains(repo, r, base.commit, where)) is None else CONTAINS if c else MISSING)
                for r in revs}
    rev_text = ", ".join(f"{r[:12]} ({base.phrase(v)})" for r, v in verdicts.items()) if revs else "no revision"
    summary = f"sync {sync} at {rev_text}, health {health}" + (f", operation {phase}" if phase else "")
    rv = F.text(app, "metadata.resourceVersion", where, KIND) or None
    facts = [f"unknown:{r}" for r, v in verdicts.items() if v == UNKNOWN]
    if sync == "Synced" and health == "Healthy" and revs and CONTAINS in verdicts.values():
        return Observation(DONE, summary, rv, facts)
    if health == "Degraded" or phase in ("Failed", "Error"):
        return Observation(DEGRADED, summary, rv, facts)
    return Observation(PENDING, summary, rv, facts)


def source_mismatch(app: dict, github: str | None, folder: str) -> str | None:
    """None when a source of ``app`` deploys ``folder`` of ``github``; else what it deploys."""
    if matching_sources(app, github, folder):
        return None
    where = ref_of(app)
    return "; ".join(source_text(field, src, where) for field, src in sources_of(app))


def k6_application_deployed(reader: ClusterReader, namespace: str, name: str, repo: Repo, kustomization: str,
                            budget: WaitBudget, github: str | None = None,
                            default_branch: str | None = None, images: Sequence[str] = ()) -> CheckResult:
    """K6, waiting up to ``budget`` for Argo CD to sync the kustomization commit.

    The Application must deploy the kustomization's folder (``spec.source.path``, or one of
    ``spec.sources``) of the target's repository (``github``, ``ORG/REPO``; None skips the
    repository comparison), at a full commit id that is the kustomization commit or a
    descendant of it, on ``default_branch``'s history (None: the audited revision's), whose
    kustomization images equal the audited ones. Its live spec must not override a built image
    (``images``) the way K7 reads the repository's manifests (``kustomize.images``, Helm image
    parameters): Argo CD would deploy that tag instead of the kustomization's.
    """
    ref = f"{namespace}/Application/{name}"
    base = baseline(repo, kustomization, default_branch)
    commit = base.commit
    folder = kustomization_folder(kustomization)
    expected = (f"Application {name} Synced and Healthy at a revision containing {commit[:7]} "
                f"(last commit touching {kustomization}) on {base.branch}'s history, with the audited images")
    if not reader.argocd_served():
        raise CannotDecide("the cluster does not serve applications.argoproj.io/v1alpha1: the Argo CD "
                           "Application CRD is missing (is Argo CD installed in this cluster?)", ref)
    first = reader.get_application(namespace, name)
    if first is None:
        return CheckResult.failed(expected, "no such Application", ref)
    wrong = source_mismatch(first, github, folder)
    if wrong is not None:
        want = f"a source {github_url(github) + ' ' if github else ''}path {folder or '(root)'}"
        return CheckResult.failed(f"Application {name} deploying {want} (the folder of {kustomization})",
                                  redact(wrong), ref, application_evidence(first))
    overrides = application_overrides(first, images, github, folder,
                                      aliases=built_image_aliases(repo, kustomization, images)) if images else []
    if overrides:
        return CheckResult.failed(f"Application {name} applying the kustomization's images as they are",
                                  redact("; ".join(o.describe() for o in overrides)), ref, application_evidence(first))
    seen: dict[str, Any] = {"app": first}

    def observe() -> Observation:
        app = seen.pop("app", None) if "app" in seen else reader.get_application(namespace, name)
        seen["last"] = app
        return application_observation(app, repo, base, github, folder)

    def wake(obs: Observation, seconds: float) -> None:
        reader.wait_for_change(APPLICATIONS, namespace, name, obs.resource_version, seconds)

    out = eventually(observe, budget, wake)
    last = seen.get("last")
    evidence = [reader.describe(),
                f"kustomization commit {commit} (last commit touching {kustomization}); default branch tip "
                f"{base.tip[:12]} ({base.branch}); audited images: "
                + (", ".join(f"{n} newName {nn or '-'} newTag {t or '-'} digest {d or '-'}"
                             for n, nn, t, d in base.images) or "none"),
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

