"""GitHub events as a workflow sees them: ``github.*`` context, refs, and representative events.

An :class:`Event` is the minimum a workflow's expressions and docker/metadata-action look at:
the event name, the ref, the commit and, for pull requests, the base/head branches and number.
:func:`representative_events` picks one event per kind that a workflow's ``on:`` can fire on, so
checks (W6, W11) can evaluate tags and conditions for each of them. :func:`matches_filters` and
:func:`path_filter_passes` are ``on:``'s branch/tag and path filters.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from buildgate.errors import InputError

_HEX40 = re.compile(r"^[0-9a-f]{40}$")

# Example names used when a workflow's filters don't name a literal branch or tag.
EXAMPLE_FEATURE_BRANCH = "feature/login-form"
EXAMPLE_TAGS = ("v1.2.3", "1.2.3", "v1.2", "v1", "release-1.2.3")


def _frozen(mapping: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Event:
    """A GitHub event as a workflow sees it."""

    name: str
    ref: str
    sha: str
    default_branch: str = "main"
    base_ref: str = ""
    head_ref: str = ""
    pr_number: int | None = None
    inputs: Mapping[str, str] = field(default_factory=lambda: _frozen(None))
    head_sha: str = ""  # pull requests: the head commit (``sha`` is the merge commit)

    def __post_init__(self) -> None:
        for what, value in (("sha", self.sha), ("head_sha", self.head_sha or "0" * 40)):
            if not isinstance(value, str) or not _HEX40.match(value):
                raise InputError(f"event {what} must be 40 lowercase hex characters, got {value!r}")
        if not isinstance(self.inputs, MappingProxyType):
            object.__setattr__(self, "inputs", _frozen(self.inputs))

    # -- ref helpers -------------------------------------------------------------------------
    @property
    def is_branch(self) -> bool:
        return self.ref.startswith("refs/heads/")

    @property
    def is_tag(self) -> bool:
        return self.ref.startswith("refs/tags/")

    @property
    def branch(self) -> str | None:
        """The branch name for a branch ref (``refs/heads/a/b`` -> ``a/b``), else None."""
        return self.ref[len("refs/heads/"):] if self.is_branch else None

    @property
    def tag(self) -> str | None:
        return self.ref[len("refs/tags/"):] if self.is_tag else None

    @property
    def ref_name(self) -> str:
        """``github.ref_name``: branch or tag name, ``7/merge`` for a pull request."""
        for prefix in ("refs/heads/", "refs/tags/", "refs/pull/"):
            if self.ref.startswith(prefix):
                return self.ref[len(prefix):]
        return self.ref

    @property
    def ref_type(self) -> str:
        return "tag" if self.is_tag else "branch"

    @property
    def is_default_branch(self) -> bool:
        return self.branch == self.default_branch

    @property
    def is_pr_event(self) -> bool:
        return self.name in ("pull_request", "pull_request_target")

    def describe(self) -> str:
        """Short human label, e.g. ``push to main``, ``pull_request #7 feature/x -> main``."""
        if self.is_pr_event:
            return f"{self.name} #{self.pr_number} {self.head_ref} -> {self.base_ref}"
        if self.is_tag:
            return f"{self.name} of tag {self.tag}"
        if self.name == "push":
            return f"push to {self.branch}"
        return f"{self.name} on {self.ref_name}"

    # -- expression context ------------------------------------------------------------------
    def github_context(self) -> dict[str, Any]:
        """The ``github`` context for expression evaluation (the fields workflows use)."""
        repo = {"default_branch": self.default_branch}
        payload: dict[str, Any] = {"repository": repo}
        if self.name in ("push",):
            payload.update(ref=self.ref, after=self.sha, head_commit={"id": self.sha})
        if self.name in ("pull_request", "pull_request_target"):
            pr = {
                "number": self.pr_number,
                "head": {"ref": self.head_ref, "sha": self.head_sha or self.sha},
                "base": {"ref": self.base_ref},
            }
            payload.update(number=self.pr_number, pull_request=pr)
        if self.name == "workflow_dispatch":
            payload.update(ref=self.ref, inputs=dict(self.inputs))
        return {
            "event_name": self.name,
            "ref": self.ref,
            "ref_name": self.ref_name,
            "ref_type": self.ref_type,
            "sha": self.sha,
            "base_ref": self.base_ref,
            "head_ref": self.head_ref,
            "event": payload,
        }

    def expression_context(self) -> dict[str, Any]:
        """Top-level contexts: ``github`` and ``inputs`` (workflow_dispatch inputs)."""
        return {"github": self.github_context(), "inputs": dict(self.inputs)}


# -- constructors -----------------------------------------------------------------------------
def push_to(branch: str, sha: str, default_branch: str = "main") -> Event:
    return Event("push", f"refs/heads/{branch}", sha, default_branch)


def push_tag(tag: str, sha: str, default_branch: str = "main") -> Event:
    return Event("push", f"refs/tags/{tag}", sha, default_branch)


def pull_request(
    number: int, head_branch: str, base_branch: str, sha: str, default_branch: str = "main",
    name: str = "pull_request", head_sha: str = "",
) -> Event:
    """A pull request event (``ref`` is ``refs/pull/N/merge``). With
    ``name="pull_request_target"`` the ref is the base branch, as GitHub sets it;
    docker/metadata-action rewrites that to ``refs/pull/N/merge`` itself."""
    ref = f"refs/heads/{base_branch}" if name == "pull_request_target" else f"refs/pull/{number}/merge"
    return Event(name, ref, sha, default_branch,
                 base_ref=base_branch, head_ref=head_branch, pr_number=number, head_sha=head_sha)


def workflow_dispatch(
    branch: str, sha: str, inputs: Mapping[str, str] | None = None, default_branch: str = "main"
) -> Event:
    return Event("workflow_dispatch", f"refs/heads/{branch}", sha, default_branch,
                 inputs=_frozen(inputs))


def schedule(sha: str, default_branch: str = "main") -> Event:
    return Event("schedule", f"refs/heads/{default_branch}", sha, default_branch)


def on_default_branch(name: str, sha: str, default_branch: str = "main") -> Event:
    """An event that runs on the default branch's last commit (``workflow_run``,
    ``repository_dispatch``, ``merge_group`` is left out)."""
    return Event(name, f"refs/heads/{default_branch}", sha, default_branch)


def release(tag: str, sha: str, default_branch: str = "main") -> Event:
    """A published release: ``github.ref`` is the release's tag."""
    return Event("release", f"refs/tags/{tag}", sha, default_branch)


def create_tag(tag: str, sha: str, default_branch: str = "main") -> Event:
    """``on: create`` for a new tag (``github.ref`` is the tag)."""
    return Event("create", f"refs/tags/{tag}", sha, default_branch)


def workflow_call(sha: str, default_branch: str = "main") -> Event:
    """A call by another workflow, seen from the called file alone: the caller's event, ref and
    inputs are unknown (the model makes them :class:`~buildgate.workflow.expressions.Unknown`)."""
    return Event("workflow_call", f"refs/heads/{default_branch}", sha, default_branch)


# -- GitHub filter patterns -------------------------------------------------------------------
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """GitHub's filter pattern syntax: ``*`` (not ``/``), ``**``, ``?`` and ``+`` (on the
    preceding character), ``[...]`` classes; everything else literal."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                out.append(".*")
                i += 2
                continue
            out.append("[^/]*")
        elif c in "?+" and out:
            out.append(c)
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j == -1:
                out.append(re.escape(c))
            else:
                out.append("[" + pattern[i + 1:j].replace("\\", "\\\\") + "]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("^" + "".join(out) + "$")


def matches_filters(name: str, patterns: Iterable[str] | None, ignore: Iterable[str] | None = None) -> bool:
    """Whether ``name`` passes GitHub's ``branches``/``branches-ignore`` (or tags) filters.

    ``patterns`` are evaluated in order, a ``!pattern`` excluding again; ``ignore`` excludes.
    ``patterns=None`` means no positive filter (everything matches).
    """
    if patterns is None:
        ok = True
    else:
        ok = False
        for p in patterns:
            p = str(p)
            if p.startswith("!"):
                if _glob_regex(p[1:]).match(name):
                    ok = False
            elif _glob_regex(p).match(name):
                ok = True
    if ok and ignore:
        ok = not any(_glob_regex(str(p)).match(name) for p in ignore)
    return ok


def path_filter_passes(paths: list[str] | None, ignore: list[str] | None, changed: Iterable[str]) -> bool:
    """GitHub's ``paths``/``paths-ignore``: run when one changed file is included / not ignored."""
    patterns = paths if paths is not None else ignore
    if patterns is None:
        return True
    regs = [(p.startswith("!"), _glob_regex(p[1:] if p.startswith("!") else p)) for p in patterns]

    def matched(path: str) -> bool:  # the last pattern that matches decides (`!` negates)
        hit = False
        for neg, rx in regs:
            if rx.match(path):
                hit = not neg
        return hit

    return any(matched(f) != (paths is None) for f in changed)


def _as_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    raise InputError(f"filter must be a string or a list, got {type(value).__name__}")


def _normalise_triggers(triggers: Any) -> dict[str, Mapping[str, Any]]:
    """``on:`` in any form (str, list, mapping with null values) -> {event: config}."""
    if isinstance(triggers, str):
        return {triggers: {}}
    if isinstance(triggers, (list, tuple, set, frozenset)):
        return {str(t): {} for t in triggers}
    if isinstance(triggers, Mapping):
        out: dict[str, Mapping[str, Any]] = {}
        for k, v in triggers.items():
            if v is None or str(k) == "schedule":  # schedule holds a list of crons
                v = {}
            if not isinstance(v, Mapping):
                raise InputError(f"trigger {k!r} must be a mapping or null, got {type(v).__name__}")
            out[str(k)] = v
        return out
    raise InputError(f"`on:` must be a string, list or mapping, got {type(triggers).__name__}")


def _pick(candidates: Iterable[str], patterns: list[str] | None, ignore: list[str] | None) -> str | None:
    for c in candidates:
        if matches_filters(c, patterns, ignore):
            return c
    return None


def _literals(patterns: list[str] | None) -> list[str]:
    """Names from the positive patterns: literal ones as they are, wildcards filled in
    (``release/*`` -> ``release/x``, ``v[0-9]+`` -> ``v0``)."""
    out = []
    for p in patterns or []:
        if p.startswith("!"):
            continue
        name = re.sub(r"\[([^\]])[^\]]*\]", r"\1", p)
        name = name.replace("**", "x").replace("*", "x").replace("?", "").replace("+", "")
        out.append(name)
    return out


def representative_events(triggers: Any, sha: str, default_branch: str = "main") -> list[Event]:
    """One :class:`Event` per kind the workflow's ``on:`` fires on.

    ``triggers`` is the ``on:`` value in any form (string, list, mapping; a parsed model's
    mapping of event name to config works too). Produces, where the filters allow: push to the
    default branch, push to a feature branch, push of a tag (``v1.2.3`` or a literal/matching
    tag), a pull request from a feature branch into the default branch (``pull_request`` and
    ``pull_request_target``), ``workflow_dispatch`` on the default branch, ``schedule``, a
    ``release`` and an ``on: create`` of a tag, ``workflow_run``/``repository_dispatch`` on the
    default branch, and ``workflow_call`` (whose caller's event is unknown). Other event kinds are
    left out.
    """
    trig = _normalise_triggers(triggers)
    events: list[Event] = []
    push = trig.get("push")
    if push is not None:
        b, bi = _as_list(push.get("branches")), _as_list(push.get("branches-ignore"))
        t, ti = _as_list(push.get("tags")), _as_list(push.get("tags-ignore"))
        only_tags = (t is not None or ti is not None) and b is None and bi is None
        only_branches = (b is not None or bi is not None) and t is None and ti is None
        if not only_tags:
            seen = set()
            for cand in (default_branch, EXAMPLE_FEATURE_BRANCH, *_literals(b)):
                if cand not in seen and matches_filters(cand, b, bi):
                    seen.add(cand)
                    events.append(push_to(cand, sha, default_branch))
                if len(seen) == 2:
                    break
        if not only_branches:
            tag = _pick((*EXAMPLE_TAGS, *_literals(t)), t, ti)
            if tag is not None:
                events.append(push_tag(tag, sha, default_branch))
    for name in ("pull_request", "pull_request_target"):
        cfg = trig.get(name)
        if cfg is None:
            continue
        b, bi = _as_list(cfg.get("branches")), _as_list(cfg.get("branches-ignore"))
        base = _pick((default_branch, *_literals(b)), b, bi)
        if base is not None:
            events.append(pull_request(7, EXAMPLE_FEATURE_BRANCH, base, sha, default_branch, name=name))
    if "workflow_dispatch" in trig:
        inputs = {}
        spec = trig["workflow_dispatch"].get("inputs") or {}
        if isinstance(spec, Mapping):
            for k, v in spec.items():
                default = v.get("default") if isinstance(v, Mapping) else None
                if default is not None:
                    inputs[str(k)] = str(default).lower() if isinstance(default, bool) else str(default)
        events.append(workflow_dispatch(default_branch, sha, inputs, default_branch))
    if "schedule" in trig:
        events.append(schedule(sha, default_branch))
    if "release" in trig:
        events.append(release(EXAMPLE_TAGS[0], sha, default_branch))
    if "create" in trig:
        events.append(create_tag(EXAMPLE_TAGS[0], sha, default_branch))
    for name in ("workflow_run", "repository_dispatch"):
        if name in trig:
            events.append(on_default_branch(name, sha, default_branch))
    if "workflow_call" in trig:
        events.append(workflow_call(sha, default_branch))
    return events
