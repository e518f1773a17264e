"""The small functions behind notebook 01's widgets: kernels, receptive windows, pooling.

Each widget callback in the notebook is one call to a function here, so the same
function is also called once with fixed arguments (checked by nbval) and unit-tested
(``tests/test_conv.py``). Invalid settings print one short sentence, never a traceback.
"""
from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.colors import ListedColormap
from matplotlib.patches import Rectangle
from torch import nn

from .shapes import InvalidShapeError, check_conv, pool_output_size
from .viz import as_photo

# Classic 3x3 image-processing kernels (cross-correlation, as nn.Conv2d computes it).
KERNELS = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float32),
    "edge": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=np.float32),
    "blur": np.full((3, 3), 1 / 9, dtype=np.float32),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float32),
    "sobel_x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32),
    "sobel_y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float32),
}
KERNEL_LABELS = {
    "identity": "항등 (identity)", "edge": "윤곽선 (edge, Laplacian)", "blur": "흐림 (box blur)",
    "sharpen": "선명하게 (sharpen)", "sobel_x": "Sobel x (세로 경계)", "sobel_y": "Sobel y (가로 경계)",
}


def to_gray(img, size: int | None = None) -> np.ndarray:
    """PIL image / ``[H,W,3]`` array / ``[1|3,H,W]`` tensor -> float32 ``[H,W]`` in [0, 1].

    ``size`` (optional) resizes a PIL image so that its longer side has that many pixels.
    """
    if hasattr(img, "convert"):  # PIL
        if size:
            img = img.copy()
            img.thumbnail((size, size))
        return np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    if isinstance(img, torch.Tensor):
        img = img.detach().cpu().float()
        if img.ndim == 3:
            img = img.mean(0) if img.shape[0] == 3 else img[0]
        return img.numpy()
    arr = np.asarray(img, dtype=np.float32)
    if arr.ndim == 3:
        arr = arr @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return arr / 255.0 if arr.max() > 1 else arr


def apply_kernel(gray: np.ndarray, kernel) -> np.ndarray:
    """Slide a 2-D kernel over a gray image with ``nn.functional.conv2d``; same size out.

    ``kernel`` is a name from :data:`KERNELS` or an odd-sized square array.
    노트북 01 §2.2 에서 처음 전체 코드를 보여 줍니다 (first shown in full in
    notebooks/01_cnn_basics.ipynb, section 2.2: the hand loop and ``F.conv2d``; with
    ``padding=1`` in section 2.4, "이동 등변성").
    """
    k = KERNELS[kernel] if isinstance(kernel, str) else np.asarray(kernel, dtype=np.float32)
    x = torch.as_tensor(np.asarray(gray, dtype=np.float32))[None, None]
    w = torch.as_tensor(k)[None, None]
    return F.conv2d(x, w, padding=k.shape[-1] // 2)[0, 0].numpy()


def show_kernel(gray: np.ndarray, name: str, show: bool = True):
    """Widget body: input photo, the kernel's numbers, the filtered photo. Returns the output.

    Shown as a JPEG (``viz.as_photo``); the convolution itself is :func:`apply_kernel`.
    """
    out = apply_kernel(gray, name)
    k = KERNELS[name]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), gridspec_kw={"width_ratios": [3, 1.4, 3]})
    as_photo(fig)
    axes[0].imshow(gray, cmap="gray", vmin=0, vmax=1)
    axes[0].set_title(f"입력 (input) {gray.shape[0]}×{gray.shape[1]}")
    axes[1].imshow(k, cmap="coolwarm", vmin=-np.abs(k).max(), vmax=np.abs(k).max())
    for (i, j), v in np.ndenumerate(k):
        axes[1].text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=10)
    axes[1].set_title(f"커널 (kernel) {KERNEL_LABELS[name]}", fontsize=9)
    axes[2].imshow(out, cmap="gray")
    axes[2].set_title(f"출력 특성 맵 (feature map) {out.shape[0]}×{out.shape[1]}")
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    _finish(fig, show)
    return out


def draw_conv_steps(image: np.ndarray, kernel: np.ndarray, show: bool = True):
    """One small panel per output cell: the input with the kernel's window and the sum it gives.

    The figure of the hand loop in notebooks/01_cnn_basics.ipynb, section 2.2 (the loop itself
    is a notebook cell there). A 3×3 output (6.3 × 5.9 inches) fills a slide of its own.
    """
    image, kernel = np.asarray(image), np.asarray(kernel)
    f = kernel.shape[0]
    m = image.shape[0] - f + 1
    fig, axes = plt.subplots(m, m, figsize=(2.1 * m, 1.95 * m), squeeze=False)
    for (i, j), ax in np.ndenumerate(axes):
        ax.imshow(image, cmap="Blues", vmin=0, vmax=2 * image.max() or 1)
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), f, f, fill=True, alpha=0.35, fc="#ff9f43", ec="#d35400", lw=2))
        for (r, c), v in np.ndenumerate(image):
            inside = i <= r < i + f and j <= c < j + f
            label = f"{v}×{kernel[r - i, c - j]}" if inside else f"{v}"
            ax.text(c, r, label, ha="center", va="center", fontsize=7 if inside else 8,
                    color="black" if inside else "#666")
        value = (image[i:i + f, j:j + f] * kernel).sum()
        ax.set_title(f"출력[{i},{j}] = {value}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("커널이 한 칸씩 (stride 1) 움직이며 곱하고 더하기\n각 칸은 입력값×커널값", fontsize=10)
    fig.tight_layout()
    _finish(fig, show)


def receptive_window(row: int, col: int, f: int, s: int = 1, d: int = 1) -> list[tuple[int, int]]:
    """Cells (in padded-input coordinates) that output cell ``(row, col)`` reads.

    노트북 01 §2.2 에서 처음 전체 코드를 보여 줍니다 (first shown in full in
    notebooks/01_cnn_basics.ipynb, section 2.2: ``window = image[i:i + 3, j:j + 3]``; with a
    stride in exercise 01-1, section 2.3).
    """
    return [(row * s + i * d, col * s + j * d) for i in range(f) for j in range(f)]


def torch_conv_shape(n: int, f: int, s: int = 1, p: int = 0, d: int = 1):
    """Shape that a real ``nn.Conv2d(1, 1, f, s, p, d)`` gives on an ``n×n`` image, or None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return tuple(nn.Conv2d(1, 1, f, stride=s, padding=p, dilation=d)(torch.zeros(1, 1, n, n)).shape)
    except (RuntimeError, ValueError):
        return None


def explore_conv(n: int, f: int, s: int = 1, p: int = 0, d: int = 1, row: int = 0, col: int = 0,
                 show: bool = True) -> dict:
    """Widget body of the convolution explorer.

    Prints the textbook formula next to the shape ``nn.Conv2d`` really produces and draws
    the padded input with the receptive window of output cell ``(row, col)``. Returns a dict
    with ``size`` (None when impossible), ``torch_shape``, ``row``/``col`` and ``window``.
    """
    res = check_conv(n, f, s, p, d)
    theirs = torch_conv_shape(n, f, s, p, d)
    print(f"입력 {n}×{n}, 커널 {f}×{f}, stride {s}, padding {p}, dilation {d}")
    print(f"공식 (formula): {res.formula}  |  "
          f"nn.Conv2d 실제 출력: {theirs if theirs else '오류 — PyTorch도 이 조합을 거부합니다'}")
    info = {"size": res.size, "torch_shape": theirs, "row": None, "col": None, "window": []}
    if not res.ok:
        print(f"불가능한 조합: {res.reason}")
        return info
    m = res.size
    row, col = min(max(row, 0), m - 1), min(max(col, 0), m - 1)
    window = receptive_window(row, col, f, s, d)
    info.update(row=row, col=col, window=window)
    r0, c0 = window[0]
    print(f"출력 ({row}, {col}) ← 패딩된 입력의 행 {r0}..{r0 + d * (f - 1)}, 열 {c0}..{c0 + d * (f - 1)}"
          + (f" (간격 {d})" if d > 1 else ""))
    fig = draw_receptive_field(n, f, s, p, d, row, col)
    _finish(fig, show)
    return info


def draw_receptive_field(n: int, f: int, s: int, p: int, d: int, row: int, col: int):
    """Padded input (grey = zero padding) with the window of output ``(row, col)``, and the output grid."""
    m = check_conv(n, f, s, p, d).size
    size = n + 2 * p
    grid = np.ones((size, size))
    grid[:p, :], grid[size - p:, :], grid[:, :p], grid[:, size - p:] = 0, 0, 0, 0
    for r, c in receptive_window(row, col, f, s, d):
        grid[r, c] = 2
    cmap = ListedColormap(["#d9d9d9", "white", "#ff9f43"])
    fig, (ax_in, ax_out) = plt.subplots(1, 2, figsize=(9, 2.6), gridspec_kw={"width_ratios": [size, max(m, 3)]})
    ax_in.imshow(grid, cmap=cmap, vmin=0, vmax=2)
    span = d * (f - 1) + 1
    ax_in.add_patch(Rectangle((col * s - 0.5, row * s - 0.5), span, span, fill=False, lw=2.5, ec="#d35400"))
    if p:
        ax_in.add_patch(Rectangle((p - 0.5, p - 0.5), n, n, fill=False, lw=1.5, ec="#2e86de", ls="--"))
    ax_in.set_title(f"패딩된 입력 {size}×{size} (회색 = 0 패딩, 주황 = 수용 영역)", fontsize=9)
    out = np.zeros((m, m))
    out[row, col] = 1
    ax_out.imshow(out, cmap=ListedColormap(["white", "#ff9f43"]), vmin=0, vmax=1)
    ax_out.set_title(f"출력 {m}×{m} (주황 = 출력 ({row}, {col}))", fontsize=9)
    for ax, k in ((ax_in, size), (ax_out, m)):
        ax.set_xticks(np.arange(-0.5, k, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, k, 1), minor=True)
        ax.grid(which="minor", color="#888", lw=0.6)
        ax.tick_params(which="minor", length=0)
        ax.set_xticks(range(k))
        ax.set_yticks(range(k))
        ax.tick_params(labelsize=7)
        ax.set(xlabel="열 (column)", ylabel="행 (row)")
    fig.tight_layout()
    return fig


def pool_maps(fmap: np.ndarray, f: int, s: int | None = None):
    """Max and average pooling of a 2-D map (``F.max_pool2d`` / ``F.avg_pool2d``).

    노트북 01 §2.6 에서 처음 전체 코드를 보여 줍니다 (first shown in full in
    notebooks/01_cnn_basics.ipynb, section 2.6: the 4×4 example).
    """
    s = f if s is None else s
    pool_output_size(min(fmap.shape), f, s)  # raises InvalidShapeError with a short reason
    x = torch.as_tensor(np.asarray(fmap, dtype=np.float32))[None, None]
    return F.max_pool2d(x, f, s)[0, 0].numpy(), F.avg_pool2d(x, f, s)[0, 0].numpy()


def explore_pool(fmap: np.ndarray, f: int, s: int | None = None, show: bool = True):
    """Widget body of the pooling explorer: sizes from the book's formula, max vs average maps.

    Returns ``(max_map, avg_map)``, or None (after one printed sentence) when impossible.
    The figure (feature maps) is shown as a JPEG (``viz.as_photo``).
    """
    s = f if s is None else s
    h, w = fmap.shape
    try:
        mx, av = pool_maps(fmap, f, s)
    except InvalidShapeError as err:
        print(f"불가능한 조합: {err}")
        return None
    print(f"W₂ = ⌊(W₁ − F) / S⌋ + 1 = ⌊({w} − {f}) / {s}⌋ + 1 = {mx.shape[1]},  "
          f"H₂ = ⌊({h} − {f}) / {s}⌋ + 1 = {mx.shape[0]},  D₂ = D₁ (채널 수 그대로)")
    print(f"{h}×{w} → {mx.shape[0]}×{mx.shape[1]} (값의 개수 {h * w} → {mx.size}, {h * w / mx.size:.1f}배 감소)")
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.0))
    as_photo(fig)
    vmin, vmax = float(fmap.min()), float(fmap.max())
    for ax, img, title in zip(axes, (fmap, mx, av), (f"특성 맵 (feature map) {h}×{w}",
                                                      f"최대 풀링 (max) {mx.shape[0]}×{mx.shape[1]}",
                                                      f"평균 풀링 (average) {av.shape[0]}×{av.shape[1]}")):
        ax.imshow(img, cmap="magma", vmin=vmin, vmax=vmax)
        ax.set_title(title)
        ax.axis("off")
    fig.suptitle(f"풀링 (pooling): 커널 {f}×{f}, stride {s}")
    fig.tight_layout()
    _finish(fig, show)
    return mx, av


def _finish(fig, show: bool) -> None:
    if show:
        plt.show()
    else:
        plt.close(fig)
