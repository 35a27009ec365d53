"""Time ``pytest features/ -m repo`` on the realistic repository beside a bare pytest-bdd run
(goal, issue 11: at most 1.5x a bare pytest-bdd run of 21 no-op scenarios).

Both are whole processes under the same conditions: pytest with only pytest-bdd loaded
(``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 -p pytest_bdd.plugin``: other plugins this Python happens
to have installed are left out of both), no cache provider, and bytecode caching on as on a
normal install (this environment may set ``PYTHONDONTWRITEBYTECODE``); each is warmed once and
then timed alternately, ``--runs`` times. Prints both medians, the ratio and the goal.

    python3 benchmarks/repo_features.py [--commits 750] [--runs 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.realistic_repo import build  # noqa: E402
from benchmarks.timing import goal, run_timed  # noqa: E402

GOAL_RATIO = 1.5
SCENARIOS = 21

_STEPS = '''from pytest_bdd import given, scenarios, then

scenarios("noop.feature")


@given("nothing")
def _nothing():
    pass


@then("nothing happens")
def _nothing_happens():
    pass
'''


def bare_project(folder: Path) -> Path:
    """A pytest-bdd project of 21 no-op scenarios (two steps each)."""
    folder.mkdir(parents=True)
    lines = ["Feature: no-op", ""]
    for i in range(SCENARIOS):
        lines += [f"  Scenario: no-op {i}", "    Given nothing", "    Then nothing happens", ""]
    (folder / "noop.feature").write_text("\n".join(lines))
    (folder / "test_noop.py").write_text(_STEPS)
    (folder / "pytest.ini").write_text("[pytest]\n")
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=750)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = build(Path(tmp) / "repo", args.commits)
        bare_dir = bare_project(Path(tmp) / "bare")
        env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "",
               "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache")}
        pytest = [sys.executable, "-m", "pytest", "-p", "pytest_bdd.plugin", "-p", "no:cacheprovider", "-q"]
        features = pytest + ["-p", "pytest_buildgate.plugin", "features/", "-m", "repo", "--repo", str(repo.path)]
        bare = pytest + ["test_noop.py"]
        run_timed(features, env, ROOT, (0, 1))  # warm the bytecode cache
        run_timed(bare, env, bare_dir)
        ours, base = [], []
        for _ in range(args.runs):
            ours.append(run_timed(features, env, ROOT, (0, 1))[0])
            base.append(run_timed(bare, env, bare_dir)[0])
    o, b = statistics.median(ours), statistics.median(base)
    print(f"pytest features/ -m repo on the realistic repository ({args.commits} commits): median {o:.2f} s "
          f"({', '.join(f'{t:.2f}' for t in ours)})")
    print(f"bare pytest-bdd, {SCENARIOS} no-op scenarios: median {b:.2f} s ({', '.join(f'{t:.2f}' for t in base)})")
    print(f"ratio {o / b:.2f}x")
    return goal(o / b, GOAL_RATIO, "pytest features/ -m repo beside a bare pytest-bdd run (ratio)", "x")


if __name__ == "__main__":
    sys.exit(main())
