"""History timeline: the repository criteria at every commit of a range, and when each changed.

- :mod:`buildgate.timeline.engine`: :func:`run` (incremental, parallel, optionally cached) and
  the :class:`Timeline` it returns.
- :mod:`buildgate.timeline.checks`: the one place the history touches the criteria.
- :mod:`buildgate.timeline.cache`: the persistent cache (``--cache DIR``).
- :mod:`buildgate.timeline.render`: the terminal table, JSON and the Markdown table.
- :mod:`buildgate.timeline.svg`: the chart.
"""
from __future__ import annotations

from buildgate.timeline.engine import Timeline, commits_in, run
from buildgate.timeline.render import ClosedAt, dumps, markdown, terminal_table
from buildgate.timeline.svg import svg

__all__ = ["ClosedAt", "Timeline", "commits_in", "dumps", "markdown", "run", "svg", "terminal_table"]
