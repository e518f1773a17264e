"""Exercises of notebook 05 (feature maps, Grad-CAM): notebooks/05_feature_maps.ipynb.

05-1 a forward hook, 05-2 min-max for display, 05-3 the Grad-CAM layer, 05-4 Grad-CAM weights, and a
challenge (``challenge``): Grad-CAM at any layer plus a deletion curve that must fall faster than
random deletion, on a small hand-made CNN.
"""
from __future__ import annotations

from .core import (Exercise, Incorrect, LearnerError, NotAttempted, allclose, as_tensor, expect_close,
                   expect_shape, is_blank, run)
from .quiz import Quiz


def _ctx():
    import torch
    from torch import nn

    return {"torch": torch, "nn": nn}


def _small_net():
    from torch import nn

    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(inplace=True), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(6, 2))


class _GradModel:
    """Builds a model whose forward runs with gradients on even inside ``torch.no_grad()`` (as a
    Grad-CAM model does): a hook that keeps ``output`` without ``.detach()`` then holds the graph."""

    @staticmethod
    def make(net):
        import torch
        from torch import nn

        class WithGrad(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = net

            def forward(self, x):
                with torch.enable_grad():
                    return self.net(x)

        return WithGrad()


# --------------------------------------------------------------------------- 05-1 a forward hook

def _hooked(fn, net, layer, x, call):
    try:
        got = run(fn, net, layer, x, what=call)
    except LearnerError as err:
        if "KeyError" in str(err):
            raise Incorrect(f"{call}: 훅이 한 번도 불리지 않아 saved 가 비어 있습니다 (KeyError) — 훅을 model(x) 보다 "
                            "먼저 떼지 않았는지, 훅을 단 층이 layer 인지 보세요") from None
        raise
    left = len(layer._forward_hooks)
    if left:
        raise Incorrect(f"{call}: 실행 뒤에도 훅이 {left}개 남아 있습니다 (layer._forward_hooks) — "
                        "register_forward_hook 이 돌려준 handle 로 훅을 떼세요")
    if not hasattr(got, "detach") or not hasattr(got, "shape"):
        raise Incorrect(f"{call}: 텐서가 필요한데 {type(got).__name__} 을(를) 받았습니다 — 훅이 받은 output 을 저장해 돌려주세요")
    return got


def _test_hooked_output(fn):
    import torch

    torch.manual_seed(0)
    net = _small_net().eval()
    with torch.no_grad():                       # make BatchNorm's output clearly negative in places
        net[1].running_mean.fill_(0.5)
    x = torch.randn(2, 3, 12, 12)
    layer = net[1]                              # BatchNorm2d, followed by ReLU(inplace=True)
    with torch.no_grad():
        conv_out = net[0](x)
        want = net[1](conv_out)
    call = "hooked_output(net, net[1], x)"
    got = _hooked(fn, net, layer, x, call)
    if tuple(got.shape) == tuple(want.shape[1:]):
        raise Incorrect(f"{call}: 모양이 {tuple(got.shape)} 입니다 — 배치의 첫 샘플만 저장했습니다. output 전체를 저장하세요")
    if allclose(got, conv_out, atol=1e-5):
        raise Incorrect(f"{call}: 층의 입력 (inputs) 을 저장했습니다 — 훅의 세 번째 인자 output 이 층의 출력입니다")
    overwritten = allclose(got, want.clamp_min(0), atol=1e-5)
    call_g = "hooked_output(model, layer, x)  # forward 안에서 기울기를 켜는 모델 (Grad-CAM 처럼)"
    got_g = _hooked(fn, _GradModel.make(net), layer, x, call_g)
    if getattr(got_g, "requires_grad", False):
        if overwritten:
            raise Incorrect(f"{call}: output 을 detach() 도 clone() 도 없이 그대로 저장했습니다 — 뒤 층의 in-place ReLU 가 "
                            "값을 덮어쓰고, 계산 그래프도 붙어 있습니다. 노트북 5절의 두 가지 이유를 다시 보세요")
        raise Incorrect(f"{call_g}: 저장한 텐서가 계산 그래프에 붙어 있습니다 (requires_grad=True) — 그래프를 끊는 "
                        "메서드가 빠졌습니다. 템플릿의 torch.no_grad() 는 기울기를 켜는 모델에서는 막아 주지 못합니다")
    if overwritten:
        raise Incorrect(f"{call}: 저장한 값의 음수가 모두 0 이 되었습니다 — 다음 층의 ReLU(inplace=True) 가 같은 메모리를 "
                        "덮어썼습니다. detach() 는 메모리를 공유합니다: 따로 복사해 두세요")
    expect_close(got, want, call, why="훅이 받은 output 을 그대로 복사해 저장했는지 보세요")


q1 = Exercise(
    "05-1", "포워드 훅으로 특성 맵 꺼내기", "hooked_output", _test_hooked_output,
    hints=["훅 함수는 (module, inputs, output) 을 받습니다. 저장할 것은 output 입니다. 그리고 훅은 다 쓰면 뗍니다.",
           "두 가지가 필요합니다: 계산 그래프를 끊기 (detach) 와, 뒤 층의 ReLU(inplace=True) 가 덮어쓰지 못하게 복사하기 "
           "(clone). register_forward_hook 이 돌려준 handle 에는 remove() 가 있습니다.",
           "saved[\"out\"] = output.detach().clone()  그리고 forward 뒤에 handle.remove()"],
    template='''def hooked_output(model, layer, x):
    """model(x) 를 한 번 실행하는 동안 layer 의 출력을 훅으로 꺼내 돌려준다 (훅은 반드시 뗀다)"""
    saved = {}

    def hook(module, inputs, output):
        saved["out"] = ____

    handle = layer.register_forward_hook(hook)
    with torch.no_grad():
        model(x)
    ____  # 훅 떼기
    return saved["out"]''',
    solution='''def hooked_output(model, layer, x):
    """model(x) 를 한 번 실행하는 동안 layer 의 출력을 훅으로 꺼내 돌려준다 (훅은 반드시 뗀다)"""
    saved = {}

    def hook(module, inputs, output):
        saved["out"] = output.detach().clone()

    handle = layer.register_forward_hook(hook)
    with torch.no_grad():
        model(x)
    handle.remove()  # 훅 떼기
    return saved["out"]''',
    wrong=[('''def hooked_output(model, layer, x):
    saved = {}

    def hook(module, inputs, output):
        saved["out"] = output.detach().clone()

    handle = layer.register_forward_hook(hook)
    with torch.no_grad():
        model(x)
    return saved["out"]''', "훅이 1개 남아"),
           ('''def hooked_output(model, layer, x):
    saved = {}

    def hook(module, inputs, output):
        saved["out"] = output.detach()

    handle = layer.register_forward_hook(hook)
    with torch.no_grad():
        model(x)
    handle.remove()
    return saved["out"]''', "덮어썼습니다"),
           ('''def hooked_output(model, layer, x):
    saved = {}

    def hook(module, inputs, output):
        saved["out"] = output.clone()

    handle = layer.register_forward_hook(hook)
    with torch.no_grad():
        model(x)
    handle.remove()
    return saved["out"]''', "계산 그래프에 붙어"),
           ('''def hooked_output(model, layer, x):
    saved = {}

    def hook(module, inputs, output):
        saved["out"] = inputs[0].detach().clone()

    handle = layer.register_forward_hook(hook)
    with torch.no_grad():
        model(x)
    handle.remove()
    return saved["out"]''', "입력 (inputs)")],
    context=_ctx,
)


# --------------------------------------------------------------------------- 05-2 min-max for display

def _unit(fn, m, call):
    import torch

    arg = m.clone()
    got = as_tensor(run(fn, arg, what=call), call)
    if not torch.equal(arg, m):
        raise Incorrect(f"{call}: 넘겨받은 m 자체를 바꿨습니다 (in-place: m -= …, m /= …) — 노트북의 특성 맵이 망가집니다. "
                        "m 은 그대로 두고 새 텐서를 만들어 돌려주세요")
    expect_shape(got, m.shape, call, why="모양은 그대로 두고 값만 바꿉니다")
    return got


def _test_to_unit(fn):
    import torch

    torch.manual_seed(0)
    m = torch.randn(5, 7) * 3 - 2
    call = "to_unit(m)"
    got = _unit(fn, m, call)
    want = (m - m.min()) / (m.max() - m.min())
    if not torch.isnan(got).any() and not allclose(got, want, atol=1e-5):
        if allclose(got, m / m.max(), atol=1e-5):
            raise Incorrect(f"{call}: 최솟값이 0 이 아니라 {float(got.min()):.3g} 입니다 — 최댓값으로 나누기 전에 "
                            "먼저 할 일이 있습니다")
        if allclose(got, m.clamp(0, 1), atol=1e-5):
            raise Incorrect(f"{call}: [0, 1] 밖의 값을 잘라냈습니다 (clamp) — 자르지 말고 값의 범위를 옮기고 줄여서 맞추세요")
        if allclose(got, (m - m.min()) / m.max(), atol=1e-5):
            raise Incorrect(f"{call}: 최댓값이 1 이 아니라 {float(got.max()):.3g} 입니다 — 최솟값을 뺀 뒤의 범위로 나누세요 "
                            "(m.max() 가 아니라)")
    for value, label in ((0.0, "0"), (2.5, "2.5")):
        flat = torch.full((3, 4), value)
        call_f = f"to_unit(torch.full((3, 4), {label}))"
        got_f = _unit(fn, flat, call_f)
        if torch.isnan(got_f).any() or torch.isinf(got_f).any():
            if value != 0.0:                          # the all-zero map passed just before
                raise Incorrect(f"{call_f}: 값이 모두 0 인 맵은 처리했지만 모두 2.5 인 맵에서 NaN 이 나왔습니다 — 조건이 "
                                "'최댓값이 0 인가' 가 아니라 '최댓값과 최솟값이 같은가' 여야 합니다")
            raise Incorrect(f"{call_f}: 값이 모두 같은 맵 (죽은 채널) 에서 NaN 이 나왔습니다 — 0 으로 나누게 됩니다. "
                            "나누기 전에 그 경우를 먼저 처리하세요")
        if allclose(got_f, torch.ones_like(flat)):
            raise Incorrect(f"{call_f}: 값이 모두 같은 맵을 1 로 채웠습니다 — 문제는 0 으로 채우라고 합니다")
        expect_close(got_f, torch.zeros_like(flat), call_f, why="값이 모두 같은 맵은 0 으로 채웁니다")
    if torch.isnan(got).any():
        raise Incorrect(f"{call}: NaN 이 나왔습니다 — 나누는 값이 0 이 되지 않는지 보세요")
    expect_close(got, want, call, why="최솟값 → 0, 최댓값 → 1 이 되게 옮기고 줄였는지 보세요")


q2 = Exercise(
    "05-2", "특성 맵을 [0, 1] 로 맞추기 (min-max)", "to_unit", _test_to_unit,
    hints=["최솟값이 0, 최댓값이 1 이 되려면 두 단계입니다: 먼저 옮기고 (빼기), 그다음 줄입니다 (나누기).",
           "먼저 최솟값 lo 를 빼면 범위가 [0, hi − lo] 가 됩니다. 값이 모두 같으면 hi − lo = 0 이라 나눌 수 없으니 "
           "그 경우를 if 로 먼저 처리합니다.",
           "if hi == lo:  …  return (m - lo) / (hi - lo)"],
    template='''def to_unit(m):
    """특성 맵 m 을 [0, 1] 로 맞춘다 (최솟값 → 0, 최댓값 → 1). 값이 모두 같으면 0 으로 채운다."""
    lo, hi = m.min(), m.max()
    if ____:
        return torch.zeros_like(m)
    return ____''',
    solution='''def to_unit(m):
    """특성 맵 m 을 [0, 1] 로 맞춘다 (최솟값 → 0, 최댓값 → 1). 값이 모두 같으면 0 으로 채운다."""
    lo, hi = m.min(), m.max()
    if hi == lo:
        return torch.zeros_like(m)
    return (m - lo) / (hi - lo)''',
    wrong=[('''def to_unit(m):
    lo, hi = m.min(), m.max()
    return (m - lo) / (hi - lo)''', "NaN"),
           ('''def to_unit(m):
    lo, hi = m.min(), m.max()
    if hi == lo:
        return torch.zeros_like(m)
    return m / hi''', "최솟값")],
    context=_ctx,
)


# --------------------------------------------------------------------------- 05-3 the Grad-CAM layer

def _models():
    from torch import nn
    from torchvision import models

    deep = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.ReLU(), nn.Conv2d(8, 16, 3),
                         nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
    return [("작은 Sequential", deep), ("resnet18", models.resnet18(weights=None))]


def _last_calls(model):
    """``{id(module): (when its last call finished, output shape)}`` over one forward pass."""
    import torch

    calls, clock = {}, iter(range(1, 10**9))

    def hook(mod, inputs, output):
        calls[id(mod)] = (next(clock), tuple(output.shape) if hasattr(output, "shape") else None)
    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, 64, 64))
    finally:
        for h in handles:
            h.remove()
    return calls


def _test_cam_layer(fn):
    from torch import nn

    for label, model in _models():
        call = f"cam_layer({label})"
        try:
            got = run(fn, model, what=call)
        except LearnerError as err:
            if "IndexError" in str(err):
                raise Incorrect(f"{call}: 모은 층의 목록이 비어 있습니다 (IndexError) — isinstance 로 고른 층의 종류가 이 "
                                "모델에 있는지, 합성곱층의 클래스 이름을 보세요") from None
            raise
        names = {id(m): n for n, m in model.named_modules()}
        if isinstance(got, str):                      # a layer's name, as in bb.feature_layers
            by_name = dict(model.named_modules())
            if got not in by_name:
                raise Incorrect(f"{call}: 이름이 {got!r} 인 층이 이 모델에 없습니다 — 층 (nn.Module) 을 돌려주세요")
            got = by_name[got]
        if isinstance(got, type):
            raise Incorrect(f"{call}: 층의 종류 ({got.__name__}) 를 돌려주었습니다 — 모델 안에 있는 층 하나 (인스턴스) 가 "
                            "필요합니다")
        if not isinstance(got, nn.Module):
            raise Incorrect(f"{call}: 층 (nn.Module) 하나가 필요한데 {type(got).__name__} 을(를) 받았습니다 — 목록에서 한 개를 "
                            "꺼내세요")
        if got is model:
            raise Incorrect(f"{call}: 모델 전체를 돌려주었습니다 — 모델의 출력은 클래스 점수라 공간 (H, W) 이 없습니다. 모델 "
                            "안의 층 하나를 고르세요")
        if id(got) not in names:
            raise Incorrect(f"{call}: 돌려준 층이 이 모델의 층이 아닙니다 — 인자로 받은 model 에서 고르세요")
        where = names[id(got)]
        convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
        last_conv = convs[-1]
        calls = _last_calls(model)
        end, shape = calls.get(id(got), (-1, None))
        if isinstance(got, nn.Linear):
            raise Incorrect(f"{call}: Linear 층 ({where}) 을 골랐습니다 — 분류기의 입력에는 공간 (H, W) 이 없어 히트맵을 그릴 "
                            "수 없습니다")
        if end >= calls[id(last_conv)][0] and shape is not None and len(shape) == 4:
            if shape[2] * shape[3] > 1:
                continue                              # the last conv, or a block / ReLU that ends with it
            raise Incorrect(f"{call}: {where} 의 출력은 공간이 1×1 입니다 (전역 평균 풀링 뒤) — 위치를 가리킬 수 없습니다. "
                            "풀링 앞의 층을 고르세요")
        children = [m for m in model.children() if isinstance(m, nn.Conv2d)]
        if children and got is children[-1]:
            raise Incorrect(f"{call}: {where} 는 model.children() 의 마지막 합성곱층이지만 model 전체의 마지막은 아닙니다 — "
                            "children() 은 바로 아래 층만 돌려주어 block 안의 합성곱이 빠집니다. 모든 깊이의 층을 "
                            "돌려주는 메서드는 modules() 입니다")
        if got is convs[0]:
            raise Incorrect(f"{call}: 첫 합성곱층 ({where}) 을 골랐습니다 — 첫 층의 맵은 해상도가 높지만 모서리·색만 담고 "
                            "클래스에 대한 정보가 적습니다. 목록의 어느 끝이 가장 깊은 층인지 보세요")
        if isinstance(got, nn.Conv2d):
            raise Incorrect(f"{call}: {where} 는 합성곱층이지만 마지막이 아닙니다 — 그 뒤에도 합성곱층이 있습니다")
        raise Incorrect(f"{call}: {where} ({type(got).__name__}) 는 마지막 합성곱층보다 앞에서 끝나는 층입니다 — 더 깊은 "
                        "합성곱층을 고르세요")


q3 = Exercise(
    "05-3", "Grad-CAM 을 그릴 층 고르기", "cam_layer", _test_cam_layer,
    hints=["Grad-CAM 은 공간 (H, W) 이 남아 있는 층 중 가장 깊은 층, 곧 마지막 합성곱층을 씁니다.",
           "model.modules() 는 모델 순서대로 모든 깊이의 층을 돌려줍니다 (children() 은 바로 아래 층만). "
           "nn.Conv2d 만 모은 목록의 어느 원소가 가장 깊을까요?",
           "isinstance(m, nn.Conv2d) 로 모으고 convs[-1]"],
    template='''def cam_layer(model):
    """Grad-CAM 에 쓸 층: 모델의 마지막 합성곱층 (nn.Conv2d) 모듈"""
    convs = [m for m in model.modules() if isinstance(m, ____)]
    return ____''',
    solution='''def cam_layer(model):
    """Grad-CAM 에 쓸 층: 모델의 마지막 합성곱층 (nn.Conv2d) 모듈"""
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    return convs[-1]''',
    wrong=[('''def cam_layer(model):
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    return convs[0]''', "첫 합성곱층"),
           ('''def cam_layer(model):
    convs = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return convs[-1]''', "Linear"),
           ('''def cam_layer(model):
    convs = [m for m in model.children() if isinstance(m, nn.Conv2d)]
    return convs[-1]''', "children()"),
           ('''def cam_layer(model):
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    return convs''', "nn.Module")],
    context=_ctx,
)


# --------------------------------------------------------------------------- 05-4 Grad-CAM weights

def _test_cam_weights(fn):
    import torch

    for shape in ((2, 5, 3, 4), (1, 3, 7, 6)):    # a second shape: sizes written as numbers are caught
        grads = torch.randn(*shape, generator=torch.Generator().manual_seed(sum(shape)))
        n, c, h, w = shape
        call = f"cam_weights(grads)  # grads: {list(shape)}"
        got = as_tensor(run(fn, grads.clone(), what=call), call)
        want = grads.mean(dim=(2, 3))
        gshape = tuple(got.shape)
        if gshape == (n, c, 1, 1):
            got = got.flatten(1)                     # keepdim=True is fine
            gshape = (n, c)
        if gshape == (n, h, w):
            raise Incorrect(f"{call}: 모양이 {gshape} 입니다 — 채널 축 (dim=1) 으로 평균을 냈습니다. 채널마다 α 하나가 "
                            "남으려면 어느 축들을 없애야 할까요?")
        if gshape == (c,):
            raise Incorrect(f"{call}: 모양이 {gshape} 입니다 — 배치 축 (dim=0) 까지 평균을 내서 사진들이 섞였습니다. "
                            "사진마다 따로 [N, C]")
        if gshape == ():
            raise Incorrect(f"{call}: 숫자 하나가 나왔습니다 — 모든 축을 평균 냈습니다. 공간 축만 평균 내세요")
        if gshape in ((n, c, w), (n, c, h)) and gshape != (n, c):
            raise Incorrect(f"{call}: 모양이 {gshape} 입니다 — 공간 축 하나만 평균 냈습니다. H 와 W 둘 다입니다")
        if gshape == (n, w) or gshape == (n, h) or gshape == (n, c, h, w):
            raise Incorrect(f"{call}: 모양이 {gshape} 입니다 — 평균 낸 축이 공간 축 H, W 가 아닙니다. [N, C, H, W] 에서 "
                            "H, W 가 몇 번째 축인지 보세요")
        if gshape == (n, c):
            if allclose(got, grads.sum(dim=(2, 3)), atol=1e-5):
                raise Incorrect(f"{call}: 합 (sum) 을 구했습니다 — 식은 1/(H·W) 를 곱한 평균입니다")
            if allclose(got, grads.abs().mean(dim=(2, 3)), atol=1e-5):
                raise Incorrect(f"{call}: 절댓값의 평균입니다 — 부호를 지우면 클래스 점수를 낮추는 채널도 중요해집니다")
            if allclose(got, grads.clamp_min(0).mean(dim=(2, 3)), atol=1e-5):
                raise Incorrect(f"{call}: 기울기에 ReLU 를 먼저 적용했습니다 — Grad-CAM 의 ReLU 는 가중합 뒤에 한 번입니다. "
                                "α 는 기울기 그대로의 평균")
            if allclose(got, grads.amax(dim=(2, 3)), atol=1e-5):
                raise Incorrect(f"{call}: 최댓값을 구했습니다 — α 는 모든 위치의 평균입니다")
        expect_close(got, want, call, why="채널마다 기울기의 공간 평균")


q4 = Exercise(
    "05-4", "Grad-CAM 가중치 = 기울기의 공간 평균", "cam_weights", _test_cam_weights,
    hints=["α_k 는 채널 k 의 기울기 ∂y/∂A^k 를 모든 위치 (i, j) 에 대해 평균한 값입니다.",
           "grads 의 모양은 [N, C, H, W] 입니다. 없앨 축은 H 와 W, 그 번호는?",
           "grads.mean(dim=(2, 3))"],
    template='''def cam_weights(grads):
    """기울기 grads [N, C, H, W] → 채널 중요도 α [N, C] (공간 평균)"""
    return ____''',
    solution='''def cam_weights(grads):
    """기울기 grads [N, C, H, W] → 채널 중요도 α [N, C] (공간 평균)"""
    return grads.mean(dim=(2, 3))''',
    wrong=[('''def cam_weights(grads):
    return grads.mean(dim=1)''', "채널 축"),
           ('''def cam_weights(grads):
    return grads.sum(dim=(2, 3))''', "합 (sum)"),
           ('''def cam_weights(grads):
    return grads.abs().mean(dim=(2, 3))''', "절댓값")],
    context=_ctx,
)


# ------------------------------------------------------------ challenge: Grad-CAM at any layer + deletion

def _cam_setup():
    """A small CNN whose class 0 looks for red, and a 24x24 picture with a red square on noise."""
    import torch
    from torch import nn

    g = torch.Generator().manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(4, 2))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)
        net[0].weight[0] = 0.0
        net[0].weight[0, 0], net[0].weight[0, 1], net[0].weight[0, 2] = 1 / 9, -1 / 9, -1 / 9   # red minus the rest
        net[0].bias[0] = 0.0
        net[3].weight[0] = 0.0
        net[3].weight[0, 0] = 1 / 9                                                            # pass the red map on
        net[3].bias[0] = 0.0
        net[7].weight[0, 0], net[7].weight[1, 0] = 20.0, -20.0
    net.requires_grad_(False)          # frozen like notebook 03's classifier: gradients flow only from the input
    x = torch.rand(1, 3, 24, 24, generator=g) * 0.3
    x[0, 0, 4:12, 13:21], x[0, 1:, 4:12, 13:21] = 1.0, 0.1
    return net.eval(), x


def _cam_parts(model, layer, x, c):
    """The layer's output A and the gradient of class ``c``'s score with respect to it, dy/dA."""
    import torch

    store = {}

    def keep(module, inputs, output):
        store["A"] = output
        output.register_hook(lambda grad: store.update(dA=grad))
    handle = layer.register_forward_hook(keep)
    try:
        with torch.enable_grad():
            logits = model(x.clone().requires_grad_(True))
    finally:
        handle.remove()
    model.zero_grad()
    logits[0, c].backward()
    return store["A"].detach(), store["dA"]


def _ref_cam(model, layer, x, c):
    import torch.nn.functional as F

    A, dA = _cam_parts(model, layer, x, c)
    return F.relu((dA.mean(dim=(2, 3), keepdim=True) * A).sum(dim=1))[0]


def _ref_deletion(model, x, cam, c, steps, order):
    import torch
    import torch.nn.functional as F

    H, W = x.shape[-2:]
    big = F.interpolate(cam[None, None].float(), size=(H, W), mode="bilinear", align_corners=False)[0, 0]
    probs = []
    for k in range(steps + 1):
        xk = x.clone().reshape(1, x.shape[1], H * W)
        xk[:, :, order(big, cam)[: round(k * H * W / steps)]] = 0
        with torch.no_grad():
            probs.append(float(torch.softmax(model(xk.reshape(x.shape)), dim=1)[0, c]))
    return torch.tensor(probs, dtype=torch.float64)


def _unit_map(t):
    lo, hi = t.min(), t.max()
    return (t - lo) / (hi - lo) if hi > lo else t * 0


def _check_cam(fn, net, x):
    import torch
    import torch.nn.functional as F

    for idx in (0, 3):                          # the first conv (another layer) and the last one
        layer = net[idx]
        call = f"grad_cam(net, net[{idx}], x, class_index=0)"
        want = _ref_cam(net, layer, x, 0)
        try:
            got = as_tensor(run(fn, net, layer, x, 0, what=call), call)
        except LearnerError as err:
            if any(s in str(err) for s in ("KeyError", "require grad", "requires_grad", "doesn't require gradient")):
                raise Incorrect(f"{call}: backward 에서 기울기가 오지 않았습니다 — 이 모델은 고정되어 있어서 (requires_grad="
                                "False, 노트북 03 의 분류기처럼) 입력 쪽에서 기울기를 켜야 층까지 기울기가 흐릅니다") from None
            raise
        if layer._forward_hooks:
            raise Incorrect(f"{call}: 실행 뒤에도 layer 에 훅이 남아 있습니다 — handle.remove() 로 떼세요")
        if got.dim() == 3 and got.shape[0] == 1:
            got = got[0]
        if tuple(got.shape) == tuple(x.shape[-2:]) and tuple(want.shape) != tuple(x.shape[-2:]):
            raise Incorrect(f"{call}: 지도를 입력 크기 {tuple(got.shape)} 로 키워서 돌려주었습니다 — 이 함수는 층의 크기 "
                            f"{tuple(want.shape)} 그대로 돌려줍니다 (키우기는 deletion 에서)")
        other = _ref_cam(net, net[3 - idx], x, 0)
        if idx == 0 and tuple(got.shape) == tuple(other.shape) and allclose(_unit_map(got), _unit_map(other), atol=1e-3):
            raise Incorrect(f"{call}: 다른 층 (net[3]) 의 지도가 나왔습니다 — 훅을 인자 layer 에 달았는지 보세요")
        expect_shape(got, want.shape, call, why="layer 출력의 공간 크기 [h, w]")
        if (got < -1e-6).any():
            raise Incorrect(f"{call}: 지도에 음수가 있습니다 — 가중합 뒤의 ReLU 가 빠졌습니다 (클래스 점수를 올리는 곳만 남깁니다)")
        A, dA = _cam_parts(net, layer, x, 0)
        wrong_axis = F.relu((dA.mean(dim=1, keepdim=True) * A).sum(dim=1))[0]
        abs_alpha = F.relu((dA.abs().mean(dim=(2, 3), keepdim=True) * A).sum(dim=1))[0]
        ok = allclose(got, want, atol=1e-5, rtol=1e-3) or allclose(_unit_map(got), _unit_map(want), atol=1e-3)
        if not ok and allclose(_unit_map(got), _unit_map(wrong_axis), atol=1e-3):
            raise Incorrect(f"{call}: α 를 채널 축으로 평균 냈습니다 — α 는 채널마다 하나, 공간 축 (H, W) 의 평균입니다")
        if not ok and allclose(_unit_map(got), _unit_map(abs_alpha), atol=1e-3):
            raise Incorrect(f"{call}: α 를 기울기의 절댓값으로 구했습니다 — 부호가 있는 기울기 그대로 평균 냅니다")
        if not ok:
            expect_close(_unit_map(got), _unit_map(want), f"{call} (최솟값 0, 최댓값 1 로 맞춰 비교)",
                         atol=1e-3, why="ReLU(Σ_k α_k A^k), α_k = 기울기의 공간 평균")


def _check_deletion(fn, net, x):
    import torch

    cam = _ref_cam(net, net[3], x, 0)                # 12 x 12: the learner's function must upsample it
    steps = 8
    call = f"deletion(net, x, cam, class_index=0, steps={steps})  # cam: {list(cam.shape)}, x: {list(x.shape)}"
    got = as_tensor(run(fn, net, x, cam.clone(), 0, steps, what=call), call).flatten()
    with torch.no_grad():
        logits = net(x)[0]
        p0 = float(torch.softmax(logits, 0)[0])
        p_all = float(torch.softmax(net(torch.zeros_like(x)), 1)[0, 0])
    if len(got) == steps:
        raise Incorrect(f"{call}: 값이 {steps}개입니다 — 아무것도 지우지 않은 처음 (k = 0) 부터 모두 지운 끝 (k = steps) "
                        f"까지 steps + 1 = {steps + 1}개입니다")
    if len(got) != steps + 1:
        raise Incorrect(f"{call}: 값이 {len(got)}개입니다 — steps + 1 = {steps + 1}개 (지운 비율 0, 1/steps, …, 1) 가 필요합니다")
    if abs(float(got[0]) - float(logits[0])) < 1e-3 and abs(p0 - float(logits[0])) > 1e-2:
        raise Incorrect(f"{call}: 첫 값이 점수 (logit) 입니다 — 곡선은 softmax 확률로 잽니다")
    if abs(float(got[0]) - (1 - p0)) < 1e-3 and abs(p0 - 0.5) > 1e-2:
        raise Incorrect(f"{call}: 첫 값이 다른 클래스의 확률입니다 — class_index 의 확률을 재세요")
    if abs(float(got[0]) - p0) > 1e-3:
        raise Incorrect(f"{call}: 아무것도 지우지 않았을 때 (첫 값) 가 원래 확률 {p0:.3f} 가 아니라 {float(got[0]):.3f} 입니다 "
                        "— k = 0 일 때는 x 를 그대로 넣습니다")
    desc = _ref_deletion(net, x, cam, 0, steps, lambda big, small: big.flatten().argsort(descending=True))
    asc = _ref_deletion(net, x, cam, 0, steps, lambda big, small: big.flatten().argsort())
    small = _ref_deletion(net, x, cam, 0, steps, lambda big, small: small.flatten().argsort(descending=True))
    gen = torch.Generator().manual_seed(0)
    rand = torch.stack([_ref_deletion(net, x, cam, 0, steps, lambda big, small: torch.randperm(big.numel(), generator=gen))
                        for _ in range(5)]).mean(0)
    area, area_rand = float(got.mean()), float(rand.mean())
    if allclose(got, asc, atol=2e-3) and not allclose(asc, desc, atol=2e-3):
        raise Incorrect(f"{call}: 덜 중요한 픽셀부터 지웠습니다 (곡선이 끝에서야 떨어집니다) — 정렬 순서를 보세요: "
                        "cam 이 큰 픽셀부터")
    if allclose(got, small, atol=2e-3) and not allclose(small, desc, atol=2e-3):
        raise Incorrect(f"{call}: 작은 cam ({list(cam.shape)}) 의 순서를 그대로 x 의 픽셀 번호로 썼습니다 — 먼저 cam 을 x 의 "
                        "크기로 키운 big 으로 순서를 정하세요")
    if abs(float(got[-1]) - p_all) > 1e-3:
        raise Incorrect(f"{call}: 마지막 값 {float(got[-1]):.3f} 가 모든 픽셀을 지운 사진의 확률 {p_all:.3f} 와 다릅니다 — "
                        "마지막 단계에서는 H·W 개 모두 지웁니다")
    if area >= area_rand - 0.05:
        raise Incorrect(f"{call}: 곡선 아래 넓이 {area:.3f} 가 무작위로 지울 때 ({area_rand:.3f}) 보다 작지 않습니다 — "
                        "Grad-CAM 이 가리킨 곳을 먼저 지웠는지 (키운 cam 의 큰 값부터) 보세요")


def _test_cam_tools(answer):
    if not isinstance(answer, dict) or not {"grad_cam", "deletion"} <= set(answer):
        raise Incorrect("cam_tools 는 {'grad_cam': 함수, 'deletion': 함수} 인 dict 여야 합니다 — 템플릿의 마지막 줄을 보세요")
    if any(is_blank(v) for v in answer.values()):
        raise NotAttempted("cam_tools 에 빈칸 ____ 이 남아 있습니다")
    net, x = _cam_setup()
    _check_cam(answer["grad_cam"], net, x)
    _check_deletion(answer["deletion"], net, x)


_CAM_TEMPLATE = '''def grad_cam_at(model, layer, x, class_index):
    """layer 의 Grad-CAM 지도 [h, w] (ReLU 뒤, 키우기·정규화 전). x: [1, 3, H, W]"""
    store = {}

    def keep(module, inputs, output):                 # forward: A, backward: ∂y/∂A
        store["A"] = output
        output.register_hook(lambda grad: store.update(dA=grad))

    handle = layer.register_forward_hook(keep)
    logits = model(x.clone().requires_grad_(True))
    handle.remove()
    model.zero_grad()
    logits[0, class_index].backward()
    A, dA = store["A"].detach(), store["dA"]          # [1, C, h, w]
    alpha = ____                                      # [1, C, 1, 1]: 채널 중요도
    return ____                                       # [h, w]


def deletion_curve(model, x, cam, class_index, steps=10):
    """cam 이 큰 픽셀부터 0 으로 지우며 class_index 의 확률을 잰다 → steps + 1 개 (0 개 지움 … 모두 지움)"""
    H, W = x.shape[-2:]
    big = F.interpolate(cam[None, None].float(), size=(H, W), mode="bilinear", align_corners=False)[0, 0]
    order = ____                                      # 픽셀 번호 0 … H*W-1, 지울 순서대로
    probs = []
    for k in range(steps + 1):
        xk = x.clone().reshape(1, x.shape[1], H * W)
        xk[:, :, order[: round(k * H * W / steps)]] = 0
        with torch.no_grad():
            probs.append(____)                        # softmax 확률 (숫자 하나)
    return probs


cam_tools = {"grad_cam": grad_cam_at, "deletion": deletion_curve}'''

_CAM_SOLUTION = (_CAM_TEMPLATE
                 .replace("alpha = ____        ", "alpha = dA.mean(dim=(2, 3), keepdim=True)")
                 .replace("return ____                                       # [h, w]",
                          "return F.relu((alpha * A).sum(dim=1))[0]          # [h, w]")
                 .replace("order = ____                                      ",
                          "order = big.flatten().argsort(descending=True)    ")
                 .replace("probs.append(____)                        ",
                          "probs.append(torch.softmax(model(xk.reshape(x.shape)), dim=1)[0, class_index].item())"))

challenge = Exercise(
    "05-C", "다른 층의 Grad-CAM 과 삭제 곡선 (deletion)", "cam_tools", _test_cam_tools,
    hints=["Grad-CAM 은 10절의 손 계산 그대로입니다 (층만 인자로). 삭제 곡선은 '설명이 가리킨 곳을 먼저 지우면 "
           "확률이 빨리 떨어져야 한다' 는 시험입니다: 무작위로 지울 때보다 빨리.",
           "alpha 는 dA 의 공간 평균 (keepdim=True), 지도는 (alpha * A) 를 채널로 더한 뒤 ReLU. 순서는 키운 big 을 "
           "한 줄로 펴서 큰 값부터 정렬한 번호, 확률은 model 출력의 softmax 에서 class_index 칸.",
           "alpha = dA.mean(dim=(2, 3), keepdim=True) · F.relu((alpha * A).sum(dim=1))[0] · "
           "big.flatten().argsort(descending=True) · torch.softmax(model(xk.reshape(x.shape)), dim=1)[0, class_index].item()"],
    template=_CAM_TEMPLATE,
    solution=_CAM_SOLUTION,
    wrong=[(_CAM_SOLUTION.replace("F.relu((alpha * A).sum(dim=1))[0]", "(alpha * A).sum(dim=1)[0]"), "음수"),
           (_CAM_SOLUTION.replace("argsort(descending=True)", "argsort()"), "덜 중요한 픽셀부터")],
    context=lambda: {**_ctx(), "F": __import__("torch.nn.functional", fromlist=["relu"])},
)

EXERCISES = [q1, q2, q3, q4, challenge]
quiz = Quiz("05")
