"""Re-runnable results: execute notebooks in full mode, renew their records, write ``docs/RESULTS.md``.

    python -m chapter5 results notebooks/02_dnn_vs_cnn.ipynb
    python -m chapter5 results            # every notebook

Each notebook runs in the *recompute* mode (everything live) and writes the records of its
experiments into ``notebooks/records/`` (:mod:`chapter5.records`).
Each notebook reports its figures with :func:`chapter5.results.report`; this module collects them
(through the ``CHAPTER5_RESULTS`` file), times the whole notebook, saves the
executed notebook (so its stored outputs come from a real top-to-bottom run) and
renders ``docs/RESULTS.md`` from ``docs/results.json``.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

from ..config import REPO_ROOT
from ..records import cpu_name, measure_speed_index_ms as speed_index_ms  # noqa: F401 - the bench and tests read them here

DOCS = REPO_ROOT / "docs"
RESULTS_JSON = DOCS / "results.json"
RESULTS_MD = DOCS / "RESULTS.md"


def _poll_in_short_steps(kc, step: float = 0.1) -> None:
    """Make the kernel client's shell/IOPub ``get_msg`` wait in short polls.

    With ipywidgets in a cell, nbclient sometimes misses the wake-up for a message that
    has already arrived and sits until its whole timeout runs out (jupyter/nbclient#312;
    seen here after ``interact`` cells: 60 s stalls with timeout=60, "hangs" with 1800).
    Polling again every ``step`` seconds picks the message up; the deadline is unchanged.
    """
    from queue import Empty

    for channel in (kc.shell_channel, kc.iopub_channel):
        def patched(timeout=None, _get=channel.get_msg):
            deadline = None if timeout is None else time.monotonic() + timeout

            async def wait():
                while True:
                    left = step if deadline is None else max(0.0, min(step, deadline - time.monotonic()))
                    try:
                        return await _get(timeout=left)
                    except Empty:
                        if deadline is not None and time.monotonic() >= deadline:
                            raise
            return wait()
        channel.get_msg = patched


def peak_gb(pid: int | str = "self") -> float | None:
    """A process's own peak resident memory in GB (Linux ``VmHWM``, which starts afresh at exec;
    ``ru_maxrss`` would keep a forking parent's peak); None where /proc cannot tell."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024 ** 2
    except (OSError, ValueError):
        pass
    return None


def _note_kernel_peak(client, stats: dict) -> None:
    """After each cell: the kernel's peak so far (VmHWM only grows, so the last reading is the run's)."""
    pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
    peak = peak_gb(pid) if pid else None
    if peak is not None:
        stats["peak_rss_gb"] = max(peak, stats.get("peak_rss_gb", 0.0))


def execute(nb, cwd: Path, *, quick: bool, timeout: int = 1800, env: dict | None = None,
            stats: dict | None = None) -> float:
    """Run notebook object ``nb`` in place (outputs stored in it) with ``cwd`` as its folder,
    in quick or full mode; returns the wall time in seconds. ``stats``, when given, receives
    ``peak_rss_gb``: the kernel process's own peak memory over the run."""
    from nbclient import NotebookClient

    env = {"CHAPTER5_QUICK": "1" if quick else "0", **(env or {})}
    with mock.patch.dict(os.environ, env):  # the kernel inherits them; restored afterwards
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(cwd)}})
        client.on_notebook_start = lambda notebook: _poll_in_short_steps(client.kc)
        if stats is not None:
            client.on_cell_executed = lambda **_: _note_kernel_peak(client, stats)
        start = time.perf_counter()
        client.execute()
        return time.perf_counter() - start


_BACKBONE_LINE = "backbone: "  # printed by chapter5.backbone.load_backbone


def backbone_used(nb) -> str | None:
    """The pretrained backbone a notebook ran with, as its own output says (None if it loads none)."""
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            for line in out.get("text", "").splitlines() if out.get("output_type") == "stream" else []:
                if line.startswith(_BACKBONE_LINE):
                    return line[len(_BACKBONE_LINE):].strip()
    return None


def run_notebook(path: Path, quick: bool = False, timeout: int | None = None, save: bool = True) -> dict:
    """Execute one notebook top to bottom; return its record for results.json."""
    import nbformat

    path = Path(path).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        sink = Path(tmp) / "results.json"
        nb = nbformat.read(path, as_version=4)
        stats: dict = {}
        # recompute everything and renew the records (chapter5/records.py); quick runs never record
        env = {"CHAPTER5_RESULTS": str(sink), "CHAPTER5_CLASS_MODE": "0", "CHAPTER5_RECOMPUTE": "1",
               "CHAPTER5_WRITE_RECORDS": "0" if quick else "1"}
        # a recorded experiment may take long in full mode (make results: up to about an hour)
        wall = execute(nb, path.parent, quick=quick, timeout=timeout or (1800 if quick else 7200), env=env,
                       stats=stats)
        rows = json.loads(sink.read_text()) if sink.exists() else []
    if save and not quick:
        from .notebook_meta import slide_metadata

        slide_metadata(nb)  # plumbing cells off the slides and folded, whatever the run changed
        nbformat.write(nb, path)
    return {"notebook": path.name, "wall_s": round(wall, 1), "metrics": rows, "backbone": backbone_used(nb),
            "date": _dt.date.today().isoformat(), "cpu": cpu_name(), "cores": os.cpu_count(),
            "speed_index_ms": speed_index_ms(), "peak_rss_gb": stats.get("peak_rss_gb"),
            "mode": "quick" if quick else "full"}


def _stored_backbone(name: str) -> str | None:
    """For records made before the runner noted the backbone: read it from the notebook's stored
    outputs, which come from that same run."""
    import nbformat

    path = REPO_ROOT / "notebooks" / name
    return backbone_used(nbformat.read(path, as_version=4)) if path.is_file() else None


def render(records: dict) -> str:
    lines = [
        "# 측정 결과 (Results)",
        "",
        "이 파일은 `python -m chapter5 results` 가 노트북을 **full 모드**로 처음부터 끝까지 실행해서 만든 것입니다.",
        "손으로 고친 숫자는 없습니다. 같은 명령으로 누구나 다시 만들 수 있습니다.",
        "",
        "Generated by `python -m chapter5 results` (full mode, top-to-bottom run). Re-run it to reproduce.",
        "",
    ]
    for name in sorted(records):
        r = records[name]
        backbone = r.get("backbone") or _stored_backbone(name)
        lines += [f"## {name}", "",
                  f"- date: {r['date']} · machine: {r['cpu']} ({r['cores']} cores, CPU only) · mode: {r['mode']}",
                  f"- whole notebook wall time: {r['wall_s']:.0f} s ({r['wall_s'] / 60:.1f} min)"
                  + (f" · machine speed index {r['speed_index_ms']:.0f} ms (lower is faster)" if r.get("speed_index_ms") else "")]
        if r.get("peak_rss_gb"):
            lines.append(f"- kernel peak memory (VmHWM): {r['peak_rss_gb']:.2f} GB")
        if backbone:
            lines.append(f"- pretrained backbone of these numbers (사전 학습 모델): **{backbone}**")
        lines += ["",
                  "| figure | measured | textbook | target |", "|---|---|---|---|"]
        for m in r["metrics"]:
            fmt, unit = m.get("fmt", "{:.2f}"), m.get("unit", "")
            val = fmt.format(m["value"]) + (f" {unit}" if unit else "")
            tb = "" if m.get("textbook") is None else fmt.format(m["textbook"]) + (f" {unit}" if unit else "")
            lines.append(f"| {m['key']} | {val} | {tb} | {m.get('target') or ''} |")
        lines.append("")
    return "\n".join(lines)


def use_shared_data() -> None:
    """The offline copy ``../shared/data`` as data root when CHAPTER5_DATA is unset and it exists
    (course machines, CI), with trained models in build/artifacts (never in the read-only copy)."""
    shared = REPO_ROOT.parent / "shared" / "data"
    if "CHAPTER5_DATA" not in os.environ and shared.is_dir():
        os.environ["CHAPTER5_DATA"] = str(shared)
        os.environ.setdefault("CHAPTER5_ARTIFACTS", str(REPO_ROOT / "build" / "artifacts"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chapter5 results")
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--no-save", action="store_true", help="do not write outputs back into the notebooks")
    args = parser.parse_args(argv)
    use_shared_data()
    paths = args.notebooks or sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    records = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    DOCS.mkdir(exist_ok=True)
    for p in paths:
        print(f"running {p.name} in full mode ...", flush=True)
        rec = run_notebook(p, quick=False, save=not args.no_save)
        records = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
        records[rec["notebook"]] = rec
        RESULTS_JSON.write_text(json.dumps(records, ensure_ascii=False, indent=1) + "\n")
        RESULTS_MD.write_text(render(records) + "\n")
        print(f"  {rec['wall_s']:.0f} s, {len(rec['metrics'])} figures", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
