"""Claim audit: which statements of a resolution document are true, down to the check that decides each.

- :mod:`.document` reads the document (refused up front over 2 MiB) into claims: ✅ lines, list
  items and numbered steps under any heading, key/value lines, lines naming inline-code paths,
  image references or commands, and every command of a fenced shell block (never run);
- :mod:`.mapping` maps each claim to the checks that decide it: criteria (``W9``), parts
  (``W9.retry``) or claim checks (``file exists``), from reviewed maps (RE2 patterns: linear
  time); ``claims-mo-3t8p.yml`` sits on top of ``claims-default.yml``;
- :mod:`.checks` holds the claim checks (what a claim names, checked on its own);
- :mod:`.judging` decides each claim: verified, contradicted (by its first failing check, with
  that check's message and ``file:line`` evidence) or unverifiable ("no check" when nothing maps
  to it: such a claim stays in the report, never dropped);
- :mod:`.history` follows the claims across a history: when each started or stopped holding.

Public API: :func:`audit` (the pytest side), :func:`read_document`, :func:`extract_claims`,
:func:`load_mapping`, :func:`map_claims`, :func:`judge`, :class:`Runner`, :class:`Finding`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from buildgate.claims.checks import CLAIM_CHECKS, run_claim_check, subject_checks
from buildgate.claims.document import MAX_CLAIMS, MAX_DOC_BYTES, Claim, extract_claims, read_document
from buildgate.claims.judging import Finding, Reuse, Runner, RunPart, judge
from buildgate.claims.mapping import BASE_MAPPING, DEFAULT_MAPPING, Mapping, Rule, load_mapping, map_claims
from buildgate.claims.patterns import compile_pattern

__all__ = [
    "BASE_MAPPING", "CLAIM_CHECKS", "Claim", "DEFAULT_MAPPING", "Finding", "MAX_CLAIMS", "MAX_DOC_BYTES", "Mapping",
    "Reuse", "Rule", "RunPart", "Runner", "audit", "claims_of", "compile_pattern", "extract_claims", "judge",
    "load_mapping", "map_claims", "read_document", "run_claim_check", "subject_checks",
]


def claims_of(document: str | Path, mapping: str | Path | Mapping = DEFAULT_MAPPING) -> list[Claim]:
    """The mapped claims of ``document`` (read, extracted and mapped; nothing is run)."""
    loaded = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
    return map_claims(extract_claims(read_document(document), str(document)), loaded)


def audit(document: str | Path, run_part: RunPart, mapping: str | Path = DEFAULT_MAPPING) -> dict[str, Any]:
    """Extract, map and judge the claims of ``document``; the ``claims`` section of a report."""
    loaded = load_mapping(mapping)
    result = judge(claims_of(document, loaded), run_part)
    result["document"] = str(document)
    result["mapping"] = loaded.files
    if loaded.notes:
        result["notes"] = list(loaded.notes)
    return result
