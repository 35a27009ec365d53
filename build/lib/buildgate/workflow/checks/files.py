"""W1, W1b, W2: the workflow file is there, some workflow builds and pushes both images, and the
file is a valid workflow."""
from __future__ import annotations

from typing import Any

from buildgate.errors import BuildgateError, CannotDecide, InputError
from buildgate.repo import Repo
from buildgate.result import CheckResult
from buildgate.target import Target
from buildgate.workflow.builds import builds_and_pushes_both, find_build_workflows, present, workflow_files
from buildgate.workflow.checks.common import describe_images, workflow_for
from buildgate.workflow.model import Workflow
from buildgate.yamlfile import line_at


def w1_workflow_exists(repo: Repo, target: Target) -> CheckResult:
    """W1: the workflow file is at the claimed path."""
    path = target.workflow
    if present(repo, path):
        return CheckResult.passed(f"{path} exists", [f"workflow file: {path}"])
    others = find_build_workflows(repo, target)
    found = f"no such file; the images are built by {', '.join(others)} now" if others else "no such file"
    return CheckResult.failed(f"the workflow at {path}", found, target.workflows_dir,
                              [f"missing: {path}"] + [f"builds both images: {p}" for p in others])


def w1b_some_workflow_builds(repo: Repo, target: Target) -> CheckResult:
    """W1b: some workflow builds and pushes both images (the capability, whatever the file's
    name and whichever event pushes). Several workflows pushing the same tags are W12's concern."""
    evidence, good = [], []
    files = workflow_files(repo, target.workflows_dir)
    undecided = []
    for path in files:
        try:
            ok, why = builds_and_pushes_both(repo, target, path)
        except InputError as exc:  # GitHub can't run a file it can't read: it builds nothing
            evidence.append(f"{path}: builds nothing: {exc}")
            continue
        except BuildgateError as exc:
            evidence.append(f"{path}: {exc.kind}: {exc}")
            undecided.append(str(exc))
            continue
        evidence.append(f"{path}: {why}")
        if ok:
            good.append(path)
    if not good:
        if undecided:
            raise CannotDecide(f"no workflow under {target.workflows_dir} is known to build both images; "
                               f"undecided: {'; '.join(undecided)}", target.workflows_dir)
        return CheckResult.failed(f"a workflow under {target.workflows_dir} that builds and pushes {describe_images(target)}",
                                  f"none among {len(files)} file(s)", target.workflows_dir, evidence)
    where_note = "" if target.workflow in good else f" (not at the claimed {target.workflow}: {good[0]} does the job now)"
    if len(good) > 1:
        evidence.append(f"{len(good)} workflows push the images: {', '.join(good)} (whether they push the same tags "
                        "is W12)")
    return CheckResult.passed(f"{', '.join(good)} builds and pushes both images{where_note}", evidence)


_SCHEMA_VALIDATOR: Any = None


def _schema_validator() -> Any:
    """check-jsonschema's vendored ``github-workflows`` schema, loaded once from the package."""
    global _SCHEMA_VALIDATOR
    if _SCHEMA_VALIDATOR is None:
        import importlib.util
        import json
        import os

        import jsonschema

        # Read the vendored file without importing check_jsonschema (its CLI, requests and click
        # cost ~100 ms); fall back to its API if the layout ever changes.
        spec = importlib.util.find_spec("check_jsonschema")
        folders = list(spec.submodule_search_locations or []) if spec else []
        path = os.path.join(folders[0], "builtin_schemas", "vendor", "github-workflows.json") if folders else ""
        if path and os.path.isfile(path):
            with open(path, encoding="utf-8") as fh:
                schema = json.load(fh)
        else:
            from check_jsonschema.builtin_schemas import get_builtin_schema

            schema = get_builtin_schema("vendor.github-workflows")
        cls = jsonschema.validators.validator_for(schema)
        _SCHEMA_VALIDATOR = cls(schema)
    return _SCHEMA_VALIDATOR


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {("on" if k is True else str(k)): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def schema_errors(wf: Workflow) -> list[tuple[str, str]]:
    """(message, file:line) for every schema violation, most specific first."""
    validator = _schema_validator()
    data = wf.raw
    out = []
    for err in sorted(validator.iter_errors(_plain(data)), key=lambda e: list(map(str, e.absolute_path))):
        best = err
        if err.context:  # oneOf/anyOf: report the deepest sub-error
            best = max(err.context, key=lambda e: len(e.absolute_path))
        loc = ".".join(str(p) for p in best.absolute_path) or "(top level)"
        line = line_at(data, best.absolute_path)
        out.append((f"{loc}: {best.message.splitlines()[0][:160]}", wf.where(line)))
    return out


def yaml_strictness(wf: Workflow) -> list[tuple[str, str]]:
    """What YAML accepts but GitHub rejects: a duplicate mapping key, a merge key (``<<:``)."""
    out = [(f"duplicate key {key!r} (first at line {first}; GitHub rejects the file: "
            f"'{key}' is already defined)", wf.where(line)) for key, line, first in wf.doc.duplicate_keys]
    out += [("YAML merge key `<<:` (GitHub accepts anchors and aliases, not merge keys)", wf.where(line))
            for line in wf.doc.merge_keys]
    return sorted(out, key=lambda p: int(p[1].rsplit(":", 1)[1]) if p[1].rsplit(":", 1)[1].isdigit() else 0)


def w2_valid_workflow(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W2: valid YAML (the loader raises InputError otherwise), schema, and semantics."""
    try:
        wf = workflow_for(repo, target, workflow)
    except InputError as exc:
        if "invalid YAML" in exc.reason or "binary" in exc.reason or "not UTF-8" in exc.reason:
            return CheckResult.failed("a valid YAML workflow", exc.reason, exc.where or target.workflow)
        raise
    problems = yaml_strictness(wf) + schema_errors(wf) + wf.problems
    evidence = [f"triggers: {', '.join(wf.triggers) or 'none'}", f"jobs: {', '.join(wf.jobs) or 'none'}",
                "schema: check-jsonschema vendor.github-workflows"]
    if problems:
        msg, where = problems[0]
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        return CheckResult.failed("a valid GitHub Actions workflow", f"{msg}{more}", where,
                                  evidence + [f"{w}: {m}" for m, w in problems])
    return CheckResult.passed(f"{wf.path} is a valid workflow", evidence)
