"""Exercises of notebook 03 (feature extraction): notebooks/03_feature_extraction.ipynb."""
from __future__ import annotations

import tempfile
from pathlib import Path

from .core import (Exercise, Incorrect, LearnerError, NotAttempted, as_number, expect_close, expect_number,
                   expect_shape, expect_tensor, run)
from .quiz import Quiz


def _blank_left(fn) -> None:
    """A function that still refers to the placeholder ``____`` is not attempted yet."""
    code = getattr(fn, "__code__", None)
    if code is not None and "____" in code.co_names:
        raise NotAttempted("함수 안에 빈칸 ____ 이 남아 있습니다")


def _ctx():
    import torch
    from torch import nn
    from torchvision import models
    from torchvision import transforms as T

    return {"torch": torch, "nn": nn, "models": models, "T": T}


# --------------------------------------------------------------------------- 03-1 freeze + new head

def _test_freeze(fn):
    import torch
    from torch import nn
    from torchvision import models

    _blank_left(fn)
    for num_classes in (2, 3):
        call = f"freeze_and_replace(models.resnet18(weights=None), {num_classes})"
        torch.manual_seed(0)
        got = run(fn, models.resnet18(weights=None), num_classes, what=call)
        if got is None:
            raise Incorrect(f"{call}: None 을 돌려받았습니다 — 마지막 줄 `return model` 이 빠졌는지 보세요")
        fc = getattr(got, "fc", None)
        if not isinstance(fc, nn.Linear):
            raise Incorrect(f"{call}: model.fc 가 nn.Linear 가 아닙니다 ({type(fc).__name__}) — "
                            "model.fc = nn.Linear(입력 수, 출력 수) 로 바꾸세요")
        if fc.in_features != 512:
            raise Incorrect(f"{call}: 새 fc 의 입력 수 (in_features) 가 {fc.in_features} 입니다 — ResNet18 의 "
                            "특성 벡터는 512 차원입니다 (원래 model.fc.in_features)")
        if fc.out_features != num_classes:
            raise Incorrect(f"{call}: 새 fc 의 출력 수가 {fc.out_features} 입니다 — 클래스 수 num_classes "
                            f"({num_classes}) 여야 합니다")
        trainable = [n for n, p in got.named_parameters() if p.requires_grad]
        n_train = sum(p.numel() for p in got.parameters() if p.requires_grad)
        if not trainable:
            raise Incorrect(f"{call}: 학습할 파라미터가 0개입니다 — 새 fc 까지 고정되었습니다. 먼저 몸통을 "
                            "고정하고, 그다음에 fc 를 바꾸세요 (새로 만든 층은 requires_grad=True 로 시작합니다)")
        if sorted(trainable) != ["fc.bias", "fc.weight"]:
            raise Incorrect(f"{call}: 학습할 파라미터가 {n_train:,}개입니다 (기대 {512 * num_classes + num_classes:,}개) "
                            "— 몸통이 고정되지 않았습니다: 모든 파라미터의 requires_grad 를 False 로 두세요")
        expect_number(n_train, 512 * num_classes + num_classes, f"{call} 의 학습 파라미터 수",
                      why="512 × 클래스 수 + 클래스 수 (weight + bias)")
        got.eval()
        with torch.no_grad():
            out = got(torch.randn(2, 3, 64, 64))
        expect_shape(out, (2, num_classes), f"{call} 에 사진 2장을 넣은 출력",
                     why="배치 2 × 클래스 수 여야 합니다")


q1 = Exercise(
    "03-1", "몸통 고정하고 분류기 (fc) 바꾸기", "freeze_and_replace", _test_freeze,
    hints=["몸통 고정 = 모든 파라미터에 requires_grad = False. 그다음에 만든 층은 학습됩니다.",
           "ResNet18 의 마지막 층 model.fc 는 512 개의 특성을 받습니다: nn.Linear(512, num_classes).",
           "p.requires_grad = False   그리고   model.fc = nn.Linear(512, num_classes)"],
    template='''def freeze_and_replace(model, num_classes):
    """몸통을 고정하고 model.fc 를 새 층 (출력 num_classes 개) 으로 바꿈"""
    for p in model.parameters():
        p.requires_grad = ____
    model.fc = ____
    return model''',
    solution='''def freeze_and_replace(model, num_classes):
    """몸통을 고정하고 model.fc 를 새 층 (출력 num_classes 개) 으로 바꿈"""
    for p in model.parameters():
        p.requires_grad = False
    model.fc = nn.Linear(512, num_classes)
    return model''',
    wrong=[('''def freeze_and_replace(model, num_classes):
    model.fc = nn.Linear(512, num_classes)
    for p in model.parameters():
        p.requires_grad = False
    return model''', "새 fc 까지 고정"),
           ('''def freeze_and_replace(model, num_classes):
    model.fc = nn.Linear(512, num_classes)
    return model''', "몸통이 고정되지 않았습니다"),
           ('''def freeze_and_replace(model, num_classes):
    for p in model.parameters():
        p.requires_grad = False
    model.fc = nn.Linear(1000, num_classes)
    return model''', "in_features"),
           ('''def freeze_and_replace(model, num_classes):
    for p in model.parameters():
        p.requires_grad = False
    model.fc = nn.Linear(512, num_classes)''', "return model")],
    context=_ctx,
)


# --------------------------------------------------------------------------- 03-2 evaluation transform

def _photo(w=320, h=240):
    import numpy as np
    from PIL import Image

    yy, xx = np.mgrid[0:h, 0:w]
    arr = np.stack([xx * 255 // w, yy * 255 // h, (xx + yy) * 255 // (w + h)], axis=-1).astype("uint8")
    return Image.fromarray(arr)


def _stats():
    """(ImageNet mean, std), (EfficientNet-Lite0 mean, std): the two backbones' normalisations."""
    from ..backbone import LITE_MEAN, LITE_STD
    from ..data import IMAGENET_MEAN, IMAGENET_STD

    return (IMAGENET_MEAN, IMAGENET_STD), (LITE_MEAN, LITE_STD)


def _reference_eval(mean, std):
    from torchvision import transforms as T

    return T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(mean, std)])


def _test_eval_transform(fn):
    _blank_left(fn)
    img = _photo()
    (imagenet_mean, imagenet_std), lite = _stats()
    for mean, std, name in [(imagenet_mean, imagenet_std, "ImageNet (ResNet18)"),
                            (*lite, "EfficientNet-Lite0")]:
        call = f"make_eval_transform({name} 의 mean, std)"
        tf = run(fn, mean, std, what=call)
        if not callable(tf):
            raise Incorrect(f"{call}: 변환 (transform) 이 아니라 {type(tf).__name__} 을 돌려주었습니다 — "
                            "T.Compose([...]) 를 돌려주세요")
        x = expect_tensor(run(tf, img, what=f"{call}(320×240 사진)"), f"{call} 을 사진에 적용한 결과")
        if tuple(x.shape) != (3, 224, 224):
            raise Incorrect(f"{call}: 320×240 사진의 결과 모양이 {tuple(x.shape)} 입니다 (기대 (3, 224, 224)) — "
                            "Resize(256) 은 짧은 변만 맞추므로 가운데를 224×224 로 자르는 T.CenterCrop(224) 가 필요합니다")
        if float(x.min()) >= 0.0 and float(x.max()) <= 1.0:
            raise Incorrect(f"{call}: 값이 [{float(x.min()):.2f}, {float(x.max()):.2f}] — [0, 1] 그대로입니다. "
                            "T.Normalize(mean, std) 로 사전 학습 때와 같게 정규화하세요")
        want = _reference_eval(mean, std)(img)
        other = _reference_eval(imagenet_mean, imagenet_std)(img)
        if mean != imagenet_mean and (x - other).abs().max() < 1e-4:
            raise Incorrect(f"{call}: ImageNet 의 평균·표준편차를 직접 적었습니다 — 인자로 받은 mean, std 를 "
                            "쓰세요 (몸통마다 사전 학습 때의 값이 다릅니다)")
        expect_close(x, want, f"{call} 의 결과", atol=1e-4,
                     why="순서: Resize(256) → CenterCrop(224) → ToTensor() → Normalize(mean, std)")


q2 = Exercise(
    "03-2", "평가용 전처리 (evaluation transform) 만들기", "make_eval_transform", _test_eval_transform,
    hints=["평가 때는 무작위가 없어야 합니다: 가운데를 자르고 (CenterCrop), 사전 학습 때의 값으로 정규화합니다.",
           "빈칸 두 개: 224×224 로 자르는 변환, 그리고 mean, std 로 정규화하는 변환 (ToTensor 다음).",
           "T.CenterCrop(224)   그리고   T.Normalize(mean, std)"],
    template='''def make_eval_transform(mean, std):
    """평가용 전처리: 짧은 변 256 → 가운데 224×224 → 텐서 → 정규화"""
    return T.Compose([
        T.Resize(256),
        ____,
        T.ToTensor(),
        ____,
    ])''',
    solution='''def make_eval_transform(mean, std):
    """평가용 전처리: 짧은 변 256 → 가운데 224×224 → 텐서 → 정규화"""
    return T.Compose([
        T.Resize(256),
        T.CenterCrop(224),
        T.ToTensor(),
        T.Normalize(mean, std),
    ])''',
    wrong=[('''def make_eval_transform(mean, std):
    return T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor()])''', "Normalize"),
           ('''def make_eval_transform(mean, std):
    return T.Compose([T.Resize(224), T.ToTensor(), T.Normalize(mean, std)])''', "CenterCrop"),
           ('''def make_eval_transform(mean, std):
    return T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                      T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])''', "인자로 받은 mean, std")],
    context=_ctx,
)


# --------------------------------------------------------------------------- 03-3 predict one image

def _small_model():
    import torch
    from torch import nn

    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Dropout(0.5), nn.Linear(4, 2))
    with torch.no_grad():
        model[1].running_mean.uniform_(-1, 1)
        model[1].running_var.uniform_(0.5, 2)
    return model


def _test_predict(fn):
    import torch

    _blank_left(fn)
    model = _small_model()
    seen = {"ndim": [], "grad": []}

    def pre(_, args):
        seen["ndim"].append(args[0].dim())
        seen["grad"].append(torch.is_grad_enabled())

    model.register_forward_pre_hook(pre)
    g = torch.Generator().manual_seed(0)
    for k in range(4):
        x = torch.randn(3, 16, 16, generator=g)
        call = f"predict_one(model, x)  (x.shape = {tuple(x.shape)}, 시도 {k + 1})"
        model.train()
        seen["ndim"].clear()
        try:
            got = run(fn, model, x, what=call)
        except LearnerError:
            if 3 in seen["ndim"]:
                raise Incorrect(f"{call}: 모델에 [3, H, W] 를 그대로 넣었습니다 — 모델은 배치 [N, 3, H, W] 를 받으므로 "
                                "x.unsqueeze(0) 으로 배치 차원을 붙이세요") from None
            raise
        if 3 in seen["ndim"]:
            raise Incorrect(f"{call}: 모델에 [3, H, W] 를 그대로 넣었습니다 — x.unsqueeze(0) 으로 배치 차원을 붙이세요")
        if model.training:
            raise Incorrect(f"{call}: 모델이 아직 학습 모드 (train) 입니다 — 예측 전에 model.eval() 을 부르세요 "
                            "(Dropout 이 꺼지고 BatchNorm 이 저장된 통계를 씁니다)")
        if any(seen["grad"]):
            raise Incorrect(f"{call}: 기울기를 계산하며 실행했습니다 — 예측은 with torch.no_grad(): 안에서 하세요")
        if hasattr(got, "numel") and got.numel() > 1:
            raise Incorrect(f"{call}: 모양 {tuple(got.shape)} 의 텐서를 돌려주었습니다 — logits 에서 "
                            "argmax(1) 로 가장 큰 값의 번호를 고르고 .item() 으로 숫자 하나를 돌려주세요")
        model.eval()
        with torch.no_grad():
            want = int(model(x.unsqueeze(0)).argmax(1))
        expect_number(as_number(got, call), want, call, why="logits.argmax(1) — 가장 큰 logit 의 클래스 번호")


q3 = Exercise(
    "03-3", "사진 한 장 예측하기 (eval, no_grad, argmax)", "predict_one", _test_predict,
    hints=["예측 전에 모델을 평가 모드로 바꿉니다. 모델은 사진 한 장이 아니라 배치를 받습니다.",
           "x.unsqueeze(0) 은 [3, H, W] → [1, 3, H, W]. 출력 logits 는 [1, 클래스 수] 입니다.",
           "model.eval()   /   logits = model(x.unsqueeze(0))   /   return logits.argmax(1).item()"],
    template='''def predict_one(model, x):
    """정규화한 사진 텐서 x [3, H, W] 한 장 → 예측 클래스 번호 (int)"""
    ____                             # ① 모델을 평가 모드로
    with torch.no_grad():            # ② 기울기 계산 끄기
        logits = ____                # ③ 배치 차원을 붙여 [1, 3, H, W]
    return ____                      # ④ 가장 큰 logit 의 번호 (int)''',
    solution='''def predict_one(model, x):
    """정규화한 사진 텐서 x [3, H, W] 한 장 → 예측 클래스 번호 (int)"""
    model.eval()                     # ① 모델을 평가 모드로
    with torch.no_grad():            # ② 기울기 계산 끄기
        logits = model(x.unsqueeze(0))   # ③ 배치 차원을 붙여 [1, 3, H, W]
    return logits.argmax(1).item()   # ④ 가장 큰 logit 의 번호 (int)''',
    wrong=[('''def predict_one(model, x):
    with torch.no_grad():
        logits = model(x.unsqueeze(0))
    return logits.argmax(1).item()''', "model.eval()"),
           ('''def predict_one(model, x):
    model.eval()
    with torch.no_grad():
        logits = model(x)
    return logits.argmax(1).item()''', "unsqueeze"),
           ('''def predict_one(model, x):
    model.eval()
    with torch.no_grad():
        logits = model(x.unsqueeze(0))
    return logits''', "argmax(1)"),
           ('''def predict_one(model, x):
    model.eval()
    logits = model(x.unsqueeze(0))
    return logits.argmax(1).item()''', "no_grad")],
    context=_ctx,
)


# --------------------------------------------------------------------------- 03-4 save and reload a state_dict

def _net(seed):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2))
    with torch.no_grad():
        net[1].running_mean.uniform_(-1, 1)
    return net


def _test_save_reload(fn):
    import torch

    _blank_left(fn)
    model = _net(1)
    model.train()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "head.pth"
        call = "save_and_reload(model, make_model, path)"
        try:
            got = run(fn, model, lambda: _net(2), str(path), what=call)
        except LearnerError:
            if path.is_file() and isinstance(torch.load(path, weights_only=False), torch.nn.Module):
                raise Incorrect(f"{call}: 모델 객체 전체를 저장했습니다 — torch.save(model.state_dict(), path) 로 "
                                "가중치 사전 (state_dict) 만 저장하세요") from None
            raise
        if not path.is_file():
            raise Incorrect(f"{call}: path 에 파일이 없습니다 — torch.save(..., path) 로 저장하세요")
        try:
            saved = torch.load(path, weights_only=True)
        except Exception:  # noqa: BLE001 - a pickled module is refused by weights_only=True
            saved = None
        if not isinstance(saved, dict):
            raise Incorrect(f"{call}: 저장한 것이 state_dict (이름 → 텐서 사전) 가 아닙니다 — "
                            "torch.save(model.state_dict(), path) 로 가중치만 저장하세요")
    if got is None:
        raise Incorrect(f"{call}: None 을 돌려받았습니다 — 불러온 새 모델을 return 하세요")
    if got is model:
        raise Incorrect(f"{call}: 원래 model 을 그대로 돌려주었습니다 — make_model() 로 만든 새 모델에 불러와 돌려주세요")
    want = model.state_dict()
    have = got.state_dict()
    if set(have) != set(want):
        raise Incorrect(f"{call}: 돌려준 모델의 구조가 다릅니다 — make_model() 로 새 모델을 만드세요")
    for name, value in want.items():
        if value.dtype.is_floating_point and not torch.allclose(have[name], value):
            raise Incorrect(f"{call}: 새 모델의 {name} 이 원래 모델과 다릅니다 — new_model.load_state_dict(torch.load(path)) "
                            "로 저장한 가중치를 불러오세요")
    if got.training:
        raise Incorrect(f"{call}: 돌려준 모델이 학습 모드입니다 — 불러온 뒤 new_model.eval() 을 부르세요")
    x = torch.randn(3, 6)
    model.eval()
    with torch.no_grad():
        expect_close(got(x), model(x), f"{call} 로 불러온 모델의 출력", atol=1e-5)


q4 = Exercise(
    "03-4", "state_dict 저장하고 다시 불러오기", "save_and_reload", _test_save_reload,
    hints=["저장하는 것은 모델 객체가 아니라 가중치 사전 model.state_dict() 입니다.",
           "불러오기: 같은 구조의 새 모델을 만들고 new_model.load_state_dict(torch.load(path)). 예측 전에는 eval().",
           "torch.save(model.state_dict(), path)   /   new_model.load_state_dict(torch.load(path))"],
    template='''def save_and_reload(model, make_model, path):
    """가중치를 path 에 저장하고 make_model() 로 만든 새 모델에 불러옴"""
    torch.save(____, path)
    new_model = make_model()
    new_model.load_state_dict(____)
    new_model.eval()
    return new_model''',
    solution='''def save_and_reload(model, make_model, path):
    """가중치를 path 에 저장하고 make_model() 로 만든 새 모델에 불러옴"""
    torch.save(model.state_dict(), path)
    new_model = make_model()
    new_model.load_state_dict(torch.load(path))
    new_model.eval()
    return new_model''',
    wrong=[('''def save_and_reload(model, make_model, path):
    torch.save(model, path)
    new_model = make_model()
    new_model.load_state_dict(torch.load(path))
    new_model.eval()
    return new_model''', "state_dict"),
           ('''def save_and_reload(model, make_model, path):
    torch.save(model.state_dict(), path)
    new_model = make_model()
    new_model.eval()
    return new_model''', "load_state_dict"),
           ('''def save_and_reload(model, make_model, path):
    torch.save(model.state_dict(), path)
    new_model = make_model()
    new_model.load_state_dict(torch.load(path))
    return new_model''', "eval()"),
           ('''def save_and_reload(model, make_model, path):
    torch.save(model.state_dict(), path)
    model.eval()
    return model''', "새 모델")],
    context=_ctx,
)

EXERCISES = [q1, q2, q3, q4]
quiz = Quiz("03")
