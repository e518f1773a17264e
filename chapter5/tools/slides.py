"""Static reveal.js slides of the notebooks that open offline.

``python -m chapter5 slides`` exports every ``notebooks/NN_name.ipynb`` with
``nbconvert``'s slides exporter (the same as ``jupyter nbconvert --to slides``) into
``build/slides/NN_name.slides.html`` plus an ``index.html``. Nothing is loaded from a CDN:
reveal.js, require.js, jQuery, MathJax 2 and the ipywidgets HTML manager are copied into
``build/slides/_static/`` from the npm registry (``npm pack`` of pinned versions, each tarball
checked against its pinned sha512), the decks point at them with relative URLs, the
template's mermaid.js import (a CDN module, unused by the course) is removed, and Hangul is
drawn with NanumGothic copied from ``koreanize-matplotlib`` (so no Korean system font is
needed). Each formula is drawn once: MathJax's hidden MathML copy (AssistiveMML), which doubled
every formula in the slide's text, is switched off. The reveal theme is "white" (its font is local;
"simple" imports Google Fonts). The folder can be copied to a USB stick and opened in a browser
(``index.html``) without a network.

For live slides inside JupyterLab use RISE (``jupyterlab-rise``, installed with the course).
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # chapter5/
REPO_ROOT = PACKAGE_DIR.parent
NOTEBOOKS = REPO_ROOT / "notebooks"
OUT = REPO_ROOT / "build" / "slides"
STATIC = "_static"
SLIDE_W, SLIDE_H = 1280, 720
HIDE_INPUT_TAGS = ("slides-hide-input",)    # the slide shows the cell's output (a figure) only
HIDE_OUTPUT_TAGS = ("slides-hide-output",)  # the slide shows the cell's code only (progress bars)

# npm package -> (exact version, sha512 of its registry tarball, folder under _static/,
# paths inside the package that the decks never load and are not copied)
VENDOR = {
    "reveal.js": ("4.6.1", "sha512-1CW0auaXNPmwmvQ7TwpszwVxMi2Xr5cTS3J3EBC/HHgbPF32Dn7aiu/LKWDOGjMbaDwKQiGmfqcoGQ74HUHCMw==",
                  "reveal.js", ("js/", "css/", "demo.html", "index.html")),
    "requirejs": ("2.3.7", "sha512-DouTG8T1WanGok6Qjg2SXuCMzszOo0eHeH9hDZ5Y4x8Je+9JB38HdTLT4/VA8OaUhBa0JPVHJ0pyBkM1z+pDsw==",
                  "requirejs", ("bin/",)),
    "jquery": ("3.7.1", "sha512-m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg==",
                "jquery", ("src/",)),
    "mathjax": ("2.7.9", "sha512-NOGEDTIM9+MrsqnjPEjVGNx4q0GQxqm61yQwSK+/5S59i26wId5IC5gNu9/bu8+CCVl5p9G2IHcAl/wJa+5+BQ==",
                "mathjax", ("unpacked/", "test/", "jax/output/SVG/")  # CommonHTML + TeX fonts are used
                + tuple(f"fonts/HTML-CSS/{f}/" for f in ("STIX-Web", "Asana-Math", "Gyre-Pagella",
                                                          "Gyre-Termes", "Latin-Modern", "Neo-Euler"))),
    "@jupyter-widgets/html-manager": (
        "1.0.15", "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
        "html-manager", ("lib/", "src/")),
}

# Where the exporter looks for each library, relative to a deck.
URLS = {
    "reveal_url_prefix": f"{STATIC}/reveal.js",
    "require_js_url": f"{STATIC}/requirejs/require.js",
    "jquery_url": f"{STATIC}/jquery/dist/jquery.min.js",
    "mathjax_url": f"{STATIC}/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
    "widget_renderer_url": f"{STATIC}/html-manager/dist/embed-amd.js",
}

# Korean text: NanumGothic (shipped by koreanize-matplotlib) copied next to the decks and used
# for Hangul only (unicode-range), so slides read the same on machines without a Korean font.
KOREAN_FONTS = {"NanumGothic.woff": 400, "NanumGothicBold.woff": 700}
_HANGUL = "U+1100-11FF, U+3000-303F, U+3130-318F, U+A960-A97F, U+AC00-D7AF, U+D7B0-D7FF, U+FF00-FFEF"
_FONT_CSS = "".join(
    f'@font-face {{ font-family: "chapter5-ko"; src: url("{STATIC}/fonts/{name}") format("woff");'
    f" font-weight: {weight}; unicode-range: {_HANGUL}; }}\n"
    for name, weight in KOREAN_FONTS.items()
) + """html:root {
  --r-main-font: "chapter5-ko", "Source Sans Pro", Helvetica, sans-serif;
  --r-heading-font: "chapter5-ko", "Source Sans Pro", Helvetica, sans-serif;
  --jp-ui-font-family: "chapter5-ko", system-ui, -apple-system, "Segoe UI", helvetica, arial, sans-serif;
  --jp-content-font-family: "chapter5-ko", system-ui, -apple-system, "Segoe UI", helvetica, arial, sans-serif;
  --jp-code-font-family: menlo, consolas, "DejaVu Sans Mono", "chapter5-ko", monospace;
}
"""

# MathJax 2's AssistiveMML extension (in the TeX-AMS_CHTML-full config) appends a clipped MathML
# copy to every formula: the slide's text (innerText, copy & paste, find, text search) then has
# each formula twice ("A+I𝐴+𝐼"). Switched off; the CommonHTML output stays plain text that screen
# readers read (without the extension it is not aria-hidden).
MATHJAX_ONE_COPY = ('<script type="text/x-mathjax-config">'
                    "MathJax.Hub.Config({AssistiveMML: {disabled: true}, menuSettings: {assistiveMML: false}});"
                    "</script>")

# The nbconvert reveal template without its mermaid.js import from cdnjs, plus the Korean font
# and one copy of each formula.
TEMPLATE_NAME = "chapter5_reveal"
_TEMPLATE = {
    "conf.json": json.dumps({"base_template": "reveal", "mimetypes": {"text/html": True}}),
    "index.html.j2": (
        "{%- extends 'reveal/index.html.j2' -%}\n"
        "{#- chapter5: no mermaid.js from a CDN (the course has no mermaid diagrams) -#}\n"
        "{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}\n"
        "{%- block html_head_css -%}\n<link rel=\"icon\" href=\"data:,\">\n<style type=\"text/css\">\n"
        + _FONT_CSS
        + "</style>\n{%- endblock html_head_css -%}\n"
        "{#- chapter5: each formula drawn once (no hidden MathML copy that innerText, copy and find repeat) -#}\n"
        "{%- block html_head_js_mathjax -%}\n{{ super() }}\n"
        + MATHJAX_ONE_COPY
        + "\n{%- endblock html_head_js_mathjax -%}\n"
    ),
}


class SlidesUnavailable(RuntimeError):
    """The offline copies of the slide libraries cannot be obtained (no npm, no registry)."""


def _sha512(path: Path) -> str:
    digest = hashlib.sha512(Path(path).read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


def _installed(folder: Path, version: str) -> bool:
    meta = folder / "package.json"
    try:
        return json.loads(meta.read_text(encoding="utf-8")).get("version") == version
    except (OSError, ValueError):
        return False


def vendor(dest=None, quiet: bool = False) -> Path:
    """Put the pinned libraries into ``dest`` (default ``build/slides/_static``) unless they are
    there already. Returns ``dest``. Raises :class:`SlidesUnavailable` without npm/registry
    and ``IOError`` when a tarball does not match its pinned checksum."""
    dest = Path(dest) if dest else OUT / STATIC
    todo = {name: spec for name, spec in VENDOR.items() if not _installed(dest / spec[2], spec[0])}
    if not todo:
        return dest
    npm = shutil.which("npm")
    if npm is None:
        raise SlidesUnavailable("npm is not installed: install Node.js/npm to export offline slides")
    with tempfile.TemporaryDirectory() as tmp:
        specs = [f"{name}@{version}" for name, (version, *_) in todo.items()]
        if not quiet:
            print("npm pack", " ".join(specs))
        proc = subprocess.run([npm, "pack", *specs, "--json", "--pack-destination", tmp,
                               "--fetch-timeout=30000", "--fetch-retries=1"],
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise SlidesUnavailable(f"npm pack failed: {proc.stderr.strip().splitlines()[-1:]}")
        packed = {d["name"]: Path(tmp) / d["filename"] for d in json.loads(proc.stdout)}
        for name, (version, integrity, folder, skip) in todo.items():
            tgz = packed[name]
            if _sha512(tgz) != integrity:
                raise IOError(f"{name}@{version}: tarball checksum does not match the pinned one")
            target = dest / folder
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            with tarfile.open(tgz) as tar:
                for member in tar.getmembers():
                    rel = member.name.split("/", 1)[1] if "/" in member.name else ""
                    if (not rel or not (member.isfile() or member.isdir()) or rel.startswith(skip)
                            or rel.endswith((".map", ".ts"))):
                        continue
                    member.name = rel
                    tar.extract(member, target, filter="data")
    return dest


def _korean_fonts(dest: Path) -> None:
    """NanumGothic as WOFF in ``dest``, without the empty VTT source tables (TSI*) that
    Chromium's font sanitizer rejects ("OTS parsing error: TSI3: zero-length table")."""
    import importlib.util

    from fontTools.ttLib import TTFont  # a matplotlib dependency

    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise SlidesUnavailable("koreanize-matplotlib (the Korean font) is not installed")
    src = Path(list(spec.submodule_search_locations)[0]) / "fonts"
    dest.mkdir(parents=True, exist_ok=True)
    for name in KOREAN_FONTS:
        target = dest / name
        if target.is_file():
            continue
        font = TTFont(src / name.replace(".woff", ".ttf"))
        for table in [t for t in font.keys() if t.startswith("TSI")]:
            del font[table]
        font.flavor = "woff"
        part = target.with_name(target.name + ".part")
        font.save(part)
        part.replace(target)


def _exporter(template_dir: Path):
    from nbconvert import SlidesExporter
    from traitlets.config import Config

    config = Config()
    for trait, url in URLS.items():
        setattr(config.SlidesExporter, trait, url)
    config.SlidesExporter.reveal_theme = "white"  # its font is local ("simple" imports Google Fonts)
    config.SlidesExporter.reveal_scroll = True  # a safety net only: `slides --check` keeps every slide within the screen
    config.SlidesExporter.reveal_width = str(SLIDE_W)  # a 1280×720 projector
    config.SlidesExporter.reveal_height = str(SLIDE_H)
    config.SlidesExporter.reveal_number = "c/t"
    # Cell tags for the deck only (the notebook is unchanged): a figure slide may hide its
    # plotting code, a long training cell its progress bars, so the slide fits the screen.
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_input_tags = set(HIDE_INPUT_TAGS)
    config.TagRemovePreprocessor.remove_all_outputs_tags = set(HIDE_OUTPUT_TAGS)
    config.SlidesExporter.extra_template_basedirs = [str(template_dir)]
    config.SlidesExporter.template_name = TEMPLATE_NAME
    return SlidesExporter(config=config)


def export(notebooks=None, out=None, quiet: bool = False) -> list[Path]:
    """Export ``notebooks`` (default: every numbered notebook) into ``out`` (default
    ``build/slides``), next to the offline libraries. Returns the deck paths."""
    import nbformat

    out = Path(out) if out else OUT
    paths = [Path(p) for p in notebooks] if notebooks else sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    vendor(out / STATIC, quiet=quiet)
    _korean_fonts(out / STATIC / "fonts")
    decks = []
    with tempfile.TemporaryDirectory() as tmp:
        tpl = Path(tmp) / TEMPLATE_NAME
        tpl.mkdir()
        for name, text in _TEMPLATE.items():
            (tpl / name).write_text(text, encoding="utf-8")
        exporter = _exporter(Path(tmp))
        for path in paths:
            nb = nbformat.read(path, as_version=4)
            body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": path.stem}})
            deck = out / f"{path.stem}.slides.html"
            deck.write_text(body, encoding="utf-8")
            decks.append(deck)
            if not quiet:
                print(f"  {deck}")
    _write_index(out)
    return decks


def _write_index(out: Path) -> Path:
    decks = sorted(out.glob("[0-9][0-9]_*.slides.html"))
    items = "\n".join(f'  <li><a href="{html.escape(d.name)}">{html.escape(d.name.split(".")[0])}</a></li>'
                      for d in decks)
    page = (
        "<!DOCTYPE html>\n<html lang=\"ko\">\n<head><meta charset=\"utf-8\">"
        "<title>chapter5 슬라이드</title></head>\n<body>\n<h1>chapter5 슬라이드 (오프라인)</h1>\n"
        "<p>화살표 키로 넘기고, <kbd>S</kbd> 는 발표자 노트, <kbd>Esc</kbd> 는 전체 보기입니다.</p>\n"
        f"<ul>\n{items}\n</ul>\n</body>\n</html>\n"
    )
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


# --------------------------------------------------------------------------- fit check

# Visits every slide with all its fragments shown and measures it in layout pixels (reveal.js
# scales the whole 1280×720 slide to the window, so these are the projector's pixels).
_MEASURE_JS = """async ([W, H, url]) => {
  const Reveal = await new Promise(r => require([url], r));  // the deck loads it with require.js
  Reveal.configure({transition: 'none', backgroundTransition: 'none'});
  const out = [];
  const hs = Reveal.getHorizontalSlides();
  for (let h = 0; h < hs.length; h++) {
    const subs = hs[h].querySelectorAll(':scope > section');
    const leaves = subs.length ? [...subs] : [hs[h]];
    for (let v = 0; v < leaves.length; v++) {
      Reveal.slide(h, v, 10000);  // reading the sizes below lays the slide out: no frame to wait for
      const s = leaves[v];
      const wide = [];
      s.querySelectorAll('pre').forEach(pre => {
        if (pre.scrollWidth <= pre.clientWidth + 1) return;
        const lines = pre.textContent.split('\\n');
        const longest = Math.max(...lines.map(l => l.length));
        const perChar = pre.scrollWidth / Math.max(longest, 1);
        const fits = Math.floor(pre.clientWidth / perChar);
        lines.forEach(l => { if (l.length > fits) wide.push(`${l.length} > ${fits} chars: ${l.slice(0, 50)}`); });
      });
      const head = s.querySelector('h1, h2, h3, h4');
      out.push({slide: `${h + 1}.${v + 1}`,
                title: (head ? head.textContent : s.textContent).replace('¶', '').trim().replace(/\\s+/g, ' ').slice(0, 60),
                height: s.scrollHeight, width: s.scrollWidth, wide_lines: wide,
                fragments: s.querySelectorAll('.fragment').length,
                notes: s.querySelectorAll('aside.notes').length,
                section: h + 1});
    }
  }
  return out;
}"""

def setup_cells_on_slides(nb) -> list[str]:
    """Plumbing code cells that would show on a slide: the guard, the setup cell and cells that
    only import chapter5 (:func:`chapter5.tools.notebook_meta.cell_role`); they must be ``skip``."""
    from .notebook_meta import cell_role

    return [c.source.splitlines()[0][:60] for c in nb.cells
            if cell_role(c) and c.metadata.get("slideshow", {}).get("slide_type") != "skip"]


def _measure(decks, out: Path) -> dict:
    import functools
    import http.server
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from .browser import CHROMIUM, CHROMIUM_ARGS

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(out)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"

    def run():
        from playwright.sync_api import sync_playwright

        found = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": SLIDE_W, "height": SLIDE_H})
                for deck in decks:
                    page.goto(f"{origin}/{deck.name}", wait_until="load", timeout=120_000)
                    page.wait_for_selector(".reveal.ready", timeout=60_000)
                    page.wait_for_load_state("networkidle", timeout=60_000)
                    page.evaluate("document.fonts.ready.then(() => true)")
                    try:  # formulas change heights: wait until MathJax has typeset them
                        page.wait_for_function("() => !window.MathJax || !MathJax.Hub || "
                                               "(!MathJax.Hub.queue.running && !MathJax.Hub.queue.pending)",
                                               timeout=30_000)
                    except Exception:  # noqa: BLE001 - measured anyway
                        pass
                    found[deck.name] = page.evaluate(_MEASURE_JS, [SLIDE_W, SLIDE_H, f"{URLS['reveal_url_prefix']}/dist/reveal.js"])
            finally:
                browser.close()
        return found

    try:  # a sync Playwright session may already run on this thread (pytest): use a thread
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(run).result()
    finally:
        server.shutdown()
        server.server_close()


def check(notebooks=None, out=None) -> list[dict]:
    """Export ``notebooks`` and measure every slide at 1280×720 in headless Chromium.

    One record per deck: slides, fragments, notes, the slides that overflow (taller than
    720 px or wider than 1280 px, or with a code line cut off at the right), the sections
    (horizontal slides) without speaker notes, and setup cells that are not ``skip``.
    """
    import nbformat

    from .browser import chromium_unavailable_reason

    reason = chromium_unavailable_reason()
    if reason:
        raise SlidesUnavailable(reason)
    out = Path(out) if out else OUT
    paths = [Path(p) for p in notebooks] if notebooks else sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    decks = export(paths, out, quiet=True)
    measured = _measure(decks, out)
    records = []
    for path, deck in zip(paths, decks):
        rows = measured[deck.name]
        sections = {}
        for r in rows:
            sections.setdefault(r["section"], []).append(r)
        records.append({
            "notebook": path.name, "slides": len(rows), "sections": len(sections),
            "fragments": sum(r["fragments"] for r in rows), "notes": sum(r["notes"] for r in rows),
            "overflow": [r for r in rows if r["height"] > SLIDE_H or r["width"] > SLIDE_W or r["wide_lines"]],
            "sections_without_notes": [rs[0]["title"] for rs in sections.values() if not any(r["notes"] for r in rs)],
            "setup_on_slides": setup_cells_on_slides(nbformat.read(path, as_version=4)),
        })
    return records


def check_report(records) -> tuple[str, bool]:
    """A readable report of :func:`check` and whether every deck passes."""
    lines, ok = [], True
    for r in records:
        bad = r["overflow"] or r["sections_without_notes"] or r["setup_on_slides"]
        ok &= not bad
        lines.append(f"{'OK  ' if not bad else 'FAIL'} {r['notebook']}: {r['slides']} slides, {r['fragments']} fragments, "
                     f"{r['notes']} notes, {len(r['overflow'])} overflowing")
        for o in r["overflow"]:
            what = []
            if o["height"] > SLIDE_H:
                what.append(f"height {o['height']} px > {SLIDE_H} ({o['height'] / SLIDE_H:.1f}×)")
            if o["width"] > SLIDE_W:
                what.append(f"width {o['width']} px > {SLIDE_W}")
            if o["wide_lines"]:
                what.append(f"{len(o['wide_lines'])} code line(s) cut off, e.g. {o['wide_lines'][0]!r}")
            lines.append(f"     slide {o['slide']} «{o['title']}»: " + "; ".join(what))
        for t in r["sections_without_notes"]:
            lines.append(f"     section without speaker notes: «{t}»")
        for t in r["setup_on_slides"]:
            lines.append(f"     setup cell on a slide (make it skip): {t!r}")
    return "\n".join(lines), ok
