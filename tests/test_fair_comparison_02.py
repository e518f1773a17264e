"""Notebook 02's fair comparison and its one-change-at-a-time ablation, re-run in quick mode.

The notebook is executed top to bottom on its quick-mode subsets, with one extra cell at the
end that hands back what was measured (``FAIR_ROWS``, the ablation record ``ABL``) and what
the generator functions make of it and of planted inputs. Checked here:

* the table's structure (which recipes, measured how, over how many epochs);
* the ablation record's structure: the textbook recipe as the base (eval mode, with its
  train-mode measurement of the same weights), one row per single change, "all together",
  at least 2 seeds in quick mode (3 in full mode), accuracy / ECE / confidence / seconds per run;
* the sentences shown are exactly what the generators make of the measurements, and every
  number in them is read from the record (or the table), never typed;
* the generators read their input: a planted large, consistent gain is called an effect, a
  planted gain inside the seed noise is not, a planted worse ECE is not called "less overconfident";
* ECE on hand-made predictions (perfectly calibrated: 0; over-confident: the known value);
* ``results.report`` gets one "Ablation ..." line per change and model (docs/RESULTS.md);
* no markdown cell states a measured percentage (only the book's own 86.65 / 89.43).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "02_dnn_vs_cnn.ipynb"
BOOK_FIGURES = {"86.65", "89.43"}
SINGLE = ["normalize", "shuffle", "batch", "adamw", "onecycle", "smoothing", "epochs"]

PROBE = r'''
import copy as _copy
import json as _json

_shift = [dict(r, DNN=None if r["DNN"] is None else r["DNN"] + 1.234,
               CNN=None if r["CNN"] is None else r["CNN"] + 1.234) for r in FAIR_ROWS]
_n = len(ABL["seeds"])


def _planted(what, key, gains):
    # the CNN's `key` row replaced by base + the given per-seed change of `what`
    a = _copy.deepcopy(ABL)
    base = a["runs"]["CNN"]["base"]
    a["runs"]["CNN"][key] = [dict(r, **{what: b[what] + g}) for r, b, g in zip(a["runs"]["CNN"][key], base, gains)]
    return a


_big = [5.0 + 0.1 * i for i in range(_n)]                          # large and consistent
_mixed = [(1.0 if i % 2 == 0 else -0.8) for i in range(_n)]         # both sides of zero
_spread = [0.1 + 1.9 * i / (_n - 1) for i in range(_n)]             # one side, but spread > mean
_planted_rows = {
    "big": _planted("acc", "normalize", _big), "mixed": _planted("acc", "normalize", _mixed),
    "spread": _planted("acc", "normalize", _spread),
    "ece_up": _planted("ece", "smoothing", [3.0 + 0.1 * i for i in range(_n)]),
    "ece_down": _planted("ece", "smoothing", [-3.0 - 0.1 * i for i in range(_n)]),
}


def _onehot(conf, cls, k=10):
    p = torch.full((k,), (1 - conf) / (k - 1))
    p[cls] = conf
    return p


_calibrated = (torch.stack([_onehot(0.8, 0)] * 10), torch.tensor([0] * 8 + [1] * 2))   # 80 % sure, 80 % right
_over = (torch.stack([_onehot(0.9, 0)] * 10), torch.tensor([0] * 5 + [1] * 5))         # 90 % sure, 50 % right
_two = (torch.stack([_onehot(0.6, 0)] * 4 + [_onehot(0.95, 0)] * 4),
        torch.tensor([0] * 4 + [0, 0, 1, 1]))            # 60 % sure, all right; 95 % sure, half right
print("FAIRJSON" + _json.dumps({
    "rows": FAIR_ROWS, "markdown": fair_markdown(FAIR_ROWS), "sentence": fair_sentence(FAIR_ROWS),
    "shifted": fair_sentence(_shift),
    "abl": ABL, "labels": {k: [MEASURE_LABEL] + [v[0] for v in changes(k).values()] for k in ("DNN", "CNN")},
    "sentences": [ablation_sentences(ABL, k) for k in ("DNN", "CNN")],
    "planted": {name: {"row": row_sentence(a, "CNN", "smoothing" if name.startswith("ece") else "normalize"),
                       "all": ablation_sentences(a, "CNN")} for name, a in _planted_rows.items()},
    "planted_gains": {"big": _big, "mixed": _mixed, "spread": _spread},
    "effect_rule": {"big": is_effect(_big), "mixed": is_effect(_mixed), "spread": is_effect(_spread)},
    "ece": {"calibrated": ece(*_calibrated), "over": ece(*_over), "two": ece(*_two)},
    "quick": config.is_quick()}, ensure_ascii=False, default=float))
'''


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from chapter5.tools.results import execute

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    tmp = tmp_path_factory.mktemp("nb02")
    reported = tmp / "results.json"
    execute(nb, NOTEBOOK.parent, quick=True, timeout=900,
            env={"CHAPTER5_PROGRESS": str(tmp / "p.json"), "CHAPTER5_RESULTS": str(reported)})
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "error"]
    assert not errors, errors
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
    probe = json.loads(text.split("FAIRJSON", 1)[1])

    def shown(tag):
        cells = [c for c in nb.cells if tag in c.metadata.get("tags", [])]
        return [o["data"]["text/markdown"] for c in cells for o in c.outputs
                if o.get("output_type") == "display_data" and "text/markdown" in o.get("data", {})]

    probe["shown_fair"], probe["shown_ablation"] = shown("fair-prose"), shown("ablation-prose")
    probe["reported"] = json.loads(reported.read_text()) if reported.exists() else []
    return probe


def _numbers(text):
    """Numbers in ``text``, not counting digits inside names such as bf16 or fp32."""
    return re.findall(r"(?<![A-Za-z\d.,])[+-]?\d[\d,]*(?:\.\d+)?", text)


# --------------------------------------------------------------------------- the table (one seed)

def test_table_structure(run):
    rows = run["rows"]
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


def test_shown_table_and_sentence_come_from_the_generator(run):
    assert run["shown_fair"] == [run["markdown"], run["sentence"]]


def test_every_number_in_the_table_sentence_is_measured(run):
    rows = {r["key"]: r for r in run["rows"]}
    allowed = set()
    for kind in ("DNN", "CNN"):
        vals = [rows[k][kind] for k in rows if rows[k][kind] is not None]
        allowed |= {f"{v:.2f}" for v in vals} | {f"{a - b:+.2f}" for a in vals for b in vals}
    allowed |= {str(e) for r in run["rows"] for e in r["epochs"] if e is not None}
    stray = [n for n in _numbers(run["sentence"]) if n not in allowed]
    assert not stray, f"numbers not taken from the measurements: {stray}\n{run['sentence']}"


def test_table_sentence_reads_its_input(run):
    book_dnn = next(r for r in run["rows"] if r["key"] == "book")["DNN"]
    assert f"{book_dnn + 1.234:.2f}" in run["shifted"]
    assert run["shifted"] != run["sentence"]


# --------------------------------------------------------------------------- the ablation record

def test_ablation_record_structure(run):
    abl = run["abl"]
    seeds = abl["seeds"]
    assert len(seeds) >= (2 if run["quick"] else 3) and len(set(seeds)) == len(seeds)
    expected = {"DNN": ["base"] + SINGLE + ["all"],
                "CNN": ["base"] + SINGLE + (["bf16"] if abl["precision"] == "bf16" else []) + ["relu", "all"]}
    for kind, keys in expected.items():
        runs = abl["runs"][kind]
        assert sorted(runs) == sorted(keys), (kind, sorted(runs))
        for key, per_seed in runs.items():
            assert len(per_seed) == len(seeds), (kind, key)
            for r in per_seed:
                assert 0.0 <= r["acc"] <= 100.0 and 0.0 <= r["ece"] <= 100.0 and 10.0 <= r["conf"] <= 100.0
                assert r["sec"] > 0.0
        assert all("train_mode" in r and 0.0 <= r["train_mode"] <= 100.0 for r in runs["base"])
        assert 0 < abl["train"][kind] and 0 < abl["test"]
    assert abl["train"]["DNN"] >= abl["train"]["CNN"], "the DNN trains on at least the CNN's images"
    assert len(json.dumps(abl)) < 100_000, "the record stays small"


def test_shown_ablation_sentences_come_from_the_generator(run):
    assert run["shown_ablation"] == run["sentences"]
    for kind, text in zip(("DNN", "CNN"), run["sentences"]):
        for label in run["labels"][kind]:          # every row has its sentence
            assert f"- {label}:" in text, (kind, label)


def _allowed_from_record(abl):
    """Every figure the generator may print, computed here from the record itself."""
    allowed = set()
    for kind, runs in abl["runs"].items():
        base = runs["base"]
        diffs = {"measure": [b["acc"] - b["train_mode"] for b in base]}
        for key, rows in runs.items():
            for what in ("acc", "ece", "conf", "sec"):
                vals = [r[what] for r in rows]
                allowed |= {f"{np.mean(vals):.2f}", f"{np.mean(vals):.1f}", f"{min(vals):.2f}", f"{max(vals):.2f}"}
                d = [r[what] - b[what] for r, b in zip(rows, base)]
                diffs[(key, what)] = d
            ratio = [r["sec"] / b["sec"] for r, b in zip(rows, base)]
            allowed |= {f"{min(ratio):.2f}", f"{max(ratio):.2f}"}
        for d in diffs.values():
            allowed |= {f"{np.mean(d):+.2f}", f"{min(d):+.2f}", f"{max(d):+.2f}"}
        allowed |= {f"{abl['train'][kind]:,}", str(abl["train"][kind])}
    allowed |= {f"{abl['test']:,}", str(abl["test"]), str(len(abl["seeds"]))}
    return allowed


def test_every_number_in_the_ablation_sentences_is_from_the_record(run):
    allowed = _allowed_from_record(run["abl"])
    for kind, text in zip(("DNN", "CNN"), run["sentences"]):
        allowed_here = allowed | {n for label in run["labels"][kind] for n in _numbers(label)}
        stray = [n for n in _numbers(text) if n not in allowed_here]
        assert not stray, f"{kind}: numbers not read from the record: {stray}\n{text}"


def test_effect_rule_on_planted_gains(run):
    rule, planted = run["effect_rule"], run["planted"]
    assert rule == {"big": True, "mixed": False, "spread": False}
    for name, effect in rule.items():
        gains = run["planted_gains"][name]
        row = planted[name]["row"]
        assert row.startswith("- 정규화만:"), row
        assert f"{np.mean(gains):+.2f}%p" in row, (name, row)      # the planted numbers, not the measured ones
        assert ("— 효과" in row) is effect and ("흔들림 범위 안" in row) is (not effect), (name, row)
    assert "하나만 바꿔서 효과가 보인 변경: " in planted["big"]["all"]
    assert "정규화만" in planted["big"]["all"].splitlines()[-1]
    assert "정규화만" not in planted["mixed"]["all"].splitlines()[-1]


def test_label_smoothing_sentence_follows_the_ece(run):
    planted = run["planted"]
    assert "과신이 줄었습니다" in planted["ece_down"]["row"]
    assert "과신이 줄었습니다" not in planted["ece_up"]["row"]
    assert "ECE 가 오히려 커졌습니다" in planted["ece_up"]["row"]
    measured = next(ln for ln in run["sentences"][1].splitlines() if ln.startswith("- 레이블 스무딩"))
    assert "ECE " in measured and "평균 확신도" in measured


def test_ece_on_hand_made_predictions(run):
    e = run["ece"]
    assert e["calibrated"] == pytest.approx(0.0, abs=1e-6)
    assert e["over"] == pytest.approx(0.4, abs=1e-6)                  # |0.5 - 0.9|, all in one bin
    assert e["two"] == pytest.approx(0.5 * 0.4 + 0.5 * 0.45, abs=1e-6)  # two bins, equal shares


def test_results_report_one_line_per_change(run):
    keys = [r["key"] for r in run["reported"]]
    abl = run["abl"]
    for kind in ("DNN", "CNN"):
        rows = ["eval-mode measurement"] + [k for k in abl["runs"][kind] if k != "base"]
        lines = [k for k in keys if k.startswith(f"Ablation {kind}: ")]
        assert len([k for k in lines if "paired" in k and "ECE" not in k]) == len(rows), lines
        assert any("label smoothing alone, ECE change" in k for k in lines)
    assert all(r["unit"] in ("%p", "x") for r in run["reported"] if r["key"].startswith("Ablation"))


def test_no_markdown_cell_states_a_measured_percentage():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for figure in re.findall(r"(\d+\.\d+)\s*%", cell.source):
            assert figure in BOOK_FIGURES, f"hand-typed result {figure} % in: {cell.source[:80]!r}"
