"""K7: what deploys the kustomization applies its tags.

Each deployer (:mod:`.scan`) is judged on four questions, each True, False or unknown:

* **ours** -- its repository is the target's (URLs compared with :mod:`buildgate.repo_url`);
* **path** -- ``folder`` (the kustomization's folder; for Flux, an ancestor folder with no
  kustomization of its own also deploys it, since Flux generates one that includes it),
  ``images`` (another folder of this repository whose manifests use a built image: it deploys
  them bypassing the kustomization), ``missing`` (no such folder on the default branch), or
  ``other`` (deploys something else, e.g. the Applications of an app-of-apps);
* **overrides** -- each image override hits a built image or not;
* **revision** -- the default branch or not.

It *deploys the kustomization* when it is ours and its path is ``folder``/``images``/``missing``
or it overrides a built image. Then an override of a built image, another revision, or another
path fails K7. Unknowns follow CRITERIA.md: a failure that holds whatever the unknown is fails;
a verdict that depends on it is :class:`CannotDecide` naming the expression and ``file:line``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

from buildgate.redact import redact
from buildgate.errors import BuildgateError, CannotDecide, InputError
from buildgate.gitops.images import BuiltImages, Override
from buildgate.reference import normalize_name
from buildgate.gitops.objects import Deployer
from buildgate.gitops.scan import Scan, folder_of, scan_repository
from buildgate.gitops.values import Unknown
from buildgate.kustomize import Kustomization, find_kustomization, render
from buildgate.repo import Repo
from buildgate.redact import safe_url
from buildgate.repo_url import github_key, repo_key
from buildgate.result import CheckResult

MAX_SCAN_FILES = 2000
MAX_MANIFEST_BYTES = 1024 * 1024
_IMAGE_LINE = re.compile(r"""["']?(image|newName|name)["']?\s*:\s*["']?([^\s"',#}\]]+)""")


def _and(*vals: bool | None) -> bool | None:
    if any(v is False for v in vals):
        return False
    return None if any(v is None for v in vals) else True


def _or(*vals: bool | None) -> bool | None:
    if any(v is True for v in vals):
        return True
    return None if any(v is None for v in vals) else False


@dataclass
class Judgement:
    """What K7 makes of one deployer."""

    dep: Deployer
    relevant: bool | None
    problems: list[tuple[str, str]] = field(default_factory=list)  # (description, where)
    unknowns: list[Unknown] = field(default_factory=list)
    why: Unknown | None = None  # when ``relevant`` is None: the unknown it depends on
    summary: str = ""


class _Paths:
    """Which folders of the repository deploy built images (cached per folder)."""

    def __init__(self, repo: Repo, built: BuiltImages) -> None:
        self.repo = repo
        self.built = built
        self._cache: dict[tuple[str, bool], str] = {}

    def relation(self, dep: Deployer, folder: str) -> str | None:
        if isinstance(dep.path, Unknown):
            return None
        p = dep.path
        if p == folder:
            return "folder"
        if p and not self.repo.is_dir(p):
            return "missing"
        if dep.generates and (p == "" or folder.startswith(p + "/")) and find_kustomization(self.repo, p) is None:
            return "folder"  # Flux generates a kustomization for p that includes the folder's own
        key = (p, dep.recurse)
        if key not in self._cache:
            self._cache[key] = "images" if self._uses_built(p, dep.recurse) else "other"
        return self._cache[key]

    def _uses_built(self, folder: str, recurse: bool) -> bool:
        kfile = find_kustomization(self.repo, folder)
        if kfile is not None:
            try:
                rendered = render(self.repo, kfile, kubectl=False)
                return any(self.built.hits(c.image) for _, c in rendered.containers())
            except BuildgateError:
                recurse = True  # can't render it: look at every manifest below it instead
        prefix = folder + "/" if folder else ""
        files = [p for p in self.repo.tracked_files() if p.startswith(prefix)
                 and (recurse or "/" not in p[len(prefix):]) and p.endswith((".yml", ".yaml", ".json"))]
        for rel in files[:MAX_SCAN_FILES]:
            try:
                text = self.repo.read_bytes(rel, limit=MAX_MANIFEST_BYTES).decode("utf-8", "replace")
            except InputError:
                continue
            for m in _IMAGE_LINE.finditer(text):
                if (m.group(1) != "name" or "/" in m.group(2)) and self.built.hits(m.group(2)):
                    return True
        return False


def built_image_aliases(repo: Repo, kustomization: str, images: Iterable[str]) -> list[str]:
    """Names the kustomization maps onto a built image (``name: api`` with ``newName:
    ghcr.io/org/api``): ``kustomize edit set image api:latest`` rewrites that entry, so an
    override naming ``api`` overrides the built image. ``[]`` when there is no kustomization."""
    keys = {normalize_name(i) for i in images}
    if not repo.exists(kustomization):
        return []
    kust = Kustomization.load(repo, kustomization)
    return [e.name for e in kust.images
            if e.name and e.effective_name and normalize_name(e.effective_name) in keys]


class _Built(BuiltImages):
    def __init__(self, images: Iterable[str], aliases: Callable[[], list[str]]) -> None:
        super().__init__(images)
        self._load = aliases
        self._loaded = False

    def hits(self, name):  # type: ignore[override]
        direct = super().hits(name)
        if direct is False and not self._loaded:
            self._aliases = set(self._load())
            self._loaded = True
            direct = super().hits(name)
        return direct


def judge(dep: Deployer, our_key: str | None, folder: str, default_branch: str, built: BuiltImages,
          paths: _Paths) -> Judgement:
    """Decide one deployer (see the module doc)."""
    hits = [(ov, built.override_hits(ov)) for ov in dep.overrides]
    hit_any = _or(*[h for _, h in hits])
    if dep.url is None:
        ours: bool | None = False
    elif isinstance(dep.url, Unknown):
        ours = None
    elif dep.opaque:
        ours = None if hit_any is not False else False
    elif our_key is None:
        ours = None
    else:
        ours = repo_key(dep.url) == our_key
    # an artifact's folders are not this repository's: only its overrides can matter
    rel = paths.relation(dep, folder) if ours is not False and not dep.opaque else "other"
    rev_ok = dep.revision_ok(default_branch)
    missing_counts = rev_ok if rel == "missing" else None
    path_deploys = {"folder": True, "images": True, "other": False, "missing": missing_counts}.get(rel) \
        if rel is not None else None
    relevant = _and(ours, _or(path_deploys, hit_any))
    j = Judgement(dep, relevant)
    for ov, h in hits:
        if h is True:
            j.problems.append((f"{dep.label} {ov.source} sets {redact(ov.text)} (forces {redact(ov.forces)})",
                               ov.where))
        elif h is None:
            j.unknowns.append(_override_unknown(ov))
    j.unknowns += dep.unknowns
    if rev_ok is False:
        j.problems.append((f"{dep.label} {dep.field} deploys {redact(dep.revision_text())}, not the default "
                           f"branch {default_branch}", dep.revision_where or dep.where))
    elif rev_ok is None:
        j.unknowns.append(dep.revision if isinstance(dep.revision, Unknown) else Unknown("revision", dep.where))
    shown = dep.path or "(root)"
    if rel == "images":
        j.problems.append((f"{dep.label} {dep.field} deploys path {shown}, whose manifests use the built images, "
                           f"not the kustomization's folder {folder or '(root)'}", dep.where))
    elif rel == "missing" and rev_ok is not False:
        j.problems.append((f"{dep.label} {dep.field} deploys path {shown}, which does not exist, not the "
                           f"kustomization's folder {folder or '(root)'}", dep.where))
    elif rel is None:
        j.unknowns.append(dep.path)
    if relevant is None:  # name what makes it unknown whether it deploys the kustomization
        j.why = next((u for u in (dep.url, dep.path) if isinstance(u, Unknown)), None) or (
            Unknown(f"whether the artifact {dep.opaque} holds it", dep.where) if dep.opaque
            else Unknown("the repository identity (no github given)", dep.where) if our_key is None and dep.url
            else next(iter(j.unknowns), Unknown("its source", dep.where)))
    j.summary = _summary(dep, ours, rel, relevant)
    return j


def _override_unknown(ov: Override) -> Unknown:
    for value in (ov.name, ov.new_name, ov.tag, ov.digest):
        if isinstance(value, Unknown):
            return value
    return Unknown(f"{ov.source} {ov.text} (which image the chart's setting is depends on the chart)", ov.where)


def _summary(dep: Deployer, ours: bool | None, rel: str | None, relevant: bool | None) -> str:
    url = dep.url.expr if isinstance(dep.url, Unknown) else safe_url(dep.url) if dep.url else "(no git source)"
    path = dep.path.expr if isinstance(dep.path, Unknown) else (dep.path or "(root)")
    text = f"{dep.where} {dep.label} {dep.field}: {url} path {path} at {dep.revision_text()}"
    if dep.generated:
        text += f" [generated with {dep.generated}]"
    if dep.opaque:
        text += f" [artifact {dep.opaque}]"
    if ours is False:
        text += " -> another repository (ignored)" if dep.url else " -> not a git folder (ignored)"
    elif relevant is False:
        text += f" -> deploys {path} of this repository, not the kustomization ({rel}; ignored)"
    elif relevant is None:
        text += " -> may deploy the kustomization (unknown values)"
    else:
        text += " -> deploys the kustomization"
    return redact(text)


def k7_gitops_applies_tags(repo: Repo, kustomization_path: str, default_branch: str, github: str | None,
                           images: list[str]) -> CheckResult:
    """K7: every GitOps object of the repository deploying the kustomization's folder of this
    repository (``github``: ``ORG/REPO`` or a URL; None: the repository identity is unknown, so
    any object that would fail if it were ours is :class:`CannotDecide`) leaves the built
    ``images`` alone, tracks ``default_branch`` and deploys the kustomization's folder."""
    folder = folder_of(kustomization_path)
    our_key = github_key(github) if github else None
    scan = scan_repository(repo, our_key)
    built = _Built(images, lambda: built_image_aliases(repo, kustomization_path, images))
    paths = _Paths(repo, built)
    judgements = [judge(d, our_key, folder, default_branch, built, paths) for d in scan.deployers]
    return verdict(scan, judgements, folder, default_branch, github)


def verdict(scan: Scan, judgements: list[Judgement], folder: str, default_branch: str,
            github: str | None) -> CheckResult:
    """Combine the judgements: failures first, then unknowns, else a pass saying what deploys."""
    shown_folder = folder or "(root)"
    repo_text = github or "this repository"
    evidence = [f"GitOps objects found: {len(scan.objects)}"]
    evidence += [j.summary for j in judgements]
    evidence += [redact(n) for n in scan.notes]
    for o in scan.objects:
        if o.kind in ("GitRepository", "OCIRepository", "Bucket"):
            evidence.append(f"{o.where} {o.kind} {o.name} (a Flux source)")
    evidence += [f"not read: {s}" for s in scan.skipped]
    problems = [(d, w) for j in judgements if j.relevant is True for d, w in j.problems]
    expected = (f"every GitOps object deploying {shown_folder} of {repo_text} to apply its tags: no override of "
                f"a built image, the default branch {default_branch}, path {shown_folder}")
    if problems:
        evidence += [f"problem: {d} at {w}" for d, w in problems]
        if len(problems) == 1:
            return CheckResult.failed(expected, problems[0][0], problems[0][1], evidence)
        return CheckResult.failed(expected, "; ".join(f"{d} (at {w})" for d, w in problems), None, evidence)
    for exc in scan.unreadable:
        raise exc
    for j in judgements:
        if j.relevant is True and j.unknowns:
            u = j.unknowns[0]
            raise CannotDecide(f"{j.dep.label} {j.dep.field} deploys {shown_folder}; whether it applies its tags "
                               f"depends on {redact(u.expr)}, unknown offline", u.where)
        if j.relevant is None and (j.problems or j.unknowns):
            u = j.why or j.unknowns[0]
            what = "would fail K7" if j.problems else "may change its tags"
            raise CannotDecide(f"{j.dep.label} {j.dep.field} {what} if it deploys {shown_folder} of "
                               f"{repo_text}; that depends on {redact(u.expr)}, unknown offline", u.where)
    deploying = [j for j in judgements if j.relevant is True]
    maybe = [j for j in judgements if j.relevant is None]
    if not deploying and maybe:
        names = ", ".join(f"{j.dep.label} ({j.dep.where})" for j in maybe)
        return CheckResult.passed(
            f"{names} may deploy {shown_folder} of {repo_text} (unknown values) and would apply its tags either "
            f"way; no other GitOps object deploys it", evidence)
    if not deploying:
        return CheckResult.passed(
            f"no GitOps object in the repository deploys {shown_folder} of {repo_text} "
            f"({len(scan.objects)} found; the live object is K6's)", evidence)
    names = ", ".join(f"{j.dep.label} ({j.dep.where})" for j in deploying)
    return CheckResult.passed(
        f"{names} deploy{'s' if len(deploying) == 1 else ''} {shown_folder} of {repo_text} from the default branch "
        f"{default_branch} with no override of a built image", evidence)

