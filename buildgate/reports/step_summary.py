"""The GitHub Actions job summary: the Markdown audit appended to ``$GITHUB_STEP_SUMMARY``."""
from __future__ import annotations

import os
from typing import Any, Mapping

from buildgate.reports.markdown import markdown


def append_step_summary(report: dict[str, Any], environ: Mapping[str, str] = os.environ) -> str | None:
    """Append the audit when running in Actions; a one-line reason when it can't be written."""
    summary_file = environ.get("GITHUB_STEP_SUMMARY")
    if not summary_file:
        return None
    try:
        with open(summary_file, "a", encoding="utf-8") as fh:
            fh.write(markdown(report) + "\n")
    except OSError as exc:
        return f"buildgate: cannot append to GITHUB_STEP_SUMMARY {summary_file}: {exc.strerror or exc}"
    return None
