"""GitHub expressions: literals, operators, coercion, functions, and honest CannotDecide."""
from __future__ import annotations

import math

import pytest

from buildgate.errors import CannotDecide
from buildgate.workflow.expressions import (
    ExpressionSyntaxError, PartialDict, Unknown, contexts_used, evaluate, evaluate_condition,
    interpolate, references, strip_template,
)

CTX = {
    "github": {"event_name": "push", "ref": "refs/heads/main", "sha": "a" * 40,
               "event": {"pull_request": None, "commits": [{"id": "1"}, {"id": "2"}]}},
    "inputs": {"push": True, "name": "x"},
    "needs": {"build": {"result": "success"}},
    "steps": {"meta": {"outputs": {"tags": "a:1\na:2"}}},
    "arr": [1, "Two", None],
}


@pytest.mark.parametrize("expr, expected", [
    ("${{ true }}", True), ("null", None), ("711", 711.0), ("-9.2", -9.2), ("0xff", 255.0),
    ("-2.99e-2", -0.0299), ("'It''s open source!'", "It's open source!"),
    ("github.event_name == 'push'", True), ("github.event_name == 'PUSH'", True),
    ("github.event_name != 'pull_request'", True), ("github['event_name']", "push"),
    ("github.event.pull_request.number", None), ("github.event.commits[1].id", "2"),
    ("github.event.commits.*.id", ["1", "2"]), ("arr[5]", None),
    ("1 == '1'", True), ("'' == 0", True), ("null == 0", True), ("true == 1", True),
    ("'abc' == 1", False), ("arr == arr", True), ("'a' < 'B'", True), ("!2 < 3", True),
    ("github.event_name == 'push' && 'yes' || 'no'", "yes"), ("false && x.y", False),
    ("0 || ''", ""), ("!(1 == 2)", True), ("inputs.push", True), ("inputs.missing", None),
    ("contains(arr, 'two')", True), ("contains('Hello', 'ELL')", True),
    ("startsWith(github.ref, 'refs/heads/')", True), ("endsWith(github.ref, '/MAIN')", True),
    ("format('{0}-{1}-{{x}}', 'a', 1)", "a-1-{x}"), ("join(arr, '+')", "1+Two+"),
    ("join('abc')", "abc"), ("fromJSON('{\"a\": [1, true]}').a[1]", True), ("fromJSON('3') > 2", True),
    ("toJSON(inputs)", '{\n  "push": true,\n  "name": "x"\n}'),
    ("success()", True), ("failure()", False), ("always()", True), ("cancelled()", False),
    ("needs.build.result == 'success'", True), ("steps.meta.outputs.tags", "a:1\na:2"),
])
def test_evaluate(expr: str, expected: object) -> None:
    got = evaluate(expr, CTX)
    if isinstance(expected, float):
        assert math.isclose(got, expected)
    else:
        assert got == expected


def test_nan_never_equal() -> None:
    assert evaluate("'abc' == 'abc' && fromJSON('1') != 'x'", CTX) is True
    assert evaluate("'x' < 1", CTX) is False


@pytest.mark.parametrize("expr, needle", [
    ("secrets.GITHUB_TOKEN != ''", "secrets"), ("vars.REGISTRY", "vars"),
    ("hashFiles('**/package-lock.json')", "hashFiles"), ("nosuch(1)", "nosuch"),
    ("github.actor == 'x'", "github.actor"), ("steps.x.outputs.y", "steps.x.outputs.y"),
])
def test_cannot_decide_names_the_expression_and_where(expr: str, needle: str) -> None:
    ctx = {"github": PartialDict({"event_name": "push", "actor": Unknown("github.actor")}, name="github"),
           "steps": PartialDict({"x": {"outputs": PartialDict(name="steps.x.outputs")}}, name="steps")}
    with pytest.raises(CannotDecide) as err:
        evaluate(expr, ctx, where="wf.yml:12")
    msg = str(err.value)
    assert msg.startswith("wf.yml:12: cannot decide")
    assert needle.split(".")[0] in msg


def test_short_circuit_avoids_unknowns() -> None:
    ctx = {"github": {"event_name": "pull_request"}}
    assert evaluate("github.event_name == 'push' && secrets.X == 'y'", ctx) is False


@pytest.mark.parametrize("bad", ["a ==", "(a", "'open", '"double"', "a @ b", "a.", "f(1,", "a b"])
def test_syntax_errors_are_one_line_input_errors(bad: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as err:
        evaluate(bad, {"a": 1}, where="w.yml:3")
    assert "\n" not in str(err.value)


def test_interpolate_and_strip() -> None:
    assert strip_template("${{ github.ref }}") == "github.ref"
    assert strip_template("  ${{ 'a}}b' }} ") == "'a}}b'"
    assert interpolate("img:${{ github.sha }}-x", CTX) == "img:" + "a" * 40 + "-x"
    assert interpolate("${{ inputs.push }}", CTX) is True  # one expression keeps its type
    assert interpolate("${{ 'a}}b' }}!", CTX) == "a}}b!"
    assert interpolate("plain", CTX) == "plain"


def test_condition_adds_implicit_success() -> None:
    ctx = {"github": {"event_name": "push"}}
    assert evaluate_condition("github.event_name == 'push'", ctx) is True
    assert evaluate_condition("github.event_name == 'push'", ctx, status="skipped") is False
    assert evaluate_condition("always() && github.event_name == 'push'", ctx, status="skipped") is True
    assert evaluate_condition("${{ github.event_name == 'push' }}", ctx) is True
    assert evaluate_condition(None, ctx) is True
    assert evaluate_condition("failure()", ctx) is False


def test_references_and_contexts() -> None:
    assert references("secrets.GITHUB_TOKEN") == ["secrets.GITHUB_TOKEN"]
    assert references("github.token || secrets['PAT']") == ["github.token", "secrets.PAT"]
    assert contexts_used("${{ github.ref == inputs.x && env.Y }}") == {"github", "inputs", "env"}
