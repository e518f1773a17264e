"""Exercises of notebook 02 (DNN vs CNN on FashionMNIST): notebooks/02_dnn_vs_cnn.ipynb.

The checks run the learner's code on hidden cases that separate the known mistakes: several
training steps with uneven batches (a missing ``zero_grad`` shows, ``zero_grad`` after ``step``
passes), a loader whose last batch is smaller (the mean of per-batch accuracies fails), outputs
that are probabilities (a Softmax at the output). Messages name the mistake without printing
the answer.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from .core import Exercise, Incorrect, LearnerError, allclose, as_number, expect_number, run
from .quiz import Quiz


def _context():
    import contextlib

    return {"torch": torch, "nn": nn, "contextlib": contextlib}


# --------------------------------------------------------------------------- 02-1 training step

def _lineage(model, batches, *, zero_grad=True, softmax=False):
    """Parameters after each step of the reference loop (or of a known mistake's loop), and the losses."""
    model = copy.deepcopy(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    params, losses = [], []
    for xb, yb in batches:
        if zero_grad:
            opt.zero_grad()
        logits = model(xb)
        loss = nn.CrossEntropyLoss()(torch.softmax(logits, 1) if softmax else logits, yb)
        loss.backward()
        opt.step()
        params.append([p.detach().clone() for p in model.parameters()])
        losses.append(loss.item())
    return params, losses


def _test_training_step(fn):
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    g = torch.Generator().manual_seed(1)
    batches = [(torch.randn(n, 4, generator=g) * 2, torch.randint(0, 3, (n,), generator=g)) for n in (8, 5, 3)]
    right, right_losses = _lineage(model, batches)
    stale, _ = _lineage(model, batches, zero_grad=False)
    soft, soft_losses = _lineage(model, batches, softmax=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    backward = []
    for p in model.parameters():
        p.register_hook(lambda grad: backward.append(1))
    for k, (xb, yb) in enumerate(batches):
        call = f"training_step(model, xb {tuple(xb.shape)}, yb, optimizer, loss_fn)  ({k + 1}번째 배치)"
        before = [p.detach().clone() for p in model.parameters()]
        backward.clear()
        got = run(fn, model, xb, yb, optimizer, nn.CrossEntropyLoss(), what=call)
        after = [p.detach().clone() for p in model.parameters()]
        if all(torch.equal(a, b) for a, b in zip(before, after)):
            if not backward:
                raise Incorrect(f"{call}: 가중치가 그대로이고 기울기도 계산되지 않았습니다 — 손실에서 backward() 를 "
                                "불렀는지 보세요")
            if all(p.grad is None or not p.grad.any() for p in model.parameters()):
                raise Incorrect(f"{call}: 가중치가 그대로입니다 — 기울기를 계산한 뒤 step() 전에 지워 버렸습니다. "
                                "zero_grad() 가 backward() 와 step() 사이에 있지 않은지 보세요")
            raise Incorrect(f"{call}: 기울기는 있는데 가중치가 그대로입니다 — 기울기로 가중치를 갱신하는 단계 (옵티마이저의 step) 를 불렀는지 보세요")
        if got is None:
            raise Incorrect(f"{call}: None 을 돌려받았습니다 — 함수 끝에서 이 배치의 손실을 return 하세요")
        if not all(allclose(a, r, atol=1e-6) for a, r in zip(after, right[k])):
            if all(allclose(a, r, atol=1e-6) for a, r in zip(after, soft[k])):
                raise Incorrect(f"{call}: 손실에 softmax 를 거친 확률을 넣었습니다 — nn.CrossEntropyLoss 는 안에서 "
                                "(log-)softmax 를 계산하므로 모델의 출력 logits 를 그대로 넣습니다")
            if all(allclose(a, r, atol=1e-6) for a, r in zip(after, stale[k])):
                raise Incorrect(f"{call}: 이전 배치의 기울기가 더해졌습니다 — PyTorch 는 기울기를 덮어쓰지 않고 "
                                "쌓습니다. 매 단계 기울기를 지우는 줄이 있는지 보세요")
            raise Incorrect(f"{call}: 한 단계 뒤의 가중치가 기대와 다릅니다 — 위의 '학습 한 단계' 셀의 다섯 줄과 "
                            "하나씩 비교해 보세요")
        loss = as_number(got, f"{call} 이 돌려준 손실")
        if abs(loss - right_losses[k]) > 1e-5:
            if abs(loss - soft_losses[k]) < 1e-5:
                raise Incorrect(f"{call}: 돌려준 손실이 softmax 를 거친 확률로 계산한 값입니다 — CrossEntropyLoss 에는 "
                                "logits 를 그대로 넣습니다")
            with torch.no_grad():
                later = nn.CrossEntropyLoss()(model(xb), yb).item()
            if abs(loss - later) < 1e-5:
                raise Incorrect(f"{call}: 돌려준 손실은 step() 뒤에 다시 계산한 값입니다 — 가중치를 바꾸기 전, "
                                "backward() 에 쓴 그 손실을 돌려주세요")
            expect_number(loss, right_losses[k], f"{call} 이 돌려준 손실", atol=1e-5,
                          why="이 배치로 계산해 backward() 에 쓴 손실을 돌려주세요")


q1 = Exercise(
    "02-1", "학습 한 단계 (zero_grad → forward → loss → backward → step)", "training_step",
    _test_training_step,
    hints=["위의 '학습 한 단계' 셀의 다섯 줄을 함수 안으로 옮기면 됩니다.",
           "순서: 기울기 지우기 → 모델 출력 (logits) → 손실 → 기울기 계산 → 가중치 갱신. 손실 함수에는 logits 를 "
           "그대로 넣습니다.",
           "optimizer.zero_grad() / loss = loss_fn(model(xb), yb) / loss.backward() / optimizer.step() / "
           "return loss"],
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
    return loss''', "이전 배치의 기울기"),
           ('''def training_step(model, xb, yb, optimizer, loss_fn):
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    return loss''', "갱신하는 단계"),
           ('''def training_step(model, xb, yb, optimizer, loss_fn):
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()''', "return 하세요")],
    context=_context,
)


# --------------------------------------------------------------------------- 02-2 fc1 in_features

_FLAT = 64 * 7 * 7


def _test_padded_cnn(cls):
    if isinstance(cls, nn.Module):
        raise Incorrect("모델 객체를 받았습니다 — 클래스 PaddedCNN 자체 (괄호 없이) 를 넘기세요")
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise Incorrect(f"PaddedCNN 은 nn.Module 을 상속한 클래스여야 하는데 {type(cls).__name__} 을(를) 받았습니다")
    model = run(cls, what="PaddedCNN()")
    model.eval()
    x = torch.randn(2, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        feat = run(lambda t: model.layer2(model.layer1(t)), x, what="layer2(layer1(x))")
        if tuple(feat.shape[1:]) != (64, 7, 7):
            raise Incorrect(f"layer2 뒤의 특성 맵이 {tuple(feat.shape[1:])} 입니다 — layer1·layer2 (padding=1) 는 "
                            "그대로 두고 fc1 의 입력 수만 고치세요")
        try:
            out = run(model, x, what="PaddedCNN()(x)  # x: (2, 1, 28, 28)")
        except LearnerError:
            fc1 = getattr(model, "fc1", None)
            fc_in = getattr(fc1, "in_features", None)
            if not isinstance(fc_in, int) or fc_in == _FLAT:
                raise
            where = " 더미 입력을 layer1, layer2 에 차례로 넣고 모양 (shape) 을 출력해 세어 보세요"
            if fc_in == 64 * 6 * 6:
                why = "64·6·6 은 padding 이 없는 교과서 모델의 값입니다. padding=1 이면 3×3 합성곱이 크기를 줄이지 않습니다."
            elif fc_in == 64 * 14 * 14:
                why = "layer2 끝의 최대 풀링 (MaxPool2d(2)) 이 크기를 반으로 줄이는 것을 빠뜨렸습니다."
            elif fc_in == 64 * 28 * 28:
                why = "두 번의 최대 풀링이 크기를 줄이는 것을 모두 빠뜨렸습니다."
            elif fc_in % 49 == 0:
                why = f"높이·너비는 맞지만 채널 수가 다릅니다 ({fc_in // 49}) — layer2 의 출력 채널 수를 보세요."
            else:
                why = "펼친 특성의 개수 = 채널 수 × 높이 × 너비 입니다."
            raise Incorrect(f"fc1 의 in_features={fc_in} 가 layer2 뒤 특성 맵을 펼친 개수와 다릅니다 — {why}{where}") \
                from None
    if not hasattr(out, "shape") or tuple(out.shape) != (2, 10):
        raise Incorrect(f"더미 배치 (2, 1, 28, 28) 의 출력 모양이 {tuple(getattr(out, 'shape', ()))} 입니다 — "
                        "(배치, 클래스 10개) 여야 합니다")
    out = out.detach().double()
    if bool((out >= 0).all()) and allclose(out.sum(1), torch.ones(2), atol=1e-4):
        raise Incorrect("출력이 확률 (합이 1) 입니다 — 출력에 softmax 를 넣었습니다. nn.CrossEntropyLoss 가 안에서 "
                        "softmax 를 하므로 모델은 logits 를 그대로 내보냅니다")
    if allclose(out.exp().sum(1), torch.ones(2), atol=1e-4):
        raise Incorrect("출력이 로그 확률입니다 — 출력에 LogSoftmax 를 넣었습니다. nn.CrossEntropyLoss 와 함께 쓸 "
                        "모델은 logits 를 그대로 내보냅니다")


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
           "layer2: 14×14 → (3×3, padding 1) 14×14 → (풀링) 7×7, 채널 64. 펼치면 채널 × 높이 × 너비.",
           "nn.Linear(64 * 7 * 7, 600)"],
    template=_padded("____").replace("600)\n", "600)      # 64 * 6 * 6 을 그대로 두면 오류가 납니다\n", 1),
    solution=_padded("64 * 7 * 7"),
    wrong=[(_padded("64 * 6 * 6"), "64·6·6"), (_padded("64 * 14 * 14"), "풀링")],
    context=_context,
)


# --------------------------------------------------------------------------- 02-3 count correct

def _test_count_correct(fn):
    g = torch.Generator().manual_seed(2)
    square = torch.randn(10, 10, generator=g)       # rows = images, columns = class scores
    labels = square.argmax(1).clone()
    labels[:3] = (labels[:3] + 1) % 10              # three wrong predictions -> 7 correct
    other = torch.randn(7, 10, generator=g)
    other_labels = other.argmax(1).clone()
    other_labels[:5] = (other_labels[:5] + 3) % 10  # 2 of 7 correct
    for logits, lab in [(square, labels), (other, other_labels)]:
        call = f"count_correct(logits {tuple(logits.shape)}, labels {tuple(lab.shape)})"
        got = run(fn, logits.clone(), lab.clone(), what=call)
        want = int((logits.argmax(1) == lab).sum())
        if hasattr(got, "numel") and not callable(getattr(got, "shape", None)) and got.numel() == len(lab):
            raise Incorrect(f"{call}: 길이 {got.numel()} 의 텐서 (이미지마다 맞음/틀림) 를 받았습니다 — 맞은 것을 "
                            "모두 더해 개수 하나로 돌려주세요")
        value = as_number(got, call)
        if value == want:
            continue
        n = len(lab)
        if logits.shape[0] == logits.shape[1] and value == int((logits.argmax(0) == lab).sum()):
            raise Incorrect(f"{call}: {value:g} — 최댓값을 열 (이미지) 방향으로 찾았습니다. 각 이미지 (행) 의 가장 큰 "
                            "점수는 클래스 차원 방향입니다")
        if value == int((logits.max(1)[0] == lab).sum()):
            raise Incorrect(f"{call}: {value:g} — torch.max 가 돌려주는 두 값 중 첫 번째는 최댓값 자체 (점수) 입니다. "
                            "예측 클래스는 그 위치 (두 번째 값) 입니다")
        if value == n - want:
            raise Incorrect(f"{call}: {value:g} — 틀린 개수를 셌습니다. 예측과 정답이 같은 것을 세세요")
        if abs(value - want / n) < 1e-6:
            raise Incorrect(f"{call}: {value:g} 는 0–1 사이의 비율입니다 — 평균이 아니라 맞은 개수 (정수) 를 돌려주세요")
        if abs(value - 100 * want / n) < 1e-4:
            raise Incorrect(f"{call}: {value:g} 는 퍼센트 (%) 입니다 — 이 함수는 정확도가 아니라 맞은 개수 (정수) 를 "
                            "돌려줍니다")
        expect_number(value, want, call, why="이미지마다 가장 큰 점수의 클래스를 정답과 비교해 같은 것을 세었는지 보세요")


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
    return preds.eq(labels).sum().item()''', "열 (이미지) 방향"),
           ('''def count_correct(logits, labels):
    _, preds = torch.max(logits, 1)
    return preds.eq(labels)''', "모두 더해"),
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
    g = torch.Generator().manual_seed(4)
    x = torch.randn(60, 4, generator=g)
    y = torch.randint(0, 3, (60,), generator=g)
    # batches of 25, 25, 10: the mean of per-batch accuracies differs from the accuracy
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=25)
    return model, loader


def _test_evaluate(fn):
    model, loader = _eval_model()
    ref_model = copy.deepcopy(model).eval()
    with torch.no_grad():
        per_batch = [(int((ref_model(x).argmax(1) == y).sum()), len(y)) for x, y in loader]
    correct, total = sum(c for c, _ in per_batch), sum(n for _, n in per_batch)
    want = 100 * correct / total
    seen = []
    model.register_forward_hook(lambda m, i, o: seen.append((m.training, torch.is_grad_enabled())))
    call = "evaluate_accuracy(model, test_loader)  (배치 25, 25, 10)"
    got = run(fn, model, loader, what=call)
    if not seen:
        raise Incorrect(f"{call}: model 을 한 번도 부르지 않았습니다 — loader 의 배치마다 model(x) 를 계산하세요")
    if any(training for training, _ in seen):
        raise Incorrect(f"{call}: 모델이 학습 모드 (training mode) 로 예측했습니다 — 평가 전에 평가 모드로 바꾸세요 "
                        "(그래야 dropout 이 꺼지고 batch norm 이 학습 때 모은 평균·분산을 씁니다)")
    if any(grad for _, grad in seen):
        raise Incorrect(f"{call}: 평가 중에 기울기 (gradient) 를 기록했습니다 — 반복문을 기울기 기록을 끄는 "
                        "with 블록 안에 넣으세요 (메모리와 시간을 아낍니다)")
    if got is None:
        raise Incorrect(f"{call}: None 을 돌려받았습니다 — 정확도 (%) 를 return 하세요")
    value = as_number(got, call)
    if abs(value - want) < 1e-4:
        return
    if len(seen) < len(per_batch):
        raise Incorrect(f"{call}: {value:g} — 배치 {len(per_batch)}개 중 {len(seen)}개만 보았습니다. return 이 반복문 "
                        "안에 있지 않은지 보세요")
    if want and abs(value - want / 100) < 1e-6:
        raise Incorrect(f"{call}: {value:g} — 0–1 사이의 비율입니다. 교과서처럼 퍼센트 (%) 로 돌려주세요")
    batch_mean = 100 * sum(c / n for c, n in per_batch) / len(per_batch)
    if abs(value - batch_mean) < 1e-4:
        raise Incorrect(f"{call}: {value:g} — 배치마다의 정확도를 평균했습니다. 마지막 배치처럼 크기가 다른 배치가 "
                        "있으면 틀립니다: 맞은 개수와 이미지 수를 모두 더한 뒤 한 번 나누세요")
    if abs(value - 100 * correct / len(per_batch)) < 1e-4:
        raise Incorrect(f"{call}: {value:g} — 전체 개수 대신 배치 수로 나누었습니다. total 에는 배치마다 이미지 "
                        "수를 더하세요")
    if abs(value - 100 * correct / (loader.batch_size * len(per_batch))) < 1e-4:
        raise Incorrect(f"{call}: {value:g} — 배치 크기 × 배치 개수로 나눈 셈입니다. 마지막 배치는 더 작을 수 있으니 "
                        "실제 이미지 수를 더하세요")
    expect_number(value, want, call, atol=1e-4, why="맞은 개수를 모든 배치에 걸쳐 더한 뒤 전체 이미지 수로 나누었는지 "
                                                    "보세요")


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
    wrong=[(_EVALUATE.replace("    model.eval()\n", ""), "학습 모드"),
           (_EVALUATE.replace("torch.no_grad()", "contextlib.nullcontext()"), "기울기 (gradient) 를 기록"),
           (_EVALUATE.replace("100 * correct / total", "correct / total"), "퍼센트")],
    context=_context,
)


# --------------------------------------------------------------------------- challenge: the smallest CNN

BUDGET = 20_000          # parameters


def target_accuracy() -> float:
    """The challenge's test accuracy (%): lower in quick mode (3,000 training images)."""
    from ..config import pick

    return pick(70.0, 85.0)


def _held_out():
    """FashionMNIST test images the notebook's test loader never shows (the last ones of the split),
    normalised like the notebook's ``data.fashion_tensors``."""
    from ..config import pick
    from ..data import fashion_tensors

    x, y = fashion_tensors(train=False)
    n = pick(1000, 2000)
    return x[-n:], y[-n:]


def _test_small_cnn(model):
    if isinstance(model, type):
        raise Incorrect("클래스를 받았습니다 — 모델을 만들고 (small_cnn = SmallCNN()) 학습한 그 객체를 넣으세요")
    if not isinstance(model, nn.Module):
        raise Incorrect(f"small_cnn 은 학습한 모델 (nn.Module) 이어야 하는데 {type(model).__name__} 을(를) 받았습니다")
    if not any(isinstance(m, nn.Conv2d) for m in model.modules()):
        raise Incorrect("합성곱층 (nn.Conv2d) 이 없습니다 — 이 도전은 CNN 입니다. 완전연결층만으로는 이미지의 이웃 "
                        "픽셀 구조를 쓰지 못합니다")
    n_params = sum(p.numel() for p in model.parameters())
    if n_params > BUDGET:
        raise Incorrect(f"파라미터가 {n_params:,}개로 예산 {BUDGET:,}개를 넘습니다 — 채널 수를 줄이거나, 펼치기 전에 "
                        "풀링으로 특성 맵을 작게 만들어 첫 완전연결층을 줄이세요")
    from ..data import DataMissingError

    try:
        x, y = _held_out()
    except DataMissingError as err:
        raise Incorrect(f"채점용 테스트 이미지를 찾지 못했습니다: {err}") from None
    was_training = model.training
    model.eval()
    call = f"small_cnn(x)  # x: 처음 보는 테스트 이미지 {len(x):,}장 (N, 1, 28, 28)"
    try:
        with torch.no_grad():
            try:
                logits = run(model, x[:2], what=call.replace(f"{len(x):,}장", "2장"))
            except LearnerError as err:
                raise Incorrect(f"{err} — 모델은 노트북의 이미지처럼 (N, 1, 28, 28) 배치를 받아야 합니다") from None
            if not hasattr(logits, "shape") or tuple(logits.shape) != (2, 10):
                raise Incorrect(f"이미지 2장의 출력 모양이 {tuple(getattr(logits, 'shape', ()))} 입니다 — "
                                "(배치, 클래스 10개) 여야 합니다")
            correct = sum(int((run(model, xb, what=call).argmax(1) == yb).sum())
                          for xb, yb in zip(x.split(500), y.split(500)))
    finally:
        model.train(was_training)
    acc = 100 * correct / len(y)
    goal = target_accuracy()
    if acc < 20:
        raise Incorrect(f"처음 보는 테스트 이미지 정확도가 {acc:.1f}% 로 찍기 (10%) 수준입니다 — 모델을 학습했는지, "
                        "학습한 바로 그 객체를 small_cnn 에 넣었는지 보세요")
    if acc < goal:
        raise Incorrect(f"처음 보는 테스트 이미지 정확도 {acc:.1f}% — 목표 {goal:g}% 에 못 미칩니다 (파라미터 "
                        f"{n_params:,}개). 에포크를 늘리거나, 한도 안에서 채널 수를 조금 늘리거나, BatchNorm 을 넣어 보세요")
    print(f"   파라미터 {n_params:,}개 (예산 {BUDGET:,}), 처음 보는 테스트 이미지 {len(y):,}장 정확도 {acc:.1f}% "
          f"(목표 {goal:g}%)")


_SMALL_CNN = '''class SmallCNN(nn.Module):
    """파라미터 약 9천 개: 합성곱 두 번 (풀링으로 28 → 14 → 7) 과 완전연결층 하나"""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


config.seed_everything(0)
small_cnn = SmallCNN()
optimizer = torch.optim.Adam(small_cnn.parameters(), lr=3e-3)
for epoch in range(config.pick(3, 5)):
    one_epoch(small_cnn, train_loader, optimizer, nn.CrossEntropyLoss())
print(f"파라미터 {train.count_parameters(small_cnn):,}, 테스트 정확도 {accuracy(small_cnn, test_loader):.1f} %")'''

def _challenge_context():
    """What the challenge's cell uses from notebook 02's earlier cells (loaders, one_epoch, accuracy)."""
    from .. import config, train
    from ..data import fashion_tensors

    n_train, n_test = config.pick(3000, None), config.pick(1000, None)
    TensorDataset, DataLoader = torch.utils.data.TensorDataset, torch.utils.data.DataLoader
    train_loader = DataLoader(TensorDataset(*fashion_tensors(train=True, limit=n_train)), batch_size=128,
                              shuffle=True)
    test_loader = DataLoader(TensorDataset(*fashion_tensors(train=False, limit=n_test)), batch_size=1000)

    def one_epoch(model, loader, optimizer, loss_fn):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()

    def accuracy(model, loader):
        model.eval()
        with torch.no_grad():
            correct = sum((model(xb).argmax(1) == yb).sum().item() for xb, yb in loader)
        return 100 * correct / len(loader.dataset)

    return {**_context(), "config": config, "train": train, "train_loader": train_loader,
            "test_loader": test_loader, "one_epoch": one_epoch, "accuracy": accuracy}


challenge = Exercise(
    "02-C", f"도전: 파라미터 {BUDGET:,}개 이하의 가장 작은 CNN", "small_cnn", _test_small_cnn,
    hints=["파라미터 대부분은 펼친 뒤의 첫 완전연결층에 있습니다: 펼치기 전에 풀링으로 7×7 까지 줄이고 채널을 적게 "
           "두면 예산 안에 들어옵니다. train.count_parameters(model) 로 세어 보세요.",
           "합성곱 두 층 (예: 1→8, 8→16 채널, 3×3, padding=1) 마다 BatchNorm·ReLU·MaxPool2d(2), 그다음 "
           "nn.Linear(16 * 7 * 7, 10) 하나. 학습은 위의 one_epoch 을 몇 에포크 (Adam, lr 3e-3).",
           "features = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2), "
           "nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2))  /  "
           "classifier = nn.Linear(16 * 7 * 7, 10)"],
    template=f'''# 예산: 파라미터 {BUDGET:,}개 이하 · 목표: 처음 보는 테스트 이미지에서 정확도 85 % 이상 (quick 모드 70 %)
# 1) 작은 CNN 클래스를 쓰고  2) 만들고  3) 위의 one_epoch(...) 으로 학습한 뒤  small_cnn 에 넣으세요.
small_cnn = ____''',
    solution=_SMALL_CNN,
    wrong=[("small_cnn = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))", "합성곱층"),
           ("small_cnn = nn.Sequential(nn.Conv2d(1, 64, 3, padding=1), nn.ReLU(), nn.Flatten(), "
            "nn.Linear(64 * 28 * 28, 10))", "예산")],
    context=_challenge_context,
)

EXERCISES = [q1, q2, q3, q4, challenge]
quiz = Quiz("02")
