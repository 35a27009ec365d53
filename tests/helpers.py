"""Helpers for end-to-end tests: run ``pytest features/`` in a subprocess and read its report."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_pytest(*args: str, cwd: Path = ROOT, timeout: float = 600, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any] | None, str]:
    """Run pytest with a fresh ``--buildgate-report``; return (exit code, report or None, output)."""
    with tempfile.TemporaryDirectory() as tmp:
        report_path = Path(tmp) / "report.json"
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--buildgate-report", str(report_path), *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
        )
        report = json.loads(report_path.read_text()) if report_path.exists() else None
    return proc.returncode, report, proc.stdout + proc.stderr


def run_features(*args: str, timeout: float = 600) -> tuple[int, dict[str, Any] | None]:
    """``pytest features/ ARGS --buildgate-report …``: (exit code, report dict)."""
    code, report, _ = run_pytest("features/", "-q", *args, timeout=timeout)
    return code, report


def verdicts(report: dict[str, Any]) -> dict[str, str]:
    """criterion id -> verdict, for criteria some scenario decided."""
    return {cid: c["verdict"] for cid, c in report["criteria"].items() if c["scenarios"]}
