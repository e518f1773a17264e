"""One JupyterLab server for the whole test run and one headless Chromium per pytest-xdist worker.

The broken fixture notebook under fixtures/ is not a course notebook: it is kept out of the
normal nbval collection (it is meant to pass nbval and fail the browser check).
"""
from __future__ import annotations

import json
import os
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


STATE = ARTIFACTS / "lab-server.json"  # the run's one server: port, token, PID, how many workers use it
LOCK = ARTIFACTS / "lab-server.lock"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Screenshots, the server log and summary.json of this run (older ones are removed by the
    first worker that starts the run's JupyterLab server, see `lab`)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def _run_id(config) -> str:
    """Same for every pytest-xdist worker of one `pytest -n N` run, unique otherwise."""
    return getattr(config, "workerinput", {}).get("testrunuid") or f"solo-{os.getpid()}"


def _join(run: str, artifacts: Path) -> LabServer:
    """Under the lock: use the run's server if one is up, else start it (the run's first start
    also clears the previous run's pictures and summary)."""
    state = json.loads(STATE.read_text()) if STATE.exists() else {}
    log = artifacts / "jupyter-lab.log"
    if state.get("run") == run and state["users"] > 0:
        state["users"] += 1
        server = LabServer.attach(ROOT, log, state)
    else:
        if state.get("run") != run:
            for old in [*artifacts.glob("*.png"), artifacts / "summary.json"]:
                old.unlink(missing_ok=True)
        server = LabServer(ROOT, log).start()
        state = dict(server.info(), run=run, users=1)
    STATE.write_text(json.dumps(state))
    return server


def _leave(server: LabServer, run: str, artifacts: Path, reports: list) -> None:
    """Under the lock: add this worker's reports to summary.json; the last worker out ends the server."""
    summary = artifacts / "summary.json"
    done = json.loads(summary.read_text(encoding="utf-8")) if summary.exists() else []
    summary.write_text(json.dumps(done + [r.as_dict() for r in reports], indent=1, ensure_ascii=False),
                       encoding="utf-8")
    state = json.loads(STATE.read_text()) if STATE.exists() else {}
    if state.get("run") == run and state.get("pid") == server.pid:
        state["users"] -= 1
        STATE.write_text(json.dumps(state))
        if state["users"] > 0:
            return
    server.stop()  # deletes the sessions, then ends the server by its PID


@pytest.fixture(scope="session")
def lab(artifacts, request):
    """One JupyterLab server for the whole run, shared by the pytest-xdist workers that run
    browser tests (each has its own Chromium; a test only touches its own notebook's session)."""
    reason = chromium_unavailable_reason()
    if reason:
        pytest.skip(reason)
    from filelock import FileLock
    from playwright.sync_api import sync_playwright

    run = _run_id(request.config)
    with FileLock(LOCK):
        server = _join(run, artifacts)
    session = None
    try:
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
        with FileLock(LOCK):
            _leave(server, run, artifacts, session.reports if session else [])
