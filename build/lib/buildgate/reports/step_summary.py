"""GitHub Actions: the Markdown audit appended to ``$GITHUB_STEP_SUMMARY`` (each ``file:line`` linked
to the blob at the audited commit), and the annotations printed as workflow commands."""
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
            fh.write(markdown(report, link_blobs=True) + "\n")
    except OSError as exc:
        return f"buildgate: cannot append to GITHUB_STEP_SUMMARY {summary_file}: {exc.strerror or exc}"
    return None


def in_actions(environ: Mapping[str, str] = os.environ) -> bool:
    """True inside a GitHub Actions job."""
    return environ.get("GITHUB_ACTIONS") == "true"
