"""Data root, the missing-data message, and the datasets themselves."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from chapter5 import config, data, download

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="offline course data not present")


def test_data_root_env_and_default(monkeypatch, tmp_path):
    monkeypatch.setenv("CHAPTER5_DATA", str(tmp_path))
    assert config.data_root() == tmp_path.resolve()
    monkeypatch.delenv("CHAPTER5_DATA")
    assert config.data_root() == config.REPO_ROOT / "data"


def test_quick_mode_switch(monkeypatch):
    monkeypatch.setenv("CHAPTER5_QUICK", "1")
    assert config.is_quick() and config.pick(1, 9) == 1
    monkeypatch.setenv("CHAPTER5_QUICK", "0")
    assert not config.is_quick() and config.pick(1, 9) == 9


@pytest.mark.parametrize("loader", [
    lambda: data.fashion_mnist(train=True),
    lambda: data.catdog("train"),
    lambda: data.cat_image_path(),
])
def test_missing_data_gives_one_clear_message(loader, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("CHAPTER5_DATA", str(tmp_path))
    monkeypatch.delenv("CHAPTER5_OFFLINE", raising=False)
    # downloads are attempted but cannot succeed: every host is a closed local port
    monkeypatch.setattr(download, "TEXTBOOK_BASE", "http://127.0.0.1:9/")
    monkeypatch.setattr(download, "FASHION_MIRRORS", ("http://127.0.0.1:9/",))
    with pytest.raises(data.DataMissingError) as info:
        loader()
    msg = str(info.value)
    assert "python -m chapter5 download" in msg
    assert str(tmp_path) in msg
    assert "\n" not in msg


def test_missing_data_in_a_notebook_shows_no_traceback(tmp_path):
    """IPython renders DataMissingError as its one-line message (no torchvision stack)."""
    err = data.DataMissingError("FashionMNIST", tmp_path / "FashionMNIST")
    lines = err._render_traceback_()
    assert len(lines) == 1 and "python -m chapter5 download" in lines[0]


def test_offline_switch_skips_download(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("CHAPTER5_DATA", str(tmp_path))
    monkeypatch.setenv("CHAPTER5_OFFLINE", "1")
    with pytest.raises(data.DataMissingError):
        data.cat_image_path()
    assert "downloading" not in capsys.readouterr().out


@needs_shared
def test_fashion_mnist_matches_the_published_statistics(monkeypatch):
    monkeypatch.setenv("CHAPTER5_DATA", str(SHARED))
    x, y = data.fashion_tensors(train=True, normalize=False)
    assert x.shape == (60000, 1, 28, 28) and y.shape == (60000,)
    assert abs(x.mean().item() - data.FASHION_MEAN) < 1e-3
    assert abs(x.std().item() - data.FASHION_STD) < 1e-3
    assert y[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    xn, _ = data.fashion_tensors(train=False, limit=500)
    assert xn.shape == (500, 1, 28, 28) and abs(xn.mean().item()) < 0.2


@needs_shared
def test_catdog_imagefolder(monkeypatch):
    monkeypatch.setenv("CHAPTER5_DATA", str(SHARED))
    train, test = data.catdog("train"), data.catdog("test")
    assert (len(train), len(test)) == (385, 98)
    assert train.classes == ["Cat", "Dog"]
    assert sum(t == 0 for _, t in train.samples) == 182
    img = data.load_rgb(data.cat_image_path())
    assert img.mode == "RGB" and img.size == (1920, 1080)


def test_subset_is_reproducible():
    ds = torch.utils.data.TensorDataset(torch.arange(100))
    a, b = data.subset(ds, 10, seed=1), data.subset(ds, 10, seed=1)
    assert a.indices == b.indices and len(set(a.indices)) == 10
    assert data.subset(ds, None) is ds


def test_denormalize_inverts_normalize():
    from torchvision import transforms as T

    x = torch.rand(3, 8, 8)
    y = T.Normalize(data.IMAGENET_MEAN, data.IMAGENET_STD)(x)
    assert torch.allclose(data.denormalize(y), x, atol=1e-6)


def test_cli_info_runs(tmp_path):
    out = subprocess.run([sys.executable, "-m", "chapter5", "info"], capture_output=True, text=True,
                         env={"CHAPTER5_DATA": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 1, out.stderr  # files are missing: a script can tell
    assert "catanddog" in out.stdout and "missing" in out.stdout
