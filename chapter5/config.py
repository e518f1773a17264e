"""Course-wide settings: data root, quick mode, device, seeds.

Everything a notebook needs to know about *where* and *how big* comes from here,
so that the same notebook runs as a 1-minute smoke test (``CHAPTER5_QUICK=1``)
and as the full lesson that students run.
"""
from __future__ import annotations

import os
import platform
import random
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}


def data_root() -> Path:
    """The folder that holds every dataset and weight file of the course.

    ``CHAPTER5_DATA`` wins; otherwise ``data/`` next to the ``chapter5`` package
    (git-ignored in the repository).
    """
    env = os.environ.get("CHAPTER5_DATA")
    if env:
        return Path(env).expanduser().resolve()
    return REPO_ROOT / "data"


def artifacts_dir() -> Path:
    """Where notebooks save trained models (``<data root>/artifacts``).

    ``CHAPTER5_ARTIFACTS`` overrides it, which lets tests and CI write elsewhere
    when the data root is read-only.
    """
    env = os.environ.get("CHAPTER5_ARTIFACTS")
    if env:
        path = Path(env).expanduser()
    else:
        root = data_root()
        # a read-only data copy (no write bits, like the course machines' shared data) is never
        # written into, even by root, who may write anywhere
        writable = (os.access(root, os.W_OK) and bool(root.stat().st_mode & 0o200)) if root.exists() else True
        path = root / "artifacts" if writable else REPO_ROOT / "build" / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def is_quick() -> bool:
    """True when ``CHAPTER5_QUICK`` asks for the small, fast version of every notebook."""
    return os.environ.get("CHAPTER5_QUICK", "").strip().lower() in _TRUE


def pick(quick, full):
    """Return ``quick`` in quick mode and ``full`` otherwise (epochs, subset sizes, ...)."""
    return quick if is_quick() else full


def device():
    """CUDA when available, else Apple's MPS, else the CPU."""
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch so that a rerun gives the same numbers."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def in_colab() -> bool:
    return "google.colab" in sys.modules


def class_mode() -> bool:
    """True when every result should come from its record, trainings included
    (``CHAPTER5_CLASS_MODE=1`` or ``setup(class_mode=True)``; see :mod:`chapter5.records`)."""
    return os.environ.get("CHAPTER5_CLASS_MODE", "").strip().lower() in _TRUE


def projector_mode() -> bool:
    """True when ``CHAPTER5_PROJECTOR`` asks for figures sized for a projector."""
    return os.environ.get("CHAPTER5_PROJECTOR", "").strip().lower() in _TRUE


def contrast_style() -> bool:
    """True when ``CHAPTER5_STYLE=contrast`` asks for the high-contrast figure style."""
    return os.environ.get("CHAPTER5_STYLE", "").strip().lower() in {"contrast", "high-contrast", "dark"}


def setup(seed: int = 0, verbose: bool = True, *, projector: bool | None = None,
          contrast: bool | None = None, class_mode: bool | None = None,
          recompute: bool | None = None) -> dict:
    """One call at the top of every notebook.

    Seeds everything, switches matplotlib to a Korean-capable font and the course's readable
    figure style (``projector`` / ``contrast``, default from CHAPTER5_PROJECTOR / CHAPTER5_STYLE),
    shows photo figures as JPEG (see ``viz.as_photo``) and prints
    the mode (default / recompute / class / quick: :mod:`chapter5.records`), the data root and
    the versions that matter. ``class_mode=True`` / ``recompute=True`` switch the mode for this kernel.
    """
    import torch
    import torchvision

    from . import viz

    seed_everything(seed)
    if class_mode is not None:
        os.environ["CHAPTER5_CLASS_MODE"] = "1" if class_mode else "0"
    if recompute is not None:
        os.environ["CHAPTER5_RECOMPUTE"] = "1" if recompute else "0"
    from . import records
    viz.use_korean_font()
    projector = projector_mode() if projector is None else projector
    contrast = contrast_style() if contrast is None else contrast
    viz.use_style(projector=projector, contrast=contrast)
    viz.use_jpeg_for_photos()
    info = {
        "mode": records.mode(),
        "data_root": str(data_root()),
        "device": str(device()),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "projector": projector,
        "class_mode": globals()["class_mode"](),
        "contrast": contrast,
    }
    if verbose:
        print(f"chapter5 mode: {records.MODE_WORDS[info['mode']]}")
        print(f"device: {info['device']} | torch {info['torch']} | torchvision {info['torchvision']} | python {info['python']}")
        from . import doctor

        text, ok = doctor.report(verify=False, records=False)  # the records check is the doctor command's
        print(text if not ok else "\n".join(l for l in text.splitlines() if not l.startswith("[INFO]")))
        if projector or contrast:
            print("figures:" + (" projector (큰 글씨·굵은 선)" if projector else "")
                  + (" high-contrast (고대비)" if contrast else ""))
    return info
