"""Test-session defaults (pytest reads this before any notebook kernel starts).

* quick mode unless CHAPTER5_QUICK is already set;
* the offline course data in ../shared/data when CHAPTER5_DATA is unset and that
  folder exists (developer machines and CI); otherwise the normal data root,
  which downloads on first use;
* trained models go to build/test-artifacts/models, never into the (read-only) data copy nor
  next to the full-mode models of `python -m chapter5 results` (build/artifacts);
* exercise progress goes to a throw-away folder, never into the developer's own progress file.
"""
import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as chapter5/__init__.py, before any test imports torch
os.environ.setdefault("CHAPTER5_QUICK", "1")
_shared = ROOT.parent / "shared" / "data"
if "CHAPTER5_DATA" not in os.environ and _shared.is_dir():
    os.environ["CHAPTER5_DATA"] = str(_shared)
# quick-mode models of the tests stay apart from build/artifacts, where `python -m chapter5 results`
# keeps the full-mode ones (notebook 05 explains the classifier that notebook 03 saved there)
os.environ.setdefault("CHAPTER5_ARTIFACTS", str(ROOT / "build" / "test-artifacts" / "models"))
os.environ.setdefault("CHAPTER5_PROGRESS", str(Path(tempfile.mkdtemp(prefix="chapter5-progress-")) / "progress.json"))
os.environ.setdefault("CHAPTER5_DOWNLOAD_BACKOFF", "0.01")  # retries are tested, not waited for
