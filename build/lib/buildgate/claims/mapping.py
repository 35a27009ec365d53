"""Claim mappings: which check decides a claim, by the claim's wording.

A mapping file is YAML::

    extends: claims-default.yml        # optional: the map this one sits on top of (path relative
                                       # to this file)
    rules:
      - pattern: 'retry logic for git push'   # RE2, case-insensitive, searched in the claim's text
        within: 'validation'                  # optional: RE2 searched in the claim's context (its
                                              # headings, the lead-in line of its list, its parent
                                              # item, a command's comment)
        checks: [W9.retry]                    # what decides it (``criteria:`` is the older name)

``checks`` lists any of:

- a criterion id (``W9``): its verdict as a whole;
- a part (``W9.retry``, ``D3.paths``): that part alone, run through the criteria registry. A part
  the registry doesn't hold (yet) is judged by its criterion as a whole, and the claim says so;
- a claim check (:data:`buildgate.claims.checks.CLAIM_CHECKS`): ``file exists``, ``workflow
  exists``, ``workflow dispatchable``, ``options accepted``, ``image pushed``, ``script sound``,
  ``script workflow``, or ``doc covers: <topic>``. Its subject is what the claim names (the paths,
  workflows, images, commands in it); ``name: subject`` names one explicitly;

or is the word ``summary``: a claim about the whole resolution ("Status: RESOLVED"), judged from
all the other claims.

Layers: a claim is decided by the matching rules of the topmost map that has any; the maps below
it are read only for claims it doesn't match. So a task's map can refine the default one. What a
claim names is checked whatever the maps say (a path exists, a command's workflow exists and
can be dispatched, its options are accepted): see :func:`buildgate.claims.checks.subject_checks`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from buildgate.claims.checks import CLAIM_CHECKS, TOPIC_KEYS, subject_checks
from buildgate.claims.document import Claim
from buildgate.claims.patterns import compile_pattern
from buildgate.criteria import CRITERIA
from buildgate.errors import InputError
from buildgate.yamlfile import parse_yaml

DATA = Path(__file__).resolve().parent.parent / "data"
DEFAULT_MAPPING = DATA / "claims-mo-3t8p.yml"
BASE_MAPPING = DATA / "claims-default.yml"
MAX_EXTENDS = 8


@dataclass(frozen=True)
class Rule:
    pattern: Any                 # RE2: matching time is linear in the claim's length
    within: Any | None
    checks: tuple[str, ...]
    summary: bool
    where: str


@dataclass
class Mapping:
    """The layers of rules (topmost first), and notes about names it holds (pending parts)."""

    layers: list[tuple[str, list[Rule]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def files(self) -> list[str]:
        return [f for f, _ in self.layers]


def check_key(item: Any, where: str, notes: list[str]) -> str:
    """One entry of ``checks:`` as a key (``W9``, ``W9.retry``, ``file exists``, ``doc covers: actions``)."""
    if isinstance(item, dict) and len(item) == 1:  # YAML reads `[doc covers: x]` as a one-pair mapping
        (name, arg), = item.items()
        item = f"{name}: {arg}"
    if not isinstance(item, str) or not item.strip():
        raise InputError(f"each check must be a criterion id, a part or a claim check, got {item!r}", where)
    key = " ".join(item.split())
    name, sep, arg = key.partition(":")
    if name in CLAIM_CHECKS:
        if name == "doc covers" and arg.strip() not in TOPIC_KEYS:
            raise InputError(f"`doc covers` needs one of the topics {', '.join(TOPIC_KEYS)}, got {arg.strip()!r}", where)
        return f"{name}: {arg.strip()}" if sep and arg.strip() else name
    cid, dot, part = key.partition(".")
    if cid not in CRITERIA:
        raise InputError(f"unknown check {key!r}: not a criterion id, a part (W9.retry) or a claim check "
                         f"({', '.join(sorted(CLAIM_CHECKS))})", where)
    if dot and part not in CRITERIA[cid].parts:
        notes.append(f"{where}: {cid} has no part {part!r} in this buildgate; claims naming {key} are judged by "
                     f"{cid} as a whole")
    return key


def _load_file(path: Path, notes: list[str]) -> tuple[dict[str, Any], list[Rule]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read claim mapping: {exc.strerror}", str(path)) from None
    doc = parse_yaml(raw, str(path)).data
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        raise InputError("expected a mapping with a `rules:` list", str(path))
    unknown = sorted(set(doc) - {"rules", "extends"}, key=str)
    if unknown:
        raise InputError(f"unknown key {unknown[0]!r} (expected `rules`, `extends`)", f"{path}:{doc.line_of(unknown[0])}")
    rules = []
    for i, rule in enumerate(doc["rules"]):
        where = f"{path}:{doc['rules'].line_of(i)}"
        if not isinstance(rule, dict) or "pattern" not in rule or ("checks" not in rule and "criteria" not in rule):
            raise InputError("each rule needs `pattern` and `checks`", where)
        extra = sorted(set(rule) - {"pattern", "within", "checks", "criteria"}, key=str)
        if extra:
            raise InputError(f"unknown rule key {extra[0]!r} (expected pattern, within, checks)", where)
        pattern = compile_pattern(str(rule["pattern"]), where)
        within = compile_pattern(str(rule["within"]), where) if rule.get("within") is not None else None
        checks = rule["checks"] if "checks" in rule else rule["criteria"]
        if checks == "summary":
            rules.append(Rule(pattern, within, (), True, where))
            continue
        if not isinstance(checks, list) or not checks:
            raise InputError(f"checks must be `summary` or a list of criterion ids, parts or claim checks, got {checks!r}",
                             where)
        keys = tuple(dict.fromkeys(check_key(c, where, notes) for c in checks))
        rules.append(Rule(pattern, within, keys, False, where))
    return doc, rules


def load_mapping(path: str | Path = DEFAULT_MAPPING) -> Mapping:
    """Read a claim mapping and the maps it extends; every problem is an InputError at file:line."""
    out = Mapping()
    seen: set[Path] = set()
    current: Path | None = Path(path)
    while current is not None:
        resolved = current.resolve()
        if resolved in seen:
            raise InputError("`extends:` loops back to a map already read", str(current))
        if len(seen) >= MAX_EXTENDS:
            raise InputError(f"more than {MAX_EXTENDS} maps extend each other", str(current))
        seen.add(resolved)
        doc, rules = _load_file(current, out.notes)
        out.layers.append((str(current), rules))
        base = doc.get("extends")
        if base is not None and not isinstance(base, str):
            raise InputError("`extends:` must be a file path", f"{current}:{doc.line_of('extends')}")
        current = (current.parent / base) if base else None
    return out


def _matches(rule: Rule, claim: Claim) -> bool:
    return rule.pattern.search(claim.text) is not None and (
        rule.within is None or rule.within.search(claim.context) is not None)


def map_claims(claims: list[Claim], mapping: Mapping) -> list[Claim]:
    """Attach to each claim (in place) the checks that decide it, or the summary flag: the rules of
    the topmost map that matches it, then the checks of what it names."""
    for claim in claims:
        keys: list[str] = []
        for _file, rules in mapping.layers:
            hits = [r for r in rules if _matches(r, claim)]
            if hits:
                claim.summary = any(r.summary for r in hits)
                for r in hits:
                    keys += [k for k in expand(r.checks, claim) if k not in keys]
                break
        if claim.summary:
            claim.checks = []
            continue
        claim.checks = keys + [k for k in subject_checks(claim) if k not in keys]
    return claims


def expand(keys: tuple[str, ...], claim: Claim) -> list[str]:
    """A rule's keys for one claim: each claim check without a subject, once per subject the claim names."""
    from buildgate.claims.checks import subjects_for

    out: list[str] = []
    for key in keys:
        name, sep, _arg = key.partition(":")
        if name in CLAIM_CHECKS and not sep:
            subjects = subjects_for(name, claim)
            out += [f"{name}: {s}" for s in subjects] if subjects else [name]
        else:
            out.append(key)
    return out
