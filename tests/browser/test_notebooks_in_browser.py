"""Every course notebook runs in JupyterLab in headless Chromium, and its widgets render and respond.

nbval cannot see a broken widget: an exception inside an `interact` callback is printed, not
raised, and nbval never looks at widget views or images. Here each notebook in
notebooks/NN_*.ipynb (picked up by itself as notebooks are added) is opened in a real
JupyterLab, run with Run All Cells, and checked as a student would see it (labdriver.py).
Screenshots go to build/browser-artifacts/. Run alone with `pytest -m browser`.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from labdriver import check_notebook, sha256

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
FIXTURE = "tests/browser/fixtures/broken_widgets.ipynb"
RUN_TIMEOUT = float(os.environ.get("CHAPTER5_BROWSER_RUN_TIMEOUT", "240"))  # seconds per notebook


def _explain(rep) -> str:
    lines = [f"{rep.notebook}: {len(rep.failures)} problem(s) in JupyterLab "
             f"(screenshots in build/browser-artifacts/):"]
    lines += [f"  - {f}" for f in rep.failures]
    return "\n".join(lines)


# Two pytest-xdist workers share the run's one JupyterLab server (conftest.py), each taking every
# other notebook; the study-kit test opens 01 and so runs in 01's group, the rest in the other.
GROUP_OF_01, OTHER_GROUP = pytest.mark.xdist_group("browser-0"), pytest.mark.xdist_group("browser-1")
BY_GROUP = [pytest.param(nb, id=Path(nb).stem, marks=(GROUP_OF_01, OTHER_GROUP)[k % 2])
            for k, nb in enumerate(NOTEBOOKS)]


@OTHER_GROUP
def test_widgets_draw_without_a_lab_override(lab):
    """With kernel subshells (ipykernel 7 + JupyterLab >= 4.4) an interact callback races
    matplotlib's figure flush: blank or half-drawn figures (jupyterlab/jupyterlab#19719,
    ipython/ipykernel#1564). The course pins ipykernel < 7 (pyproject.toml, environment.yml)
    instead of a JupyterLab setting a conda/pip/VS Code learner would not get: no override file
    is installed, the setting is Lab's default, and the kernel offers no subshells, so every
    notebook test in this module (figures after each control) runs without the override."""
    import sys

    overrides = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    assert not overrides.exists() or "commsOverSubshells" not in overrides.read_text(), overrides
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        reply = kc.kernel_info(reply=True, timeout=60)["content"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert "kernel subshells" not in reply.get("supported_features", []), reply


@pytest.fixture(scope="module")
def upload_files(tmp_path_factory):
    """A real photo (the course's cat.jpg) and a corrupt "photo" for every FileUpload."""
    from chapter5.config import data_root

    photo = data_root() / "cat.jpg"
    if not photo.is_file():
        pytest.skip("course data (cat.jpg) not present")
    corrupt = tmp_path_factory.mktemp("upload") / "broken_photo.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    return photo, corrupt


@pytest.mark.parametrize("notebook", BY_GROUP)
def test_notebook_runs_in_jupyterlab_and_every_control_works(lab, artifacts, notebook, upload_files):
    before = sha256(ROOT / notebook)
    photo, corrupt = upload_files
    rep = check_notebook(lab.context, lab.server, notebook, artifacts, run_timeout=RUN_TIMEOUT,
                         photo=photo, corrupt=corrupt)
    lab.reports.append(rep)
    print(f"{notebook}: {rep.seconds} s (Run All {rep.run_seconds} s), {rep.code_cells} code cells, "
          f"{rep.images} images, {rep.widgets} widget views; phases: {rep.phases}")
    print("  control coverage (control -> outcome):")
    for c in rep.controls:
        print(f"    {c.row()}")
    for line in rep.stderr:  # warnings a student sees: reported, not failures
        print(f"  stderr output, {line[:200]}")
    assert sha256(ROOT / notebook) == before, f"{notebook} was changed on disk by the browser run"
    assert not rep.failures, _explain(rep)
    assert rep.screenshots and all(p.exists() for p in rep.screenshots)
    widgets_in_file = _declared_controls(ROOT / notebook)
    assert len(rep.controls) >= widgets_in_file, (
        f"{notebook}: the notebook's code creates at least {widgets_in_file} controls, "
        f"the browser used {len(rep.controls)}")


_CONTROL_CALLS = re.compile(r"\b(?:widgets|w|ipywidgets)\.(IntSlider|FloatSlider|Dropdown|RadioButtons|Button|"
                            r"Text|Textarea|Checkbox|ToggleButtons|FileUpload|SelectionSlider)\(")


def _declared_controls(path: Path) -> int:
    """Controls the notebook's own cells create explicitly (a lower bound for the coverage check)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    return sum(len(_CONTROL_CALLS.findall("".join(c["source"]))) for c in nb["cells"] if c["cell_type"] == "code")


@OTHER_GROUP
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


@OTHER_GROUP
def test_nbval_alone_passes_the_broken_fixture():
    """The same notebook is green under the project's nbval settings: nbval alone is not enough."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", FIXTURE, "-q", "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "3 passed" in out and "failed" not in out, out[-3000:]


@GROUP_OF_01
def test_quiz_and_exercise_feedback_in_jupyterlab(lab, artifacts):
    """The study kit in a real JupyterLab: a quiz question answered wrongly then rightly shows
    both feedbacks; an exercise and the challenge solved in the browser and checked print ✅."""
    import nbformat

    from chapter5.exercises.progress import course
    from labdriver import _click_menu, _empty_code_cells, _kernel_errors_from_frame, _wait_kernel_ready, _wait_run_all

    rel = next(n for n in NOTEBOOKS if Path(n).name.startswith("01_"))
    nb = nbformat.read(ROOT / rel, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    ex_idx = next(i for i, c in enumerate(code) if "exercise" in c.metadata.get("tags", []))
    key = code[ex_idx].metadata["chapter5"]["exercise"]
    _, exercises, quiz = next(entry for entry in course() if entry[0] == "01")
    exercise = next(e for e in exercises if e.key == key)
    q = next(q for q in quiz.questions if q.is_choice)
    right = next(i for i, c in enumerate(q.spec["choices"]) if c.get("correct"))
    wrong = next(i for i, c in enumerate(q.spec["choices"]) if not c.get("correct"))
    # the options are shown in this learner's order (the id in the progress file the Lab kernel shares)
    quiz.text()
    shown_right, shown_wrong = q.order.index(right), q.order.index(wrong)

    lab.server.delete_sessions(rel)
    page = lab.context.new_page()
    kernel_errors = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda p: _kernel_errors_from_frame(p, kernel_errors)))
    try:
        page.goto(lab.server.lab_url(rel), wait_until="domcontentloaded", timeout=120_000)
        page.locator(".jp-NotebookPanel").first.wait_for(timeout=120_000)
        _wait_kernel_ready(page, lab.server, rel, timeout=180)
        _click_menu(page, "Run", "Run All Cells")
        finished, why = _wait_run_all(page, _empty_code_cells(ROOT / rel), kernel_errors, RUN_TIMEOUT)
        assert finished, why
        cells = page.locator(".jp-Notebook .jp-Cell.jp-CodeCell")

        # the quiz: question q, a wrong choice, then the right one
        qcell = next(cells.nth(i) for i, c in enumerate(code) if "quiz" in c.metadata.get("tags", []))
        qcell.scroll_into_view_if_needed()
        box = qcell.locator(".widget-vbox", has=page.locator(f"text=Q{q.number}.")).last
        feedback = box.locator(".widget-html").last
        box.locator("input[type=radio]").nth(shown_wrong).check()
        box.locator("button", has_text="확인").click()
        page.wait_for_function("el => el.innerText.includes('❌')", arg=feedback.element_handle(), timeout=30_000)
        wrong_text = feedback.inner_text()
        box.locator("input[type=radio]").nth(shown_right).check()
        box.locator("button", has_text="확인").click()
        page.wait_for_function("el => el.innerText.includes('✅')", arg=feedback.element_handle(), timeout=30_000)
        assert q.spec["choices"][wrong]["why"][:20] in wrong_text
        assert q.spec["choices"][right]["why"][:20] in feedback.inner_text()

        # the exercise: shipped unsolved (📝), then solved in the editor and checked (✅)
        ex_cell, check_cell = cells.nth(ex_idx), cells.nth(ex_idx + 1)
        assert "📝" in check_cell.locator(".jp-Cell-outputArea").inner_text()
        ex_cell.scroll_into_view_if_needed()
        ex_cell.locator(".cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.press("Delete")
        page.keyboard.insert_text(exercise.solution_code)
        page.keyboard.press("Shift+Enter")  # runs the exercise cell, selects the check cell
        page.keyboard.press("Shift+Enter")  # runs the check
        out = check_cell.locator(".jp-Cell-outputArea")
        page.wait_for_function("el => el.innerText.includes('✅')", arg=out.element_handle(), timeout=60_000)
        # the challenge: written in the editor (its reference solution, as a learner would type it), then checked
        ch_idx = next(i for i, c in enumerate(code) if "challenge" in c.metadata.get("tags", [])
                      and c.metadata.get("chapter5", {}).get("exercise"))
        challenge = next(e for e in exercises if e.key == code[ch_idx].metadata["chapter5"]["exercise"])
        ch_cell, ch_check = cells.nth(ch_idx), cells.nth(ch_idx + 1)
        ch_cell.scroll_into_view_if_needed()
        ch_cell.locator(".cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.press("Delete")
        page.keyboard.insert_text(challenge.solution_code)
        page.keyboard.press("Shift+Enter")
        page.keyboard.press("Shift+Enter")
        ch_out = ch_check.locator(".jp-Cell-outputArea")
        page.wait_for_function("el => el.innerText.includes('✅')", arg=ch_out.element_handle(), timeout=120_000)
        page.screenshot(path=str(artifacts / "study_kit_in_lab.png"))
        assert not kernel_errors, kernel_errors
    finally:
        page.close()
        lab.server.delete_sessions(rel)
