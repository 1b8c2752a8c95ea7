"""Debian's Chromium as the browser tests and scripts/screenshots drive it.

Playwright's own browser download cannot work here; Chromium runs as root in a
machine with a closed network: no sandbox of its own, no GPU, and none of the
background connections it would try at start.
"""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Browser, Playwright

CHROMIUM = Path(os.environ.get("JOBPROCESSOR_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
#: A laptop's screen.
VIEWPORT = {"width": 1366, "height": 800}


def launch(playwright: Playwright) -> Browser:
    """Headless Chromium from CHROMIUM, with the flags this machine needs."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
