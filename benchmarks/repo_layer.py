"""Time the repository layer on the sandbox beside one check-jsonschema run on the same workflow.

Goal (issue 2): every repository criterion in at most 2x one
``check-jsonschema --builtin-schema vendor.github-workflows`` run. Both are whole processes
started from a shell, as a user would run them; each is timed over several runs and the median
is reported. Prints a table and exits 1 when the goal is missed.

    python3 benchmarks/repo_layer.py [--runs 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.timing import median_time as _time  # noqa: E402
from pytest_buildgate.fixtures.sandbox_repo import make_sandbox_repo  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sandbox = make_sandbox_repo(Path(tmp) / "repo")
        workflow = sandbox.path / ".github/workflows/build-push.yml"
        baseline = _time(["check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(workflow)], args.runs)
        report = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "pytest", "features/", "-m", "repo", "-q", "-p", "no:cacheprovider",
               "--repo", str(sandbox.path), "--buildgate-report", str(report)]
        layer = _time(cmd, args.runs)
        # The same run without the other pytest plugins this Python happens to have installed
        # (hypothesis, pytest-benchmark, anyio...): what buildgate itself costs.
        bare_cmd = cmd[:3] + ["-p", "pytest_bdd.plugin"] + cmd[3:]
        bare = _time(bare_cmd, args.runs, {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
        # ... and with bytecode caching, as on a normal install (this environment may set
        # PYTHONDONTWRITEBYTECODE, which makes every run recompile every module).
        cached_env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "",
                      "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache")}
        _time(bare_cmd, 1, cached_env)  # warm the cache
        cached = _time(bare_cmd, args.runs, cached_env)
        checks = _in_process(sandbox.path, args.runs)
    ratio = bare / baseline
    print(f"{'what':<66} {'median s':>9}")
    print(f"{'check-jsonschema (W2 schema only, one workflow), a process':<66} {baseline:>9.2f}")
    print(f"{'pytest features/ -m repo (20 criteria), a process':<66} {layer:>9.2f}")
    print(f"{'  the same, without unrelated autoloaded pytest plugins':<66} {bare:>9.2f}")
    print(f"{'  the same, with bytecode caching (a normal install)':<66} {cached:>9.2f}")
    print(f"{'  the repository checks alone, in process (no interpreter or pytest start)':<66} {checks:>9.2f}")
    print(f"ratio {ratio:.2f}x for the process without unrelated plugins, {cached / baseline:.2f}x with bytecode "
          f"caching, {checks / baseline:.2f}x for the checks alone (goal <= 2x)")
    return 0 if ratio <= 2.0 else 1


def _in_process(repo_path: Path, runs: int) -> float:
    from buildgate import criteria
    from buildgate.context import Context
    from buildgate.repo import Repo
    from buildgate.target import Target
    from buildgate.timeline.checks import outcome

    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        ctx = Context(Target(repo_path=repo_path), Repo(repo_path))
        for cid in criteria.of_layer("repo"):
            outcome(cid, ctx)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples[1:] or samples)


if __name__ == "__main__":
    sys.exit(main())
