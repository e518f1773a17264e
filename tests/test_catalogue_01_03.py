"""Catalogues of plausible mistakes and of right answers for the exercises of notebooks 01–03.

For every exercise (and each notebook's challenge): every mistake in its catalogue — including
those the notebook's prose warns about and those the issue "Study kit, round two" found
accepted — is rejected with its own message (a fragment naming the cause), never a traceback,
never the reference answer; every right variant (float64, NumPy, Python numbers, 0-d tensors,
lists, other idioms) passes. Run alone: ``pytest -p no:xdist -q tests/test_catalogue_01_03.py``.
"""
from __future__ import annotations

import pytest

from chapter5.exercises import ex01, ex02, ex03, progress

# --------------------------------------------------------------------------- notebook 01

_CONV = '''def conv2d_by_hand(x, w, s=1):
    H, W = x.shape
    kh, kw = w.shape
    out = torch.zeros((H - kh) // s + 1, (W - kw) // s + 1)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            window = WINDOW
            out[i, j] = (window * w).sum()
    return out'''


def _conv(window: str, tail: str = "") -> str:
    return _CONV.replace("WINDOW", window) + tail


_MY_CONV = ex01._CHALLENGE_SOLUTION

CATALOGUE = {
    ex01.q1: {
        "mistakes": [
            ("no-stride", _conv("x[i:i + kh, j:j + kw]"), "창이 한 칸씩 움직입니다"),
            ("flipped", _conv("x[i * s:i * s + kh, j * s:j * s + kw].flip(0, 1)"), "교차 상관"),
            ("dilated-window", _conv("x[i:i + kh * s:s, j:j + kw * s:s]"), "dilation"),
            ("off-by-one", _conv("x[i * s:i * s + kh - 1, j * s:j * s + kw - 1]"), "끝 a:b 는 b 를 포함하지"),
            ("kh-kw-swapped", _conv("x[i * s:i * s + kw, j * s:j * s + kh]"), "정사각형이 아닌 커널"),
            ("rows-columns-swapped", _conv("x[j * s:j * s + kh, i * s:i * s + kw]"), "행과 열이 뒤바뀌었습니다"),
        ],
        "variants": [
            ("reference", ex01.q1.solution_code),
            ("float64", _conv("x[i * s:i * s + kh, j * s:j * s + kw]").replace(
                "torch.zeros((H - kh) // s + 1, (W - kw) // s + 1)",
                "torch.zeros((H - kh) // s + 1, (W - kw) // s + 1, dtype=torch.float64)")),
            ("numpy", _conv("x[i * s:i * s + kh, j * s:j * s + kw]").replace("return out", "return out.numpy()")),
            ("list", _conv("x[i * s:i * s + kh, j * s:j * s + kw]").replace("return out", "return out.tolist()")),
            ("unfold", '''def conv2d_by_hand(x, w, s=1):
    kh, kw = w.shape
    patches = x.unfold(0, kh, s).unfold(1, kw, s)
    return (patches * w).sum(dim=(-2, -1))'''),
            ("numpy-loops", '''import numpy as np
def conv2d_by_hand(x, w, s=1):
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    kh, kw = w.shape
    out = np.zeros(((x.shape[0] - kh) // s + 1, (x.shape[1] - kw) // s + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (x[i * s:i * s + kh, j * s:j * s + kw] * w).sum()
    return out'''),
        ],
    },
    ex01.q2: {
        "mistakes": [
            ("no-c_in", "def conv_params(c_in, c_out, k, bias=True):\n    return c_out * k * k + (c_out if bias else 0)",
             "입력 채널 수"),
            ("k-not-squared", "def conv_params(c_in, c_out, k, bias=True):\n    return c_out * c_in * k + (c_out if bias else 0)",
             "k×k 칸인데 k 칸만"),
            ("no-bias", "def conv_params(c_in, c_out, k, bias=True):\n    return c_out * c_in * k * k",
             "편향 (bias) 을 세지 않았습니다"),
            ("bias-ignores-flag", "def conv_params(c_in, c_out, k, bias=True):\n    return c_out * c_in * k * k + c_out",
             "bias=False 인데"),
            ("bias-per-input", "def conv_params(c_in, c_out, k, bias=True):\n    return c_out * c_in * k * k + (c_in if bias else 0)",
             "입력 채널이 아니라 출력 채널"),
            ("one-bias", "def conv_params(c_in, c_out, k, bias=True):\n    return c_out * c_in * k * k + (1 if bias else 0)",
             "하나만 셌습니다"),
            ("string", "def conv_params(c_in, c_out, k, bias=True):\n    return f'{c_out * c_in * k * k + c_out}'",
             "숫자가 필요한데 str"),
        ],
        "variants": [
            ("reference", ex01.q2.solution_code),
            ("float", "def conv_params(c_in, c_out, k, bias=True):\n    return c_out * c_in * k ** 2.0 + c_out * bias"),
            ("count-a-layer", "import torch.nn as nn\ndef conv_params(c_in, c_out, k, bias=True):\n"
                              "    return sum(p.numel() for p in nn.Conv2d(c_in, c_out, k, bias=bias).parameters())"),
            ("0-d-tensor", "import torch\ndef conv_params(c_in, c_out, k, bias=True):\n"
                           "    return torch.tensor(c_out * c_in * k * k + (c_out if bias else 0))"),
            ("numpy", "import numpy as np\ndef conv_params(c_in, c_out, k, bias=True):\n"
                      "    return np.prod([c_out, c_in, k, k]) + (c_out if bias else 0)"),
        ],
    },
    ex01.q3: {
        "mistakes": [
            ("n//s", "def stack_size(n, layers):\n    for f, s, p in layers:\n        n = n // s\n    return n", "same"),
            ("one-p", "def stack_size(n, layers):\n    for f, s, p in layers:\n        n = (n + p - f) // s + 1\n    return n",
             "양쪽"),
            ("true-division", "def stack_size(n, layers):\n    for f, s, p in layers:\n        n = (n + 2 * p - f) / s + 1\n"
                              "    return n", "내림 나눗셈"),
            ("no-plus-one", "def stack_size(n, layers):\n    for f, s, p in layers:\n        n = (n + 2 * p - f) // s\n    return n",
             "+1 이 빠졌습니다"),
            ("plus-one-inside", "def stack_size(n, layers):\n    for f, s, p in layers:\n        n = (n + 2 * p - f + 1) // s\n"
                                "    return n", "나눗셈 안에"),
            ("ceil", "def stack_size(n, layers):\n    for f, s, p in layers:\n        n = -(-(n + 2 * p - f) // s) + 1\n"
                     "    return n", "올림"),
            ("precedence", "def stack_size(n, layers):\n    for f, s, p in layers:\n        n = n - f + 2 * p // s + 1\n"
                           "    return n", "괄호"),
            ("not-updated", "def stack_size(n, layers):\n    for f, s, p in layers:\n        out = (n + 2 * p - f) // s + 1\n"
                            "    return n", "n 을 새 크기로"),
            ("return-in-loop", "def stack_size(n, layers):\n    for f, s, p in layers:\n        n = (n + 2 * p - f) // s + 1\n"
                               "        return n", "첫 층만"),
        ],
        "variants": [
            ("reference", ex01.q3.solution_code),
            ("floor", "import math\ndef stack_size(n, layers):\n    for f, s, p in layers:\n"
                      "        n = math.floor((n + 2 * p - f) / s) + 1\n    return n"),
            ("float-result", "def stack_size(n, layers):\n    for f, s, p in layers:\n        n = (n + 2 * p - f) // s + 1.0\n"
                             "    return n"),
            ("numpy", "import numpy as np\ndef stack_size(n, layers):\n    n = np.int64(n)\n    for f, s, p in layers:\n"
                      "        n = (n + 2 * p - f) // s + 1\n    return n"),
            ("tensor", "import torch\ndef stack_size(n, layers):\n    n = torch.tensor(n)\n    for f, s, p in layers:\n"
                       "        n = torch.div(n + 2 * p - f, s, rounding_mode='floor') + 1\n    return n"),
        ],
    },
    ex01.q4: {
        "mistakes": [
            ("3x3-same", "def make_reducer(c_in, c_out):\n    return nn.Conv2d(c_in, c_out, kernel_size=3, padding=1)",
             "이웃 픽셀"),
            ("3x3-valid", "def make_reducer(c_in, c_out):\n    return nn.Conv2d(c_in, c_out, kernel_size=3)", "커널이 1×1 보다"),
            ("swapped", "def make_reducer(c_in, c_out):\n    return nn.Conv2d(c_out, c_in, kernel_size=1)", "인자 순서"),
            ("linear", "def make_reducer(c_in, c_out):\n    return nn.Linear(c_in, c_out)", "nn.Linear 는 마지막 차원"),
            ("strided", "def make_reducer(c_in, c_out):\n    return nn.Conv2d(c_in, c_out, kernel_size=1, stride=2)",
             "stride"),
            ("not-reduced", "def make_reducer(c_in, c_out):\n    return nn.Conv2d(c_in, c_in, kernel_size=1)",
             "출력 채널 수는 c_out"),
            ("class-not-layer", "def make_reducer(c_in, c_out):\n    return nn.Conv2d", "괄호를 붙여"),
        ],
        "variants": [
            ("reference", ex01.q4.solution_code),
            ("sequential", "def make_reducer(c_in, c_out):\n    return nn.Sequential(nn.Conv2d(c_in, c_out, 1))"),
            ("tuple-no-bias", "def make_reducer(c_in, c_out):\n    return nn.Conv2d(c_in, c_out, (1, 1), bias=False)"),
            ("lazy", "def make_reducer(c_in, c_out):\n    return nn.LazyConv2d(c_out, 1)"),
            ("conv-bn-relu", "def make_reducer(c_in, c_out):\n"
                             "    return nn.Sequential(nn.Conv2d(c_in, c_out, 1), nn.BatchNorm2d(c_out), nn.ReLU())"),
        ],
    },
    ex01.challenge: {
        "mistakes": [
            ("no-bias", _MY_CONV.replace("    if b is not None:\n        out += b.view(1, -1, 1, 1)\n", ""), "편향 b"),
            ("no-dilation", _MY_CONV.replace("r:r + span_h:dilation, c:c + span_w:dilation",
                                             "r:r + kh, c:c + kw").replace("span_h, span_w = dilation * (kh - 1) + 1, "
                                                                           "dilation * (kw - 1) + 1",
                                                                           "span_h, span_w = kh, kw"),
             "d·(k−1)+1"),
            ("dilation-only-in-size", _MY_CONV.replace("r:r + span_h:dilation, c:c + span_w:dilation",
                                                       "r:r + kh, c:c + kw"), "창 안에서 무시"),
            ("no-stride", _MY_CONV.replace("r, c = i * stride, j * stride", "r, c = i, j"), "스트라이드"),
            ("one-side-padding", _MY_CONV.replace("(padding, padding, padding, padding)", "(padding, 0, padding, 0)"),
             "한쪽"),
            ("width-only-padding", _MY_CONV.replace("(padding, padding, padding, padding)", "(padding, padding)"),
             "너비 방향에만"),
            ("flipped", _MY_CONV.replace('window, w)', 'window, w.flip(2, 3))'), "뒤집었습니다"),
            ("first-channel", _MY_CONV.replace('torch.einsum("nckl,ockl->no", window, w)',
                                               'torch.einsum("nkl,okl->no", window[:, 0], w[:, 0])'), "입력 채널 0 만"),
            ("library", "def my_conv2d(x, w, b=None, stride=1, padding=0, dilation=1):\n"
                        "    return F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation)", "F.conv2d 를 불렀습니다"),
            ("module", "def my_conv2d(x, w, b=None, stride=1, padding=0, dilation=1):\n"
                       "    layer = torch.nn.Conv2d(w.shape[1], w.shape[0], w.shape[2:], stride, padding, dilation)\n"
                       "    layer.weight.data, layer.bias.data = w, b\n    return layer(x)", "nn.Conv2d 층을 만들어"),
        ],
        "variants": [
            ("reference", _MY_CONV),
            ("loops-float64", '''def my_conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
    x, w = x.double(), w.double()
    N, C, H, W = x.shape
    O, _, kh, kw = w.shape
    xp = torch.zeros(N, C, H + 2 * padding, W + 2 * padding, dtype=torch.float64)
    xp[:, :, padding:padding + H, padding:padding + W] = x
    Ho = (H + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    Wo = (W + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    out = torch.zeros(N, O, Ho, Wo, dtype=torch.float64)
    for n in range(N):
        for o in range(O):
            for i in range(Ho):
                for j in range(Wo):
                    total = 0.0
                    for a in range(kh):
                        for c in range(kw):
                            total += (xp[n, :, i * stride + a * dilation, j * stride + c * dilation] * w[o, :, a, c]).sum()
                    out[n, o, i, j] = total + (b[o] if b is not None else 0)
    return out'''),
            ("unfold", '''def my_conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
    N, C, H, W = x.shape
    O, _, kh, kw = w.shape
    cols = F.unfold(x, (kh, kw), dilation=dilation, padding=padding, stride=stride)
    Ho = (H + 2 * padding - dilation * (kh - 1) - 1) // stride + 1
    Wo = (W + 2 * padding - dilation * (kw - 1) - 1) // stride + 1
    out = (w.view(O, -1) @ cols).view(N, O, Ho, Wo)
    return out + b.view(1, -1, 1, 1) if b is not None else out'''),
            ("numpy", '''import numpy as np
def my_conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
    x, w = x.numpy(), w.numpy()
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    N, C, H, W = x.shape
    O, _, kh, kw = w.shape
    Ho = (H - dilation * (kh - 1) - 1) // stride + 1
    Wo = (W - dilation * (kw - 1) - 1) // stride + 1
    out = np.zeros((N, O, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            win = x[:, :, i * stride:i * stride + dilation * (kh - 1) + 1:dilation,
                    j * stride:j * stride + dilation * (kw - 1) + 1:dilation]
            out[:, :, i, j] = np.tensordot(win, w, axes=([1, 2, 3], [1, 2, 3]))
    return out + (b.numpy().reshape(1, -1, 1, 1) if b is not None else 0)'''),
        ],
    },
}


# --------------------------------------------------------------------------- notebook 02

_STEP_HEAD = "def training_step(model, xb, yb, optimizer, loss_fn):\n"
_EVAL = ex02._EVALUATE
_SMALL = ex02._SMALL_CNN


def _step(*lines: str) -> str:
    return _STEP_HEAD + "".join(f"    {line}\n" for line in lines)


def _small(**changes) -> str:
    code = _SMALL
    for old, new in changes.get("replace", []):
        assert old in code, old
        code = code.replace(old, new)
    return code


CATALOGUE.update({
    ex02.q1: {
        "mistakes": [
            ("no-zero_grad", _step("loss = loss_fn(model(xb), yb)", "loss.backward()", "optimizer.step()", "return loss"),
             "이전 배치의 기울기"),
            ("no-step", _step("optimizer.zero_grad()", "loss = loss_fn(model(xb), yb)", "loss.backward()", "return loss"),
             "가중치를 갱신하는 단계"),
            ("zero_grad-between", _step("loss = loss_fn(model(xb), yb)", "loss.backward()", "optimizer.zero_grad()",
                                        "optimizer.step()", "return loss"), "backward() 와 step() 사이"),
            ("no-backward", _step("optimizer.zero_grad()", "loss = loss_fn(model(xb), yb)", "optimizer.step()", "return loss"),
             "backward() 를 불렀는지"),
            ("softmax-before-loss", _step("optimizer.zero_grad()", "loss = loss_fn(torch.softmax(model(xb), 1), yb)",
                                          "loss.backward()", "optimizer.step()", "return loss"), "softmax 를 거친 확률을 넣었습니다"),
            ("no-return", _step("optimizer.zero_grad()", "loss = loss_fn(model(xb), yb)", "loss.backward()", "optimizer.step()"),
             "None 을 돌려받았습니다"),
            ("loss-after-step", _step("optimizer.zero_grad()", "loss = loss_fn(model(xb), yb)", "loss.backward()",
                                      "optimizer.step()", "return loss_fn(model(xb), yb)"), "step() 뒤에 다시 계산한"),
        ],
        "variants": [
            ("reference", ex02.q1.solution_code),
            ("zero_grad-after-step", _step("loss = loss_fn(model(xb), yb)", "loss.backward()", "optimizer.step()",
                                           "optimizer.zero_grad()", "return loss")),
            ("item", _step("optimizer.zero_grad()", "loss = loss_fn(model(xb), yb)", "loss.backward()", "optimizer.step()",
                           "return loss.item()")),
            ("model-zero_grad", _step("model.zero_grad()", "loss = loss_fn(model(xb), yb)", "loss.backward()",
                                      "optimizer.step()", "return loss.detach()")),
            ("float64-number", _step("optimizer.zero_grad(set_to_none=False)", "loss = loss_fn(model(xb), yb)",
                                     "loss.backward()", "optimizer.step()", "return loss.double()")),
        ],
    },
    ex02.q2: {
        "mistakes": [
            ("textbook-6x6", ex02._padded("64 * 6 * 6"), "64·6·6"),
            ("forgot-pool", ex02._padded("64 * 14 * 14"), "layer2 끝의 최대 풀링"),
            ("forgot-both-pools", ex02._padded("64 * 28 * 28"), "두 번의 최대 풀링"),
            ("wrong-channels", ex02._padded("32 * 7 * 7"), "채널 수가 다릅니다"),
            ("softmax-output", ex02._padded("64 * 7 * 7").replace("return self.fc2(torch.relu(self.fc1(out)))",
                                                                 "return torch.softmax(self.fc2(torch.relu(self.fc1(out))), 1)"),
             "출력에 softmax 를 넣었습니다"),
            ("log-softmax-output", ex02._padded("64 * 7 * 7").replace(
                "return self.fc2(torch.relu(self.fc1(out)))", "return nn.LogSoftmax(1)(self.fc2(torch.relu(self.fc1(out))))"),
             "LogSoftmax"),
            ("changed-layer2", ex02._padded("64 * 6 * 6").replace("nn.Conv2d(32, 64, 3, padding=1)", "nn.Conv2d(32, 64, 3)"),
             "fc1 의 입력 수만 고치세요"),
            ("instance", ex02._padded("64 * 7 * 7") + "\nPaddedCNN = PaddedCNN()", "클래스 PaddedCNN 자체"),
        ],
        "variants": [
            ("reference", ex02.q2.solution_code),
            ("literal", ex02._padded("3136")),
            ("lazy", ex02._padded("64 * 7 * 7").replace("nn.Linear(64 * 7 * 7, 600)", "nn.LazyLinear(600)")),
            ("flatten", ex02._padded("64 * 7 * 7").replace("out.view(out.size(0), -1)", "torch.flatten(out, 1)")),
        ],
    },
    ex02.q3: {
        "mistakes": [
            ("dim-0", "def count_correct(logits, labels):\n    _, preds = torch.max(logits, 0)\n"
                      "    return preds.eq(labels).sum().item()", "열 (이미지) 방향"),
            ("no-sum", "def count_correct(logits, labels):\n    _, preds = torch.max(logits, 1)\n    return preds.eq(labels)",
             "모두 더해"),
            ("mean", "def count_correct(logits, labels):\n    _, preds = torch.max(logits, 1)\n"
                     "    return preds.eq(labels).float().mean().item()", "0–1 사이의 비율"),
            ("values-not-indices", "def count_correct(logits, labels):\n    preds, _ = torch.max(logits, 1)\n"
                                   "    return preds.eq(labels).sum().item()", "최댓값 자체"),
            ("counts-wrong", "def count_correct(logits, labels):\n    _, preds = torch.max(logits, 1)\n"
                             "    return preds.ne(labels).sum().item()", "틀린 개수"),
            ("percent", "def count_correct(logits, labels):\n    _, preds = torch.max(logits, 1)\n"
                        "    return 100 * preds.eq(labels).sum().item() / len(labels)", "퍼센트 (%) 입니다"),
        ],
        "variants": [
            ("reference", ex02.q3.solution_code),
            ("argmax-0d-tensor", "def count_correct(logits, labels):\n    return (logits.argmax(dim=-1) == labels).sum()"),
            ("numpy", "import numpy as np\ndef count_correct(logits, labels):\n"
                      "    return np.sum(np.argmax(logits.numpy(), axis=1) == labels.numpy())"),
            ("python-loop", "def count_correct(logits, labels):\n    _, preds = torch.max(logits, 1)\n"
                            "    return sum(int(p) == int(t) for p, t in zip(preds, labels))"),
        ],
    },
    ex02.q4: {
        "mistakes": [
            ("no-eval", _EVAL.replace("    model.eval()\n", ""), "학습 모드"),
            ("no-no_grad", _EVAL.replace("torch.no_grad()", "contextlib.nullcontext()"), "기울기 (gradient) 를 기록"),
            ("fraction", _EVAL.replace("100 * correct / total", "correct / total"), "퍼센트"),
            ("mean-of-batches", '''def evaluate_accuracy(model, loader):
    model.eval()
    accs = []
    with torch.no_grad():
        for x, y in loader:
            accs.append((model(x).argmax(1) == y).float().mean().item())
    return 100 * sum(accs) / len(accs)''', "배치마다의 정확도를 평균"),
            ("total-batches", _EVAL.replace("total += len(y)", "total += 1"), "배치 수로 나누었습니다"),
            ("batch_size-times", _EVAL.replace("total += len(y)", "total += loader.batch_size"), "배치 크기 × 배치 개수"),
            ("return-in-loop", _EVAL.replace("            total += len(y)\n    return 100 * correct / total",
                                             "            total += len(y)\n            return 100 * correct / total"),
             "return 이 반복문"),
        ],
        "variants": [
            ("reference", _EVAL),
            ("inference_mode", _EVAL.replace("torch.no_grad()", "torch.inference_mode()")),
            ("restores-mode", _EVAL.replace("    return 100 * correct / total",
                                            "    model.train()\n    return 100 * correct / total")),
            ("dataset-length-tensor", '''def evaluate_accuracy(model, loader):
    model.eval()
    with torch.no_grad():
        correct = sum((model(x).argmax(1) == y).sum() for x, y in loader)
    return 100.0 * correct / len(loader.dataset)'''),
            ("decorator-numpy", '''import numpy as np
@torch.no_grad()
def evaluate_accuracy(model, loader):
    model.eval()
    hits = np.concatenate([(model(x).argmax(1) == y).numpy() for x, y in loader])
    return np.float64(hits.mean() * 100)'''),
        ],
    },
})

# the challenge's mistakes need trained or untrained models: built once per module (quick mode: ~20 s)
_CHALLENGE_02 = {
    "mistakes": [
        ("no-conv", "small_cnn = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))", "합성곱층 (nn.Conv2d) 이 없습니다"),
        ("over-budget", "small_cnn = nn.Sequential(nn.Conv2d(1, 64, 3, padding=1), nn.ReLU(), nn.Flatten(),"
                        " nn.Linear(64 * 28 * 28, 10))", "예산"),
        ("untrained", _small(replace=[("for epoch in range(config.pick(3, 5)):", "for epoch in range(0):")]), "찍기"),
        ("class", _small() + "\nsmall_cnn = SmallCNN", "클래스를 받았습니다"),
        ("rgb-input", "small_cnn = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),"
                      " nn.Linear(8, 10))", "(N, 1, 28, 28) 배치"),
        ("one-output", "small_cnn = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),"
                       " nn.Linear(8, 1))", "클래스 10개"),
        ("under-trained", _small(replace=[
            ("for epoch in range(config.pick(3, 5)):\n    one_epoch(small_cnn, train_loader, optimizer, nn.CrossEntropyLoss())",
             "for xb, yb in list(train_loader)[:3]:\n    optimizer.zero_grad()\n"
             "    nn.CrossEntropyLoss()(small_cnn(xb), yb).backward()\n    optimizer.step()")]), "못 미칩니다"),
    ],
    "variants": [
        ("reference", _SMALL),
        ("left-in-train-mode", _SMALL + "\nsmall_cnn.train()"),
        ("global-pool", _small(replace=[
            ("self.classifier = nn.Linear(16 * 7 * 7, 10)",
             "self.classifier = nn.Sequential(nn.Conv2d(16, 10, 7))"),
            ("return self.classifier(self.features(x).flatten(1))", "return self.classifier(self.features(x)).flatten(1)")])),
    ],
}


@pytest.fixture(scope="module")
def challenge_02_namespace():
    return ex02._challenge_context()


@pytest.mark.parametrize("name,code,fragment", [pytest.param(*m, id=f"02-C-{m[0]}") for m in _CHALLENGE_02["mistakes"]])
def test_challenge_02_mistake_is_rejected(challenge_02_namespace, name, code, fragment):
    ns = dict(challenge_02_namespace)
    exec(compile(code, "<cell>", "exec"), ns)
    ok, msg = ex02.challenge.evaluate(ns["small_cnn"])
    assert not ok and msg.startswith("❌") and fragment in msg, msg
    assert "Traceback" not in msg and "확인하는 중에 문제가 생겼습니다" not in msg
    others = [f for _, _, f in _CHALLENGE_02["mistakes"] if f != fragment and f in msg]
    assert not others, msg


@pytest.mark.parametrize("name,code", [pytest.param(*v, id=f"02-C-{v[0]}") for v in _CHALLENGE_02["variants"]])
def test_challenge_02_variant_passes(challenge_02_namespace, name, code):
    ns = dict(challenge_02_namespace)
    exec(compile(code, "<cell>", "exec"), ns)
    model = ns["small_cnn"]
    mode = model.training
    ok, msg = ex02.challenge.evaluate(model)
    assert ok, msg
    assert model.training == mode, "the check must leave the learner's model in its mode"


def test_challenge_02_uses_held_out_images_and_a_quick_mode_target():
    from chapter5 import config

    x, _ = ex02._held_out()
    assert len(x) == config.pick(1000, 2000)
    notebook_test, _ = __import__("chapter5.data", fromlist=["x"]).fashion_tensors(train=False, limit=config.pick(1000, 8000))
    assert not any(bool((notebook_test == img).all(dim=(1, 2, 3)).any()) for img in x[:50]), \
        "the check's images must not be the notebook's test images"
    assert ex02.target_accuracy() == config.pick(70.0, 85.0)


# --------------------------------------------------------------------------- notebook 03

_TF_HEAD = "def make_eval_transform(mean, std):\n    return T.Compose([{}])"
_FREEZE = ex03._FREEZE
_PRED_HEAD = "def predict_one(model, x):\n"
_SAVE_HEAD = "def save_and_reload(model, make_model, path):\n"
_FOLDER = ex03._PREDICT_FOLDER


def _tf(steps: str) -> str:
    return _TF_HEAD.format(steps)


def _body(head: str, *lines: str) -> str:
    return head + "".join(f"    {line}\n" for line in lines)


CATALOGUE.update({
    ex03.q1: {
        "mistakes": [
            ("no-normalize", _tf("T.Resize(256), T.CenterCrop(224), T.ToTensor()"), "[0, 1] 그대로"),
            ("no-crop", _tf("T.Resize(224), T.ToTensor(), T.Normalize(mean, std)"), "가운데를 잘라내지"),
            ("imagenet-hard-coded", _tf("T.Resize(256), T.CenterCrop(224), T.ToTensor(), "
                                        "T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))"), "인자로 받은 mean, std"),
            ("random-flip", _tf("T.Resize(256), T.CenterCrop(224), T.RandomHorizontalFlip(), T.ToTensor(), "
                                "T.Normalize(mean, std)"), "무작위 좌우 뒤집기"),
            ("random-resized-crop", _tf("T.RandomResizedCrop(224), T.ToTensor(), T.Normalize(mean, std)"), "무작위로 자르거나"),
            ("normalize-before-totensor", _tf("T.Resize(256), T.CenterCrop(224), T.Normalize(mean, std), T.ToTensor()"),
             "정규화가 PIL 사진에"),
            ("crop-then-resize", _tf("T.CenterCrop(224), T.Resize(256), T.ToTensor(), T.Normalize(mean, std)"),
             "자른 뒤에 크기를 다시"),
            ("squash", _tf("T.Resize((224, 224)), T.ToTensor(), T.Normalize(mean, std)"), "가로세로 비율"),
            ("mean-std-swapped", _tf("T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(std, mean)"),
             "서로 바꾸어"),
            ("resize-224-then-crop", _tf("T.Resize(224), T.CenterCrop(224), T.ToTensor(), T.Normalize(mean, std)"),
             "조금 더 크게 (256)"),
        ],
        "variants": [
            ("reference", ex03.q1.solution_code),
            ("keywords-lists", _tf("T.Resize(256, antialias=True), T.CenterCrop((224, 224)), T.ToTensor(), "
                                   "T.Normalize(mean=list(mean), std=list(std))")),
            ("course-helper", "def make_eval_transform(mean, std):\n"
                              "    return data.imagenet_transform(224, train=False, mean=mean, std=std)"),
            ("float64-output", "def make_eval_transform(mean, std):\n"
                               "    tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(mean, std)])\n"
                               "    return lambda img: tf(img).double()"),
        ],
    },
    ex03.q2: {
        "mistakes": [
            ("fc-before-freeze", _FREEZE.replace("    for p in model.parameters():\n        p.requires_grad = False\n"
                                                 "    model.fc = nn.Linear(512, num_classes)\n",
                                                 "    model.fc = nn.Linear(512, num_classes)\n"
                                                 "    for p in model.parameters():\n        p.requires_grad = False\n"),
             "새 fc 까지 고정"),
            ("not-frozen", _FREEZE.replace("    for p in model.parameters():\n        p.requires_grad = False\n", ""),
             "몸통이 고정되지 않았습니다"),
            ("in-1000", _FREEZE.replace("nn.Linear(512, num_classes)", "nn.Linear(1000, num_classes)"), "in_features"),
            ("two-classes-fixed", _FREEZE.replace("nn.Linear(512, num_classes)", "nn.Linear(512, 2)"), "num_classes 를 쓰세요"),
            ("optimizer-all-params", _FREEZE.replace("Adam(model.fc.parameters()", "Adam(model.parameters()"),
             "고정한 몸통의 파라미터"),
            ("optimizer-before-new-fc", _FREEZE.replace(
                "    model.fc = nn.Linear(512, num_classes)\n    optimizer = torch.optim.Adam(model.fc.parameters(), lr=1e-3)\n",
                "    optimizer = torch.optim.Adam(model.fc.parameters(), lr=1e-3)\n    model.fc = nn.Linear(512, num_classes)\n"),
             "새 fc 의 파라미터를 모릅니다"),
            ("optimizer-before-freezing", _FREEZE.replace(
                "    for p in model.parameters():\n        p.requires_grad = False\n",
                "    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\n"
                "    for p in model.parameters():\n        p.requires_grad = False\n").replace(
                "    optimizer = torch.optim.Adam(model.fc.parameters(), lr=1e-3)\n", ""), "고정하기 전에 모델 전체"),
            ("weight-only", _FREEZE.replace("Adam(model.fc.parameters()", "Adam([model.fc.weight]"), "일부만"),
            ("model-only", _FREEZE.replace("    return model, optimizer", "    return model"), "두 개를 (이 순서로)"),
            ("hidden-layer-head", _FREEZE.replace("nn.Linear(512, num_classes)",
                                                  "nn.Sequential(nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, num_classes))"),
             "층 하나면 됩니다"),
        ],
        "variants": [
            ("reference", _FREEZE),
            ("params_to_update", _FREEZE.replace(
                "    optimizer = torch.optim.Adam(model.fc.parameters(), lr=1e-3)\n",
                "    params_to_update = [p for p in model.parameters() if p.requires_grad]\n"
                "    optimizer = torch.optim.SGD(params_to_update, lr=0.01, momentum=0.9)\n")),
            ("in_features-filter", _FREEZE.replace("nn.Linear(512, num_classes)", "nn.Linear(model.fc.in_features, num_classes)")
             .replace("Adam(model.fc.parameters()", "Adam(filter(lambda p: p.requires_grad, model.parameters())")),
            ("requires_grad_", _FREEZE.replace("    for p in model.parameters():\n        p.requires_grad = False\n",
                                               "    model.requires_grad_(False)\n")),
            ("dropout-head", _FREEZE.replace("nn.Linear(512, num_classes)",
                                             "nn.Sequential(nn.Dropout(0.2), nn.Linear(512, num_classes))")),
        ],
    },
    ex03.q3: {
        "mistakes": [
            ("no-eval", _body(_PRED_HEAD, "with torch.no_grad():", "    logits = model(x.unsqueeze(0))",
                              "return logits.argmax(1).item()"), "학습 모드 (train) 로 예측했습니다"),
            ("no-unsqueeze", _body(_PRED_HEAD, "model.eval()", "with torch.no_grad():", "    logits = model(x)",
                                   "return logits.argmax(1).item()"), "한 장을 그대로"),
            ("unsqueeze-1", _body(_PRED_HEAD, "model.eval()", "with torch.no_grad():", "    logits = model(x.unsqueeze(1))",
                                  "return logits.argmax(1).item()"), "엉뚱한 자리"),
            ("returns-logits", _body(_PRED_HEAD, "model.eval()", "with torch.no_grad():", "    logits = model(x.unsqueeze(0))",
                                     "return logits"), "클래스 번호 하나"),
            ("no-no_grad", _body(_PRED_HEAD, "model.eval()", "logits = model(x.unsqueeze(0))",
                                 "return logits.argmax(1).item()"), "기울기를 기록"),
            ("max-value", _body(_PRED_HEAD, "model.eval()", "with torch.no_grad():", "    logits = model(x.unsqueeze(0))",
                                "return logits.max().item()"), "점수 (logit) 의 값 자체"),
            ("max-probability", _body(_PRED_HEAD, "model.eval()", "with torch.no_grad():", "    logits = model(x.unsqueeze(0))",
                                      "return torch.softmax(logits, 1).max().item()"), "가장 큰 확률의 값"),
            ("argmax-dim-0", _body(_PRED_HEAD, "model.eval()", "with torch.no_grad():", "    logits = model(x.unsqueeze(0))",
                                   "return logits.argmax(0)[0].item()"), "어느 차원"),
            ("eval-after", _body(_PRED_HEAD, "with torch.no_grad():", "    logits = model(x.unsqueeze(0))", "model.eval()",
                                 "return logits.argmax(1).item()"), "예측 뒤에 있습니다"),
        ],
        "variants": [
            ("reference", ex03.q3.solution_code),
            ("restores-mode", _body(_PRED_HEAD, "was_training = model.training", "model.eval()", "with torch.no_grad():",
                                    "    logits = model(x[None])", "model.train(was_training)",
                                    "return int(logits.argmax(1))")),
            ("inference_mode-argmax-flat", _body(_PRED_HEAD, "model.eval()", "with torch.inference_mode():",
                                                 "    return model(x.unsqueeze(0)).argmax().item()")),
            ("softmax-tensor", _body(_PRED_HEAD, "model.eval()", "with torch.no_grad():",
                                     "    probs = torch.softmax(model(x.unsqueeze(0)), dim=1)", "return probs.argmax(1)")),
            ("numpy", "import numpy as np\n" + _body(_PRED_HEAD, "model.eval()", "with torch.no_grad():",
                                                     "    logits = model(x.unsqueeze(0)).numpy()",
                                                     "return np.argmax(logits, axis=1)[0]")),
        ],
    },
    ex03.q4: {
        "mistakes": [
            ("whole-model", _body(_SAVE_HEAD, "torch.save(model, path)", "new_model = make_model()",
                                  "new_model.load_state_dict(torch.load(path))", "new_model.eval()", "return new_model"),
             "모델 객체 전체"),
            ("never-loaded", _body(_SAVE_HEAD, "torch.save(model.state_dict(), path)", "new_model = make_model()",
                                   "new_model.eval()", "return new_model"), "원래 모델과 다릅니다"),
            ("no-eval", _body(_SAVE_HEAD, "torch.save(model.state_dict(), path)", "new_model = make_model()",
                              "new_model.load_state_dict(torch.load(path))", "return new_model"), "평가 모드"),
            ("same-model", _body(_SAVE_HEAD, "torch.save(model.state_dict(), path)", "model.eval()", "return model"),
             "원래 model"),
            ("deepcopy", "import copy\n" + _body(_SAVE_HEAD, "torch.save(model.state_dict(), path)",
                                                 "new_model = copy.deepcopy(model)", "new_model.eval()", "return new_model"),
             "복사본"),
            ("copied-from-memory", _body(_SAVE_HEAD, "torch.save(model.state_dict(), path)", "new_model = make_model()",
                                         "new_model.load_state_dict(model.state_dict())", "new_model.eval()",
                                         "return new_model"), "path 의 파일에서"),
            ("path-to-load_state_dict", _body(_SAVE_HEAD, "torch.save(model.state_dict(), path)", "new_model = make_model()",
                                              "new_model.load_state_dict(path)", "new_model.eval()", "return new_model"),
             "파일 경로를 넘겼습니다"),
            ("other-file", _body(_SAVE_HEAD, "torch.save(model.state_dict(), path + '.bak')", "new_model = make_model()",
                                 "new_model.load_state_dict(torch.load(path + '.bak'))", "new_model.eval()",
                                 "return new_model"), "다른 곳"),
            ("no-return", _body(_SAVE_HEAD, "torch.save(model.state_dict(), path)", "new_model = make_model()",
                                "new_model.load_state_dict(torch.load(path))", "new_model.eval()"), "None 을 돌려받았습니다"),
        ],
        "variants": [
            ("reference", ex03.q4.solution_code),
            ("weights_only-map_location", _body(_SAVE_HEAD, "torch.save(model.state_dict(), path)", "new_model = make_model()",
                                                "state = torch.load(path, map_location='cpu', weights_only=True)",
                                                "new_model.load_state_dict(state, strict=True)",
                                                "return new_model.eval()")),
            ("open-files-pathlib", "from pathlib import Path\n" + _body(
                _SAVE_HEAD, "path = Path(path)", "with open(path, 'wb') as f:", "    torch.save(model.state_dict(), f)",
                "new_model = make_model()", "with open(path, 'rb') as f:", "    new_model.load_state_dict(torch.load(f))",
                "new_model.train(False)", "return new_model")),
            ("make-first", _body(_SAVE_HEAD, "new_model = make_model()", "torch.save(model.state_dict(), path)",
                                 "new_model.load_state_dict(torch.load(path))", "new_model.eval()", "return new_model")),
        ],
    },
    ex03.challenge: {
        "mistakes": [
            ("train-transform", _FOLDER.replace("T.Resize(256), T.CenterCrop(224)",
                                                "T.RandomResizedCrop(224), T.RandomHorizontalFlip()"), "RandomResizedCrop 등) 이 없는지"),
            ("random-flip", _FOLDER.replace("T.CenterCrop(224),", "T.CenterCrop(224), T.RandomHorizontalFlip(),"),
             "좌우로 뒤집힌"),
            ("no-normalize", _FOLDER.replace(", T.Normalize(mean, std)", ""), "정규화하는 단계"),
            ("imagenet-hard-coded", _FOLDER.replace("T.Normalize(mean, std)", "T.Normalize(data.IMAGENET_MEAN, data.IMAGENET_STD)"),
             "ImageNet 의 평균"),
            ("no-eval", _FOLDER.replace("    model.eval()\n", ""), "학습 모드"),
            ("no-no_grad", _FOLDER.replace("with torch.no_grad():", "if True:"), "기울기를 기록"),
            ("fraction", _FOLDER.replace("100 * correct / len(ds)", "correct / len(ds)"), "퍼센트"),
            ("labels-swapped", _FOLDER.replace("(model(x).argmax(1) == y)", "(model(x).argmax(1) == 1 - y)"), "뒤바뀌었습니다"),
            ("mean-of-batches", _FOLDER.replace("batch_size=16", "batch_size=4").replace(
                "    correct = 0\n", "    accs = []\n").replace(
                "            correct += (model(x).argmax(1) == y).sum().item()",
                "            accs.append((model(x).argmax(1) == y).float().mean().item())").replace(
                "100 * correct / len(ds)", "100 * sum(accs) / len(accs)"), "배치마다의 정확도를 평균"),
            ("first-batch-only", _FOLDER.replace("batch_size=16", "batch_size=4").replace(
                "            correct += (model(x).argmax(1) == y).sum().item()",
                "            correct += (model(x).argmax(1) == y).sum().item()\n            break"), "모든 사진을 한 번씩"),
            ("single-images", '''def predict_folder(model, folder, mean, std):
    tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(mean, std)])
    ds = datasets.ImageFolder(folder, transform=tf)
    model.eval()
    with torch.no_grad():
        correct = sum(int(model(x).argmax(-1).item() == y) for x, y in ds)
    return 100 * correct / len(ds)''', "사진 한 장 [3, H, W]"),
        ],
        "variants": [
            ("reference", _FOLDER),
            ("one-at-a-time-restore-mode", '''def predict_folder(model, folder, mean, std):
    tf = data.imagenet_transform(224, mean=mean, std=std)
    ds = datasets.ImageFolder(folder, transform=tf)
    was = model.training
    model.eval()
    hits = []
    with torch.inference_mode():
        for x, y in ds:
            hits.append(model(x.unsqueeze(0)).argmax(1).item() == y)
    model.train(was)
    return torch.tensor(hits, dtype=torch.float64).mean() * 100'''),
            ("glob-pil", '''from pathlib import Path
def predict_folder(model, folder, mean, std):
    tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(mean, std)])
    classes = sorted(d.name for d in Path(folder).iterdir() if d.is_dir())
    model.eval()
    right = total = 0
    for label, cls in enumerate(classes):
        files = sorted((Path(folder) / cls).glob('*.jpg'))
        batch = torch.stack([tf(data.load_rgb(f)) for f in files])
        with torch.no_grad():
            right += int((model(batch).argmax(1) == label).sum())
        total += len(files)
    return 100.0 * right / total'''),
        ],
    },
})


# --------------------------------------------------------------------------- the tests

def _cases(kind):
    out = []
    for ex, cat in CATALOGUE.items():
        for item in cat[kind]:
            out.append(pytest.param(ex, *item[1:], id=f"{ex.key}-{item[0]}"))
    return out


@pytest.fixture(autouse=True)
def _progress_file(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAPTER5_PROGRESS", str(tmp_path / "progress.json"))
    monkeypatch.setattr(progress, "_memory", None)


def _solution_lines(ex):
    """Lines of the reference answer that would give it away if a message printed them."""
    return [line.strip() for line in ex.solution_code.splitlines()
            if len(line.strip()) > 12 and not line.strip().startswith(('"""', "def ", "return out", "for ", "#"))]


@pytest.mark.parametrize("ex,code,fragment", _cases("mistakes"))
def test_mistake_is_rejected_with_its_own_message(ex, code, fragment):
    ok, msg = ex.evaluate(ex.answer_from(code))
    assert not ok, f"{ex.key} accepted a wrong answer:\n{code}"
    assert msg.startswith("❌"), msg
    assert fragment in msg, f"{ex.key}: expected {fragment!r} in {msg!r}"
    assert "Traceback" not in msg and "확인하는 중에 문제가 생겼습니다" not in msg, msg
    for line in _solution_lines(ex):
        assert line not in msg, f"{ex.key}: the message gives the answer away ({line!r}): {msg}"


@pytest.mark.parametrize("ex,code", _cases("variants"))
def test_right_variant_passes(ex, code):
    ok, msg = ex.evaluate(ex.answer_from(code))
    assert ok, msg


def test_every_catalogue_is_big_enough_and_messages_are_distinct():
    for ex, cat in CATALOGUE.items():
        assert len(cat["mistakes"]) >= 5, f"{ex.key}: {len(cat['mistakes'])} mistakes"
        assert len(cat["variants"]) >= 3, f"{ex.key}: {len(cat['variants'])} right variants"
        fragments = [fragment for _, _, fragment in cat["mistakes"]]
        assert len(set(fragments)) == len(fragments), f"{ex.key}: two mistakes share one expected message"
        for _, code, fragment in cat["mistakes"]:  # each fragment is found only in its own mistake's message
            others = [f for f in fragments if f != fragment and f in ex.evaluate(ex.answer_from(code))[1]]
            assert not others, f"{ex.key}: the message for {fragment!r} also contains {others}"


_MODULE_EXERCISES = [ex for mod in (ex01, ex02, ex03) for ex in mod.EXERCISES]


@pytest.mark.parametrize("ex", _MODULE_EXERCISES, ids=[ex.key for ex in _MODULE_EXERCISES])
def test_template_is_not_attempted_and_listed_wrong_answers_keep_their_message(ex):
    ok, msg = ex.evaluate(ex.answer_from(ex.template))
    assert not ok and msg.startswith("📝") and "아직 풀지 않았습니다" in msg, msg
    for code, part in ex.wrong:
        ok, msg = ex.evaluate(ex.answer_from(code))
        assert not ok and part in msg, (ex.key, part, msg)
