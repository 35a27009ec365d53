"""The end of a run: the verdict report, the gate, the exit status, and the report files.

On the controller (never on an xdist worker): the scenario verdicts are aggregated per criterion
id (:mod:`buildgate.reports.verdicts`), waivers are applied and the gate decided
(:mod:`buildgate.reports.gate`), plugins may add to the report (``pytest_buildgate_report``,
e.g. the claim audit), then each requested format is written atomically. The gate decides the
exit status of a feature run, unless other tests failed or pytest itself stopped. A run
interrupted with Ctrl-C says so in every report, and its gate is closed.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from buildgate.errors import BuildgateError
from buildgate.reports import cucumber, gate, junit, markdown, terminal, verdicts
from buildgate.reports.annotations import workflow_commands
from buildgate.reports.files import write_report
from buildgate.reports.step_summary import append_step_summary, in_actions
from pytest_buildgate.target import target_of
from pytest_buildgate.verdicts import other_failures, verdicts_of

REPORT_KEY = pytest.StashKey[dict]()
_WRITE_PROBLEMS_KEY = pytest.StashKey[list]()
# option -> how the report is rendered for it
FORMATS = {
    "buildgate_report": verdicts.dumps,
    "buildgate_markdown": markdown.markdown,
    "buildgate_junit": junit.junit_xml,
    "buildgate_cucumber": cucumber.cucumber_json,
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("buildgate")
    group.addoption("--buildgate-report", metavar="FILE", help="write the JSON verdict report, keyed by criterion id")
    group.addoption("--buildgate-markdown", metavar="FILE", help="write the Markdown audit report")
    group.addoption("--buildgate-junit", metavar="FILE", help="write JUnit XML, one testcase per scenario")
    group.addoption("--buildgate-cucumber", metavar="FILE", help="write cucumber JSON (complete under xdist)")
    group.addoption("--allow-errors", action="store_true", help="errors (can't check) don't close the gate")
    group.addoption("--allow-skipped", action="store_true", help="skipped criteria don't close the gate")


def pytest_configure(config: pytest.Config) -> None:
    if not _is_worker(config):
        for option in FORMATS:
            check_writable(option, config.getoption(option))


def check_writable(option: str, path: str | None) -> None:
    """Refuse, before anything runs, a report path that can't be written (one line, no traceback)."""
    if not path:
        return
    flag = "--" + option.replace("_", "-")
    out = Path(path)
    if out.is_dir():
        raise pytest.UsageError(f"buildgate: {flag} {path}: is a folder, expected a file path")
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise pytest.UsageError(f"buildgate: {flag} {path}: cannot create it ({parent} is not a writable folder)")


def build_report(config: pytest.Config, interrupted: bool = False) -> dict[str, Any]:
    """Aggregate verdicts, apply waivers, let plugins add to it, and decide the gate."""
    target = target_of(config)
    described = target.describe() if target else {"name": "sandbox", "source": "<sandbox>", "sandbox": True}
    if target is not None and target.repo_path is not None:
        try:
            described["commit"] = target.repo().head()
        except BuildgateError:
            pass  # not a git checkout: every repository criterion already says so
    report = verdicts.aggregate(verdicts_of(config).values(), described)
    if interrupted:
        report["interrupted"] = True
    gate.apply_waivers(report, target.waivers if target else ())
    config.hook.pytest_buildgate_report(config=config, report=report)
    gate.evaluate(report, allow_errors=config.getoption("allow_errors"),
                  allow_skipped=config.getoption("allow_skipped"), interrupted=interrupted)
    return report


def report_of(config: pytest.Config) -> dict[str, Any] | None:
    """The finished report of this run (controller, after the session), if any."""
    return config.stash.get(REPORT_KEY, None)


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the reports and turn the gate into the exit status (controller only)."""
    config = session.config
    if _is_worker(config) or not verdicts_of(config):
        return
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    report = build_report(config, interrupted=interrupted)
    config.stash[REPORT_KEY] = report
    problems = [write_report(config.getoption(option), render(report)) for option, render in FORMATS.items()]
    problems.append(append_step_summary(report))
    config.stash[_WRITE_PROBLEMS_KEY] = [p for p in problems if p]
    other_failures(config).extend(config.stash[_WRITE_PROBLEMS_KEY])
    # The gate decides the exit status of a feature run, unless other tests failed or pytest
    # itself stopped (usage, collection, interruption or internal errors keep their own status).
    if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        if other_failures(config):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        else:
            session.exitstatus = pytest.ExitCode.OK if report["gate"]["open"] else pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    report = report_of(config)
    if _is_worker(config) or report is None:
        return
    terminalreporter.section("buildgate criteria")
    for line in terminal.terminal_lines(report, width=terminalreporter._tw.fullwidth):
        terminalreporter.write_line(line)
    terminalreporter.write_line(terminal.gate_line(report))
    for problem in config.stash.get(_WRITE_PROBLEMS_KEY, []):
        terminalreporter.write_line(problem, red=True)
    if in_actions():
        for line in workflow_commands(report):
            terminalreporter.write_line(line)
