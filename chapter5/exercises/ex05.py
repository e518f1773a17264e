"""Exercises of notebook 05 (feature maps, Grad-CAM): notebooks/05_feature_maps.ipynb."""
from __future__ import annotations

from .core import Exercise, Incorrect, NotAttempted, expect_close, expect_shape, expect_tensor, run
from .quiz import Quiz


def _blank_left(fn) -> None:
    """A function that still refers to the placeholder ``____`` is not attempted yet."""
    code = getattr(fn, "__code__", None)
    names = set(code.co_names) if code is not None else set()
    for const in (code.co_consts if code is not None else ()):
        if hasattr(const, "co_names"):                     # nested functions (a hook inside)
            names |= set(const.co_names)
    if "____" in names:
        raise NotAttempted("함수 안에 빈칸 ____ 이 남아 있습니다")


def _ctx():
    import torch
    from torch import nn

    return {"torch": torch, "nn": nn}


def _small_net():
    from torch import nn

    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(inplace=True), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(6, 2))


# --------------------------------------------------------------------------- 05-1 a forward hook

def _test_hooked_output(fn):
    import torch

    _blank_left(fn)
    torch.manual_seed(0)
    net = _small_net().eval()
    with torch.no_grad():                       # make BatchNorm's output clearly negative in places
        net[1].running_mean.fill_(0.5)
    x = torch.randn(2, 3, 12, 12)
    layer = net[1]                              # BatchNorm2d, followed by ReLU(inplace=True)
    with torch.no_grad():
        want = net[1](net[0](x))
        conv_out = net[0](x)
    call = "hooked_output(net, net[1], x)"
    got = run(fn, net, layer, x, what=call)
    got = expect_tensor(got, call)
    left = len(layer._forward_hooks)
    if left:
        raise Incorrect(f"{call}: 실행 뒤에도 훅이 {left}개 남아 있습니다 (layer._forward_hooks) — "
                        "register_forward_hook 이 돌려준 handle 로 handle.remove() 를 부르세요")
    if tuple(got.shape) == tuple(want.shape) and torch.allclose(got, conv_out, atol=1e-5):
        raise Incorrect(f"{call}: 층의 입력 (inputs) 을 저장했습니다 — 훅의 세 번째 인자 output 이 층의 출력입니다")
    if tuple(got.shape) == tuple(want.shape) and torch.allclose(got, want.clamp_min(0), atol=1e-5) \
            and (want < 0).any():
        raise Incorrect(f"{call}: 저장한 값의 음수가 모두 0 이 되었습니다 — 다음 층의 ReLU(inplace=True) 가 같은 "
                        "메모리를 덮어썼습니다. output.detach() 는 메모리를 공유하니 .clone() 으로 복사하세요")
    expect_close(got, want, call, why="훅이 받은 output 을 그대로 (detach + clone) 저장했는지 보세요")
    if got.requires_grad:
        raise Incorrect(f"{call}: 저장한 텐서가 아직 계산 그래프에 붙어 있습니다 — .detach() 를 붙이세요")


q1 = Exercise(
    "05-1", "포워드 훅으로 특성 맵 꺼내기", "hooked_output", _test_hooked_output,
    hints=["훅 함수는 (module, inputs, output) 을 받습니다. 저장할 것은 output 입니다.",
           "output.detach() 는 메모리를 공유합니다. 다음 층의 ReLU(inplace=True) 가 그 값을 바꾸지 못하게 .clone() 하세요.",
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
    return saved["out"]''', "handle.remove()"),
           ('''def hooked_output(model, layer, x):
    saved = {}

    def hook(module, inputs, output):
        saved["out"] = output.detach()

    handle = layer.register_forward_hook(hook)
    with torch.no_grad():
        model(x)
    handle.remove()
    return saved["out"]''', ".clone()"),
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

def _test_to_unit(fn):
    import torch

    _blank_left(fn)
    torch.manual_seed(0)
    m = torch.randn(5, 7) * 3 - 2
    call = "to_unit(m)"
    got = expect_tensor(run(fn, m.clone(), what=call), call)
    expect_shape(got, m.shape, call, why="모양은 그대로 두고 값만 바꿉니다")
    if torch.isnan(got).any():
        raise Incorrect(f"{call}: NaN 이 나왔습니다 — (hi - lo) 가 0 인지 먼저 확인하세요")
    if abs(float(got.min())) > 1e-5 and torch.allclose(got, m / m.max(), atol=1e-5):
        raise Incorrect(f"{call}: 최솟값이 0 이 아니라 {float(got.min()):.3g} 입니다 — 최댓값으로만 나누지 말고 "
                        "먼저 최솟값 lo 를 빼세요")
    expect_close(got, (m - m.min()) / (m.max() - m.min()), call, why="(m - lo) / (hi - lo)")
    flat = torch.full((3, 4), 2.5)
    call = "to_unit(torch.full((3, 4), 2.5))"
    got = expect_tensor(run(fn, flat.clone(), what=call), call)
    expect_shape(got, flat.shape, call)
    if torch.isnan(got).any() or torch.isinf(got).any():
        raise Incorrect(f"{call}: 값이 모두 같은 맵 (죽은 채널) 에서 NaN 이 나왔습니다 — hi == lo 이면 0 으로 나누게 됩니다. "
                        "그때는 torch.zeros_like(m) 을 돌려주세요")
    expect_close(got, torch.zeros_like(flat), call, why="값이 모두 같은 맵은 0 으로 채웁니다")


q2 = Exercise(
    "05-2", "특성 맵을 [0, 1] 로 맞추기 (min-max)", "to_unit", _test_to_unit,
    hints=["최솟값이 0, 최댓값이 1 이 되려면 먼저 최솟값을 빼고, 그다음 (최댓값 − 최솟값) 으로 나눕니다.",
           "값이 모두 같으면 hi − lo = 0 이라 나눌 수 없습니다. 그 경우를 if 로 먼저 처리합니다.",
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

    deep = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 16, 3), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
    resnet = models.resnet18(weights=None)
    return [("작은 Sequential", deep, deep[2]), ("resnet18", resnet, resnet.layer4[1].conv2)]


def _test_cam_layer(fn):
    from torch import nn

    _blank_left(fn)
    for label, model, want in _models():
        call = f"cam_layer({label})"
        got = run(fn, model, what=call)
        if got is want:
            continue
        names = {id(m): n for n, m in model.named_modules()}
        where = names.get(id(got), type(got).__name__)
        first = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
        if got is first:
            raise Incorrect(f"{call}: 첫 합성곱층 ({where}) 을 골랐습니다 — 첫 층의 맵은 해상도가 높지만 모서리·색만 담고 "
                            "클래스에 대한 정보가 적습니다. Grad-CAM 은 마지막 합성곱층 (convs[-1]) 을 씁니다")
        if isinstance(got, nn.Linear):
            raise Incorrect(f"{call}: Linear 층 ({where}) 을 골랐습니다 — 분류기의 입력에는 공간 (H, W) 이 없어 "
                            "히트맵을 그릴 수 없습니다. nn.Conv2d 를 모으세요")
        if not isinstance(got, nn.Module):
            raise Incorrect(f"{call}: 층 (nn.Module) 하나가 필요한데 {type(got).__name__} 을(를) 받았습니다 — "
                            "리스트에서 한 개를 꺼내세요")
        raise Incorrect(f"{call}: {where} ({type(got).__name__}) 을 골랐습니다 — 기대값은 마지막 nn.Conv2d 입니다")


q3 = Exercise(
    "05-3", "Grad-CAM 을 그릴 층 고르기", "cam_layer", _test_cam_layer,
    hints=["Grad-CAM 은 공간 (H, W) 이 남아 있는 층 중 가장 깊은 층, 곧 마지막 합성곱층을 씁니다.",
           "model.modules() 는 모델 순서대로 모든 층을 돌려줍니다. nn.Conv2d 만 모은 리스트의 마지막 원소입니다.",
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
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    return convs''', "nn.Module")],
    context=_ctx,
)


# --------------------------------------------------------------------------- 05-4 Grad-CAM weights

def _test_cam_weights(fn):
    import torch

    _blank_left(fn)
    torch.manual_seed(0)
    grads = torch.randn(2, 5, 3, 4)
    call = "cam_weights(grads)  # grads: [2, 5, 3, 4]"
    got = expect_tensor(run(fn, grads.clone(), what=call), call)
    want = grads.mean(dim=(2, 3))
    if tuple(got.shape) == (2, 3, 4):
        raise Incorrect(f"{call}: 모양이 (2, 3, 4) 입니다 — 채널 축 (dim=1) 으로 평균을 냈습니다. "
                        "공간 축 H, W (dim=(2, 3)) 로 평균을 내야 채널마다 α 하나가 남습니다")
    if tuple(got.shape) == (2, 5, 1, 1):
        got = got.flatten(1)                     # keepdim=True is fine
    expect_shape(got, want.shape, call, why="채널마다 숫자 하나: [N, C]")
    if torch.allclose(got, grads.sum(dim=(2, 3)), atol=1e-5):
        raise Incorrect(f"{call}: 합 (sum) 을 구했습니다 — 식은 1/(H·W) 를 곱한 평균 (mean) 입니다")
    if torch.allclose(got, grads.abs().mean(dim=(2, 3)), atol=1e-5):
        raise Incorrect(f"{call}: 절댓값의 평균입니다 — 부호를 지우면 클래스 점수를 낮추는 채널도 중요해집니다. "
                        ".abs() 없이 평균을 내세요")
    expect_close(got, want, call, why="grads.mean(dim=(2, 3))")


q4 = Exercise(
    "05-4", "Grad-CAM 가중치 = 기울기의 공간 평균", "cam_weights", _test_cam_weights,
    hints=["α_k 는 채널 k 의 기울기 ∂y/∂A^k 를 모든 위치 (i, j) 에 대해 평균한 값입니다.",
           "grads 의 모양은 [N, C, H, W] 입니다. H 와 W 는 dim 2 와 3 입니다.",
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
    return grads.sum(dim=(2, 3))''', "평균 (mean)"),
           ('''def cam_weights(grads):
    return grads.abs().mean(dim=(2, 3))''', ".abs()")],
    context=_ctx,
)

EXERCISES = [q1, q2, q3, q4]
quiz = Quiz("05")
