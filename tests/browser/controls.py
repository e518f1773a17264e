"""Use every control of a notebook in JupyterLab, as a student would, and see its output change.

After *Run All Cells*, every widget control in every cell output is found (sliders, dropdowns,
radio buttons, text boxes, check boxes, toggle buttons, buttons, file uploads) and used once:

* a control that redraws by itself (``interact``, ``observe``) must change its cell's output
  (an image's bytes or the text of the output/HTML widgets, not the control's own readout);
* a control that only sets a parameter for a button (04's epoch slider, a quiz answer) is
  followed by a press of the nearest button, and the output must then change;
* a button alone must change the output when pressed;
* a file upload gets a real photo and then a corrupt file; both must change the output, and the
  corrupt one must give a one-line Korean message, not a traceback.

Errors in widget outputs and kernel error messages fail the control. The result is a table
``control -> outcome`` (printed by the test); a control that is never used fails.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

CONTROLS = {
    "slider": ".widget-slider .noUi-handle",
    "dropdown": ".widget-dropdown select",
    "radio": ".widget-radio-box",
    "toggle": ".widget-toggle-buttons",
    "checkbox": ".widget-checkbox input[type=checkbox]",
    "text": ".widget-text input[type=text], .widget-text input[type=number], .widget-textarea textarea",
    "upload": ".widget-upload",
    "button": "button.widget-button:not(.widget-upload)",
}
PARAMETER_KINDS = ("slider", "dropdown", "radio", "toggle", "checkbox", "text")
HANGUL = re.compile(r"[\uac00-\ud7a3]")

# What the student sees change, read every 0.3 s while waiting for a redraw: image sources
# (length and tail) and the text of output/HTML/label widgets, without the controls themselves
# (a slider's readout, a selected option). Text nodes are walked in place: cloning the output
# would copy (and decode again) every image on every poll.
_STATE_JS = r"""
(area) => {
  const imgs = [...area.querySelectorAll('img')];
  const controls = '.widget-readout, select, input, textarea, .widget-radio-box, .widget-toggle-buttons, button';
  const walker = document.createTreeWalker(area, NodeFilter.SHOW_TEXT);
  let text = '';
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.parentElement || !n.parentElement.closest(controls)) text += n.nodeValue;
  }
  const errs = [...area.querySelectorAll('.jp-RenderedText')].map(e => e.textContent || '')
       .filter(t => /Traceback \(most recent call last\)|^\s*\w*(Error|Exception)\b/m.test(t));
  return {srcs: imgs.map(i => { const s = i.getAttribute('src') || ''; return s.length + ':' + s.slice(-64); }),
          decoded: imgs.every(i => i.complete && i.naturalWidth > 0), text, errors: errs};
}
"""

# Whether ``el`` shares its innermost widget box with a button (a quiz answer and its 확인, an
# epoch slider and its train button): then it is a parameter for that button, pressed at once.
_BESIDE_BUTTON_JS = r"""
(el) => {
  let box = el.parentElement;
  while (box && !box.classList.contains('widget-box')) box = box.parentElement;
  return !!(box && box.querySelector('button.widget-button:not(.widget-upload)'));
}
"""

# Index (among ``buttons``) of the button that shares the deepest ancestor with ``el``.
_NEAREST_JS = r"""
([el, buttons]) => {
  const chain = e => { const out = []; while (e) { out.push(e); e = e.parentElement; } return out; };
  const mine = chain(el);
  let best = -1, bestDepth = -1;
  buttons.forEach((b, i) => {
    const theirs = new Set(chain(b));
    const shared = mine.findIndex(a => theirs.has(a));
    const depth = shared < 0 ? -1 : mine.length - shared;
    if (depth > bestDepth) { best = i; bestDepth = depth; }
  });
  return best;
}
"""


@dataclass
class ControlResult:
    cell: int
    kind: str
    label: str
    outcome: str  # "changed" (passes), or what went wrong
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome == "changed"

    def row(self) -> str:
        label = " ".join(self.label.split())[:40]
        return f"cell {self.cell:>3} | {self.kind:<8} | {label:<40} | {self.outcome}" + (
            f" ({self.detail})" if self.detail else "")


def _label(ctrl) -> str:
    try:
        return ctrl.evaluate("""e => {
          const box = e.closest('.widget-inline-hbox, .widget-radio, .widget-upload, .widget-button, .widget-checkbox') || e;
          const l = box.querySelector('.widget-label');
          return ((l && l.innerText) || e.innerText || e.getAttribute('placeholder') || e.value || '').trim();
        }""")[:60]
    except Exception:  # noqa: BLE001
        return "?"


def _wait_change(page, area, before, seconds: float, kernel_errors: list, n_err: int):
    deadline = time.monotonic() + seconds
    after = before
    while time.monotonic() < deadline:
        page.wait_for_timeout(300)
        after = area.evaluate(_STATE_JS)
        if after["srcs"] != before["srcs"] or after["text"] != before["text"] or after["errors"] \
                or len(kernel_errors) > n_err:
            break
    # let the callback finish: kernel idle, last output landed
    idle = '.jp-Notebook-ExecutionIndicator[data-status="idle"]'
    while time.monotonic() < deadline and page.locator(idle).count() == 0:
        page.wait_for_timeout(300)
    page.wait_for_timeout(600)
    return area.evaluate(_STATE_JS)


def _judge(before, after, kernel_errors, n_err) -> tuple[str, str]:
    if after["errors"]:
        return "error in output", after["errors"][-1].strip().splitlines()[-1][:200]
    if len(kernel_errors) > n_err:
        return "kernel error", kernel_errors[-1][:200]
    if after["srcs"] != before["srcs"]:
        return ("changed", "image") if after["decoded"] else ("image not decoded", "")
    if after["text"] != before["text"]:
        return "changed", "text"
    return "no change", ""


def _operate(page, kind: str, ctrl, upload_file: Path | None = None) -> str:
    """Use one control; returns what was done."""
    if kind == "slider":
        readout = ctrl.locator("xpath=ancestor::div[contains(@class,'widget-slider')][1]//div[contains(@class,'widget-readout')]").first
        old = readout.inner_text(timeout=5_000).strip() if readout.count() else ""
        ctrl.focus(timeout=10_000)
        for key in ("ArrowRight", "ArrowLeft", "PageUp", "PageDown"):
            page.keyboard.press(key)
            page.wait_for_timeout(250)
            new = readout.inner_text(timeout=5_000).strip() if readout.count() else "?"
            if new != old:
                return f"{old} -> {new}"
        return "did not move"
    if kind == "dropdown":
        n = ctrl.locator("option").count()
        cur = ctrl.evaluate("s => s.selectedIndex")
        if n < 2:
            return "single option"
        ctrl.select_option(index=(cur + 1) % n, timeout=10_000)
        return f"option {cur} -> {(cur + 1) % n}"
    if kind in ("radio", "toggle"):
        items = ctrl.locator("input[type=radio]") if kind == "radio" else ctrl.locator("button")
        n = items.count()
        for i in range(n):
            checked = items.nth(i).evaluate("e => e.checked || e.classList.contains('mod-active')")
            if not checked:
                items.nth(i).click(timeout=10_000)
                return f"choice {i + 1}/{n}"
        return "no other choice"
    if kind == "checkbox":
        ctrl.click(timeout=10_000)
        return "toggled"
    if kind == "text":
        old = ctrl.input_value(timeout=5_000)
        new = old[:-1] if len(old) > 1 else (old + "1" if old else "1")
        ctrl.fill(new, timeout=10_000)
        ctrl.press("Enter")
        return f"{old[:20]!r} -> {new[:20]!r}"
    if kind == "upload":  # as a student does: click, pick the file in the chooser
        with page.expect_file_chooser(timeout=10_000) as chooser:
            ctrl.click(timeout=10_000)
        chooser.value.set_files(str(upload_file), timeout=10_000)
        return upload_file.name
    ctrl.click(timeout=10_000)
    return "clicked"


def drive_all_controls(page, kernel_errors: list, *, photo: Path, corrupt: Path, timeout: float = 90,
                       redraw_wait: float = 6) -> list[ControlResult]:
    """Use every control of the open, fully run notebook (see the module docstring)."""
    results: list[ControlResult] = []
    cells = page.locator(".jp-Notebook .jp-Cell.jp-CodeCell")
    for ci in range(cells.count()):
        area = cells.nth(ci).locator(".jp-Cell-outputArea")
        if area.count() == 0:
            continue
        area = area.first
        buttons_used: set[int] = set()
        found = {k: area.locator(sel) for k, sel in CONTROLS.items()}
        if not any(loc.count() for loc in found.values()):
            continue
        area.scroll_into_view_if_needed(timeout=10_000)
        button_handles = found["button"].element_handles()
        for kind in PARAMETER_KINDS + ("upload", "button"):
            loc = found[kind]
            for i in range(loc.count()):
                ctrl = loc.nth(i)
                if kind == "button" and i in buttons_used:
                    continue
                label = _label(ctrl)
                try:
                    ctrl.scroll_into_view_if_needed(timeout=10_000)
                    files = [photo, corrupt] if kind == "upload" else [None]
                    for f in files:
                        n_err = len(kernel_errors)
                        before = area.evaluate(_STATE_JS)
                        did = _operate(page, kind, ctrl, f)
                        after, detail = before, ""
                        beside = kind in PARAMETER_KINDS and bool(button_handles) \
                            and ctrl.evaluate(_BESIDE_BUTTON_JS)
                        if beside:  # a parameter of the button next to it: no redraw to wait for
                            outcome = "no change"
                        else:
                            wait = redraw_wait if kind in PARAMETER_KINDS and button_handles else timeout
                            after = _wait_change(page, area, before, wait, kernel_errors, n_err)
                            outcome, detail = _judge(before, after, kernel_errors, n_err)
                        if outcome == "no change" and kind in PARAMETER_KINDS and button_handles:
                            j = page.evaluate(_NEAREST_JS, [ctrl.element_handle(), button_handles])
                            if j >= 0:
                                buttons_used.add(j)
                                found["button"].nth(j).click(timeout=10_000)
                                after = _wait_change(page, area, before, timeout, kernel_errors, n_err)
                                outcome, detail = _judge(before, after, kernel_errors, n_err)
                                did += f" + pressed «{_label(found['button'].nth(j))}»"
                        if kind == "upload" and f == corrupt and outcome == "changed":
                            if not HANGUL.search(after["text"]) or "Traceback" in after["text"]:
                                outcome, detail = "corrupt file: no Korean one-line message", after["text"][-120:]
                        results.append(ControlResult(ci + 1, kind, label, outcome,
                                                     f"{did}; {detail}" if detail else did))
                except Exception as exc:  # noqa: BLE001 - a control that cannot be used fails
                    results.append(ControlResult(ci + 1, kind, label, "could not be used",
                                                 f"{type(exc).__name__}: {str(exc).splitlines()[0][:150]}"))
    return results
