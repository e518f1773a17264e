"""Tiny helper to write notebooks from a list of cells (used while authoring).

    from tools.nbbuild import md, code, write
    write("notebooks/02_x.ipynb", [md("# title"), code("print(1)")])

Markdown cells that start with a level-1/2 heading become slides, level-3
headings sub-slides; everything else continues the current slide.
"""
from __future__ import annotations

import re

import nbformat


def md(text: str):
    text = text.strip("\n")
    cell = nbformat.v4.new_markdown_cell(text)
    if re.match(r"^#{1,2} ", text):
        kind = "slide"
    elif text.startswith("### "):
        kind = "subslide"
    else:
        kind = "-"
    cell.metadata["slideshow"] = {"slide_type": kind}
    return cell


def code(src: str, slide: str = "-"):
    cell = nbformat.v4.new_code_cell(src.strip("\n"))
    cell.metadata["slideshow"] = {"slide_type": slide}
    return cell


def write(path, cells, title: str | None = None):
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    if title:
        nb.metadata["title"] = title
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return path
