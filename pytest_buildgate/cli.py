"""The ``buildgate`` command: ``buildgate audit`` runs pytest on the built-in criteria; every other
subcommand (``history``, ``init``) is :mod:`buildgate.cli`'s.

``buildgate audit [PYTEST OPTIONS]`` is ``pytest`` on the installed features, from any folder:
``buildgate audit -m repo --repo ~/src/app``, ``buildgate audit --target t.yml``. It reads no
pytest configuration file at all (``-c /dev/null``), so the folder it runs in, and the repository
it audits, can't configure the run. (pytest's own ``--pyargs`` needs a Python package of tests;
the features are Gherkin data shipped in the package, so the path is passed instead.) It lives on
the pytest side because :mod:`buildgate`, the library, never imports pytest.
"""
from __future__ import annotations

import os
import sys

from pytest_buildgate.locations import features_dir

AUDIT_HELP = """usage: buildgate audit [PYTEST OPTIONS]

Audit a target with the built-in criteria (pytest on the installed features), e.g.
  buildgate audit                                  the embedded sandbox
  buildgate audit -m repo --repo ~/src/app         a local checkout (finds .buildgate/target.yml)
  buildgate audit --target t.yml --buildgate-report out/verdicts.json
Every pytest and buildgate option works (pytest --help lists them under "buildgate")."""


def audit_args(args: list[str]) -> list[str]:
    """The pytest command line of ``buildgate audit ARGS``."""
    features = features_dir()
    # -c /dev/null: no configuration file; its confcutdir would be /dev, so set it: no conftest.py
    # above the features folder is ever loaded either.
    return ["-c", os.devnull, "--rootdir", str(features.parent), "--confcutdir", str(features),
            "-p", "no:cacheprovider", "--strict-markers",
            "-o", f"buildgate_features={features}",
            # this command imported the plugin's package before pytest started (it has no asserts)
            "-W", "ignore:Module already imported so cannot be rewritten:pytest.PytestAssertRewriteWarning",
            str(features), *args]


def audit(args: list[str]) -> int:
    if args[:1] in (["-h"], ["--help"]):
        print(AUDIT_HELP)
        return 0
    import pytest

    return int(pytest.main(audit_args(args)))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["audit"]:
        return audit(argv[1:])
    from buildgate import cli

    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
