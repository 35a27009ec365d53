"""Time ``buildgate history`` over the realistic repository (goal, issue 11: at most 30 s on 2 cores).

Generates the realistic repository (``benchmarks/realistic_repo.py``: 750 commits, ~150 status
notes, the bot's tag updates), then runs ``python3 -m buildgate history --jobs 2`` on it as a
process, as a user would, and prints the time, how many checks ran, were reused, and the goal.

    python3 benchmarks/history_timeline.py [--commits 750] [--jobs 2] [--runs 1]
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

from benchmarks.realistic_repo import build  # noqa: E402
from benchmarks.timing import children_cpu, goal, load_note, run_timed  # noqa: E402

GOAL_S = 30.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=750)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1, help="runs to take the median of")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = build(Path(tmp) / "repo", args.commits)
        out = Path(tmp) / "t.json"
        cmd = [sys.executable, "-m", "buildgate", "history", "--repo", str(repo.path), "--jobs", str(args.jobs),
               "--json", str(out)]
        cpu0 = children_cpu()
        times = [run_timed(cmd, ok_codes=(0, 1))[0] for _ in range(args.runs)]
        cpu = (children_cpu() - cpu0) / args.runs
        stats = json.loads(out.read_text())["stats"]
    took = statistics.median(times)
    print(f"realistic repository: {repo.commits} commits, {repo.notes} status notes")
    print(f"buildgate history --jobs {args.jobs}: {took:.1f} s ({', '.join(f'{t:.1f}' for t in times)}); "
          f"{stats['run']} checks run, {stats['reused']} reused; {cpu:.1f} CPU s per run; {load_note()}")
    return goal(took, GOAL_S, f"the realistic repository's full history ({args.commits} commits, {args.jobs} jobs)")


if __name__ == "__main__":
    sys.exit(main())
