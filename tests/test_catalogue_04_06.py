"""Catalogues of plausible mistakes and of right answers for the exercises of notebooks 04-06.

For every exercise (and each notebook's challenge):
* >= 5 plausible mistakes, including every mistake its notebook warns about; each is rejected
  with ITS OWN Korean message (the expected fragment; no two mistakes of an exercise share a
  message) that names the cause without printing the answer (the exercise's answer strings);
* right answers written other ways (float64, NumPy, Python numbers, 0-d tensors, lists,
  other idioms such as inference_mode, Sequential, `bb.feature_layers[-1]`-style blocks) pass;
* the shipped template is "not attempted", and so is a check whose exercise cell never ran.
Run alone: .venv/bin/python -m pytest -p no:xdist -q tests/test_catalogue_04_06.py
"""
from __future__ import annotations

import re

import pytest

from chapter5.exercises import ex04, ex05, ex06, progress

EX = {ex.key: ex for mod in (ex04, ex05, ex06) for ex in (*mod.EXERCISES, mod.challenge)}


@pytest.fixture(autouse=True)
def _progress_file(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAPTER5_PROGRESS", str(tmp_path / "progress.json"))
    monkeypatch.setattr(progress, "_memory", None)


def _fn(head: str, body: str) -> str:
    return f"{head}\n" + "\n".join("    " + line if line else "" for line in body.strip("\n").splitlines())


# --------------------------------------------------------------------------- 04

UNF = "def unfreeze_last(body, head):"
FREEZE = "for p in body.parameters():\n    p.requires_grad = False\n"
OPEN_LAST = "for p in [*body[-1].parameters(), *head.parameters()]:\n    p.requires_grad = True\n"
ALL_P = "[*body.parameters(), *head.parameters()]"
OPT = "def make_optimizer(body, head, lr):"
TM = "def train_mode(model, frozen):"
FP = "def finetune_plan(body, head, lr):"
FREEZE_ALL = "for p in [*body.parameters(), *head.parameters()]:\n    p.requires_grad = False\n"
OPEN_LAST2 = ("for p in [*body[-2].parameters(), *body[-1].parameters(), *head.parameters()]:\n"
              "    p.requires_grad = True\n")


def _plan(groups: str, freeze: str = FREEZE_ALL, open_: str = OPEN_LAST2) -> str:
    return _fn(FP, f"{freeze}{open_}return torch.optim.Adam([{groups}])")


GOOD_GROUPS = ('{"params": head.parameters(), "lr": lr}, {"params": body[-1].parameters(), "lr": lr * 0.1}, '
               '{"params": body[-2].parameters(), "lr": lr * 0.01}')

MISTAKES = {
    "04-1": [
        ("x-ray read as similar", 'choices = {"A": "head", "B": "last", "C": "head", "D": "all"}', "유사성"),
        ("50k photos read as small", 'choices = {"A": "last2", "B": "head", "C": "head", "D": "all"}', "크기를 다시"),
        ("both axes wrong", 'choices = {"A": "last2", "B": "last", "C": "all", "D": "all"}', "둘 다 잘못"),
        ("a situation missing", 'choices = {"A": "last2", "B": "last", "C": "head"}', "상황 D 의 답이 없습니다"),
        ("not one of the choices", 'choices = {"A": "last2", "B": "last", "C": "fc", "D": "all"}',
         "고를 수 있는 답이 아닙니다"),
        ("a number, not a string", 'choices = {"A": 2, "B": 1, "C": 0, "D": 3}', "문자열이 아닙니다"),
        ("a list, not a dict", 'choices = ["last2", "last", "head", "all"]', "dict 여야"),
    ],
    "04-2": [
        ("counts every parameter", _fn(UNF, f"{FREEZE}{OPEN_LAST}return sum(p.numel() for p in {ALL_P})"),
         "모든 파라미터의 수"),
        ("head left frozen", _fn(UNF, f"{FREEZE}for p in body[-1].parameters():\n    p.requires_grad = True\n"
                                      "return sum(p.numel() for p in body.parameters() if p.requires_grad)"),
         "head 의 파라미터가 고정"),
        ("counts tensors", _fn(UNF, f"{FREEZE}{OPEN_LAST}return len([p for p in {ALL_P} if p.requires_grad])"),
         "텐서의 개수"),
        ("unfreezes the first stage", _fn(UNF, f"{FREEZE}for p in [*body[0].parameters(), *head.parameters()]:\n"
                                               "    p.requires_grad = True\nreturn 0"), "맨 앞 stage"),
        ("unfreezes the whole body", _fn(UNF, f"for p in {ALL_P}:\n    p.requires_grad = True\n"
                                              f"return sum(p.numel() for p in {ALL_P} if p.requires_grad)"),
         "body 전체를 풀었습니다"),
        ("counts the frozen ones", _fn(UNF, f"{FREEZE}{OPEN_LAST}"
                                            f"return sum(p.numel() for p in {ALL_P} if not p.requires_grad)"),
         "고정된 파라미터의 수"),
        ("index written as a number", _fn(UNF, f"{FREEZE}for p in [*body[2].parameters(), *head.parameters()]:\n"
                                               "    p.requires_grad = True\n"
                                               f"return sum(p.numel() for p in {ALL_P} if p.requires_grad)"),
         "음수 인덱스"),
        ("unfreezes before freezing", _fn(UNF, f"{OPEN_LAST}{FREEZE}"
                                               f"return sum(p.numel() for p in {ALL_P} if p.requires_grad)"),
         "다시 고정하지 않았는지"),
        ("counts the head only", _fn(UNF, f"{FREEZE}{OPEN_LAST}return sum(p.numel() for p in head.parameters())"),
         "head 만의 수"),
        ("counts the last stage only", _fn(UNF, f"{FREEZE}{OPEN_LAST}"
                                                "return sum(p.numel() for p in body.parameters() if p.requires_grad)"),
         "마지막 stage 만의 수"),
    ],
    "04-3": [
        ("one lr for all", _fn(OPT, "return torch.optim.Adam([*body.parameters(), *head.parameters()], lr=lr)"),
         "같습니다"),
        ("learning rates swapped", _fn(OPT, 'return torch.optim.Adam([{"params": head.parameters(), "lr": lr / 10},\n'
                                            '                         {"params": body.parameters(), "lr": lr}])'),
         "뒤바뀌었습니다"),
        ("a hundredth", _fn(OPT, 'return torch.optim.Adam([{"params": head.parameters(), "lr": lr},\n'
                                 '                         {"params": body.parameters(), "lr": lr / 100}])'), "비율"),
        ("body missing", _fn(OPT, 'return torch.optim.Adam([{"params": head.parameters(), "lr": lr}])'),
         "body 의 파라미터가 옵티마이저에 없습니다"),
        ("a parameter in two groups", _fn(OPT, 'return torch.optim.Adam([{"params": head.parameters(), "lr": lr},\n'
                                               '    {"params": [*body.parameters(), *head.parameters()], "lr": lr / 10}])'),
         "두 그룹에"),
        ("returns the groups", _fn(OPT, 'return [{"params": head.parameters(), "lr": lr},\n'
                                        '        {"params": body.parameters(), "lr": lr / 10}]'),
         "list 를 돌려주었습니다"),
        ("SGD instead of Adam", _fn(OPT, 'return torch.optim.SGD([{"params": head.parameters(), "lr": lr},\n'
                                         '                        {"params": body.parameters(), "lr": lr / 10}])'),
         "Adam 입니다"),
        ("head lr written as a number", _fn(OPT, 'return torch.optim.Adam([{"params": head.parameters(), "lr": 1e-3},\n'
                                                 '    {"params": body.parameters(), "lr": 1e-4}])'),
         "인자 lr 을 쓰세요"),
        ("body lr written as a number", _fn(OPT, 'return torch.optim.Adam([{"params": head.parameters(), "lr": lr},\n'
                                                 '    {"params": body.parameters(), "lr": 1e-4}])'),
         "lr 로 계산하세요"),
    ],
    "04-4": [
        ("requires_grad only", _fn(TM, "model.train()\nfor p in frozen.parameters():\n    p.requires_grad = False"),
         "frozen 이 아직 train 모드"),
        ("eval before train", _fn(TM, "frozen.eval()\nmodel.train()"), "순서"),
        ("model.eval() only", _fn(TM, "model.eval()"), "model.train() 을 부르지 않아"),
        ("every module in eval", _fn(TM, "model.train()\nfor m in model.modules():\n    m.eval()"),
         "모든 모듈을 eval"),
        ("every BatchNorm in eval", _fn(TM, "model.train()\nfor m in model.modules():\n"
                                            "    if isinstance(m, nn.BatchNorm2d):\n        m.eval()"),
         "BatchNorm 까지 eval"),
        ("the other part in eval", _fn(TM, "model.train()\nfor m in model.children():\n"
                                           "    if m is not frozen:\n        m.eval()"), "거꾸로"),
        ("eval() on parameters", _fn(TM, "model.train()\nfor m in frozen.parameters():\n    m.eval()"),
         "AttributeError"),
        ("model itself left in eval", _fn(TM, "for m in model.children():\n    m.train()\nfrozen.eval()"),
         "model 자체가 train 모드가 아닙니다"),
    ],
    "04-C": [
        ("head only", _plan('{"params": head.parameters(), "lr": lr}', open_="for p in head.parameters():\n"
                                                                             "    p.requires_grad = True\n"), "분류기만"),
        ("last stage only", _plan('{"params": head.parameters(), "lr": lr}, '
                                  '{"params": body[-1].parameters(), "lr": lr * 0.1}', open_=OPEN_LAST), "하나만"),
        ("whole model", _plan('{"params": head.parameters(), "lr": lr}, {"params": body.parameters(), "lr": lr * 0.1}',
                              open_="for p in [*body.parameters(), *head.parameters()]:\n    p.requires_grad = True\n"),
         "모델 전체를 학습"),
        ("forgot to freeze first", _plan(GOOD_GROUPS, freeze=""), "먼저 전부 고정"),
        ("one lr for all", _plan('{"params": [*head.parameters(), *body[-1].parameters(), *body[-2].parameters()], '
                                 '"lr": lr}'), "모든 그룹의 학습률"),
        ("decay the wrong way", _plan('{"params": head.parameters(), "lr": lr}, '
                                      '{"params": body[-1].parameters(), "lr": lr * 0.01}, '
                                      '{"params": body[-2].parameters(), "lr": lr * 0.1}'), "거꾸로"),
        ("frozen stages in the optimizer", _plan(GOOD_GROUPS + ', {"params": body[:-2].parameters(), "lr": lr * 0.001}'),
         "고정한 stage"),
        ("two stages at the same lr", _plan('{"params": head.parameters(), "lr": lr}, '
                                            '{"params": [*body[-2].parameters(), *body[-1].parameters()], '
                                            '"lr": lr * 0.1}'), "두 stage 의 학습률"),
        ("head not in the optimizer", _plan('{"params": body[-1].parameters(), "lr": lr * 0.1}, '
                                            '{"params": body[-2].parameters(), "lr": lr * 0.01}'),
         "head 의 파라미터가 옵티마이저에 없습니다"),
        ("stage indices written as numbers", _plan(
            '{"params": head.parameters(), "lr": lr}, {"params": body[3].parameters(), "lr": lr * 0.1}, '
            '{"params": body[2].parameters(), "lr": lr * 0.01}',
            open_="for p in [*body[2].parameters(), *body[3].parameters(), *head.parameters()]:\n"
                  "    p.requires_grad = True\n"), "음수 인덱스"),
        ("head lr changed", _plan('{"params": head.parameters(), "lr": lr * 0.5}, '
                                  '{"params": body[-1].parameters(), "lr": lr * 0.05}, '
                                  '{"params": body[-2].parameters(), "lr": lr * 0.005}'), "head 그룹의 학습률"),
    ],
}

VARIANTS = {
    "04-1": [
        ("capitals and spaces", 'choices = {"A": " Last2", "B": "LAST", "C": "head ", "D": "All"}'),
        ("dict(...) in another order", 'choices = dict(D="all", C="head", B="last", A="last2")'),
    ],
    "04-2": [
        ("0-d tensor", _fn(UNF, f"{FREEZE}{OPEN_LAST}"
                                f"return torch.tensor(sum(p.numel() for p in {ALL_P} if p.requires_grad))")),
        ("float", _fn(UNF, f"{FREEZE}{OPEN_LAST}return float(sum(p.numel() for p in {ALL_P} if p.requires_grad))")),
        ("len(body) - 1", _fn(UNF, f"{FREEZE}for p in [*body[len(body) - 1].parameters(), *head.parameters()]:\n"
                                   "    p.requires_grad = True\n"
                                   f"return sum(p.numel() for p in {ALL_P} if p.requires_grad)")),
        ("requires_grad_ on modules", _fn(UNF, "body.requires_grad_(False)\nbody[-1].requires_grad_(True)\n"
                                               "head.requires_grad_(True)\n"
                                               "return sum(p.numel() for p in nn.Sequential(body, head).parameters() "
                                               "if p.requires_grad)")),
    ],
    "04-3": [
        ("lr * 0.1", _fn(OPT, 'return torch.optim.Adam([{"params": head.parameters(), "lr": lr},\n'
                              '                         {"params": body.parameters(), "lr": lr * 0.1}])')),
        ("body group first", _fn(OPT, 'return torch.optim.Adam([{"params": body.parameters(), "lr": 0.1 * lr},\n'
                                      '                         {"params": head.parameters(), "lr": lr}])')),
        ("default lr for the head group", _fn(OPT, 'return torch.optim.Adam([{"params": list(head.parameters())},\n'
                                                   '    {"params": list(body.parameters()), "lr": lr / 10}], lr=lr)')),
    ],
    "04-4": [
        ("frozen.eval()", _fn(TM, "model.train()\nfrozen.eval()\nreturn model")),
        ("frozen.train(False)", _fn(TM, "model.train()\nfrozen.train(False)")),
        ("only the frozen BatchNorm layers", _fn(TM, "model.train()\nfor m in frozen.modules():\n"
                                                     "    if isinstance(m, nn.modules.batchnorm._BatchNorm):\n"
                                                     "        m.eval()\nreturn model")),
        ("apply", _fn(TM, "model.train()\nfrozen.apply(lambda m: m.eval())\nreturn model")),
        ("every module of frozen", _fn(TM, "model.train(True)\nfor m in frozen.modules():\n    m.eval()")),
    ],
    "04-C": [
        ("lr / 10 and lr / 100, head last", _plan('{"params": body[-2].parameters(), "lr": lr / 100}, '
                                                  '{"params": body[-1].parameters(), "lr": lr / 10}, '
                                                  '{"params": head.parameters(), "lr": lr}')),
        ("requires_grad_ and lists", _fn(FP, "body.requires_grad_(False)\nfor m in (body[-2], body[-1], head):\n"
                                             "    m.requires_grad_(True)\n"
                                             'return torch.optim.Adam([{"params": list(head.parameters()), "lr": lr},\n'
                                             '    {"params": list(body[-1].parameters()), "lr": lr * 0.1},\n'
                                             '    {"params": list(body[-2].parameters()), "lr": lr * 0.01}])')),
    ],
}

# --------------------------------------------------------------------------- 05

HO = "def hooked_output(model, layer, x):"


def _hook(save: str, run_: str = "with torch.no_grad():\n    model(x)\nhandle.remove()", ret='saved["out"]') -> str:
    return _fn(HO, f"saved = {{}}\n\ndef hook(module, inputs, output):\n    saved[\"out\"] = {save}\n\n"
                   f"handle = layer.register_forward_hook(hook)\n{run_}\nreturn {ret}")


TU = "def to_unit(m):"
CL = "def cam_layer(model):"
CW = "def cam_weights(grads):"
SOL5 = ex05.challenge.solution_code

MISTAKES.update({
    "05-1": [
        ("hook never removed", _hook("output.detach().clone()", "with torch.no_grad():\n    model(x)"), "훅이 1개 남아"),
        ("detach without clone", _hook("output.detach()"), "덮어썼습니다"),
        ("clone without detach", _hook("output.clone()"), "계산 그래프에 붙어"),
        ("the layer's input", _hook("inputs[0].detach().clone()"), "입력 (inputs)"),
        ("output as it is", _hook("output"), "detach() 도 clone() 도"),
        ("first sample only", _hook("output[0].detach().clone()"), "첫 샘플만"),
        ("removed before the forward", _hook("output.detach().clone()",
                                             "handle.remove()\nwith torch.no_grad():\n    model(x)"),
         "한 번도 불리지 않아"),
    ],
    "05-2": [
        ("no guard for a flat map", _fn(TU, "lo, hi = m.min(), m.max()\nreturn (m - lo) / (hi - lo)"),
         "값이 모두 같은 맵 (죽은 채널)"),
        ("divides by the maximum only", _fn(TU, "lo, hi = m.min(), m.max()\nif hi == lo:\n"
                                                "    return torch.zeros_like(m)\nreturn m / hi"), "최솟값이 0 이 아니라"),
        ("guard on hi == 0", _fn(TU, "lo, hi = m.min(), m.max()\nif hi == 0:\n    return torch.zeros_like(m)\n"
                                     "return (m - lo) / (hi - lo)"), "'최댓값이 0 인가'"),
        ("subtracts lo, divides by hi", _fn(TU, "lo, hi = m.min(), m.max()\nif hi == lo:\n"
                                                "    return torch.zeros_like(m)\nreturn (m - lo) / hi"),
         "최댓값이 1 이 아니라"),
        ("clamps", _fn(TU, "return m.clamp(0, 1)"), "clamp"),
        ("flat map filled with ones", _fn(TU, "lo, hi = m.min(), m.max()\nif hi == lo:\n"
                                              "    return torch.ones_like(m)\nreturn (m - lo) / (hi - lo)"),
         "1 로 채웠습니다"),
        ("changes m in place", _fn(TU, "lo, hi = m.min(), m.max()\nif hi == lo:\n    return torch.zeros_like(m)\n"
                                       "m -= lo\nm /= (hi - lo)\nreturn m"), "in-place"),
    ],
    "05-3": [
        ("first conv", _fn(CL, "convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]\nreturn convs[0]"),
         "첫 합성곱층"),
        ("a Linear layer", _fn(CL, "convs = [m for m in model.modules() if isinstance(m, nn.Linear)]\n"
                                   "return convs[-1]"), "Linear 층"),
        ("children() instead of modules()", _fn(CL, "convs = [m for m in model.children() if isinstance(m, nn.Conv2d)]\n"
                                                    "return convs[-1]"), "children()"),
        ("the whole list", _fn(CL, "return [m for m in model.modules() if isinstance(m, nn.Conv2d)]"),
         "list 을(를) 받았습니다"),
        ("second-to-last conv", _fn(CL, "convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]\n"
                                        "return convs[-2]"), "마지막이 아닙니다"),
        ("a kind the model lacks", _fn(CL, "convs = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]\n"
                                           "return convs[-1]"), "목록이 비어"),
        ("the model itself", _fn(CL, "return model"), "모델 전체"),
        ("the global pooling", _fn(CL, "return [m for m in model.modules() "
                                       "if isinstance(m, nn.AdaptiveAvgPool2d)][-1]"), "1×1"),
        ("the class, not a layer", _fn(CL, "return nn.Conv2d"), "층의 종류"),
        ("a layer of another model", _fn(CL, "return nn.Conv2d(3, 8, 3)"), "이 모델의 층이 아닙니다"),
    ],
    "05-4": [
        ("channel axis", _fn(CW, "return grads.mean(dim=1)"), "채널 축"),
        ("sum", _fn(CW, "return grads.sum(dim=(2, 3))"), "합 (sum)"),
        ("absolute values", _fn(CW, "return grads.abs().mean(dim=(2, 3))"), "절댓값"),
        ("batch axis too", _fn(CW, "return grads.mean(dim=(0, 2, 3))"), "배치 축"),
        ("every axis", _fn(CW, "return grads.mean()"), "모든 축"),
        ("H only", _fn(CW, "return grads.mean(dim=2)"), "공간 축 하나만"),
        ("maximum", _fn(CW, "return grads.amax(dim=(2, 3))"), "최댓값"),
        ("ReLU first", _fn(CW, "return grads.clamp(min=0).mean(dim=(2, 3))"), "ReLU 를 먼저"),
        ("axes 1 and 2", _fn(CW, "return grads.mean(dim=(1, 2))"), "공간 축 H, W 가 아닙니다"),
    ],
    "05-C": [
        ("no ReLU on the map", SOL5.replace("F.relu((alpha * A).sum(dim=1))[0]", "(alpha * A).sum(dim=1)[0]"), "음수"),
        ("hook on a fixed layer", SOL5.replace("handle = layer.register_forward_hook(keep)",
                                               "handle = model[3].register_forward_hook(keep)"), "다른 층 (net[3])"),
        ("alpha over channels", SOL5.replace("dA.mean(dim=(2, 3), keepdim=True)", "dA.mean(dim=1, keepdim=True)"),
         "채널 축으로"),
        ("alpha of |gradient|", SOL5.replace("dA.mean(dim=(2, 3), keepdim=True)", "dA.abs().mean(dim=(2, 3), keepdim=True)"),
         "절댓값으로"),
        ("hook left on the layer", SOL5.replace("    handle.remove()\n    model.zero_grad()", "    model.zero_grad()"),
         "훅이 남아"),
        ("map upsampled", SOL5.replace("return F.relu((alpha * A).sum(dim=1))[0]",
                                       "cam = F.relu((alpha * A).sum(dim=1))\n    return F.interpolate(cam[None], "
                                       "size=x.shape[-2:], mode='bilinear', align_corners=False)[0, 0]"), "입력 크기"),
        ("least important first", SOL5.replace("argsort(descending=True)", "argsort()"), "덜 중요한 픽셀부터"),
        ("logits, not probabilities", SOL5.replace("torch.softmax(model(xk.reshape(x.shape)), dim=1)[0, class_index]",
                                                   "model(xk.reshape(x.shape))[0, class_index]"), "logit"),
        ("steps points", SOL5.replace("for k in range(steps + 1):", "for k in range(1, steps + 1):"), "steps + 1"),
        ("random order", SOL5.replace("big.flatten().argsort(descending=True)", "torch.randperm(H * W)"),
         "무작위로 지울 때"),
        ("order from the small map", SOL5.replace("big.flatten().argsort(descending=True)",
                                                  "cam.flatten().argsort(descending=True)"), "작은 cam"),
        ("input without requires_grad", SOL5.replace("logits = model(x.clone().requires_grad_(True))",
                                                     "logits = model(x.clone())"), "기울기가 오지 않았습니다"),
        ("another class", SOL5.replace("dim=1)[0, class_index].item()", "dim=1)[0, 1 - class_index].item()"),
         "다른 클래스"),
    ],
})

VARIANTS.update({
    "05-1": [
        ("inference_mode", _hook("output.detach().clone()", "with torch.inference_mode():\n    model(x)\n"
                                                            "handle.remove()")),
        ("clone().detach()", _hook("output.clone().detach()")),
        ("try/finally", _hook("output.detach().clone()", "try:\n    with torch.no_grad():\n        model(x)\n"
                                                         "finally:\n    handle.remove()")),
        ("float64 copy", _hook("output.detach().double()")),
        ("saved in a list", _fn(HO, "saved = []\nhandle = layer.register_forward_hook(\n"
                                    "    lambda m, i, o: saved.append(o.detach().clone()))\n"
                                    "with torch.no_grad():\n    model(x)\nhandle.remove()\nreturn saved[-1]")),
    ],
    "05-2": [
        ("torch.isclose", _fn(TU, "lo, hi = m.min(), m.max()\nif torch.isclose(hi, lo):\n"
                                  "    return torch.zeros_like(m)\nreturn (m - lo) / (hi - lo)")),
        ("width == 0", _fn(TU, "lo, hi = m.min(), m.max()\nwidth = hi - lo\nif width == 0:\n"
                               "    return m * 0\nreturn (m - lo) / width")),
        ("float64 result", _fn(TU, "m = m.double()\nlo, hi = m.min(), m.max()\nif hi - lo < 1e-12:\n"
                                   "    return torch.zeros_like(m)\nreturn (m - lo) / (hi - lo)")),
        ("NumPy", _fn(TU, "a = m.numpy()\nlo, hi = a.min(), a.max()\nif hi == lo:\n    return np.zeros_like(a)\n"
                          "return (a - lo) / (hi - lo)")),
    ],
    "05-3": [
        ("search from the end", _fn(CL, "return next(m for m in reversed(list(model.modules())) "
                                        "if isinstance(m, nn.Conv2d))")),
        ("last block (bb.feature_layers[-1] style)", _fn(CL, "blocks = [m for m in model.children()\n"
                                                             "          if any(isinstance(s, nn.Conv2d) "
                                                             "for s in m.modules())]\nreturn blocks[-1]")),
        ("the name of the layer", _fn(CL, "return [n for n, m in model.named_modules() "
                                          "if isinstance(m, nn.Conv2d)][-1]")),
        ("the ReLU after the last conv", _fn(CL, "return [m for m in model.modules() if isinstance(m, nn.ReLU)][-1]")),
    ],
    "05-4": [
        ("keepdim", _fn(CW, "return grads.mean(dim=(2, 3), keepdim=True)")),
        ("float64", _fn(CW, "return grads.double().mean(dim=(2, 3))")),
        ("NumPy", _fn(CW, "return grads.numpy().mean(axis=(2, 3))")),
        ("two means", _fn(CW, "return grads.mean(-1).mean(-1)")),
        ("flatten", _fn(CW, "return grads.flatten(2).mean(2)")),
        ("adaptive pooling", _fn(CW, "return torch.nn.functional.adaptive_avg_pool2d(grads, 1)")),
        ("sum / (H W)", _fn(CW, "return grads.sum((2, 3)) / (grads.shape[2] * grads.shape[3])")),
        ("a list", _fn(CW, "return grads.mean(dim=(2, 3)).tolist()")),
    ],
    "05-C": [
        ("normalised map", SOL5.replace("return F.relu((alpha * A).sum(dim=1))[0]",
                                        "cam = F.relu((alpha * A).sum(dim=1))[0]\n    "
                                        "return (cam - cam.min()) / (cam.max() - cam.min())")),
        ("map with a batch axis", SOL5.replace("F.relu((alpha * A).sum(dim=1))[0]", "F.relu((alpha * A).sum(dim=1))")),
        ("NumPy curve", SOL5.replace("    return probs\n", "    return np.array(probs)\n")),
        ("torch.sort", SOL5.replace("big.flatten().argsort(descending=True)",
                                    "torch.sort(big.flatten(), descending=True).indices")),
    ],
})

# --------------------------------------------------------------------------- 06

DG = "def degrees(edges, n):"
GN = "def gcn_norm(edges, n):"
GL = "def gcn_layer(A_hat, X, W, b):"
SR = "def sum_readout(H, batch, num_graphs):"
FILL = "A = torch.zeros(n, n)\nfor i, j in edges:\n    A[i, j] = A[j, i] = 1\n"
TILDE = "A_tilde = A + torch.eye(n)\nd = A_tilde.sum(1)\n"


def _deg(body: str, init: str = "torch.zeros(n)") -> str:
    return _fn(DG, f"deg = {init}\nfor i, j in edges:\n{body}\nreturn deg")


def _norm(ret: str, fill: str = FILL, tilde: str = TILDE) -> str:
    return _fn(GN, f"{fill}{tilde}D_inv_sqrt = torch.diag(d.pow(-0.5))\nreturn {ret}")


GCN = "class TwoLayerGCN(nn.Module):"
INIT = ("def __init__(self, in_features, hidden, n_classes):\n    super().__init__()\n"
        "    self.gc1 = GCNLayer(in_features, hidden)\n    self.gc2 = GCNLayer(hidden, n_classes)\n")


def _gcn(forward: str, init: str = INIT) -> str:
    return _fn(GCN, init + "\ndef forward(self, X, A_hat):\n" + "\n".join("    " + line for line in forward.splitlines()))


MISTAKES.update({
    "06-1": [
        ("one end only", _deg("    deg[i] += 1"), "한쪽 끝만"),
        ("self-loop counted", _deg("    deg[i] += 1\n    deg[j] += 1", "torch.ones(n)"), "자기 루프"),
        ("both directions counted", _deg("    deg[i] += 2\n    deg[j] += 2"), "두 번 센"),
        ("one number", _fn(DG, "return torch.tensor(2.0 * len(edges))"), "숫자 하나"),
        ("length = number of edges", _deg("    deg[i] += 1\n    deg[j] += 1", "torch.zeros(len(edges))"),
         "길이를 노드 수 n 으로"),
        ("length from the largest node", _deg("    deg[i] += 1\n    deg[j] += 1",
                                              "torch.zeros(max(max(e) for e in edges) + 1)"), "가장 큰 노드 번호"),
        ("i twice", _deg("    deg[i] += 1\n    deg[i] += 1"), "한쪽 끝 i 만 두 번"),
    ],
    "06-2": [
        ("row normalisation", _norm("torch.diag(1 / d) @ A_tilde"), "행 정규화"),
        ("not normalised", _norm("A_tilde"), "정규화하지 않은"),
        ("one side only", _norm("D_inv_sqrt @ A_tilde"), "한쪽에만"),
        ("A filled one way", _norm("D_inv_sqrt @ A_tilde @ D_inv_sqrt",
                                   fill="A = torch.zeros(n, n)\nfor i, j in edges:\n    A[i, j] = 1\n"), "대칭이 아닙니다"),
        ("no self-loops", _norm("D_inv_sqrt @ A @ D_inv_sqrt", tilde="A_tilde = A\nd = A.sum(1)\n"),
         "대각선이 0"),
        ("D^1/2", _norm("torch.diag(d.sqrt()) @ A_tilde @ torch.diag(d.sqrt())"), "D^1/2"),
        ("degree from A", _norm("D_inv_sqrt @ A_tilde @ D_inv_sqrt", tilde="A_tilde = A + torch.eye(n)\nd = A.sum(1)\n"),
         "차수를 A 에서"),
        ("A + 1", _norm("D_inv_sqrt @ A_tilde @ D_inv_sqrt", tilde="A_tilde = A + 1\nd = A_tilde.sum(1)\n"),
         "모든 칸에 1"),
        ("elementwise product", _norm("D_inv_sqrt * A_tilde * D_inv_sqrt"), "원소별 곱"),
    ],
    "06-3": [
        ("no Â", _fn(GL, "return X @ W + b"), "이웃의 특성을 모으는"),
        ("no bias", _fn(GL, "return A_hat @ X @ W"), "편향 b"),
        ("W transposed", _fn(GL, "return A_hat @ X @ W.T + b"), "전치"),
        ("ReLU inside", _fn(GL, "return torch.relu(A_hat @ X @ W + b)"), "ReLU"),
        ("bias before Â", _fn(GL, "return A_hat @ (X @ W + b)"), "Â 를 곱하기 전에"),
        ("bias multiplied", _fn(GL, "return A_hat @ X @ W * b"), "b 를 곱했습니다"),
        ("nodes summed", _fn(GL, "return (A_hat @ X @ W).sum(0) + b"), "노드 축을 더해"),
        ("elementwise product", _fn(GL, "return A_hat * X * W + b"), "원소별 곱 (*)"),
    ],
    "06-4": [
        ("all nodes at once", _fn(SR, "return H.sum(0)"), "한꺼번에"),
        ("mean", _fn(SR, "sums = torch.zeros(num_graphs, H.shape[1]).index_add_(0, batch, H)\n"
                         "return sums / torch.bincount(batch, minlength=num_graphs).clamp(min=1)[:, None]"),
         "평균 리드아웃"),
        ("empty graphs dropped", _fn(SR, "return torch.stack([H[batch == g].sum(0) for g in batch.unique()])"),
         "빈) 그래프"),
        ("copied, not added", _fn(SR, "return torch.zeros(num_graphs, H.shape[1]).index_copy_(0, batch, H)"),
         "덮어썼습니다"),
        ("maximum", _fn(SR, "return torch.stack([H[batch == g].amax(0) if (batch == g).any() else "
                            "torch.zeros(H.shape[1]) for g in range(num_graphs)])"), "최댓값 리드아웃"),
        ("transposed", _fn(SR, "return torch.zeros(H.shape[1], num_graphs).index_add_(1, batch, H.T)"),
         "전치"),
        ("rows from batch.max()", _fn(SR, "return torch.zeros(int(batch.max()) + 1, H.shape[1])"
                                          ".index_add_(0, batch, H)[:num_graphs - 1]"), "모양(shape)"),
    ],
    "06-C": [
        ("no ReLU between the layers", _gcn("return self.gc2(self.gc1(X, A_hat), A_hat)"), "선형"),
        ("second layer without Â", _gcn("return self.gc2(torch.relu(self.gc1(X, A_hat)))",
                                        INIT.replace("GCNLayer(hidden, n_classes)", "nn.Linear(hidden, n_classes)")),
         "2-hop"),
        ("three layers", _gcn("H = torch.relu(self.gc1(X, A_hat))\nH = torch.relu(self.mid(H, A_hat))\n"
                              "return self.gc2(H, A_hat)",
                              INIT + "    self.mid = GCNLayer(hidden, hidden)\n"), "3-hop"),
        ("ReLU after the last layer", _gcn("return torch.relu(self.gc2(torch.relu(self.gc1(X, A_hat)), A_hat))"),
         "0 이상"),
        ("softmax output", _gcn("return torch.softmax(self.gc2(torch.relu(self.gc1(X, A_hat)), A_hat), dim=1)"),
         "softmax"),
        ("graph ignored", _gcn("I = torch.eye(X.shape[0])\nreturn self.gc2(torch.relu(self.gc1(X, I)), I)"),
         "A_hat 을 바꿔도"),
        ("ends at hidden size", _gcn("return self.gc2(torch.relu(self.gc1(X, A_hat)), A_hat)",
                                     INIT.replace("GCNLayer(hidden, n_classes)", "GCNLayer(hidden, hidden)")),
         "hidden 크기에서"),
        ("layers in a plain list", _gcn("return self.layers[1](torch.relu(self.layers[0](X, A_hat)), A_hat)",
                                        "def __init__(self, in_features, hidden, n_classes):\n    super().__init__()\n"
                                        "    self.layers = [GCNLayer(in_features, hidden), "
                                        "GCNLayer(hidden, n_classes)]\n"), "학습할 파라미터가 없습니다"),
    ],
})

VARIANTS.update({
    "06-1": [
        ("bincount", _fn(DG, "return torch.bincount(torch.tensor(edges).flatten(), minlength=n)")),
        ("a list", _fn(DG, "return [sum(v in e for e in edges) for v in range(n)]")),
        ("NumPy", _fn(DG, "deg = np.zeros(n)\nfor i, j in edges:\n    deg[i] += 1\n    deg[j] += 1\nreturn deg")),
        ("integer tensor", _deg("    deg[i] += 1\n    deg[j] += 1", "torch.zeros(n, dtype=torch.long)")),
    ],
    "06-2": [
        ("float64", _fn(GN, "A = torch.zeros(n, n, dtype=torch.float64)\nfor i, j in edges:\n    A[i, j] = A[j, i] = 1\n"
                            "A_tilde = A + torch.eye(n, dtype=torch.float64)\nd = A_tilde.sum(1)\n"
                            "return torch.diag(d.rsqrt()) @ A_tilde @ torch.diag(d.rsqrt())")),
        ("broadcasting", _fn(GN, f"{FILL}{TILDE}return A_tilde / torch.sqrt(d[:, None] * d[None, :])")),
        ("NumPy", _fn(GN, "A = np.zeros((n, n))\nfor i, j in edges:\n    A[i, j] = A[j, i] = 1\n"
                          "A_tilde = A + np.eye(n)\nD = np.diag(1 / np.sqrt(A_tilde.sum(1)))\nreturn D @ A_tilde @ D")),
    ],
    "06-3": [
        ("float64", _fn(GL, "return A_hat.double() @ X.double() @ W.double() + b.double()")),
        ("NumPy", _fn(GL, "return A_hat.numpy() @ X.numpy() @ W.numpy() + b.numpy()")),
        ("matmul, XW first", _fn(GL, "return torch.matmul(A_hat, X @ W) + b")),
        ("addmm", _fn(GL, "return torch.addmm(b, A_hat, X @ W)")),
    ],
    "06-4": [
        ("float64", _fn(SR, "return torch.zeros(num_graphs, H.shape[1], dtype=torch.float64)"
                            ".index_add_(0, batch, H.double())")),
        ("loop over graphs", _fn(SR, "return torch.stack([H[batch == g].sum(0) for g in range(num_graphs)])")),
        ("one-hot matrix", _fn(SR, "return torch.nn.functional.one_hot(batch, num_graphs).T.float() @ H")),
        ("NumPy add.at", _fn(SR, "out = np.zeros((num_graphs, H.shape[1]))\n"
                                 "np.add.at(out, batch.numpy(), H.numpy())\nreturn out")),
        ("index_add (not in place)", _fn(SR, "return torch.zeros(num_graphs, H.shape[1]).index_add(0, batch, H)")),
    ],
    "06-C": [
        ("nn.ModuleList and F.relu", _gcn("return self.layers[1](F.relu(self.layers[0](X, A_hat)), A_hat)",
                                          "def __init__(self, in_features, hidden, n_classes):\n"
                                          "    super().__init__()\n    self.layers = nn.ModuleList([GCNLayer(in_features, "
                                          "hidden), GCNLayer(hidden, n_classes)])\n")),
        ("own weights, nn.ReLU", _gcn("return A_hat @ self.w2(self.act(A_hat @ self.w1(X)))",
                                      "def __init__(self, in_features, hidden, n_classes):\n    super().__init__()\n"
                                      "    self.w1 = nn.Linear(in_features, hidden)\n"
                                      "    self.w2 = nn.Linear(hidden, n_classes)\n    self.act = nn.ReLU()\n")),
    ],
})

# Strings that would print the answer (or most of it) if they appeared in feedback to a mistake.
ANSWERS = {
    "04-1": ["ImageNet 과 다르다)", "이 데이터셋은"], "04-2": ["body[-1]", "p.numel() for"], "04-3": ["lr / 10", "lr * 0.1"],
    "04-4": ["frozen.eval()", "[frozen]"], "04-C": ["body[-2]", "lr * 0.01", "0.1 ** k"],
    "05-1": ["output.detach().clone()", "handle.remove()"], "05-2": ["(m - lo) / (hi - lo)", "hi == lo"],
    "05-3": ["convs[-1]", "isinstance(m, nn.Conv2d)"], "05-4": ["mean(dim=(2, 3))", "dim=(2, 3))"],
    "05-C": ["argsort(descending=True)", "dA.mean(dim=(2, 3)"],
    "06-1": ["deg[j] += 1", "+= 1"], "06-2": ["D_inv_sqrt @ A_tilde @ D_inv_sqrt", "torch.eye(n)"],
    "06-3": ["A_hat @ X @ W + b"], "06-4": ["index_add_(0, batch, H)"],
    "06-C": ["GCNLayer(hidden, n_classes)", "torch.relu(self.gc1"],
}


def _context(ex):
    import numpy as np
    import torch
    import torch.nn.functional as F
    from torch import nn

    return {"torch": torch, "nn": nn, "F": F, "np": np, **ex.context()}


def _answer(ex, code):
    ns = {**_context(ex)}
    exec(compile(code, f"<catalogue {ex.key}>", "exec"), ns)  # noqa: S102 - the catalogue's own code
    return ns[ex.name]


MISTAKE_CASES = [(key, label, code, part) for key, items in MISTAKES.items() for label, code, part in items]
VARIANT_CASES = [(key, label, code) for key, items in VARIANTS.items() for label, code in items]


def test_every_exercise_has_a_catalogue_of_at_least_five_mistakes_and_a_right_variant():
    assert set(MISTAKES) == set(EX) == set(VARIANTS) == set(ANSWERS)
    for key in EX:
        assert len(MISTAKES[key]) >= 5, f"{key}: {len(MISTAKES[key])} mistakes in the catalogue"
        assert len(VARIANTS[key]) >= 2, key


@pytest.mark.parametrize("key,label,code,part", MISTAKE_CASES, ids=[f"{k}-{lb}" for k, lb, _, _ in MISTAKE_CASES])
def test_mistake_is_rejected_with_its_own_message(key, label, code, part):
    ex = EX[key]
    ok, msg = ex.evaluate(_answer(ex, code))
    assert not ok, f"{key} accepted the mistake {label!r}:\n{code}"
    assert msg.startswith("❌"), msg
    assert part in msg, f"{key} {label}: expected {part!r} in {msg!r}"
    assert "Traceback" not in msg and "확인하는 중에 문제가 생겼습니다" not in msg, msg
    for answer in ANSWERS[key]:
        assert answer not in msg, f"{key} {label}: the feedback prints the answer {answer!r}: {msg!r}"


@pytest.mark.parametrize("key", sorted(MISTAKES))
def test_mistakes_of_one_exercise_get_different_messages(key):
    ex = EX[key]
    messages = {}
    for label, code, _ in MISTAKES[key]:
        msg = ex.evaluate(_answer(ex, code))[1]
        cause = re.sub(r"[-\d\[\](),.:]+", "", msg)  # the same words with other numbers are the same message
        messages.setdefault(cause, []).append(label)
    shared = [labels for labels in messages.values() if len(labels) > 1]
    assert not shared, f"{key}: these mistakes get the same message: {shared}"


@pytest.mark.parametrize("key,label,code", VARIANT_CASES, ids=[f"{k}-{lb}" for k, lb, _ in VARIANT_CASES])
def test_right_answer_written_another_way_passes(key, label, code):
    ex = EX[key]
    ok, msg = ex.evaluate(_answer(ex, code))
    assert ok, f"{key} rejected a right answer ({label}): {msg}"


@pytest.mark.parametrize("key", sorted(EX))
def test_reference_passes_and_template_is_not_attempted(key):
    ex = EX[key]
    ok, msg = ex.evaluate(ex.answer_from(ex.solution_code))
    assert ok, msg
    ok, msg = ex.evaluate(ex.answer_from(ex.template))
    assert not ok and msg.startswith("📝"), msg


@pytest.mark.parametrize("key", sorted(EX))
def test_check_cell_run_before_its_exercise_cell_is_friendly(key, capsys):
    ex = EX[key]
    ns = {"ex": ex}
    exec("result = ex.check()", ns)  # noqa: S102 - a check cell in a notebook where the exercise never ran
    out = capsys.readouterr().out
    assert not ns["result"] and out.startswith("📝") and "먼저 위의 연습 셀을 실행하세요" in out, out


@pytest.mark.parametrize("mod", [ex04, ex05, ex06], ids=["04", "05", "06"])
def test_challenge_has_three_tiered_hints_and_shows_the_solution_only_on_request(mod, capsys):
    ch = mod.challenge
    assert ch is mod.EXERCISES[-1] and len(ch.hints) == 3  # counted in progress like 01-03's
    ch.hint()
    first = capsys.readouterr().out
    assert first.startswith("💡 힌트 1/3") and ch.solution_code.splitlines()[-1].strip() not in first
    ch.hint(), ch.hint()
    assert "💡 힌트 3/3" in capsys.readouterr().out
    assert ch.solution_code in repr(ch.solution())


def test_exercise_numbers_of_04_follow_the_page_order():
    """04-1 table (§4), 04-2 unfreeze (§5), 04-3 parameter groups (§5), 04-4 BatchNorm (§6)."""
    assert [(e.key, e.name) for e in ex04.EXERCISES] == [
        ("04-1", "choices"), ("04-2", "unfreeze_last"), ("04-3", "make_optimizer"), ("04-4", "train_mode"),
        ("04-C", "finetune_plan")]
    assert "교과서" in ex04.q1.template and "교과서" in ex04.q1.title


def test_gcn_challenge_is_cheap_and_beats_the_no_graph_baseline():
    import time

    import torch

    cls = ex06.challenge.answer_from(ex06.challenge.solution_code)
    g = ex06.challenge_graph()
    start = time.perf_counter()
    gcn = ex06._fit_accuracy(cls, g, g["A_hat"], 0)
    base = ex06._fit_accuracy(cls, g, torch.eye(g["n"]), 0)
    assert gcn >= 0.9 and base <= 0.6, (gcn, base)
    assert time.perf_counter() - start < 10, "two trainings of the challenge check must stay cheap"
