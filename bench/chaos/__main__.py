"""``python -m bench.chaos``: see ``bench/chaos/run.py`` (``--help`` for the options)."""

from __future__ import annotations

import sys

from bench.chaos.run import main

sys.exit(main())
