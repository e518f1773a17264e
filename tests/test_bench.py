"""The benchmark in its tiny mode: both loops train, the report has every key, ratios come from the times."""
import json

import pytest

from chapter5.tools import bench

KEYS = ["cnn_epoch_speedup_vs_textbook", "cnn_train_seconds", "cnn_test_accuracy", "course_full_minutes",
        "peak_rss_gb", "machine"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    assert bench.main(["--tiny", "--out", str(out)]) == 0
    return out, json.loads((out / "benchmarks.json").read_text())


def test_every_key_is_there(report):
    _, rep = report
    for key in KEYS:
        assert key in rep, key
    assert rep["machine"]["cpu"] and rep["machine"]["threads"] >= 1 and "torch" in rep["machine"]
    assert 0 < rep["peak_rss_gb"] < 24
    by = rep["peak_rss_gb_by_workload"]  # each workload measured in its own process
    assert list(by) == ["dnn", "cnn", "feature_extraction", "feature_cache", "fine_tuning_textbook",
                        "fine_tuning_course"]
    assert all(0.1 < v < 24 for v in by.values())
    fc = rep["feature_cache"]  # the body's one pass, fp32 against bf16 + channels_last where the CPU has it
    assert fc["fp32_cache_s"] > 0 and 0 <= fc["fp32_head_test_acc"] <= 100
    assert fc["chosen"] in ("fp32", "bf16 + channels_last")
    if "bf16_cache_s" in fc:
        assert fc["bf16_feature_cosine_min"] > 0.9 and fc["bf16_cache_speedup"] == fc["fp32_cache_s"] / fc["bf16_cache_s"]
    course = {k: v for k, v in by.items() if k != "fine_tuning_textbook"}
    assert rep["peak_rss_gb"] >= max(course.values())  # the course's largest process
    assert rep["textbook_fine_tuning_peak_rss_gb"] == by["fine_tuning_textbook"]
    assert rep["machine"]["speed_index_ms"] > 0


def test_course_peak_is_the_largest_course_process_and_keeps_the_textbook_loop_apart():
    rep = {"peak_rss_gb_by_workload": {"dnn": 0.9, "cnn": 1.1, "feature_extraction": 2.0,
                                       "fine_tuning_textbook": 3.6, "fine_tuning_course": 2.7},
           "results_kernel_peak_rss_gb": {"04_fine_tuning.ipynb": 2.9, "02_dnn_vs_cnn.ipynb": 1.5},
           "class_mode": {"peak_rss_gb": {"04_fine_tuning.ipynb": 1.2, "05_feature_maps.ipynb": None}}}
    got = bench.course_peak(rep)
    assert (got["peak_rss_gb"], got["peak_rss_process"]) == (2.9, "04 results")
    assert got["textbook_fine_tuning_peak_rss_gb"] == 3.6
    assert got["kernel_peak_rss_gb"] == {"04 results": 2.9, "02 results": 1.5, "04 class": 1.2}
    rep["full_course"] = {"seconds": {"02_dnn_vs_cnn.ipynb": 600.0},  # a kernel above every workload
                          "peak_rss_gb": {"02_dnn_vs_cnn.ipynb": 3.1}}
    assert bench.course_peak(rep)["peak_rss_process"] == "02 full"
    md = bench.render({**_REPORT_FOR_RENDER, **rep, **bench.course_peak(rep)})
    assert "**peak_rss_gb 3.10 GB** (02 full)" in md and "which no notebook runs: 3.60 GB" in md


def test_a_workload_peak_is_its_own():
    """A child that holds 600 MB reports at least that; the next child starts from scratch."""
    _, big = bench.isolated(_hold, 600)
    _, small = bench.isolated(_hold, 0)
    assert big >= small + 0.5, (big, small)


def _hold(mb: int) -> int:
    import numpy as np

    a = np.ones(mb * 2**20, dtype=np.uint8)
    return int(a.sum())


def test_both_loops_trained_and_ratios_come_from_the_measured_times(report):
    _, rep = report
    for key in ("dnn", "cnn", "fine_tuning"):
        r = rep[key]
        assert r["textbook_epoch_s"] > 0 and r["course_epoch_s"] > 0
        assert r["speedup"] == pytest.approx(r["textbook_epoch_s"] / r["course_epoch_s"], rel=1e-6)
        assert 0 <= r["textbook_test_acc"] <= 100 and 0 <= r["course_test_acc"] <= 100
    fe = rep["feature_extraction"]
    assert fe["speedup_per_epoch"] == pytest.approx(fe["textbook_epoch_s"] / fe["course_epoch_s"], rel=1e-6)
    assert rep["cnn_epoch_speedup_vs_textbook"] == rep["cnn"]["speedup"]
    assert rep["ingredients"]["cnn_step_ms"]["fp32"] > 0


def test_markdown_report_names_the_machine_and_the_ratios(report):
    out, rep = report
    md = (out / "BENCHMARKS.md").read_text()
    assert rep["machine"]["cpu"] in md and f"{rep['cnn']['speedup']:.1f}×" in md
    assert "textbook loop" in md and "course loop" in md


def test_class_mode_line_lists_every_notebook_and_what_was_recomputed(report):
    _, rep = report
    rep = dict(rep, class_mode_seconds={"01_a.ipynb": 9.4, "02_b.ipynb": 21.6},
               class_mode_recomputed_cells={"01_a.ipynb": 0, "02_b.ipynb": 2}, class_mode_max_seconds=21.6)
    md = bench.render(rep)
    assert "class mode from a fresh clone (수업 모드, 빈 artifacts 폴더): slowest notebook 22 s" in md
    assert "01 9 s (0), 02 22 s (2)" in md
    rep = dict(rep, notebook_default_seconds={"01_a.ipynb": 30.0, "02_b.ipynb": 200.0}, course_default_minutes=3.83,
               default_computed_cells={"01_a.ipynb": 0, "02_b.ipynb": 1})
    assert "whole course 3.8 min — 01 30 s (0), 02 200 s (1)" in bench.render(rep)


def test_the_course_cnn_figures_are_notebook_02s_own():
    rows = [{"key": "DNN test accuracy", "value": 88.9}, {"key": "CNN test accuracy", "value": 92.5},
            {"key": "CNN training time", "value": 61.0}, {"key": "Textbook recipe CNN", "value": 89.0}]
    assert bench.cnn_figures(rows) == {"cnn_test_accuracy": 92.5, "cnn_train_seconds": 61.0}
    assert bench.cnn_figures(rows[:1]) == {}


_REPORT_FOR_RENDER = {
    "machine": {"cpu": "Test CPU", "physical_cores": 2, "logical_cpus": 2, "flags": [], "bf16": False,
                "torch": "2", "threads": 2, "python": "3.11", "date": "2026-01-01", "speed_index_ms": 140.0},
    "mode": "tiny",
    **{k: {"textbook_epoch_s": 2.0, "course_epoch_s": 1.0, "speedup": 2.0, "textbook_test_acc": 50.0,
           "course_test_acc": 50.0, "epochs": 1, "course_precision": "fp32", "train_images": 10}
       for k in ("dnn", "cnn")},
    "feature_extraction": {"backbone": "b", "textbook_epoch_s": 2.0, "course_epoch_s": 1.0, "course_cache_s": 1.0,
                           "speedup_per_epoch": 2.0, "speedup_total": 1.0, "textbook_test_acc": 50.0,
                           "course_test_acc": 50.0, "epochs": 1},
    "fine_tuning": {"textbook_epoch_s": 2.0, "course_epoch_s": 1.0, "speedup": 2.0, "speedup_total": 1.9,
                    "course_decode_s": 0.1, "textbook_test_acc": 50.0, "course_test_acc": 50.0,
                    "course_precision": "fp32"},
    "ingredients": {"cnn_step_ms": {"fp32": 1.0}, "loader_epoch_s": {"book": 1.0}, "loader_images": 10},
}


def test_targets_are_scaled_by_the_speed_index_and_say_whether_they_are_met():
    rep = {"machine": {**_REPORT_FOR_RENDER["machine"], "speed_index_ms": 480.0}, "notebook_default_max_minutes": 7.5, "course_default_minutes": 25.0,
           "class_mode_fresh_clone_max_seconds": 12.0, "class_mode_fresh_clone_computed_cells": 0,
           "cnn_train_seconds": 230.0, "cnn_test_accuracy": 91.9, "cnn_source": "this run",
           "cnn_train_vs_textbook_5_epochs": 0.25, "records_mb": 0.4, "peak_rss_gb": 2.8}
    t = bench.targets(rep)
    assert t["notebook_default_max_minutes"] == {"measured": 7.5, "limit": 8.0, "op": "<=", "met": True}
    assert t["course_default_minutes"]["limit"] == 24.0 and t["course_default_minutes"]["met"] is False
    assert t["cnn_train_seconds"]["limit"] == 240.0 and t["cnn_train_seconds"]["met"] is True
    assert t["cnn_test_accuracy"]["met"] is False  # >= 92.0
    assert t["cnn_train_vs_textbook_5_epochs"]["met"] is False and t["records_mb"]["met"] is True
    assert t["class_mode_fresh_clone_max_seconds"]["limit"] == 30.0  # not scaled: it only loads records
    # figures that did not come from this run's own training are not judged
    t = bench.targets({**rep, "cnn_source": "from docs/results.json"})
    assert t["cnn_train_seconds"]["measured"] is None and t["cnn_train_seconds"]["met"] is None
    md = bench.render({**_REPORT_FOR_RENDER, **rep, "targets": bench.targets(rep), "peak_rss_gb_by_workload": {"cnn": 1.0},
                       **bench.course_peak({"peak_rss_gb_by_workload": {"cnn": 1.0}})})
    assert "| 기본 모드: 코스 전체 (분) | default mode, whole course (min) (`course_default_minutes`) | 25.00 | <= 24.00 | **no** |" in md


def test_refresh_rereads_only_the_make_results_figures(monkeypatch):
    rep = {"machine": {**_REPORT_FOR_RENDER["machine"], "speed_index_ms": 240.0}, "peak_rss_gb_by_workload": {"cnn": 1.0},
           "course_full_minutes": 64.5, "results_kernel_peak_rss_gb": {"05_x.ipynb": 4.1},
           "cnn_train_seconds": 68.0, "cnn_test_accuracy": 92.7, "cnn_source": "this run"}
    monkeypatch.setattr(bench, "course_figures", lambda: {
        "course_full_minutes": 30.0, "results_kernel_peak_rss_gb": {"05_x.ipynb": 2.7},
        "cnn_train_seconds": 999.0, "cnn_test_accuracy": 1.0})  # results' own CNN figures must not leak in
    got = bench.refresh(rep)
    assert got["course_full_minutes"] == 30.0 and got["peak_rss_gb"] == 2.7
    assert (got["cnn_train_seconds"], got["cnn_test_accuracy"]) == (68.0, 92.7)
    assert got["targets"]["peak_rss_gb"]["met"] is True
