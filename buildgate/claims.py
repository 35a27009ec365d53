"""Claim audit: which ✅ of a resolution document are true, by the criteria that decide them.

A claim is a line of the document holding ✅, or a list item under a heading (or a bold
pseudo-heading like ``**Features:**``) named *Validation* or *Features*. A reviewed mapping
file (``buildgate/data/claims-mo-3t8p.yml``) maps claim patterns to criterion ids. Each claim
is then:

- **verified**: it maps to criteria and all of them pass;
- **contradicted**: one of its criteria fails (the failure's message is the evidence);
- **unverifiable**: it maps to nothing, or its criteria were skipped, errored, waived or not
  checked, so nothing proved or disproved it.

A *summary* claim ("Status: ✅ RESOLVED") is judged from all the other claims: verified when
all are verified, contradicted when any is.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from buildgate.criteria import CRITERIA
from buildgate.errors import InputError
from buildgate.verdict import Verdict
from buildgate.yamlfile import decode_text, parse_yaml

DEFAULT_MAPPING = Path(__file__).parent / "data" / "claims-mo-3t8p.yml"
MAX_DOC_BYTES = 2 * 1024 * 1024
_CHECKLIST_SECTIONS = re.compile(r"\b(validation|features?)\b", re.I)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BOLD_HEADING = re.compile(r"^\*\*([^*]+?):?\*\*:?\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?(.*)$")


@dataclass
class Claim:
    text: str
    line: int
    section: str
    criteria: list[str] = field(default_factory=list)
    summary: bool = False
    status: str = "unverifiable"
    reason: str = ""
    evidence: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text, "line": self.line, "section": self.section, "criteria": self.criteria,
            "summary": self.summary, "status": self.status, "reason": self.reason, "evidence": self.evidence,
        }


@dataclass(frozen=True)
class Rule:
    pattern: Any          # an RE2 pattern: matching time is linear in the claim's length
    criteria: tuple[str, ...]
    summary: bool


def compile_pattern(pattern: str, where: str) -> Any:
    """A case-insensitive claim pattern, compiled with RE2 (google-re2).

    Claim documents are untrusted and long; Python's backtracking ``re`` can take quadratic or
    exponential time on patterns such as ``\\b(resolved|complete)\\b.*(solution)``. RE2 matches in
    linear time; it refuses backreferences and lookarounds, which is said at ``file:line``.
    """
    import re2

    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise InputError(f"invalid pattern (RE2 syntax: no backreferences or lookarounds): {reason}", where) from None


def read_document(document: str | Path) -> str:
    """The claims document's text; a missing, oversized or binary one is a one-line InputError."""
    p = Path(document)
    try:
        size = p.stat().st_size
        if not p.is_file():
            raise InputError("not a regular file", str(document))
        if size > MAX_DOC_BYTES:
            raise InputError(f"claims document is {size} bytes, over the {MAX_DOC_BYTES}-byte limit", str(document))
        with p.open("rb") as fh:
            raw = fh.read(MAX_DOC_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read claims document: {exc.strerror}", str(document)) from None
    if len(raw) > MAX_DOC_BYTES:
        raise InputError(f"claims document is over the {MAX_DOC_BYTES}-byte limit", str(document))
    return decode_text(raw, str(document))


def _plain(text: str) -> str:
    """Markdown line -> plain claim text (no ✅, emphasis, code ticks or list markers)."""
    text = text.replace("✅", " ")
    text = re.sub(r"`|\*\*|__|(?<!\w)[*_]|[*_](?!\w)", "", text)
    text = re.sub(r"^\s*(?:[-*+]|\d+[.)]|#+)\s+(?:\[[ xX]\]\s+)?", "", text)
    text = re.sub(r"\(\s*\)|\[\s*\]", "", text)  # what a removed ✅ leaves behind
    return " ".join(text.split()).strip(" -:")


def extract_claims(text: str, source: str = "<claims>") -> list[Claim]:
    """Every claim of a resolution document, in document order, without duplicates."""
    claims: list[Claim] = []
    seen: set[str] = set()
    section = ""
    in_checklist = False
    in_fence = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        heading = _HEADING.match(line)
        bold = _BOLD_HEADING.match(line.strip())
        if heading or bold:
            title = (heading.group(2) if heading else bold.group(1)).strip()
            if heading:
                section = title
            in_checklist = bool(_CHECKLIST_SECTIONS.search(title))
        is_item = _LIST_ITEM.match(line) is not None
        if "✅" in line or (in_checklist and is_item and not (heading or bold)):
            claim_text = _plain(line)
            if claim_text and claim_text.lower() not in seen:
                seen.add(claim_text.lower())
                claims.append(Claim(claim_text, number, _plain(section)))
    return claims


def load_mapping(path: str | Path = DEFAULT_MAPPING) -> list[Rule]:
    """Read a claim mapping file; every problem is an InputError naming file:line."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read claim mapping: {exc.strerror}", str(path)) from None
    doc = parse_yaml(raw, str(path)).data
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        raise InputError("expected a mapping with a `rules:` list", str(path))
    rules = []
    for i, rule in enumerate(doc["rules"]):
        where = f"{path}:{doc['rules'].line_of(i)}"
        if not isinstance(rule, dict) or "pattern" not in rule or "criteria" not in rule:
            raise InputError("each rule needs `pattern` and `criteria`", where)
        pattern = compile_pattern(str(rule["pattern"]), where)
        crit = rule["criteria"]
        if crit == "summary":
            rules.append(Rule(pattern, (), True))
            continue
        if not isinstance(crit, list) or not crit or any(c not in CRITERIA for c in crit):
            raise InputError(f"criteria must be `summary` or a list of criterion ids, got {crit!r}", where)
        rules.append(Rule(pattern, tuple(crit), False))
    return rules


def map_claims(claims: list[Claim], rules: list[Rule]) -> list[Claim]:
    """Attach criterion ids (or the summary flag) to each claim, in place."""
    for claim in claims:
        ids: list[str] = []
        for rule in rules:
            if rule.pattern.search(claim.text):
                claim.summary = claim.summary or rule.summary
                ids += [c for c in rule.criteria if c not in ids]
        claim.criteria = [] if claim.summary else ids
    return claims


def judge(claims: list[Claim], report: dict[str, Any]) -> dict[str, Any]:
    """Decide each claim from the report's criteria; return the ``claims`` section of the report."""
    criteria = report["criteria"]
    for claim in claims:
        if claim.summary:
            continue
        if not claim.criteria:
            claim.status, claim.reason = "unverifiable", "no criterion maps to this claim"
            continue
        verdicts = {cid: criteria[cid] for cid in claim.criteria if cid in criteria}
        failed = [cid for cid, c in verdicts.items() if c["verdict"] == Verdict.FAIL]
        if failed:
            claim.status = "contradicted"
            claim.reason = "; ".join(f"{cid} fails: {verdicts[cid]['message']}" for cid in failed)
            claim.evidence = [e for cid in failed for e in verdicts[cid]["evidence"]][:20]
        elif all(c["verdict"] == Verdict.PASS for c in verdicts.values()):
            claim.status, claim.reason = "verified", "all of " + ", ".join(claim.criteria) + " pass"
        else:
            open_ = [
                f"{cid} {Verdict(c['verdict']).value}"
                for cid, c in verdicts.items() if c["verdict"] != Verdict.PASS
            ]
            claim.status, claim.reason = "unverifiable", "nothing disproves it, but " + ", ".join(open_)
    others = [c for c in claims if not c.summary]
    for claim in claims:
        if not claim.summary:
            continue
        bad = [c for c in others if c.status == "contradicted"]
        unsure = [c for c in others if c.status == "unverifiable"]
        if bad:
            claim.status = "contradicted"
            claim.reason = f"{len(bad)} claim(s) contradicted: " + "; ".join(f"line {c.line}: {c.text}" for c in bad)
        elif unsure or not others:
            claim.status, claim.reason = "unverifiable", f"{len(unsure)} claim(s) unverifiable"
        else:
            claim.status, claim.reason = "verified", "every other claim is verified"
    counts = {s: sum(1 for c in claims if c.status == s) for s in ("verified", "contradicted", "unverifiable")}
    summary = (
        f"claims: {counts['verified']} verified, {counts['contradicted']} contradicted, "
        f"{counts['unverifiable']} unverifiable (of {len(claims)})"
    )
    return {"summary": summary, "counts": counts, "claims": [c.to_dict() for c in claims]}


def audit(document: str | Path, report: dict[str, Any], mapping: str | Path = DEFAULT_MAPPING) -> dict[str, Any]:
    """Extract, map and judge the claims of ``document`` against ``report``."""
    claims = map_claims(extract_claims(read_document(document), str(document)), load_mapping(mapping))
    result = judge(claims, report)
    result["document"] = str(document)
    result["mapping"] = str(mapping)
    return result
