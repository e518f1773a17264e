"""Output sizes of convolution and pooling layers, with the reason when there is none.

The textbook's formulas, extended with dilation and ``ceil_mode`` so that they agree
with PyTorch in every case (``tests/test_shapes.py`` checks hundreds of random ones):

* convolution: ``out = floor((n + 2p - d*(f-1) - 1) / s) + 1``, which for ``d = 1`` is the
  book's ``(n + 2p - f) / s + 1``;
* pooling: the same with ``ceil`` instead of ``floor`` when ``ceil_mode=True`` (and the last
  window must start inside the input or the left padding); with ``p = 0`` and ``d = 1`` it is
  the book's ``W2 = (W1 - F) / S + 1`` and the number of channels stays (``D2 = D1``).

An impossible combination raises :class:`InvalidShapeError` whose message is one short
sentence (in Korean, for the students) instead of a traceback from inside PyTorch.
:func:`check_conv` / :func:`check_pool` return the result or the reason without raising,
which is what a widget wants.
"""
from __future__ import annotations

from dataclasses import dataclass


class InvalidShapeError(ValueError):
    """A layer configuration that PyTorch would reject, with a short explanation."""

    def _render_traceback_(self):  # IPython shows just the message, no traceback
        return [f"InvalidShapeError: {self}"]


@dataclass(frozen=True)
class ShapeCheck:
    """Result of :func:`check_conv` / :func:`check_pool`: ``size`` or ``reason``."""

    size: int | None
    reason: str = ""
    formula: str = ""

    @property
    def ok(self) -> bool:
        return self.size is not None


def effective_kernel(f: int, d: int = 1) -> int:
    """Span of a dilated kernel: ``d*(f-1) + 1`` input cells."""
    return d * (f - 1) + 1


def _check_positive(f: int, s: int, p: int, d: int) -> None:
    if f < 1:
        raise InvalidShapeError(f"커널 크기(kernel size)는 1 이상이어야 합니다 (f={f}).")
    if s < 1:
        raise InvalidShapeError(f"스트라이드(stride)는 1 이상이어야 합니다 (s={s}).")
    if d < 1:
        raise InvalidShapeError(f"팽창(dilation)은 1 이상이어야 합니다 (d={d}).")
    if p < 0:
        raise InvalidShapeError(f"패딩(padding)은 0 이상이어야 합니다 (p={p}).")


def _too_big(n: int, f: int, p: int, d: int) -> InvalidShapeError:
    span = effective_kernel(f, d)
    dil = f" (dilation {d} → 실제 폭 {span})" if d > 1 else ""
    return InvalidShapeError(
        f"커널(kernel) {f}{dil}이 패딩을 더한 입력 {n}+2×{p}={n + 2 * p}보다 커서 "
        f"한 번도 놓일 자리가 없습니다 — 출력이 0칸이 됩니다.")


def conv_output_size(n: int, f: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    """Output length of a convolution along one axis (``nn.Conv1d/2d/3d``).

    ``n`` input size, ``f`` kernel size, ``s`` stride, ``p`` zero padding on each side,
    ``d`` dilation. Raises :class:`InvalidShapeError` when PyTorch would refuse.
    노트북 01 §2.3 에서 처음 전체 코드를 보여 줍니다 (first shown in full in
    notebooks/01_cnn_basics.ipynb, section 2.3: ``out_size``, the formula without dilation).
    """
    _check_positive(f, s, p, d)
    if n < 1:
        raise InvalidShapeError(f"입력 크기는 1 이상이어야 합니다 (n={n}).")
    if effective_kernel(f, d) > n + 2 * p:
        raise _too_big(n, f, p, d)
    return (n + 2 * p - effective_kernel(f, d)) // s + 1


def pool_output_size(n: int, f: int, s: int | None = None, p: int = 0, d: int = 1,
                     ceil_mode: bool = False) -> int:
    """Output length of a pooling layer along one axis (``nn.MaxPool2d`` / ``nn.AvgPool2d``).

    ``s`` defaults to ``f`` as in PyTorch. Padding may be at most half the kernel,
    and with ``ceil_mode`` the last window must start inside the input (or left padding).
    노트북 01 §2.6 에서 처음 전체 코드를 보여 줍니다 (first shown in full in
    notebooks/01_cnn_basics.ipynb, section 2.6: ``(W1 - F) // S + 1``).
    """
    s = f if s is None else s
    _check_positive(f, s, p, d)
    if n < 1:
        raise InvalidShapeError(f"입력 크기는 1 이상이어야 합니다 (n={n}).")
    if p > f // 2:
        raise InvalidShapeError(
            f"풀링의 패딩(padding) {p}이 커널 {f}의 절반({f // 2})보다 큽니다: "
            f"패딩만 보는 창이 생기므로 PyTorch가 허용하지 않습니다.")
    span = effective_kernel(f, d)
    top = n + 2 * p - span + (s - 1 if ceil_mode else 0)
    out = top // s + 1  # Python's // rounds toward -inf, like PyTorch's div_rtn
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1  # the last window would start in the right padding
    if out < 1:
        raise _too_big(n, f, p, d)
    return out


def _pair(x, name: str) -> tuple[int, int]:
    if isinstance(x, int):
        return (x, x)
    x = tuple(x)
    if len(x) != 2:
        raise ValueError(f"{name} must be an int or a pair, not {x!r}")
    return x


def conv2d_output_shape(size, kernel_size, stride=1, padding=0, dilation=1) -> tuple[int, int]:
    """``(H_out, W_out)`` of ``nn.Conv2d`` for an input of spatial ``size`` (int or (H, W)).

    One :func:`conv_output_size` per axis. 노트북 01 §2.3 에서 처음 전체 코드를 보여 줍니다
    (first shown in full in notebooks/01_cnn_basics.ipynb, section 2.3: ``out_size``, one axis).
    """
    args = [_pair(v, k) for v, k in ((size, "size"), (kernel_size, "kernel_size"), (stride, "stride"),
                                      (padding, "padding"), (dilation, "dilation"))]
    return tuple(conv_output_size(*axis) for axis in zip(*args))


def pool2d_output_shape(size, kernel_size, stride=None, padding=0, dilation=1,
                        ceil_mode: bool = False) -> tuple[int, int]:
    """``(H_out, W_out)`` of ``nn.MaxPool2d`` (or ``nn.AvgPool2d`` with dilation 1).

    One :func:`pool_output_size` per axis. 노트북 01 §2.6 에서 처음 전체 코드를 보여 줍니다
    (first shown in full in notebooks/01_cnn_basics.ipynb, section 2.6, one axis).
    """
    stride = kernel_size if stride is None else stride
    args = [_pair(v, k) for v, k in ((size, "size"), (kernel_size, "kernel_size"), (stride, "stride"),
                                      (padding, "padding"), (dilation, "dilation"))]
    return tuple(pool_output_size(n, f, s, p, d, ceil_mode) for n, f, s, p, d in zip(*args))


def conv_formula(n: int, f: int, s: int = 1, p: int = 0, d: int = 1) -> str:
    """The formula with the numbers filled in, e.g. ``⌊(7 + 2·1 − 3) / 2⌋ + 1 = 4``."""
    span = f"{f}" if d == 1 else f"{d}·({f}−1) − 1"
    head = f"⌊({n} + 2·{p} − {span}) / {s}⌋ + 1"
    try:
        return f"{head} = {conv_output_size(n, f, s, p, d)}"
    except InvalidShapeError:
        return f"{head} = {(n + 2 * p - effective_kernel(f, d)) // s + 1 if s > 0 else '?'} (< 1)"


def pool_formula(n: int, f: int, s: int | None = None) -> str:
    """The book's pooling formula ``(W1 − F) / S + 1`` with the numbers filled in."""
    s = f if s is None else s
    head = f"⌊({n} − {f}) / {s}⌋ + 1"
    try:
        return f"{head} = {pool_output_size(n, f, s)}"
    except InvalidShapeError:
        return f"{head} = {(n - f) // s + 1 if s > 0 else '?'} (< 1)"


def check_conv(n: int, f: int, s: int = 1, p: int = 0, d: int = 1) -> ShapeCheck:
    """:func:`conv_output_size` that returns the reason instead of raising."""
    try:
        return ShapeCheck(conv_output_size(n, f, s, p, d), "", conv_formula(n, f, s, p, d))
    except InvalidShapeError as err:
        return ShapeCheck(None, str(err), conv_formula(n, f, s, p, d))


def check_pool(n: int, f: int, s: int | None = None, p: int = 0, d: int = 1,
               ceil_mode: bool = False) -> ShapeCheck:
    """:func:`pool_output_size` that returns the reason instead of raising."""
    formula = pool_formula(n, f, s) if p == 0 and d == 1 and not ceil_mode else ""
    try:
        return ShapeCheck(pool_output_size(n, f, s, p, d, ceil_mode), "", formula)
    except InvalidShapeError as err:
        return ShapeCheck(None, str(err), formula)
