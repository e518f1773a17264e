"""Grad-CAM (Selvaraju et al., 2017) for notebook 05: which part of a photo a class score
rests on, the model to explain (notebook 03's classifier), and a fair check of where the
heat lies (a hand-marked box against random boxes of the same size).

Notebook 05 builds Grad-CAM by hand first (forward hook + tensor hook, weights = mean of
the gradients, ReLU, upsample, min-max); :func:`grad_cam` is the same with the maintained
``pytorch-grad-cam`` package, and the tests check that both agree.
"""
from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from . import viz

# ImageNet class indices 281-285: tabby, tiger cat, Persian cat, Siamese cat, Egyptian cat.
IMAGENET_CAT_CLASSES = tuple(range(281, 286))
# Hand-marked in the textbook's cat.jpg (1920×1080), (x0, y0, x1, y1) in original pixels:
# the cat's head from its ear tips to its chin (29 % of the photo), and the wooden door at
# the top left, where there is no cat at all.
CAT_HEAD_BOX = (880, 150, 1680, 900)
DOOR_BOX = (0, 0, 400, 480)


def to_input(image, mean, std, short_side: int = 224) -> torch.Tensor:
    """The WHOLE image (no crop) resized so its shorter side is ``short_side``, normalised: ``[1,3,H,W]``.

    CNNs with global average pooling accept any size, so a heat-map over the whole
    photo can be mapped straight back to the original pixels.
    """
    from torchvision import transforms as T

    tf = T.Compose([T.Resize(short_side), T.ToTensor(), T.Normalize(mean, std)])
    return tf(image).unsqueeze(0)


def _box_mask(shape, box, original_size) -> np.ndarray:
    h, w = shape
    xs = (np.arange(w) + 0.5) * original_size[0] / w
    ys = (np.arange(h) + 0.5) * original_size[1] / h
    return ((ys >= box[1]) & (ys <= box[3]))[:, None] & ((xs >= box[0]) & (xs <= box[2]))[None, :]


@dataclass
class CamResult:
    cam: np.ndarray          # [H, W] in [0, 1], same size as the model input
    class_index: int
    prob: float              # softmax probability of that class

    def peak(self, original_size=None) -> tuple:
        """``(x, y)`` of the heat-map maximum, in input pixels or in ``original_size=(W, H)`` pixels."""
        h, w = self.cam.shape
        row, col = np.unravel_index(int(np.argmax(self.cam)), self.cam.shape)
        x, y = col + 0.5, row + 0.5
        if original_size is not None:
            x, y = x * original_size[0] / w, y * original_size[1] / h
        return float(x), float(y)

    def share_inside(self, box, original_size) -> float:
        """Fraction of the total heat that falls inside ``box=(x0, y0, x1, y1)`` given in original pixels."""
        inside = _box_mask(self.cam.shape, box, original_size)
        return float(self.cam[inside].sum() / max(self.cam.sum(), 1e-12))

    def random_box_shares(self, box, original_size, n: int = 1000, seed: int = 0) -> np.ndarray:
        """The heat share of ``n`` boxes of the same size as ``box`` placed uniformly at random
        inside the photo: the baseline a hand-marked box's share is compared with."""
        rng = np.random.default_rng(seed)
        bw, bh = box[2] - box[0], box[3] - box[1]
        x0 = rng.uniform(0, original_size[0] - bw, n)
        y0 = rng.uniform(0, original_size[1] - bh, n)
        return np.array([self.share_inside((a, b, a + bw, b + bh), original_size) for a, b in zip(x0, y0)])


def grad_cam(model: nn.Module, target_layer: nn.Module, x: torch.Tensor, class_index: int | None = None) -> CamResult:
    """Grad-CAM of ``class_index`` (default: the predicted class) for one image.

    노트북 05 §10 에서 처음 전체 코드를 보여 줍니다 (first shown in full in
    notebooks/05_feature_maps.ipynb, section 10: hooks, mean of gradients, ReLU, upsample).
    Here with the maintained ``pytorch-grad-cam`` package (bilinear upsampling with
    ``cv2.resize``, then min-max to [0, 1]). The input gets ``requires_grad`` so that it also
    works when the body is frozen. The model is left in eval mode and its parameter
    gradients are cleared afterwards.
    """
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    model.eval()
    with torch.no_grad():
        prob = model(x).softmax(1)[0]
    if class_index is None:
        class_index = int(prob.argmax())
    x = x.detach().clone().requires_grad_(True)   # gradients flow even through a frozen body
    with GradCAM(model=model, target_layers=[target_layer]) as cam:
        heat = cam(input_tensor=x, targets=[ClassifierOutputTarget(class_index)])[0]
    model.zero_grad(set_to_none=True)
    return CamResult(np.asarray(heat, dtype=np.float32), class_index, float(prob[class_index]))


@dataclass
class CamModel:
    """The model notebook 05 explains: a classifier, the layer to explain, its input
    normalisation and class names, and the pretrained backbone it is built on."""

    model: nn.Module
    target_layer: nn.Module
    mean: tuple
    std: tuple
    class_names: list
    description: str
    backbone: object = None          # chapter5.backbone.Backbone (feature_layers, transform, name)


def _saved_classifier():
    """Notebook 03's classifier from the artifacts folder, else from ``<data root>/artifacts``
    (a read-only course copy); ``(classifier or None, why not)``."""
    try:
        from . import classifier
    except ImportError:
        return None, "chapter5.classifier is not installed"
    from .config import data_root

    try:
        return classifier.load_classifier(), ""
    except FileNotFoundError as err:          # no saved file yet, or one for another backbone
        why = str(err)
    copy = data_root() / "artifacts" / "catdog_classifier.pt"
    if copy.is_file():
        try:
            return classifier.load_classifier(copy), ""
        except FileNotFoundError:
            pass
    return None, why


def grad_cam_model(fallback=None) -> CamModel:
    """The notebook-03 cats-vs-dogs classifier when its saved file exists, else ``fallback``
    (a pretrained :class:`~chapter5.backbone.Backbone`, loaded when None) with its 1000
    ImageNet classes. The explained layer is the backbone's last feature layer
    (``layer4`` / ``_conv_head``)."""
    from .backbone import imagenet_categories, load_backbone

    clf, why = _saved_classifier()
    if clf is not None:
        bb = clf.backbone
        layer = bb.model.get_submodule(bb.feature_layers[-1])
        if any(m is layer for m in clf.model.modules()):
            return CamModel(clf.model.eval(), layer, bb.mean, bb.std, list(clf.class_names),
                            f"노트북 03 의 고양이/개 분류기 ({bb.name} + 학습한 2-클래스 head)", bb)
        why = "분류기 안에서 백본의 층을 찾지 못했습니다"
    bb = fallback if fallback is not None else load_backbone()
    print(f"{why} → ImageNet 으로 사전 학습된 {bb.name} 의 1000개 클래스를 설명합니다.")
    return CamModel(bb.model.eval(), bb.model.get_submodule(bb.feature_layers[-1]), bb.mean, bb.std,
                    imagenet_categories(), f"ImageNet 사전 학습 {bb.name} (1000 클래스)", bb)


def plot_grad_cam(image, result: CamResult, title: str, alpha: float = 0.5, boxes=None, height: float = 3.4):
    """The photo, and the photo with the Grad-CAM heat-map on top (peak marked with ×).

    ``boxes``: optional ``{label: (x0, y0, x1, y1)}`` drawn on both. The figure's width
    follows the photo's aspect ratio, so portrait photos leave no gap between the panels.
    """
    from matplotlib.patches import Rectangle

    img = np.asarray(image)
    h0, w0 = img.shape[:2]
    width = min(11.0, 2 * height * w0 / h0 + 0.4)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(width, height + 0.5), layout="constrained")
    ax0.imshow(img)
    ax0.set_title("입력 이미지 (RGB)")
    ax1.imshow(img)
    ax1.imshow(result.cam, cmap="jet", alpha=alpha, extent=(0, w0, h0, 0))
    px, py = result.peak((w0, h0))
    ax1.plot(px, py, "wx", ms=12, mew=3)
    ax1.set_title("Grad-CAM (× = 최댓값)")
    for (label, box), color in zip((boxes or {}).items(), ("lime", "white", "magenta")):
        for ax in (ax0, ax1):
            ax.add_patch(Rectangle((box[0], box[1]), box[2] - box[0], box[3] - box[1], fill=False,
                                   edgecolor=color, lw=2, ls="--"))
        ax0.text(box[0] + 15, box[1] + 15, label, color=color, fontsize=9, va="top",
                 bbox={"facecolor": "black", "alpha": 0.5, "pad": 1, "edgecolor": "none"})
    for ax in (ax0, ax1):
        ax.axis("off")
    fig.suptitle(title)
    return viz.as_photo(fig)
