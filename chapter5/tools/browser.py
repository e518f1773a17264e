"""Headless Chromium for the course's checks (slide fit, tests/browser): one place for its flags.

Debian's ``chromium`` package (``make chromium``) driven by Python Playwright; Playwright's own
browser download does not work on machines without internet.
"""
from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("CHAPTER5_CHROMIUM", "/usr/bin/chromium"))  # Debian's package
# Flags seen to work on these machines (../shared/CONVENTIONS.md); Playwright adds --headless.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_unavailable_reason() -> str | None:
    """Why the browser checks cannot run here (None when they can)."""
    if not CHROMIUM.exists():
        return (f"{CHROMIUM} is missing: run `make chromium` as root on Debian/Ubuntu "
                "(`make test` does it when apt-get is available)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python Playwright is not installed (pip install -e '.[test]')"
    return None
