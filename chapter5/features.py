"""Look inside a CNN (notebook 05): forward hooks, layer listing, feature-map and filter
grids, learned-vs-random statistics, and the feature-map explorer widget.

The textbook's ``LayerActivations`` registers a forward hook and leaves it to the reader
to call ``remove()``; a forgotten hook keeps firing on every later forward pass.
:class:`FeatureHook` is the same idea as a context manager, so the hook is always removed
-- also when the forward pass raises. Grad-CAM lives in :mod:`chapter5.gradcam`.
"""
from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from . import viz


# --------------------------------------------------------------------------- hooks
class FeatureHook:
    """Record the output of one module during forward passes; remove the hook on exit.

    노트북 05 §5 에서 처음 전체 코드를 보여 줍니다
    (first shown in full in notebooks/05_feature_maps.ipynb, section 5: ``register_forward_hook``).

    >>> with FeatureHook(model.features[0]) as hook:
    ...     model(x)
    >>> hook.output.shape
    """

    def __init__(self, module: nn.Module):
        self.module = module
        self.output: torch.Tensor | None = None
        self._handle = None

    def __enter__(self) -> "FeatureHook":
        self._handle = self.module.register_forward_hook(self._save)
        return self

    def _save(self, module, inputs, output):
        # detach: no autograd graph kept; clone: a later in-place op (ReLU(inplace=True))
        # on the same storage must not change what we saved (detach alone shares memory)
        self.output = output.detach().clone()

    def remove(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def __exit__(self, *exc) -> bool:
        self.remove()
        return False

    @property
    def attached(self) -> bool:
        return self._handle is not None


@contextlib.contextmanager
def _eval_mode(model: nn.Module):
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def capture(model: nn.Module, names, x: torch.Tensor) -> dict:
    """``{name: output}`` of the named sub-modules for input ``x`` (eval mode, no grad).

    The model's train/eval mode is restored afterwards and every hook is removed.
    노트북 05 §5 에서 처음 전체 코드를 보여 줍니다 (first shown in full in
    notebooks/05_feature_maps.ipynb, section 5: one hook, one forward pass, ``remove()``).
    """
    names = [names] if isinstance(names, str) else list(names)
    with contextlib.ExitStack() as stack, _eval_mode(model), torch.no_grad():
        hooks = {n: stack.enter_context(FeatureHook(model.get_submodule(n))) for n in names}
        model(x)
    return {n: h.output for n, h in hooks.items()}


@dataclass(frozen=True)
class LayerInfo:
    name: str
    kind: str
    shape: tuple  # output shape without the batch dimension

    @property
    def label(self) -> str:
        return f"{self.name} · {self.kind} · {'×'.join(map(str, self.shape))}"


def list_layers(model: nn.Module, x: torch.Tensor, names=None, types=(nn.Conv2d,)) -> list:
    """The layers a feature map can be taken from, with their output shapes for input ``x``.

    ``names`` picks modules by name (for example ``Backbone.feature_layers``);
    otherwise every module that is an instance of ``types`` is listed, in model order.
    """
    if names is None:
        names = [n for n, m in model.named_modules() if n and isinstance(m, types)]
    outs = capture(model, names, x)
    return [LayerInfo(n, type(model.get_submodule(n)).__name__, tuple(outs[n].shape[1:])) for n in names]


def random_twin(model: nn.Module, seed: int = 0, start: str | None = None) -> nn.Module:
    """A copy of ``model`` with every layer re-initialised at random (PyTorch's default init;
    BatchNorm statistics reset), in eval mode: the same architecture without any learning --
    the baseline a "learned" feature map or filter is compared with.

    ``start``: re-initialise only the module of that name and every module after it in model
    order (``named_modules``), keeping the layers before it: the cascading randomisation of
    Adebayo et al. (2018), from the top of the network down."""
    twin = copy.deepcopy(model)
    names = [name for name, _ in twin.named_modules()]
    if start is not None and start not in names:
        raise ValueError(f"no module named {start!r} in the model")
    first = names.index(start) if start is not None else 1
    torch.manual_seed(seed)
    for name, module in list(twin.named_modules())[first:]:
        if module is not twin and hasattr(module, "reset_parameters"):
            module.reset_parameters()
    return twin.eval()


# ---------------------------------------------------------------- map / filter statistics
def to_unit(t: torch.Tensor, dims=None) -> torch.Tensor:
    """Min-max scale ``t`` to [0, 1] (over ``dims``, default: all of it) for display; a
    constant tensor becomes zeros instead of NaN. 노트북 05 §6 (연습 05-2) 에서 처음 전체 코드를
    보여 줍니다 (first shown in full in notebooks/05_feature_maps.ipynb, section 6, exercise 05-2)."""
    t = t.detach().float()
    lo = t.amin(dim=dims, keepdim=True) if dims is not None else t.min()
    hi = t.amax(dim=dims, keepdim=True) if dims is not None else t.max()
    span = hi - lo
    return torch.where(span > 0, (t - lo) / torch.where(span > 0, span, torch.ones_like(span)),
                       torch.zeros_like(t))


def input_similarity(maps: torch.Tensor, image: torch.Tensor) -> float:
    """Mean |Pearson correlation| between each channel map and the input's brightness.

    ``maps`` ``[C,H,W]`` or ``[N,C,H,W]``, ``image`` ``[3,H0,W0]`` or ``[N,3,H0,W0]``.
    The brightness is average-pooled to the map's size. Near 1: the maps are copies of
    the (blurred) input; near 0: they respond to something other than plain brightness.
    It does NOT tell learned from random weights (notebook 05 §7 shows both).
    """
    if maps.dim() == 3:
        maps, image = maps[None], image[None]
    n, c, h, w = maps.shape
    grey = image.double().mean(1, keepdim=True)
    grey = nn.functional.adaptive_avg_pool2d(grey, (h, w)).flatten(1)          # [N, HW]
    f = maps.double().flatten(2)                                                # [N, C, HW]
    f = f - f.mean(2, keepdim=True)
    g = (grey - grey.mean(1, keepdim=True))[:, None, :]                         # [N, 1, HW]
    norms = f.norm(dim=2) * g.norm(dim=2)
    keep = norms > 0                                   # constant maps have no correlation: skip them
    if not bool(keep.any()):
        return 0.0
    corr = (f * g).sum(2)[keep] / norms[keep]
    return float(corr.abs().mean())


def class_selectivity(maps: torch.Tensor, labels) -> float:
    """How differently the channels respond to two classes (say cats and dogs).

    Each channel's map is averaged over space, then the two classes are compared with
    Cohen's d: ``|mean_0 - mean_1| / pooled std``, averaged over channels (channels that
    never change are skipped). ``maps``: ``[N,C,H,W]``, ``labels``: ``N`` values 0/1.
    """
    labels = torch.as_tensor(labels)
    if set(labels.unique().tolist()) != {0, 1}:
        raise ValueError("class_selectivity needs labels of exactly two classes, 0 and 1")
    pooled = maps.double().mean((2, 3))                                           # [N, C]
    a, b = pooled[labels == 0], pooled[labels == 1]
    std = ((a.var(0) + b.var(0)) / 2).sqrt()
    keep = std > 0
    if not bool(keep.any()):
        return 0.0
    return float(((a.mean(0) - b.mean(0)).abs()[keep] / std[keep]).mean())


def selectivity_sentence(layers, learned, random) -> str:
    """One Korean sentence from class selectivity per layer: ``learned`` (one value per layer) against
    ``random`` (``[seeds, layers]``, the same architecture with random weights). A layer counts as
    above random when it exceeds the seeds' mean + 2 standard deviations; "grows with depth" is said
    only when every step from one layer to the next goes up."""
    learned = np.asarray(learned, dtype=float)
    random = np.atleast_2d(np.asarray(random, dtype=float))
    mean, spread = random.mean(0), random.std(0)
    above = int((learned > mean + 2 * spread).sum())
    best = int(np.argmax(learned))
    text = (f"학습된 모델의 클래스 선택성은 {len(learned)}개 층 중 {above}개에서 무작위 가중치 (시드 평균 + 2 표준편차) 보다 크고, "
            f"가장 큰 층은 {layers[best]} ({learned[best]:.2f}, 무작위 {mean[best]:.2f}) 입니다.")
    falls = [i for i in range(len(learned) - 1) if learned[i + 1] <= learned[i]]
    if not falls:
        return text + " 층이 깊어질수록 꾸준히 커집니다."
    where = ", ".join(f"{layers[i]} {learned[i]:.2f} → {layers[i + 1]} {learned[i + 1]:.2f}" for i in falls)
    return text + f" 다만 층을 따라 꾸준히 커지지는 않습니다 (줄어드는 곳: {where})."


def filter_stats(weight: torch.Tensor) -> dict:
    """Two per-filter measures of first-layer RGB kernels ``[O,3,k,k]`` (tensors of length O).

    * ``colour``: mean |correlation| between the filter's R, G and B kernels (3 pairs).
      Learned filters treat the colours alike (a brightness pattern) or in opposition
      (colour-opponent); random kernels are unrelated (about 0.3 for 3×3).
    * ``flat``: share of the filter's energy in its flat part (each colour's mean weight):
      a uniform colour blob is 1, zero-mean edge kernels such as Sobel are 0.
    """
    w = weight.detach().double().flatten(2)                                      # [O, 3, k*k]
    centred = w - w.mean(2, keepdim=True)
    unit = centred / centred.norm(dim=2, keepdim=True).clamp_min(1e-12)
    corr = torch.einsum("oik,ojk->oij", unit, unit)[:, [0, 0, 1], [1, 2, 2]]
    flat = w.mean(2).pow(2).sum(1) * w.shape[2] / w.pow(2).sum((1, 2)).clamp_min(1e-12)
    return {"colour": corr.abs().mean(1), "flat": flat}


# ------------------------------------------------------------------------ drawing
def _channels(n_channels: int, first: int, count: int) -> list:
    first = int(np.clip(first, 0, max(n_channels - 1, 0)))
    return list(range(first, min(first + count, n_channels)))


def plot_feature_maps(maps: torch.Tensor, first: int = 0, count: int = 16, ncols: int = 8,
                      title: str = "특성 맵 (feature maps)", cmap: str = "viridis", size: float = 1.4):
    """Grid of channels ``first .. first+count-1`` of one feature map ``[C,H,W]`` (or ``[1,C,H,W]``).
    Each channel gets its own colour scale (imshow's min-max, as :func:`to_unit`)."""
    if maps.dim() == 4:
        maps = maps[0]
    chans = _channels(maps.shape[0], first, count)
    ncols = max(1, min(ncols, len(chans)))
    nrows = int(np.ceil(len(chans) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.6), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, ch in zip(axes.flat, chans):
        ax.imshow(maps[ch].cpu().numpy(), cmap=cmap)
        ax.set_title(f"ch {ch}", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return viz.as_photo(fig)


def compare_maps(named_maps: dict, first: int = 0, count: int = 8, title: str = "", cmap: str = "viridis",
                 size: float = 1.3):
    """One row per entry of ``{row label: maps [C,H,W]}``, same channels in every row (side-by-side comparison)."""
    rows = list(named_maps.items())
    n_ch = min(m.shape[-3] for _, m in rows)
    chans = _channels(n_ch, first, count)
    fig, axes = plt.subplots(len(rows), len(chans), figsize=(size * len(chans) + 1.2, size * len(rows) + 0.6),
                             squeeze=False)
    for r, (label, maps) in enumerate(rows):
        maps = maps[0] if maps.dim() == 4 else maps
        for c, ch in enumerate(chans):
            ax = axes[r, c]
            ax.imshow(maps[ch].cpu().numpy(), cmap=cmap)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"ch {ch}", fontsize=8)
        axes[r, 0].set_ylabel(label, fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return viz.as_photo(fig)


def describe_maps(layer: str, maps: torch.Tensor, first: int = 0, count: int = 16) -> str:
    """One line: layer name, shape, channels shown (what the explorer prints above its grid)."""
    if maps.dim() == 4:
        maps = maps[0]
    c, h, w = maps.shape
    chans = _channels(c, first, count)
    return f"{layer}: {c} channels × {h}×{w}, showing channels {chans[0]}–{chans[-1]}"


def filter_patches(weight: torch.Tensor) -> np.ndarray:
    """First-layer kernels ``[O,3,k,k]`` as ``[O,k,k,3]`` RGB patches, each min-max scaled to [0, 1]."""
    w = weight.detach().float().cpu()
    if w.shape[1] != 3:                       # not an RGB layer: show the mean over inputs, grey
        w = w.mean(1, keepdim=True).expand(-1, 3, -1, -1)
    return to_unit(w, dims=(1, 2, 3)).permute(0, 2, 3, 1).numpy()


def plot_filters(weight: torch.Tensor, ncols: int = 16, title: str = "첫 합성곱층의 필터 (filters)",
                 size: float = 0.7):
    """The first convolution's kernels drawn as small RGB patches."""
    patches = filter_patches(weight)
    n = len(patches)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.7), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, (ax, p) in enumerate(zip(axes.flat, patches)):
        ax.imshow(p, interpolation="nearest")
        ax.set_title(str(i), fontsize=6)
    k = weight.shape[-1]
    fig.suptitle(f"{title} — {n}개, {k}×{k}")
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------- images
def image_choices(n_per_class: int = 3) -> dict:
    """``{label: path}``: the textbook's ``cat.jpg`` and the first test images of each class."""
    from . import data

    choices = {"cat.jpg": data.cat_image_path()}
    test_dir = data.catdog_dir("test")
    for cls in ("Cat", "Dog"):
        for p in sorted((test_dir / cls).glob("*.jpg"))[:n_per_class]:
            choices[f"test/{cls}/{p.name}"] = p
    return choices


def image_from_upload(value):
    """The RGB image inside an ipywidgets ``FileUpload.value`` (or raw bytes).

    Raises ``ValueError`` (``classifier.BadImage``) with a short message when nothing
    was uploaded or the file is not a complete image -- the same checks as notebook 03's
    "try your own image" widget.
    """
    from .classifier import open_image_bytes, upload_content

    return open_image_bytes(upload_content(value)[1])


# ------------------------------------------------------------------------ explorer
@dataclass
class Viewable:
    """A model as the explorer shows it: the module, its input transform and the layers to offer."""

    model: nn.Module
    transform: object                     # PIL image -> [3,H,W] tensor
    layers: list                          # LayerInfo list (see list_layers)


def show_layer(view: Viewable, layer: str, image, first: int = 0, count: int = 16, title: str = ""):
    """Print the one-line summary and draw the grid: what the explorer does on every change."""
    maps = capture(view.model, layer, view.transform(image).unsqueeze(0))[layer][0]
    print(describe_maps(layer, maps, first, count))
    return plot_feature_maps(maps, first, count, title=title or f"{layer} 특성 맵")


def feature_map_explorer(views: dict, images: dict, count: int = 16, step: int = 8):
    """Widgets: model, layer (name · type · output shape), image (+ upload), first channel and
    number of channels; the grid redraws.

    ``views``: ``{label: Viewable}``; ``images``: ``{label: path or PIL image}``. The first-channel
    slider moves in steps of ``step``; ``count`` is the initial number of channels shown.
    Returns the ``VBox`` (its ``.children`` are the controls, then the output).
    """
    import ipywidgets as W
    from IPython.display import display

    from .data import load_rgb

    images = dict(images)
    model_dd = W.Dropdown(options=list(views), description="모델")
    layer_dd = W.Dropdown(description="층 (layer)", layout=W.Layout(width="460px"))
    image_dd = W.Dropdown(options=list(images), description="이미지")
    upload = W.FileUpload(accept="image/*", multiple=False, description="사진 올리기")
    first = W.IntSlider(value=0, min=0, max=0, step=step, description="첫 채널")
    counts = sorted({step, 2 * step, count, 4 * step, 8 * step})
    count_dd = W.Dropdown(options=counts, value=count, description="채널 수", layout=W.Layout(width="160px"))
    out = W.Output()

    quiet = [0]  # > 0 while controls are being adjusted: one redraw afterwards, not one per change

    @contextlib.contextmanager
    def adjusting():
        quiet[0] += 1
        try:
            yield
        finally:
            quiet[0] -= 1

    def set_layers(*_):
        with adjusting():
            layers = views[model_dd.value].layers
            layer_dd.options = [(info.label, info.name) for info in layers]
            layer_dd.value = layers[0].name

    def set_channels(*_):
        info = next(i for i in views[model_dd.value].layers if i.name == layer_dd.value)
        with adjusting():
            first.value = 0                     # a new layer starts at its first channel
            first.max = (info.shape[0] - 1) // step * step
            # only counts this layer has channels for: every choice changes the picture
            allowed = [c for c in counts if c <= info.shape[0]] or [min(counts)]
            keep = count_dd.value if count_dd.value in allowed else max(allowed)
            count_dd.options = allowed
            count_dd.value = keep

    def on_upload(change):
        try:
            img = image_from_upload(change["new"])
        except ValueError as err:
            with out:
                print(err)
            return
        images["업로드한 사진"] = img
        image_dd.options = list(images)
        if image_dd.value == "업로드한 사진":
            redraw()                           # a second upload: the choice did not change
        else:
            image_dd.value = "업로드한 사진"

    def redraw(*_):
        if quiet[0] or layer_dd.value is None:
            return
        out.clear_output(wait=True)
        with out:
            try:
                src = images[image_dd.value]
                img = src if hasattr(src, "convert") else load_rgb(src)
                fig = show_layer(views[model_dd.value], layer_dd.value, img, first.value, count_dd.value,
                                 title=f"{model_dd.value} · {layer_dd.value} · {image_dd.value}")
                display(fig)
                plt.close(fig)
            except Exception as err:  # a callback must not die silently: say what went wrong
                print(f"그릴 수 없습니다: {type(err).__name__}: {err}")

    set_layers()
    set_channels()
    model_dd.observe(set_layers, "value")
    layer_dd.observe(set_channels, "value")
    upload.observe(on_upload, "value")
    for w in (model_dd, layer_dd, image_dd, first, count_dd):
        w.observe(redraw, "value")
    redraw()
    controls = W.VBox([W.HBox([model_dd, image_dd, upload]), W.HBox([layer_dd, first, count_dd])])
    return W.VBox([controls, out])
