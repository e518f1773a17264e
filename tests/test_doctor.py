"""Setup doctor: each planted fault gives its [FAIL] line with the exact fix."""
import shutil
import subprocess
import sys
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


def test_missing_file(tmp_path):
    lines = [c.line() for c in doctor.check_data(tmp_path, verify=False)]
    assert all(l.startswith("[FAIL]") for l in lines)
    assert any("cat.jpg: 1/1 파일 없음 → python -m chapter5 download" in l for l in lines)


def test_one_flipped_byte_is_caught_by_the_checksum(catphoto_root):
    path = catphoto_root / "cat.jpg"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    assert _catphoto(doctor.check_data(catphoto_root, verify=False)).ok  # same size: the quick check passes
    c = _catphoto(doctor.check_data(catphoto_root, verify=True))
    assert not c.ok and "손상" in c.line() and "python -m chapter5 download" in c.line()


def test_no_korean_font(tmp_path):
    c = doctor.check_font(tmp_path)
    assert not c.ok and c.line() == ("[FAIL] 한글 글꼴 (NanumGothic) 파일 없음 → "
                                     "pip install --force-reinstall koreanize-matplotlib")
    assert doctor.check_font().ok


def test_unsupported_torch_and_python():
    c = doctor.check_torch("2.1.2", "0.16.2")
    assert not c.ok and "너무 오래되었습니다" in c.line() and "pip install --upgrade torch torchvision" in c.line()
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


def test_cli_prints_one_line_per_check_and_fails_on_a_fault(tmp_path):
    env = {**__import__("os").environ, "CHAPTER5_DATA": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "chapter5", "doctor", "--quick"], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 1
    assert all(l.startswith(("[OK]", "[FAIL]", "[INFO]")) for l in lines), lines
    assert sum(l.startswith("[FAIL]") for l in lines) == 3  # the three data groups
