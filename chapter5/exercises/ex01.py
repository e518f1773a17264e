"""Exercises of notebook 01 (CNN basics): notebooks/01_cnn_basics.ipynb."""
from __future__ import annotations

from .core import Exercise, Incorrect, NotAttempted, expect_close, expect_number, is_blank, run
from .quiz import Quiz


def _torch():
    import torch
    from torch import nn

    return torch, nn


# --------------------------------------------------------------------------- 01-1 convolution by hand

def _test_conv_by_hand(fn):
    torch, _ = _torch()
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(1)
    for (h, w_), (kh, kw), s in [((5, 5), (3, 3), 1), ((7, 6), (3, 2), 1), ((9, 8), (3, 3), 2)]:
        x = torch.randn(h, w_, generator=g)
        k = torch.randn(kh, kw, generator=g)
        call = f"conv2d_by_hand(x {tuple(x.shape)}, w {tuple(k.shape)}, s={s})"
        got = run(fn, x.clone(), k.clone(), s, what=call)
        want = F.conv2d(x[None, None], k[None, None], stride=s)[0, 0]
        try:
            expect_close(got, want, call, atol=1e-4)
        except Incorrect:
            flipped = F.conv2d(x[None, None], k.flip(0, 1)[None, None], stride=s)[0, 0]
            if torch.allclose(got.float(), flipped, atol=1e-4):
                raise Incorrect(f"{call}: 커널을 뒤집어 곱했습니다 — PyTorch 의 합성곱은 커널을 뒤집지 않는 "
                                "교차 상관 (cross-correlation) 입니다") from None
            if s > 1:
                dense = F.conv2d(x[None, None], k[None, None])[0, 0][:got.shape[0], :got.shape[1]]
                if got.shape == dense.shape and torch.allclose(got.float(), dense, atol=1e-4):
                    raise Incorrect(f"{call}: 출력 (i, j) 의 창이 i, j 에서 시작합니다 — 스트라이드 s 이면 창은 "
                                    "i·s, j·s 에서 시작해야 합니다") from None
            raise


q1 = Exercise(
    "01-1", "손으로 하는 합성곱 (F.conv2d 와 비교)", "conv2d_by_hand", _test_conv_by_hand,
    hints=["출력 (i, j) 는 입력에서 커널과 겹치는 kH×kW 창과 커널을 칸끼리 곱해 모두 더한 값입니다.",
           "스트라이드 s 이면 출력 (i, j) 의 창은 입력의 행 i·s, 열 j·s 에서 시작합니다.",
           "window = x[i * s:i * s + kh, j * s:j * s + kw]"],
    template='''def conv2d_by_hand(x, w, s=1):
    """x: (H, W) 텐서, w: (kH, kW) 커널, 스트라이드 s, 패딩 0 → 출력 특성 맵"""
    H, W = x.shape
    kh, kw = w.shape
    out = torch.zeros((H - kh) // s + 1, (W - kw) // s + 1)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            window = ____                  # 출력 (i, j) 가 읽는 입력의 창
            out[i, j] = (window * w).sum()
    return out''',
    solution='''def conv2d_by_hand(x, w, s=1):
    """x: (H, W) 텐서, w: (kH, kW) 커널, 스트라이드 s, 패딩 0 → 출력 특성 맵"""
    H, W = x.shape
    kh, kw = w.shape
    out = torch.zeros((H - kh) // s + 1, (W - kw) // s + 1)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            window = x[i * s:i * s + kh, j * s:j * s + kw]
            out[i, j] = (window * w).sum()
    return out''',
    wrong=[('''def conv2d_by_hand(x, w, s=1):
    H, W = x.shape
    kh, kw = w.shape
    out = torch.zeros((H - kh) // s + 1, (W - kw) // s + 1)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            window = x[i:i + kh, j:j + kw]
            out[i, j] = (window * w).sum()
    return out''', "스트라이드"),
           ('''def conv2d_by_hand(x, w, s=1):
    H, W = x.shape
    kh, kw = w.shape
    out = torch.zeros((H - kh) // s + 1, (W - kw) // s + 1)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            window = x[i * s:i * s + kh, j * s:j * s + kw].flip(0, 1)
            out[i, j] = (window * w).sum()
    return out''', "교차 상관")],
    context=lambda: {"torch": _torch()[0]},
)


# --------------------------------------------------------------------------- 01-2 parameter count

def _test_conv_params(fn):
    _, nn = _torch()
    for c_in, c_out, k, bias in [(3, 8, 5, True), (1, 6, 5, True), (64, 128, 3, False), (192, 16, 1, True)]:
        call = f"conv_params({c_in}, {c_out}, {k}, bias={bias})"
        got = run(fn, c_in, c_out, k, bias, what=call)
        want = sum(p.numel() for p in nn.Conv2d(c_in, c_out, k, bias=bias).parameters())
        if got == c_out * k * k + (c_out if bias else 0) and got != want:
            raise Incorrect(f"{call}: {got} — 필터 하나의 깊이는 입력 채널 수 c_in 입니다 "
                            "(가중치 모양 (c_out, c_in, k, k))")
        if bias and got == c_out * c_in * k * k:
            raise Incorrect(f"{call}: {got} — 편향 (bias) 이 빠졌습니다: 필터마다 하나씩 c_out 개")
        if not bias and got == want + c_out:
            raise Incorrect(f"{call}: {got} — bias=False 이면 편향을 세지 않습니다")
        expect_number(got, want, call, why="가중치 c_out·c_in·k·k 개 + 편향 c_out 개 (bias=True 일 때)")


q2 = Exercise(
    "01-2", "합성곱층의 파라미터 수", "conv_params", _test_conv_params,
    hints=["nn.Conv2d 의 가중치 모양은 (출력 채널, 입력 채널, k, k) 입니다.",
           "편향 (bias) 은 출력 채널 (필터) 마다 하나입니다.",
           "c_out * c_in * k * k + (c_out if bias else 0)"],
    template='''def conv_params(c_in, c_out, k, bias=True):
    """nn.Conv2d(c_in, c_out, k, bias=bias) 의 파라미터 수"""
    return ____''',
    solution='''def conv_params(c_in, c_out, k, bias=True):
    """nn.Conv2d(c_in, c_out, k, bias=bias) 의 파라미터 수"""
    return c_out * c_in * k * k + (c_out if bias else 0)''',
    wrong=[('''def conv_params(c_in, c_out, k, bias=True):
    return c_out * k * k + (c_out if bias else 0)''', "입력 채널"),
           ('''def conv_params(c_in, c_out, k, bias=True):
    return c_out * c_in * k * k''', "편향")],
)


# --------------------------------------------------------------------------- 01-3 output size of a stack

_STACKS = [
    (28, [(3, 1, 0), (2, 2, 0), (3, 1, 0), (2, 2, 0)]),   # conv 3 -> pool 2 -> conv 3 -> pool 2
    (28, [(3, 1, 1), (2, 2, 0), (3, 1, 0), (2, 2, 0)]),   # notebook 02's CNN: ... -> 6
    (224, [(7, 2, 3), (3, 2, 1)]),                        # ResNet stem: 224 -> 112 -> 56
    (32, [(5, 3, 0), (3, 2, 1)]),                         # 32 -> 10 -> 5 (floor matters)
]


def _stack_size(n, layers, pad=2):
    for f, s, p in layers:
        n = (n + pad * p - f) // s + 1
    return n


def _test_stack_size(fn):
    for n, layers in _STACKS:
        call = f"stack_size({n}, {layers})"
        got = run(fn, n, list(layers), what=call)
        want = _stack_size(n, layers)
        if isinstance(got, float) and not float(got).is_integer():
            raise Incorrect(f"{call}: {got} — 크기는 정수입니다. 나눗셈은 / 가 아니라 내림 나눗셈 // 을 쓰세요")
        if got != want and got == _stack_size(n, layers, pad=1):
            raise Incorrect(f"{call}: {got} — 패딩은 양쪽에 붙으므로 2·p 를 더해야 합니다")
        if got != want and got == n:
            raise Incorrect(f"{call}: {got} — 입력 크기 그대로입니다. 반복문 안에서 n 을 새 크기로 바꾸었나요?")
        expect_number(got, want, call, why="층마다 n = (n + 2p − f) // s + 1 을 차례로 적용했는지 확인하세요")


q3 = Exercise(
    "01-3", "층을 쌓은 뒤의 출력 크기", "stack_size", _test_stack_size,
    hints=["층 하나의 출력 크기 공식을 층마다 차례로 적용합니다. 앞 층의 출력이 다음 층의 입력입니다.",
           "풀링도 같은 공식입니다 (패딩 p = 0). 나누어떨어지지 않으면 내림 (//) 합니다.",
           "n = (n + 2 * p - f) // s + 1"],
    template='''def stack_size(n, layers):
    """n×n 입력이 layers = [(f, s, p), ...] 의 층들을 차례로 지난 뒤의 한 변 크기"""
    for f, s, p in layers:
        n = ____
    return n''',
    solution='''def stack_size(n, layers):
    """n×n 입력이 layers = [(f, s, p), ...] 의 층들을 차례로 지난 뒤의 한 변 크기"""
    for f, s, p in layers:
        n = (n + 2 * p - f) // s + 1
    return n''',
    wrong=[('''def stack_size(n, layers):
    for f, s, p in layers:
        n = (n + p - f) // s + 1
    return n''', "2·p"),
           ('''def stack_size(n, layers):
    for f, s, p in layers:
        n = (n + 2 * p - f) / s + 1
    return n''', "//"),
           ('''def stack_size(n, layers):
    for f, s, p in layers:
        out = (n + 2 * p - f) // s + 1
    return n''', "반복문")],
)


# --------------------------------------------------------------------------- 01-4 1x1 channel reduction

def _test_make_reducer(fn):
    torch, nn = _torch()
    g = torch.Generator().manual_seed(4)
    for c_in, c_out, hw in [(4, 2, 5), (192, 16, 7), (64, 8, 3)]:
        call = f"make_reducer({c_in}, {c_out})"
        layer = run(fn, c_in, c_out, what=call)
        if is_blank(layer):
            raise NotAttempted(f"{call} 가 아직 빈칸 ____ 을 돌려줍니다")
        if not isinstance(layer, nn.Conv2d):
            raise Incorrect(f"{call}: nn.Conv2d 층이 필요한데 {type(layer).__name__} 을(를) 받았습니다")
        if layer.in_channels != c_in or layer.out_channels != c_out:
            raise Incorrect(f"{call}: 입력 채널 {layer.in_channels}, 출력 채널 {layer.out_channels} 인 층입니다 — "
                            f"nn.Conv2d(입력 채널 {c_in}, 출력 채널 {c_out}, ...) 순서인지 보세요")
        if tuple(layer.kernel_size) != (1, 1):
            raise Incorrect(f"{call}: 커널 크기가 {tuple(layer.kernel_size)} 입니다 — 1×1 합성곱은 kernel_size=1 "
                            "이라 이웃 픽셀을 섞지 않고 채널만 섞습니다")
        x = torch.randn(2, c_in, hw, hw, generator=g)
        with torch.no_grad():
            y = run(layer, x, what=f"{call}(x {tuple(x.shape)})")
            want = torch.einsum("oc,nchw->nohw", layer.weight[:, :, 0, 0], x)
            if layer.bias is not None:
                want = want + layer.bias.view(1, -1, 1, 1)
        expect_close(y, want, f"{call}(x {tuple(x.shape)})", atol=1e-4,
                     why="stride 1, 패딩 0 인 1×1 합성곱이면 높이·너비가 그대로입니다")


q4 = Exercise(
    "01-4", "1×1 합성곱으로 채널 줄이기", "make_reducer", _test_make_reducer,
    hints=["채널만 바꾸고 높이·너비는 그대로 두는 합성곱층을 만듭니다.",
           "nn.Conv2d(입력 채널, 출력 채널, kernel_size) 에서 커널 크기가 1 이면 이웃 픽셀을 보지 않습니다.",
           "nn.Conv2d(c_in, c_out, kernel_size=1)"],
    template='''def make_reducer(c_in, c_out):
    """채널 c_in 개를 c_out 개로 줄이고 높이·너비는 그대로 두는 층"""
    return ____''',
    solution='''def make_reducer(c_in, c_out):
    """채널 c_in 개를 c_out 개로 줄이고 높이·너비는 그대로 두는 층"""
    return nn.Conv2d(c_in, c_out, kernel_size=1)''',
    wrong=[('''def make_reducer(c_in, c_out):
    return nn.Conv2d(c_in, c_out, kernel_size=3, padding=1)''', "kernel_size=1"),
           ('''def make_reducer(c_in, c_out):
    return nn.Conv2d(c_out, c_in, kernel_size=1)''', "순서"),
           ('''def make_reducer(c_in, c_out):
    return nn.Linear(c_in, c_out)''', "nn.Conv2d 층이 필요한데")],
    context=lambda: {"nn": _torch()[1]},
)

EXERCISES = [q1, q2, q3, q4]
quiz = Quiz("01")
