"""Time ``buildgate history`` over 750 commits (goal, issue 5: at most 60 s on 2 cores).

Builds the sandbox repository plus generated commits (fast-import), then runs the repository
criteria at every commit. Prints the time, how many checks ran and how many were reused.

    python3 benchmarks/history_timeline.py [--commits 750] [--jobs 2]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from buildgate import timeline  # noqa: E402
from buildgate.repo import Repo  # noqa: E402
from buildgate.target import Target  # noqa: E402
from fixtures.sandbox_repo import make_sandbox_repo  # noqa: E402


def build(dest: Path, total: int) -> None:
    """The sandbox (5 commits) plus ``total - 5`` commits: API changes, a README edit every 50."""
    sandbox = make_sandbox_repo(dest)
    readme = (dest / "README.md").read_text()
    chunks = []
    for i in range(total - 5):
        chunks.append(f"commit refs/heads/main\ncommitter Dana <dana@example.invalid> {1767300000 + i * 60} +0000\n"
                      f"data <<EOT\nchange {i}\nEOT\n" + (f"from {sandbox.head}\n" if i == 0 else ""))
        body = f"moltbook-api 2.{i}\n"
        chunks.append(f"M 100644 inline api/app/version.txt\ndata {len(body)}\n{body}\n")
        if i % 50 == 0:
            readme += f"\nrevision {i}\n"
            chunks.append(f"M 100644 inline README.md\ndata {len(readme.encode())}\n{readme}\n")
    subprocess.run(["git", "-C", str(dest), "fast-import", "--quiet", "--force"], input="".join(chunks).encode(), check=True)
    subprocess.run(["git", "-C", str(dest), "reset", "-q", "--hard", "main"], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=750)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        build(Path(tmp) / "repo", args.commits)
        start = time.perf_counter()
        tl = timeline.run(Repo(Path(tmp) / "repo"), Target(), jobs=args.jobs)
        took = time.perf_counter() - start
    st = tl.stats
    print(f"{st['commits']} commits x {len(tl.criteria)} criteria with {st['jobs']} jobs: {took:.1f} s "
          f"({st['run']} checks run, {st['reused']} reused)")
    print(f"goal: <= 60 s for 750 commits on 2 cores -> {'met' if took <= 60 else 'MISSED'}")
    return 0 if took <= 60 else 1


if __name__ == "__main__":
    sys.exit(main())
