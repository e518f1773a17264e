"""Run course notebooks the way students meet them: in JupyterLab, in headless Chromium.

`LabServer` starts one throw-away `jupyter lab` (free port, token, temporary config/data/
runtime/settings folders, autosave off). `check_notebook` opens a notebook in a Playwright
page, clears its outputs, runs every cell through the "Run" menu, waits until the kernel is
idle and every code cell has an execution count, and then reports what a student would see
going wrong: error outputs (also the ones printed inside widget callbacks), figures that are
not decoded images, widgets that never render or fall back to their text repr, and
JavaScript page errors. It then moves the first slider (keyboard) and the first dropdown of
interactive outputs and checks that the output image changes without an error.

The checks return a list of failure strings instead of asserting, so that a test can also
prove they fail on a broken notebook (tests/browser/fixtures/broken_widgets.ipynb).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from chapter5.tools.browser import CHROMIUM, CHROMIUM_ARGS, chromium_unavailable_reason  # noqa: F401,E402

VIEWPORT = {"width": 1280, "height": 900}
MAX_SCREENSHOT_HEIGHT = 16000  # Chromium cannot capture taller images

LAB_SETTINGS = {
    # No news pop-up over the page, no update check.
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    # Never write anything back into the notebooks.
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    # Every cell in the DOM (no virtual scrolling), so every output can be checked.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}

# ipywidgets class names whose text repr shows when a widget view is not rendered.
_WIDGET_REPR = re.compile(
    r"\b(?:interactive|VBox|HBox|Box|GridBox|Tab|Accordion|Output|IntSlider|FloatSlider|"
    r"FloatLogSlider|IntRangeSlider|FloatRangeSlider|SelectionSlider|Dropdown|RadioButtons|"
    r"ToggleButtons|Select|SelectMultiple|Checkbox|ToggleButton|Button|Text|Textarea|IntText|"
    r"FloatText|BoundedIntText|BoundedFloatText|Label|HTML|Image|Play|IntProgress|"
    r"FloatProgress)\((?:children|value|options|description|layout|index|outputs)="
)


EMPTY_LIMIT = 0.5  # an image whose lower half is one flat colour is empty or half-drawn


def _emptiness(frac: float) -> str:
    return "blank (one colour)" if frac >= 1 else f"half-drawn (bottom {frac:.0%} empty)"


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- server
def _running(pid: int, proc: subprocess.Popen | None = None) -> bool:
    """Is the process alive (a child is reaped first, so that it does not count as a zombie)?"""
    if proc is not None:
        return proc.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return False


class LabServer:
    """One `jupyter lab` process with throw-away settings; stop() ends it by its PID."""

    def __init__(self, root: Path, log_path: Path, startup_timeout: float = 180):
        self.root = Path(root).resolve()
        self.log_path = Path(log_path)
        self.startup_timeout = startup_timeout
        self.token = secrets.token_hex(16)
        self.port = 0
        self.proc: subprocess.Popen | None = None  # set only in the process that started the server
        self.pid: int | None = None
        self.tmp: Path | None = None
        self._log = None

    # -- lifecycle
    def start(self) -> "LabServer":
        self.tmp = Path(tempfile.mkdtemp(prefix="chapter5-lab-"))
        dirs = {name: self.tmp / name for name in
                ("config", "data", "runtime", "settings", "workspaces", "ipython", "mpl")}
        for d in dirs.values():
            d.mkdir()
        for rel, value in LAB_SETTINGS.items():
            f = dirs["settings"] / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(json.dumps(value))
        env = dict(os.environ)
        env.pop("MPLBACKEND", None)  # the kernel must use the inline backend, as for students
        env.update(
            JUPYTER_CONFIG_DIR=str(dirs["config"]), JUPYTER_DATA_DIR=str(dirs["data"]),
            JUPYTER_RUNTIME_DIR=str(dirs["runtime"]), JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
            JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]), IPYTHONDIR=str(dirs["ipython"]),
            MPLCONFIGDIR=str(dirs["mpl"]), JUPYTER_PLATFORM_DIRS="1", PYDEVD_DISABLE_FILE_VALIDATION="1",
        )
        # Quick mode, offline data root and artifacts folder come from the root conftest.py.
        for key in ("CHAPTER5_QUICK", "CHAPTER5_DATA", "CHAPTER5_ARTIFACTS"):
            if key in os.environ:
                env[key] = os.environ[key]
        self.port = free_port()
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
               f"--port={self.port}", "--port-retries=0", "--allow-root",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
               "--ServerApp.terminals_enabled=False",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.proc.pid
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}; see {self.log_path}")
            try:
                self.api("GET", "/api/status", timeout=5)
                return self
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"jupyter lab not ready after {self.startup_timeout:.0f}s; see {self.log_path}")
            time.sleep(0.5)

    def info(self) -> dict:
        """What another process needs to use (and later end) this server: see attach()."""
        return {"port": self.port, "token": self.token, "pid": self.pid, "tmp": str(self.tmp)}

    @classmethod
    def attach(cls, root: Path, log_path: Path, info: dict) -> "LabServer":
        """A handle on a server another pytest-xdist worker started (one server per test run)."""
        server = cls(root, log_path)
        server.port, server.token, server.pid, server.tmp = info["port"], info["token"], info["pid"], Path(info["tmp"])
        return server

    def stop(self) -> None:
        try:
            if self.pid is not None and _running(self.pid, self.proc):
                try:
                    self.delete_sessions()
                except Exception:
                    pass
                os.kill(self.pid, signal.SIGTERM)  # our server, by its PID
                deadline = time.monotonic() + 20
                while _running(self.pid, self.proc) and time.monotonic() < deadline:
                    time.sleep(0.2)
            if self.pid is not None:
                # Kernels the server started live in its process group (start_new_session).
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                if self.proc is not None:
                    self.proc.wait(timeout=10)
        finally:
            if self._log:
                self._log.close()
                self._log = None
            if self.tmp:
                shutil.rmtree(self.tmp, ignore_errors=True)
                self.tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- REST
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, method: str, path: str, timeout: float = 15):
        req = urllib.request.Request(self.base_url + path, method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
        return json.loads(body) if body else None

    def delete_sessions(self, path: str | None = None, timeout: float = 30) -> None:
        """Delete the sessions (and their kernels) of ``path``, or every one when ``path`` is
        None, and wait until they are gone. Two pytest-xdist workers share this server, so a
        test only ever deletes the sessions of its own notebook."""
        gone = set()
        for s in self.api("GET", "/api/sessions"):
            if path is not None and s.get("path") != path:
                continue
            gone.add(s["kernel"]["id"])
            try:
                self.api("DELETE", f"/api/sessions/{s['id']}")
            except urllib.error.HTTPError as e:
                if e.code != 404:
                    raise
        deadline = time.monotonic() + timeout
        while True:
            kernels = [k for k in self.api("GET", "/api/kernels") if path is None or k["id"] in gone]
            if not kernels:
                return
            for k in kernels:
                try:
                    self.api("DELETE", f"/api/kernels/{k['id']}")
                except urllib.error.HTTPError as e:
                    if e.code != 404:
                        raise
            if time.monotonic() > deadline:
                raise TimeoutError(f"kernels still running after {timeout:.0f}s: {kernels}")
            time.sleep(0.5)

    def lab_setting(self, plugin: str, key: str):
        """Effective JupyterLab setting: the user value, else the (possibly overridden) default."""
        r = self.api("GET", f"/lab/api/settings/{plugin}")
        if key in (r.get("settings") or {}):
            return r["settings"][key]
        return r["schema"]["properties"][key].get("default")

    def lab_url(self, rel_path: str) -> str:
        """The notebook in a workspace of its own (``?reset``: nothing restored), so that two
        pages on this server never reopen each other's tabs."""
        workspace = "t-" + re.sub(r"[^A-Za-z0-9_-]", "-", Path(rel_path).stem)
        return (f"{self.base_url}/lab/workspaces/{workspace}/tree/{urllib.parse.quote(rel_path)}"
                f"?reset&token={self.token}")


# --------------------------------------------------------------------------- page probes
_BLANK_JS = r"""
function emptyBottom(img) {
  // Fraction of the image height, from the bottom, whose rows are all one colour: 1 for an
  // empty (e.g. fully transparent) figure, large for a half-drawn one. Matplotlib figures are
  // cropped to their content (axis labels at the bottom), so real ones stay near 0.
  try {
    const w = Math.min(img.naturalWidth, 400);
    const h = Math.max(1, Math.round(img.naturalHeight * w / img.naturalWidth));
    if (!w) return 0;
    const c = document.createElement('canvas'); c.width = w; c.height = h;
    const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0, w, h);
    const d = ctx.getImageData(0, 0, w, h).data;
    const r0 = d[(h - 1) * w * 4], g0 = d[(h - 1) * w * 4 + 1], b0 = d[(h - 1) * w * 4 + 2], a0 = d[(h - 1) * w * 4 + 3];
    let rows = 0;
    for (let y = h - 1; y >= 0; y--) {
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 4;
        if (d[i] !== r0 || d[i + 1] !== g0 || d[i + 2] !== b0 || d[i + 3] !== a0) return rows / h;
      }
      rows++;
    }
    return 1;
  } catch (e) { return 0; }
}
"""

# The open notebook's panel, its kernel status indicator and its code cells, and what counts as
# an error output: shared by the full check and the cheap poll while Run All works.
_NOTEBOOK_JS = r"""
  const panel = document.querySelector('.jp-NotebookPanel');
  if (!panel) return null;
  const ind = panel.querySelector('.jp-Notebook-ExecutionIndicator')
           || document.querySelector('.jp-Notebook-ExecutionIndicator');
  const codeCells = [...panel.querySelectorAll('.jp-Notebook .jp-Cell.jp-CodeCell')];
  const isError = t => /Traceback \(most recent call last\)|^\s*\w*(Error|Exception|Interrupt)\b/m.test(t);
"""

_SUMMARY_JS = r"""
() => {
  """ + _BLANK_JS + _NOTEBOOK_JS + r"""
  const cells = codeCells.map(cell => {
    const prompt = (cell.querySelector('.jp-InputPrompt')?.textContent || '').trim();
    const area = cell.querySelector('.jp-Cell-outputArea');
    const res = {prompt, errors: [], stderr: [], texts: [], images: [], loading: 0, widgetErrors: [],
                 widgets: 0, interacts: 0};
    if (!area) return res;
    for (const el of area.querySelectorAll('.jp-RenderedText')) {
      const t = el.innerText || el.textContent || '';
      const mime = el.getAttribute('data-mime-type') || '';
      if (mime.includes('stderr')) {
        // Error outputs render as stderr text; they carry a traceback or an "XxxError:" line.
        if (isError(t)) {
          const lines = t.trim().split('\n').filter(l => /^\s*\w*(Error|Exception|Interrupt)\b/.test(l));
          res.errors.push((lines.length ? lines[lines.length - 1] : t.trim().split('\n').pop()).trim().slice(0, 300));
        } else res.stderr.push(t.trim().slice(0, 200));
      } else res.texts.push(t.slice(0, 2000));
    }
    for (const img of area.querySelectorAll('img')) {
      res.images.push({complete: img.complete, w: img.naturalWidth, h: img.naturalHeight,
                       empty: img.complete && img.naturalWidth > 0 ? emptyBottom(img) : 0,
                       src: (img.getAttribute('src') || '').slice(0, 40)});
    }
    const all = area.innerText || '';
    res.loading = (all.match(/Loading widget/g) || []).length;
    for (const m of all.matchAll(/Error displaying widget[^\n]*/g)) res.widgetErrors.push(m[0]);
    for (const m of all.matchAll(/Failed to (load|create) (model|view)[^\n]*/g)) res.widgetErrors.push(m[0]);
    res.widgets = area.querySelectorAll('.jupyter-widgets.widget-inline-hbox, .jupyter-widgets.widget-box, .widget-output').length;
    res.interacts = area.querySelectorAll('.widget-interact').length;
    return res;
  });
  return {status: ind ? ind.getAttribute('data-status') : null, cells};
}
"""

_OUTPUT_SEL = ".widget-output, img.widget-image"
_IMAGE_SEL = ".widget-output img, img.widget-image"
# What Run All is waiting for, read cheaply every half second while the kernel works: prompts,
# status, and whether an error output appeared (textContent: no layout, no image analysis; the
# full _SUMMARY_JS runs once the kernel is idle).
_PROGRESS_JS = r"""
() => {
  """ + _NOTEBOOK_JS + r"""
  const cells = codeCells.map(cell => ({
    prompt: (cell.querySelector('.jp-InputPrompt')?.textContent || '').trim(),
    errors: [...cell.querySelectorAll('.jp-RenderedText[data-mime-type*="stderr"]')]
              .map(e => e.textContent || '').filter(isError).map(t => t.slice(0, 300)),
  }));
  return {status: ind ? ind.getAttribute('data-status') : null, cells};
}
"""

_OUTPUT_STATE_JS = r"""
(container) => {
  """ + _BLANK_JS + r"""
  const imgs = [...container.querySelectorAll('.widget-output img, img.widget-image')];
  const texts = [...container.querySelectorAll('.widget-output .jp-RenderedText')].map(e => e.innerText);
  const errors = texts.filter(t => /Traceback \(most recent call last\)|^\s*\w*(Error|Exception)\b/m.test(t));
  return {srcs: imgs.map(i => i.getAttribute('src') || ''),
          decoded: imgs.every(i => i.complete && i.naturalWidth > 0),
          empty: Math.max(0, ...imgs.map(i => i.complete && i.naturalWidth > 0 ? emptyBottom(i) : 0)),
          text: texts.join('\n'), errors};
}
"""

_CONTENT_JS = r"""
() => {  // [visible height, height of all cells, scroll position] of the notebook's scroller
  const el = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer');
  if (!el) return [1, 0, 0];
  const cells = el.querySelectorAll('.jp-Cell');
  const last = cells[cells.length - 1];
  const bottom = last ? last.getBoundingClientRect().bottom - el.getBoundingClientRect().top + el.scrollTop : 0;
  return [el.clientHeight, Math.ceil(bottom) + 20, el.scrollTop];
}
"""


@dataclass
class NotebookReport:
    notebook: str
    failures: list = field(default_factory=list)
    interactions: list = field(default_factory=list)
    controls: list = field(default_factory=list)  # controls.ControlResult, one per control used
    screenshots: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)
    stderr: list = field(default_factory=list)  # warnings etc.: reported, not failures
    code_cells: int = 0
    images: int = 0
    widgets: int = 0
    seconds: float = 0.0
    run_seconds: float = 0.0
    phases: dict = field(default_factory=dict)  # seconds spent per step

    def mark(self, phase: str, since: float) -> float:
        now = time.monotonic()
        self.phases[phase] = round(now - since, 1)
        return now

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d["screenshots"] = [str(p) for p in self.screenshots]
        d["controls"] = [c.row() for c in self.controls]
        return d


def _empty_code_cells(path: Path) -> list[bool]:
    """Per code cell: True when JupyterLab shows no execution count for it even after it ran
    (an empty cell, or one whose source is collapsed, like the guard cell)."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    out = []
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            src = c["source"] if isinstance(c["source"], str) else "".join(c["source"])
            hidden = c.get("metadata", {}).get("jupyter", {}).get("source_hidden", False)
            out.append(not src.strip() or hidden)
    return out


_KERNEL_ERROR = re.compile(rb'"msg_type":\s*"error"')
_ENAME = re.compile(rb'"ename":\s*"((?:[^"\\]|\\.)*)"')
_EVALUE = re.compile(rb'"evalue":\s*"((?:[^"\\]|\\.)*)"')


def _kernel_errors_from_frame(payload, sink: list) -> None:
    """Record every kernel `error` message (also those an interact callback only prints)."""
    data = payload if isinstance(payload, bytes) else payload.encode("utf-8", "replace")
    if not _KERNEL_ERROR.search(data):
        return
    en, ev = _ENAME.search(data), _EVALUE.search(data)
    dec = lambda m: json.loads(b'"' + m.group(1) + b'"') if m else "?"
    try:
        sink.append(f"{dec(en)}: {dec(ev)}"[:300])
    except ValueError:
        sink.append("kernel error message")


def _click_menu(page, menu: str, item: str, timeout: float = 20_000) -> None:
    page.get_by_role("menuitem", name=menu, exact=True).click(timeout=timeout)
    entry = page.locator(".lm-Menu-item:visible", has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")))
    entry.first.click(timeout=timeout)


def _wait_kernel_ready(page, server: LabServer, rel_path: str, timeout: float) -> None:
    """The page shows "idle" before a kernel exists: wait for the server's session too."""
    deadline = time.monotonic() + timeout
    while True:
        sessions = [s for s in server.api("GET", "/api/sessions") if s.get("path") == rel_path]
        if sessions and sessions[0]["kernel"]["execution_state"] == "idle":
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"no idle kernel for {rel_path} after {timeout:.0f} s: {sessions}")
        page.wait_for_timeout(500)
    page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').first.wait_for(
        timeout=max(1.0, deadline - time.monotonic()) * 1000)
    page.wait_for_timeout(500)


def _wait_run_all(page, empty: list[bool], kernel_errors: list, timeout: float) -> tuple[bool, str]:
    """Poll until the kernel is idle and no cell is pending; (finished, reason if not)."""
    start = time.monotonic()
    stable, started = 0, False
    last = None
    while time.monotonic() - start < timeout:
        s = page.evaluate(_PROGRESS_JS)
        if s is not None:
            prompts = [c["prompt"] for c in s["cells"]]
            pending = sum(p == "[*]:" or p == "[*]" for p in prompts)
            numbered = [bool(re.match(r"^\[\d+\]:?$", p)) for p in prompts]
            if any(numbered) or pending:
                started = True
            missing = [i for i, (n, e) in enumerate(zip(numbered, empty + [False] * len(numbered)))
                       if not n and not e]
            errored = bool(kernel_errors) or any(c["errors"] for c in s["cells"])
            done = started and s["status"] == "idle" and pending == 0 and (not missing or errored)
            last = f"status={s['status']} pending={pending} without count={len(missing)}"
            stable = stable + 1 if done else 0
            if stable >= 3:
                return True, ""
            if not started and time.monotonic() - start > 60:
                return False, "Run All Cells did not start any cell within 60 s"
        page.wait_for_timeout(500)
    return False, f"not finished after {timeout:.0f} s ({last})"


def _settle(page, timeout: float = 20) -> dict:
    """Give widget views and images a moment to render after the kernel went idle."""
    deadline = time.monotonic() + timeout
    while True:
        s = page.evaluate(_SUMMARY_JS)
        busy = any(c["loading"] or not all(i["complete"] for i in c["images"]) for c in s["cells"])
        if not busy or time.monotonic() > deadline:
            return s
        page.wait_for_timeout(500)


def _tall_screenshot(page, path: Path) -> list[Path]:
    """The whole notebook in one picture, or in parts when taller than Chromium can capture
    (the notebook scrolls inside the page, so the viewport is made as tall as the notebook)."""
    set_top = "(t) => { const el = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer'); if (el) el.scrollTop = t; }"
    page.evaluate(set_top, 0)
    view, total, _ = page.evaluate(_CONTENT_JS)
    chrome = VIEWPORT["height"] - view  # menu, tabs, toolbar, status bar
    page.set_viewport_size({"width": VIEWPORT["width"],
                            "height": int(min(max(total + chrome, VIEWPORT["height"]), MAX_SCREENSHOT_HEIGHT))})
    paths = []
    try:
        page.wait_for_timeout(800)
        top = 0
        for part in range(1, 20):
            page.evaluate(set_top, top)
            page.wait_for_timeout(300)
            p = path if part == 1 else path.with_name(f"{path.stem}__part{part}{path.suffix}")
            page.screenshot(path=str(p), timeout=60_000)
            paths.append(p)
            view, total, now = page.evaluate(_CONTENT_JS)
            if now + view >= total:
                break
            top = now + view - 40
    finally:
        page.set_viewport_size(VIEWPORT)
        page.wait_for_timeout(300)
    return paths


def check_notebook(context, server: LabServer, rel_path: str, shots: Path, *,
                   run_timeout: float = 240, interact: bool = True,
                   interact_timeout: float = 60, photo: Path | None = None,
                   corrupt: Path | None = None) -> NotebookReport:
    """Open, clear, Run All, check, interact, screenshot one notebook; never raises on findings."""
    t0 = time.monotonic()
    path = server.root / rel_path
    stem = Path(rel_path).stem
    shots.mkdir(parents=True, exist_ok=True)
    rep = NotebookReport(notebook=rel_path)
    empty = _empty_code_cells(path)
    rep.code_cells = len(empty)
    server.delete_sessions(rel_path)
    page = context.new_page()
    page_errors, kernel_errors = [], []
    page.on("pageerror", lambda e: page_errors.append(str(e)[:500]))
    page.on("console", lambda m: rep.console_errors.append(m.text[:300]) if m.type == "error" else None)
    page.on("websocket", lambda ws: ws.on("framereceived",
                                          lambda p: _kernel_errors_from_frame(p, kernel_errors)))
    page.set_default_timeout(30_000)
    try:
        t = time.monotonic()
        page.goto(server.lab_url(rel_path), wait_until="domcontentloaded", timeout=120_000)
        page.locator(".jp-NotebookPanel").first.wait_for(timeout=120_000)
        t = rep.mark("open", t)
        _wait_kernel_ready(page, server, rel_path, timeout=180)
        t = rep.mark("kernel", t)
        _click_menu(page, "Edit", "Clear Outputs of All Cells")
        page.wait_for_timeout(300)
        kernel_errors.clear()
        t_run = time.monotonic()
        _click_menu(page, "Run", "Run All Cells")
        finished, why = _wait_run_all(page, empty, kernel_errors, run_timeout)
        rep.run_seconds = rep.mark("run", t_run) and rep.phases["run"]
        if not finished:
            rep.failures.append(f"Run All Cells: {why}")
        t = time.monotonic()
        s = _settle(page)
        for i, (c, is_empty) in enumerate(zip(s["cells"], empty + [False] * len(s["cells"]))):
            where = f"code cell {i + 1} {c['prompt'].rstrip(':')}"
            if not is_empty and not re.match(r"^\[\d+\]:?$", c["prompt"]):
                rep.failures.append(f"{where}: no execution count")
            for e in c["errors"]:
                rep.failures.append(f"{where}: error output: {e}")
            rep.stderr += [f"{where}: {text}" for text in c["stderr"]]
            for img in c["images"]:
                rep.images += 1
                if not (img["complete"] and img["w"] > 0):
                    rep.failures.append(f"{where}: image not decoded ({img['src']}…)")
                elif img["empty"] > EMPTY_LIMIT:
                    rep.failures.append(f"{where}: {_emptiness(img['empty'])} ({img['w']}x{img['h']})")
            for text in c["texts"]:
                if re.search(r"^<Figure size \d+x\d+ with \d+ Axes>", text, re.M):
                    rep.failures.append(f"{where}: figure shown as text, not as an image")
                if _WIDGET_REPR.search(text):
                    rep.failures.append(f"{where}: widget shown as its text repr ({text.strip()[:80]}…)")
            if c["loading"]:
                rep.failures.append(f"{where}: widget never rendered ('Loading widget...')")
            for w in c["widgetErrors"]:
                rep.failures.append(f"{where}: widget never rendered ({w[:120]})")
            rep.widgets += c["widgets"]
        dom_errors = sum(len(c["errors"]) for c in s["cells"])
        if kernel_errors and not dom_errors:
            rep.failures.extend(f"kernel error message not shown in any cell: {e}" for e in kernel_errors)
        t = rep.mark("check", t)
        if not (interact and finished):  # otherwise one picture after the controls shows it all
            rep.screenshots += _tall_screenshot(page, shots / f"{stem}.png")
            t = rep.mark("screenshot", t)
        if interact and finished:
            from controls import drive_all_controls

            rep.controls = drive_all_controls(page, kernel_errors, photo=photo, corrupt=corrupt,
                                              timeout=interact_timeout)
            rep.interactions = [c.row() for c in rep.controls]
            rep.failures.extend(f"{c.kind} '{c.label}' (cell {c.cell}): {c.outcome}"
                                + (f" ({c.detail})" if c.detail else "") for c in rep.controls if not c.ok)
            rep.screenshots += _tall_screenshot(page, shots / f"{stem}__after_controls.png")
            t = rep.mark("interact", t)
        rep.failures.extend(f"JavaScript page error: {e}" for e in page_errors)
    except Exception as exc:  # a harness/browser problem is a failure of this notebook, with a picture
        rep.failures.append(f"browser run aborted: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
        try:
            page.screenshot(path=str(shots / f"{stem}__aborted.png"), timeout=20_000)
            rep.screenshots.append(shots / f"{stem}__aborted.png")
        except Exception:
            pass
    finally:
        t = time.monotonic()
        try:
            page.close()
        finally:
            server.delete_sessions(rel_path)
        rep.mark("close", t)
    rep.seconds = round(time.monotonic() - t0, 1)
    return rep
