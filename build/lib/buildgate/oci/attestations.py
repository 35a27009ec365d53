"""Attestations (SBOM, provenance) and OCI labels of an image, read from a registry.

Where attestations live, in the order they are looked for:

1. Buildx's layout: inside the image index, one manifest per platform image, with platform
   ``unknown/unknown`` and annotations ``vnd.docker.reference.type=attestation-manifest`` and
   ``vnd.docker.reference.digest=<image manifest>``. The manifest comes in two shapes: a legacy
   image manifest (image config) or an OCI artifact (``artifactType
   application/vnd.docker.attestation.manifest.v1+json``, empty config, ``subject``). Its
   layers are in-toto statements, annotated ``in-toto.io/predicate-type``.
2. OCI referrers of the platform image (where the registry has the API; GHCR has not).
3. cosign's older scheme: a tag ``sha256-<hex>.att`` holding DSSE envelopes.

Predicates understood: SPDX (``https://spdx.dev/Document``) and SLSA provenance v0.2 and v1.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

from buildgate.bounded import loads_json
from buildgate.errors import ProtocolError
from buildgate.oci.client import (
    ATTESTATION_REF_DIGEST,
    ATTESTATION_REF_TYPE,
    Manifest,
    RegistryClient,
    ResolvedTag,
    platform_key,
)

SPDX_PREDICATE = "https://spdx.dev/Document"
SLSA_V02 = "https://slsa.dev/provenance/v0.2"
SLSA_V1 = "https://slsa.dev/provenance/v1"
PROVENANCE_PREDICATES = (SLSA_V02, SLSA_V1)
PREDICATE_ANNOTATION = "in-toto.io/predicate-type"
COSIGN_PREDICATE_ANNOTATION = "predicateType"
IN_TOTO_LAYER = "application/vnd.in-toto+json"
DSSE_LAYER = "application/vnd.dsse.envelope.v1+json"
BUILDX_ARTIFACT_TYPE = "application/vnd.docker.attestation.manifest.v1+json"
BUILDKIT_METADATA = "https://mobyproject.org/buildkit@v1#metadata"
LABEL_SOURCE = "org.opencontainers.image.source"
LABEL_REVISION = "org.opencontainers.image.revision"


@dataclass(frozen=True)
class Statement:
    """One attestation layer: its predicate type and where it was found."""

    predicate_type: str
    origin: str  # "buildx index" | "referrers" | "cosign tag"
    manifest_digest: str  # the attestation manifest
    layer_digest: str
    layer_media_type: str
    subject_digest: str  # the platform image (or index) it attests

    @property
    def is_sbom(self) -> bool:
        return self.predicate_type.startswith(SPDX_PREDICATE)

    @property
    def is_provenance(self) -> bool:
        return self.predicate_type.rstrip("/") in PROVENANCE_PREDICATES


@dataclass
class PlatformAttestations:
    platform: str
    image_digest: str
    statements: list[Statement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def sbom(self) -> list[Statement]:
        return [s for s in self.statements if s.is_sbom]

    @property
    def provenance(self) -> list[Statement]:
        return [s for s in self.statements if s.is_provenance]


def platform_images(resolved: ResolvedTag) -> dict[str, str]:
    """Platform -> image manifest digest; a single-platform tag maps its own platform-less key."""
    if resolved.is_index:
        return dict(resolved.child_digests)
    return {"(single manifest)": resolved.digest}


def find_attestations(client: RegistryClient, resolved: ResolvedTag) -> dict[str, PlatformAttestations]:
    """Attestations per platform image of ``resolved`` (buildx index, then referrers, then cosign)."""
    image = resolved.image
    out = {p: PlatformAttestations(p, d) for p, d in platform_images(resolved).items()}
    by_digest = {pa.image_digest: pa for pa in out.values()}
    if resolved.is_index:
        for desc in resolved.manifest.data.get("manifests") or []:
            if not isinstance(desc, dict):
                continue
            ann = desc.get("annotations") or {}
            if ann.get(ATTESTATION_REF_TYPE) != "attestation-manifest":
                continue
            subject = ann.get(ATTESTATION_REF_DIGEST)
            pa = by_digest.get(subject)
            if pa is None:
                continue  # attests something that is not in this index
            man = client.manifest(image, desc.get("digest", ""))
            if man is None:
                pa.notes.append(f"attestation manifest {desc.get('digest')} listed in the index is missing")
                continue
            if man.data.get("subject") and (man.data["subject"] or {}).get("digest") not in (None, subject):
                pa.notes.append(f"attestation manifest {man.digest} has subject {(man.data['subject'] or {}).get('digest')}, not {subject}")
                continue
            pa.statements.extend(_statements(client, image, man, "buildx index", subject))
    for pa in out.values():
        if pa.statements:
            continue
        refs = client.referrers(image, pa.image_digest)
        if refs is not None:
            for desc in refs:
                man = client.manifest(image, desc.get("digest", ""))
                if man is not None:
                    pa.statements.extend(_statements(client, image, man, "referrers", pa.image_digest))
        if pa.statements:
            continue
        for digest in dict.fromkeys([pa.image_digest, resolved.digest]):
            tag = digest.replace(":", "-", 1) + ".att"
            att = client.resolve_tag(image, tag)
            if att is not None:
                pa.statements.extend(_statements(client, image, att.manifest, "cosign tag", digest))
    return out


def _statements(client: RegistryClient, image: str, man: Manifest, origin: str, subject: str) -> Iterator[Statement]:
    for layer in man.data.get("layers") or []:
        if not isinstance(layer, dict) or not isinstance(layer.get("digest"), str):
            continue
        media = str(layer.get("mediaType", ""))
        ann = layer.get("annotations") or {}
        ptype = ann.get(PREDICATE_ANNOTATION) or ann.get(COSIGN_PREDICATE_ANNOTATION)
        if not ptype and media in (IN_TOTO_LAYER, DSSE_LAYER):
            ptype = read_statement(client, image, layer).get("predicateType")
        if isinstance(ptype, str) and ptype:
            yield Statement(ptype, origin, man.digest, layer["digest"], media, subject)


def read_statement(client: RegistryClient, image: str, layer: dict | Statement) -> dict:
    """The in-toto statement of an attestation layer (a DSSE envelope is unwrapped)."""
    digest = layer.layer_digest if isinstance(layer, Statement) else layer["digest"]
    media = layer.layer_media_type if isinstance(layer, Statement) else layer.get("mediaType", "")
    doc = client.json_blob(image, digest)
    if media == DSSE_LAYER or (isinstance(doc, dict) and "payload" in doc and "payloadType" in doc):
        try:
            payload = base64.b64decode(doc["payload"])
        except (KeyError, ValueError, TypeError):
            raise ProtocolError(f"DSSE envelope {digest} has no readable payload", image) from None
        doc = loads_json(payload, f"DSSE envelope {digest} payload", image)
    if not isinstance(doc, dict) or "predicateType" not in doc:
        raise ProtocolError(f"attestation {digest} is not an in-toto statement", image)
    return doc


# -- provenance -----------------------------------------------------------------------------------
@dataclass
class ProvenanceClaims:
    """What a provenance says about its source: (value, JSON path) pairs."""

    predicate_type: str
    repos: list[tuple[str, str]] = field(default_factory=list)
    commits: list[tuple[str, str]] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)  # sha256 digests the statement is about


_SHA1 = re.compile(r"^[0-9a-f]{7,40}$")


def provenance_claims(statement: dict) -> ProvenanceClaims:
    """Source repository and commit claims of a SLSA v0.2 or v1 statement (BuildKit's layout)."""
    ptype = str(statement.get("predicateType", ""))
    pred = statement.get("predicate") if isinstance(statement.get("predicate"), dict) else {}
    out = ProvenanceClaims(ptype)
    for subj in statement.get("subject") or []:
        if isinstance(subj, dict) and isinstance(subj.get("digest"), dict) and subj["digest"].get("sha256"):
            out.subjects.append("sha256:" + str(subj["digest"]["sha256"]))

    def vcs(meta: Any, path: str) -> None:
        if isinstance(meta, dict):
            v = meta.get(BUILDKIT_METADATA, {})
            v = v.get("vcs") if isinstance(v, dict) else None
            if isinstance(v, dict):
                if isinstance(v.get("source"), str):
                    out.repos.append((v["source"], f"{path}.vcs.source"))
                if isinstance(v.get("revision"), str):
                    out.commits.append((v["revision"], f"{path}.vcs.revision"))

    def source(obj: Any, path: str) -> None:
        if not isinstance(obj, dict):
            return
        uri = obj.get("uri")
        if isinstance(uri, str) and _looks_like_git(uri):
            out.repos.append((uri, f"{path}.uri"))
            sha = (obj.get("digest") or {}).get("sha1") if isinstance(obj.get("digest"), dict) else None
            if isinstance(sha, str):
                out.commits.append((sha, f"{path}.digest.sha1"))

    if ptype.rstrip("/") == SLSA_V1:
        bd = pred.get("buildDefinition") if isinstance(pred.get("buildDefinition"), dict) else {}
        rd = pred.get("runDetails") if isinstance(pred.get("runDetails"), dict) else {}
        ext = bd.get("externalParameters") if isinstance(bd.get("externalParameters"), dict) else {}
        source(ext.get("configSource"), "buildDefinition.externalParameters.configSource")
        for i, dep in enumerate(bd.get("resolvedDependencies") or []):
            source(dep, f"buildDefinition.resolvedDependencies[{i}]")
        vcs(rd.get("metadata"), "runDetails.metadata")
        vcs(bd.get("internalParameters"), "buildDefinition.internalParameters")
        builder = (rd.get("builder") or {}).get("id") if isinstance(rd.get("builder"), dict) else None
    else:
        inv = pred.get("invocation") if isinstance(pred.get("invocation"), dict) else {}
        source(inv.get("configSource"), "predicate.invocation.configSource")
        for i, mat in enumerate(pred.get("materials") or []):
            source(mat, f"predicate.materials[{i}]")
        vcs(pred.get("metadata"), "predicate.metadata")
        builder = (pred.get("builder") or {}).get("id") if isinstance(pred.get("builder"), dict) else None
    if isinstance(builder, str) and "/actions/runs/" in builder:
        out.repos.append((builder.split("/actions/runs/")[0], "builder.id"))
    return out


def _looks_like_git(uri: str) -> bool:
    u = uri.lower()
    return u.startswith("git+") or u.startswith("git@") or ".git" in u or u.startswith("https://github.com/")


def commit_matches(claim: str, commit: str) -> bool:
    """A claimed revision matches the full commit when equal, or a >=7-hex prefix of it."""
    c = claim.strip().lower()
    return bool(_SHA1.match(c)) and commit.lower().startswith(c) and len(c) >= 7


# -- labels -----------------------------------------------------------------------------------------
def image_config(client: RegistryClient, image: str, manifest_digest: str) -> tuple[dict, str]:
    """The image config of a platform manifest, and the config digest."""
    man = client.manifest(image, manifest_digest)
    if man is None:
        raise ProtocolError(f"platform manifest {manifest_digest} listed in the index is missing", image)
    cfg = man.data.get("config")
    if not isinstance(cfg, dict) or not isinstance(cfg.get("digest"), str):
        raise ProtocolError(f"manifest {manifest_digest} has no config descriptor", image)
    doc = client.json_blob(image, cfg["digest"])
    if not isinstance(doc, dict):
        raise ProtocolError(f"config {cfg['digest']} is not a JSON object", image)
    return doc, cfg["digest"]


def image_labels(client: RegistryClient, image: str, manifest_digest: str) -> dict[str, str]:
    doc, _ = image_config(client, image, manifest_digest)
    conf = doc.get("config") if isinstance(doc.get("config"), dict) else {}
    labels = conf.get("Labels") or {}
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


__all__ = [
    "PlatformAttestations",
    "ProvenanceClaims",
    "Statement",
    "commit_matches",
    "find_attestations",
    "image_config",
    "image_labels",
    "platform_images",
    "platform_key",
    "provenance_claims",
    "read_statement",
]
