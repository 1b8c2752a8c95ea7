"""``python -m wfm.benchmark``: see ``wfm.benchmark.cli``."""

from __future__ import annotations

import sys

from wfm.benchmark.cli import main

sys.exit(main())
