"""Notebook 02's fair comparison (textbook recipe vs course recipe), re-run in quick mode.

The notebook is executed top to bottom on its quick-mode subsets, with one extra cell at the
end that hands back what the comparison measured (``FAIR_ROWS``, ``LADDER``) and what the
generator functions make of it. Checked here:

* the table's structure (which recipes, measured how, over how many epochs);
* the sentence shown under the table is exactly ``fair_sentence`` of the measured table, and
  every number in it is a measured value or a difference of measured values;
* the generator really reads its input (shifted inputs shift the sentence; the "largest
  share" follows the data), so no figure in it is typed by hand;
* no markdown cell states a measured percentage (only the book's own 86.65 / 89.43).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "02_dnn_vs_cnn.ipynb"
BOOK_FIGURES = {"86.65", "89.43"}

PROBE = r'''
import json as _json
_shift = [dict(r, DNN=None if r["DNN"] is None else r["DNN"] + 1.234,
               CNN=None if r["CNN"] is None else r["CNN"] + 1.234) for r in FAIR_ROWS]
_n = len(LADDER["CNN"])
_relu_first = {"DNN": LADDER["DNN"], "CNN": [[50.0, 51.0, 52.0, 53.0, 90.0, 90.5]] * _n}
print("FAIRJSON" + _json.dumps({
    "rows": FAIR_ROWS, "ladder": LADDER, "scale": ABL_SCALE, "steps": STEPS,
    "gains": {k: step_gains(v) for k, v in LADDER.items()},
    "markdown": fair_markdown(FAIR_ROWS), "sentence": fair_sentence(FAIR_ROWS, LADDER, ABL_SCALE),
    "shifted": fair_sentence(_shift, LADDER, ABL_SCALE),
    "relu_first": fair_sentence(FAIR_ROWS, _relu_first, ABL_SCALE)}, ensure_ascii=False, default=float))
'''


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from chapter5.tools.results import execute

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    progress = tmp_path_factory.mktemp("progress") / "p.json"
    execute(nb, NOTEBOOK.parent, quick=True, timeout=900, env={"CHAPTER5_PROGRESS": str(progress)})
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "error"]
    assert not errors, errors
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
    probe = json.loads(text.split("FAIRJSON", 1)[1])
    prose = [c for c in nb.cells if "fair-prose" in c.metadata.get("tags", [])]
    shown = [o["data"]["text/markdown"] for c in prose for o in c.outputs
             if o.get("output_type") == "display_data" and "text/markdown" in o.get("data", {})]
    return probe, shown


def test_table_structure(run):
    probe, _ = run
    rows = probe["rows"]
    assert [r["key"] for r in rows] == ["book", "book_eval", "course", "course_long"]
    for r in rows:
        assert {"recipe", "measure", "epochs", "precision", "DNN", "CNN"} <= set(r)
        for kind in ("DNN", "CNN"):
            assert r[kind] is None or 0.0 <= r[kind] <= 100.0
    book, book_eval, course, long = rows
    assert book["measure"] == "학습 모드" and all(r["measure"] == "eval 모드" for r in rows[1:])
    assert book["epochs"] == book_eval["epochs"] == course["epochs"], "the recipes are compared at equal epochs"
    assert long["CNN"] is None and long["epochs"][1] is None and long["DNN"] is not None
    assert book["precision"] == book_eval["precision"] == ["fp32", "fp32"], "the book runs in fp32"


def test_ablation_ladder_structure(run):
    probe, _ = run
    steps, ladder, scale = probe["steps"], probe["ladder"], probe["scale"]
    assert steps[0].startswith("교과서") and len(steps) == 6
    for kind, n_steps in (("DNN", 4), ("CNN", 6)):    # ReLU and fit's precision: CNN only
        assert len(ladder[kind]) == scale["seeds"] >= 2
        assert all(len(seed_run) == n_steps for seed_run in ladder[kind])
        assert all(0.0 <= a <= 100.0 for seed_run in ladder[kind] for a in seed_run)


def test_shown_table_and_sentence_come_from_the_generator(run):
    probe, shown = run
    assert shown == [probe["markdown"], probe["sentence"]]


def _numbers(text):
    """Numbers in ``text``, not counting digits inside names such as bf16 or fp32."""
    return re.findall(r"(?<![A-Za-z\d.,])[+-]?\d[\d,]*(?:\.\d+)?", text)


def test_every_number_in_the_sentence_is_measured(run):
    probe, _ = run
    rows = {r["key"]: r for r in probe["rows"]}
    allowed = set()
    for kind in ("DNN", "CNN"):
        vals = [rows[k][kind] for k in rows if rows[k][kind] is not None]
        allowed |= {f"{v:.2f}" for v in vals}
        allowed |= {f"{a - b:+.2f}" for a in vals for b in vals}
        for mean, lo, hi in probe["gains"][kind]:
            allowed |= {f"{mean:+.2f}", f"{lo:+.2f}", f"{hi:+.2f}"}
    for r in probe["rows"]:
        allowed |= {str(e) for e in r["epochs"] if e is not None}
    allowed |= {f"{v:,}" for v in probe["scale"].values()} | {str(v) for v in probe["scale"].values()}
    allowed |= {"128"}                                       # the batch size named in a step label
    stray = [n for n in _numbers(probe["sentence"]) if n not in allowed]
    assert not stray, f"numbers not taken from the measurements: {stray}\n{probe['sentence']}"


def test_generator_reads_its_input(run):
    probe, _ = run
    book_dnn = next(r for r in probe["rows"] if r["key"] == "book")["DNN"]
    assert f"{book_dnn + 1.234:.2f}" in probe["shifted"]
    assert probe["shifted"] != probe["sentence"]
    relu = probe["steps"][4].lstrip("+ ")
    cnn_line = [ln for ln in probe["relu_first"].splitlines() if "CNN:" in ln][0]
    assert cnn_line.endswith(f"가장 큰 몫: {relu}.")


def test_no_markdown_cell_states_a_measured_percentage():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for figure in re.findall(r"(\d+\.\d+)\s*%", cell.source):
            assert figure in BOOK_FIGURES, f"hand-typed result {figure} % in: {cell.source[:80]!r}"
