"""What a notebook imports: teaching helpers only, no course tooling, and quickly."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = r"""
import json, pkgutil, sys, time
t0 = time.perf_counter()
import torch
t1 = time.perf_counter()
import chapter5, chapter5.exercises
names = [m.name for m in pkgutil.iter_modules(chapter5.__path__) if m.name not in ("tools", "__main__")]
names += ["exercises." + m.name for m in pkgutil.iter_modules(chapter5.exercises.__path__)]
import importlib
for n in names:
    importlib.import_module("chapter5." + n)
t2 = time.perf_counter()
heavy = sorted(m for m in sys.modules
               if m.split(".")[0] in ("nbconvert", "nbformat", "nbclient", "playwright")
               or m.startswith("chapter5.tools"))
print(json.dumps({"torch": t1 - t0, "chapter5": t2 - t1, "heavy": heavy, "modules": names}))
"""


def _probe():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_teaching_modules_load_no_course_tooling_and_fast():
    r = _probe()
    assert "train" in r["modules"] and "exercises.core" in r["modules"]
    assert r["heavy"] == [], f"a teaching module imports course tooling: {r['heavy']}"
    # measured here: torch 2.5-3.8 s, every teaching module after it 0.9-1.3 s (ratio ~0.35)
    assert r["chapter5"] < 1.0 * r["torch"], r


def test_cli_lazy_imports_tooling_only_for_its_command():
    code = ("import sys, chapter5.__main__ as m; m._parser(); "
            "print(any(k.startswith('chapter5.tools') or k.startswith('nbconvert') for k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.stdout.strip() == "False", out.stderr
