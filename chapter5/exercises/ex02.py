"""Exercises of notebook 02 (DNN vs CNN on FashionMNIST): notebooks/02_dnn_vs_cnn.ipynb."""
from __future__ import annotations

import copy

import torch
from torch import nn

from .core import Exercise, Incorrect, LearnerError, NotAttempted, as_number, expect_close, expect_number, is_blank
from .core import run as _core_run
from .quiz import Quiz


def _context():
    import contextlib

    return {"torch": torch, "nn": nn, "contextlib": contextlib}


def run(fn, *args, what=None):
    """``core.run``, but a blank ``____`` used where Python needs a real object (``with ____:``,
    ``nn.Linear(____, 600)``) counts as "not attempted", not as the learner's error."""
    try:
        got = _core_run(fn, *args, what=what)
    except LearnerError as err:
        if "_Blank" in str(err):
            raise NotAttempted("빈칸 ____ 이 아직 남아 있습니다") from None
        raise
    if is_blank(got):
        raise NotAttempted("return 뒤의 빈칸 ____ 을 채우세요")
    return got


# --------------------------------------------------------------------------- 02-1 training step

def _test_training_step(fn):
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    ref = copy.deepcopy(model)
    xb, yb = torch.randn(8, 4), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    for p in model.parameters():  # stale gradients from "an earlier batch"
        p.grad = torch.full_like(p, 5.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = [p.detach().clone() for p in model.parameters()]
    call = "training_step(model, xb, yb, optimizer, loss_fn)"
    got = run(fn, model, xb, yb, optimizer, nn.CrossEntropyLoss(), what=call)

    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    ref_opt.zero_grad()
    ref_loss = nn.CrossEntropyLoss()(ref(xb), yb)
    ref_loss.backward()
    ref_opt.step()

    if got is None:
        raise Incorrect(f"{call} 이 None 을 돌려줍니다 — 마지막에 `return loss` 로 손실을 돌려주세요")
    after = [p.detach() for p in model.parameters()]
    if all(torch.equal(a, b) for a, b in zip(before, after)):
        raise Incorrect("가중치가 하나도 바뀌지 않았습니다 — optimizer.step() 을 불렀는지, zero_grad() 를 "
                        "backward() 와 step() 사이에 부르지 않았는지 보세요")
    stale = [b - 0.1 * (r.grad + 5.0) for b, r in zip(before, ref.parameters())]
    if all(torch.allclose(a, s, atol=1e-6) for a, s in zip(after, stale)):
        raise Incorrect("이전 배치의 기울기가 더해졌습니다 — backward() 전에 optimizer.zero_grad() 를 부르세요 "
                        "(PyTorch 는 기울기를 덮어쓰지 않고 쌓습니다)")
    for name, a, r in zip(("weight", "bias"), after, ref.parameters()):
        expect_close(a, r.detach(), f"한 단계 뒤 model.{name}", atol=1e-6,
                     why="zero_grad → forward → loss → backward → step 순서를 확인하세요")
    expect_number(got, ref_loss.item(), "돌려준 손실 (loss)", atol=1e-5,
                  why="step() 전에 계산한 이 배치의 손실을 돌려주세요")


q1 = Exercise(
    "02-1", "학습 한 단계 (zero_grad → forward → loss → backward → step)", "training_step",
    _test_training_step,
    hints=["위의 '학습 한 단계' 셀의 다섯 줄을 함수 안으로 옮기면 됩니다.",
           "순서: optimizer.zero_grad() → logits = model(xb) → loss = loss_fn(logits, yb) → "
           "loss.backward() → optimizer.step()",
           "마지막 줄은 `return loss` 입니다."],
    template='''def training_step(model, xb, yb, optimizer, loss_fn):
    """배치 (xb, yb) 로 한 번 학습하고 그 배치의 손실(loss)을 돌려줍니다"""
    ____
    return ____''',
    solution='''def training_step(model, xb, yb, optimizer, loss_fn):
    """배치 (xb, yb) 로 한 번 학습하고 그 배치의 손실(loss)을 돌려줍니다"""
    optimizer.zero_grad()
    logits = model(xb)
    loss = loss_fn(logits, yb)
    loss.backward()
    optimizer.step()
    return loss''',
    wrong=[('''def training_step(model, xb, yb, optimizer, loss_fn):
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    return loss''', "zero_grad"),
           ('''def training_step(model, xb, yb, optimizer, loss_fn):
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    return loss''', "step()"),
           ('''def training_step(model, xb, yb, optimizer, loss_fn):
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()''', "return loss")],
    context=_context,
)


# --------------------------------------------------------------------------- 02-3 count correct

def _test_count_correct(fn):
    g = torch.Generator().manual_seed(2)
    square = torch.randn(10, 10, generator=g)       # rows = images, columns = class scores
    labels = square.argmax(1).clone()
    labels[:3] = (labels[:3] + 1) % 10              # three wrong predictions -> 7 correct
    call = "count_correct(logits, labels)"
    got = run(fn, square, labels, what=call)
    want = int((square.argmax(1) == labels).sum())
    if torch.is_tensor(got) and got.numel() == len(labels):
        raise Incorrect(f"{call}: 길이 {got.numel()} 의 텐서를 받았습니다 — preds.eq(labels) 뒤에 .sum() 으로 "
                        "맞은 개수를 더하세요")
    value = as_number(got, call)
    by_column = int((square.argmax(0) == labels).sum())
    if value != want and value == by_column:
        raise Incorrect(f"{call}: {value:g} — torch.max(logits, 0) 은 열(클래스)이 아니라 행(이미지) 방향의 최댓값입니다. "
                        "각 이미지의 최고 점수 클래스는 dim=1 입니다")
    if abs(value - want / len(labels)) < 1e-6 or abs(value - 100 * want / len(labels)) < 1e-4:
        raise Incorrect(f"{call}: {value:g} 는 비율입니다 — 맞은 개수(count) {want} 처럼 정수를 돌려주세요")
    expect_number(value, want, call, why="torch.max(logits, 1) 의 두 번째 값(인덱스)이 예측 클래스입니다")
    other = torch.randn(7, 10, generator=g)
    other_labels = torch.zeros(7, dtype=torch.long)
    call2 = "count_correct(logits (7, 10), labels (7,))"
    expect_number(run(fn, other, other_labels, what=call2), int((other.argmax(1) == 0).sum()), call2)


q3 = Exercise(
    "02-3", "맞은 개수 세기 (torch.max, preds.eq)", "count_correct", _test_count_correct,
    hints=["torch.max(logits, 1) 은 (각 행의 최댓값, 그 위치) 두 텐서를 돌려줍니다. 위치가 예측 클래스입니다.",
           "preds.eq(labels) 는 맞으면 True 인 텐서입니다. True 는 더하면 1 로 셉니다.",
           "_, preds = torch.max(logits, 1)  다음  return preds.eq(labels).sum().item()"],
    template='''def count_correct(logits, labels):
    """logits (N, 10) 과 정답 labels (N,) 에서 맞힌 이미지의 개수"""
    _, preds = ____
    return ____''',
    solution='''def count_correct(logits, labels):
    """logits (N, 10) 과 정답 labels (N,) 에서 맞힌 이미지의 개수"""
    _, preds = torch.max(logits, 1)
    return preds.eq(labels).sum().item()''',
    wrong=[('''def count_correct(logits, labels):
    _, preds = torch.max(logits, 0)
    return preds.eq(labels).sum().item()''', "dim=1"),
           ('''def count_correct(logits, labels):
    _, preds = torch.max(logits, 1)
    return preds.eq(labels)''', ".sum()"),
           ('''def count_correct(logits, labels):
    _, preds = torch.max(logits, 1)
    return preds.eq(labels).float().mean().item()''', "비율")],
    context=_context,
)


# --------------------------------------------------------------------------- 02-4 evaluation

def _eval_model():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 3))
    with torch.no_grad():  # give batch norm some running statistics that differ from a test batch's
        for _ in range(20):
            model(torch.randn(16, 4) * 3 + 1)
    model.train()
    x = torch.randn(60, 4)
    y = torch.randint(0, 3, (60,), generator=torch.Generator().manual_seed(4))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=20)
    return model, loader


def _test_evaluate(fn):
    model, loader = _eval_model()
    ref_model = copy.deepcopy(model).eval()
    with torch.no_grad():
        correct = sum(int((ref_model(x).argmax(1) == y).sum()) for x, y in loader)
    want = 100 * correct / len(loader.dataset)
    seen = []
    model.register_forward_hook(lambda m, i, o: seen.append((m.training, torch.is_grad_enabled())))
    call = "evaluate_accuracy(model, test_loader)"
    got = run(fn, model, loader, what=call)
    if not seen:
        raise Incorrect(f"{call}: model 을 한 번도 부르지 않았습니다 — loader 의 배치마다 model(x) 를 계산하세요")
    if any(training for training, _ in seen):
        raise Incorrect("모델이 학습 모드(training mode)로 예측했습니다 — 평가 전에 model.eval() 을 부르세요 "
                        "(그래야 dropout 이 꺼지고 batch norm 이 학습 때 모은 평균·분산을 씁니다)")
    if any(grad for _, grad in seen):
        raise Incorrect("평가 중에 기울기(gradient)를 기록했습니다 — 반복문을 `with torch.no_grad():` 안에 넣으세요 "
                        "(메모리와 시간을 아낍니다)")
    value = as_number(got, call)
    if abs(value - want / 100) < 1e-6 and want:
        raise Incorrect(f"{call}: {value:g} — 교과서처럼 퍼센트(%)로 돌려주세요 (100 * correct / total)")
    expect_number(value, want, call, atol=1e-4, why="맞은 개수를 모든 배치에 걸쳐 더한 뒤 전체 개수로 나누세요")


_EVALUATE = '''def evaluate_accuracy(model, loader):
    """loader 전체에 대한 정확도(%)를 평가 모드에서 계산합니다"""
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
            total += len(y)
    return 100 * correct / total'''

q4 = Exercise(
    "02-4", "평가 함수 (model.eval() 과 torch.no_grad())", "evaluate_accuracy", _test_evaluate,
    hints=["교과서의 평가 반복문에 두 가지가 빠져 있습니다: 모드 전환과 기울기 끄기.",
           "model.eval() 을 먼저 부르고, 반복문 전체를 `with torch.no_grad():` 안에 넣습니다.",
           "끝에 100 * correct / total 을 돌려줍니다."],
    template=(_EVALUATE.replace("    model.eval()", "    ____").replace("torch.no_grad()", "____")
              .replace("100 * correct / total", "____")),
    solution=_EVALUATE,
    wrong=[(_EVALUATE.replace("    model.eval()\n", ""), "model.eval()"),
           (_EVALUATE.replace("torch.no_grad()", "contextlib.nullcontext()"), "no_grad"),
           (_EVALUATE.replace("100 * correct / total", "correct / total"), "퍼센트")],
    context=_context,
)


# --------------------------------------------------------------------------- 02-2 fc1 in_features

def _test_padded_cnn(cls):
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise Incorrect(f"PaddedCNN 은 nn.Module 을 상속한 클래스여야 하는데 {type(cls).__name__} 을(를) 받았습니다")
    model = run(cls, what="PaddedCNN()")
    x = torch.zeros(2, 1, 28, 28)
    model.eval()
    with torch.no_grad():
        feat = run(lambda t: model.layer2(model.layer1(t)), x, what="layer2(layer1(x))")
        flat = feat[0].numel()
        fc_in = model.fc1.in_features
        if fc_in != flat:
            why = ""
            if fc_in == 64 * 6 * 6:
                why = " 64·6·6 은 padding 이 없는 교과서 모델의 값입니다. padding=1 이면 합성곱이 크기를 줄이지 않습니다"
            elif fc_in == 64 * 14 * 14:
                why = " layer2 끝의 최대 풀링 (MaxPool2d(2)) 이 크기를 반으로 줄이는 것을 빠뜨렸습니다"
            raise Incorrect(f"fc1 은 in_features={fc_in} 인데 layer2 뒤의 특성 맵은 {tuple(feat.shape[1:])} → "
                            f"펼치면 {flat} 개입니다.{why} (출력 크기 공식: (H + 2P − K) // S + 1)")
        out = run(model, x, what="PaddedCNN()(x)  # x: (2, 1, 28, 28)")
    if tuple(out.shape) != (2, 10):
        raise Incorrect(f"더미 배치 (2, 1, 28, 28) 의 출력 모양이 {tuple(out.shape)} 입니다 — (2, 10) 이어야 합니다")


_PADDED_CNN = '''class PaddedCNN(nn.Module):
    """FashionCNN 과 같지만 layer2 의 합성곱에 padding=1 을 준 모델"""

    def __init__(self):
        super().__init__()
        self.layer1 = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32),
                                    nn.ReLU(), nn.MaxPool2d(2))
        self.layer2 = nn.Sequential(nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64),
                                    nn.ReLU(), nn.MaxPool2d(2))
        self.fc1 = nn.Linear(FC1_IN, 600)
        self.fc2 = nn.Linear(600, 10)

    def forward(self, x):
        out = self.layer2(self.layer1(x))
        out = out.view(out.size(0), -1)
        return self.fc2(torch.relu(self.fc1(out)))'''


def _padded(fc1_in: str) -> str:
    return _PADDED_CNN.replace("FC1_IN", fc1_in)


q2 = Exercise(
    "02-2", "fc1 의 in_features 고치기 (padding=1 인 layer2)", "PaddedCNN", _test_padded_cnn,
    hints=["28×28 → layer1 (padding 1 합성곱, 풀링) → 14×14. layer2 도 padding=1 이면 합성곱 뒤 크기는?",
           "layer2: 14×14 → (3×3, padding 1) 14×14 → (풀링) 7×7, 채널 64.",
           "nn.Linear(64 * 7 * 7, 600)"],
    template=_padded("____").replace("600)\n", "600)      # 64 * 6 * 6 을 그대로 두면 오류가 납니다\n", 1),
    solution=_padded("64 * 7 * 7"),
    wrong=[(_padded("64 * 6 * 6"), "64·6·6"), (_padded("64 * 14 * 14"), "풀링")],
    context=_context,
)

EXERCISES = [q1, q2, q3, q4]
quiz = Quiz("02")
