"""``python -m pytest_buildgate audit …``: the ``buildgate`` command, audit included."""
import sys

from pytest_buildgate.cli import main

sys.exit(main())
