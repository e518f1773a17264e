"""Every course notebook runs in JupyterLab in headless Chromium, and its widgets render and respond.

nbval cannot see a broken widget: an exception inside an `interact` callback is printed, not
raised, and nbval never looks at widget views or images. Here each notebook in
notebooks/NN_*.ipynb (picked up by itself as notebooks are added) is opened in a real
JupyterLab, run with Run All Cells, and checked as a student would see it (labdriver.py).
Screenshots go to build/browser-artifacts/. Run alone with `pytest -m browser`.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from labdriver import check_notebook, sha256

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
FIXTURE = "tests/browser/fixtures/broken_widgets.ipynb"
# Notebooks whose widgets must be driven (slider by keyboard, dropdown selection) when present.
MUST_INTERACT = ("01_", "05_")
RUN_TIMEOUT = float(os.environ.get("CHAPTER5_BROWSER_RUN_TIMEOUT", "240"))  # seconds per notebook


def _explain(rep) -> str:
    lines = [f"{rep.notebook}: {len(rep.failures)} problem(s) in JupyterLab "
             f"(screenshots in build/browser-artifacts/):"]
    lines += [f"  - {f}" for f in rep.failures]
    return "\n".join(lines)


def test_widget_messages_are_not_sent_to_kernel_subshells(lab):
    """With subshells (JupyterLab >= 4.4 default, ipykernel 7) an interact callback races
    matplotlib's figure flush: blank or half-drawn figures, seen here on notebook 01
    (jupyterlab/jupyterlab#19719, ipython/ipykernel#1564). `make install` turns it off."""
    value = lab.server.lab_setting("@jupyterlab/apputils-extension:kernels-settings", "commsOverSubshells")
    assert value == "disabled", (
        f"JupyterLab sends widget messages to kernel subshells (commsOverSubshells={value!r}); "
        "run `make install` to write .venv/share/jupyter/lab/settings/overrides.json")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: Path(p).stem)
def test_notebook_runs_in_jupyterlab(lab, artifacts, notebook):
    before = sha256(ROOT / notebook)
    rep = check_notebook(lab.context, lab.server, notebook, artifacts, run_timeout=RUN_TIMEOUT)
    lab.reports.append(rep)
    print(f"{notebook}: {rep.seconds} s (Run All {rep.run_seconds} s), {rep.code_cells} code cells, "
          f"{rep.images} images, {rep.widgets} widget views; interactions: {rep.interactions}; "
          f"phases: {rep.phases}")
    for line in rep.stderr:  # warnings a student sees: reported, not failures
        print(f"  stderr output, {line[:200]}")
    assert sha256(ROOT / notebook) == before, f"{notebook} was changed on disk by the browser run"
    assert not rep.failures, _explain(rep)
    assert rep.screenshots and all(p.exists() for p in rep.screenshots)
    if Path(notebook).name.startswith(MUST_INTERACT):
        assert any(i.endswith("image changed") for i in rep.interactions), (
            f"{notebook}: no slider or dropdown of an interactive output changed its image "
            f"(interactions: {rep.interactions})")


def test_browser_check_catches_the_broken_fixture(lab, artifacts):
    """Proof that the check can fail: an error printed inside an interact callback once the
    slider moves, and a widget that never renders, are both reported (nbval passes this
    notebook, see the next test)."""
    before = sha256(ROOT / FIXTURE)
    rep = check_notebook(lab.context, lab.server, FIXTURE, artifacts, run_timeout=120)
    lab.reports.append(rep)
    assert sha256(ROOT / FIXTURE) == before
    callback_errors = [f for f in rep.failures if f.startswith("slider 'i'") and "IndexError" in f]
    never_rendered = [f for f in rep.failures if f.startswith("code cell 3 ") and "widget never rendered" in f]
    assert callback_errors, rep.failures
    assert never_rendered, rep.failures
    assert len(rep.failures) == 2, rep.failures  # and nothing else: cells 1 and 2 run cleanly


def test_nbval_alone_passes_the_broken_fixture():
    """The same notebook is green under the project's nbval settings: nbval alone is not enough."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", FIXTURE, "-q", "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "3 passed" in out and "failed" not in out, out[-3000:]
