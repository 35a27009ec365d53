"""Registry checks G1-G6 and K4. Each returns a :class:`CheckResult` covering every image.

A 404 is data (a failed check); a registry that can't be talked to raises a ``RemoteError``
(verdict: error). Messages name the image, the tag, the digest and what was expected.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence, Union

from buildgate.errors import CannotDecide
from buildgate.oci.attestations import (
    LABEL_REVISION,
    LABEL_SOURCE,
    commit_matches,
    find_attestations,
    image_labels,
    platform_images,
    provenance_claims,
    read_statement,
)
from buildgate.oci.client import RegistryClient, ResolvedTag
from buildgate.repo_url import repo_key
from buildgate.result import CheckResult

_HEX = re.compile(r"[0-9a-f]{7,40}")


def github_url(github: str) -> str:
    """``ardenone/moltbook-org`` -> ``https://github.com/ardenone/moltbook-org``."""
    return f"https://github.com/{github}"


def commit_tags(tags: Iterable[str], commit: str) -> list[str]:
    """The tags that name ``commit`` (they hold a >=7-hex prefix of it): the tags that change
    with every commit, whatever format the workflow gives them (``abc1234``, ``sha-abc1234``,
    ``main-abc1234``, the full sha)."""
    c = commit.lower()
    out = []
    for tag in tags:
        if any(c.startswith(m.group(0)) for m in _HEX.finditer(tag.lower())):
            out.append(tag)
    return out


def require_commit_tags(tags: Sequence[str], commit: str) -> list[str]:
    found = commit_tags(tags, commit)
    if not found:
        raise CannotDecide(
            f"the workflow computes no tag naming commit {commit[:12]} for a push to the default branch "
            f"(computed: {', '.join(tags) or 'none'}; see W6)"
        )
    return found


Tags = Union[Sequence[str], Mapping[str, Sequence[str]]]
"""The tags the workflow computes for the commit: one list for every image, or per image."""


def _tags_for(tags: Tags, image: str) -> list[str]:
    if isinstance(tags, Mapping):
        if image not in tags:
            raise CannotDecide(f"the workflow model computes no tags for {image} (see W4/W6)", image)
        return list(tags[image])
    return list(tags)


def _ref(image: str, tag: str, digest: str | None = None) -> str:
    return f"{image}:{tag}@{digest}" if digest else f"{image}:{tag}"


def _missing(image: str, tag: str, why: str) -> CheckResult:
    return CheckResult.failed(f"{image}:{tag} to exist{why}", "no such tag in the registry (404)", image,
                              [f"{image}:{tag}: absent"])


# -- G1 / G2 ----------------------------------------------------------------------------------------
def g1_tag_exists(client: RegistryClient, images: Sequence[str], tag: str = "latest") -> CheckResult:
    """G1: ``tag`` exists for every image."""
    results = []
    for image in images:
        r = client.resolve_tag(image, tag)
        if r is None:
            results.append(_missing(image, tag, ""))
        else:
            results.append(CheckResult.passed("", [f"{_ref(image, tag, r.digest)} ({r.media_type})"]))
    return CheckResult.combine(results, f"{tag!r} exists for {len(images)} image(s)")


def g2_commit_tags_exist(client: RegistryClient, images: Sequence[str], expected_tags: Tags, commit: str) -> CheckResult:
    """G2: every tag the workflow computes for ``commit`` that names the commit exists, per image."""
    results = []
    shown: set[str] = set()
    for image in images:
        wanted = require_commit_tags(_tags_for(expected_tags, image), commit)
        shown.update(wanted)
        for tag in wanted:
            r = client.resolve_tag(image, tag)
            if r is None:
                results.append(_missing(image, tag, f" (the workflow's tag for commit {commit[:12]})"))
            else:
                results.append(CheckResult.passed("", [f"{_ref(image, tag, r.digest)} names commit {commit[:12]}"]))
    return CheckResult.combine(results, f"commit tag(s) {', '.join(sorted(shown))} exist for {len(images)} image(s)")


# -- G3 ---------------------------------------------------------------------------------------------
def g3_same_digest(client: RegistryClient, images: Sequence[str], expected_tags: Tags, commit: str,
                moving_tag: str = "latest") -> CheckResult:
    """G3: ``latest`` and the commit tag(s) resolve to the same digest, per image."""
    results = []
    for image in images:
        wanted = require_commit_tags(_tags_for(expected_tags, image), commit)
        a = client.resolve_tag(image, moving_tag)
        for tag in wanted:
            b = client.resolve_tag(image, tag)
            if a is None or b is None:
                missing = ", ".join(t for t, r in ((moving_tag, a), (tag, b)) if r is None)
                results.append(CheckResult.failed(f"{image}:{moving_tag} and {image}:{tag} on the same digest",
                                                  f"{missing} missing (404)", image))
            elif a.digest != b.digest:
                results.append(CheckResult.failed(
                    f"{image}:{moving_tag} to resolve to {b.digest} like {image}:{tag}",
                    f"{a.digest} (stale {moving_tag}?)", _ref(image, moving_tag, a.digest),
                    [f"{_ref(image, moving_tag, a.digest)}", f"{_ref(image, tag, b.digest)}"]))
            else:
                results.append(CheckResult.passed("", [f"{image}:{moving_tag} = {image}:{tag} = {a.digest}"]))
    return CheckResult.combine(results, f"{moving_tag} and the commit tag share a digest for {len(images)} image(s)")


# -- G4 / G5 / G6 ----------------------------------------------------------------------------------
def _subjects(client: RegistryClient, images: Sequence[str], expected_tags: Tags, commit: str
              ) -> tuple[list[tuple[str, str, ResolvedTag]], list[CheckResult]]:
    """The distinct (image, tag, resolved) to inspect: each commit tag of each image."""
    subjects, failures = [], []
    for image in images:
        wanted = require_commit_tags(_tags_for(expected_tags, image), commit)
        seen: set[str] = set()
        for tag in wanted:
            r = client.resolve_tag(image, tag)
            if r is None:
                failures.append(_missing(image, tag, " to read what was built for the commit"))
            elif r.digest not in seen:
                seen.add(r.digest)
                subjects.append((image, tag, r))
    return subjects, failures


def g4_attestations_present(client: RegistryClient, images: Sequence[str], expected_tags: Tags, commit: str) -> CheckResult:
    """G4: an SPDX SBOM and a SLSA provenance for every platform image of each commit tag."""
    subjects, results = _subjects(client, images, expected_tags, commit)
    for image, tag, r in subjects:
        atts = find_attestations(client, r)
        if not atts:
            results.append(CheckResult.failed(f"{image}:{tag} to hold at least one platform image",
                                              "an index without platform images", _ref(image, tag, r.digest)))
        for platform, pa in atts.items():
            where = f"{image}@{pa.image_digest} ({platform}, tag {tag})"
            lacking = [name for name, found in (("an SPDX SBOM", pa.sbom), ("a SLSA provenance", pa.provenance)) if not found]
            if lacking:
                kinds = sorted({s.predicate_type for s in pa.statements}) or ["no attestation"]
                note = f"; {pa.notes[0]}" if pa.notes else ""
                results.append(CheckResult.failed(" and ".join(lacking) + " attestation",
                                                  ", ".join(kinds) + note, where))
            else:
                origins = sorted({s.origin for s in pa.statements})
                results.append(CheckResult.passed("", [
                    f"{where}: SBOM {pa.sbom[0].predicate_type}, provenance {pa.provenance[0].predicate_type} "
                    f"(from {', '.join(origins)}; attestation manifest {pa.provenance[0].manifest_digest})"]))
    return CheckResult.combine(results, "SBOM and provenance attestations present for every platform image")


def g5_provenance_matches(client: RegistryClient, images: Sequence[str], expected_tags: Tags, commit: str,
                       repo_url: str) -> CheckResult:
    """G5: each platform image's provenance names ``repo_url`` and ``commit`` (and attests that image)."""
    want_repo = repo_key(repo_url)
    subjects, results = _subjects(client, images, expected_tags, commit)
    for image, tag, r in subjects:
        for platform, pa in find_attestations(client, r).items():
            where = f"{image}@{pa.image_digest} ({platform}, tag {tag})"
            if not pa.provenance:
                results.append(CheckResult.failed(f"a SLSA provenance naming {repo_url}@{commit[:12]}",
                                                  "no provenance attestation", where))
                continue
            stmt = pa.provenance[0]
            claims = provenance_claims(read_statement(client, image, stmt))
            pwhere = f"{image}@{stmt.layer_digest} (provenance of {platform}, tag {tag})"
            repos = {repo_key(v) for v, _ in claims.repos}
            good_commits = [(v, p) for v, p in claims.commits if commit_matches(v, commit)]
            bad_commits = [(v, p) for v, p in claims.commits if not commit_matches(v, commit)]
            problems = []
            if want_repo not in repos:
                found = "; ".join(f"{p}={v}" for v, p in claims.repos) or "no source repository"
                problems.append(CheckResult.failed(f"provenance source {repo_url}", found, pwhere))
            if bad_commits or not good_commits:
                found = "; ".join(f"{p}={v}" for v, p in claims.commits) or "no commit"
                problems.append(CheckResult.failed(f"provenance commit {commit}", found, pwhere))
            if claims.subjects and pa.image_digest not in claims.subjects:
                problems.append(CheckResult.failed(f"provenance subject {pa.image_digest}",
                                                   ", ".join(claims.subjects), pwhere))
            if problems:
                results.extend(problems)
            else:
                results.append(CheckResult.passed("", [
                    f"{pwhere}: {claims.predicate_type} names {want_repo} at "
                    + ", ".join(f"{p}={v}" for v, p in good_commits)]))
    return CheckResult.combine(results, f"provenance names {repo_url} at {commit[:12]} for every platform image")


def g6_labels_match(client: RegistryClient, images: Sequence[str], expected_tags: Tags, commit: str,
                 repo_url: str) -> CheckResult:
    """G6: OCI labels ``org.opencontainers.image.source``/``.revision`` name the repo and commit."""
    want_repo = repo_key(repo_url)
    subjects, results = _subjects(client, images, expected_tags, commit)
    for image, tag, r in subjects:
        for platform, digest in platform_images(r).items():
            labels = image_labels(client, image, digest)
            where = f"{image}@{digest} ({platform}, tag {tag}) config"
            src, rev = labels.get(LABEL_SOURCE), labels.get(LABEL_REVISION)
            bad = []
            if src is None or repo_key(src) != want_repo:
                bad.append(CheckResult.failed(f"label {LABEL_SOURCE}={repo_url}", f"{src!r}" if src is not None else "no such label", where))
            if rev is None or not commit_matches(rev, commit):
                bad.append(CheckResult.failed(f"label {LABEL_REVISION}={commit}", f"{rev!r}" if rev is not None else "no such label", where))
            if bad:
                results.extend(bad)
            else:
                results.append(CheckResult.passed("", [f"{where}: {LABEL_SOURCE}={src}, {LABEL_REVISION}={rev}"]))
    return CheckResult.combine(results, f"OCI labels name {repo_url} at {commit[:12]} for every platform image")


# -- K4 ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageRef:
    """One ``images:`` entry of a kustomization, resolved to the image it deploys."""

    image: str  # newName, or name
    tag: str | None  # newTag
    digest: str | None
    where: str  # file:line


def k4_newtags_exist(client: RegistryClient, refs: Sequence[ImageRef], built_images: Sequence[str]) -> CheckResult:
    """K4: every newTag (or digest) the kustomization sets for a built image exists in the registry."""
    results = []
    covered = set()
    for ref in refs:
        if ref.image not in built_images:
            continue
        covered.add(ref.image)
        if ref.digest:
            found = client.manifest(ref.image, ref.digest)
            if found is None:
                results.append(CheckResult.failed(f"{ref.image}@{ref.digest} to exist", "no such manifest (404)", ref.where))
            else:
                results.append(CheckResult.passed("", [f"{ref.where}: {ref.image}@{ref.digest} exists"]))
            continue
        if not ref.tag:
            results.append(CheckResult.failed(f"a newTag for {ref.image}", "an images: entry without newTag or digest", ref.where))
            continue
        r = client.resolve_tag(ref.image, ref.tag)
        if r is None:
            results.append(CheckResult.failed(f"{ref.image}:{ref.tag} (the kustomization's newTag) to exist in the registry",
                                              "no such tag (404)", ref.where, [f"{ref.where}: {ref.image}:{ref.tag} absent"]))
        else:
            results.append(CheckResult.passed("", [f"{ref.where}: {_ref(ref.image, ref.tag, r.digest)}"]))
    for image in built_images:
        if image not in covered:
            results.append(CheckResult.failed(f"an images: entry with newTag for {image}", "none", refs[0].where.split(":")[0] if refs else "kustomization"))
    return CheckResult.combine(results, f"every newTag of {len(covered)} built image(s) exists in the registry")


def kustomization_refs(repo: object, path: str) -> list[ImageRef]:
    """The ``images:`` entries of the kustomization at ``path`` as :class:`ImageRef` (read with
    :mod:`buildgate.kustomize`, which keeps ``newTag: 0123456`` a string and knows lines)."""
    from buildgate.kustomize import Kustomization

    k = Kustomization.load(repo, path)  # type: ignore[arg-type]
    out = []
    for e in k.images:
        name = e.effective_name
        if name:
            out.append(ImageRef(name, e.new_tag, e.digest, e.where_of("newTag") if e.new_tag else e.where))
    return out
