"""docker/metadata-action v5 tag computation, plus the OCI tag grammar.

:func:`compute_tags` turns the ``with:`` mapping of a docker/metadata-action step into the
concrete tags (without the image prefix) that the action outputs for one :class:`Event`. It
follows the action's source (``src/tag.ts``, ``src/flavor.ts``, ``src/meta.ts``):

* each line of ``tags`` is one rule, CSV fields ``key=value``; a bare field is ``value``;
  no ``type`` means ``raw``; lines starting with ``#`` are comments; with no ``tags`` input the
  defaults are ``schedule``, ``ref`` branch, tag and pr;
* rules are sorted by ``priority`` (higher first, stable); the first value is the version
  (``outputs.version``), the others follow, then ``latest`` when the first rule that produced a
  value says so (``flavor: latest=auto``: ``ref`` tag, ``semver``/``pep440`` releases, ``match``);
* ``enable``, ``prefix``, ``suffix``, ``value`` go through the action's handlebars expressions
  (``{{branch}}``, ``{{tag}}``, ``{{sha}}``, ``{{base_ref}}``, ``{{is_default_branch}}``,
  ``{{date 'fmt'}}``); ``{{branch}}`` is empty on tag and pull request events;
* values are sanitised (runs of characters outside ``[A-Za-z0-9._-]`` become ``-``), but a
  leading ``-`` or an over-long tag is kept, as the action keeps it: :func:`valid_tag` says
  whether the registry would accept it (W11).

``${{ ... }}`` GitHub expressions inside the inputs are evaluated first, with
:mod:`buildgate.workflow.expressions`. What can't be evaluated raises :class:`~buildgate.errors.CannotDecide` naming it;
an input the action itself would reject raises :class:`ActionWouldFail` (a ``CannotDecide``
subclass, so the verdict is an error unless a check decides that a failing action is a failure).
"""
from __future__ import annotations

import csv
import datetime as _dt
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from buildgate.errors import CannotDecide, InputError
from buildgate.workflow import expressions as ex
from buildgate.workflow.events import Event

TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
MAX_TAG_LEN = 128
DEFAULT_SHORT_SHA_LENGTH = 7
RULE_TYPES = ("schedule", "semver", "pep440", "match", "edge", "ref", "raw", "sha")
DEFAULT_PRIORITIES = {"schedule": 1000, "semver": 900, "pep440": 900, "match": 800,
                      "edge": 700, "ref": 600, "raw": 200, "sha": 100}
DEFAULT_RULES = ("type=schedule", "type=ref,event=branch", "type=ref,event=tag", "type=ref,event=pr")
KNOWN_INPUTS = {"context", "images", "tags", "flavor", "labels", "annotations", "sep-tags",
                "sep-labels", "sep-annotations", "bake-target", "github-token"}

# semver.org's official regular expression, with node-semver's optional leading "v".
_SEMVER_RE = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


class ActionWouldFail(CannotDecide):
    """docker/metadata-action itself would stop with an error on this input."""


@dataclass(frozen=True)
class ComputedTag:
    """One tag the action outputs, and the rule it came from.

    ``line_offset`` is the 0-based line of that rule within the ``tags`` input (``None`` for a
    default rule); ``source`` is ``"tags"``, or ``"flavor"`` for the ``latest`` that
    ``flavor: latest=...`` adds (then ``rule``/``line_offset`` name the rule that decided it).
    """

    tag: str
    rule: str
    line_offset: int | None
    source: str = "tags"


# -- tag grammar --------------------------------------------------------------------------------
def invalid_reason(tag: str) -> str | None:
    """Why ``tag`` is not a valid OCI distribution tag, or None when it is."""
    if not isinstance(tag, str):
        return f"not a string ({type(tag).__name__})"
    if tag == "":
        return "empty"
    if len(tag) > MAX_TAG_LEN:
        return f"longer than {MAX_TAG_LEN} characters ({len(tag)})"
    if tag[0] in "-.":
        return f"starts with {tag[0]!r}"
    bad = sorted({c for c in tag if not re.match(r"[A-Za-z0-9._-]", c)})
    if bad:
        shown = ", ".join(repr(c) for c in bad[:5])
        return f"contains {shown}"
    return None


def valid_tag(tag: str) -> bool:
    """OCI distribution tag grammar: ``[A-Za-z0-9_][A-Za-z0-9._-]{0,127}``."""
    return isinstance(tag, str) and bool(TAG_RE.match(tag))


def sanitize_tag(value: str) -> str:
    """The action's sanitisation: each run of characters outside ``[A-Za-z0-9._-]`` -> ``-``."""
    return re.sub(r"[^a-zA-Z0-9._-]+", "-", value)


# -- GitHub expressions ${{ }} ------------------------------------------------------------------
def _strict(value: Any, name: str = "") -> Any:
    """A context known only in part: missing keys are "not known" (CannotDecide), not null."""
    if isinstance(value, Mapping):
        return ex.PartialDict({k: _strict(v, f"{name}.{k}" if name else str(k)) for k, v in value.items()}, name=name)
    return value


# -- the action's handlebars subset -------------------------------------------------------------
_HB_ESCAPE = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;", "`": "&#x60;", "=": "&#x3D;"}
_HB_ARG = re.compile(r"\s*(?:(?P<key>[A-Za-z_][\w-]*)=)?(?:'(?P<s1>[^']*)'|\"(?P<s2>[^\"]*)\"|(?P<word>[^\s'\"=()]+))")


def _hb_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return ",".join(_hb_value(x) for x in v)
    return str(v)


def render_handlebars(template: str, scope: Mapping[str, Any], what: str) -> str:
    """Render the subset of handlebars the action's templates use: ``{{name}}``,
    ``{{name 'arg' key='v'}}``, ``{{{name}}}``, comments and ``\\{{``. Names missing from
    ``scope`` render empty (as handlebars does); a missing helper called with arguments makes
    the action fail; blocks, partials and sub-expressions are not supported (CannotDecide)."""
    out: list[str] = []
    i = 0
    while True:
        j = template.find("{{", i)
        if j == -1:
            out.append(template[i:])
            return "".join(out)
        if j > 0 and template[j - 1] == "\\":
            out.append(template[i:j - 1])
            end = template.find("}}", j)
            end = len(template) if end == -1 else end + 2
            out.append(template[j:end])
            i = end
            continue
        out.append(template[i:j])
        triple = template.startswith("{{{", j)
        close = "}}}" if triple else "}}"
        k = template.find(close, j)
        if k == -1:
            raise ActionWouldFail(f"{what}: unclosed `{{{{` in {template!r}")
        inner = template[j + (3 if triple else 2):k].strip()
        i = k + len(close)
        if inner.startswith("!"):
            continue
        if not inner or inner[0] in "#/^>&~" or inner.startswith("else") or inner.endswith("~") or "(" in inner:
            raise CannotDecide(f"{what}: handlebars construct `{{{{{inner}}}}}` is not supported")
        name, _, rest = inner.partition(" ")
        args: list[str] = []
        hash_: dict[str, str] = {}
        pos = 0
        rest = rest.strip()
        while pos < len(rest):
            m = _HB_ARG.match(rest, pos)
            if not m or m.end() == pos:
                raise CannotDecide(f"{what}: cannot parse `{{{{{inner}}}}}`")
            val = m.group("s1") if m.group("s1") is not None else m.group("s2") if m.group("s2") is not None else m.group("word")
            if m.group("key"):
                hash_[m.group("key")] = val
            else:
                args.append(val)
            pos = m.end()
        value: Any = scope
        for part in re.split(r"[./]", name):
            value = value.get(part) if isinstance(value, Mapping) else None
        if callable(value):
            value = value(args, hash_)
        elif args or hash_:
            raise ActionWouldFail(f"{what}: Missing helper: \"{name}\" in `{{{{{inner}}}}}`")
        text = _hb_value(value)
        out.append(text if triple else "".join(_HB_ESCAPE.get(c, c) for c in text))


_MOMENT_TOKEN = re.compile(r"\[[^\[\]]*\]|YYYY|YY|MM|M|DD|D|HH|H|hh|h|mm|m|ss|s|SSS|X|x|A|a|ZZ|Z|[A-Za-z]|.")


def moment_format(when: _dt.datetime, fmt: str) -> str:
    """The subset of moment.js ``format`` tokens used in date tags (others: CannotDecide)."""
    out = []
    for tok in _MOMENT_TOKEN.findall(fmt):
        if tok.startswith("["):
            out.append(tok[1:-1])
            continue
        h12 = when.hour % 12 or 12
        off = when.utcoffset() or _dt.timedelta(0)
        sign = "-" if off < _dt.timedelta(0) else "+"
        mins = abs(int(off.total_seconds())) // 60
        table = {
            "YYYY": f"{when.year:04d}", "YY": f"{when.year % 100:02d}", "MM": f"{when.month:02d}",
            "M": str(when.month), "DD": f"{when.day:02d}", "D": str(when.day), "HH": f"{when.hour:02d}",
            "H": str(when.hour), "hh": f"{h12:02d}", "h": str(h12), "mm": f"{when.minute:02d}",
            "m": str(when.minute), "ss": f"{when.second:02d}", "s": str(when.second),
            "SSS": f"{when.microsecond // 1000:03d}", "X": str(int(when.timestamp())),
            "x": str(int(when.timestamp() * 1000)), "A": "AM" if when.hour < 12 else "PM",
            "a": "am" if when.hour < 12 else "pm",
            "ZZ": f"{sign}{mins // 60:02d}{mins % 60:02d}", "Z": f"{sign}{mins // 60:02d}:{mins % 60:02d}",
        }
        if tok in table:
            out.append(table[tok])
        elif tok.isalpha():
            raise CannotDecide(f"date format token {tok!r} in {fmt!r} is not supported")
        else:
            out.append(tok)
    return "".join(out)


# -- rules and flavor ---------------------------------------------------------------------------
@dataclass
class _Rule:
    type: str
    attrs: dict[str, str]
    text: str
    line: int | None
    order: int

    @property
    def priority(self) -> float:
        try:
            return float(self.attrs["priority"])
        except ValueError:
            return math.nan


def _strip_comment(line: str) -> str:
    """csv-parse's ``comment: '#'``: everything from a ``#`` outside double quotes."""
    quote = False
    for i, c in enumerate(line):
        if c == '"':
            quote = not quote
        elif c == "#" and not quote:
            return line[:i]
    return line


def _input_lines(value: Any, name: str) -> list[tuple[int, str]]:
    """The action's list input: one item per non-empty, non-comment line, with its offset."""
    if value is None:
        return []
    if isinstance(value, bool):
        value = "true" if value else "false"
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        raise InputError(f"docker/metadata-action input `{name}` must be a string, got {type(value).__name__}")
    out = []
    for n, raw in enumerate(value.splitlines()):
        text = _strip_comment(raw).strip()
        if text:
            out.append((n, text))
    return out


def _csv_fields(text: str) -> list[str]:
    try:
        row = next(csv.reader([text], skipinitialspace=True), [])
    except csv.Error as exc:
        raise ActionWouldFail(f"cannot parse `{text}` as CSV: {exc}") from None
    return [f for f in row]


def parse_rule(text: str, line: int | None = None, order: int = 0) -> _Rule:
    """Parse one ``tags`` line the way ``src/tag.ts`` does (unknown type: ActionWouldFail)."""
    attrs: dict[str, str] = {}
    rtype: str | None = None
    for field in _csv_fields(text):
        if "=" not in field:
            attrs["value"] = field.strip()
            continue
        key, value = field.split("=", 1)
        key, value = key.strip().lower(), value.strip()
        if key == "type":
            if value not in RULE_TYPES:
                raise ActionWouldFail(f"Unknown tag type attribute: {value} (in `{text}`)")
            rtype = value
        else:
            attrs[key] = value
    rtype = rtype or "raw"
    if rtype == "schedule":
        attrs.setdefault("pattern", "nightly")
    elif rtype in ("semver", "pep440"):
        if "pattern" not in attrs:
            raise ActionWouldFail(f"Missing pattern attribute for {text}")
        attrs.setdefault("value", "")
    elif rtype == "match":
        if "pattern" not in attrs:
            raise ActionWouldFail(f"Missing pattern attribute for {text}")
        attrs.setdefault("group", "0")
        if not re.fullmatch(r"\s*\d+\s*", attrs["group"]):
            raise ActionWouldFail(f"Invalid match group for {text}")
        attrs.setdefault("value", "")
    elif rtype == "edge":
        attrs.setdefault("branch", "")
    elif rtype == "ref":
        if "event" not in attrs:
            raise ActionWouldFail(f"Missing event attribute for {text}")
        if attrs["event"] not in ("branch", "tag", "pr"):
            raise ActionWouldFail(f"Invalid event for {text}")
        if attrs["event"] == "pr":
            attrs.setdefault("prefix", "pr-")
    elif rtype == "raw":
        if "value" not in attrs:
            raise ActionWouldFail(f"Missing value attribute for {text}")
    elif rtype == "sha":
        attrs.setdefault("prefix", "sha-")
        attrs.setdefault("format", "short")
        if attrs["format"] not in ("short", "long"):
            raise ActionWouldFail(f"Invalid format for {text}")
    attrs.setdefault("enable", "true")
    attrs.setdefault("priority", str(DEFAULT_PRIORITIES[rtype]))
    # attributes the action does not know are ignored by it (a typo such as `enabled=` is
    # simply dropped), so they are ignored here too: the tags computed are the real ones.
    return _Rule(rtype, attrs, text, line, order)


@dataclass
class _Flavor:
    latest: str = "auto"
    prefix: str = ""
    prefix_latest: bool = False
    suffix: str = ""
    suffix_latest: bool = False


def parse_flavor(value: Any) -> _Flavor:
    flavor = _Flavor()
    for _, text in _input_lines(value, "flavor"):
        onlatest_for = ""
        for field in _csv_fields(text):
            if "=" not in field:
                raise ActionWouldFail(f"Invalid flavor entry: {text}")
            key, val = field.split("=", 1)
            key, val = key.strip().lower(), val.strip()
            if key == "latest":
                if val not in ("auto", "true", "false"):
                    raise ActionWouldFail(f"Invalid latest flavor entry: {text}")
                flavor.latest = val
            elif key in ("prefix", "suffix"):
                setattr(flavor, key, val)
                onlatest_for = key
            elif key == "onlatest":
                if val not in ("true", "false"):
                    raise ActionWouldFail(f"Invalid value for onlatest attribute: {val}")
                if onlatest_for:
                    setattr(flavor, f"{onlatest_for}_latest", val == "true")
            elif key == "labelprefix":
                pass
            else:
                raise ActionWouldFail(f"Unknown flavor entry: {text}")
    return flavor


# -- computation --------------------------------------------------------------------------------
class _Meta:
    def __init__(self, event: Event, env: Mapping[str, str], flavor: _Flavor, now: _dt.datetime | None) -> None:
        self.event = event
        self.env = env
        self.flavor = flavor
        self.now = now
        ref = event.ref
        if event.name == "pull_request_target" and event.pr_number is not None:
            ref = f"refs/pull/{event.pr_number}/merge"  # as the action rewrites it
        self.ref = ref
        sha = event.sha
        if re.search("true", env.get("DOCKER_METADATA_PR_HEAD_SHA", ""), re.I) and event.is_pr_event and event.head_sha:
            sha = event.head_sha
        self.sha = sha

    def short_sha(self) -> str:
        raw = self.env.get("DOCKER_METADATA_SHORT_SHA_LENGTH", "")
        length = DEFAULT_SHORT_SHA_LENGTH
        if raw:
            try:
                length = int(float(raw.strip()))
            except ValueError:
                raise ActionWouldFail(f"DOCKER_METADATA_SHORT_SHA_LENGTH is not a valid number: {raw}") from None
        return self.sha if length >= len(self.sha) else self.sha[:max(length, 0)]

    def _date(self, args: list[str], hash_: dict[str, str]) -> str:
        if self.now is None:
            raise CannotDecide("`{{date ...}}` depends on the time the workflow runs (pass now= to compute it)")
        for key in hash_:
            if key != "tz":
                raise ActionWouldFail(f"Unknown {key} attribute")
        when = self.now if self.now.tzinfo else self.now.replace(tzinfo=_dt.timezone.utc)
        tz = hash_.get("tz", "UTC")
        try:
            from zoneinfo import ZoneInfo
            when = when.astimezone(ZoneInfo(tz))
        except Exception:  # zoneinfo raises several kinds for a bad name
            raise CannotDecide(f"unknown time zone {tz!r} in `{{{{date}}}}`") from None
        return moment_format(when, args[0] if args else "")

    def _commit_date(self, args: list[str], hash_: dict[str, str]) -> str:
        raise CannotDecide("`{{commit_date ...}}` needs the commit's date, which buildgate does not model")

    def global_exp(self, text: str, what: str) -> str:
        ref, ev = self.ref, self.event
        default = ev.default_branch

        def branch(a, h):  # noqa: ANN001 - handlebars helper
            return ref[len("refs/heads/"):] if ref.startswith("refs/heads/") else ""

        def tag(a, h):  # noqa: ANN001
            return ref[len("refs/tags/"):] if ref.startswith("refs/tags/") else ""

        def base_ref(a, h):  # noqa: ANN001
            if ref.startswith("refs/pull/") and ev.base_ref:
                return ev.base_ref
            return ""

        def is_default_branch(a, h):  # noqa: ANN001
            b = re.sub(r"^refs/heads/", "", ref)
            if not b:
                return "false"
            if b == default:
                return "true"
            return "true" if re.search("create|discussion|issues|schedule", ev.name) else "false"

        scope = {"branch": branch, "tag": tag, "sha": lambda a, h: self.short_sha(), "base_ref": base_ref,
                 "is_default_branch": is_default_branch, "date": self._date, "commit_date": self._commit_date}
        return render_handlebars(text, scope, what)

    def set_value(self, val: str, rule: _Rule) -> str:
        if "prefix" in rule.attrs:
            val = self.global_exp(rule.attrs["prefix"], f"prefix of `{rule.text}`") + val
        elif self.flavor.prefix:
            val = self.global_exp(self.flavor.prefix, "flavor prefix") + val
        if "suffix" in rule.attrs:
            val = val + self.global_exp(rule.attrs["suffix"], f"suffix of `{rule.text}`")
        elif self.flavor.suffix:
            val = val + self.global_exp(self.flavor.suffix, "flavor suffix")
        return val

    def latest_for(self, auto: bool) -> bool:
        return auto if self.flavor.latest == "auto" else self.flavor.latest == "true"

    # each returns (value or None, latest-if-first)
    def proc(self, rule: _Rule) -> tuple[str | None, bool]:
        ref, a = self.ref, rule.attrs
        t = rule.type
        if t == "schedule":
            if "schedule" not in self.event.name:
                return None, False
            scope = {"date": self._date, "commit_date": self._commit_date}
            return self.set_value(render_handlebars(a["pattern"], scope, f"pattern of `{rule.text}`"), rule), self.latest_for(False)
        if t in ("semver", "pep440", "match"):
            if not ref.startswith("refs/tags/") and not a["value"]:
                return None, False
            if a["value"]:
                vraw = self.global_exp(a["value"], f"value of `{rule.text}`")
            elif t == "match":
                vraw = ref[len("refs/tags/"):]
            else:
                vraw = ref[len("refs/tags/"):].replace("/", "-")
            return getattr(self, f"_{t}")(rule, vraw)
        if t == "ref":
            prefix = {"branch": "refs/heads/", "tag": "refs/tags/", "pr": "refs/pull/"}[a["event"]]
            if not ref.startswith(prefix):
                return None, False
            val = ref[len(prefix):]
            if a["event"] == "pr":
                val = re.sub(r"/merge$", "", val)
            return self.set_value(val, rule), self.latest_for(a["event"] == "tag")
        if t == "edge":
            if not ref.startswith("refs/heads/"):
                return None, False
            branch = a["branch"] or self.event.default_branch
            if branch != ref[len("refs/heads/"):]:
                return None, False
            return self.set_value("edge", rule), self.latest_for(False)
        if t == "raw":
            return self.set_value(self.global_exp(a["value"], f"value of `{rule.text}`"), rule), self.latest_for(False)
        if t == "sha":
            val = self.short_sha() if a["format"] == "short" else self.sha
            return self.set_value(val, rule), self.latest_for(False)
        raise CannotDecide(f"tag rule type {t!r} is not supported")  # pragma: no cover - parse_rule guards

    def _semver(self, rule: _Rule, vraw: str) -> tuple[str | None, bool]:
        m = _SEMVER_RE.match(vraw.strip())
        if not m:
            return None, False  # the action warns "is not a valid semver" and skips the rule
        major, minor, patch, pre, build = m.groups()
        version = f"{major}.{minor}.{patch}" + (f"-{pre}" if pre else "")
        scope = {"raw": vraw.strip(), "version": version, "major": int(major), "minor": int(minor),
                 "patch": int(patch), "prerelease": pre.split(".") if pre else [],
                 "build": build.split(".") if build else []}
        pattern = rule.attrs["pattern"]
        if pre:
            if not re.fullmatch(r"\{\{\s*raw\s*\}\}", pattern):
                pattern = "{{version}}"
            return self.set_value(render_handlebars(pattern, scope, f"pattern of `{rule.text}`"), rule), self.latest_for(False)
        return self.set_value(render_handlebars(pattern, scope, f"pattern of `{rule.text}`"), rule), self.latest_for(True)

    def _pep440(self, rule: _Rule, vraw: str) -> tuple[str | None, bool]:
        try:
            from packaging.version import InvalidVersion, Version
        except ImportError:  # pragma: no cover - packaging ships with pip/pytest
            raise CannotDecide("type=pep440 needs the `packaging` library") from None
        try:
            v = Version(vraw)
        except InvalidVersion:
            return None, False  # the action warns and skips the rule
        clean = str(v)
        if v.is_prerelease or v.is_postrelease or v.is_devrelease:
            if not re.fullmatch(r"\{\{\s*raw\s*\}\}", rule.attrs["pattern"]):
                return self.set_value(clean, rule), self.latest_for(False)
            return self.set_value(vraw, rule), self.latest_for(False)
        rel = list(v.release) + [0, 0]
        scope = {"raw": lambda a, h: vraw, "version": lambda a, h: clean, "major": lambda a, h: str(rel[0]),
                 "minor": lambda a, h: str(rel[1]), "patch": lambda a, h: str(rel[2])}
        return self.set_value(render_handlebars(rule.attrs["pattern"], scope, f"pattern of `{rule.text}`"), rule), self.latest_for(True)

    def _match(self, rule: _Rule, vraw: str) -> tuple[str | None, bool]:
        pattern = rule.attrs["pattern"]
        rx = re.fullmatch(r"/(.+)/(.*)", pattern)
        try:
            if rx:
                flags = 0
                for f in rx.group(2):
                    flags |= {"i": re.I, "m": re.M, "s": re.S}.get(f, 0)
                    if f not in "imsgu":
                        raise ActionWouldFail(f"invalid regular expression flags {rx.group(2)!r} in `{rule.text}`")
                m = re.search(rx.group(1), vraw, flags)
            else:
                m = re.search(pattern, vraw)
        except re.error as exc:
            raise CannotDecide(f"pattern of `{rule.text}` is not a regular expression Python can run: {exc}") from None
        if not m:
            return None, False
        group = int(rule.attrs["group"])
        if group > (m.re.groups or 0) or m.group(group) is None:
            return None, False
        return self.set_value(m.group(group), rule), self.latest_for(True)


def compute_tags(
    with_inputs: Mapping[str, Any], event: Event, env: Mapping[str, str] | None = None,
    *, context: Mapping[str, Any] | None = None, now: _dt.datetime | None = None,
) -> list[ComputedTag]:
    """The tags (no image prefix) docker/metadata-action outputs for ``event``, in its order:
    the version first, the other values, then ``latest`` if the flavor adds it. Deduplicated.

    ``env`` is the step's environment (workflow, job and step ``env:`` merged; it also feeds
    ``DOCKER_METADATA_SHORT_SHA_LENGTH`` and ``DOCKER_METADATA_PR_HEAD_SHA``). ``context`` adds
    expression contexts (``steps``, ``needs``, ``vars`` ...) to ``github``/``inputs``/``env``.
    ``now`` fixes the clock for ``{{date}}`` (without it a date rule is CannotDecide).
    """
    if not isinstance(with_inputs, Mapping):
        raise InputError(f"docker/metadata-action `with:` must be a mapping, got {type(with_inputs).__name__}")
    env = {str(k): "" if v is None else str(v) for k, v in (env or {}).items()}
    ctx: dict[str, Any] = {"github": _strict(event.github_context(), "github"), "inputs": dict(event.inputs),
                           "env": env}
    for k, v in (context or {}).items():
        ctx[k] = _strict(v, k) if k in ("steps", "needs", "matrix") else v

    def expr(text: str, what: str) -> str:
        try:
            return ex.to_str(ex.interpolate(text, ctx))
        except CannotDecide as exc:
            raise CannotDecide(f"{what}: {exc.reason}") from None

    if "tags" in with_inputs:
        raw_tags = with_inputs.get("tags")
        if raw_tags is not None and not isinstance(raw_tags, (str, bool, int, float)):
            raise InputError(f"docker/metadata-action input `tags` must be a string, got {type(raw_tags).__name__}")
        lines = [(n, t, expr(t, f"tags line {n + 1}")) for n, t in _input_lines(raw_tags, "tags")]
        # an expression may evaluate to nothing or to a comment: re-filter like the action
        lines = [(n, t, _strip_comment(v).strip()) for n, t, v in lines]
        lines = [(n, t, v) for n, t, v in lines if v]
    else:
        lines = []
    if not lines:
        rules = [parse_rule(t, None, i) for i, t in enumerate(DEFAULT_RULES)]
    else:
        rules = [parse_rule(v, n, i) for i, (n, _, v) in enumerate(lines)]
        for rule, (_, original, _) in zip(rules, lines):
            rule.text = original  # report the rule as written in the workflow
    flavor_raw = with_inputs.get("flavor")
    flavor = parse_flavor(expr(flavor_raw, "flavor") if isinstance(flavor_raw, str) else flavor_raw)
    # JavaScript's stable sort with a comparator on Number(priority); NaN compares as equal.
    rules = _sort_by_priority(rules)
    meta = _Meta(event, env, flavor, now)

    main: ComputedTag | None = None
    latest: bool | None = None
    decider: _Rule | None = None
    out: list[ComputedTag] = []
    for rule in rules:
        enabled = meta.global_exp(rule.attrs["enable"], f"enable of `{rule.text}`")
        if enabled not in ("true", "false"):
            raise ActionWouldFail(f"Invalid value for enable attribute: {enabled} (in `{rule.text}`)")
        if enabled != "true":
            continue
        value, is_latest = meta.proc(rule)
        if not value:
            continue
        value = sanitize_tag(value)
        tag = ComputedTag(value, rule.text, rule.line)
        if main is None:
            main = tag
            out.append(tag)
        elif value != main.tag and all(value != t.tag for t in out):
            out.append(tag)
        if latest is None:
            latest, decider = is_latest, rule
    if main is not None and latest:
        name = sanitize_tag(f"{flavor.prefix if flavor.prefix_latest else ''}latest{flavor.suffix if flavor.suffix_latest else ''}")
        if all(name != t.tag for t in out):
            assert decider is not None
            out.append(ComputedTag(name, f"flavor latest={flavor.latest} (decided by `{decider.text}`)",
                                   decider.line, source="flavor"))
    return out


def _sort_by_priority(rules: Sequence[_Rule]) -> list[_Rule]:
    import functools

    def cmp(a: _Rule, b: _Rule) -> int:
        pa, pb = a.priority, b.priority
        if pa < pb:
            return 1
        if pa > pb:
            return -1
        return 0

    return sorted(rules, key=functools.cmp_to_key(cmp))


def computed_tag_line(tag: ComputedTag, tags_key_line: int, block_scalar: bool = True) -> int | None:
    """The 1-based file line of ``tag``'s rule, given the line of the ``tags:`` key (a ``|``
    block scalar's first line is the next one)."""
    if tag.line_offset is None:
        return None
    return tags_key_line + tag.line_offset + (1 if block_scalar else 0)
