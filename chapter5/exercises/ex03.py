"""Exercises of notebook 03 (feature extraction): notebooks/03_feature_extraction.ipynb.

Numbered in page order (03-1 the evaluation transform, 03-2 freezing the body). The checks run
the learner's code on hidden cases that separate the known mistakes: a transform applied under
20 seeds (a random flip in the evaluation transform cannot pass by chance), the optimizer's
parameters compared with the new head's, the model's mode seen *during* the forward pass (so
restoring the mode afterwards passes), a saved file that must really be read back.
"""
from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path

from .core import Exercise, Incorrect, LearnerError, allclose, as_number, as_tensor, expect_close, run
from .quiz import Quiz


def _ctx():
    import torch
    from torch import nn
    from torchvision import datasets, models
    from torchvision import transforms as T

    from .. import data

    return {"torch": torch, "nn": nn, "models": models, "T": T, "datasets": datasets, "data": data}


# --------------------------------------------------------------------------- 03-1 evaluation transform

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


def _reference_eval(mean, std, resize=256):
    from torchvision import transforms as T

    return T.Compose([T.Resize(resize), T.CenterCrop(224), T.ToTensor(), T.Normalize(mean, std)])


def _seeded(k: int) -> None:
    import torch

    torch.manual_seed(k)
    random.seed(k)


def _transform_problem(x, img, mean, std, imagenet):
    """What is wrong with ``x`` = the learner's transform applied to ``img`` (None: nothing known)."""
    from torchvision import transforms as T

    want = _reference_eval(mean, std)(img)
    if x.shape != want.shape:
        if tuple(x.shape[-2:]) == (224, 298) or tuple(x.shape[-2:]) == (224, 299):
            return "짧은 변을 224 로 맞추었지만 가운데를 잘라내지 않았습니다 — 사진이 정사각형이 아니면 224×224 가 되지 않습니다"
        if tuple(x.shape[-2:]) == (256, 256):
            return "자른 뒤에 크기를 다시 바꾸었습니다 — 크기 맞추기와 자르기의 순서를 보세요"
        if tuple(x.shape[-2:]) == (256, 341):
            return "크기만 맞추고 가운데를 224×224 로 자르지 않았습니다"
        return f"320×240 사진의 결과 모양이 {tuple(x.shape)} 입니다 (기대 (3, 224, 224)) — 크기 맞추기와 자르기를 보세요"
    if float(x.min()) >= 0.0 and float(x.max()) <= 1.0:
        return (f"값이 [{float(x.min()):.2f}, {float(x.max()):.2f}] — [0, 1] 그대로입니다. 사전 학습 때와 같은 평균·"
                "표준편차로 정규화하는 단계가 빠졌습니다")
    if allclose(x, _reference_eval(std, mean)(img)):
        return "정규화에 평균과 표준편차를 서로 바꾸어 넣었습니다 — T.Normalize(평균, 표준편차) 순서입니다"
    if mean != imagenet[0] and allclose(x, _reference_eval(*imagenet)(img)):
        return "ImageNet 의 평균·표준편차를 직접 적었습니다 — 인자로 받은 mean, std 를 쓰세요 (몸통마다 사전 학습 때의 값이 다릅니다)"
    squash = T.Compose([T.Resize((224, 224)), T.ToTensor(), T.Normalize(mean, std)])(img)
    if allclose(x, squash):
        return "사진을 224×224 로 바로 늘렸습니다 — 가로세로 비율이 바뀝니다. 짧은 변을 맞춘 뒤 가운데를 자르세요"
    if allclose(x, _reference_eval(mean, std, resize=224)(img)):
        return "짧은 변을 224 로 맞춘 뒤 잘랐습니다 — 사전 학습의 평가처럼 조금 더 크게 (256) 맞춘 뒤 가운데 224 를 자릅니다"
    return None


def _test_eval_transform(fn):
    img = _photo()
    imagenet, lite = _stats()
    for mean, std, name, seeds in [(*imagenet, "ImageNet (ResNet18)", 20), (*lite, "EfficientNet-Lite0", 3)]:
        call = f"make_eval_transform({name} 의 mean, std)"
        tf = run(fn, mean, std, what=call)
        if not callable(tf):
            raise Incorrect(f"{call}: 변환 (transform) 이 아니라 {type(tf).__name__} 을 돌려주었습니다 — "
                            "T.Compose([...]) 를 돌려주세요")
        outputs = []
        for k in range(seeds):  # a random transform cannot pass by chance: 20 seeds must give one result
            _seeded(k)
            try:
                out = run(tf, img, what=f"{call}(320×240 사진)")
            except LearnerError as err:
                text = str(err)
                if "Tensor" in text and ("Image" in text or "image" in text) and "PIL" in text and "pic" not in text:
                    raise Incorrect(f"{call}: 정규화가 PIL 사진에 적용되었습니다 — 정규화는 텐서에 작용하므로 텐서로 "
                                    "바꾸는 단계 다음에 둡니다") from None
                if "pic should be PIL Image" in text:
                    raise Incorrect(f"{call}: 이미 텐서인 것을 다시 텐서로 바꾸려 했습니다 — ToTensor() 의 위치와 "
                                    "개수를 보세요") from None
                raise
            outputs.append(as_tensor(out, f"{call} 을 사진에 적용한 결과"))
            if k and not allclose(outputs[k], outputs[0], atol=1e-6):
                kind = ("무작위 좌우 뒤집기 (RandomHorizontalFlip)" if allclose(outputs[k], outputs[0].flip(-1), atol=1e-6)
                        else "무작위로 자르거나 크기를 바꾸는 변환 (RandomResizedCrop 등)")
                raise Incorrect(f"{call}: 같은 사진에 두 번 적용했더니 결과가 다릅니다 — 평가용 전처리에 {kind} 이 "
                                "들어 있습니다. 평가는 매번 같은 결과여야 합니다")
        x = outputs[0]
        why = _transform_problem(x, img, mean, std, imagenet)
        if why:
            raise Incorrect(f"{call}: {why}")
        expect_close(x, _reference_eval(mean, std)(img), f"{call} 의 결과", atol=1e-4,
                     why="위의 eval_tf 와 네 단계의 종류·순서·인자를 하나씩 비교해 보세요")


q1 = Exercise(
    "03-1", "평가용 전처리 (evaluation transform) 만들기", "make_eval_transform", _test_eval_transform,
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
    return T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor()])''', "[0, 1] 그대로"),
           ('''def make_eval_transform(mean, std):
    return T.Compose([T.Resize(224), T.ToTensor(), T.Normalize(mean, std)])''', "가운데를 잘라내지"),
           ('''def make_eval_transform(mean, std):
    return T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                      T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])''', "인자로 받은 mean, std")],
    context=_ctx,
    time_limit=30.0,  # 23 applications of the transform to a photo, on a busy classroom laptop
)


# --------------------------------------------------------------------------- 03-2 freeze + new head + optimizer

def _test_freeze(fn):
    import torch
    from torch import nn
    from torchvision import models

    for num_classes in (2, 3):
        call = f"freeze_and_replace(models.resnet18(weights=None), {num_classes})"
        torch.manual_seed(0)
        got = run(fn, models.resnet18(weights=None), num_classes, what=call)
        if got is None:
            raise Incorrect(f"{call}: None 을 돌려받았습니다 — 마지막 줄에서 model 과 optimizer 를 돌려주세요")
        if isinstance(got, nn.Module):
            raise Incorrect(f"{call}: 모델 하나만 돌려받았습니다 — model 과 optimizer 두 개를 (이 순서로) 돌려주세요")
        if not (isinstance(got, tuple) and len(got) == 2):
            raise Incorrect(f"{call}: (model, optimizer) 두 개가 필요한데 {type(got).__name__} 을(를) 받았습니다")
        model, optimizer = got
        if not isinstance(model, nn.Module):
            raise Incorrect(f"{call}: 첫 번째 값이 모델이 아닙니다 ({type(model).__name__}) — (model, optimizer) 순서입니다")
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise Incorrect(f"{call}: 두 번째 값이 optimizer 가 아닙니다 ({type(optimizer).__name__}) — "
                            "torch.optim.Adam(...) 처럼 만든 객체를 돌려주세요")
        fc = getattr(model, "fc", None)
        linears = [m for m in (fc.modules() if isinstance(fc, nn.Module) else []) if isinstance(m, nn.Linear)]
        if not linears:
            raise Incorrect(f"{call}: model.fc 에 nn.Linear 가 없습니다 ({type(fc).__name__}) — model.fc 를 새 "
                            "완전연결층으로 바꾸세요")
        if linears[0].in_features != 512:
            raise Incorrect(f"{call}: 새 fc 의 입력 수 (in_features) 가 {linears[0].in_features} 입니다 — 몸통이 "
                            "내보내는 특성 벡터의 길이 (원래 model.fc.in_features) 와 같아야 합니다")
        if linears[-1].out_features != num_classes:
            raise Incorrect(f"{call}: 새 fc 의 출력 수가 {linears[-1].out_features} 입니다 — 숫자를 적지 말고 "
                            "인자로 받은 클래스 수 num_classes 를 쓰세요")
        trainable = [n for n, p in model.named_parameters() if p.requires_grad]
        n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
        if not trainable:
            raise Incorrect(f"{call}: 학습할 파라미터가 0개입니다 — 새 fc 까지 고정되었습니다. 고정과 fc 교체의 "
                            "순서를 보세요 (새로 만든 층은 requires_grad=True 로 시작합니다)")
        if any(not n.startswith("fc.") for n in trainable):
            raise Incorrect(f"{call}: 학습할 파라미터가 {n_train:,}개입니다 — 몸통이 고정되지 않았습니다: 몸통의 "
                            "모든 파라미터의 requires_grad 를 꺼야 합니다")
        if n_train != 512 * num_classes + num_classes:
            raise Incorrect(f"{call}: 새 fc 의 학습 파라미터가 {n_train:,}개입니다 — 특성 512 개를 클래스 수만큼의 "
                            "점수로 바꾸는 층 하나면 됩니다")
        in_opt = {id(p) for group in optimizer.param_groups for p in group["params"]}
        head = {id(p) for p in model.fc.parameters()}
        body = {id(p) for n, p in model.named_parameters() if not n.startswith("fc.")}
        if not in_opt & head and in_opt & body:
            raise Incorrect(f"{call}: optimizer 를 고정하기 전에 모델 전체의 파라미터로 만들었습니다 — 그래서 새 "
                            "분류기는 모르고 고정한 몸통만 갖고 있습니다. 고정하고 새 층을 단 뒤에, 학습할 파라미터로 "
                            "만드세요")
        if not in_opt & head:
            raise Incorrect(f"{call}: optimizer 가 새 fc 의 파라미터를 모릅니다 — fc 를 바꾸기 전에 optimizer 를 "
                            "만들었습니다. optimizer 는 새 층을 단 뒤에 만드세요")
        if in_opt - head:
            raise Incorrect(f"{call}: optimizer 가 고정한 몸통의 파라미터 {len(in_opt - head)}개까지 받았습니다 — "
                            "학습할 파라미터 (새 분류기의 것) 만 넘기세요 (교과서의 params_to_update)")
        if head - in_opt:
            raise Incorrect(f"{call}: optimizer 가 새 fc 의 파라미터 일부만 받았습니다 — weight 와 bias 모두 넘기세요")
        model.eval()
        with torch.no_grad():
            out = model(torch.randn(2, 3, 64, 64))
        if tuple(out.shape) != (2, num_classes):
            raise Incorrect(f"{call} 에 사진 2장을 넣은 출력 모양이 {tuple(out.shape)} 입니다 — (2, 클래스 수) 여야 합니다")


_FREEZE = '''def freeze_and_replace(model, num_classes):
    """몸통을 고정하고 model.fc 를 새 층 (출력 num_classes 개) 으로 바꾼 뒤,
    새 층만 학습하는 optimizer 를 만듦"""
    for p in model.parameters():
        p.requires_grad = False
    model.fc = nn.Linear(512, num_classes)
    optimizer = torch.optim.Adam(model.fc.parameters(), lr=1e-3)
    return model, optimizer'''

q2 = Exercise(
    "03-2", "몸통 고정하고 분류기 (fc) 바꾸기, 그 분류기만 학습하는 optimizer", "freeze_and_replace", _test_freeze,
    hints=["몸통 고정 = 모든 파라미터에 requires_grad = False. 그다음에 만든 층과 optimizer 는 새 층을 봅니다.",
           "ResNet18 의 마지막 층 model.fc 는 512 개의 특성을 받습니다. optimizer 에는 학습할 파라미터만 넘깁니다.",
           "p.requires_grad = False  /  model.fc = nn.Linear(512, num_classes)  /  "
           "torch.optim.Adam(model.fc.parameters(), lr=1e-3)"],
    template=(_FREEZE.replace("p.requires_grad = False", "p.requires_grad = ____")
              .replace("model.fc = nn.Linear(512, num_classes)", "model.fc = ____")
              .replace("Adam(model.fc.parameters(), lr=1e-3)", "Adam(____, lr=1e-3)")),
    solution=_FREEZE,
    wrong=[(_FREEZE.replace("""    for p in model.parameters():
        p.requires_grad = False
    model.fc = nn.Linear(512, num_classes)""", """    model.fc = nn.Linear(512, num_classes)
    for p in model.parameters():
        p.requires_grad = False"""), "새 fc 까지 고정"),
           (_FREEZE.replace("""    for p in model.parameters():
        p.requires_grad = False
""", ""), "몸통이 고정되지 않았습니다"),
           (_FREEZE.replace("nn.Linear(512, num_classes)", "nn.Linear(1000, num_classes)"), "in_features"),
           (_FREEZE.replace("Adam(model.fc.parameters()", "Adam(model.parameters()"), "고정한 몸통의 파라미터"),
           (_FREEZE.replace("    return model, optimizer", "    return model"), "두 개를 (이 순서로)")],
    context=_ctx,
)


# --------------------------------------------------------------------------- 03-3 predict one image

def _small_model():
    import torch
    from torch import nn

    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Dropout(0.5), nn.Linear(4, 3))
    with torch.no_grad():
        model[1].running_mean.uniform_(-1, 1)
        model[1].running_var.uniform_(0.5, 2)
    return model


def _test_predict(fn):
    import torch

    model = _small_model()
    seen = []

    def pre(module, args):
        seen.append((args[0].dim(), tuple(args[0].shape), module.training, torch.is_grad_enabled()))

    model.register_forward_pre_hook(pre)
    g = torch.Generator().manual_seed(0)
    for k in range(6):
        x = torch.randn(3, 16, 16, generator=g) * 2
        call = f"predict_one(model, x)  (x.shape = {tuple(x.shape)}, 시도 {k + 1})"
        model.train(k % 2 == 0)  # given in train mode and in eval mode
        seen.clear()
        try:
            got = run(fn, model, x, what=call)
        except LearnerError:
            if any(d == 3 for d, *_ in seen):
                raise Incorrect(f"{call}: 모델에 [3, H, W] 한 장을 그대로 넣었습니다 — 모델은 배치 [N, 3, H, W] 를 "
                                "받으므로 맨 앞에 배치 차원을 붙이세요") from None
            if any(shape[:2] == (3, 1) for _, shape, *_ in seen):
                raise Incorrect(f"{call}: 배치 차원을 엉뚱한 자리에 붙였습니다 — [3, 1, H, W] 가 되었습니다. "
                                "맨 앞 (차원 0) 에 붙여 [1, 3, H, W] 로 만드세요") from None
            raise
        if not seen:
            raise Incorrect(f"{call}: 모델을 부르지 않았습니다 — model(...) 로 logits 를 계산하세요")
        if any(d == 3 for d, *_ in seen):
            raise Incorrect(f"{call}: 모델에 [3, H, W] 한 장을 그대로 넣었습니다 — 맨 앞에 배치 차원을 붙이세요")
        if any(training for *_, training, _ in seen) and not model.training:
            raise Incorrect(f"{call}: 평가 모드로 바꾸는 줄이 예측 뒤에 있습니다 — 모델이 이미 학습 모드로 예측한 뒤입니다. "
                            "모델을 부르기 전에 바꾸세요")
        if any(training for *_, training, _ in seen):
            raise Incorrect(f"{call}: 모델이 학습 모드 (train) 로 예측했습니다 — 예측 전에 평가 모드로 바꾸세요 "
                            "(Dropout 이 꺼지고 BatchNorm 이 저장된 통계를 씁니다)")
        if any(grad for *_, grad in seen):
            raise Incorrect(f"{call}: 기울기를 기록하며 예측했습니다 — 예측은 기울기 기록을 끄는 with 블록 안에서 하세요")
        if hasattr(got, "numel") and not callable(getattr(got, "shape", None)) and got.numel() > 1:
            raise Incorrect(f"{call}: 모양 {tuple(got.shape)} 의 텐서를 돌려주었습니다 — 점수 (logits) 가 아니라 가장 "
                            "큰 점수의 클래스 번호 하나를 돌려주세요")
        value = as_number(got, call)
        was = model.training
        model.eval()
        with torch.no_grad():
            logits = model(x.unsqueeze(0))
        model.train(was)
        want = int(logits.argmax(1))
        if value == want:
            continue
        if abs(value - float(logits.max())) < 1e-5:
            raise Incorrect(f"{call}: {value:.4g} — 가장 큰 점수 (logit) 의 값 자체입니다. 그 점수의 위치 "
                            "(클래스 번호) 를 돌려주세요")
        if abs(value - float(torch.softmax(logits, 1).max())) < 1e-5:
            raise Incorrect(f"{call}: {value:.4g} — 가장 큰 확률의 값 자체입니다. 클래스 번호를 돌려주세요")
        raise Incorrect(f"{call}: 클래스 {value:g} 를 돌려주었는데 모델의 가장 큰 점수는 다른 클래스입니다 — 점수 "
                        "(logits [1, 클래스 수]) 에서 가장 큰 값의 위치를 어느 차원에서 찾는지 보세요")


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
    return logits.argmax(1).item()''', "학습 모드"),
           ('''def predict_one(model, x):
    model.eval()
    with torch.no_grad():
        logits = model(x)
    return logits.argmax(1).item()''', "배치 차원"),
           ('''def predict_one(model, x):
    model.eval()
    with torch.no_grad():
        logits = model(x.unsqueeze(0))
    return logits''', "클래스 번호 하나"),
           ('''def predict_one(model, x):
    model.eval()
    logits = model(x.unsqueeze(0))
    return logits.argmax(1).item()''', "기울기를 기록")],
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


def _target(f) -> str | None:
    """The file a torch.save / torch.load call wrote or read (a path or an open file)."""
    import os

    name = getattr(f, "name", f)
    try:
        return str(Path(os.fspath(name)).resolve())
    except TypeError:
        return None


def _test_save_reload(fn):
    import torch

    model = _net(1)
    model.train()
    saves, loads, made = [], [], []
    real_save, real_load = torch.save, torch.load

    def save(obj, f, *args, **kwargs):
        saves.append((type(obj), _target(f)))
        return real_save(obj, f, *args, **kwargs)

    def load(f, *args, **kwargs):
        loads.append(_target(f))
        return real_load(f, *args, **kwargs)

    def make_model():
        net = _net(2)
        made.append(net)
        return net

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "head.pth"
        call = "save_and_reload(model, make_model, path)"
        torch.save, torch.load = save, load
        try:
            got = run(fn, model, make_model, str(path), what=call)
        except LearnerError as err:
            if any(issubclass(t, torch.nn.Module) for t, _ in saves):
                raise Incorrect(f"{call}: 모델 객체 전체를 저장했습니다 — 가중치 사전 (state_dict) 만 저장하세요") \
                    from None
            if "state_dict to be dict-like" in str(err):
                raise Incorrect(f"{call}: load_state_dict 에 파일 경로를 넘겼습니다 — 파일에서 읽어 들인 사전을 "
                                "넘기세요") from None
            raise
        finally:
            torch.save, torch.load = real_save, real_load
        if not path.is_file():
            where = [p for _, p in saves if p]
            raise Incorrect(f"{call}: 인자로 받은 path 에 파일이 없습니다" +
                            (f" — 다른 곳 ({Path(where[0]).name}) 에 저장했습니다. path 를 쓰세요" if where else
                             " — 가중치를 path 에 저장하세요"))
        try:
            saved = real_load(path, weights_only=True)
        except Exception:  # noqa: BLE001 - a pickled module is refused by weights_only=True
            saved = None
        if not isinstance(saved, dict):
            raise Incorrect(f"{call}: 저장한 것이 state_dict (이름 → 텐서 사전) 가 아닙니다 — 모델 객체가 아니라 "
                            "가중치 사전만 저장하세요")
    if got is None:
        raise Incorrect(f"{call}: None 을 돌려받았습니다 — 불러온 새 모델을 return 하세요")
    if got is model:
        raise Incorrect(f"{call}: 원래 model 을 그대로 돌려주었습니다 — make_model() 로 만든 새 모델에 불러와 돌려주세요")
    if not any(got is m for m in made):
        raise Incorrect(f"{call}: 돌려준 모델이 make_model() 로 만든 새 모델이 아닙니다 (복사본 등) — 저장한 파일로 "
                        "새 모델을 되살리는 연습입니다")
    want, have = model.state_dict(), got.state_dict()
    for name, value in want.items():
        if value.dtype.is_floating_point and not allclose(have[name], value, atol=1e-6):
            raise Incorrect(f"{call}: 새 모델의 {name} 이 원래 모델과 다릅니다 — 읽어 들인 사전을 새 모델에 "
                            "불러왔는지 (load_state_dict) 보세요")
    if str(path.resolve()) not in loads:
        raise Incorrect(f"{call}: 저장한 파일을 다시 읽지 않았습니다 — 메모리의 가중치를 옮기지 말고 path 의 파일에서 "
                        "읽어 들이세요 (다른 컴퓨터·다음 날에도 되살릴 수 있어야 합니다)")
    if got.training:
        raise Incorrect(f"{call}: 돌려준 모델이 학습 모드입니다 — 불러온 뒤 평가 모드로 바꾸세요")
    x = torch.randn(3, 6)
    model.eval()
    with torch.no_grad():
        expect_close(got(x), model(x), f"{call} 로 불러온 모델의 출력", atol=1e-5)


q4 = Exercise(
    "03-4", "state_dict 저장하고 다시 불러오기", "save_and_reload", _test_save_reload,
    hints=["저장하는 것은 모델 객체가 아니라 가중치 사전 model.state_dict() 입니다.",
           "불러오기: 같은 구조의 새 모델을 만들고, 파일에서 읽은 사전을 그 모델에 불러옵니다. 예측 전에는 eval().",
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
    return new_model''', "원래 모델과 다릅니다"),
           ('''def save_and_reload(model, make_model, path):
    torch.save(model.state_dict(), path)
    new_model = make_model()
    new_model.load_state_dict(torch.load(path))
    return new_model''', "평가 모드"),
           ('''def save_and_reload(model, make_model, path):
    torch.save(model.state_dict(), path)
    model.eval()
    return model''', "새 모델")],
    context=_ctx,
)


# --------------------------------------------------------------------------- challenge: classify a folder

class _Spy:
    """A stand-in classifier that records what it is given (pixels, mode, gradients) and scores
    a photo by its colours, so every input it gets can be compared with the right transform's."""

    def __new__(cls):
        import torch
        from torch import nn

        class Spy(nn.Module):
            def __init__(self):
                super().__init__()
                self.scale = nn.Parameter(torch.tensor(1.0))
                self.drop = nn.Dropout(0.9)
                self.inputs, self.modes, self.grads = [], [], []

            def forward(self, x):
                self.inputs.extend(x.detach().clone().unbind(0) if x.dim() == 4 else [x.detach().clone()])
                self.modes.append(self.training)
                self.grads.append(torch.is_grad_enabled())
                if x.dim() != 4:
                    raise ValueError(f"expected a batch [N, 3, H, W], got {tuple(x.shape)}")
                t = (x[:, 0].mean(dim=(1, 2)) - x[:, 2].mean(dim=(1, 2))) * self.scale
                t = self.drop(t.unsqueeze(1)).squeeze(1) if self.training else t
                return torch.stack([t, -t], dim=1)

        return Spy()


def _photo_folder(tmp: Path, n_cat: int = 5, n_dog: int = 4) -> Path:
    """A small ImageFolder (Cat, Dog) built from the data root's test photos."""
    from ..data import catdog_dir

    src = catdog_dir("test")
    for cls, n in (("Cat", n_cat), ("Dog", n_dog)):
        (tmp / cls).mkdir(parents=True)
        for f in sorted((src / cls).glob("*.jpg"))[:n]:
            shutil.copy(f, tmp / cls / f.name)
    return tmp


def _test_predict_folder(fn):
    import torch

    from ..data import DataMissingError, load_rgb

    imagenet, lite = _stats()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            folder = _photo_folder(Path(tmp) / "photos")
        except DataMissingError as err:
            raise Incorrect(f"채점용 사진을 찾지 못했습니다: {err}") from None
        files = [(f, 0 if f.parent.name == "Cat" else 1) for f in sorted(folder.glob("*/*.jpg"))]
        imgs = [(load_rgb(f), label) for f, label in files]
        for mean, std, name in [(*imagenet, "ImageNet"), (*lite, "EfficientNet-Lite0")]:
            call = f"predict_folder(model, folder, mean, std)  ({name} 값, 사진 {len(files)}장: 고양이 5, 개 4)"
            spy = _Spy()
            spy.train()
            try:
                got = run(fn, spy, str(folder), mean, std, what=call)
            except LearnerError:
                if any(t.dim() == 3 for t in spy.inputs):
                    raise Incorrect(f"{call}: 모델에 사진 한 장 [3, H, W] 를 그대로 넣었습니다 — 배치 [N, 3, H, W] 로 "
                                    "넣으세요") from None
                raise
            if not spy.inputs:
                raise Incorrect(f"{call}: 모델을 한 번도 부르지 않았습니다 — 폴더의 사진마다 모델의 예측을 구하세요")
            if len(spy.inputs) != len(files):
                raise Incorrect(f"{call}: 모델이 사진 {len(spy.inputs)}장을 보았습니다 (폴더에는 {len(files)}장) — "
                                "모든 사진을 한 번씩 예측했는지 보세요 (return 이 반복문 안에 있지 않은지)")
            if any(spy.modes):
                raise Incorrect(f"{call}: 모델이 학습 모드 (train) 로 예측했습니다 — 예측 전에 평가 모드로 바꾸세요")
            if any(spy.grads):
                raise Incorrect(f"{call}: 기울기를 기록하며 예측했습니다 — 기울기 기록을 끄는 with 블록 안에서 "
                                "예측하세요")
            refs = [_reference_eval(mean, std)(img) for img, _ in imgs]
            for x in spy.inputs:
                if any(allclose(x, r, atol=1e-5) for r in refs):
                    continue
                if any(allclose(x, r.flip(-1), atol=1e-5) for r in refs):
                    raise Incorrect(f"{call}: 모델이 좌우로 뒤집힌 사진을 받았습니다 — 평가용 전처리에 무작위 뒤집기가 "
                                    "있습니다. 평가는 매번 같은 결과여야 합니다")
                whys = [_transform_problem(x, img, mean, std, imagenet) for img, _ in imgs]
                why = next((w for w in whys if w and "결과 모양이" not in w and "[0, 1]" not in w), None) or \
                    next((w for w in whys if w), None)
                raise Incorrect(f"{call}: 모델이 받은 사진이 평가용 전처리의 결과와 다릅니다 — "
                                + (why or "무작위 변환 (RandomResizedCrop 등) 이 없는지, 크기·자르기·정규화를 "
                                          "연습 03-1 과 비교하세요"))
            with torch.no_grad():
                spy.eval()
                preds = [int(spy(r.unsqueeze(0)).argmax(1)) for r in refs]
            correct = sum(p == label for p, (_, label) in zip(preds, imgs))
            want = 100 * correct / len(imgs)
            value = as_number(got, call)
            if abs(value - want) < 1e-4:
                continue
            if abs(value - want / 100) < 1e-6:
                raise Incorrect(f"{call}: {value:g} — 0–1 사이의 비율입니다. 정확도는 퍼센트 (%) 로 돌려주세요")
            if abs(value - (100 - want)) < 1e-4:
                raise Incorrect(f"{call}: {value:g} — 맞은 것과 틀린 것이 뒤바뀌었습니다. 레이블 번호는 폴더 이름의 "
                                "알파벳 순서 (Cat = 0, Dog = 1) 입니다: ImageFolder 가 정해 주는 번호를 쓰세요")
            raise Incorrect(f"{call}: 정확도 {value:g}% 가 모델의 예측으로 센 값과 다릅니다 — 맞은 개수와 사진 수를 "
                            "모든 배치에 걸쳐 더한 뒤 한 번 나누었는지 보세요 (배치마다의 정확도를 평균하면 "
                            "마지막 배치가 작을 때 틀립니다)")


_PREDICT_FOLDER = '''def predict_folder(model, folder, mean, std):
    """folder/<클래스>/*.jpg 사진을 평가용 전처리 (mean, std) 로 분류하고 정확도 (%) 를 돌려줌"""
    from torchvision import datasets
    tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(mean, std)])
    ds = datasets.ImageFolder(folder, transform=tf)          # 레이블: 폴더 이름 순서 (Cat 0, Dog 1)
    loader = torch.utils.data.DataLoader(ds, batch_size=16)
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
    return 100 * correct / len(ds)'''

challenge = Exercise(
    "03-C", "도전: 사진 폴더를 분류하고 정확도 내기 (predict_folder)", "predict_folder", _test_predict_folder,
    hints=["세 부분입니다: 폴더를 데이터셋으로 읽기 (레이블은 폴더 이름), 평가용 전처리, 평가 반복문 (02 의 "
           "evaluate_accuracy 와 같은 모양).",
           "datasets.ImageFolder(folder, transform=...) (from torchvision import datasets) 가 (사진, 레이블) 을 "
           "줍니다. 전처리는 연습 03-1 의 것, 반복문은 "
           "model.eval() 과 torch.no_grad() 안에서, 맞은 개수와 전체 수를 끝까지 더한 뒤 나눕니다.",
           "ds = datasets.ImageFolder(folder, transform=T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), "
           "T.Normalize(mean, std)]))  /  loader = torch.utils.data.DataLoader(ds, batch_size=16)  /  "
           "return 100 * correct / len(ds)"],
    template='''def predict_folder(model, folder, mean, std):
    """folder/<클래스>/*.jpg 사진을 평가용 전처리 (mean, std) 로 분류하고 정확도 (%) 를 돌려줌"""
    ____''',
    solution=_PREDICT_FOLDER,
    wrong=[(_PREDICT_FOLDER.replace("T.Resize(256), T.CenterCrop(224)",
                                    "T.RandomResizedCrop(224), T.RandomHorizontalFlip()"), "평가용 전처리"),
           (_PREDICT_FOLDER.replace("    model.eval()\n", ""), "학습 모드"),
           (_PREDICT_FOLDER.replace("100 * correct / len(ds)", "correct / len(ds)"), "퍼센트")],
    context=_ctx,
)

EXERCISES = [q1, q2, q3, q4, challenge]
quiz = Quiz("03")
