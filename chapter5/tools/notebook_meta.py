"""Cell metadata the course's tools keep right in every notebook.

:func:`slide_metadata` keeps plumbing code off the slides and folded in JupyterLab:

- the guard cell (tag ``chapter5-guard``, see :mod:`chapter5.tools.colab`) and the setup cell
  (a top-level ``config.setup()`` call): ``slideshow.slide_type = "skip"`` and
  ``jupyter.source_hidden = true``;
- cells that only import from ``chapter5`` (e.g. ``from chapter5.exercises import ex01, ____``),
  optionally followed by ``chapter5.progress()``: ``slide_type = "skip"`` (still shown in
  JupyterLab: learners type into them).

A cell is classified by its code, conservatively: anything else in the cell (a plot, a loop,
an assignment that is not ``config.setup()``) keeps it on its slide. The function only adds
``skip`` and ``source_hidden``; it never removes them. When a skipped cell started a slide, the
next cell shown on the slides starts it instead, so the deck keeps its slide breaks.
"""
from __future__ import annotations

import ast

GUARD = "guard"
SETUP = "setup"
IMPORT = "import"

# Calls that may sit in an import-only cell (plumbing, nothing to present).
_PLUMBING_CALLS = {("chapter5", "progress")}
_SETUP_CALLS = {("config", "setup"), ("chapter5.config", "setup")}
_BREAKS = ("slide", "subslide")


def _dotted(node) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def _call(stmt) -> tuple[str, str] | None:
    """(object, method) of a statement ``obj.method(...)`` or ``x = obj.method(...)``."""
    value = stmt.value if isinstance(stmt, (ast.Expr, ast.Assign, ast.AnnAssign)) else None
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        return _dotted(value.func.value), value.func.attr
    return None


def _imports_chapter5(stmt) -> bool:
    if isinstance(stmt, ast.Import):
        return any(a.name.split(".")[0] == "chapter5" for a in stmt.names)
    return isinstance(stmt, ast.ImportFrom) and not stmt.level and (stmt.module or "").split(".")[0] == "chapter5"


def cell_role(cell) -> str | None:
    """``"guard"``, ``"setup"``, ``"import"`` (plumbing to keep off the slides) or None."""
    from .colab import GUARD_TAG, _python_source

    if cell.get("cell_type") != "code":
        return None
    if GUARD_TAG in cell.get("metadata", {}).get("tags", []):
        return GUARD
    try:
        body = ast.parse(_python_source(cell.get("source", ""))).body
    except SyntaxError:
        return None
    if any(_call(s) in _SETUP_CALLS for s in body):
        return SETUP
    if any(_imports_chapter5(s) for s in body) and all(
            isinstance(s, (ast.Import, ast.ImportFrom)) or _call(s) in _PLUMBING_CALLS for s in body):
        return IMPORT
    return None


def slide_metadata(nb) -> list[str]:
    """Mark the guard, setup and chapter5-import cells of ``nb`` (an ``nbformat`` notebook), in place.

    Returns one line per change (``"cell 3 (setup): skip, source_hidden"``); empty when ``nb``
    already had the right metadata.
    """
    changes = []
    cells = nb.cells
    for i, cell in enumerate(cells):
        role = cell_role(cell)
        if role is None:
            continue
        done = []
        show = cell.metadata.setdefault("slideshow", {})
        kind = show.get("slide_type")
        if kind != "skip":
            show["slide_type"] = "skip"
            done.append("skip")
            nxt = next((c for c in cells[i + 1:]
                        if c.metadata.get("slideshow", {}).get("slide_type") not in ("skip", "notes")), None)
            if kind in _BREAKS and nxt is not None and nxt.metadata.get("slideshow", {}).get("slide_type") not in _BREAKS:
                nxt.metadata.setdefault("slideshow", {})["slide_type"] = kind
                done.append(f"its '{kind}' break moved to the next cell")
        if role in (GUARD, SETUP) and cell.metadata.get("jupyter", {}).get("source_hidden") is not True:
            cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
            done.append("source_hidden")
        if done:
            changes.append(f"cell {i} ({role}): " + ", ".join(done))
    return changes


def slide_metadata_problems(nb) -> list[str]:
    """What :func:`slide_metadata` would still change in ``nb`` (empty when it is right)."""
    import copy

    return slide_metadata(copy.deepcopy(nb))


def slide_metadata_file(path) -> list[str]:
    """:func:`slide_metadata` on a notebook file; writes it only when it changed."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    changes = slide_metadata(nb)
    if changes:
        nbformat.write(nb, path)
    return changes
