"""``--claims FILE.md``: audit a resolution document's claims against this run.

The audit runs in ``pytest_buildgate_report`` (on the controller, after every scenario), with a
:class:`~buildgate.context.Context` of the audited repository: the ``--target``/``--repo``
checkout, or for the embedded sandbox a copy the controller builds with the sandbox's own
builder (fixed dates and identities: the same commits the scenarios audited; under xdist the
controller has no ``sandbox_repo`` fixture of its own, and the workers' copies are theirs).
Claim checks and repository-layer parts run there; whole criteria and parts of the other layers
take the verdicts this run decided.
"""
from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest

from buildgate import claims
from buildgate.claims.render import claim_line, clip, one_line
from buildgate.context import Context
from buildgate.errors import BuildgateError
from buildgate.repo import Repo
from buildgate.target import Target
from pytest_buildgate.output import report_of
from pytest_buildgate.target import target_of



def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("buildgate")
    group.addoption("--claims", metavar="FILE.md", help="audit the claims of this resolution document")
    group.addoption(
        "--claims-map", metavar="FILE", default=str(claims.DEFAULT_MAPPING),
        help="claim pattern -> checks mapping (default: the one shipped for task mo-3t8p, on top of "
             "claims-default.yml)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Fail fast, with one line, on a claims document or mapping that can't be used."""
    document = config.getoption("claims")
    if document and not hasattr(config, "workerinput"):
        try:
            mapping = claims.load_mapping(config.getoption("claims_map"))
        except BuildgateError as exc:
            raise pytest.UsageError(f"buildgate: --claims-map: {exc}") from None
        try:
            claims.claims_of(document, mapping)
        except BuildgateError as exc:
            raise pytest.UsageError(f"buildgate: --claims: {exc}") from None


@contextlib.contextmanager
def audit_context(config: pytest.Config) -> Iterator[Context]:
    """A context of the repository this run audited (the repository is opened when a check asks)."""
    target = target_of(config)
    if target is not None:
        yield Context(target, lambda: target.repo().require_git())
        return
    from pytest_buildgate.fixtures import sandbox_repo as builder  # the embedded sandbox's own builder

    with tempfile.TemporaryDirectory(prefix="buildgate-claims-") as tmp:
        dest = Path(tmp) / "moltbook-org"
        sandbox = Target(name="sandbox", repo_path=dest.resolve(), source="<sandbox>", sandbox=True)

        def build() -> Repo:
            return builder.make_sandbox_repo(dest).target.repo().require_git()

        yield Context(sandbox, build)


def pytest_buildgate_report(config: pytest.Config, report: dict[str, Any]) -> None:
    document = config.getoption("claims")
    if not document:
        return
    criteria = report["criteria"]
    with audit_context(config) as ctx:
        runner = claims.Runner(ctx, lambda cid: claims.Finding.from_report(criteria.get(cid)))
        report["claims"] = claims.audit(document, runner, config.getoption("claims_map"))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    report = report_of(config)
    if report is None or "claims" not in report:
        return
    section = report["claims"]
    terminalreporter.section("buildgate claims")
    width = terminalreporter._tw.fullwidth
    for note in section.get("notes", []):
        terminalreporter.write_line(clip(one_line(f"note: {note}"), width))
    for claim in section["claims"]:
        terminalreporter.write_line(clip(claim_line(claim), width))
    terminalreporter.write_line(section["summary"])
