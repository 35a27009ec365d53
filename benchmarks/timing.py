"""Timing helpers shared by the benchmark scripts (plain Python, no pytest)."""
from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_timed(cmd: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT,
              ok_codes: tuple[int, ...] = (0,)) -> tuple[float, subprocess.CompletedProcess]:
    """Run a command as a process, as a user would; its wall time and result. Exits when it fails."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    took = time.perf_counter() - start
    if proc.returncode not in ok_codes:
        sys.exit(f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return took, proc


def median_time(cmd: list[str], runs: int, env: dict[str, str] | None = None, cwd: Path = ROOT,
                ok_codes: tuple[int, ...] = (0,)) -> float:
    """The median wall time of ``runs`` runs of a command."""
    return statistics.median(run_timed(cmd, env, cwd, ok_codes)[0] for _ in range(runs))


def goal(figure: float, limit: float, what: str, unit: str = "s") -> int:
    """Print the figure beside its goal; 0 when met, 1 when missed."""
    met = figure <= limit
    print(f"goal: {what} <= {limit:g}{unit}: {figure:.2f}{unit} -> {'met' if met else 'MISSED'}")
    return 0 if met else 1


def children_cpu() -> float:
    """CPU seconds (user + system) used so far by finished child processes."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def load_note() -> str:
    """The machine's load, to read a wall time by (others may be running)."""
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
