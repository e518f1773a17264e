"""Recorded experiments (chapter5/records.py): round trip, modes, stale records, and the
currency of the records committed in notebooks/records/."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from chapter5 import records, train

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def rec(monkeypatch, tmp_path):
    """A throw-away records folder, full data sizes (not quick), no mode switched on."""
    monkeypatch.setenv("CHAPTER5_RECORDS", str(tmp_path / "records"))
    monkeypatch.setenv("CHAPTER5_QUICK", "0")
    for var in ("CHAPTER5_CLASS_MODE", "CHAPTER5_RECOMPUTE", "CHAPTER5_WRITE_RECORDS"):
        monkeypatch.delenv(var, raising=False)
    records._SPEED[:] = [100.0]  # no need to time the machine in every test
    return tmp_path / "records"


def _experiment():
    _experiment.calls += 1
    return {("small", "similar"): [np.float64(91.5), 92.25], "curve": np.arange(3), "n": np.int64(7),
            "t": torch.tensor([[1.5, 2.0]]), "pair": (1, "a"), "nan": float("nan")}


def _helper(x):
    return x + 1


def _other_helper(x):
    return x + 2


def test_values_round_trip_as_plain_json():
    value = {"f32": torch.arange(6, dtype=torch.float32).reshape(2, 3) / 3, "i64": torch.tensor([3, 4]),
             "bf16": torch.tensor([1.5], dtype=torch.bfloat16), "np": np.linspace(0, 1, 4),
             "keys": {(1, 2): "tuple key", 3: "int key"}, "tup": (1, [2, (3, 4)]), "inf": float("-inf"),
             "hist": train.History(train_loss=[1.0], test_acc=[0.5], seconds=[2.0]),
             "stopped": train.History(train_loss=[1.0, 0.5], seconds=[1.0, 1.0], val_acc=[0.6, 0.7], best_epoch=2)}
    text = json.dumps(records.encode(value))  # plain JSON: this would raise on anything else
    back = records.decode(json.loads(text))
    assert torch.equal(back["f32"], value["f32"]) and back["f32"].dtype == torch.float32
    assert torch.equal(back["i64"], value["i64"]) and back["i64"].dtype == torch.int64
    assert back["bf16"].dtype == torch.float32 and back["bf16"].item() == 1.5
    assert isinstance(back["np"], np.ndarray) and np.array_equal(back["np"], value["np"])
    assert back["keys"] == {(1, 2): "tuple key", 3: "int key"}
    assert back["tup"] == (1, [2, (3, 4)]) and back["inf"] == float("-inf")
    assert back["hist"].test_acc == [0.5] and back["hist"].loaded and back["hist"].train_time == 2.0
    assert back["stopped"].val_acc == [0.6, 0.7] and back["stopped"].best_epoch == 2   # early-stopped run
    with pytest.raises(TypeError, match="not Linear"):
        records.encode(nn.Linear(2, 2))  # no objects, no pickle


def test_an_experiment_is_recorded_then_shown_and_a_stale_record_is_refused(rec, monkeypatch, capsys):
    _experiment.calls = 0
    # default mode without a record: says so and computes
    records.experiment("exp", _experiment, code=(_helper,), settings={"seeds": 3}, cell="x = 1")
    assert _experiment.calls == 1 and "기록이 없습니다 (exp.json)" in capsys.readouterr().out
    assert not (rec / "exp.json").exists(), "a learner's run never writes records"
    # make results: recompute + write
    monkeypatch.setenv("CHAPTER5_RECOMPUTE", "1")
    monkeypatch.setenv("CHAPTER5_WRITE_RECORDS", "1")
    first = records.experiment("exp", _experiment, code=(_helper,), settings={"seeds": 3}, cell="x = 1")
    assert _experiment.calls == 2 and (rec / "exp.json").is_file()
    doc = json.loads((rec / "exp.json").read_text())
    assert {"date", "cpu", "cores", "speed_index_ms", "torch", "seconds"} <= set(doc["made"])
    assert set(doc["inputs"]) == {"cell", "code", "settings", "data", "format"}
    assert "tests.test_records" not in json.dumps(doc["inputs"]["code"]) and "_helper" in doc["inputs"]["code"]
    monkeypatch.delenv("CHAPTER5_RECOMPUTE")
    monkeypatch.delenv("CHAPTER5_WRITE_RECORDS")
    capsys.readouterr()
    # default mode: shown at once, not computed
    got = records.experiment("exp", _experiment, code=(_helper,), settings={"seeds": 3}, cell="x = 1")
    out = capsys.readouterr().out
    assert _experiment.calls == 2, "the record is shown, not computed"
    assert out.startswith("📋 기록된 측정 (") and "3 시드" in out and "config.setup(recompute=True)" in out
    assert got[("small", "similar")] == [91.5, 92.25] and got["n"] == 7 and type(got["n"]) is int
    assert np.array_equal(got["curve"], np.arange(3)) and torch.equal(got["t"], first["t"])
    assert got["pair"] == (1, "a") and np.isnan(got["nan"])
    # each kind of change is refused with what changed, then computed live
    for kwargs, word in [(dict(code=(_helper,), settings={"seeds": 5}, cell="x = 1"), "설정"),
                         (dict(code=(_other_helper,), settings={"seeds": 3}, cell="x = 1"), "함수 _helper, _other_helper"),
                         (dict(code=(_helper,), settings={"seeds": 3}, cell="x = 2"), "이 셀의 코드")]:
        calls = _experiment.calls
        records.experiment("exp", _experiment, **kwargs)
        out = capsys.readouterr().out
        assert _experiment.calls == calls + 1 and "기록이 지금 코드와 맞지 않습니다" in out and word in out, out
    # a damaged file: refused with its own words
    (rec / "exp.json").write_text((rec / "exp.json").read_text()[:40])
    records.experiment("exp", _experiment, code=(_helper,), settings={"seeds": 3}, cell="x = 1")
    assert "손상" in capsys.readouterr().out and _experiment.calls == 6


def test_modes_quick_ignores_records_recompute_runs_live_core_is_live_by_default(rec, monkeypatch, capsys):
    _experiment.calls = 0
    monkeypatch.setenv("CHAPTER5_WRITE_RECORDS", "1")
    monkeypatch.setenv("CHAPTER5_RECOMPUTE", "1")
    records.experiment("exp", _experiment, cell="c")
    records.experiment("core", _experiment, cell="c", core=True)
    assert _experiment.calls == 2
    # recompute: live even though the records match
    records.experiment("exp", _experiment, cell="c")
    assert _experiment.calls == 3 and records.mode() == "recompute"
    monkeypatch.delenv("CHAPTER5_RECOMPUTE")
    monkeypatch.delenv("CHAPTER5_WRITE_RECORDS")
    # quick: live, and never written even when asked to write
    monkeypatch.setenv("CHAPTER5_QUICK", "1")
    monkeypatch.setenv("CHAPTER5_WRITE_RECORDS", "1")
    before = {p.name: p.stat().st_mtime_ns for p in rec.iterdir()}
    records.experiment("exp", _experiment, cell="c")
    records.experiment("quick-only", _experiment, cell="c")
    assert _experiment.calls == 5 and records.mode() == "quick"
    assert {p.name: p.stat().st_mtime_ns for p in rec.iterdir()} == before
    monkeypatch.setenv("CHAPTER5_QUICK", "0")
    monkeypatch.delenv("CHAPTER5_WRITE_RECORDS")
    capsys.readouterr()
    # default: the core experiment is live, the other one recorded
    records.experiment("core", _experiment, cell="c", core=True)
    assert _experiment.calls == 6 and capsys.readouterr().out == ""
    records.experiment("exp", _experiment, cell="c")
    assert _experiment.calls == 6
    # class: both recorded
    monkeypatch.setenv("CHAPTER5_CLASS_MODE", "1")
    records.experiment("core", _experiment, cell="c", core=True)
    assert _experiment.calls == 6 and records.mode() == "class"


def _tiny_loaders():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=g)
    y = (x[:, 0] > 0).long()
    return DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True), DataLoader(TensorDataset(x, y), batch_size=64)


def test_class_mode_shows_a_named_runs_recorded_curves(rec, monkeypatch, capsys):
    tr, te = _tiny_loaders()
    monkeypatch.setenv("CHAPTER5_RECOMPUTE", "1")
    monkeypatch.setenv("CHAPTER5_WRITE_RECORDS", "1")
    trained = train.fit(nn.Linear(4, 2), tr, te, epochs=2, lr=0.05, desc="tiny run")
    assert (rec / "fit-tiny_run.json").is_file()
    monkeypatch.delenv("CHAPTER5_RECOMPUTE")
    monkeypatch.delenv("CHAPTER5_WRITE_RECORDS")
    live = train.fit(nn.Linear(4, 2), tr, te, epochs=2, lr=0.05, desc="tiny run")
    assert not live.loaded, "the default mode trains what the learner watches"
    monkeypatch.setenv("CHAPTER5_CLASS_MODE", "1")
    capsys.readouterr()
    shown = train.fit(nn.Linear(4, 2), tr, te, epochs=2, lr=0.05, desc="tiny run")
    assert shown.loaded and shown.test_acc == trained.test_acc and "📋 기록된 측정" in capsys.readouterr().out
    other = train.fit(nn.Linear(4, 2), tr, te, epochs=2, lr=0.1, desc="tiny run")  # another learning rate
    assert not other.loaded and "설정" in capsys.readouterr().out


def test_runs_inside_an_experiment_belong_to_its_record(rec, monkeypatch):
    tr, te = _tiny_loaders()
    monkeypatch.setenv("CHAPTER5_RECOMPUTE", "1")
    monkeypatch.setenv("CHAPTER5_WRITE_RECORDS", "1")
    records.experiment("seeds", lambda: [train.fit(nn.Linear(4, 2), tr, te, epochs=1, desc=f"s{s}").final_test_acc
                                         for s in range(2)], cell="c")
    assert sorted(p.name for p in rec.iterdir()) == ["seeds.json"]


def test_a_class_defined_in_a_cell_is_fingerprinted_by_its_methods():
    """Classes defined in a notebook cell have no file for ``inspect``: their methods count."""
    import linecache

    ns: dict = {}
    for i, body in enumerate(("x + 1", "x + 2")):
        src = f"class Net:\n    def forward(self, x):\n        return {body}\n"
        linecache.cache[f"<cell-{i}>"] = (0, None, src.splitlines(True), f"<cell-{i}>")
        exec(compile(src, f"<cell-{i}>", "exec"), ns)
        assert f"return {body}" in records.source_of(ns["Net"])
    # what the currency check reads from a notebook is what the kernel fingerprints
    assert records._notebook_source([src], 1, "Net") == records.source_of(ns["Net"])


# --------------------------------------------------------------------------- committed records

def _notebook(path: Path, cells: list[str]) -> Path:
    nb = {"cells": [{"cell_type": "code", "source": c, "metadata": {}, "outputs": [], "execution_count": None}
                    for c in cells], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))
    return path


def scale(x):
    return 2 * x


def test_the_currency_check_catches_a_planted_stale_record(rec, monkeypatch, tmp_path):
    from chapter5 import transfer

    helper = "def scale(x):\n    return 2 * x\n"  # the same source as this module's scale()
    call = 'value = records.experiment("planted", lambda: scale(3), code=(scale, transfer.concat))'
    nb = _notebook(tmp_path / "01_demo.ipynb", ["import torch", helper, call])
    monkeypatch.setenv("CHAPTER5_RECOMPUTE", "1")
    monkeypatch.setenv("CHAPTER5_WRITE_RECORDS", "1")
    records.experiment("planted", lambda: scale(3), code=(scale, transfer.concat), cell=call)
    assert records.stale([nb], rec) == {}
    # the helper changed in the notebook: caught, naming the function
    _notebook(nb, ["import torch", helper.replace("2 * x", "3 * x"), call])
    assert records.stale([nb], rec) == {"planted.json": ["함수 scale"]}
    # the calling cell changed: caught
    _notebook(nb, ["import torch", helper, call.replace("(3)", "(4)")])
    assert "이 기록을 만든 셀의 코드" in records.stale([nb], rec)["planted.json"][0]
    # a course function changed: caught
    _notebook(nb, ["import torch", helper, call])
    monkeypatch.setattr(records, "_course_source", lambda name: "def concat(): pass")
    assert records.stale([nb], rec) == {"planted.json": ["함수 chapter5.transfer.concat"]}
    # the data manifest changed: caught
    monkeypatch.undo()
    monkeypatch.setenv("CHAPTER5_RECORDS", str(rec))
    monkeypatch.setattr(records, "manifest_digest", lambda: "another")
    assert "데이터 목록 (manifest)" in records.stale([nb], rec)["planted.json"]


def test_committed_records_match_the_code_that_would_produce_them():
    """Every record in notebooks/records/ is what the current notebooks and chapter5 would make.
    Renew a stale one with `python -m chapter5 results notebooks/<the notebook>` (make results)."""
    folder = ROOT / "notebooks" / "records"
    problems = records.stale(folder=folder)
    assert not problems, "stale records — renew with `make results` (python -m chapter5 results <notebook>):\n" + "\n".join(
        f"  {name}: {', '.join(why)}" for name, why in problems.items())


def test_records_are_json_only_and_small():
    folder = ROOT / "notebooks" / "records"
    files = sorted(folder.glob("*")) if folder.is_dir() else []
    assert all(p.suffix == ".json" for p in files), [p.name for p in files if p.suffix != ".json"]
    for p in files:
        doc = json.loads(p.read_text(encoding="utf-8"))
        assert {"name", "fingerprint", "inputs", "made", "value"} <= set(doc), p.name
    assert records.total_bytes(folder) <= 3 * 1024 * 1024


def test_live_work_is_skipped_only_in_class_mode(rec, monkeypatch, capsys):
    calls = []
    assert records.live(lambda: calls.append(1) or "features", what="특성 캐시") == "features"
    monkeypatch.setenv("CHAPTER5_CLASS_MODE", "1")
    assert records.live(lambda: calls.append(1) or "features", instead="none", what="특성 캐시") == "none"
    assert calls == [1] and "특성 캐시은(는) 건너뜁니다" in capsys.readouterr().out


def test_a_notebooks_records_are_found_by_their_cells(rec, monkeypatch, tmp_path):
    monkeypatch.setenv("CHAPTER5_RECOMPUTE", "1")
    monkeypatch.setenv("CHAPTER5_WRITE_RECORDS", "1")
    mine = 'a = records.experiment("mine", lambda: 1)'
    records.experiment("mine", lambda: 1, cell=mine)
    records.experiment("other", lambda: 2, cell='b = records.experiment("other", lambda: 2)')
    nb = _notebook(tmp_path / "03_x.ipynb", ["import torch", mine])
    assert [p.name for p in records.records_of(nb, rec)] == ["mine.json"]


def test_the_estimate_of_a_multi_run_cell_covers_the_whole_cell(rec, monkeypatch, capsys):
    """Three trainings in one experiment (quick mode, as the tests run): the first one's estimate
    speaks for the whole cell and is within ±30 % of the cell's time. A fake clock advances 10 ms
    per training step and 1.5 ms per evaluation batch, so the check is of the arithmetic, not of
    this machine's load."""
    import re
    import time as _time

    monkeypatch.setenv("CHAPTER5_QUICK", "1")
    clock = [0.0]
    monkeypatch.setattr(_time, "perf_counter", lambda: clock[0])
    step, evaluate = train.train_step, train.evaluate

    def slow_step(*args, **kwargs):
        clock[0] += 0.010
        return step(*args, **kwargs)

    def slow_evaluate(model, loader, *args, **kwargs):
        clock[0] += 0.0015 * len(loader)
        return evaluate(model, loader, *args, **kwargs)

    monkeypatch.setattr(train, "train_step", slow_step)
    monkeypatch.setattr(train, "evaluate", slow_evaluate)
    monkeypatch.setattr(records, "ESTIMATE_FROM_S", 1.0)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(640, 4, generator=g)
    tr = DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=16, shuffle=True)  # 40 batches
    te = DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=64)                # 10 batches
    start = clock[0]
    records.experiment("three", lambda: [train.fit(nn.Linear(4, 2), tr, te, epochs=3, desc=f"run {s}", seed=s)
                                         for s in range(3)], runs=3)
    took = clock[0] - start
    out = capsys.readouterr()
    lines = [l for l in (out.out + out.err).splitlines() if "⏱" in l]
    assert len(lines) == 1 and "학습 3번" in lines[0], lines  # one estimate, for the whole cell
    said = int(re.search(r"약 (\d+)초", lines[0]).group(1))
    assert abs(said - took) <= 0.3 * took, (said, took)
    # without runs= the first training would only speak for itself: no line at all
    records.experiment("three", lambda: [train.fit(nn.Linear(4, 2), tr, te, epochs=3, desc=f"run {s}", seed=s)
                                         for s in range(3)])
    out = capsys.readouterr()
    assert "⏱" not in out.out + out.err


def test_class_mode_finds_a_record_for_every_experiment_and_watched_training():
    """What a notebook runs in class mode from a fresh clone comes from committed, current records:
    every experiment called in a cell, and every named training a cell starts (the benchmark's
    class-mode run counts what computes: docs/BENCHMARKS.md; doctor reports the same gaps)."""
    gaps = records.class_mode_gaps(folder=ROOT / "notebooks" / "records")
    assert not gaps, f"records missing or stale (make results): {gaps}"
    assert records.needed_by_cell('x = records.experiment("02-a", f)\ny = train.fit(m, l, desc="CNN")\n'
                                  'def g():\n    return records.experiment("inner", f)') == {"02-a.json", "fit-CNN.json"}


def test_class_mode_gaps_name_missing_and_stale_records(rec, monkeypatch, tmp_path):
    monkeypatch.setenv("CHAPTER5_RECOMPUTE", "1")
    monkeypatch.setenv("CHAPTER5_WRITE_RECORDS", "1")
    cell = 'a = records.experiment("01-a", lambda: 1)\nb = records.experiment("01-b", lambda: 2)'
    nb = _notebook(tmp_path / "01_x.ipynb", [cell])
    records.experiment("01-a", lambda: 1, cell=cell)
    assert records.class_mode_gaps([nb], rec) == {"01_x.ipynb": ["01-b.json"]}
    _notebook(nb, [cell + "  # edited"])  # the cell changed: 01-a is stale now
    assert records.class_mode_gaps([nb], rec) == {"01_x.ipynb": ["01-a.json", "01-b.json"]}


def test_the_estimate_leaves_out_the_slow_first_batches(monkeypatch, capsys):
    """02's live cells: the first batches set up the kernels (here 300 ms each, then 10 ms): the
    estimate times the batches after them, so it stays within ±30 % of the run (timing the first
    five batches would say about four times too long)."""
    import re
    import time as _time

    clock, calls = [0.0], [0]
    monkeypatch.setattr(_time, "perf_counter", lambda: clock[0])
    step = train.train_step

    def step_with_warm_up(*args, **kwargs):
        calls[0] += 1
        clock[0] += 0.300 if calls[0] <= 2 else 0.010
        return step(*args, **kwargs)

    monkeypatch.setattr(train, "train_step", step_with_warm_up)
    monkeypatch.setattr(records, "ESTIMATE_FROM_S", 1.0)
    x = torch.randn(3200, 4, generator=torch.Generator().manual_seed(0))
    tr = DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=16)      # 200 batches
    train.fit(nn.Linear(4, 2), tr, None, epochs=2, desc="warm", device=torch.device("cpu"))
    out = capsys.readouterr()
    lines = [l for l in (out.out + out.err).splitlines() if "⏱" in l]
    said = int(re.search(r"약 (\d+)초", lines[0]).group(1))
    assert abs(said - clock[0]) <= 0.3 * clock[0], (said, clock[0])
