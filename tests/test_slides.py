"""The exported reveal.js slides open offline: one deck rendered in headless Chromium.

The deck is served from 127.0.0.1; every request must stay there (no CDN), none may fail,
and the page must have more than one slide. Screenshots of the first slides are saved in
build/test-artifacts/slides/ (git-ignored). Needs npm once (reveal.js & co., see
chapter5/slides.py) and Debian's chromium (`make chromium`); skips with the reason otherwise.

Also: every formula is drawn once (06 §2.2 read back from Chromium), every slide fits
1280×720, and no plumbing cell (guard, setup, chapter5 imports) is on a slide
(chapter5/tools/notebook_meta.py, tested on a synthetic notebook and on every notebook).
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

browser = pytest.mark.browser  # the tests that open Chromium (the metadata tests do not)

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


@browser
def test_exported_deck_uses_only_local_libraries(served_deck):
    _, deck, _ = served_deck
    text = deck.read_text(encoding="utf-8")
    for url in slides.URLS.values():
        assert url in text or "widget" in url, url
    for cdn in ("unpkg.com", "cdnjs.cloudflare.com", "cdn.jsdelivr.net"):
        assert f'src="https://{cdn}' not in text and f"'https://{cdn}" not in text, cdn
    assert "mermaid" not in text.split("</head>")[0]


@browser
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


@browser
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


@browser
@pytest.mark.parametrize("source,what", [
    ("\n".join(f"x{i} = {i}" for i in range(150)), "height"),
    ("y = '" + "a" * 200 + "'", "cut off"),
], ids=["tall", "wide"])
def test_planted_overflow_is_caught(tmp_path, source, what):
    records = _check_or_skip([_planted(tmp_path, source)])
    text, ok = slides.check_report(records)
    assert not ok and what in text, text


@browser
def test_a_slide_that_fits_passes(tmp_path):
    records = _check_or_skip([_planted(tmp_path, "z = 1")])
    text, ok = slides.check_report(records)
    assert ok, text


# --------------------------------------------------------------------------- each formula once

FORMULA_NOTEBOOK = "06_gcn.ipynb"
FORMULA_SLIDE = "2.2"  # "2.2 자기 자신과의 관계: $A + I$" and §2.3 below it: inline math in prose
# The slide's text (whitespace removed) around each formula, as a reader sees it; with the hidden
# MathML copy it read "A+I𝐴+𝐼", "A𝐴", "I𝐼", "~A=A+I𝐴~=𝐴+𝐼", "n×𝑛×".
FORMULA_TEXTS = ("2.2자기자신과의관계:A+I", "그런데A의대각선", "(identitymatrix)I를", "넣습니다:~A=A+I.",
                 "것이X(n×특성수)")

# Shows the slide whose heading starts with `prefix` (as a presenter would: Reveal.slide, which
# also makes the deck re-render the slide's formulas) and returns the slide's number.
_GOTO_JS = """async ([prefix, url]) => {
  const Reveal = await new Promise(r => require([url], r));
  Reveal.configure({transition: 'none', backgroundTransition: 'none'});
  const hs = Reveal.getHorizontalSlides();
  for (let h = 0; h < hs.length; h++) {
    const subs = [...hs[h].querySelectorAll(':scope > section')];
    const leaves = subs.length ? subs : [hs[h]];
    for (let v = 0; v < leaves.length; v++) {
      const head = leaves[v].querySelector('h1, h2, h3, h4');
      if (head && head.textContent.trim().startsWith(prefix)) { Reveal.slide(h, v); return `${h + 1}.${v + 1}`; }
    }
  }
  return null;
}"""

# What the shown slide reads: its text, each typeset formula's text (whole frame and drawn part).
_READ_JS = """() => {
  const s = document.querySelector('.reveal .slides section.present:not(.stack)');
  const head = s.querySelector('h1, h2, h3, h4');
  return {text: s.innerText, heading: head ? head.innerText : '',
          sources: s.querySelectorAll('script[type^="math/tex"]').length,
          formulas: [...s.querySelectorAll('.MathJax_CHTML')].map(f => ({
              whole: f.innerText, drawn: (f.querySelector('.mjx-math') || f).innerText}))};
}"""

_MATHJAX_IDLE = ("() => window.MathJax && MathJax.Hub && !MathJax.Hub.queue.running"
                 " && !MathJax.Hub.queue.pending")
# After Reveal.slide the deck re-renders the slide's formulas (MathJax's queue looks idle while it
# does): for ~0.2 s they are hidden, then drawn, then MathJax may add its MathML copy (~0.05 s
# later). Settled: every formula drawn and the slide's text unchanged for 0.8 s.
_SLIDE_SETTLED = """() => {
  const s = document.querySelector('.reveal .slides section.present:not(.stack)');
  const frames = s ? [...s.querySelectorAll('.MathJax_CHTML')] : [];
  const drawn = !MathJax.Hub.queue.running && !MathJax.Hub.queue.pending && frames.length > 0
      && frames.length === s.querySelectorAll('script[type^="math/tex"]').length
      && frames.every(f => f.offsetWidth > 0 && f.checkVisibility({visibilityProperty: true}));
  const text = drawn ? s.innerText : null, now = performance.now(), last = window.__chapter5_text;
  if (!last || last.text !== text) { window.__chapter5_text = {text, since: now}; return false; }
  return drawn && now - last.since > 800;
}"""


def _squeeze(text: str) -> str:
    return "".join(text.replace("¶", "").split())


def formula_problems(read: dict) -> list[str]:
    """Why a slide read by _READ_JS does not show each formula once (empty when it does)."""
    problems = []
    formulas = read["formulas"]
    if not formulas:
        problems.append("no formula was typeset")
    if len(formulas) != read["sources"]:
        problems.append(f"{len(formulas)} typeset formulas for {read['sources']} TeX sources")
    for f in formulas:
        if _squeeze(f["whole"]) != _squeeze(f["drawn"]):
            problems.append(f"formula {_squeeze(f['drawn'])!r} is there twice: it reads {_squeeze(f['whole'])!r}")
    text = _squeeze(read["text"])
    for expected in FORMULA_TEXTS:
        if text.count(expected) != 1:
            problems.append(f"{expected!r} is in the slide's text {text.count(expected)} times, expected once")
    mathml = sorted({ch for ch in text if 0x1D400 <= ord(ch) <= 0x1D7FF})
    if mathml:
        problems.append(f"a hidden MathML copy is in the text (math letters {''.join(mathml)})")
    if "$" in text:
        problems.append("raw TeX ($…$) is visible")
    return problems


@pytest.fixture(scope="module")
def formula_slides():
    """§2.2 of notebook 06 read in Chromium: the exported deck and the same deck with the old
    MathJax setup planted back (the MATHJAX_ONE_COPY line removed)."""
    from playwright.sync_api import sync_playwright

    lab = _labdriver()
    reason = lab.chromium_unavailable_reason()
    if reason:
        pytest.skip(reason)
    try:
        deck, = slides.export([ROOT / "notebooks" / FORMULA_NOTEBOOK], CHECK_OUT, quiet=True)
    except slides.SlidesUnavailable as err:
        pytest.skip(f"offline slide libraries unavailable: {err}")
    html = deck.read_text(encoding="utf-8")
    assert html.count(slides.MATHJAX_ONE_COPY) == 1, "the deck does not carry the one-copy MathJax setting"
    planted = deck.with_name(deck.name.replace(".slides.", ".planted-two-copies.slides."))
    planted.write_text(html.replace(slides.MATHJAX_ONE_COPY, ""), encoding="utf-8")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(CHECK_OUT)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    reveal = f"{slides.URLS['reveal_url_prefix']}/dist/reveal.js"

    def read_all():
        found = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(lab.CHROMIUM), headless=True, args=lab.CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": slides.SLIDE_W, "height": slides.SLIDE_H})
                for name, path in (("exported", deck), ("planted", planted)):
                    page.goto(f"{origin}/{path.name}", wait_until="load", timeout=120_000)
                    page.wait_for_selector(".reveal.ready", timeout=60_000)
                    page.wait_for_function(_MATHJAX_IDLE, timeout=60_000)
                    number = page.evaluate(_GOTO_JS, [FORMULA_SLIDE, reveal])
                    assert number, f"{FORMULA_NOTEBOOK}: no slide whose heading starts with {FORMULA_SLIDE}"
                    page.wait_for_function(_SLIDE_SETTLED, timeout=30_000)  # the re-render on slidechanged
                    page.evaluate("document.fonts.ready.then(() => true)")
                    found[name] = page.evaluate(_READ_JS)
                    SHOTS.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(SHOTS / f"{deck.name.split('.')[0]}_{FORMULA_SLIDE}_{name}.png"))
            finally:
                browser.close()
        return found

    try:
        with ThreadPoolExecutor(max_workers=1) as pool:  # see test_deck_renders_offline_in_chromium
            yield pool.submit(read_all).result()
    finally:
        server.shutdown()
        server.server_close()
        planted.unlink(missing_ok=True)


@browser
def test_each_formula_is_drawn_once(formula_slides):
    read = formula_slides["exported"]
    problems = formula_problems(read)
    assert not problems, "\n".join(problems) + f"\n--- slide text:\n{read['text']}"
    assert len(read["formulas"]) >= 6, read["formulas"]  # A+I, A, I, Ã=A+I, X, n× (and §2.3's heading X)


@browser
def test_the_old_two_copy_formulas_are_caught(formula_slides):
    """The same deck without MATHJAX_ONE_COPY (MathJax's assistive MathML on): the check fails."""
    problems = formula_problems(formula_slides["planted"])
    text = "\n".join(problems)
    assert any("is there twice: it reads 'A+I𝐴+𝐼'" in p for p in problems), text
    assert any("hidden MathML copy" in p for p in problems), text
    assert any("'넣습니다:~A=A+I.' is in the slide's text 0 times" in p for p in problems), text


# --------------------------------------------------------------------------- plumbing cells off the slides

def _synthetic_notebook():
    import nbformat

    from chapter5.tools import colab

    new_code, new_md = nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell
    show = lambda kind: {"slideshow": {"slide_type": kind}}  # noqa: E731
    return nbformat.v4.new_notebook(cells=[
        new_md("# 제목", metadata=show("slide")),                                            # 0
        new_code(colab.guard_cell_source("99_x.ipynb"),                                       # 1 guard
                 metadata={"tags": [colab.GUARD_TAG], **show("-")}),
        new_code("import torch\nfrom chapter5 import config, viz\n\ninfo = config.setup()",  # 2 setup
                 metadata=show("subslide")),
        new_code("from chapter5.exercises import ex01, ____", metadata=show("-")),           # 3 import
        new_code("import chapter5\n\nchapter5.progress()"),                                  # 4 import
        new_code("%matplotlib inline\nfrom chapter5 import viz"),                             # 5 import (magic)
        new_md("🎤 노트", metadata=show("notes")),                                            # 6 notes
        new_code("from chapter5.viz import bar_compare\n\nbar_compare(['a'], [1], 't', 'y')",  # 7 teaches
                 metadata=show("-")),
        new_code("import numpy as np"),                                                       # 8 no chapter5
        new_code("# config.setup() is called above\nx = 1"),                                  # 9 comment only
        new_code("def again():\n    config.setup()"),                                        # 10 not top level
        new_code("from chapter5 import config\nprint(config.setup)"),                         # 11 other call
        new_md("`config.setup()` 을 먼저 실행하세요"),                                         # 12 markdown
        new_code("x = ("),                                                                    # 13 not Python
        new_code("from chapter5 import config\n\nconfig.setup(class_mode=True)",              # 14 setup, already
                 metadata={"jupyter": {"source_hidden": True}, **show("skip")}),               #    right
    ])


def test_slide_metadata_marks_plumbing_cells_by_their_code():
    from chapter5.tools import notebook_meta

    nb = _synthetic_notebook()
    assert [notebook_meta.cell_role(c) for c in nb.cells] == [
        None, "guard", "setup", "import", "import", "import", None, None, None, None, None, None, None, None, "setup"]
    assert len(slides.setup_cells_on_slides(nb)) == 5  # the slide check sees the same cells

    changes = notebook_meta.slide_metadata(nb)

    assert changes == [
        "cell 1 (guard): skip, source_hidden",
        "cell 2 (setup): skip, its 'subslide' break moved to the next cell, source_hidden",
        "cell 3 (import): skip, its 'subslide' break moved to the next cell",
        "cell 4 (import): skip, its 'subslide' break moved to the next cell",
        "cell 5 (import): skip, its 'subslide' break moved to the next cell",
    ]
    kinds = [c.metadata.get("slideshow", {}).get("slide_type") for c in nb.cells]
    hidden = [c.metadata.get("jupyter", {}).get("source_hidden", False) for c in nb.cells]
    # the subslide that began at the setup cell now begins at the first cell still shown (7)
    assert kinds == ["slide", "skip", "skip", "skip", "skip", "skip", "notes", "subslide",
                     None, None, None, None, None, None, "skip"]
    assert hidden == [False, True, True, False, False, False, False, False,
                      False, False, False, False, False, False, True]
    assert slides.setup_cells_on_slides(nb) == []
    assert notebook_meta.slide_metadata(nb) == []  # idempotent
    assert notebook_meta.slide_metadata_problems(nb) == []


def test_slide_metadata_keeps_an_existing_break():
    import nbformat

    from chapter5.tools import notebook_meta

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from chapter5.exercises import ex02, ____",
                                  metadata={"slideshow": {"slide_type": "slide"}}),
        nbformat.v4.new_markdown_cell("## 다음", metadata={"slideshow": {"slide_type": "subslide"}}),
    ])
    assert notebook_meta.slide_metadata(nb) == ["cell 0 (import): skip"]
    assert nb.cells[1].metadata["slideshow"]["slide_type"] == "subslide"


def test_slide_metadata_file_writes_only_on_change(tmp_path):
    import nbformat

    from chapter5.tools import notebook_meta

    path = tmp_path / "99_x.ipynb"
    nbformat.write(_synthetic_notebook(), path)
    assert len(notebook_meta.slide_metadata_file(path)) == 5
    stamp = path.stat().st_mtime_ns
    assert notebook_meta.slide_metadata_file(path) == []
    assert path.stat().st_mtime_ns == stamp
    assert notebook_meta.slide_metadata_problems(nbformat.read(path, as_version=4)) == []


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
def test_notebook_has_plumbing_cells_off_the_slides_and_folded(name):
    """Guard and setup cells skipped on slides and folded; chapter5-import cells skipped.
    Fix: .venv/bin/python -c 'from chapter5.tools import notebook_meta as m; import glob;
    [print(p, m.slide_metadata_file(p)) for p in sorted(glob.glob("notebooks/[0-9][0-9]_*.ipynb"))]'"""
    import nbformat

    from chapter5.tools import notebook_meta

    problems = notebook_meta.slide_metadata_problems(nbformat.read(ROOT / "notebooks" / name, as_version=4))
    assert not problems, f"{name}: apply chapter5.tools.notebook_meta.slide_metadata_file: {problems}"
