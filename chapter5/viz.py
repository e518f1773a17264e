"""Plot helpers for what the notebooks repeat: image grids, learning curves,
confusion matrices and bar charts. Every figure gets a title and axis labels."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

KOREAN_FONT = "NanumGothic"


def use_korean_font() -> str:
    """Register the NanumGothic font shipped by ``koreanize-matplotlib`` and use it.

    The font files are added with ``font_manager.fontManager.addfont`` (works
    offline, on Linux, macOS and Colab); we do not import the package itself
    because its import relies on ``distutils``, gone in Python 3.12.
    Returns the Korean font's family name.
    """
    from matplotlib import font_manager

    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("koreanize-matplotlib is not installed: pip install koreanize-matplotlib")
    font_dir = Path(list(spec.submodule_search_locations)[0]) / "fonts"
    for ttf in sorted(font_dir.glob("*.ttf")):
        font_manager.fontManager.addfont(str(ttf))
    # DejaVu Sans first, NanumGothic as the per-glyph fallback: Hangul comes from NanumGothic,
    # while math text (log-axis ticks such as 10^-3) keeps DejaVu's minus sign, which
    # NanumGothic lacks.
    matplotlib.rcParams["font.family"] = ["DejaVu Sans", KOREAN_FONT]
    matplotlib.rcParams["axes.unicode_minus"] = False
    return KOREAN_FONT


# Readable when projected: labels >= 12 pt at 100 % (the default), larger and thicker for a
# projector, and a high-contrast style that keeps an opaque white figure so that charts also
# read in JupyterLab's dark theme. ``config.setup()`` applies them (CHAPTER5_PROJECTOR=1,
# CHAPTER5_STYLE=contrast, or ``config.setup(projector=True, contrast=True)``).
READABLE = {"font.size": 12, "axes.titlesize": 13, "axes.labelsize": 12, "xtick.labelsize": 12,
            "ytick.labelsize": 12, "legend.fontsize": 11, "figure.titlesize": 14}
PROJECTOR = {"font.size": 16, "axes.titlesize": 18, "axes.labelsize": 16, "xtick.labelsize": 15,
             "ytick.labelsize": 15, "legend.fontsize": 14, "figure.titlesize": 19,
             "lines.linewidth": 3.0, "lines.markersize": 9, "axes.linewidth": 1.6,
             "xtick.major.width": 1.6, "ytick.major.width": 1.6, "grid.linewidth": 1.2,
             "figure.dpi": 110}
CONTRAST = {"figure.facecolor": "white", "axes.facecolor": "white", "savefig.facecolor": "white",
            "text.color": "black", "axes.labelcolor": "black", "axes.edgecolor": "black",
            "xtick.color": "black", "ytick.color": "black", "axes.linewidth": 1.6,
            "lines.linewidth": 2.5, "image.cmap": "cividis",
            # Okabe–Ito: distinguishable for colour-blind viewers and on a washed-out projector
            "axes.prop_cycle": matplotlib.cycler(color=["#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                                        "#E69F00", "#56B4E9", "#000000", "#F0E442"])}


def use_style(projector: bool = False, contrast: bool = False) -> dict:
    """Set the course's figure style; returns the rcParams it changed.

    Always: labels >= 12 pt. ``projector``: larger fonts, thicker lines, figures enlarged by
    1.25×. ``contrast``: opaque white figures, black text and axes, colour-blind-safe colours.
    """
    changes = dict(READABLE)
    if projector:
        changes.update(PROJECTOR)
        w, h = matplotlib.rcParamsDefault["figure.figsize"]
        changes["figure.figsize"] = [w * 1.25, h * 1.25]
    if contrast:
        changes.update(CONTRAST)
    matplotlib.rcParams.update(changes)
    return changes


PHOTO_ATTR = "_chapter5_photo"


def as_photo(fig, flag: bool = True):
    """Mark a figure made mostly of photos or feature maps; returns ``fig``.

    In a notebook (after :func:`use_jpeg_for_photos`) such a figure is shown as a JPEG,
    a fraction of the PNG's size for photographic pixels; charts stay crisp PNGs.
    """
    setattr(fig, PHOTO_ATTR, flag)
    return fig


def use_jpeg_for_photos(quality: int = 90) -> bool:
    """Route figures marked with :func:`as_photo` to IPython's ``image/jpeg`` formatter.

    Wraps the inline backend's PNG formatter for matplotlib figures instead of replacing
    it, so unmarked figures are exactly as before. Safe to call more than once; returns
    False outside IPython.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    from IPython.core.pylabtools import print_figure
    from matplotlib.figure import Figure

    # pyplot loads its backend with the first figure, and the inline backend registers its
    # formatters only then: load it now so that there is a PNG formatter to wrap.
    plt.close(plt.figure())
    formatters = shell.display_formatter.formatters
    png = formatters["image/png"]
    previous = png.lookup_by_type(Figure) if Figure in png.type_printers else None
    if previous is None or getattr(previous, "_chapter5", False):
        return previous is not None

    def png_unless_photo(fig):
        return None if getattr(fig, PHOTO_ATTR, False) else previous(fig)

    def jpeg_if_photo(fig):
        if not getattr(fig, PHOTO_ATTR, False):
            return None
        return print_figure(fig, "jpeg", base64=True, pil_kwargs={"quality": quality})

    png_unless_photo._chapter5 = True
    png.for_type(Figure, png_unless_photo)
    formatters["image/jpeg"].for_type(Figure, jpeg_if_photo)
    return True


def _to_numpy_image(img):
    """Tensor [C,H,W] / [H,W] or PIL or ndarray -> ndarray ready for imshow."""
    if hasattr(img, "detach"):
        img = img.detach().cpu().numpy()
        if img.ndim == 3:
            img = img[0] if img.shape[0] == 1 else np.transpose(img, (1, 2, 0))
    return np.asarray(img)


def show_images(images, titles=None, ncols: int = 8, colors=None, suptitle: str | None = None,
                cmap: str = "gray", size: float = 1.6):
    """Draw a grid of images with optional per-image titles (and title colours)."""
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.5 if suptitle else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        arr = _to_numpy_image(images[i])
        ax.imshow(arr, cmap=cmap if arr.ndim == 2 else None)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=9, color=(colors[i] if colors is not None else "black"))
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return as_photo(fig)


def plot_history(histories: dict, title: str = "학습 곡선 (learning curves)"):
    """Loss and accuracy per epoch for one or more runs: ``{"name": History, ...}``."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.8))
    for name, h in histories.items():
        ep = np.arange(1, len(h.train_loss) + 1)
        line, = ax_loss.plot(ep, h.train_loss, "-o", ms=3, label=f"{name} train")
        ax_acc.plot(ep, np.array(h.train_acc) * 100, "-o", ms=3, color=line.get_color(), label=f"{name} train")
        if h.test_loss:
            ax_loss.plot(ep, h.test_loss, "--s", ms=3, color=line.get_color(), label=f"{name} test")
            ax_acc.plot(ep, np.array(h.test_acc) * 100, "--s", ms=3, color=line.get_color(), label=f"{name} test")
    ax_loss.set(title="손실 (loss)", xlabel="에포크 (epoch)", ylabel="cross-entropy")
    ax_acc.set(title="정확도 (accuracy)", xlabel="에포크 (epoch)", ylabel="정확도 (%)")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion(y_true, y_pred, classes, title: str = "혼동 행렬 (confusion matrix)", normalize: bool = True):
    """Confusion matrix as a heat-map (rows: true class, columns: predicted class)."""
    from sklearn.metrics import confusion_matrix

    cm = confusion_matrix(np.asarray(y_true), np.asarray(y_pred), labels=list(range(len(classes))))
    shown = cm / cm.sum(axis=1, keepdims=True).clip(min=1) if normalize else cm
    fig, ax = plt.subplots(figsize=(0.6 * len(classes) + 3, 0.6 * len(classes) + 2))
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    for i in range(len(classes)):
        for j in range(len(classes)):
            val = f"{shown[i, j]:.2f}" if normalize else str(cm[i, j])
            ax.text(j, i, val, ha="center", va="center", fontsize=7,
                    color="white" if shown[i, j] > (0.5 if normalize else cm.max() / 2) else "black")
    ax.set(title=title, xlabel="예측한 클래스 (predicted)", ylabel="실제 클래스 (true)")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig, cm


def bar_compare(names, values, title: str, ylabel: str, fmt: str = "{:.1f}", ax=None, color=None):
    """A labelled bar chart (values written on top of the bars)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4, 1.2 * len(names)), 3.5))
    bars = ax.bar(names, values, color=color)
    for b, v in zip(bars, values):
        ax.annotate(fmt.format(v), (b.get_x() + b.get_width() / 2, b.get_height()),
                    ha="center", va="bottom", fontsize=9)
    ax.set(title=title, ylabel=ylabel)
    ax.margins(y=0.15)
    return ax
