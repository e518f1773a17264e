"""One JupyterLab server and one headless Chromium for the whole browser test session.

The broken fixture notebook under fixtures/ is not a course notebook: it is kept out of the
normal nbval collection (it is meant to pass nbval and fail the browser check).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from labdriver import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, LabServer, chromium_unavailable_reason

collect_ignore = ["fixtures"]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "build" / "browser-artifacts"  # git-ignored (build/)


@dataclass
class Lab:
    server: LabServer
    context: object  # playwright BrowserContext
    reports: list = field(default_factory=list)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Screenshots, the server log and summary.json of this run (older pictures removed)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    return ARTIFACTS


@pytest.fixture(scope="session")
def lab(artifacts):
    reason = chromium_unavailable_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    server = LabServer(ROOT, artifacts / "jupyter-lab.log")
    server.start()
    session = None
    try:
        server.delete_sessions()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                         headless=True, timeout=60_000)
            try:
                context = browser.new_context(viewport=VIEWPORT)
                context.set_default_timeout(30_000)
                session = Lab(server, context)
                yield session
            finally:
                browser.close()
    finally:
        server.stop()  # deletes the sessions, then ends the server by its PID
        if session is not None:
            (artifacts / "summary.json").write_text(
                json.dumps([r.as_dict() for r in session.reports], indent=1, ensure_ascii=False),
                encoding="utf-8")
