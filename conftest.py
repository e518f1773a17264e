"""Test-session defaults (pytest reads this before any notebook kernel starts).

* quick mode unless CHAPTER5_QUICK is already set;
* the offline course data in ../shared/data when CHAPTER5_DATA is unset and that
  folder exists (developer machines and CI); otherwise the normal data root,
  which downloads on first use;
* trained models go to build/artifacts, never into the (read-only) data copy.
"""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent
os.environ.setdefault("CHAPTER5_QUICK", "1")
_shared = ROOT.parent / "shared" / "data"
if "CHAPTER5_DATA" not in os.environ and _shared.is_dir():
    os.environ["CHAPTER5_DATA"] = str(_shared)
os.environ.setdefault("CHAPTER5_ARTIFACTS", str(ROOT / "build" / "artifacts"))
