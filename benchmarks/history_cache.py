"""Time ``buildgate history --cache`` after one new commit (goal, issue 11: at most 2 s).

Generates the realistic repository (750 commits), fills the persistent cache with one full run,
then, ``--runs`` times: adds one ordinary commit (an API release and a status note) and times
``python3 -m buildgate history --cache DIR`` as a process. Prints the cold run, each re-run, the
median, and the goal.

    python3 benchmarks/history_cache.py [--commits 750] [--runs 3]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.realistic_repo import add_commit, build  # noqa: E402
from benchmarks.timing import children_cpu, goal, load_note, run_timed  # noqa: E402

GOAL_S = 2.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=750)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = build(Path(tmp) / "repo", args.commits)
        cache, out = Path(tmp) / "cache", Path(tmp) / "t.json"
        cmd = [sys.executable, "-m", "buildgate", "history", "--repo", str(repo.path), "--jobs", str(args.jobs),
               "--cache", str(cache), "--json", str(out)]
        cold, _ = run_timed(cmd, ok_codes=(0, 1))
        print(f"cold run, {repo.commits} commits, filling the cache: {cold:.1f} s")
        times = []
        for n in range(args.runs):
            add_commit(repo.path, n)
            cpu0 = children_cpu()
            took, proc = run_timed(cmd, ok_codes=(0, 1))
            cpu = children_cpu() - cpu0
            if "warning" in proc.stderr:
                sys.exit(f"unexpected warning: {proc.stderr.strip()}")
            stats = json.loads(out.read_text())["stats"]
            times.append(took)
            print(f"after one new commit: {took:.2f} s ({stats['cached']} commits from the cache, "
                  f"{stats['commits'] - stats['cached']} computed, {stats['run']} checks run; {cpu:.2f} CPU s; "
                  f"{load_note()})")
            if stats["commits"] - stats["cached"] > 2:
                sys.exit("the cache did not serve the old commits")
    return goal(statistics.median(times), GOAL_S, "a re-run with the persistent cache after one new commit (median)")


if __name__ == "__main__":
    sys.exit(main())
