"""docker/metadata-action v5 semantics: every rule kind against every event kind, plus the defects."""
from __future__ import annotations

import datetime as dt

import pytest

from buildgate.errors import CannotDecide, InputError
from buildgate.workflow.events import pull_request, push_tag, push_to, schedule, workflow_dispatch
from buildgate.workflow.metadata import (
    ActionWouldFail, ComputedTag, compute_tags, computed_tag_line, invalid_reason, render_handlebars,
    valid_tag,
)

SHA = "abc1234def5678901234567890abcdef12345678"
S7 = SHA[:7]
MAIN = push_to("main", SHA)
FEAT = push_to("feature/Login#2", SHA)
TAG = push_tag("v1.2.3", SHA)
PRE = push_tag("v2.0.0-rc.1", SHA)
NONSEMVER = push_tag("nightly-build", SHA)
PR = pull_request(7, "feature/x", "main", SHA)
PRT = pull_request(9, "feature/x", "main", SHA, name="pull_request_target")
DISPATCH = workflow_dispatch("main", SHA, {"channel": "beta"})
CRON = schedule(SHA)


def tags(tag_rules: str | None, event, flavor: str | None = None, env=None, **kw) -> list[str]:
    inputs = {"images": "ghcr.io/ardenone/moltbook-api"}
    if tag_rules is not None:
        inputs["tags"] = tag_rules
    if flavor is not None:
        inputs["flavor"] = flavor
    return [t.tag for t in compute_tags(inputs, event, env, **kw)]


# The workflow the fix claims (branch, sha, latest only on main), per event.
CLAIMED = """\
type=ref,event=branch
type=ref,event=pr
type=sha
type=raw,value=latest,enable={{is_default_branch}}
"""


@pytest.mark.parametrize(
    "event, expected",
    [
        (MAIN, ["main", "latest", f"sha-{S7}"]),  # by priority: ref 600, raw 200, sha 100
        (FEAT, ["feature-Login-2", f"sha-{S7}"]),
        (TAG, [f"sha-{S7}"]),
        (PR, ["pr-7", f"sha-{S7}"]),
        (PRT, ["pr-9", f"sha-{S7}"]),  # the action rewrites pull_request_target's ref
        (DISPATCH, ["main", "latest", f"sha-{S7}"]),
        (CRON, ["main", "latest", f"sha-{S7}"]),
    ],
)
def test_claimed_rules_per_event(event, expected):
    assert tags(CLAIMED, event) == expected


@pytest.mark.parametrize(
    "rules, event, expected",
    [
        # type=ref
        ("type=ref,event=branch", MAIN, ["main"]),
        ("type=ref,event=branch", TAG, []),
        ("type=ref,event=tag", TAG, ["v1.2.3", "latest"]),
        ("type=ref,event=tag", MAIN, []),
        ("type=ref,event=pr", PR, ["pr-7"]),
        ("type=ref,event=pr,prefix=", PR, ["7"]),
        ("type=ref,event=pr", MAIN, []),
        # type=sha: prefix, format, length
        ("type=sha", MAIN, [f"sha-{S7}"]),
        ("type=sha,format=long", MAIN, [f"sha-{SHA}"]),
        ("type=sha,prefix=", MAIN, [S7]),
        ("type=sha,prefix=,format=long", PR, [SHA]),
        ("type=sha,prefix={{branch}}-", MAIN, [f"main-{S7}"]),
        ("type=sha,prefix={{branch}}-", FEAT, [f"feature-Login-2-{S7}"]),
        ("type=sha,suffix=-{{date 'YYYYMMDD'}}", MAIN, [f"sha-{S7}-20240229"]),
        # type=raw, enable, global expressions
        ("type=raw,value=latest", FEAT, ["latest"]),
        ("type=raw,value=latest,enable={{is_default_branch}}", FEAT, []),
        ("type=raw,value=latest,enable={{is_default_branch}}", MAIN, ["latest"]),
        ("type=raw,value=latest,enable={{is_default_branch}}", TAG, []),
        ("type=raw,value=latest,enable={{is_default_branch}}", PR, []),
        ("latest", MAIN, ["latest"]),  # bare value, no type: raw
        ("type=raw,value={{tag}}", TAG, ["v1.2.3"]),
        ("type=raw,value={{tag}}", MAIN, []),  # empty value: no tag
        ("type=raw,value={{sha}}", MAIN, [S7]),
        ("type=raw,value={{base_ref}}-{{sha}}", PR, [f"main-{S7}"]),
        ("type=raw,value=build-{{date 'YYYYMMDD-HHmm'}}", MAIN, ["build-20240229-1305"]),
        ("type=raw,value=x,enable=${{ github.event_name != 'pull_request' }}", PR, []),
        ("type=raw,value=x,enable=${{ github.event_name != 'pull_request' }}", MAIN, ["x"]),
        ("type=raw,value=${{ github.ref == 'refs/heads/main' && 'stable' || 'dev' }}", FEAT, ["dev"]),
        ("type=raw,value=${{ inputs.channel }}", DISPATCH, ["beta"]),
        ("type=raw,value=a=b", MAIN, ["a-b"]),  # only the first '=' splits; '=' is sanitised
        ('type=raw,"value=a,b"', MAIN, ["a-b"]),  # CSV quoting keeps the comma in the value
        # type=edge
        ("type=edge", MAIN, ["edge"]),
        ("type=edge", FEAT, []),
        ("type=edge,branch=develop", push_to("develop", SHA), ["edge"]),
        # type=schedule
        ("type=schedule", CRON, ["nightly"]),
        ("type=schedule", MAIN, []),
        ("type=schedule,pattern={{date 'YYYYMMDD'}}", CRON, ["20240229"]),
        # type=semver / pep440 / match
        ("type=semver,pattern={{version}}", TAG, ["1.2.3", "latest"]),
        ("type=semver,pattern={{major}}.{{minor}}\ntype=semver,pattern={{major}}", TAG, ["1.2", "1", "latest"]),
        ("type=semver,pattern={{raw}}", TAG, ["v1.2.3", "latest"]),
        ("type=semver,pattern={{major}}.{{minor}}", PRE, ["2.0.0-rc.1"]),  # prerelease: version, no latest
        ("type=semver,pattern={{version}}", NONSEMVER, []),
        ("type=semver,pattern={{version}}", MAIN, []),
        ("type=semver,pattern={{version}},value=3.4.5", MAIN, ["3.4.5", "latest"]),
        ("type=pep440,pattern={{version}}", push_tag("1.2.3a1", SHA), ["1.2.3a1"]),
        ("type=pep440,pattern={{major}}.{{minor}}", push_tag("v1.2.3", SHA), ["1.2", "latest"]),
        ("type=match,pattern=\\d.\\d.\\d", push_tag("v1.2.3-alpha", SHA), ["1.2.3", "latest"]),
        ("type=match,pattern=v(.*),group=1", TAG, ["1.2.3", "latest"]),
        ("type=match,pattern=/^V(\\d+)/i,group=1", TAG, ["1", "latest"]),
        ("type=match,pattern=xyz", TAG, []),
        # comments and empty lines
        ("# a comment\n\ntype=sha  # trailing comment\n", MAIN, [f"sha-{S7}"]),
    ],
)
def test_rule_table(rules, event, expected):
    now = dt.datetime(2024, 2, 29, 13, 5, tzinfo=dt.timezone.utc)
    assert tags(rules, event, now=now) == expected


def test_default_rules_when_tags_input_is_missing_or_empty():
    assert tags(None, MAIN) == ["main"]
    assert tags("", TAG) == ["v1.2.3", "latest"]
    assert tags(None, PR) == ["pr-7"]
    assert tags(None, CRON) == ["nightly", "main"]


def test_priority_orders_tags_and_picks_the_version():
    out = compute_tags({"tags": "type=sha\ntype=raw,value=first,priority=2000\ntype=ref,event=branch"}, MAIN)
    assert [t.tag for t in out] == ["first", "main", f"sha-{S7}"]
    assert [t.line_offset for t in out] == [1, 2, 0]


def test_duplicates_are_dropped():
    assert tags("type=raw,value=main\ntype=ref,event=branch\ntype=raw,value=main", MAIN) == ["main"]


@pytest.mark.parametrize(
    "flavor, event, expected",
    [
        ("latest=auto", TAG, ["v1.2.3", "latest"]),
        ("latest=false", TAG, ["v1.2.3"]),
        ("latest=true", MAIN, ["main", "latest"]),  # latest on every branch
        ("latest=true", FEAT, ["feature-Login-2", "latest"]),
        ("latest=auto", MAIN, ["main"]),  # auto: only tag/semver-like rules add latest
        ("prefix=app-", MAIN, ["app-main"]),
        ("prefix=app-\nlatest=true", MAIN, ["app-main", "latest"]),
        ("prefix=app-,onlatest=true\nlatest=true", MAIN, ["app-main", "app-latest"]),
        ("suffix=-slim,onlatest=true\nlatest=true", MAIN, ["main-slim", "latest-slim"]),
    ],
)
def test_flavor(flavor, event, expected):
    assert tags("type=ref,event=branch\ntype=ref,event=tag", event, flavor) == expected


def test_flavor_latest_comes_from_first_rule_by_priority():
    # the first rule that produces a value decides latest=auto: here the branch rule, so no latest
    assert tags("type=ref,event=branch\ntype=raw,value=x", MAIN, "latest=auto") == ["main", "x"]
    out = compute_tags({"tags": "type=sha\ntype=ref,event=tag"}, TAG)
    assert out[-1] == ComputedTag("latest", "flavor latest=auto (decided by `type=ref,event=tag`)", 1, "flavor")


def test_rule_flavor_prefix_is_not_applied_to_sha_or_pr():
    # type=sha and type=ref,event=pr carry their own default prefix, which wins over the flavor's
    assert tags("type=sha\ntype=ref,event=pr", PR, "prefix=app-") == ["pr-7", f"sha-{S7}"]


# -- the defects the harness must catch ---------------------------------------------------------
@pytest.mark.parametrize("event", [TAG, PR, PRT])
def test_branch_prefix_on_tag_and_pr_events_starts_with_a_dash(event):
    out = tags("type=sha,prefix={{branch}}-", event)
    assert out == [f"-{S7}"]
    assert not valid_tag(out[0]) and invalid_reason(out[0]) == "starts with '-'"


def test_latest_on_every_branch_when_enable_is_missing():
    assert "latest" in tags("type=raw,value=latest", FEAT)
    assert "latest" not in tags("type=raw,value=latest,enable={{is_default_branch}}", FEAT)


@pytest.mark.parametrize(
    "env, expected",
    [({}, f"sha-{S7}"), ({"DOCKER_METADATA_SHORT_SHA_LENGTH": "12"}, f"sha-{SHA[:12]}"),
     ({"DOCKER_METADATA_SHORT_SHA_LENGTH": "99"}, f"sha-{SHA}")],
)
def test_short_sha_length_env(env, expected):
    assert tags("type=sha", MAIN, env=env) == [expected]
    assert tags("type=raw,value={{sha}}", MAIN, env=env) == [expected[4:]]


def test_sha_short_vs_long_differ():
    short, long_ = tags("type=sha", MAIN), tags("type=sha,format=long", MAIN)
    assert short != long_ and len(short[0]) == 4 + 7 and len(long_[0]) == 4 + 40


def test_pr_head_sha_env():
    pr = pull_request(7, "f", "main", SHA, head_sha="f" * 40)
    assert tags("type=sha", pr) == [f"sha-{SHA[:7]}"]
    assert tags("type=sha", pr, env={"DOCKER_METADATA_PR_HEAD_SHA": "true"}) == ["sha-fffffff"]


# -- errors: never a guess ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "rules, flavor, env, exc, words",
    [
        ("type=bogus,value=x", None, None, ActionWouldFail, "Unknown tag type attribute: bogus"),
        ("type=semver", None, None, ActionWouldFail, "Missing pattern"),
        ("type=ref", None, None, ActionWouldFail, "Missing event"),
        ("type=ref,event=commit", None, None, ActionWouldFail, "Invalid event"),
        ("type=sha,format=medium", None, None, ActionWouldFail, "Invalid format"),
        ("type=raw", None, None, ActionWouldFail, "Missing value"),
        ("type=match,pattern=x,group=a", None, None, ActionWouldFail, "Invalid match group"),
        ("type=raw,value=x,enable=yes", None, None, ActionWouldFail, "Invalid value for enable attribute: yes"),
        ("type=sha", "latest=maybe", None, ActionWouldFail, "Invalid latest flavor"),
        ("type=sha", "colour=blue", None, ActionWouldFail, "Unknown flavor entry"),
        ("type=sha", None, {"DOCKER_METADATA_SHORT_SHA_LENGTH": "seven"}, ActionWouldFail, "not a valid number"),
        ("type=raw,value={{> partial}}", None, None, CannotDecide, "not supported"),
        ("type=raw,value={{#if x}}a{{/if}}", None, None, ActionWouldFail, "unclosed"),  # '#' starts a comment
        ("type=raw,value={{nosuch 'x'}}", None, None, ActionWouldFail, "Missing helper"),
        ("type=raw,value={{date 'YYYY'}}", None, None, CannotDecide, "depends on the time"),
        ("type=raw,value={{commit_date 'YYYY'}}", None, None, CannotDecide, "commit's date"),
        ("type=raw,value=${{ secrets.TOKEN }}", None, None, CannotDecide, "secrets"),
        ("type=raw,value=${{ github.repository }}", None, None, CannotDecide, "github.repository"),
        ("type=raw,value=${{ steps.v.outputs.tag }}", None, None, CannotDecide, "steps"),
    ],
)
def test_cannot_decide_names_what(rules, flavor, env, exc, words):
    with pytest.raises(exc, match=words.replace("(", r"\(")) as info:
        tags(rules, MAIN, flavor, env)
    assert "\n" not in str(info.value)
    assert issubclass(exc, CannotDecide)


def test_step_outputs_from_context_are_used():
    out = compute_tags({"tags": "type=raw,value=${{ steps.v.outputs.tag }}"}, MAIN,
                       context={"steps": {"v": {"outputs": {"tag": "1.0"}}}})
    assert [t.tag for t in out] == ["1.0"]


def test_unknown_names_render_empty_like_handlebars():
    # handlebars renders a missing name as '' (the action does not fail): a typo shows in the tag
    assert tags("type=sha,prefix={{brnach}}-", MAIN) == [f"-{S7}"]


def test_non_string_inputs():
    with pytest.raises(InputError, match="must be a string"):
        compute_tags({"tags": ["type=sha"]}, MAIN)
    with pytest.raises(InputError, match="must be a mapping"):
        compute_tags("type=sha", MAIN)  # type: ignore[arg-type]


def test_handlebars_escapes_like_handlebars():
    assert render_handlebars("{{x}}", {"x": "a&b"}, "t") == "a&amp;b"
    assert render_handlebars("{{{x}}}", {"x": "a&b"}, "t") == "a&b"
    assert render_handlebars("\\{{x}} {{! note }}y", {"x": "z"}, "t") == "{{x}} y"


def test_line_offsets_map_to_file_lines():
    out = compute_tags({"tags": "type=ref,event=branch\n\ntype=sha\n"}, MAIN)
    assert [(t.tag, t.line_offset) for t in out] == [("main", 0), (f"sha-{S7}", 2)]
    assert computed_tag_line(out[1], tags_key_line=30) == 33
    assert computed_tag_line(compute_tags({}, MAIN)[0], 30) is None


def test_rule_text_is_as_written():
    (t,) = compute_tags({"tags": "type=raw,value=${{ github.ref_name }}"}, MAIN)
    assert t.tag == "main" and t.rule == "type=raw,value=${{ github.ref_name }}"


def test_expressions_in_rules_use_the_workflow_evaluator():
    assert tags("type=raw,value=${{ github.ref == 'refs/heads/MAIN' && format('v{0}', 1) || 'no' }}", MAIN) == ["v1"]
    assert tags("type=raw,value=x,enable=${{ !startsWith(github.ref, 'refs/tags/') }}", TAG) == []
    with pytest.raises(CannotDecide, match="github.repository"):
        tags("type=raw,value=${{ github.repository }}", MAIN)
    with pytest.raises(CannotDecide, match="hashFiles"):
        tags("type=raw,value=${{ hashFiles('x') }}", MAIN)


# -- tag grammar --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "tag, reason",
    [
        ("main", None), ("sha-abc1234", None), ("_x", None), ("v1.2.3", None), ("a" * 128, None),
        ("", "empty"), ("-abc", "starts with '-'"), (".abc", "starts with '.'"),
        ("a" * 129, "longer than 128 characters (129)"), ("feature/x", "contains '/'"),
        ("a b", "contains ' '"), ("é", "contains 'é'"),
    ],
)
def test_tag_grammar(tag, reason):
    assert invalid_reason(tag) == reason
    assert valid_tag(tag) is (reason is None)


def test_over_long_value_is_kept_invalid():
    out = tags("type=raw,value=" + "x" * 130, MAIN)
    assert invalid_reason(out[0]) == "longer than 128 characters (130)"


def test_garbage_rules_raise_only_buildgate_errors():
    import random

    from buildgate.errors import BuildgateError

    atoms = ["type=", "sha", "raw", "semver", "match", "ref", "edge", "schedule", "pep440", ",", "value=", "prefix=",
             "suffix=", "enable=", "priority=", "format=long", "event=pr", "pattern=", "group=1", "{{branch}}",
             "{{", "}}", "{{date 'YYYY'}}", "${{ github.sha }}", "${{", "'", '"', "#", "\n", "latest", "/(x/", "=", " "]
    rnd = random.Random(11)
    for _ in range(400):
        text = "".join(rnd.choice(atoms) for _ in range(rnd.randint(1, 20)))
        for event in (MAIN, TAG, PR):
            try:
                out = compute_tags({"tags": text, "flavor": rnd.choice(["", "latest=true", text])}, event)
            except BuildgateError as exc:
                assert "\n" not in str(exc)
            else:
                assert all(isinstance(t.tag, str) and t.tag for t in out)
