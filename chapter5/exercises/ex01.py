"""Exercises of notebook 01 (CNN basics): notebooks/01_cnn_basics.ipynb.

Every check runs the learner's code on hidden cases chosen so that each known mistake gives a
different result (non-square inputs and kernels, strides with and without padding, sizes that
do not divide), names the mistake it sees, and never prints the answer itself.
"""
from __future__ import annotations

from .core import (Exercise, Incorrect, LearnerError, allclose, as_number, as_tensor, expect_close,
                   expect_number, run)
from .quiz import Quiz


def _torch():
    import torch
    from torch import nn

    return torch, nn


def _shape_error(err: LearnerError) -> bool:
    text = str(err)
    return "must match the size" in text or "shape" in text and "broadcast" in text or "size of tensor" in text


# --------------------------------------------------------------------------- 01-1 convolution by hand

_CONV_CASES = [((5, 5), (3, 3), 1), ((7, 6), (3, 2), 1), ((9, 8), (3, 3), 2), ((11, 10), (4, 3), 3)]


def _test_conv_by_hand(fn):
    torch, _ = _torch()
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(1)
    for (h, w_), (kh, kw), s in _CONV_CASES:
        x = torch.randn(h, w_, generator=g)
        k = torch.randn(kh, kw, generator=g)
        call = f"conv2d_by_hand(x {tuple(x.shape)}, w {tuple(k.shape)}, s={s})"
        try:
            got = run(fn, x.clone(), k.clone(), s, what=call)
        except LearnerError as err:
            if _shape_error(err) and kh == kw:
                raise Incorrect(f"{call}: 창 (window) 과 커널의 모양이 다릅니다 — 창은 kH×kW 여야 합니다. 슬라이스의 "
                                "끝 a:b 는 b 를 포함하지 않는다는 점을 떠올려 보세요") from None
            if _shape_error(err):
                raise Incorrect(f"{call}: 정사각형이 아닌 커널에서 창과 커널의 모양이 어긋납니다 — 창의 높이(행)는 kh, "
                                "너비(열)는 kw 로 잘랐는지 보세요") from None
            raise
        got_t = as_tensor(got, call)
        want = F.conv2d(x[None, None], k[None, None], stride=s)[0, 0]
        if allclose(got_t, want):
            continue
        if allclose(got_t, F.conv2d(x[None, None], k.flip(0, 1)[None, None], stride=s)[0, 0]):
            raise Incorrect(f"{call}: 커널을 뒤집어 곱했습니다 — PyTorch 의 합성곱은 커널을 뒤집지 않는 "
                            "교차 상관 (cross-correlation) 입니다")
        if allclose(got_t, want.T):
            raise Incorrect(f"{call}: 출력의 행과 열이 뒤바뀌었습니다 — 출력 (i, j) 의 i 는 입력의 행(세로), "
                            "j 는 열(가로) 방향입니다")
        if s > 1:
            dense = F.conv2d(x[None, None], k[None, None])[0, 0][:got_t.shape[0], :got_t.shape[1]]
            if allclose(got_t, dense):
                raise Incorrect(f"{call}: 스트라이드 s={s} 인데 창이 한 칸씩 움직입니다 — 출력 (i, j) 의 창이 "
                                "어디서 시작하는지 s 를 넣어 다시 보세요")
            dil = F.conv2d(x[None, None], k[None, None], dilation=s)[0, 0]
            if dil.shape[0] >= got_t.shape[0] and dil.shape[1] >= got_t.shape[1] and \
                    allclose(got_t, dil[:got_t.shape[0], :got_t.shape[1]]):
                raise Incorrect(f"{call}: 창 안의 칸을 s 칸씩 건너뛰었습니다 — 스트라이드는 창이 움직이는 간격이지 "
                                "창 안의 칸 간격 (그것은 dilation) 이 아닙니다")
        expect_close(got_t, want, call, atol=1e-4,
                     why="창이 입력의 어디에서 시작해 어디까지인지 (행·열, 스트라이드) 다시 보세요")


q1 = Exercise(
    "01-1", "손으로 하는 합성곱 (F.conv2d 와 비교)", "conv2d_by_hand", _test_conv_by_hand,
    hints=["출력 (i, j) 는 입력에서 커널과 겹치는 kH×kW 창과 커널을 칸끼리 곱해 모두 더한 값입니다.",
           "스트라이드 s 이면 출력 (i, j) 의 창은 입력의 행 i·s, 열 j·s 에서 시작해 kh 행, kw 열입니다.",
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

_PARAM_CASES = [(3, 8, 5, True), (1, 6, 5, True), (64, 128, 3, False), (192, 16, 1, True), (7, 5, 2, True)]


def _test_conv_params(fn):
    _, nn = _torch()
    for c_in, c_out, k, bias in _PARAM_CASES:
        call = f"conv_params({c_in}, {c_out}, {k}, bias={bias})"
        got = as_number(run(fn, c_in, c_out, k, bias, what=call), call)
        want = sum(p.numel() for p in nn.Conv2d(c_in, c_out, k, bias=bias).parameters())
        if got == want:
            continue
        b = c_out if bias else 0
        if got == c_out * k * k + b:
            raise Incorrect(f"{call}: {got:g} — 필터 하나의 깊이(입력 채널 수)를 빠뜨렸습니다. 가중치 텐서의 모양 "
                            "(out_channels, in_channels, kH, kW) 를 떠올려 보세요")
        if got == c_out * c_in * k + b:
            raise Incorrect(f"{call}: {got:g} — 커널은 k×k 칸인데 k 칸만 셌습니다")
        if bias and got == c_out * c_in * k * k:
            raise Incorrect(f"{call}: {got:g} — 편향 (bias) 을 세지 않았습니다: bias=True 이면 필터마다 하나씩 있습니다")
        if not bias and got == want + c_out:
            raise Incorrect(f"{call}: {got:g} — bias=False 인데 편향을 셌습니다. 인자 bias 를 보고 더할지 정하세요")
        if bias and got == c_out * c_in * k * k + c_in:
            raise Incorrect(f"{call}: {got:g} — 편향은 입력 채널이 아니라 출력 채널 (필터) 마다 하나입니다")
        if bias and got == c_out * c_in * k * k + 1:
            raise Incorrect(f"{call}: {got:g} — 편향을 층 전체에 하나만 셌습니다. 필터마다 자기 편향이 있습니다")
        expect_number(got, want, call, why="가중치 텐서의 모양과 편향의 개수를 따로 세어 더했는지 보세요 (.hint())")


q2 = Exercise(
    "01-2", "합성곱층의 파라미터 수", "conv_params", _test_conv_params,
    hints=["nn.Conv2d 의 가중치 모양은 (출력 채널, 입력 채널, k, k) 입니다.",
           "편향 (bias) 은 출력 채널 (필터) 마다 하나입니다. bias=False 이면 없습니다.",
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
    (28, [(3, 1, 0), (2, 2, 0), (3, 1, 0), (2, 2, 0)]),   # conv 3 -> pool 2 -> conv 3 -> pool 2: 5
    (28, [(3, 1, 1), (2, 2, 0), (3, 1, 0), (2, 2, 0)]),   # notebook 02's CNN: ... -> 6
    (224, [(7, 2, 3), (3, 2, 1)]),                        # ResNet stem: 224 -> 112 -> 56
    (32, [(5, 3, 0), (3, 2, 1)]),                         # 32 -> 10 -> 5 (floor matters)
    (17, [(5, 2, 2), (3, 3, 0)]),                         # 17 -> 9 -> 3: strides with padding, odd sizes
]

# formulas learners write instead of (n + 2p - f) // s + 1, each with what it gets wrong
_WRONG_SIZE = [
    (lambda n, f, s, p: n // s,
     "합성곱이 커널 크기만큼 줄이는 것 (−f) 과 패딩 (+2p) 을 빠뜨렸습니다 — n // s 는 'same' 패딩일 때만 맞습니다"),
    (lambda n, f, s, p: (n + p - f) // s + 1, "패딩은 양쪽 (위·아래, 왼쪽·오른쪽) 에 붙습니다 — p 를 몇 번 더하는지 보세요"),
    (lambda n, f, s, p: (n + 2 * p - f) // s, "+1 이 빠졌습니다 — 창이 처음 놓이는 자리도 출력 한 칸입니다"),
    (lambda n, f, s, p: (n + 2 * p - f + 1) // s, "+1 을 나눗셈 안에 넣었습니다 — 나눈 몫에 1 을 더하세요"),
    (lambda n, f, s, p: -(-(n + 2 * p - f) // s) + 1,
     "나눗셈을 올림했습니다 — 창이 입력 밖으로 나가면 그 자리는 출력이 없으므로 내림 (//) 입니다"),
    (lambda n, f, s, p: n - f + 2 * p // s + 1, "연산 순서: 괄호가 없어 2p 만 s 로 나누었습니다 — (n + 2p − f) 전체를 나누세요"),
]


def _stack_size(n, layers, formula=None):
    for f, s, p in layers:
        n = formula(n, f, s, p) if formula else (n + 2 * p - f) // s + 1
    return n


def _test_stack_size(fn):
    for n, layers in _STACKS:
        call = f"stack_size({n}, {layers})"
        raw = run(fn, n, [tuple(layer) for layer in layers], what=call)
        got = as_number(raw, call)
        want = _stack_size(n, layers)
        if got == want:
            continue
        if not float(got).is_integer():
            raise Incorrect(f"{call}: {got:g} — 크기는 정수입니다. 나눗셈 / 는 소수를 만듭니다: 내림 나눗셈을 쓰세요")
        if got == n:
            raise Incorrect(f"{call}: {got:g} — 입력 크기 그대로입니다. 반복문 안에서 n 을 새 크기로 바꾸었나요?")
        if got == _stack_size(n, layers[:1]) and len(layers) > 1:
            raise Incorrect(f"{call}: {got:g} — 첫 층만 계산하고 돌려주었습니다 — return 이 반복문 안에 있지 않은지 보세요")
        for formula, why in _WRONG_SIZE:
            if got == _stack_size(n, layers, formula):
                raise Incorrect(f"{call}: {got:g} — {why}")
        expect_number(got, want, call, why="층마다 한 층의 출력 크기 공식을 차례로 적용했는지 보세요 (.hint())")


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
    return n''', "양쪽"),
           ('''def stack_size(n, layers):
    for f, s, p in layers:
        n = (n + 2 * p - f) / s + 1
    return n''', "내림 나눗셈"),
           ('''def stack_size(n, layers):
    for f, s, p in layers:
        out = (n + 2 * p - f) // s + 1
    return n''', "반복문"),
           ('''def stack_size(n, layers):
    for f, s, p in layers:
        n = n // s
    return n''', "same")],
)


# --------------------------------------------------------------------------- 01-4 1x1 channel reduction

def _test_make_reducer(fn):
    torch, nn = _torch()
    g = torch.Generator().manual_seed(4)
    for c_in, c_out, hw in [(4, 2, 5), (192, 16, 7), (64, 8, 3)]:
        call = f"make_reducer({c_in}, {c_out})"
        layer = run(fn, c_in, c_out, what=call)
        if isinstance(layer, type):
            raise Incorrect(f"{call}: 층의 종류 ({layer.__name__}) 를 돌려주었습니다 — 괄호를 붙여 층을 만들어 "
                            "돌려주세요")
        if not isinstance(layer, nn.Module):
            raise Incorrect(f"{call}: 층 (nn.Module) 이 필요한데 {type(layer).__name__} 을(를) 받았습니다")
        layer.eval()  # a batch norm after the 1x1 convolution must not mix pixels through batch statistics
        x = torch.randn(2, c_in, hw, hw, generator=g)
        xcall = f"{call}(x {tuple(x.shape)})"
        convs = [m for m in layer.modules() if isinstance(m, nn.Conv2d)]
        with torch.no_grad():
            try:
                y = run(layer, x, what=xcall)
            except LearnerError as err:
                if isinstance(layer, nn.Linear) or any(isinstance(m, nn.Linear) for m in layer.modules()):
                    raise Incorrect(f"{xcall}: nn.Linear 는 마지막 차원 (너비) 에 작용합니다 — 픽셀마다 채널을 섞는 "
                                    "층은 합성곱층입니다") from None
                if convs and convs[0].in_channels != c_in:
                    raise Incorrect(f"{call}: 입력 채널이 {convs[0].in_channels} 인 층입니다 — nn.Conv2d 의 인자 "
                                    "순서 (입력 채널, 출력 채널, 커널 크기) 를 보세요") from None
                raise Incorrect(f"{xcall} 에서 오류가 났습니다: {err}") from None
            y = as_tensor(y, xcall)
            if y.dim() != 4 or y.shape[0] != 2:
                raise Incorrect(f"{xcall}: 출력 모양이 {tuple(y.shape)} 입니다 — (N, C, H, W) 특성 맵이 나와야 합니다")
            if y.shape[1] != c_out:
                if any(isinstance(m, nn.Linear) for m in layer.modules()):
                    raise Incorrect(f"{xcall}: nn.Linear 는 마지막 차원 (너비) 에 작용합니다 — 픽셀마다 채널을 섞는 "
                                    "층은 합성곱층입니다")
                raise Incorrect(f"{xcall}: 출력 채널이 {y.shape[1]} 개입니다 — 출력 채널 수는 c_out 입니다")
            if tuple(y.shape[2:]) != (hw, hw):
                big = [m for m in convs if tuple(m.kernel_size) != (1, 1)]
                strided = [m for m in convs if tuple(m.stride) != (1, 1)]
                if strided:
                    raise Incorrect(f"{xcall}: 높이·너비가 {hw}×{hw} → {tuple(y.shape[2:])} 로 줄었습니다 — "
                                    "stride 가 1 이 아닙니다")
                raise Incorrect(f"{xcall}: 높이·너비가 {hw}×{hw} → {tuple(y.shape[2:])} 로 줄었습니다 — "
                                + ("커널이 1×1 보다 커서 가장자리를 잃습니다" if big else "층의 종류를 보세요"))
            # one pixel changed: only that pixel's output may change (1x1 mixes channels, not neighbours)
            x2 = x.clone()
            x2[:, :, hw // 2, hw // 2] += 1.0
            diff = (as_tensor(layer(x2), xcall) - y).abs().sum(dim=(0, 1))
            diff[hw // 2, hw // 2] = 0
            if float(diff.max()) > 1e-5:
                raise Incorrect(f"{xcall}: 한 픽셀을 바꾸었더니 이웃 픽셀의 출력도 바뀌었습니다 — 크기를 유지하려고 "
                                "패딩을 준 큰 커널입니다. 1×1 합성곱은 이웃 픽셀을 보지 않고 채널만 섞습니다")
        n_params = sum(p.numel() for p in layer.parameters())
        if n_params > c_out * c_in + 3 * c_out:  # weights + bias (+ a batch norm's scale/shift)
            raise Incorrect(f"{call}: 파라미터가 {n_params:,}개로 1×1 합성곱보다 많습니다 — 커널 크기를 보세요")


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
    return nn.Conv2d(c_in, c_out, kernel_size=3, padding=1)''', "이웃 픽셀"),
           ('''def make_reducer(c_in, c_out):
    return nn.Conv2d(c_out, c_in, kernel_size=1)''', "순서"),
           ('''def make_reducer(c_in, c_out):
    return nn.Linear(c_in, c_out)''', "nn.Linear")],
    context=lambda: {"nn": _torch()[1]},
)


# --------------------------------------------------------------------------- challenge: conv2d from scratch

_CHALLENGE_CASES = [  # (N, C_in, H, W), (C_out, kH, kW), stride, padding, dilation
    ((2, 3, 7, 6), (4, 3, 2), 1, 0, 1),
    ((1, 2, 9, 9), (3, 3, 3), 2, 1, 1),
    ((2, 2, 10, 8), (2, 3, 3), 1, 0, 2),
    ((1, 3, 11, 12), (2, 3, 2), 3, 2, 2),
]


def _test_challenge(fn):
    torch, _ = _torch()
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(11)
    for xs, (c_out, kh, kw), s, p, d in _CHALLENGE_CASES:
        x = torch.randn(*xs, generator=g)
        w = torch.randn(c_out, xs[1], kh, kw, generator=g)
        b = torch.randn(c_out, generator=g)
        call = (f"my_conv2d(x {tuple(x.shape)}, w {tuple(w.shape)}, b, stride={s}, padding={p}, "
                f"dilation={d})")
        want = F.conv2d(x, w, b, stride=s, padding=p, dilation=d)

        def forbidden(*args, **kwargs):
            raise _UsedLibrary("F.conv2d 를 불렀습니다")

        def forbidden_layer(*args, **kwargs):
            raise _UsedLibrary("nn.Conv2d 층을 만들어 불렀습니다")

        saved = (F.conv2d, torch.conv2d, torch.nn.Conv2d._conv_forward)
        F.conv2d = torch.conv2d = forbidden
        torch.nn.Conv2d._conv_forward = forbidden_layer
        try:
            got = run(fn, x.clone(), w.clone(), b.clone(), s, p, d, what=call)
        except _UsedLibrary as used:
            raise Incorrect(f"{call}: {used} — 이 도전은 PyTorch 의 합성곱 없이 반복문 (또는 unfold) 으로 "
                            "직접 계산합니다") from None
        except LearnerError as err:
            if _shape_error(err):
                raise Incorrect(f"{call}: 창과 커널의 모양이 어긋납니다 — 창을 자를 때 dilation 간격과 커널 크기, "
                                "행(kh)·열(kw) 을 보세요 (오류: {err})") from None
            raise
        finally:
            F.conv2d, torch.conv2d, torch.nn.Conv2d._conv_forward = saved
        got = as_tensor(got, call)
        if allclose(got, want):
            continue
        nb = want - b.view(1, -1, 1, 1)
        known = [  # what each known mistake computes, and what to say
            (nb, "편향 b 를 더하지 않았습니다 — 출력 채널마다 자기 편향을 더합니다"),
            (F.conv2d(x, w.flip(2, 3), b, stride=s, padding=p, dilation=d),
             "커널을 뒤집었습니다 — F.conv2d 는 교차 상관 (cross-correlation) 입니다"),
            (F.conv2d(x[:, :1], w[:, :1], b, stride=s, padding=p, dilation=d),
             "입력 채널 0 만 계산했습니다 — 출력 한 칸은 모든 입력 채널 (C_in) 의 창을 더한 값입니다"),
        ]
        if p > 0:
            known += [(F.conv2d(F.pad(x, (p, 0, p, 0)), w, b, stride=s, dilation=d),
                       "패딩을 한쪽 (위·왼쪽) 에만 붙였습니다 — 위·아래·왼쪽·오른쪽 모두 p 줄씩입니다"),
                      (F.conv2d(F.pad(x, (p, p)), w, b, stride=s, dilation=d),
                       "패딩을 너비 방향에만 붙였습니다 — F.pad 의 네 값 (왼쪽, 오른쪽, 위, 아래) 을 모두 주세요")]
        if s > 1:
            dense = F.conv2d(x, w, b, padding=p, dilation=d)
            known += [(dense[..., :got.shape[-2], :got.shape[-1]] if got.dim() == 4 else dense,
                       f"스트라이드 {s} 를 무시했습니다 — 출력 (i, j) 의 창은 i·stride, j·stride 에서 시작합니다")]
        if d > 1:
            plain = F.conv2d(x, w, b, stride=s, padding=p)
            known += [(plain, "dilation 을 무시했습니다: 커널이 덮는 범위는 d·(k−1)+1 칸이고 창 안의 칸은 d 칸 "
                              "간격입니다 — 출력 크기 공식과 창 자르기를 보세요"),
                      (plain[..., :got.shape[-2], :got.shape[-1]] if got.dim() == 4 else plain,
                       f"dilation={d} 을 창 안에서 무시했습니다 — 출력 크기는 맞지만 창 안의 칸을 d 칸 간격으로 읽으세요")]
        for value, why in known:
            if allclose(got, value):
                raise Incorrect(f"{call}: {why}")
        if got.shape != want.shape:
            raise Incorrect(f"{call}: 출력 모양이 {tuple(got.shape)} 인데 F.conv2d 는 {tuple(want.shape)} 입니다 — "
                            "(N, C_out, H_out, W_out) 와 출력 크기 공식 (패딩, dilation, 스트라이드) 을 보세요")
        expect_close(got, want, call, atol=1e-4, why="한 칸씩 비교해 보세요: 작은 입력으로 F.conv2d 와 나란히 출력")


class _UsedLibrary(BaseException):  # learner code cannot catch it; core.run lets it through
    """The challenge called PyTorch's own convolution."""


_CHALLENGE_SOLUTION = '''def my_conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
    """x: (N, C_in, H, W), w: (C_out, C_in, kH, kW), b: (C_out,) → F.conv2d 와 같은 결과"""
    C_out, _, kh, kw = w.shape
    x = F.pad(x, (padding, padding, padding, padding))        # 왼쪽·오른쪽·위·아래에 0
    N, C, H, W = x.shape                                      # 패딩한 크기
    span_h, span_w = dilation * (kh - 1) + 1, dilation * (kw - 1) + 1   # 커널이 덮는 범위
    H_out = (H - span_h) // stride + 1
    W_out = (W - span_w) // stride + 1
    out = torch.zeros(N, C_out, H_out, W_out)
    for i in range(H_out):
        for j in range(W_out):
            r, c = i * stride, j * stride
            window = x[:, :, r:r + span_h:dilation, c:c + span_w:dilation]   # (N, C, kh, kw)
            out[:, :, i, j] = torch.einsum("nckl,ockl->no", window, w)
    if b is not None:
        out += b.view(1, -1, 1, 1)
    return out'''

challenge = Exercise(
    "01-C", "도전: stride·padding·dilation 이 있는 conv2d 를 처음부터", "my_conv2d", _test_challenge,
    hints=["먼저 출력 크기: 커널이 덮는 범위는 dilation·(k−1)+1 칸. 패딩은 F.pad 로 네 방향에 붙입니다.",
           "출력 (i, j) 의 창은 패딩한 입력의 행 i·stride, 열 j·stride 에서 시작하고, 창 안은 dilation 칸 간격 "
           "(슬라이스의 세 번째 값). 창 (N, C, kh, kw) 과 w (C_out, C, kh, kw) 를 곱해 C, kh, kw 로 더합니다.",
           "window = x[:, :, r:r + span_h:dilation, c:c + span_w:dilation]  그리고  "
           "out[:, :, i, j] = torch.einsum('nckl,ockl->no', window, w)  (편향은 마지막에 b.view(1, -1, 1, 1))"],
    template='''def my_conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
    """x: (N, C_in, H, W), w: (C_out, C_in, kH, kW), b: (C_out,) → F.conv2d 와 같은 결과"""
    ____''',
    solution=_CHALLENGE_SOLUTION,
    wrong=[(_CHALLENGE_SOLUTION.replace("    if b is not None:\n        out += b.view(1, -1, 1, 1)\n", ""), "편향"),
           (_CHALLENGE_SOLUTION.replace("r:r + span_h:dilation, c:c + span_w:dilation", "r:r + kh, c:c + kw"),
            "dilation"),
           ('''def my_conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
    return F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation)''', "직접")],
    context=lambda: {"torch": _torch()[0], "F": __import__("torch.nn.functional", fromlist=["F"])},
)

EXERCISES = [q1, q2, q3, q4, challenge]
quiz = Quiz("01")
