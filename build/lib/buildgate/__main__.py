"""``python -m buildgate``: the command line."""
from __future__ import annotations

import sys

from buildgate.cli import main

sys.exit(main())
