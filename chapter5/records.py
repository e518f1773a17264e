"""Recorded experiments and the course's four modes.

An *experiment* cell (a seed spread, a baseline, the textbook's own recipe, an ablation, a
table) measures something once, with the power its sentence needs, in ``make results``; the
result is committed as one JSON file in ``notebooks/records/`` and every learner sees it at once::

    LADDER = records.experiment("02-ablation", ablation_ladder,
                                code=(ablation, recipe), settings={"seeds": SEEDS})

The four modes, each one switch (``mode()``; the first cell of every notebook names it):

* **default** — experiments show their record (one line: "📋 기록된 측정 …"); what the learner
  learns by watching (``core=True`` and named ``train.fit`` runs) runs live.
* **recompute** (``CHAPTER5_RECOMPUTE=1`` / ``config.setup(recompute=True)``) — everything live;
  ``python -m chapter5 results`` runs the notebooks so and writes the records
  (``CHAPTER5_WRITE_RECORDS=1``).
* **class** (``CHAPTER5_CLASS_MODE=1`` / ``config.setup(class_mode=True)``) — records for
  everything, the core trainings' curves and whatever later cells need included, so a fresh
  clone or a Colab upload computes nothing.
* **quick** (``CHAPTER5_QUICK=1``, the tests) — tiny subsets, live; never reads or writes records.

A record holds the value (JSON only: numbers, strings, lists, dicts; tensors and arrays as
plain lists with their dtype — nothing executable, no pickle), the fingerprint of what produced
it and its provenance (date, machine, speed index, torch version, compute seconds). The
fingerprint hashes the calling cell's source, the source of the functions named in ``code``,
``settings`` and the data manifest — never library internals, so a record made with another
torch release still loads. A record that does not match says so in one Korean line and the
cell computes live.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import inspect
import json
import math
import os
import platform
import re
import textwrap
import time
from pathlib import Path

from .config import REPO_ROOT, class_mode, is_quick

_TRUE = {"1", "true", "yes", "on"}
FORMAT = 1  # bump when the file layout changes (older files are then refused as stale)

# How a cell says it found no usable record and computes instead (the benchmark counts these).
NOW_RUNNING = "지금 계산합니다"


# --------------------------------------------------------------------------- modes

def recompute() -> bool:
    """True when every cell should compute live (``CHAPTER5_RECOMPUTE=1``)."""
    return os.environ.get("CHAPTER5_RECOMPUTE", "").strip().lower() in _TRUE


_INSIDE = [0]  # experiments being computed: a run inside one is part of its record, not one of its own


def writing() -> bool:
    """True when computed results are written as records (``python -m chapter5 results``), except
    for the runs inside an experiment being computed (that experiment's record holds them)."""
    return (os.environ.get("CHAPTER5_WRITE_RECORDS", "").strip().lower() in _TRUE and not is_quick()
            and not _INSIDE[0])


def mode() -> str:
    """``"quick"``, ``"recompute"``, ``"class"`` or ``"default"`` (the first that applies)."""
    if is_quick():
        return "quick"
    if recompute():
        return "recompute"
    if class_mode():
        return "class"
    return "default"


MODE_WORDS = {
    "default": "기본 (default): 실험은 기록을 보여 주고, 지켜보며 배울 학습만 지금 합니다",
    "recompute": "다시 재기 (recompute): 모든 셀을 지금 계산합니다",
    "class": "수업 (class): 모든 결과를 기록에서 불러옵니다 (학습 없음)",
    "quick": "빠른 점검 (quick): 작은 데이터로 지금 계산하고 기록은 읽지도 쓰지도 않습니다",
}


def records_dir() -> Path:
    """``notebooks/records`` of the repository (``CHAPTER5_RECORDS`` overrides: Colab bundles)."""
    env = os.environ.get("CHAPTER5_RECORDS")
    return Path(env).expanduser() if env else REPO_ROOT / "notebooks" / "records"


def path_of(name: str) -> Path:
    slug = re.sub(r"[^0-9A-Za-z가-힣_.-]+", "_", name).strip("_") or "record"
    return records_dir() / f"{slug}.json"


# --------------------------------------------------------------------------- fingerprints

def _norm(text: str) -> str:
    """Source text compared by content: no trailing spaces, no blank edges, common indent removed."""
    lines = [line.rstrip() for line in textwrap.dedent(text).strip("\n").splitlines()]
    return "\n".join(lines).strip("\n")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def source_of(fn) -> str:
    """The source of a function; for a class the sources of its methods (the same wherever the
    class is defined: ``inspect`` cannot find a class defined in a notebook cell)."""
    if inspect.isclass(fn):
        methods = [v for _, v in sorted(vars(fn).items()) if inspect.isfunction(v)]
        return fn.__qualname__ + "\n" + "\n".join(source_of(m) for m in methods)
    try:
        return _norm(inspect.getsource(fn))
    except (OSError, TypeError):
        return getattr(fn, "__qualname__", repr(fn))


def code_name(fn) -> str:
    """``module.qualname`` for course functions, ``qualname`` for notebook-defined ones."""
    mod = getattr(fn, "__module__", "") or ""
    qual = getattr(fn, "__qualname__", getattr(fn, "__name__", repr(fn)))
    return f"{mod}.{qual}" if mod.startswith("chapter5") else qual


def current_cell() -> str:
    """The source of the notebook cell being run (IPython's ``In[-1]``); "" outside IPython."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        history = shell.user_ns.get("In") if shell is not None else None
        return _norm(history[-1]) if history else ""
    except Exception:  # noqa: BLE001 - no IPython, or an unusual shell
        return ""


def manifest_digest() -> str:
    """The data manifest (every course file's size and hash): a record is of this data."""
    path = Path(__file__).resolve().parent / "manifest.tsv"
    return _digest(path.read_text(encoding="utf-8")) if path.is_file() else "-"


def _plain_settings(settings):
    return json.loads(json.dumps(encode(settings), sort_keys=True, ensure_ascii=False, default=repr))


def inputs(code=(), settings=None, cell: str | None = None) -> dict:
    """What a record is of: digests of the cell and of each function in ``code``, the settings,
    the data manifest and the mode (full, since quick mode never records)."""
    cell = current_cell() if cell is None else _norm(cell)
    return {"cell": _digest(cell), "code": {code_name(f): _digest(source_of(f)) for f in code},
            "settings": _plain_settings(settings), "data": manifest_digest(), "format": FORMAT}


def fingerprint_of(inp: dict) -> str:
    return _digest(json.dumps(inp, sort_keys=True, ensure_ascii=False))


def differences(saved: dict, now: dict) -> list[str]:
    """What changed between a record's inputs and now, in Korean words."""
    out = []
    if saved.get("format") != now.get("format"):
        out.append("기록 형식")
    if saved.get("cell") != now.get("cell"):
        out.append("이 셀의 코드")
    a, b = saved.get("code", {}), now.get("code", {})
    changed = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    if changed:
        out.append("함수 " + ", ".join(changed))
    if saved.get("settings") != now.get("settings"):
        out.append("설정 (settings)")
    if saved.get("data") != now.get("data"):
        out.append("데이터 목록 (manifest)")
    return out


# --------------------------------------------------------------------------- JSON values

def encode(value):
    """``value`` as plain JSON data: tensors and arrays as ``{"__array__": [...], "dtype", "shape",
    "kind"}``, tuples as ``{"__tuple__": [...]}``, dicts with non-string keys as ``{"__items__":
    [[k, v], ...]}``, NaN/inf as strings. Nothing executable."""
    import numpy as np

    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        torch = None
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: encode(v) for k, v in value.items()}
        return {"__items__": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if torch is not None and isinstance(value, torch.Tensor):
        t = value.detach().cpu()
        kind, arr = "torch", (t.float() if t.dtype == torch.bfloat16 else t).numpy()
        return {"__array__": encode(arr.tolist()), "dtype": str(arr.dtype), "shape": list(arr.shape), "kind": kind}
    if isinstance(value, np.ndarray):
        return {"__array__": encode(value.tolist()), "dtype": str(value.dtype), "shape": list(value.shape),
                "kind": "numpy"}
    if isinstance(value, np.generic):
        return encode(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    if hasattr(value, "as_dict") and type(value).__name__ == "History":
        return {"__history__": value.as_dict()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"a record holds numbers, strings, lists, dicts, tensors and arrays, not {type(value).__name__}")


def decode(value):
    """The inverse of :func:`encode`."""
    import numpy as np

    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__array__" in value:
        arr = np.array(decode(value["__array__"]), dtype=value["dtype"]).reshape(value["shape"])
        if value.get("kind") == "torch":
            import torch

            return torch.from_numpy(arr)
        return arr
    if "__tuple__" in value:
        return tuple(decode(v) for v in value["__tuple__"])
    if "__items__" in value:
        return {_key(decode(k)): decode(v) for k, v in value["__items__"]}
    if "__float__" in value:
        return float(value["__float__"])
    if "__history__" in value:
        from .train import History

        return History(**{k: list(v) if isinstance(v, list) else v for k, v in value["__history__"].items()},
                       loaded=True)
    return {k: decode(v) for k, v in value.items()}


def _key(k):
    return tuple(_key(x) for x in k) if isinstance(k, (list, tuple)) else k


# --------------------------------------------------------------------------- the machine

def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def measure_speed_index_ms(repeats: int = 3) -> float:
    """How fast this machine is right now: the best of ``repeats`` timings of 20 products of two
    1024×1024 fp32 matrices on the course's threads (ms; lower is faster). Machines of one CPU
    model differ with their load, so absolute times are read beside this figure."""
    import torch

    from .train import use_physical_cores

    use_physical_cores()
    a = torch.randn(1024, 1024, generator=torch.Generator().manual_seed(0))
    a @ a
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(20):
            a @ a
        best = min(best, time.perf_counter() - start)
    return round(1000 * best, 1)


_SPEED: list = []


def speed_index_ms() -> float:
    """This machine's speed index (ms, lower is faster), measured once per kernel."""
    if not _SPEED:
        _SPEED.append(measure_speed_index_ms(repeats=2))
    return _SPEED[0]


def machine() -> dict:
    import torch

    return {"cpu": cpu_name(), "cores": os.cpu_count(), "speed_index_ms": speed_index_ms(),
            "torch": torch.__version__, "python": platform.python_version()}


def short_cpu(cpu: str) -> str:
    for word in ("Xeon", "EPYC", "Ryzen", "Core", "Apple"):
        if word in cpu:
            vendor = {"Xeon": "Intel", "Core": "Intel", "EPYC": "AMD", "Ryzen": "AMD"}.get(word, "")
            return f"{vendor} {word}".strip()
    return cpu[:24]


def _fmt_minutes(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, round(seconds))}초"
    return f"{seconds / 60:.0f}분" if seconds >= 600 else f"{seconds / 60:.1f}분"


# --------------------------------------------------------------------------- read / write

def read(name: str) -> dict | None:
    """The record file ``name`` as a dict, or None when it is missing or unreadable."""
    path = path_of(name)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write(name: str, value, inp: dict, seconds: float, *, note: str = "") -> Path:
    """Write the record of ``name`` (atomically: a reader never sees half a file)."""
    path = path_of(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"name": name, "fingerprint": fingerprint_of(inp), "inputs": inp,
           "made": {"date": _dt.date.today().isoformat(), **machine(), "seconds": round(seconds, 1),
                    **({"note": note} if note else {})},
           "value": encode(value)}
    tmp = path.with_name(f"{path.name}.{os.getpid()}.part")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=False) + "\n",
                   encoding="utf-8")
    os.replace(tmp, path)
    return path


def recorded_line(doc: dict, settings=None) -> str:
    """``📋 기록된 측정 (날짜 · 기계 · 시드 · 계산 N분)`` and how to recompute, for a loaded record."""
    made = doc.get("made", {})
    parts = [made.get("date", "?"), f"{short_cpu(made.get('cpu', ''))} {made.get('cores', '?')}코어"]
    seeds = (settings or {}).get("seeds") if isinstance(settings, dict) else None
    if seeds is not None:
        parts.append(f"{seeds if isinstance(seeds, int) else len(seeds)} 시드")
    seconds = float(made.get("seconds", 0))
    parts.append(f"계산 {_fmt_minutes(seconds)}")
    here = ""
    if made.get("speed_index_ms") and seconds >= 5:
        here = f" (이 컴퓨터에서 약 {_fmt_minutes(seconds * speed_index_ms() / made['speed_index_ms'])})"
    # two short lines: a slide (1280×720) shows each whole
    return f"📋 기록된 측정 ({' · '.join(parts)})\n   직접 재려면 config.setup(recompute=True){here}"


def load(name: str, inp: dict) -> tuple[object | None, str]:
    """``(value, line)`` for a current record, else ``(None, why)`` — one Korean line each."""
    doc = read(name)
    file = path_of(name).name
    if doc is None:
        exists = path_of(name).is_file()
        return None, (f"기록 파일이 손상되었습니다 ({file}) → {NOW_RUNNING}." if exists
                      else f"이 실험의 기록이 없습니다 ({file}) → {NOW_RUNNING}.")
    if doc.get("fingerprint") != fingerprint_of(inp) or "value" not in doc:
        what = ", ".join(differences(doc.get("inputs", {}), inp)) or "내용"
        return None, (f"기록이 지금 코드와 맞지 않습니다 ({file}: 바뀐 것 — {what}) → {NOW_RUNNING}. "
                      "(교사용: make results 가 기록을 새로 만듭니다)")
    return decode(doc["value"]), recorded_line(doc, inp.get("settings"))


# --------------------------------------------------------------------------- estimates

ESTIMATE_FROM_S = 20.0  # cells shorter than this get the progress bar only
_PLAN = {"runs": None, "said": False}  # the experiment being computed: how many trainings, estimate said?


def _fmt_time(s: float) -> str:
    s = max(1, round(s))
    return f"{s // 60}분 {s % 60}초" if s >= 60 else f"{s}초"


def estimate_line(run_seconds: float, how: str) -> str:
    """The estimate a training prints after its first batches, for the whole cell: inside an
    experiment of ``runs`` trainings the first one speaks for all of them (once); a lone run
    speaks for itself; nothing under :data:`ESTIMATE_FROM_S` seconds."""
    if _INSIDE[0]:
        runs = _PLAN["runs"]
        if _PLAN["said"] or not runs:
            return ""
        _PLAN["said"] = True
        total = run_seconds * runs
        how = f"학습 {runs}번 × 한 번에 약 {_fmt_time(run_seconds)}; {how}"
    else:
        total = run_seconds
    if total < ESTIMATE_FROM_S:
        return ""
    return f"⏱ 이 셀은 이 컴퓨터에서 약 {_fmt_time(total)} 걸립니다 ({how})"


def _recorded_estimate(name: str) -> str:
    """Before computing an experiment that has a record (even a stale one): its recorded compute
    time scaled by the two machines' speed indexes — the estimate of the whole cell."""
    made = (read(name) or {}).get("made", {})
    if not made.get("seconds") or not made.get("speed_index_ms"):
        return ""
    seconds = float(made["seconds"]) * speed_index_ms() / float(made["speed_index_ms"])
    if seconds < ESTIMATE_FROM_S:
        return ""
    return f"⏱ 이 셀은 이 컴퓨터에서 약 {_fmt_time(seconds)} 걸립니다 (기록된 계산 시간을 이 컴퓨터의 속도로 환산)"


def _computed(compute, runs, said: str):
    """``compute()`` as an experiment's computation: runs inside belong to it, and its estimate
    (``said`` from a record, else from the first of ``runs`` trainings) covers the whole cell."""
    if said:
        print(said)
    outer = dict(_PLAN)
    _PLAN.update(runs=runs, said=bool(said))
    _INSIDE[0] += 1
    try:
        return compute()
    finally:
        _INSIDE[0] -= 1
        _PLAN.update(outer)


def experiment(name: str, compute, *, code=(), settings=None, core: bool = False, cell: str | None = None,
               runs: int | None = None):
    """The result of ``compute()``: from its record where the mode says so, else computed live.

    ``code`` names the functions that define the experiment (their source is fingerprinted with
    the calling cell's), ``settings`` its scale (seeds, epochs, sizes: JSON-able). ``core=True``
    marks what the learner learns by watching (or what depends on a live training): it runs live
    in the default mode and is loaded only in class mode. ``runs``: how many trainings the
    computation makes, so that the first one's estimate covers the whole cell (where a record
    exists, its compute time scaled to this machine is said first instead).
    """
    current = mode()
    if current == "quick":
        return _computed(compute, runs, "")
    inp = inputs(code, settings, cell)
    if current == "class" or (current == "default" and not core):
        value, line = load(name, inp)
        print(line)
        if value is not None:
            return value
    start = time.perf_counter()
    value = _computed(compute, runs, _recorded_estimate(name))
    if writing():
        write(name, value, inp, time.perf_counter() - start)
    return value


# --------------------------------------------------------------------------- are the records current?

def _defs(tree) -> dict:
    """Top-level ``def``/``class`` nodes of one cell by name, classes with their methods."""
    import ast

    out = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out[node.name] = node
    return out


def _segment(cell_src: str, node) -> str:
    """The lines of ``node`` (decorators included), as ``inspect.getsource`` gives them."""
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return _norm("\n".join(cell_src.splitlines()[first - 1:node.end_lineno]))


def _static_source(cell_src: str, node, qualname: str) -> str:
    """What :func:`source_of` returns at run time for ``node`` defined in a notebook cell."""
    import ast

    if isinstance(node, ast.ClassDef):
        def plain(n):  # what stays a function in the class's namespace (not a property or staticmethod)
            names = {ast.unparse(d).split("(")[0].split(".")[-1] for d in n.decorator_list}
            return not names & {"property", "staticmethod", "classmethod", "setter", "getter", "deleter",
                                "cached_property"}

        methods = sorted((n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                          and plain(n)), key=lambda n: n.name)
        return qualname + "\n" + "\n".join(_segment(cell_src, m) for m in methods)
    return _segment(cell_src, node)


def _notebook_source(cells: list[str], upto: int, qualname: str) -> str | None:
    """The source of notebook-defined ``qualname`` (``f``, ``C`` or ``C.m``) as last defined
    in ``cells[:upto]``; None when it is not there."""
    import ast

    head, _, member = qualname.partition(".")
    found = None
    for src in cells[:upto]:
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        node = _defs(tree).get(head)
        if node is None:
            continue
        if member:
            sub = {n.name: n for n in getattr(node, "body", []) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
            if member in sub:
                found = _static_source(src, sub[member], qualname)
        else:
            found = _static_source(src, node, qualname)
    return found


def _course_source(name: str) -> str | None:
    import importlib

    parts = name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return source_of(obj)
    return None


def _code_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in cells if c["cell_type"] == "code"]


def stale(notebooks=None, folder: Path | None = None) -> dict:
    """``{record file: [what no longer matches, …]}`` for every committed record that the current
    notebooks and course code would no longer produce (empty when all are current).

    Checked without running anything: the calling cell (found by its digest in the notebooks),
    the source of every function in the record's ``code`` (course functions imported, notebook
    functions read from the cells above the calling cell), the data manifest and the format.
    Settings are values computed in the notebook; they are checked when a cell runs.
    """
    folder = Path(folder) if folder else records_dir()
    notebooks = sorted(notebooks) if notebooks is not None else sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    books = {Path(p).name: _code_cells(Path(p)) for p in notebooks}
    where = {_digest(_norm(src)): (name, i) for name, cells in books.items() for i, src in enumerate(cells)}
    out = {}
    for path in sorted(folder.glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            inp = doc["inputs"]
        except (OSError, ValueError, KeyError, TypeError):
            out[path.name] = ["읽을 수 없는 기록 파일"]
            continue
        problems = []
        if inp.get("format") != FORMAT or doc.get("fingerprint") != fingerprint_of(inp):
            problems.append("기록 형식 또는 지문 (fingerprint)")
        if inp.get("data") != manifest_digest():
            problems.append("데이터 목록 (manifest)")
        hit = where.get(inp.get("cell"))
        if hit is None:
            problems.append("이 기록을 만든 셀의 코드 (어느 노트북에도 같은 셀이 없습니다)")
        for name, digest in sorted(inp.get("code", {}).items()):
            if name.startswith("chapter5."):
                src = _course_source(name)
            elif hit is not None:
                src = _notebook_source(books[hit[0]], hit[1] + 1, name)
            else:
                src = None
            if src is None or _digest(src) != digest:
                problems.append(f"함수 {name}")
        if problems:
            out[path.name] = problems
    return out


def total_bytes(folder: Path | None = None) -> int:
    folder = Path(folder) if folder else records_dir()
    return sum(p.stat().st_size for p in folder.glob("*.json")) if folder.is_dir() else 0


def live(compute, *, instead=None, what: str = "이 계산"):
    """``compute()`` — except in class mode, which computes nothing: there it returns ``instead``
    and says so in one line. For work whose result is too large to record (cached features of
    every photo) and that only the live cells after it need; in class mode those cells show
    records (``core=True`` experiments) instead."""
    if mode() == "class":
        print(f"📋 수업 모드: {what}은(는) 건너뜁니다 — 아래 셀들은 기록된 결과를 보여 줍니다.")
        return instead
    return compute()


def records_of(notebook, folder: Path | None = None) -> list[Path]:
    """The record files made by cells of ``notebook`` (matched by the calling cell's digest):
    what a Colab bundle of that notebook carries."""
    folder = Path(folder) if folder else records_dir()
    digests = {_digest(_norm(src)) for src in _code_cells(Path(notebook))}
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            cell = json.loads(path.read_text(encoding="utf-8"))["inputs"]["cell"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if cell in digests:
            out.append(path)
    return out


# --------------------------------------------------------------------------- what class mode needs

def _top_level_calls(src: str):
    """Calls in a cell's own statements (not inside a def, class or lambda): what runs when it runs."""
    import ast

    try:
        tree = ast.parse(src)
    except SyntaxError:
        return

    def walk(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue
            if isinstance(child, ast.Call):
                yield child
            yield from walk(child)

    yield from walk(tree)


def needed_by_cell(src: str) -> set:
    """Record files a cell needs in class mode: its experiments and its named top-level trainings."""
    import ast

    names = set()
    for call in _top_level_calls(src):
        func = ast.unparse(call.func)
        if func.endswith("records.experiment") and call.args and isinstance(call.args[0], ast.Constant):
            names.add(path_of(call.args[0].value).name)
        if func.endswith("train.fit"):
            desc = next((k.value for k in call.keywords if k.arg == "desc"), None)
            if isinstance(desc, ast.Constant):
                names.add(path_of(f"fit-{desc.value}").name)
    return names


def class_mode_gaps(notebooks=None, folder: Path | None = None) -> dict:
    """``{notebook: [record files missing or stale]}``: what would compute in class mode (empty when
    every notebook shows only records)."""
    folder = Path(folder) if folder else records_dir()
    notebooks = sorted(notebooks) if notebooks is not None else sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    have = {p.name for p in folder.glob("*.json")} if folder.is_dir() else set()
    bad = set(stale(notebooks, folder))
    out = {}
    for nb in notebooks:
        need = set().union(*(needed_by_cell(src) for src in _code_cells(Path(nb))))
        gaps = sorted((need - have) | (need & bad))
        if gaps:
            out[Path(nb).name] = gaps
    return out
