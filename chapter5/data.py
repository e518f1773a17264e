"""Datasets of the course, read from the data root.

* FashionMNIST through ``torchvision.datasets.FashionMNIST(root)``;
* the textbook's cats vs dogs through ``ImageFolder`` at ``<root>/catanddog/{train,test}``;
* the single photo ``<root>/cat.jpg``.

Missing data raises :class:`DataMissingError`, whose one-line message names the
missing path and the command that fetches it, instead of a traceback from deep
inside torchvision.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from .config import data_root, pick

FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
# Mean and std of the FashionMNIST training pixels scaled to [0, 1].
FASHION_MEAN, FASHION_STD = 0.2860, 0.3530

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

class DataMissingError(FileNotFoundError):
    """Raised when a dataset is not in the data root (and could not be fetched)."""

    def __init__(self, what: str, path: Path):
        from .doctor import download_command

        self.what, self.path = what, Path(path)
        super().__init__(
            f"{what} 데이터가 없습니다: {path} — 받으려면 {download_command()} "
            f"(또는 데이터가 있는 폴더를 환경 변수 CHAPTER5_DATA 로 지정하세요). | {what} not found."
        )

    def _render_traceback_(self):  # IPython shows just this message, no traceback
        return [f"DataMissingError: {self}"]


def ensure(group: str, what: str, root: Path | None = None) -> Path:
    """Make sure every file of a manifest group is in the data root.

    Missing files are downloaded (checksum-verified) unless ``CHAPTER5_OFFLINE=1``;
    when that is impossible, one :class:`DataMissingError` names what is missing.
    """
    from . import download

    root = Path(root) if root else data_root()
    todo = download.missing(group, root)
    if not todo:
        return root
    if os.environ.get("CHAPTER5_OFFLINE", "").strip().lower() not in {"1", "true", "yes"}:
        print(f"{what}: 파일 {len(todo)}개가 없어 데이터 루트로 내려받습니다 … | downloading")
        try:
            download.fetch_group(group, root)
            return root
        except (OSError, download.ChecksumError) as err:
            print(f"내려받기 실패 (download failed): {err}")
    raise DataMissingError(what, root / todo[0].path)


def fashion_mnist(train: bool = True, transform=None, root: Path | None = None):
    """The FashionMNIST dataset (torchvision), train or test split."""
    from torchvision import datasets

    root = ensure("fashionmnist", "FashionMNIST", root)
    return datasets.FashionMNIST(root, train=train, download=False, transform=transform)


def fashion_tensors(train: bool = True, normalize: bool = True, limit: int | None = None,
                    root: Path | None = None):
    """FashionMNIST as two in-memory tensors ``(images[N,1,28,28], labels[N])``.

    Same pixels as :func:`fashion_mnist` with ``ToTensor()`` (and ``Normalize``),
    converted once instead of once per sample and epoch: on a 2-core CPU this
    saves several seconds per epoch.
    """
    ds = fashion_mnist(train=train, root=root)
    x = ds.data[:limit].unsqueeze(1).float().div_(255.0)
    if normalize:
        x = (x - FASHION_MEAN) / FASHION_STD
    return x, ds.targets[:limit].clone()


def catdog_dir(split: str = "train", root: Path | None = None) -> Path:
    if split not in ("train", "test"):
        raise ValueError(f"split 은 'train' 또는 'test' 여야 합니다 (받은 값: {split!r})")
    return ensure("catanddog", "고양이/개 사진 (cats vs dogs)", root) / "catanddog" / split


def catdog(split: str = "train", transform=None, root: Path | None = None):
    """The textbook's cats-vs-dogs images as an ``ImageFolder`` (0 = Cat, 1 = Dog)."""
    from torchvision import datasets

    return datasets.ImageFolder(str(catdog_dir(split, root)), transform=transform)


def cat_image_path(root: Path | None = None) -> Path:
    """Path of the textbook's single cat photo used for feature maps."""
    return ensure("catphoto", "cat.jpg", root) / "cat.jpg"


def load_rgb(path) -> "PIL.Image.Image":
    """Open an image file as RGB (PIL reads RGB; cv2 would give BGR)."""
    from PIL import Image

    with Image.open(path) as img:
        return img.convert("RGB")


def subset(dataset, n: int | None, seed: int = 0):
    """A reproducible random subset of ``n`` items (the whole dataset when n is None)."""
    if n is None or n >= len(dataset):
        return dataset
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(dataset), generator=g)[:n].tolist()
    return torch.utils.data.Subset(dataset, idx)


def quick_subset(dataset, quick_n: int, seed: int = 0):
    """``subset(dataset, quick_n)`` in quick mode, the whole dataset in full mode."""
    return subset(dataset, pick(quick_n, None), seed=seed)


def imagenet_transform(size: int = 224, train: bool = False, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                       resize: int | None = None):
    """Resize/crop + normalisation with the pretraining statistics (the step the textbook leaves out).

    Evaluation: ``Resize(resize)`` (default ``size * 256 / 224``) then ``CenterCrop(size)``;
    training: ``RandomResizedCrop`` + ``RandomHorizontalFlip``. ``mean``/``std`` default to
    ImageNet's; a backbone trained with other statistics passes its own.
    """
    from torchvision import transforms as T

    if train:
        ops = [T.RandomResizedCrop(size, scale=(0.6, 1.0)), T.RandomHorizontalFlip()]
    else:
        ops = [T.Resize(resize or int(size * 256 / 224)), T.CenterCrop(size)]
    return T.Compose(ops + [T.ToTensor(), T.Normalize(mean, std)])


def denormalize(x: torch.Tensor, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> torch.Tensor:
    """Undo ``Normalize(mean, std)`` on a ``[C,H,W]`` or ``[N,C,H,W]`` tensor, clipped to [0, 1]."""
    mean = torch.as_tensor(mean, dtype=x.dtype).view(-1, 1, 1)
    std = torch.as_tensor(std, dtype=x.dtype).view(-1, 1, 1)
    return (x * std + mean).clamp(0, 1)
