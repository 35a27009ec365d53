"""Events: refs, the github context, filter patterns and representative events per `on:` form."""
from __future__ import annotations

import pytest

from buildgate.errors import InputError
from buildgate.workflow.events import (
    Event, matches_filters, pull_request, push_tag, push_to, representative_events, schedule,
    workflow_dispatch,
)

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    "event, ref_name, branch, tag, ref_type, default, label",
    [
        (push_to("main", SHA), "main", "main", None, "branch", True, "push to main"),
        (push_to("feature/x", SHA), "feature/x", "feature/x", None, "branch", False, "push to feature/x"),
        (push_tag("v1.2.3", SHA), "v1.2.3", None, "v1.2.3", "tag", False, "push of tag v1.2.3"),
        (pull_request(7, "feat", "main", SHA), "7/merge", None, None, "branch", False, "pull_request #7 feat -> main"),
        (workflow_dispatch("main", SHA), "main", "main", None, "branch", True, "workflow_dispatch on main"),
        (schedule(SHA), "main", "main", None, "branch", True, "schedule on main"),
    ],
)
def test_ref_helpers(event, ref_name, branch, tag, ref_type, default, label):
    assert (event.ref_name, event.branch, event.tag, event.ref_type) == (ref_name, branch, tag, ref_type)
    assert event.is_default_branch is default
    assert event.describe() == label


def test_github_context_push_and_pr():
    ctx = push_to("main", SHA).github_context()
    assert ctx["event_name"] == "push" and ctx["ref"] == "refs/heads/main" and ctx["sha"] == SHA
    assert ctx["base_ref"] == "" and ctx["event"]["repository"]["default_branch"] == "main"
    pr = pull_request(12, "feature/a", "main", SHA).github_context()
    assert pr["ref"] == "refs/pull/12/merge" and pr["base_ref"] == "main" and pr["head_ref"] == "feature/a"
    assert pr["event"]["pull_request"]["number"] == 12 and pr["event"]["number"] == 12
    assert pr["event"]["pull_request"]["base"]["ref"] == "main"


def test_pull_request_target_keeps_base_ref_and_dispatch_inputs():
    prt = pull_request(3, "f", "main", SHA, name="pull_request_target")
    assert prt.ref == "refs/heads/main" and prt.pr_number == 3
    wd = workflow_dispatch("main", SHA, {"deploy": "true"})
    assert wd.github_context()["event"]["inputs"] == {"deploy": "true"}
    assert wd.expression_context()["inputs"] == {"deploy": "true"}
    with pytest.raises(TypeError):
        wd.inputs["x"] = "y"  # frozen


@pytest.mark.parametrize("sha", ["abc", "", "G" * 40, SHA.upper()])
def test_bad_sha_is_an_input_error(sha):
    with pytest.raises(InputError, match="40 lowercase hex"):
        Event("push", "refs/heads/main", sha)


@pytest.mark.parametrize(
    "name, patterns, ignore, expected",
    [
        ("main", None, None, True),
        ("main", ["main"], None, True),
        ("master", ["main"], None, False),
        ("feature/x", ["feature/*"], None, True),
        ("feature/x/y", ["feature/*"], None, False),
        ("feature/x/y", ["feature/**"], None, True),
        ("release-1", ["release-*", "!release-1"], None, False),
        ("v1.2.3", ["v*.*.*"], None, True),
        ("v1.2", ["v[0-9]+.[0-9]+"], None, True),
        ("main", None, ["main"], False),
        ("dev", None, ["main"], True),
    ],
)
def test_filters(name, patterns, ignore, expected):
    assert matches_filters(name, patterns, ignore) is expected


def _kinds(events):
    return [e.describe() for e in events]


@pytest.mark.parametrize(
    "on, expected",
    [
        ("push", ["push to main", "push to feature/login-form", "push of tag v1.2.3"]),
        (["push", "pull_request"], ["push to main", "push to feature/login-form", "push of tag v1.2.3",
                                    "pull_request #7 feature/login-form -> main"]),
        ({"push": {"branches": ["main"]}, "pull_request": None, "workflow_dispatch": None},
         ["push to main", "pull_request #7 feature/login-form -> main", "workflow_dispatch on main"]),
        ({"push": {"tags": ["release-*"]}}, ["push of tag release-1.2.3"]),
        ({"push": {"branches": ["main"], "tags": ["v*"]}}, ["push to main", "push of tag v1.2.3"]),
        ({"push": {"branches": ["master"]}}, ["push to master"]),
        ({"push": {"branches": ["release/*"]}}, ["push to release/x"]),  # a name made from the pattern
        ({"push": {"branches": ["!main"]}}, []),
        ({"push": {"branches-ignore": ["main"]}}, ["push to feature/login-form"]),
        ({"pull_request": {"branches": ["develop"]}}, ["pull_request #7 feature/login-form -> develop"]),
        ({"pull_request_target": {}}, ["pull_request_target #7 feature/login-form -> main"]),
        ({"schedule": [{"cron": "0 0 * * *"}]}, ["schedule on main"]),
        ({True: None}, []),  # PyYAML's bare `on` key as an event name: not an event kind we model
    ],
)
def test_representative_events(on, expected):
    assert _kinds(representative_events(on, SHA, "main")) == expected


def test_representative_dispatch_uses_input_defaults():
    on = {"workflow_dispatch": {"inputs": {"push": {"type": "boolean", "default": True}, "env": {"default": "prod"}}}}
    (event,) = representative_events(on, SHA)
    assert dict(event.inputs) == {"push": "true", "env": "prod"}


@pytest.mark.parametrize("on", [42, {"push": "main"}, {"push": {"branches": 3}}])
def test_representative_events_bad_on_is_an_input_error(on):
    with pytest.raises(InputError):
        representative_events(on, SHA)
