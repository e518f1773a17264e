"""Side-by-side benchmark: the textbook's own loop against the course's, in one run on one machine.

    python -m chapter5 bench            # full (about 5-10 min on 2 cores); make bench
    python -m chapter5 bench --tiny     # seconds: small subsets (the tests use it)
    python -m chapter5 bench --class-mode --default-course   # also every notebook, class and default mode
    python -m chapter5 bench --workloads cnn --class-mode --default-course   # the course's targets only

For each workload the same model is trained by both loops, per epoch, and tested:

* **DNN / CNN** (FashionMNIST): the book's ``FashionDNN`` / ``FashionCNN`` under the book's
  loop (``chapter5.textbook.train``: ``ToTensor`` per item, batch 100, a test pass every 50
  iterations in training mode) and under the course's loop (``chapter5.train.fit``: in-memory
  tensors, batch 128, one evaluation per epoch, bf16 + channels_last where the CPU has it);
* **feature extraction** (cats vs dogs): the book's way, every epoch through the frozen
  pretrained body, against the course's, the body once into cached features, then the head;
* **fine-tuning**: the whole network trained by a plain fp32 loop over JPEG files decoded per
  item, against ``fit`` over images decoded once.

It also times the ingredients of the course loop one by one (precision and memory layout of
a CNN step, per-batch host sync, loader path) and, from ``docs/results.json`` (``make
results``), the course's own CNN recipe and the whole course in full mode; ``--class-mode``
also runs every notebook in class mode and records the slowest. It writes
``docs/BENCHMARKS.md`` and ``docs/benchmarks.json``. Speed figures are ratios measured side
by side; absolute seconds depend on the machine (named in the report).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path
from unittest import mock

import torch
from torch import nn

from ..config import REPO_ROOT
from .results import peak_gb, speed_index_ms

DOCS = REPO_ROOT / "docs"
OUT_JSON = DOCS / "benchmarks.json"
OUT_MD = DOCS / "BENCHMARKS.md"


# --------------------------------------------------------------------------- machine

def machine() -> dict:
    from .. import train
    from .results import cpu_name

    flags = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    wanted = ["avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"]
    return {"cpu": cpu_name(), "logical_cpus": os.cpu_count(), "physical_cores": train.physical_cores(),
            "flags": [f for f in wanted if f in flags], "torch": torch.__version__,
            "threads": torch.get_num_threads(), "bf16": train.bf16_supported(),
            "python": platform.python_version(), "date": _dt.date.today().isoformat(),
            "speed_index_ms": speed_index_ms()}


def _in_child(fn, args):
    from .. import train

    train.use_physical_cores()
    result = fn(*args)
    return result, _own_peak_gb()


def _own_peak_gb() -> float:
    """This process's own peak (VmHWM; other systems: ``ru_maxrss``)."""
    peak = peak_gb("self")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2 if peak is None else peak


def isolated(fn, *args):
    """``(fn(*args), peak RSS in GB)`` in a fresh process, as a notebook runs in its own kernel:
    the peak is that workload's own, not what earlier workloads left in the allocator."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_in_child, fn, args).result()


# --------------------------------------------------------------------------- workloads

def _course_loaders(train_n, test_n, batch_size=128):
    from .. import data

    x, y = data.fashion_tensors(train=True, normalize=False, limit=train_n)
    xt, yt = data.fashion_tensors(train=False, normalize=False, limit=test_n)
    tds, vds = torch.utils.data.TensorDataset(x, y), torch.utils.data.TensorDataset(xt, yt)
    return (torch.utils.data.DataLoader(tds, batch_size=batch_size, shuffle=True),
            torch.utils.data.DataLoader(vds, batch_size=1000))


def fashion(kind: str, train_n, test_n, epochs: int) -> dict:
    """The book's model under the book's loop and under the course's loop."""
    from .. import textbook, train

    make = textbook.FashionDNN if kind == "dnn" else textbook.FashionCNN
    torch.manual_seed(0)
    book_model = make()
    tr, te = textbook.loaders(train_limit=train_n, test_limit=test_n)
    book = textbook.train(book_model, tr, te, epochs=epochs, progress=False, device=torch.device("cpu"))
    torch.manual_seed(0)
    course_model = make()
    ctr, cte = _course_loaders(train_n, test_n)
    start = time.perf_counter()
    hist = train.fit(course_model, ctr, cte, epochs=epochs, lr=textbook.LEARNING_RATE, progress=False,
                     device=torch.device("cpu"))
    course_s = time.perf_counter() - start
    return {"textbook_epoch_s": book.seconds / epochs, "course_epoch_s": course_s / epochs,
            "speedup": book.seconds / course_s, "textbook_test_acc": book.final_accuracy,
            "course_test_acc": 100 * hist.final_test_acc, "epochs": epochs,
            "course_precision": train.precision_for(course_model, "cpu"),
            "train_images": len(tr.dataset)}


def _catdog(train_n, test_n, size=224):
    from .. import data
    from ..backbone import load_backbone

    bb = load_backbone(verbose=False)
    tf = bb.transform(train=False)
    tr, te = data.catdog("train", transform=tf), data.catdog("test", transform=tf)
    if train_n:
        tr = data.subset(tr, train_n)
    if test_n:
        te = data.subset(te, test_n)
    return bb, tr, te


def _decoded(ds):
    xs, ys = zip(*[ds[i] for i in range(len(ds))])
    return torch.utils.data.TensorDataset(torch.stack(xs), torch.tensor(ys))


def _book_loop(model, params, train_ds, test_ds, epochs: int, lr: float) -> tuple[float, float]:
    """The book's 5.3 loop: ``DataLoader(batch_size=32)`` over JPEGs decoded and transformed per
    item, fp32, a host sync per batch (``loss.item()``), a test pass after every epoch.
    Returns (seconds, last test accuracy in %)."""
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(params, lr=lr)
    tl = torch.utils.data.DataLoader(train_ds, batch_size=32, shuffle=True)
    vl = torch.utils.data.DataLoader(test_ds, batch_size=32)
    start, acc = time.perf_counter(), float("nan")
    for _ in range(epochs):
        model.train()
        for x, y in tl:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            _ = loss.item()
        model.eval()
        correct = total = 0
        with torch.no_grad():
            for x, y in vl:
                correct += (model(x).argmax(1) == y).sum().item()
                total += len(y)
        acc = 100 * correct / max(total, 1)
    return time.perf_counter() - start, acc


def feature_extraction(train_n, test_n, epochs: int) -> dict:
    from .. import train

    bb, tr, te = _catdog(train_n, test_n)
    # the book's way: every epoch through the frozen body (JPEGs decoded per item)
    body = bb.body()
    for p in body.parameters():
        p.requires_grad = False
    torch.manual_seed(0)
    head = nn.Linear(bb.feature_dim, 2)
    book_s, book_acc = _book_loop(nn.Sequential(body, head), head.parameters(), tr, te, epochs, 1e-3)
    # the course's way: the body once into features, then only the head
    start = time.perf_counter()
    with torch.inference_mode():
        body.eval()
        ftr = torch.cat([body(x) for x, _ in torch.utils.data.DataLoader(tr, batch_size=64)])
        fte = torch.cat([body(x) for x, _ in torch.utils.data.DataLoader(te, batch_size=64)])
    ytr = next(iter(torch.utils.data.DataLoader(tr, batch_size=len(tr))))[1]
    yte = next(iter(torch.utils.data.DataLoader(te, batch_size=len(te))))[1]
    cache_s = time.perf_counter() - start
    torch.manual_seed(0)
    chead = nn.Linear(bb.feature_dim, 2)
    start = time.perf_counter()
    hist = train.fit(chead, torch.utils.data.DataLoader(torch.utils.data.TensorDataset(ftr, ytr), batch_size=32,
                                                        shuffle=True),
                     torch.utils.data.DataLoader(torch.utils.data.TensorDataset(fte, yte), batch_size=256),
                     epochs=epochs, progress=False, device=torch.device("cpu"))
    head_s = time.perf_counter() - start
    return {"backbone": bb.name, "textbook_epoch_s": book_s / epochs, "course_epoch_s": head_s / epochs,
            "course_cache_s": cache_s, "speedup_per_epoch": book_s / max(head_s, 1e-9),
            "speedup_total": book_s / (cache_s + head_s), "textbook_test_acc": book_acc,
            "course_test_acc": 100 * hist.final_test_acc, "epochs": epochs, "train_images": len(tr)}


def feature_cache(train_n, test_n, epochs: int) -> dict:
    """The course's one pass of the frozen body over the cats/dogs photos (notebooks 03/04:
    ``transfer.cache_stages`` itself) under ``CHAPTER5_PRECISION=fp32`` and ``bf16`` (autocast +
    channels_last inference); the same head trained on each set of features. Also what a bf16 +
    channels_last body costs per epoch if the features were not cached."""
    from .. import train, transfer

    bb, tr, te = _catdog(train_n, test_n)
    start = time.perf_counter()
    dtr, dte = _decoded(tr), _decoded(te)
    decode_s = time.perf_counter() - start

    def features(ds, precision: str):
        with mock.patch.dict(os.environ, {"CHAPTER5_PRECISION": precision}):
            return transfer.cache_stages(bb, ds, progress=False)["features"].x

    out = {"decode_s": decode_s, "photos": len(dtr) + len(dte), "epochs": epochs}
    precisions = ["fp32"] + (["bf16"] if train.bf16_supported() else [])
    feats, warm = {}, torch.utils.data.TensorDataset(*(t[:8] for t in dtr.tensors))
    for precision in precisions:
        features(warm, precision)  # warm-up (oneDNN kernels)
        start = time.perf_counter()
        feats[precision] = (features(dtr, precision), features(dte, precision))
        out[f"{precision}_cache_s"] = time.perf_counter() - start
        torch.manual_seed(0)
        head = nn.Linear(bb.feature_dim, 2)
        ftr, fte = feats[precision]
        hist = train.fit(head, torch.utils.data.DataLoader(torch.utils.data.TensorDataset(ftr, dtr.tensors[1]),
                                                           batch_size=32, shuffle=True),
                         torch.utils.data.DataLoader(torch.utils.data.TensorDataset(fte, dte.tensors[1]), batch_size=256),
                         epochs=epochs, progress=False, device=torch.device("cpu"))
        out[f"{precision}_head_test_acc"] = 100 * hist.final_test_acc
        out[f"{precision}_head_epoch_s"] = hist.train_time / epochs
    if "bf16" in feats:
        a, b = feats["fp32"][0], feats["bf16"][0]
        out["bf16_feature_cosine_min"] = nn.functional.cosine_similarity(a, b, dim=1).min().item()
        out["bf16_cache_speedup"] = out["fp32_cache_s"] / out["bf16_cache_s"]
        # without a cache, every epoch runs the body over the train photos: at best the bf16 pass
        out["uncached_bf16_epoch_s"] = out["bf16_cache_s"] * len(dtr) / out["photos"]
    out["chosen"] = ("bf16 + channels_last" if out.get("bf16_cache_speedup", 0) > 1.1
                     and abs(out["bf16_head_test_acc"] - out["fp32_head_test_acc"]) <= 100 / len(dte) else "fp32")
    return out


def fine_tuning(train_n, test_n, epochs: int, loop: str) -> dict:
    """One of the two loops (``"textbook"`` or ``"course"``) from the same start: the backbone with
    a new head made under seed 0. Each runs in its own process (see ``run``), so each peak RSS is
    its own; ``fine_tuning_report`` puts the two together."""
    from .. import train

    bb, tr, te = _catdog(train_n, test_n)
    torch.manual_seed(0)
    bb.replace_head(2)
    model = bb.model
    if loop == "textbook":
        book_s, book_acc = _book_loop(model, model.parameters(), tr, te, epochs, 1e-4)
        return {"textbook_epoch_s": book_s / epochs, "textbook_test_acc": book_acc}
    start = time.perf_counter()
    dtr, dte = _decoded(tr), _decoded(te)
    decode_s = time.perf_counter() - start
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    start = time.perf_counter()
    hist = train.fit(model, torch.utils.data.DataLoader(dtr, batch_size=32, shuffle=True),
                     torch.utils.data.DataLoader(dte, batch_size=128), epochs=epochs, optimizer=opt,
                     progress=False, device=torch.device("cpu"))
    course_s = time.perf_counter() - start
    return {"course_epoch_s": course_s / epochs, "course_decode_s": decode_s,
            "course_test_acc": 100 * hist.final_test_acc, "epochs": epochs,
            "course_precision": train.precision_for(model, "cpu"), "train_images": len(tr)}


def fine_tuning_report(book: dict, course: dict) -> dict:
    book_s, course_s = book["textbook_epoch_s"], course["course_epoch_s"]
    return {**book, **course, "speedup": book_s / course_s,
            "speedup_total": book_s / (course_s + course["course_decode_s"] / course["epochs"])}


# --------------------------------------------------------------------------- ingredients

def _step_ms(model, x, y, steps: int, precision: str, channels_last: bool, sync: bool) -> float:
    from .. import train

    model = model.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    ctx = train._autocast(precision, "cpu")
    for i in range(steps + 3):
        if i == 3:
            start = time.perf_counter()
        with ctx:
            loss, _ = train.train_step(model, x, y, opt, loss_fn)
        if sync:
            loss.item()
    return 1000 * (time.perf_counter() - start) / steps


_STEP_PROBE = """
import torch
from chapter5 import textbook
from chapter5.tools.bench import _step_ms
torch.manual_seed(0)
x, y = torch.rand(128, 1, 28, 28), torch.randint(0, 10, (128,))
print(_step_ms(textbook.FashionCNN(), x, y, {steps}, "fp32", False, False))
"""


def omp_wait_policy(steps: int) -> dict:
    """One fp32 CNN step in a fresh process per OpenMP wait policy (read when torch loads)."""
    import subprocess

    out = {}
    for policy in ("ACTIVE", "PASSIVE"):
        env = {**os.environ, "OMP_WAIT_POLICY": policy}
        proc = subprocess.run([sys.executable, "-c", _STEP_PROBE.format(steps=steps)], env=env,
                              capture_output=True, text=True, timeout=600, cwd=REPO_ROOT)
        out[policy] = float(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else float("nan")
    return out


def ingredients(steps: int) -> dict:
    """One CNN step (batch 128) under each setting, and the loader paths for one epoch."""
    from .. import data, textbook, train

    x = torch.rand(128, 1, 28, 28)
    y = torch.randint(0, 10, (128,))
    out = {}
    settings = [("fp32", False, True), ("fp32", False, False), ("fp32", True, False)]
    if train.bf16_supported():
        settings += [("bf16", False, False), ("bf16", True, False)]
    for precision, cl, sync in settings:
        torch.manual_seed(0)
        key = f"{precision}{' + channels_last' if cl else ''}{' + item() per batch' if sync else ''}"
        out[key] = _step_ms(textbook.FashionCNN(), x, y, steps, precision, cl, sync)
    adamw = {}
    model = textbook.FashionCNN()
    for prm in model.parameters():
        prm.grad = torch.randn_like(prm)
    for impl in ("foreach", "fused"):  # the optimizer step alone (notebook 02's recipe uses fused=True)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=5e-4, **{impl: True})
        for i in range(steps + 3):
            if i == 3:
                start = time.perf_counter()
            opt.step()
        adamw[impl] = 1000 * (time.perf_counter() - start) / steps
    n = 6000 if steps < 50 else 60000
    tr, _ = textbook.loaders(train_limit=n, test_limit=100)
    start = time.perf_counter()
    for _ in tr:
        pass
    per_item = time.perf_counter() - start
    xs, ys = data.fashion_tensors(train=True, normalize=False, limit=n)
    fast = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xs, ys), batch_size=100, shuffle=True)
    start = time.perf_counter()
    for _ in train.batches(fast):
        pass
    sliced = time.perf_counter() - start
    return {"cnn_step_ms": out, "adamw_step_ms": adamw, "omp_wait_policy_step_ms": omp_wait_policy(steps), "loader_epoch_s": {"ToTensor per item (book)": per_item,
                                                   "in-memory tensors, sliced (course)": sliced},
            "loader_images": n}


# --------------------------------------------------------------------------- course figures

def course_figures() -> dict:
    path = DOCS / "results.json"
    if not path.exists():
        return {}
    records = json.loads(path.read_text())
    out = {"course_full_minutes": sum(r["wall_s"] for r in records.values()) / 60,
           "course_full_machine": sorted({r.get("cpu", "?") for r in records.values()}),
           "course_full_speed_index_ms": sorted({r["speed_index_ms"] for r in records.values()
                                                 if r.get("speed_index_ms")}),
           "results_kernel_peak_rss_gb": {n: r["peak_rss_gb"] for n, r in records.items() if r.get("peak_rss_gb")}}
    for r in records.values():
        out.update(cnn_figures(r.get("metrics", [])))
    return out


def cnn_figures(rows: list) -> dict:
    """Notebook 02's course CNN (test accuracy, training seconds) from its reported figures."""
    keys = {"CNN test accuracy": "cnn_test_accuracy", "CNN training time": "cnn_train_seconds"}
    return {keys[m["key"]]: m["value"] for m in rows if m["key"] in keys}


def run_notebooks(mode: str, save: bool = False) -> dict:
    """Every notebook top to bottom in its own kernel, as a learner runs it, in one of the modes of
    :mod:`chapter5.records`: ``"default"`` (records shown, the core trainings live), ``"class"``
    (records only, from a fresh clone: an empty artifacts folder) or ``"full"`` (recompute: every
    cell live, no record written). Outputs are not saved. Returns wall seconds, each kernel's own
    peak memory, how many cells found no usable record and computed ("지금 계산합니다"), and (not in
    class mode, which only shows records) the figures the notebooks reported. ``save=True`` (default
    mode only) writes each executed notebook back: its stored outputs are then what a learner's
    first run shows."""
    import tempfile

    import nbformat

    from .. import records
    from .results import execute

    measured = mode != "class"
    out = {"seconds": {}, "peak_rss_gb": {}, "recomputed": {}, **({"figures": {}} if measured else {})}
    with tempfile.TemporaryDirectory() as tmp:
        artifacts = Path(tmp) / "artifacts"  # empty, as on a fresh clone; shared by 01 -> 06 in order
        artifacts.mkdir()
        for path in sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
            nb, stats, sink = nbformat.read(path, as_version=4), {}, Path(tmp) / f"{path.stem}.json"
            env = {"CHAPTER5_ARTIFACTS": str(artifacts), "CHAPTER5_WRITE_RECORDS": "0",
                   "CHAPTER5_CLASS_MODE": "1" if mode == "class" else "0",
                   "CHAPTER5_RECOMPUTE": "1" if mode == "full" else "0",
                   **({"CHAPTER5_RESULTS": str(sink)} if measured else {})}
            out["seconds"][path.name] = execute(nb, path.parent, quick=False, stats=stats, env=env)
            out["peak_rss_gb"][path.name] = stats.get("peak_rss_gb")
            if measured:
                out["figures"][path.name] = json.loads(sink.read_text()) if sink.exists() else []
            text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
            out["recomputed"][path.name] = text.count(records.NOW_RUNNING)
            if save and mode == "default":
                from .notebook_meta import slide_metadata

                slide_metadata(nb)
                nbformat.write(nb, path)
    return out


REFERENCE_SPEED_INDEX_MS = 120.0  # the targets are set at this speed index (an idle Intel Xeon)


def targets(rep: dict) -> dict:
    """The course's time targets at this machine's speed index (scaled from 120 ms), the measured
    figures beside them, and whether each is met (None where this run did not measure it)."""
    scale = rep["machine"]["speed_index_ms"] / REFERENCE_SPEED_INDEX_MS
    rows = {
        "notebook_default_max_minutes": (rep.get("notebook_default_max_minutes"), 2 * scale, "<="),
        "course_default_minutes": (rep.get("course_default_minutes"), 6 * scale, "<="),
        "class_mode_fresh_clone_max_seconds": (rep.get("class_mode_fresh_clone_max_seconds"), 30.0, "<="),
        "class_mode_fresh_clone_computed_cells": (rep.get("class_mode_fresh_clone_computed_cells"), 0, "<="),
        "cnn_train_seconds": (rep.get("cnn_train_seconds") if rep.get("cnn_source") == "this run" else None,
                              60 * scale, "<="),
        "cnn_test_accuracy": (rep.get("cnn_test_accuracy") if rep.get("cnn_source") == "this run" else None,
                              92.0, ">="),
        "cnn_train_vs_textbook_5_epochs": (rep.get("cnn_train_vs_textbook_5_epochs"), 0.2, "<="),
        "records_mb": (rep.get("records_mb"), 3.0, "<="),
        "peak_rss_gb": (rep.get("peak_rss_gb"), 3.0, "<="),
    }
    return {k: {"measured": v, "limit": lim, "op": op,
                "met": None if v is None else (v <= lim if op == "<=" else v >= lim)}
            for k, (v, lim, op) in rows.items()}


def course_peak(rep: dict) -> dict:
    """``peak_rss_gb``: the largest process the course itself runs — the benchmark's workload
    processes (the DNN, CNN and feature-extraction ones also hold the textbook's loop) and every
    notebook kernel measured (class and full mode of this run, full mode of ``make results``).
    The textbook's own fine-tuning loop, which no notebook runs, is reported beside it."""
    by = dict(rep["peak_rss_gb_by_workload"])
    textbook = by.pop("fine_tuning_textbook", None)
    kernels = {}
    for source, peaks in (("results", rep.get("results_kernel_peak_rss_gb", {})),
                          ("class", rep.get("class_mode", {}).get("peak_rss_gb", {})),
                          ("full", rep.get("full_course", {}).get("peak_rss_gb", {})),
                          ("default", rep.get("default_course", {}).get("peak_rss_gb", {}))):
        kernels.update({f"{name[:2]} {source}": v for name, v in peaks.items() if v})
    name, peak = max({**by, **kernels}.items(), key=lambda kv: kv[1], default=("—", None))
    return {"peak_rss_gb": peak, "peak_rss_process": name, "kernel_peak_rss_gb": kernels,
            "textbook_fine_tuning_peak_rss_gb": textbook}


# --------------------------------------------------------------------------- report

WORKLOADS = ("dnn", "cnn", "feature_extraction", "feature_cache", "fine_tuning", "ingredients")


def run(tiny: bool = False, with_class_mode: bool = False, with_full_course: bool = False,
        with_default_course: bool = False, workloads=WORKLOADS, save_notebooks: bool = False) -> dict:
    from .. import records, train

    train.use_physical_cores()
    if tiny:
        sizes = {"fashion": (600, 200, 1), "catdog": (8, 8, 1), "steps": 3}
    else:
        sizes = {"fashion": (None, None, 1), "catdog": (None, None, 2), "steps": 40}
    fn, ft, fe = sizes["fashion"]
    cn, ct, ce = sizes["catdog"]
    rep = {"machine": machine(), "mode": "tiny" if tiny else "full", "workloads": list(workloads)}
    rss = rep["peak_rss_gb_by_workload"] = {}  # each workload in its own process, as each notebook in its kernel
    for kind in ("dnn", "cnn"):
        if kind in workloads:
            rep[kind], rss[kind] = isolated(fashion, kind, fn, ft, fe)
    if "feature_extraction" in workloads:
        rep["feature_extraction"], rss["feature_extraction"] = isolated(feature_extraction, cn, ct, ce)
    if "feature_cache" in workloads:
        rep["feature_cache"], rss["feature_cache"] = isolated(feature_cache, cn, ct, 15 if not tiny else 1)
    if "fine_tuning" in workloads:
        book, rss["fine_tuning_textbook"] = isolated(fine_tuning, cn, ct, ce, "textbook")
        course, rss["fine_tuning_course"] = isolated(fine_tuning, cn, ct, ce, "course")
        rep["fine_tuning"] = fine_tuning_report(book, course)
    if "ingredients" in workloads:
        rep["ingredients"] = ingredients(sizes["steps"])
    rep.update(course_figures())
    if with_full_course:
        full = rep["full_course"] = run_notebooks("full")
        rep["course_full_minutes"] = sum(full["seconds"].values()) / 60  # this run, this machine
        rep["course_full_machine"] = [rep["machine"]["cpu"]]
        rep["course_full_speed_index_ms"] = [rep["machine"]["speed_index_ms"]]
    if with_default_course:  # what a learner runs: records shown, the core trainings live
        dc = rep["default_course"] = run_notebooks("default", save=save_notebooks)
        rep["notebook_default_seconds"] = dc["seconds"]
        rep["notebook_default_max_minutes"] = max(dc["seconds"].values()) / 60
        rep["course_default_minutes"] = sum(dc["seconds"].values()) / 60
        rep["default_computed_cells"] = dc["recomputed"]  # experiments without a usable record
    for source in ("full_course", "default_course"):  # notebook 02's CNN trained live in this run
        figures = [m for rows in rep.get(source, {}).get("figures", {}).values() for m in rows]
        if cnn_figures(figures):
            rep.update(cnn_figures(figures), cnn_source="this run")
    if with_class_mode:  # from a fresh clone: records only, an empty artifacts folder
        cm = rep["class_mode"] = run_notebooks("class")
        rep["class_mode_seconds"] = cm["seconds"]
        rep["class_mode_recomputed_cells"] = cm["recomputed"]
        rep["class_mode_max_seconds"] = max(cm["seconds"].values())
        rep["class_mode_fresh_clone_max_seconds"] = rep["class_mode_max_seconds"]
        rep["class_mode_fresh_clone_computed_cells"] = sum(cm["recomputed"].values())
    if "cnn" in rep:
        rep["cnn_epoch_speedup_vs_textbook"] = rep["cnn"]["speedup"]
        if rep.get("cnn_source") == "this run" and rep["cnn"]["epochs"] == 1 and not tiny:
            # the course CNN's whole training against five epochs of the textbook's loop, both in this run
            rep["cnn_train_vs_textbook_5_epochs"] = rep["cnn_train_seconds"] / (5 * rep["cnn"]["textbook_epoch_s"])
    rep["records_mb"] = records.total_bytes() / 2 ** 20
    rep.update(course_peak(rep))
    rep["targets"] = targets(rep)
    return rep


TARGET_WORDS = {
    "notebook_default_max_minutes": "기본 모드: 가장 긴 노트북 (분) | default mode, slowest notebook (min)",
    "course_default_minutes": "기본 모드: 코스 전체 (분) | default mode, whole course (min)",
    "class_mode_fresh_clone_max_seconds": "수업 모드, 새 클론: 가장 긴 노트북 (초) | class mode, fresh clone, slowest (s)",
    "class_mode_fresh_clone_computed_cells": "수업 모드, 새 클론: 계산한 셀 | class mode, fresh clone, cells computed",
    "cnn_train_seconds": "코스 CNN 학습 시간 (초, 노트북 02) | course CNN training (s)",
    "cnn_test_accuracy": "코스 CNN test 정확도 (%) | course CNN test accuracy (%)",
    "cnn_train_vs_textbook_5_epochs": "코스 CNN 학습 ÷ 교과서 루프 5 에포크 | course CNN / textbook loop x5",
    "records_mb": "notebooks/records 크기 (MB)",
    "peak_rss_gb": "가장 큰 프로세스의 메모리 (GB) | peak RSS (GB)",
}


def refresh(rep: dict) -> dict:
    """The report with its ``make results`` figures (recompute minutes, machines, kernel peaks)
    read again from ``docs/results.json`` — for after notebooks were re-run; nothing this run
    measured itself (the workloads, the default and class runs, the course CNN) changes."""
    rep = dict(rep)
    fresh = course_figures()
    for key in ("course_full_minutes", "course_full_machine", "course_full_speed_index_ms", "results_kernel_peak_rss_gb"):
        if key in fresh and "full_course" not in rep:
            rep[key] = fresh[key]
    rep.update(course_peak(rep))
    rep["targets"] = targets(rep)
    return rep


def render(rep: dict) -> str:
    m = rep["machine"]
    f = lambda v, d=2: "—" if v is None else (f"{v:.{d}f}" if isinstance(v, float) else str(v))  # noqa: E731
    scale = m["speed_index_ms"] / REFERENCE_SPEED_INDEX_MS
    lines = ["# 속도 측정 (Benchmarks)", "",
             "`python -m chapter5 bench` (= `make bench`) 가 한 번의 실행에서 잰 결과입니다: 교과서의 학습 루프와 코스의 학습 루프를 **같은 머신에서 나란히**,"
             " 그리고 학습자가 여는 그대로 노트북 전체를 모드마다.",
             "절대 시간은 머신과 그날의 부하에 따라 다르므로, 모든 시간 목표는 아래의 속도 지수 (speed index) 로 환산해서 읽고, 배율 (ratio) 은 그대로 읽습니다.",
             "", "Generated by `python -m chapter5 bench`; re-run it to reproduce on your machine.", "",
             f"- machine: {m['cpu']} · {m['physical_cores']} physical cores ({m['logical_cpus']} logical) · "
             f"flags: {', '.join(m['flags']) or '—'} · bf16 native: {m['bf16']}",
             f"- torch {m['torch']} · threads {m['threads']} · Python {m['python']} · {m['date']} · mode: {rep['mode']}",
             f"- machine speed index: {f(m.get('speed_index_ms'), 0)} ms (20 products of two 1024×1024 fp32 matrices, best of 3; "
             f"lower is faster). The targets are set for a speed index of {REFERENCE_SPEED_INDEX_MS:.0f} (an idle Intel Xeon); on this machine a time limit is "
             f"multiplied by {scale:.2f}.",
             f"- workloads measured in this run: {', '.join(rep.get('workloads', WORKLOADS))}"]
    if rep.get("targets"):
        lines += ["", "## 목표 (targets, scaled to this machine's speed index)", "",
                  "| target | measured | limit here | met |", "|---|---|---|---|"]
        for key, t in rep["targets"].items():
            met = "—" if t["met"] is None else ("yes" if t["met"] else "**no**")
            lines.append(f"| {TARGET_WORDS.get(key, key)} (`{key}`) | {f(t['measured'])} | {t['op']} {f(t['limit'])} | {met} |")
    heads = [(k, label) for k, label in (("dnn", "DNN (book's FashionDNN)"), ("cnn", "CNN (book's FashionCNN)"),
                                         ("feature_extraction", "feature extraction (cats vs dogs)"),
                                         ("fine_tuning", "fine-tuning")) if k in rep]
    if heads:
        lines += ["", "## 머리기사 (headline ratios)", "",
                  "| workload | textbook loop s/epoch | course loop s/epoch | speed-up | textbook test acc | course test acc |",
                  "|---|---|---|---|---|---|"]
    for key, label in heads:
        r = rep[key]
        sp = r.get("speedup", r.get("speedup_per_epoch"))
        lines.append(f"| {label} | {f(r['textbook_epoch_s'])} | {f(r['course_epoch_s'], 3)} | **{f(sp, 1)}×** | "
                     f"{f(r['textbook_test_acc'])} % | {f(r['course_test_acc'])} % |")
    if "cnn" in rep:
        lines += ["",
                  f"- DNN/CNN: same model, same Adam(lr=0.001), {rep['cnn']['epochs']} epoch(s) on {rep['cnn']['train_images']:,} images; "
                  f"the book's loop tests every 50 iterations in training mode (as printed), the course's once per epoch. "
                  f"Course precision for the CNN: {rep['cnn']['course_precision']}."]
    if "feature_extraction" in rep:
        fe = rep["feature_extraction"]
        lines.append(f"- feature extraction ({fe['backbone']}): the course first caches the body's features once "
                     f"({f(fe['course_cache_s'], 1)} s), then trains only the head; over {fe['epochs']} epoch(s) including that cache "
                     f"the speed-up is {f(fe['speedup_total'], 1)}× (per head epoch {f(fe['speedup_per_epoch'], 0)}×).")
    if "feature_cache" in rep:
        fc = rep["feature_cache"]
        lines += ["", "## 몸통 특성 캐시: fp32 와 bf16 + channels_last (the body's one pass, notebooks 03/04)", "",
                  f"The {fc['photos']} cats/dogs photos (decoded once, {f(fc['decode_s'], 1)} s) through the frozen body, "
                  f"then the same linear head trained {fc['epochs']} epochs on those features:", "",
                  "| inference | cache pass s | head test acc | head s / epoch |", "|---|---|---|---|"]
        for p in ("fp32", "bf16"):
            if f"{p}_cache_s" in fc:
                label = "bf16 autocast + channels_last" if p == "bf16" else "fp32"
                lines.append(f"| {label} | {f(fc[p + '_cache_s'], 1)} | {f(fc[p + '_head_test_acc'])} % | "
                             f"{f(fc[p + '_head_epoch_s'], 4)} |")
        if "bf16_cache_speedup" in fc:
            lines += ["", f"- bf16 + channels_last makes the pass {f(fc['bf16_cache_speedup'])}× as fast "
                      f"(features' smallest cosine similarity to fp32: {f(fc['bf16_feature_cosine_min'], 4)}). "
                      f"Without a cache every epoch would run the body: at best {f(fc['uncached_bf16_epoch_s'], 1)} s per epoch "
                      f"in bf16, against {f(fc['bf16_head_epoch_s'], 4)} s for a head epoch on cached features — the cache stays."]
        lines.append(f"- kept for the cache pass: **{fc['chosen']}** (bf16 only if faster by more than a tenth, with the head's "
                     f"test accuracy within one test photo).")
    if "fine_tuning" in rep:
        ft = rep["fine_tuning"]
        lines.append(f"- fine-tuning: both loops train the whole network; the course decodes the JPEGs once "
                     f"({f(ft['course_decode_s'], 1)} s; speed-up including it {f(ft['speedup_total'], 1)}×), precision {ft['course_precision']}.")
    if "ingredients" in rep:
        lines += ["", "## 코스 루프의 재료 하나씩 (each ingredient, measured in this run)", "",
                  "One training step of the book's CNN, batch 128 (ms, lower is better):", "",
                  "| setting | ms / step |", "|---|---|"]
        for k, v in rep["ingredients"]["cnn_step_ms"].items():
            lines.append(f"| {k} | {v:.1f} |")
        adamw = rep["ingredients"].get("adamw_step_ms", {})
        if adamw:
            lines += ["", "The AdamW step alone for the book's CNN's 1.48 M parameters (notebook 02's recipe uses `fused=True`):", "",
                      "| AdamW implementation | ms / step |", "|---|---|"]
            lines += [f"| {k} | {v:.2f} |" for k, v in adamw.items()]
        omp = rep["ingredients"].get("omp_wait_policy_step_ms", {})
        if omp:
            lines += ["", "The same fp32 step in a fresh process per OpenMP wait policy (`OMP_WAIT_POLICY`, which "
                      "`import chapter5` sets to PASSIVE unless the user chose one):", "",
                      "| OMP_WAIT_POLICY | ms / step |", "|---|---|"]
            lines += [f"| {k} | {v:.1f} |" for k, v in omp.items()]
        lines += ["", f"One pass over {rep['ingredients']['loader_images']:,} FashionMNIST images (batches of 100), seconds:", "",
                  "| loader | s |", "|---|---|"]
        for k, v in rep["ingredients"]["loader_epoch_s"].items():
            lines.append(f"| {k} | {v:.2f} |")
    lines += ["", "## 코스 전체, 모드마다 (whole course per mode)", "",
              f"- course CNN recipe (notebook 02, {rep.get('cnn_source', 'from docs/results.json')}): "
              f"test accuracy {f(rep.get('cnn_test_accuracy'))} %, training {f(rep.get('cnn_train_seconds'), 0)} s"
              + (f", {f(rep['cnn_train_vs_textbook_5_epochs'])} × the textbook loop's 5 epochs in this run"
                 if rep.get("cnn_train_vs_textbook_5_epochs") is not None else "")]
    if "notebook_default_seconds" in rep:
        lines.append(f"- default mode (기본 모드: 기록을 보여 주고 핵심 학습만 지금): whole course {f(rep['course_default_minutes'], 1)} min — "
                     + ", ".join(f"{k[:2]} {v:.0f} s ({rep['default_computed_cells'].get(k, 0)})"
                                 for k, v in rep["notebook_default_seconds"].items())
                     + " (in brackets: experiments without a usable record, computed)")
    if "class_mode_seconds" in rep:
        lines.append(f"- class mode from a fresh clone (수업 모드, 빈 artifacts 폴더): slowest notebook {f(rep['class_mode_max_seconds'], 0)} s — "
                     + ", ".join(f"{k[:2]} {v:.0f} s ({rep['class_mode_recomputed_cells'].get(k, 0)})"
                                 for k, v in rep["class_mode_seconds"].items())
                     + " (in brackets: cells that computed)")
    if "full_course" in rep:
        lines.append(f"- recompute mode (다시 재기: 모든 셀을 지금): whole course {f(rep.get('course_full_minutes'), 1)} min — "
                     + ", ".join(f"{k[:2]} {v:.0f} s" for k, v in rep["full_course"]["seconds"].items()))
    elif rep.get("course_full_minutes") is not None:
        speeds = rep.get("course_full_speed_index_ms") or []
        lines.append(f"- recompute mode (`make results`, from docs/results.json): {f(rep.get('course_full_minutes'), 1)} min"
                     f" · machine: {', '.join(rep.get('course_full_machine', [])) or '—'}"
                     + (f", speed index {', '.join(f'{v:.0f}' for v in speeds)} ms" if speeds else ""))
    lines += ["", "## 메모리 (peak RSS, each process's own VmHWM)", "",
              f"- **peak_rss_gb {f(rep['peak_rss_gb'])} GB** ({rep.get('peak_rss_process', '—')}): the largest process the "
              "course itself runs — the benchmark's workload processes (each in its own process, as each notebook "
              "runs in its own kernel) and every notebook kernel measured (`results` = `make results`, "
              "`default` / `class` / `full` = this run)",
              "- workloads: " + (", ".join(f"{k} {v:.2f}" for k, v in rep["peak_rss_gb_by_workload"].items()) + " GB"
                                 if rep["peak_rss_gb_by_workload"] else "—"),
              "- notebook kernels: " + (", ".join(f"{k} {v:.2f}" for k, v in rep.get("kernel_peak_rss_gb", {}).items())
                                        + " GB" if rep.get("kernel_peak_rss_gb") else "— (run with `--class-mode` / `--default-course`)")]
    if rep.get("textbook_fine_tuning_peak_rss_gb") is not None:
        lines.append(f"- the textbook's own fine-tuning loop (fp32, whole network, batch 32), which no notebook runs: "
                     f"{f(rep.get('textbook_fine_tuning_peak_rss_gb'))} GB")
    lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chapter5 bench")
    parser.add_argument("--tiny", action="store_true", help="small subsets (seconds; used by the tests)")
    parser.add_argument("--class-mode", action="store_true", help="also time every notebook in class mode")
    parser.add_argument("--default-course", action="store_true",
                        help="also run every notebook in the default mode (records shown, core trainings live)")
    parser.add_argument("--save-notebooks", action="store_true",
                        help="with --default-course: store each notebook's default-mode run as its outputs")
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help="comma-separated workloads to time (default: all): " + ", ".join(WORKLOADS))
    parser.add_argument("--full-course", action="store_true",
                        help="also run every notebook in full mode (outputs not saved): minutes and kernel memory")
    parser.add_argument("--out", type=Path, default=None, help="folder for BENCHMARKS.md / benchmarks.json (default docs/)")
    parser.add_argument("--refresh", action="store_true",
                        help="re-read the make-results figures into the existing report and render it (no run)")
    args = parser.parse_args(argv)
    if args.refresh:
        out = args.out or DOCS
        rep = refresh(json.loads((out / OUT_JSON.name).read_text()))
        (out / OUT_JSON.name).write_text(json.dumps(rep, ensure_ascii=False, indent=1) + "\n")
        (out / OUT_MD.name).write_text(render(rep))
        return 0
    from .results import use_shared_data

    use_shared_data()  # the same data root and run files as `python -m chapter5 results`
    workloads = [w for w in args.workloads.split(",") if w]
    unknown = set(workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    rep = run(tiny=args.tiny, with_class_mode=args.class_mode, with_full_course=args.full_course,
              with_default_course=args.default_course, workloads=workloads, save_notebooks=args.save_notebooks)
    out = args.out or DOCS
    out.mkdir(parents=True, exist_ok=True)
    (out / OUT_JSON.name).write_text(json.dumps(rep, ensure_ascii=False, indent=1) + "\n")
    (out / OUT_MD.name).write_text(render(rep))
    print(render(rep))
    return 0


if __name__ == "__main__":
    sys.exit(main())
