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
os.environ.setdefault("CHAPTER5_ARTIFACTS", str(ROOT / "build" / "test-artifacts" / "models" / _worker))
os.environ.setdefault("CHAPTER5_PROGRESS", str(Path(tempfile.mkdtemp(prefix="chapter5-progress-")) / "progress.json"))
os.environ.setdefault("CHAPTER5_DOWNLOAD_BACKOFF", "0.01")  # retries are tested, not waited for


# `make test` runs pytest with `-n 2 --dist loadgroup` (pytest-xdist): tests that must run in order
# in one process share a group. The notebooks under nbval run 01 -> 06 in one worker (05 explains
# the classifier that 03 saved); the browser tests share one JupyterLab server. (The Colab bundle
# runs are split into two groups in tests/test_colab.py.)
_GROUPS = (("tests/browser/", "browser"), ("notebooks/", "notebooks"))


def pytest_itemcollected(item):  # marked while collecting: before xdist reads the groups
    path = Path(str(item.fspath)).resolve()
    rel = path.relative_to(ROOT).as_posix() if ROOT in path.parents else ""
    group = next((g for prefix, g in _GROUPS if rel.startswith(prefix)), None)
    if group is None and not any(item.iter_markers("xdist_group")):
        group = rel  # otherwise one file per group: its module fixtures run once, not once per worker
    if group:
        item.add_marker(pytest.mark.xdist_group(group))
