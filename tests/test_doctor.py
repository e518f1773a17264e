"""Setup doctor: each planted fault gives its [FAIL] line with the exact fix, and the fix works as printed."""
import os
import shlex
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from chapter5 import doctor, download

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def catphoto_root(tmp_path):
    """A data root with only cat.jpg, copied from the course data (or skipped)."""
    from chapter5.config import data_root

    src = data_root() / "cat.jpg"
    if not src.is_file():
        pytest.skip("course data not present")
    shutil.copy(src, tmp_path / "cat.jpg")
    return tmp_path


def _catphoto(checks):
    return next(c for c in checks if c.what.startswith("cat.jpg"))


def test_present_and_verified(catphoto_root):
    c = _catphoto(doctor.check_data(catphoto_root, verify=True))
    assert c.ok and "체크섬" in c.line() and c.line().startswith("[OK]")


def test_missing_file(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "executable", str(ROOT / ".venv" / "bin" / "python"))
    lines = [c.line() for c in doctor.check_data(tmp_path, verify=False)]
    assert all(l.startswith("[FAIL]") for l in lines)
    assert ("[FAIL] cat.jpg: 1/1 파일 없음 → .venv/bin/python -m chapter5 download "
            "(또는 노트북이 처음 쓸 때 자동으로 받습니다)") in lines, lines


def test_one_flipped_byte_is_caught_by_the_checksum(catphoto_root):
    path = catphoto_root / "cat.jpg"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    assert _catphoto(doctor.check_data(catphoto_root, verify=False)).ok  # same size: the quick check passes
    c = _catphoto(doctor.check_data(catphoto_root, verify=True))
    assert not c.ok and "손상" in c.line() and f"→ {doctor.download_command()} (손상된 파일만" in c.line()


def test_no_korean_font(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "executable", str(ROOT / ".venv" / "bin" / "python"))
    c = doctor.check_font(tmp_path)
    assert not c.ok and c.line() == ("[FAIL] 한글 글꼴 (NanumGothic) 파일 없음 → "
                                     ".venv/bin/python -m pip install --force-reinstall koreanize-matplotlib")
    assert doctor.check_font().ok


def test_unsupported_torch_and_python():
    c = doctor.check_torch("2.1.2", "0.16.2")
    assert not c.ok and "너무 오래되었습니다" in c.line()
    assert c.line().endswith(f"→ {doctor.python_command()} -m pip install --upgrade torch torchvision")
    assert doctor.check_torch("2.5.1+cpu", "0.20.1").ok
    assert not doctor.check_python((3, 9, 18)).ok and doctor.check_python((3, 12, 1)).ok


def test_resnet18_file_is_verified_not_trusted(tmp_path, monkeypatch):
    fake = tmp_path / "resnet18-f37072fd.pth"
    fake.write_bytes(b"not the weights")
    monkeypatch.setattr(download, "resnet18_weights_path", lambda: fake)
    assert not download.resnet18_verified()
    c = doctor.check_weights()
    assert not c.ok and "손상" in c.line()


def test_low_disk(tmp_path):
    c = doctor.check_disk(tmp_path, need_gb=1e9)
    assert not c.ok and "남은 디스크" in c.line()


def _doctor(data_root, cwd, path="/usr/bin:/bin"):
    """``python -m chapter5 doctor --quick`` run from a terminal in ``cwd``, the venv NOT on PATH."""
    env = {**os.environ, "CHAPTER5_DATA": str(data_root), "PATH": path}
    return subprocess.run([sys.executable, "-m", "chapter5", "doctor", "--quick"], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=120)


def test_cli_prints_one_line_per_check_and_fails_on_a_fault(tmp_path):
    proc = _doctor(tmp_path, ROOT)
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 1
    assert all(l.startswith(("[OK]", "[FAIL]", "[INFO]")) for l in lines), lines
    assert sum(l.startswith("[FAIL]") for l in lines) == 3  # the three data groups
    # run from a terminal: it says so, not "Jupyter"
    assert lines[-1] == "[INFO] 터미널 (명령줄) 에서 실행 중 (노트북 밖)" and "Jupyter" not in proc.stdout


@pytest.mark.parametrize("where", ["repo", "notebooks", "outside"])
def test_the_printed_fix_works_as_printed_without_the_venv_on_path(tmp_path, where):
    """The fix names the interpreter that ran the doctor (a bare `python` is not on this PATH, or is
    another Python without chapter5): pasted into the same terminal, it runs chapter5."""
    cwd = {"repo": ROOT, "notebooks": ROOT / "notebooks", "outside": tmp_path}[where]
    proc = _doctor(tmp_path / "empty", cwd)
    fail = next(l for l in proc.stdout.splitlines() if l.startswith("[FAIL] cat.jpg"))
    command = fail.split(" → ", 1)[1].split(" (또는", 1)[0]
    assert command.endswith(" -m chapter5 download") and not command.startswith("python ")
    if where != "outside" and Path(sys.executable).parent.parent == ROOT / ".venv":
        assert command.split()[0] == {"repo": ".venv/bin/python", "notebooks": "../.venv/bin/python"}[where]
    # the same line, asking for its help instead of downloading (no network in the tests)
    run = subprocess.run(shlex.split(command) + ["--help"], capture_output=True, text=True, cwd=cwd,
                         env={**os.environ, "PATH": "/usr/bin:/bin"}, timeout=120)
    assert run.returncode == 0 and "사용법 (usage):" in run.stdout, run.stderr


def test_python_command_is_the_running_interpreter():
    venv_python = str(ROOT / ".venv" / "bin" / "python")
    assert doctor.python_command(venv_python, ROOT) == ".venv/bin/python"
    assert doctor.python_command(venv_python, ROOT / "notebooks") == "../.venv/bin/python"
    assert doctor.python_command(venv_python, Path("/")) == venv_python  # outside the repository: absolute
    assert doctor.python_command("/usr/bin/python3", ROOT) == "/usr/bin/python3"  # not the repo's venv
    assert doctor.python_command("/opt/my env/bin/python", ROOT) == "'/opt/my env/bin/python'"  # quoted


def _fake_ipython(monkeypatch, shell):
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: shell
    monkeypatch.setitem(sys.modules, "IPython", fake)


def test_terminal_jupyter_and_colab_are_told_apart(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.chdir(ROOT)
    assert doctor.environment() == "terminal"
    _fake_ipython(monkeypatch, None)  # IPython imported, no shell running
    assert doctor.environment() == "terminal"
    _fake_ipython(monkeypatch, types.SimpleNamespace())  # the IPython terminal shell: no kernel
    assert doctor.environment() == "terminal"
    assert doctor.pip_command("x") == f"{doctor.python_command()} -m pip install x"
    _fake_ipython(monkeypatch, types.SimpleNamespace(kernel=object()))  # a Jupyter kernel
    assert doctor.environment() == "jupyter"
    assert doctor.check_environment().line() == "[INFO] Jupyter 커널에서 실행 중 (JupyterLab · Jupyter Notebook · VS Code)"
    assert doctor.download_command() == f"!{doctor.python_command()} -m chapter5 download"  # a cell line
    assert doctor.pip_command("x") == "%pip install x"
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert doctor.environment() == "colab"
    assert doctor.download_command() == "from chapter5 import download; download.download_all()"
    assert doctor.check_environment().line().startswith("[INFO] Google Colab 에서 실행 중")


def test_a_real_jupyter_kernel_is_recognised():
    """In a kernel started from notebooks/ (where JupyterLab runs them), the doctor says Jupyter and
    its fixes are lines for a notebook cell."""
    manager = pytest.importorskip("jupyter_client.manager")
    km, kc = manager.start_new_kernel(kernel_name="python3", cwd=str(ROOT / "notebooks"))
    out = []
    try:
        kc.execute_interactive(
            "from chapter5 import doctor\nprint(doctor.check_environment().line())\n"
            "print(doctor.download_command())\nprint(doctor.pip_command('x'))",
            output_hook=lambda m: out.append(m["content"].get("text", "")) if m["msg_type"] == "stream" else None,
            timeout=120)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    lines = "".join(out).splitlines()
    assert lines[0] == "[INFO] Jupyter 커널에서 실행 중 (JupyterLab · Jupyter Notebook · VS Code)", lines
    assert lines[1].startswith("!") and lines[1].endswith(" -m chapter5 download") and lines[2] == "%pip install x"


def test_doctor_says_which_notebooks_class_mode_would_compute(monkeypatch):
    from chapter5 import doctor, records

    monkeypatch.setattr(records, "class_mode_gaps", lambda: {"04_fine_tuning.ipynb": ["04-ladder.json"]})
    monkeypatch.delenv("CHAPTER5_CLASS_MODE", raising=False)
    info = doctor.check_records()
    assert info.info and not info.ok and "04: 04-ladder.json" in info.line()
    assert "-m chapter5 results notebooks/04_fine_tuning.ipynb" in info.line()
    monkeypatch.setenv("CHAPTER5_CLASS_MODE", "1")  # the projector laptop: now it is a failure
    fail = doctor.check_records()
    assert not fail.info and fail.line().startswith("[FAIL]")
    monkeypatch.setattr(records, "class_mode_gaps", lambda: {})
    assert doctor.check_records().line().startswith("[OK]")
