"""Measured figures in a notebook: ``report`` prints one and, when the notebook is run by
``python -m chapter5 results`` (``chapter5/tools/results.py``), records it for ``docs/RESULTS.md``."""
from __future__ import annotations

import json
import os
from pathlib import Path

from .config import is_quick


def report(key: str, value: float, *, unit: str = "", textbook=None, target: str | None = None,
           fmt: str = "{:.2f}") -> None:
    """Print a measured figure; when run by ``chapter5.results`` also record it.

    ``textbook`` is the book's number for the same thing (or None), ``target`` the
    goal this course sets (for example ">= 92.0").
    """
    text = fmt.format(value) + (f" {unit}" if unit else "")
    extra = []
    if textbook is not None:
        extra.append(f"교과서 {fmt.format(textbook)}{(' ' + unit) if unit else ''}")
    if target:
        extra.append(f"목표 {target}")
    print(f"{key}: {text}" + (f"  ({', '.join(extra)})" if extra else ""))
    path = os.environ.get("CHAPTER5_RESULTS")
    if path:
        rows = json.loads(Path(path).read_text()) if Path(path).exists() else []
        rows.append({"key": key, "value": value, "unit": unit, "textbook": textbook,
                     "target": target, "fmt": fmt, "mode": "quick" if is_quick() else "full"})
        Path(path).write_text(json.dumps(rows, ensure_ascii=False, indent=1))
