"""Test-session defaults (pytest reads this before any notebook kernel starts).

* quick mode unless CHAPTER5_QUICK is already set;
* the offline course data in ../shared/data when CHAPTER5_DATA is unset and that
  folder exists (developer machines and CI); otherwise the normal data root,
  which downloads on first use;
* trained models go to build/test-artifacts/models (one folder per pytest-xdist worker, so that
  parallel workers never share a file), never into the (read-only) data copy nor next to the
  full-mode models of `python -m chapter5 results` (build/artifacts);
* exercise progress goes to a throw-away folder, never into the developer's own progress file.
"""
import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as chapter5/__init__.py, before any test imports torch
os.environ.setdefault("CHAPTER5_QUICK", "1")
_shared = ROOT.parent / "shared" / "data"
if "CHAPTER5_DATA" not in os.environ and _shared.is_dir():
    os.environ["CHAPTER5_DATA"] = str(_shared)
# quick-mode models of the tests stay apart from build/artifacts, where `python -m chapter5 results`
# keeps the full-mode ones (notebook 05 explains the classifier that notebook 03 saved there)
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1" under `pytest -n 2`
if _worker:  # two workers on two cores: one thread each (and for the kernels they start), not 2 x 2
    os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("CHAPTER5_ARTIFACTS", str(ROOT / "build" / "test-artifacts" / "models" / _worker))
os.environ.setdefault("CHAPTER5_PROGRESS", str(Path(tempfile.mkdtemp(prefix="chapter5-progress-")) / "progress.json"))
os.environ.setdefault("CHAPTER5_DOWNLOAD_BACKOFF", "0.01")  # retries are tested, not waited for


# `make test` runs pytest with `-n 2 --dist loadgroup` (pytest-xdist): tests that must run in order
# in one process share a group. The notebooks under nbval run 01 -> 06 in one worker (05 explains
# the classifier that 03 saved). The browser tests (two groups, one JupyterLab server for the run:
# tests/browser/) and the Colab bundle runs (two groups: tests/test_colab.py) choose their own.
_GROUPS = (("notebooks/", "notebooks"),)


# Longest groups first (measured with CHAPTER5_TEST_TIMELINE, below), so that no long group starts
# last on one worker while the other has nothing left to do; the rest follow in collection order.
_LONGEST_FIRST = ("browser-1", "browser-0", "notebooks", "colab-1", "colab-0", "tests/test_slides.py",
                  "tests/test_fair_comparison_02.py", "tests/test_bench.py", "tests/test_features.py")


def pytest_configure(config):
    if hasattr(config.option, "loadscopereorder"):  # pytest-xdist: keep our order, not "most tests first"
        config.option.loadscopereorder = False


def _group(item) -> str:
    marker = item.get_closest_marker("xdist_group")
    return (marker.args[0] if marker.args else marker.kwargs.get("name", "")) if marker else ""


def pytest_collection_modifyitems(items):
    rank = {g: i for i, g in enumerate(_LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(_group(item), len(rank)))  # stable: nbval keeps 01 -> 06


def pytest_itemcollected(item):  # marked while collecting: before xdist reads the groups
    path = Path(str(item.fspath)).resolve()
    rel = path.relative_to(ROOT).as_posix() if ROOT in path.parents else ""
    if any(item.iter_markers("xdist_group")):
        return  # the test file chose (the Colab bundle runs, the two browser halves)
    group = next((g for prefix, g in _GROUPS if rel.startswith(prefix)), None)
    # otherwise one file per group: its module fixtures run once, not once per worker
    item.add_marker(pytest.mark.xdist_group(group or rel))


_TIMELINE = os.environ.get("CHAPTER5_TEST_TIMELINE")  # a folder: when each test started, per worker


def pytest_runtest_logstart(nodeid, location):
    if _TIMELINE:
        import time

        with open(Path(_TIMELINE) / f"{_worker or 'main'}.tsv", "a", encoding="utf-8") as f:
            f.write(f"{time.time():.1f}\t{nodeid}\n")
