"""Debian's Chromium for the console's browser tests, launched by Playwright.

``make test`` installs it when missing (``tools/ensure-chromium.sh``); a test that
finds no browser fails saying so, it is never skipped: a skipped browser test would
hide a console that does not work.
"""

import os
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
# the flags a closed network needs: no background connections, no updates, no sync
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def launch(playwright: Any) -> Any:
    """The system's Chromium, headless."""
    assert Path(CHROMIUM).exists(), \
        f"{CHROMIUM} is missing: run tools/ensure-chromium.sh (make test does)"
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)


def screenshots(tmp_path: Path) -> Path:
    """Where the pages' pictures go: ``OCPI_CONSOLE_SCREENSHOTS`` (``docs/console``
    refreshes the documentation's), else the test's own directory."""
    where = Path(os.environ.get("OCPI_CONSOLE_SCREENSHOTS") or tmp_path / "shots")
    where.mkdir(parents=True, exist_ok=True)
    return where
