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


def grad_cam_model(fallback=None, head=None) -> CamModel:
    """The notebook-03 cats-vs-dogs classifier when its saved file exists; else, when ``head`` (a
    record of :func:`saved_head`) is given, the same classifier rebuilt from the pretrained backbone
    and that head; else ``fallback`` (a pretrained :class:`~chapter5.backbone.Backbone`, loaded when
    None) with its 1000 ImageNet classes. Prints which, and the ``backbone: name (source)`` line.
    The explained layer is the backbone's last feature layer (``layer4`` / ``_conv_head``)."""
    from .backbone import imagenet_categories, load_backbone

    clf, why = _saved_classifier()
    explained = None
    if clf is not None:
        bb = clf.backbone
        layer = bb.model.get_submodule(bb.feature_layers[-1])
        if any(m is layer for m in clf.model.modules()):
            explained = CamModel(clf.model.eval(), layer, bb.mean, bb.std, list(clf.class_names),
                                 f"노트북 03 의 고양이/개 분류기 ({bb.name} + 학습한 2-클래스 head)", bb)
        else:
            why = "분류기 안에서 백본의 층을 찾지 못했습니다"
    if explained is None and head:
        explained, why_not = _from_head(head)
        if explained is not None:
            print("노트북 03 의 분류기 파일이 없어, 기록된 head (notebooks/records) 를 사전 학습 본체에 얹어 "
                  "같은 분류기를 만들었습니다.")
        else:
            why = f"{why} ({why_not})"
    if explained is None:
        bb = fallback if fallback is not None else load_backbone(verbose=False)
        print(f"{why} → ImageNet 으로 사전 학습된 {bb.name} 의 1000개 클래스를 설명합니다.")
        explained = CamModel(bb.model.eval(), bb.model.get_submodule(bb.feature_layers[-1]), bb.mean, bb.std,
                             imagenet_categories(), f"ImageNet 사전 학습 {bb.name} (1000 클래스)", bb)
    bb = explained.backbone
    print(f"backbone: {bb.name} ({getattr(bb, 'source', '')})")
    return explained


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


# ------------------------------------------------------- notebook 03's classifier as a record
def saved_head():
    """Notebook 03's saved classifier, small enough for a record: ``{"backbone", "class_names",
    "head"}`` (the head's ``state_dict``: a few thousand numbers), or None when there is no saved
    classifier or its body was trained too (then the head alone does not rebuild it)."""
    clf, _why = _saved_classifier()
    if clf is None or clf.info.get("body_trained"):
        return None
    head = clf.backbone.head.state_dict()
    return {"backbone": clf.backbone.name, "class_names": list(clf.class_names),
            "head": {k: v.detach().clone() for k, v in head.items()}}


def _from_head(head: dict):
    """``(CamModel or None, why not)``: the pretrained backbone named in ``head`` with the recorded head."""
    from .backbone import load_backbone

    try:
        bb = load_backbone(prefer=head["backbone"], verbose=False)
    except Exception as err:  # noqa: BLE001 - no backbone at all: the caller falls back
        return None, str(err)
    if bb.name != head["backbone"]:
        return None, f"기록된 head 는 {head['backbone']} 용인데 이 컴퓨터에는 {bb.name} 만 있습니다"
    bb.replace_head(len(head["class_names"]))
    bb.head.load_state_dict({k: torch.as_tensor(v) for k, v in head["head"].items()})
    bb.model.eval()
    for p in bb.model.parameters():
        p.requires_grad = False
    layer = bb.model.get_submodule(bb.feature_layers[-1])
    return CamModel(bb.model, layer, bb.mean, bb.std, list(head["class_names"]),
                    f"노트북 03 의 고양이/개 분류기 ({bb.name} + 학습한 2-클래스 head)", bb), ""


# ------------------------------------------------------------ Grad-CAM for a batch of photos
def cams(model: nn.Module, layer: nn.Module, x: torch.Tensor, classes, batch: int = 8) -> torch.Tensor:
    """Grad-CAM of ``classes[i]`` for every photo ``x[i]``, at the layer's own resolution:
    ``[N, h, w]`` = ReLU(sum_k alpha_k A^k) with alpha_k the spatial mean of the gradient (the same
    steps as notebook 05 section 10, for a batch; not upsampled, not min-max scaled).
    The model is in eval mode, so every photo's score depends on that photo only. Small batches keep
    the backward pass's memory low (a kernel stays under 3 GB)."""
    model.eval()
    classes = torch.as_tensor(classes).long()
    out = []
    for i in range(0, len(x), batch):
        store = {}

        def keep(module, inputs, output):
            store["A"] = output
            output.register_hook(lambda grad: store.__setitem__("dA", grad))

        handle = layer.register_forward_hook(keep)
        try:
            logits = model(x[i:i + batch].detach().clone().requires_grad_(True))
        finally:
            handle.remove()
        picked = logits.gather(1, classes[i:i + batch, None]).sum()
        picked.backward()
        A, dA = store["A"].detach(), store["dA"]
        out.append(torch.relu((dA.mean(dim=(2, 3), keepdim=True) * A).sum(1)))
        model.zero_grad(set_to_none=True)
    return torch.cat(out)


def upsample(small: torch.Tensor, size) -> torch.Tensor:
    """Small maps ``[N, h, w]`` -> ``[N, H, W]``: bilinear (as ``cv2.INTER_LINEAR``), then min-max to [0, 1]
    per map (a map without heat stays 0)."""
    big = nn.functional.interpolate(small[:, None].float(), size=tuple(size), mode="bilinear",
                                    align_corners=False)[:, 0]
    lo = big.amin((1, 2), keepdim=True)
    span = big.amax((1, 2), keepdim=True) - lo
    return torch.where(span > 0, (big - lo) / span.clamp_min(1e-12), torch.zeros_like(big))


# -------------------------------------------------- checks that need no annotation
@torch.no_grad()
def deletion_curves(model: nn.Module, x: torch.Tensor, heat: torch.Tensor, classes, fractions=(0.1, 0.25, 0.5),
                    grid: int = 7, seed: int = 0, batch: int = 16) -> dict:
    """Deletion curves (Petsiuk et al., 2018) at the Grad-CAM's own resolution.

    Every photo is cut into ``grid``×``grid`` cells. A share ``f`` of the cells is replaced by 0
    (after normalisation: the mean colour), either the cells with the most Grad-CAM heat first
    (``heat``: maps ``[N, H, W]`` or ``[N, h, w]``) or the same number of cells at random. The
    probability of ``classes[i]`` is measured after each step. Returns ``{"fractions": [0, *f],
    "heat": [N, S], "random": [N, S]}`` (probabilities, NumPy).
    """
    model.eval()
    n, _, H, W = x.shape
    classes = torch.as_tensor(classes).long()
    score = nn.functional.adaptive_avg_pool2d(heat[:, None].float(), grid)[:, 0].flatten(1)     # [N, cells]
    rng = np.random.default_rng(seed)
    cells = grid * grid
    # the hottest cell first; ties (cells without heat) in random order, never top-left first
    hot_order = [np.lexsort((rng.random(cells), -score[i].numpy())) for i in range(n)]
    random_order = [rng.permutation(cells) for _ in range(n)]
    fractions = [0.0, *[float(f) for f in fractions]]
    ys = (torch.arange(H) * grid // H)[:, None]
    xs = (torch.arange(W) * grid // W)[None, :]
    cell_of = ys * grid + xs                                                                     # [H, W]

    def masked(order, i, f):
        k = int(round(f * cells))
        gone = torch.zeros(cells, dtype=torch.bool)
        gone[torch.as_tensor(order[i][:k], dtype=torch.long)] = True
        return x[i] * (~gone[cell_of]).to(x.dtype)

    jobs = [(name, i, s) for name, order in (("heat", hot_order), ("random", random_order))
            for s, f in enumerate(fractions) for i in range(n)]
    out = {"heat": np.zeros((n, len(fractions))), "random": np.zeros((n, len(fractions)))}
    for j in range(0, len(jobs), batch):
        part = jobs[j:j + batch]
        orders = {"heat": hot_order, "random": random_order}
        xb = torch.stack([masked(orders[name], i, fractions[s]) for name, i, s in part])
        p = model(xb).softmax(1)
        for (name, i, s), row in zip(part, p):
            out[name][i, s] = float(row[classes[i]])
    return {"fractions": fractions, **out}


def deletion_auc(curves: np.ndarray, fractions) -> np.ndarray:
    """Area under each probability curve ``[N, S]`` over the deleted share, divided by the largest share
    (1 = the score never falls)."""
    f = np.asarray(fractions, dtype=float)
    c = np.asarray(curves, dtype=float)
    return ((c[:, 1:] + c[:, :-1]) / 2 * np.diff(f)).sum(1) / f[-1]


def deletion_sentence(table: dict) -> str:
    """One Korean sentence from a deletion table (:func:`deletion_curves`): does the score fall faster
    when the most-heated cells go first than when random cells go? Faster = the mean per-photo
    difference of the areas under the curves is positive by more than two standard errors."""
    f = table["fractions"]
    hot, rnd = deletion_auc(table["heat"], f), deletion_auc(table["random"], f)
    d = rnd - hot
    n = len(d)
    se = float(d.std(ddof=1) / np.sqrt(n)) if n > 1 else float("inf")
    wins = int((d > 0).sum())
    numbers = (f"곡선 아래 넓이 (AUC, 작을수록 빨리 떨어짐) {hot.mean():.2f} 대 무작위 {rnd.mean():.2f}, "
               f"차이 {d.mean():.2f} ± {2 * se:.2f} (평균 ± 2 표준오차), 사진 {n}장 중 {wins}장에서 더 빨리")
    if d.mean() > 2 * se:
        return (f"열이 높은 칸부터 지우면 무작위 칸을 지울 때보다 점수가 빨리 떨어집니다: {numbers}. "
                "평균적으로 Grad-CAM 의 열이 높은 곳에 이 모델의 점수가 더 기댑니다 (사진마다 다를 수 있습니다).")
    return (f"열이 높은 칸부터 지워도 무작위 칸을 지울 때보다 점수가 뚜렷이 빨리 떨어지지 않습니다: {numbers}. "
            "이 측정으로는 Grad-CAM 의 열이 점수의 근거를 가리킨다고 말할 수 없습니다.")


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two maps (ties share their rank); NaN when one map is flat."""
    from scipy.stats import rankdata

    ra, rb = rankdata(np.ravel(a)), rankdata(np.ravel(b))
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def randomisation_check(model: nn.Module, layer_name: str, x: torch.Tensor, classes, starts: dict,
                        seed: int = 0, base=None) -> dict:
    """Model-randomisation sanity check (Adebayo et al., 2018, "Sanity Checks for Saliency Maps").

    ``starts``: ``{stage label: first module to re-initialise}`` (that module and everything after it,
    :func:`chapter5.features.random_twin`), from the top of the network down. For every stage and
    photo, the Spearman rank correlation between the Grad-CAM map (of the same class, at the same
    layer) of the randomised copy and of the trained model. ``"other photo"``: the correlation of the
    trained model's map of photo i with its map of photo i+1, what unrelated maps share (a centre bias).
    ``base``: the trained model's maps (:func:`cams`) when already computed.
    """
    from .features import random_twin

    base = (cams(model, model.get_submodule(layer_name), x, classes) if base is None else torch.as_tensor(base)).numpy()
    rho = {}
    for label, start in starts.items():
        twin = random_twin(model, seed=seed, start=start)
        maps = cams(twin, twin.get_submodule(layer_name), x, classes).numpy()
        rho[label] = [rank_correlation(a, b) for a, b in zip(base, maps)]
    other = [rank_correlation(base[i], base[(i + 1) % len(base)]) for i in range(len(base))]
    return {"stages": list(starts), "rho": rho, "other photo": other}


KEEPS_MAP = 0.5   # mean Spearman correlation at or above which a randomised model "keeps" the map


def randomisation_sentence(table: dict) -> str:
    """One Korean sentence from :func:`randomisation_check`'s table. The check passes when no stage of
    randomisation leaves the map nearly as it was (mean Spearman correlation below ``KEEPS_MAP``);
    each stage is compared with what the maps of two different photos share."""
    other = np.nanmean(table["other photo"])
    parts, kept = [], []
    for label in table["stages"]:
        r = np.asarray(table["rho"][label], dtype=float)
        m = float(np.nanmean(r)) if np.isfinite(r).any() else float("nan")
        parts.append(f"{label} {m:.2f}")
        if not m < KEEPS_MAP:          # NaN (no map at all) is not a change either
            kept.append(label)
    numbers = (f"원래 지도와의 순위 상관 (Spearman ρ, 사진 평균): {', '.join(parts)}; "
               f"서로 다른 두 사진의 지도끼리는 {other:.2f}")
    if kept:
        return (f"가중치를 무작위로 바꿔도 지도가 거의 그대로인 단계가 있습니다 ({', '.join(kept)}; ρ ≥ {KEEPS_MAP}): "
                f"{numbers}. 그 지도는 모델이 배운 것보다 입력이나 구조를 보여 줍니다 — 무작위화 검사를 통과하지 못합니다.")
    return (f"가중치를 무작위로 바꾸면 Grad-CAM 지도가 크게 달라집니다 ({numbers}). "
            "지도는 모델이 배운 가중치에 달려 있습니다 — 모델 무작위화 검사 (sanity check) 를 통과합니다.")


def box_sentence(label: str, share: float, random_shares) -> str:
    """One Korean sentence: does a hand-marked box get more, less or about the heat that random boxes of
    its size get (outside the middle 95 % of them = more/less)?"""
    r = np.asarray(random_shares, dtype=float)
    below = float((r < share).mean())
    numbers = f"{share:.1f} % (같은 크기의 무작위 상자 {r.mean():.1f} ± {r.std():.1f} %, 그중 {below:.0%} 보다 많음)"
    if below >= 0.975:
        return f"{label} 상자: 열이 무작위 상자보다 많이 몰려 있습니다 — {numbers}."
    if below <= 0.025:
        return f"{label} 상자: 열이 무작위 상자보다 적습니다 — {numbers}."
    return (f"{label} 상자: 무작위 상자와 구별되지 않습니다 — {numbers}. "
            "이 상자에 열이 몰렸다고도 피했다고도 말할 수 없습니다.")
