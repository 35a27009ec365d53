"""The registry layer: a read-only OCI client, attestation reader, and the G1-G6/K4 checks.

Public API (others rely on these names)::

    RegistryClient(*, mirrors=None, timeout=10, credentials=None, verify=True,
                   max_manifest_bytes=..., max_retries=..., request_deadline=60, run_budget=600)
        .resolve_tag(image, tag) -> ResolvedTag | None   # None when the tag is absent (404)
        .tags(image) -> list[str]
        .manifest(image, digest) / .blob(image, digest) / .referrers(image, digest)
        .requests: RequestLog                             # counts per image and kind
    client_from_target(target) -> RegistryClient          # TargetError naming a bad key
Credentials are buildgate.redact.Secret; URLs in messages go through buildgate.redact.safe_url.
"""
from __future__ import annotations

from buildgate.oci.auth import (
    ChainCredentials,
    Credential,
    CredentialSource,
    DockerConfigCredentials,
    EnvCredentials,
    NoCredentials,
    StaticCredentials,
)
from buildgate.oci.client import (
    MANIFEST_ACCEPT,
    Manifest,
    RegistryClient,
    RequestLog,
    RequestRecord,
    ResolvedTag,
    client_from_target,
)

__all__ = [
    "ChainCredentials",
    "Credential",
    "CredentialSource",
    "DockerConfigCredentials",
    "EnvCredentials",
    "MANIFEST_ACCEPT",
    "Manifest",
    "NoCredentials",
    "RegistryClient",
    "RequestLog",
    "RequestRecord",
    "ResolvedTag",
    "StaticCredentials",
    "client_from_target",
]
