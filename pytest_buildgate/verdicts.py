"""Each scenario's verdict, with its evidence and the Gherkin step it ended at.

- Steps record evidence on the running item (:func:`record`) and assert a check's result
  (:func:`check`): a failed check is a ``fail`` showing its message, step and evidence.
- Every scenario item gets a verdict (:mod:`buildgate.verdict`) from how it ended:
  ``NotApplicable`` becomes a skip with its reason, other buildgate errors are errors shown as one
  line, any other exception is a crash (a bug in buildgate), reported as an error.
- The verdict travels in the report's ``user_properties``, so it survives pytest-xdist; the
  controller keeps, per scenario, the worst verdict of its phases (:func:`verdicts_of`).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pytest_bdd.scenario import scenario_wrapper_template_registry
from pytest_bdd.utils import registry_get_safe

import buildgate
from buildgate.criteria import CRITERIA
from buildgate.errors import BuildgateError, NotApplicable
from buildgate.reports.terminal import one_line
from buildgate.reports.verdicts import ScenarioVerdict
from buildgate.result import CheckFailed, CheckResult
from buildgate.verdict import Verdict, verdict_of, worst

VERDICTS_KEY = pytest.StashKey[dict]()
OTHER_FAILURES_KEY = pytest.StashKey[list]()
PROP_EVIDENCE = "buildgate.evidence"
PROP_VERDICT = "buildgate.verdict"
_STEP = pytest.StashKey[str]()          # the Gherkin step running or failing, with file:line
_GHERKIN = pytest.StashKey[dict]()      # the scenario's feature, tags and steps with statuses
_CONFIG: list[pytest.Config] = []

_current_item: pytest.Item | None = None


def current_item() -> pytest.Item | None:
    """The test item being run in this process (steps record evidence on it)."""
    return _current_item


def record(evidence: list[str]) -> None:
    """Attach evidence to the running scenario (it reaches the report under its criteria)."""
    item = current_item()
    if item is not None and evidence:
        item.user_properties.append((PROP_EVIDENCE, list(evidence)))


def check(result: CheckResult) -> CheckResult:
    """Record the result's evidence, then fail the scenario with its message unless it is ok."""
    if not isinstance(result, CheckResult):
        raise TypeError(f"check() takes a CheckResult, got {type(result).__name__}")
    record(result.evidence)
    if not result.ok:
        raise CheckFailed(result.message)
    return result


def verdicts_of(config: pytest.Config) -> dict[str, ScenarioVerdict]:
    """The scenario verdicts collected so far on this process (the controller under xdist)."""
    return config.stash.get(VERDICTS_KEY, {})


def other_failures(config: pytest.Config) -> list[str]:
    """Tests and collectors that failed without a verdict (they keep the run red)."""
    return config.stash.get(OTHER_FAILURES_KEY, [])


def pytest_configure(config: pytest.Config) -> None:
    config.stash[VERDICTS_KEY] = {}
    config.stash[OTHER_FAILURES_KEY] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    global _current_item
    _current_item = item
    try:
        return (yield)
    finally:
        _current_item = None


def _step_label(feature, step) -> str:
    return f"{step.keyword} {step.name} ({_rel(feature.filename)}:{step.line_number})"


def pytest_bdd_before_scenario(request, feature, scenario) -> None:
    """Remember the scenario's Gherkin (for cucumber JSON and the Markdown report)."""
    request.node.stash[_GHERKIN] = {
        "feature": {
            "uri": _rel(feature.filename),
            "name": feature.name,
            "line": feature.line_number,
            "tags": sorted(feature.tags),
            "description": feature.description,
        },
        "scenario": {"line": scenario.line_number, "tags": sorted(scenario.tags), "description": scenario.description},
        "steps": [
            {"keyword": st.keyword, "name": st.name, "line": st.line_number, "status": "skipped", "error": None}
            for st in scenario.steps
        ],
    }


def _mark_step(request, step, status: str, error: str | None = None) -> None:
    gherkin = request.node.stash.get(_GHERKIN, None)
    if gherkin is None:
        return
    for entry in gherkin["steps"]:
        if entry["line"] == step.line_number and entry["status"] == "skipped":
            entry["status"], entry["error"] = status, error
            break


def pytest_bdd_before_step(request, feature, scenario, step, step_func) -> None:
    request.node.stash[_STEP] = _step_label(feature, step)


def pytest_bdd_after_step(request, feature, scenario, step, step_func, step_func_args) -> None:
    _mark_step(request, step, "passed")


def pytest_bdd_step_error(request, feature, scenario, step, step_func, step_func_args, exception) -> None:
    request.node.stash[_STEP] = _step_label(feature, step)
    _mark_step(request, step, "failed", " ".join(str(exception).split())[:500])


def pytest_bdd_step_func_lookup_error(request, feature, scenario, step, exception) -> None:
    request.node.stash[_STEP] = _step_label(feature, step)
    _mark_step(request, step, "undefined", " ".join(str(exception).split())[:500])


def _rel(path: str) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return path


def _criteria_of(item: pytest.Item) -> list[str]:
    return sorted({m.name for m in item.iter_markers() if m.name in CRITERIA})


def _one_line(exc: BaseException) -> str:
    return one_line(exc)


_LIBRARY = Path(buildgate.__file__).resolve().parent


def _raised_in_buildgate(exc: BaseException) -> bool:
    """True when the innermost frame is buildgate's own code: an ``assert`` there is a bug, not a
    verdict (a failed check is :class:`CheckFailed`)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and _LIBRARY in Path(tb.tb_frame.f_code.co_filename).resolve().parents


def _verdict_of_exception(exc: BaseException | None) -> tuple[Verdict, str]:
    """How a scenario that raised ended: a failed check, a buildgate error, or a bug."""
    if isinstance(exc, CheckFailed):
        return Verdict.FAIL, str(exc)
    if isinstance(exc, AssertionError) and not _raised_in_buildgate(exc):  # a team's own step asserting
        return Verdict.FAIL, next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "assertion failed")
    if isinstance(exc, BuildgateError):
        return verdict_of(exc)
    if exc is not None and type(exc).__module__.startswith("pytest_bdd"):
        return Verdict.ERROR, f"{type(exc).__name__}: {_one_line(exc)}"
    if exc is not None:
        return Verdict.ERROR, f"crash (a bug in buildgate): {type(exc).__name__}: {_one_line(exc)}"
    return Verdict.ERROR, "failed"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    rep = yield
    criteria = _criteria_of(item)
    if not criteria:
        return rep
    excinfo = call.excinfo
    step = item.stash.get(_STEP, None)
    verdict: Verdict | None = None
    message = ""
    if excinfo is not None and isinstance(excinfo.value, NotApplicable):
        rep.outcome = "skipped"
        rep.longrepr = (str(item.path), getattr(item, "location", (None, 0))[1] or 0, f"Skipped: {excinfo.value}")
    if rep.passed:
        if rep.when == "call":
            verdict = Verdict.PASS
    elif rep.skipped:
        verdict = Verdict.SKIPPED
        message = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        message = message.removeprefix("Skipped: ")
    else:
        exc = excinfo.value if excinfo is not None else None
        verdict, message = _verdict_of_exception(exc)
        if isinstance(exc, (CheckFailed, BuildgateError)):
            lines = [f"{verdict.upper()} {' '.join(criteria)}: {one_line(message)}"]
            if step:
                lines.append(f"  at step: {one_line(step)}")
            lines += [f"  evidence: {one_line(e)}" for e in _evidence_of(item)[:20]]
            rep.longrepr = "\n".join(lines)
    if verdict is None:
        return rep
    gherkin = item.stash.get(_GHERKIN, {})
    scenario_verdict = ScenarioVerdict(
        nodeid=item.nodeid,
        name=_scenario_name(item),
        criteria=criteria,
        verdict=verdict,
        message=message,
        evidence=_evidence_of(item),
        step=step if verdict in (Verdict.FAIL, Verdict.ERROR) else None,
        feature=gherkin.get("feature", {"uri": _rel(str(item.path))}),
        scenario=gherkin.get("scenario", {}),
        steps=gherkin.get("steps", []),
        duration=getattr(rep, "duration", 0.0),
    )
    rep.user_properties.append((PROP_VERDICT, json.dumps(scenario_verdict.to_dict())))
    return rep


def _evidence_of(item: pytest.Item) -> list[str]:
    return [e for key, value in item.user_properties if key == PROP_EVIDENCE for e in value]


def _scenario_name(item: pytest.Item) -> str:
    """The scenario's name as written in Gherkin (pytest-bdd keeps it in a registry)."""
    template = registry_get_safe(scenario_wrapper_template_registry, getattr(item, "obj", None))
    return getattr(template, "name", None) or item.name


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _CONFIG.append(session.config)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """A file that failed to collect (e.g. with --continue-on-collection-errors) keeps the run red."""
    if report.failed and _CONFIG:
        other_failures(_CONFIG[-1]).append(report.nodeid or "<collection>")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """On the controller (and without xdist), keep each scenario's worst verdict of its phases."""
    if not _CONFIG:
        return
    config = _CONFIG[-1]
    if report.failed and not any(k == PROP_VERDICT for k, _ in report.user_properties):
        other_failures(config).append(report.nodeid)
    store = verdicts_of(config)
    for key, value in report.user_properties:
        if key == PROP_VERDICT:
            rec = ScenarioVerdict(**json.loads(value))
            prev = store.get(rec.nodeid)
            if prev is None or worst([prev.verdict, rec.verdict]) == rec.verdict:
                if prev is not None and prev.verdict != rec.verdict and prev.message:
                    rec.message = f"{rec.message}; {prev.message}" if rec.message else prev.message
                store[rec.nodeid] = rec
