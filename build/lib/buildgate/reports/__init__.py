"""The verdict report and its renderings, one module per format.

- :mod:`~buildgate.reports.verdicts`: scenario verdicts aggregated per criterion id (the JSON
  report CI gates read) and its stable shape.
- :mod:`~buildgate.reports.gate`: waivers, and whether the verdicts let a release through.
- :mod:`~buildgate.reports.terminal`: the closing table of a run.
- :mod:`~buildgate.reports.markdown`: the Markdown audit (also the GitHub step summary).
- :mod:`~buildgate.reports.junit`: JUnit XML, one testcase per scenario.
- :mod:`~buildgate.reports.cucumber`: cucumber JSON.
- :mod:`~buildgate.reports.step_summary`: appending the audit to ``GITHUB_STEP_SUMMARY``.
- :mod:`~buildgate.reports.files`: writing a report so that a failed write never destroys the
  previous one.

Every rendering is built from the JSON report, never from pytest internals, so it is the same
with and without pytest-xdist. Text that comes from the audited repository (file names,
messages, claims) is escaped for the format it lands in.
"""
