"""The exported reveal.js slides open offline: one deck rendered in headless Chromium.

The deck is served from 127.0.0.1; every request must stay there (no CDN), none may fail,
and the page must have more than one slide. Screenshots of the first slides are saved in
build/test-artifacts/slides/ (git-ignored). Needs npm once (reveal.js & co., see
chapter5/slides.py) and Debian's chromium (`make chromium`); skips with the reason otherwise.
"""
from __future__ import annotations

import functools
import http.server
import importlib
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from chapter5.tools import slides

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "build" / "test-artifacts" / "slides"
# A deck with widgets (html-manager), formulas (MathJax) and figures exercises every library.
DECK_PREFERENCE = ("01_cnn_basics.ipynb", "06_gcn.ipynb", "02_dnn_vs_cnn.ipynb")
N_SHOTS = 3


def _labdriver():
    """The browser settings of tests/browser/labdriver.py (one place for Chromium's flags)."""
    browser_dir = str(ROOT / "tests" / "browser")
    if browser_dir not in sys.path:
        sys.path.insert(0, browser_dir)
    return importlib.import_module("labdriver")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served_deck():
    lab = _labdriver()
    reason = lab.chromium_unavailable_reason()
    if reason:
        pytest.skip(reason)
    notebook = next((ROOT / "notebooks" / n for n in DECK_PREFERENCE
                     if (ROOT / "notebooks" / n).is_file()), None)
    if notebook is None:
        pytest.skip("no notebook to export")
    try:
        deck, = slides.export([notebook], quiet=True)
    except slides.SlidesUnavailable as err:
        pytest.skip(f"offline slide libraries unavailable: {err}")
    handler = functools.partial(_Quiet, directory=str(deck.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield lab, deck, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_exported_deck_uses_only_local_libraries(served_deck):
    _, deck, _ = served_deck
    text = deck.read_text(encoding="utf-8")
    for url in slides.URLS.values():
        assert url in text or "widget" in url, url
    for cdn in ("unpkg.com", "cdnjs.cloudflare.com", "cdn.jsdelivr.net"):
        assert f'src="https://{cdn}' not in text and f"'https://{cdn}" not in text, cdn
    assert "mermaid" not in text.split("</head>")[0]


def test_deck_renders_offline_in_chromium(served_deck):
    from playwright.sync_api import sync_playwright

    lab, deck, origin = served_deck
    SHOTS.mkdir(parents=True, exist_ok=True)
    failed, bad_status, external, page_errors = [], [], [], []
    def render():
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(lab.CHROMIUM), headless=True,
                                        args=lab.CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.on("requestfailed", lambda r: failed.append(f"{r.url[:120]} ({r.failure})"))
                page.on("response", lambda r: r.status >= 400 and bad_status.append(f"{r.status} {r.url[:120]}"))
                page.on("request", lambda r: r.url.startswith(("http:", "https:", "ws:", "wss:"))
                        and not r.url.startswith(origin) and external.append(r.url[:120]))
                page.on("pageerror", lambda e: page_errors.append(str(e)[:300]))
                page.goto(f"{origin}/{deck.name}", wait_until="load", timeout=120_000)
                page.wait_for_selector(".reveal.ready", timeout=60_000)
                page.wait_for_load_state("networkidle", timeout=60_000)
                # MathJax (local copy) has typeset the formulas of the deck
                page.wait_for_function("() => window.MathJax && MathJax.Hub && !MathJax.Hub.queue.running"
                                       " && !MathJax.Hub.queue.pending", timeout=60_000)
                page.evaluate("document.fonts.ready.then(() => true)")
                bad_fonts = page.evaluate("[...document.fonts].filter(f => f.status === 'error')"
                                          ".map(f => f.family)")
                n_slides = page.evaluate("document.querySelectorAll('.reveal .slides > section').length")
                n_math = page.evaluate("document.querySelectorAll('.MathJax_CHTML').length")
                has_math = "$" in deck.read_text(encoding="utf-8")
                n_widget_outputs = page.evaluate(
                    "document.querySelectorAll('script[type=\"application/vnd.jupyter.widget-view+json\"]').length")
                n_widgets = page.evaluate("document.querySelectorAll('.jupyter-widgets').length")
                widget_errors = page.evaluate(
                    "(document.body.innerText.match(/Error displaying widget|Loading widget/g) || []).length")
                shots = []
                for i in range(min(N_SHOTS, n_slides)):
                    if i:
                        page.keyboard.press("ArrowRight")
                        page.wait_for_function(
                            "i => [...document.querySelectorAll('.reveal .slides > section')]"
                            ".findIndex(s => s.classList.contains('present')) === i", arg=i, timeout=10_000)
                        page.wait_for_timeout(900)  # the slide transition
                    shot = SHOTS / f"{deck.name.split('.')[0]}_slide{i + 1}.png"
                    page.screenshot(path=str(shot))
                    shots.append(shot)
                page.wait_for_load_state("networkidle", timeout=30_000)
            finally:
                browser.close()
        return (n_slides, n_math, has_math, n_widget_outputs, n_widgets, widget_errors, shots, bad_fonts)

    # The JupyterLab browser tests (tests/browser) keep a sync Playwright session open on this
    # thread for the whole pytest session; a second sync_playwright() needs a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        (n_slides, n_math, has_math, n_widget_outputs, n_widgets, widget_errors, shots,
         bad_fonts) = pool.submit(render).result()
    assert n_slides > 1, f"{deck.name}: {n_slides} slide(s)"
    assert not external, f"requests left the machine (CDN?): {external[:5]}"
    assert not failed, f"failed loads: {failed[:5]}"
    assert not bad_status, f"HTTP errors: {bad_status[:5]}"
    assert not page_errors, f"JavaScript errors: {page_errors[:3]}"
    assert not bad_fonts, f"fonts the browser could not decode: {bad_fonts}"
    if has_math:
        assert n_math > 0, "no formula was typeset by MathJax"
    if n_widget_outputs:  # saved widget state is drawn by the local ipywidgets HTML manager
        assert n_widgets > 0 and not widget_errors, (n_widgets, widget_errors)
    assert len(shots) == min(N_SHOTS, n_slides) and all(s.stat().st_size > 5_000 for s in shots)


# --------------------------------------------------------------------------- fit at 1280×720

CHECK_OUT = ROOT / "build" / "test-artifacts" / "slides-check"  # libraries vendored once, reused


def _check_or_skip(paths, out=CHECK_OUT):
    try:
        return slides.check(paths, out)
    except slides.SlidesUnavailable as err:
        pytest.skip(str(err))


def test_every_slide_fits_the_projector_and_has_notes(tmp_path):
    """Every notebook's deck at 1280×720: no slide taller or wider than the screen, no code line
    cut off, speaker notes in every section, no setup cell on a slide."""
    records = _check_or_skip(None)
    text, ok = slides.check_report(records)
    print(text)
    assert len(records) == len(list((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    assert ok, text


def _planted(tmp_path, source: str) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 제목", metadata={"slideshow": {"slide_type": "slide"}}),
        nbformat.v4.new_markdown_cell("🎤 발표자 노트", metadata={"slideshow": {"slide_type": "notes"}}),
        nbformat.v4.new_code_cell(source, metadata={"slideshow": {"slide_type": "-"}}),
    ])
    path = tmp_path / "99_planted.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("source,what", [
    ("\n".join(f"x{i} = {i}" for i in range(150)), "height"),
    ("y = '" + "a" * 200 + "'", "cut off"),
])
def test_planted_overflow_is_caught(tmp_path, source, what):
    records = _check_or_skip([_planted(tmp_path, source)])
    text, ok = slides.check_report(records)
    assert not ok and what in text, text


def test_a_slide_that_fits_passes(tmp_path):
    records = _check_or_skip([_planted(tmp_path, "z = 1")])
    text, ok = slides.check_report(records)
    assert ok, text
