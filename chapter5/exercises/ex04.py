"""Exercises of notebook 04 (fine-tuning): notebooks/04_fine_tuning.ipynb.

Numbered in page order: 04-1 the textbook's table (§4), 04-2 unfreeze the last stage (§5),
04-3 parameter groups (§5, discriminative learning rates), 04-4 BatchNorm of the frozen part (§6),
and a challenge (``challenge``): choose what to unfreeze for a new dataset and build its groups.
"""
from __future__ import annotations

from .core import Exercise, Incorrect, LearnerError, NotAttempted, as_number, is_blank, run
from .quiz import Quiz

# --------------------------------------------------------------------------- 04-1 the textbook's table

SITUATIONS = {
    "A": ("small", "dissimilar", "흑백 흉부 엑스레이 300장"),
    "B": ("large", "similar", "개 품종 사진 5만 장"),
    "C": ("small", "similar", "고양이·개 사진 400장"),
    "D": ("large", "dissimilar", "위성 사진 10만 장"),
}
_TABLE = {("small", "similar"): "head", ("large", "similar"): "last",
          ("small", "dissimilar"): "last2", ("large", "dissimilar"): "all"}
_CELL = {v: k for k, v in _TABLE.items()}
_SIZE = {"small": "작다", "large": "크다"}
_SIM = {"similar": "비슷하다", "dissimilar": "다르다"}
_CHOICES = "'head', 'last', 'last2', 'all'"


def _choice(value, key):
    if is_blank(value):
        raise NotAttempted("choices 에 빈칸 ____ 이 남아 있습니다")
    if not isinstance(value, str):
        raise Incorrect(f"상황 {key}: {value!r} 는 문자열이 아닙니다 — 답은 따옴표로 감싼 {_CHOICES} 중 하나입니다")
    got = value.strip().lower()
    if got not in _CELL:
        raise Incorrect(f"상황 {key}: {value!r} 는 고를 수 있는 답이 아닙니다 — {_CHOICES} 중 하나를 쓰세요")
    return got


def _test_choices(answer):
    if not isinstance(answer, dict):
        raise Incorrect(f"choices 는 {{'A': 'head', ...}} 같은 dict 여야 하는데 {type(answer).__name__} 입니다")
    missing = [k for k in SITUATIONS if k not in answer]
    if missing:
        raise Incorrect(f"상황 {', '.join(missing)} 의 답이 없습니다 — 네 상황 A, B, C, D 를 모두 채우세요")
    if any(is_blank(answer[k]) for k in SITUATIONS):
        raise NotAttempted("choices 에 빈칸 ____ 이 남아 있습니다")
    for key, (size, sim, text) in SITUATIONS.items():
        got = _choice(answer[key], key)
        if got == _TABLE[(size, sim)]:
            continue
        g_size, g_sim = _CELL[got]
        where = f"상황 {key} ({text}): {got!r} 는 교과서 표에서 '데이터셋이 {_SIZE[g_size]} · {_SIM[g_sim]}' 칸의 답입니다"
        if g_size != size and g_sim == sim:
            raise Incorrect(f"{where} — 데이터셋의 크기를 다시 보세요: 장 수가 표의 '작다' 와 '크다' 중 어디에 가깝나요?")
        if g_sim != sim and g_size == size:
            raise Incorrect(f"{where} — ImageNet 과의 유사성을 다시 보세요: 이 사진들이 ImageNet 의 물체·동물 사진과 닮았나요?")
        raise Incorrect(f"{where} — 크기와 유사성을 둘 다 잘못 읽었습니다. 상황마다 두 질문 (작은가? ImageNet 과 닮았나?) "
                        "에 먼저 답하고 표를 읽으세요")


q1 = Exercise(
    "04-1", "교과서의 표 읽기: 상황마다 무엇을 풀어 줄까", "choices", _test_choices,
    hints=["상황마다 두 가지를 먼저 정하세요: 데이터셋이 작은가 큰가, ImageNet (사진 속 물체·동물) 과 비슷한가 다른가. "
           "그다음 4절 교과서 표의 그 칸을 읽습니다.",
           "표의 두 힘: ImageNet 과 다를수록 더 많이 풀고, 데이터가 작을수록 덜 풉니다. "
           "작다·비슷하다 → 'head', 크다·비슷하다 → 'last', 작다·다르다 → 'last2', 크다·다르다 → 'all'.",
           "엑스레이와 위성 사진은 ImageNet 과 다르고, 개 품종과 고양이·개는 비슷합니다. 300·400장은 작고, 5만·10만 장은 큽니다."],
    template='''# 교과서 (4절의 표) 가 권하는 것을 고르세요 — 7절의 측정이 아니라 교과서의 규칙을 읽는 문제입니다.
# "head" (분류기만), "last" (마지막 stage + 분류기), "last2" (마지막 두 stage + 분류기), "all" (모델 전체)
choices = {
    "A": ____,   # 흑백 흉부 엑스레이 300장으로 폐렴 여부 분류
    "B": ____,   # 개 품종 사진 5만 장으로 120 품종 분류
    "C": ____,   # 고양이·개 사진 400장으로 고양이 vs 개
    "D": ____,   # 위성 사진 10만 장으로 지형 10종류 분류
}''',
    solution='''# 교과서 (4절의 표) 가 권하는 것을 고르세요 — 7절의 측정이 아니라 교과서의 규칙을 읽는 문제입니다.
# "head" (분류기만), "last" (마지막 stage + 분류기), "last2" (마지막 두 stage + 분류기), "all" (모델 전체)
choices = {
    "A": "last2",  # 작다 · ImageNet 과 다르다
    "B": "last",   # 크다 · 비슷하다
    "C": "head",   # 작다 · 비슷하다
    "D": "all",    # 크다 · 다르다
}''',
    wrong=[('''choices = {"A": "head", "B": "last", "C": "head", "D": "all"}''', "유사성"),
           ('''choices = {"A": "last2", "B": "head", "C": "head", "D": "all"}''', "크기"),
           ('''choices = {"A": "last2", "B": "last", "C": "head"}''', "상황 D")],
)


# --------------------------------------------------------------------------- 04-2 counting trainable parameters

def _toy_stages(n_stages: int = 3):
    """A body of ``n_stages`` conv stages (different sizes) and a head; everything trainable at first."""
    from torch import nn

    chans = [3, 8, 16, 32, 24, 12][: n_stages + 1]
    body = nn.Sequential(*[nn.Sequential(nn.Conv2d(a, b, 3, bias=False), nn.BatchNorm2d(b))
                           for a, b in zip(chans, chans[1:])])
    return body, nn.Linear(chans[-1], 2)


def _count(params) -> int:
    return sum(p.numel() for p in params)


def _test_unfreeze_last(fn):
    for n_stages, start in ((4, False), (3, True)):   # 4 stages: an index written as a number is caught;
        body, head = _toy_stages(n_stages)            # all frozen at first: the head must be unfrozen too
        for p in [*body.parameters(), *head.parameters()]:
            p.requires_grad = start
        call = f"unfreeze_last(body, head)  # body: stage {n_stages}개"
        got = run(fn, body, head, what=call)
        if is_blank(got):
            raise NotAttempted("n_train 에 빈칸 ____ 이 남아 있습니다")
        front = [p for s in body[:-1] for p in s.parameters()]
        last, head_p = list(body[-1].parameters()), list(head.parameters())
        if any(p.requires_grad for p in front):
            if all(p.requires_grad for p in front) and all(p.requires_grad for p in last):
                raise Incorrect(f"{call}: body 의 모든 stage 가 requires_grad=True 입니다 — 마지막 stage 만 풀어야 하는데 "
                                "body 전체를 풀었습니다 (body.parameters() 는 모든 stage 의 파라미터)")
            if not any(p.requires_grad for p in last):
                if all(p.requires_grad for p in body[0].parameters()):
                    raise Incorrect(f"{call}: 맨 앞 stage (body[0]) 를 풀었습니다 — 마지막 stage 는 목록의 반대쪽 끝에 "
                                    "있습니다")
                raise Incorrect(f"{call}: 마지막 stage 는 고정되어 있고 그 앞의 stage 가 풀렸습니다 — stage 가 "
                                f"{n_stages}개일 때 마지막 stage 가 body 의 몇 번째인지, 음수 인덱스를 떠올려 보세요")
            raise Incorrect(f"{call}: 마지막 stage 앞의 stage 도 requires_grad=True 입니다 — 마지막 stage 하나만 푸세요")
        if not all(p.requires_grad for p in head_p):
            raise Incorrect(f"{call}: head 의 파라미터가 고정되어 있습니다 — 새 분류기 head 도 학습합니다 (같이 풀어 주세요)")
        if not all(p.requires_grad for p in last):
            raise Incorrect(f"{call}: 마지막 stage 의 파라미터가 고정되어 있습니다 — 풀 목록에 마지막 stage 가 있는지, 그리고 "
                            "푼 뒤에 body 전체를 다시 고정하지 않았는지 (순서: 먼저 전부 고정, 그다음 풀기) 보세요")
        n_last, n_head = _count(last), _count(head_p)
        n_all = _count(body.parameters()) + n_head
        n_tensors = len(last) + len(head_p)
        value = as_number(got, f"{call} 가 돌려준 값")
        want = n_last + n_head
        if value == want:
            continue
        if value == n_all:
            raise Incorrect(f"{call}: {int(value):,} 는 모든 파라미터의 수입니다 — requires_grad 가 True 인 것만 세세요")
        if value == n_all - want:
            raise Incorrect(f"{call}: {int(value):,} 는 고정된 파라미터의 수입니다 — 조건을 거꾸로 썼는지 "
                            "(not p.requires_grad) 보세요")
        if value == n_last:
            raise Incorrect(f"{call}: {int(value):,} 는 마지막 stage 만의 수입니다 — head 의 파라미터도 학습하니 함께 세세요")
        if value == n_head:
            raise Incorrect(f"{call}: {int(value):,} 는 head 만의 수입니다 — 마지막 stage 의 파라미터도 함께 세세요")
        if value == n_tensors:
            raise Incorrect(f"{call}: {int(value)} 는 파라미터 텐서의 개수입니다 — 텐서마다 원소 수 (p.numel()) 를 더하세요")
        raise Incorrect(f"{call}: 돌려준 값 {value:g} 는 학습할 파라미터의 원소 수와 다릅니다 — requires_grad 가 True 인 "
                        "파라미터만 골라 원소 수를 더했는지 보세요")


q2 = Exercise(
    "04-2", "마지막 stage 를 풀고 학습 파라미터 세기", "unfreeze_last", _test_unfreeze_last,
    hints=["body 는 stage 들의 nn.Sequential 이라 인덱스로 stage 를 꺼낼 수 있습니다. 마지막 원소를 꺼내는 인덱스는?",
           "풀 파라미터는 마지막 stage 의 것과 head 의 것입니다: 두 .parameters() 를 한 list 로 모을 수 있습니다. "
           "학습 파라미터 수 = requires_grad 가 True 인 파라미터의 p.numel() 합 (텐서 개수가 아니라 원소 수).",
           "for p in [*body[-1].parameters(), *head.parameters()]: …  그리고 "
           "sum(p.numel() for p in [*body.parameters(), *head.parameters()] if p.requires_grad)"],
    template='''def unfreeze_last(body, head):
    """body (stage 들의 nn.Sequential) 를 모두 고정한 뒤 마지막 stage 와 head 만 풉니다.
    돌려주는 값: 학습할 파라미터 수."""
    for p in body.parameters():
        p.requires_grad = False
    for p in ____:              # 마지막 stage 와 head 의 파라미터
        p.requires_grad = True
    n_train = ____              # requires_grad 가 True 인 파라미터의 원소 수 합
    return n_train''',
    solution='''def unfreeze_last(body, head):
    """body (stage 들의 nn.Sequential) 를 모두 고정한 뒤 마지막 stage 와 head 만 풉니다.
    돌려주는 값: 학습할 파라미터 수."""
    for p in body.parameters():
        p.requires_grad = False
    for p in [*body[-1].parameters(), *head.parameters()]:
        p.requires_grad = True
    n_train = sum(p.numel() for p in [*body.parameters(), *head.parameters()] if p.requires_grad)
    return n_train''',
    wrong=[('''def unfreeze_last(body, head):
    for p in body.parameters():
        p.requires_grad = False
    for p in [*body[-1].parameters(), *head.parameters()]:
        p.requires_grad = True
    return sum(p.numel() for p in [*body.parameters(), *head.parameters()])''', "모든 파라미터"),
           ('''def unfreeze_last(body, head):
    for p in body.parameters():
        p.requires_grad = False
    for p in body[-1].parameters():
        p.requires_grad = True
    return sum(p.numel() for p in body.parameters() if p.requires_grad)''', "head"),
           ('''def unfreeze_last(body, head):
    for p in body.parameters():
        p.requires_grad = False
    for p in [*body[-1].parameters(), *head.parameters()]:
        p.requires_grad = True
    return len([p for p in [*body.parameters(), *head.parameters()] if p.requires_grad])''', "p.numel()")],
)


# --------------------------------------------------------------------------- 04-3 parameter groups

def _toy_body_head():
    import torch
    from torch import nn

    torch.manual_seed(0)
    body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return body, nn.Linear(8, 2)


def _lr_of(opt, call):
    """``{id(parameter): lr}`` over the optimizer's groups; a parameter in two groups is a mistake."""
    lr_of = {}
    for g in opt.param_groups:
        for p in g["params"]:
            if id(p) in lr_of:
                raise Incorrect(f"{call}: 같은 파라미터가 두 그룹에 들어 있습니다 — 그룹마다 다른 모듈 "
                                "(head 와 body) 의 파라미터를 넣으세요")
            lr_of[id(p)] = g["lr"]
    return lr_of


def _test_make_optimizer(fn):
    import torch

    for lr in (1e-3, 0.02):                     # a second lr: numbers written into the function are caught
        body, head = _toy_body_head()
        call = f"make_optimizer(body, head, lr={lr:g})"
        try:
            opt = run(fn, body, head, lr, what=call)
        except LearnerError as err:
            if "more than one parameter group" in str(err):
                raise Incorrect(f"{call}: 같은 파라미터가 두 그룹에 들어 있습니다 (torch 가 거부합니다) — 그룹마다 다른 "
                                "모듈 (head 와 body) 의 파라미터를 넣으세요") from None
            raise
        if is_blank(opt):
            raise NotAttempted("빈칸 ____ 이 남아 있습니다")
        if isinstance(opt, (list, tuple)) and opt and isinstance(opt[0], dict):
            raise Incorrect(f"{call}: 파라미터 그룹의 list 를 돌려주었습니다 — 그 list 로 torch.optim.Adam(...) 을 만들어 "
                            "돌려주세요")
        if not isinstance(opt, torch.optim.Optimizer):
            raise Incorrect(f"{call}: torch.optim 의 옵티마이저를 돌려줘야 하는데 {type(opt).__name__} 입니다 — return 을 확인하세요")
        if not isinstance(opt, torch.optim.Adam):
            raise Incorrect(f"{call}: {type(opt).__name__} 옵티마이저입니다 — 문제는 Adam 입니다 (torch.optim.Adam)")
        lr_of = _lr_of(opt, call)
        head_lrs = {lr_of.get(id(p)) for p in head.parameters()}
        body_lrs = {lr_of.get(id(p)) for p in body.parameters()}
        if None in head_lrs or None in body_lrs:
            part = "head" if None in head_lrs else "body"
            raise Incorrect(f"{call}: {part} 의 파라미터가 옵티마이저에 없습니다 — 두 그룹 모두 .parameters() 를 넣었는지 보세요")
        if len(head_lrs) != 1 or len(body_lrs) != 1:
            raise Incorrect(f"{call}: 한 모듈의 파라미터가 서로 다른 학습률로 나뉘었습니다 — head 한 그룹, body 한 그룹이면 됩니다")
        (h,), (b,) = head_lrs, body_lrs
        if abs(h - b) <= 1e-12 * max(h, 1e-12):
            raise Incorrect(f"{call}: body 와 head 의 학습률이 둘 다 {h:g} 로 같습니다 — 파라미터 그룹마다 'lr' 을 따로 주세요")
        if b > h:
            raise Incorrect(f"{call}: body 의 학습률 ({b:g}) 이 head ({h:g}) 보다 큽니다 — 두 그룹의 학습률이 뒤바뀌었습니다. "
                            "사전 학습된 body 가 더 작은 학습률을 받습니다")
        if abs(h - lr) > 1e-9 * lr:
            if lr != 1e-3 and abs(h - 1e-3) < 1e-12:
                raise Incorrect(f"{call}: head 의 학습률이 lr 인자와 상관없이 0.001 입니다 — 숫자를 적지 말고 인자 lr 을 쓰세요")
            raise Incorrect(f"{call}: head 그룹의 학습률이 {h:g} 입니다 — head 는 인자 lr 을 그대로 씁니다")
        ratio = b / h
        if abs(ratio - 0.1) > 1e-6:
            if lr != 1e-3 and abs(b - 1e-4) < 1e-12:
                raise Incorrect(f"{call}: body 의 학습률이 lr 인자와 상관없이 0.0001 입니다 — 숫자를 적지 말고 lr 로 계산하세요")
            raise Incorrect(f"{call}: body 의 학습률이 head 의 {ratio:.3g} 배입니다 — 문제에서 말한 비율을 다시 보세요")


q3 = Exercise(
    "04-3", "차등 학습률: 옵티마이저 파라미터 그룹", "make_optimizer", _test_make_optimizer,
    hints=["torch.optim.Adam 에 파라미터 대신 dict 의 list 를 줄 수 있습니다: [{'params': ..., 'lr': ...}, ...]. "
           "dict 마다 자기 학습률을 가집니다.",
           "head 그룹은 'lr': lr 그대로, body 그룹은 lr 보다 10배 작게 — 숫자를 적지 말고 인자 lr 로 계산합니다.",
           "{'params': body.parameters(), 'lr': lr / 10}"],
    template='''def make_optimizer(body, head, lr):
    """head 는 학습률 lr, 사전 학습된 body 는 lr / 10 으로 학습하는 Adam 옵티마이저"""
    groups = [
        {"params": head.parameters(), "lr": lr},
        {"params": body.parameters(), "lr": ____},
    ]
    return torch.optim.Adam(groups)''',
    solution='''def make_optimizer(body, head, lr):
    """head 는 학습률 lr, 사전 학습된 body 는 lr / 10 으로 학습하는 Adam 옵티마이저"""
    groups = [
        {"params": head.parameters(), "lr": lr},
        {"params": body.parameters(), "lr": lr / 10},
    ]
    return torch.optim.Adam(groups)''',
    wrong=[('''def make_optimizer(body, head, lr):
    return torch.optim.Adam([*body.parameters(), *head.parameters()], lr=lr)''', "같습니다"),
           ('''def make_optimizer(body, head, lr):
    return torch.optim.Adam([{"params": head.parameters(), "lr": lr / 10},
                             {"params": body.parameters(), "lr": lr}])''', "뒤바뀌었습니다"),
           ('''def make_optimizer(body, head, lr):
    return torch.optim.Adam([{"params": head.parameters(), "lr": lr},
                             {"params": body.parameters(), "lr": lr / 100}])''', "비율")],
    context=lambda: {"torch": __import__("torch")},
)


# --------------------------------------------------------------------------- 04-4 BatchNorm in eval mode

def _toy_three_parts():
    import torch
    from torch import nn

    torch.manual_seed(0)
    frozen = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
    rest = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.2),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten())
    model = nn.Sequential(frozen, rest, nn.Linear(4, 2))
    for p in frozen.parameters():
        p.requires_grad = False
    return model, frozen, rest


def _record_mode_calls(model):
    """Wrap every module's ``train`` (``eval()`` calls it too) to log ``(module, mode)`` in call order."""
    from torch import nn

    log = []
    for m in model.modules():
        def train(mode=True, _m=m):
            log.append((_m, bool(mode)))
            return nn.Module.train(_m, mode)
        m.train = train
    return log


def _test_train_mode(fn):
    import torch
    from torch import nn

    model, frozen, rest = _toy_three_parts()
    model.eval()                                    # as after an evaluation
    log = _record_mode_calls(model)
    run(fn, model, frozen, what="train_mode(model, frozen)")
    norm = (nn.BatchNorm2d, nn.Dropout)
    frozen_bn = [m for m in frozen.modules() if isinstance(m, nn.BatchNorm2d)]
    rest_bn = [m for m in rest.modules() if isinstance(m, norm)]
    inside = {id(m) for m in frozen.modules()}
    model_trained = any(m is model and mode for m, mode in log)
    frozen_evaled = [i for i, (m, mode) in enumerate(log) if id(m) in inside and not mode]
    retrained = frozen_evaled and any(id(m) in inside and mode for m, mode in log[frozen_evaled[0]:])
    if not model_trained and not any(m.training for m in rest_bn):
        raise Incorrect("model.train() 을 부르지 않아 model 전체가 eval 모드로 남았습니다 — 학습하는 부분 (frozen 밖) 은 "
                        "train 모드여야 합니다")
    if not all(m.training for m in rest_bn):
        if any(m.training for m in frozen_bn):
            raise Incorrect("거꾸로입니다: 학습하는 부분이 eval 모드이고 고정한 부분 frozen 이 train 모드입니다 — eval 로 "
                            "되돌릴 것은 고정한 쪽입니다")
        if not any(m.training for m in model.modules()):
            raise Incorrect("model.train() 뒤에 model 의 모든 모듈을 eval 로 바꿨습니다 (model.modules() 전체) — 그러면 "
                            "학습하는 층의 BatchNorm·Dropout 도 멈춥니다. eval 로 둘 것은 frozen 안의 모듈뿐입니다")
        raise Incorrect("학습하는 부분 (frozen 밖) 의 BatchNorm 까지 eval 모드입니다 — 학습하는 stage 의 BatchNorm 은 "
                        "train 모드로 두어 우리 데이터의 통계를 배우게 합니다. frozen 안의 것만 eval 로")
    if any(m.training for m in frozen_bn):
        bn = frozen_bn[0]
        before = bn.running_mean.clone()
        with torch.no_grad():
            model(torch.randn(8, 3, 8, 8, generator=torch.Generator().manual_seed(1)) + 2.0)
        moved = " — 그래서 forward 한 번에 고정한 BatchNorm 의 running_mean 이 바뀌었습니다" \
            if not torch.equal(before, bn.running_mean) else ""
        if retrained:
            raise Incorrect("frozen 을 eval 로 바꾼 뒤에 model.train() 이 불려서 frozen 이 다시 train 모드가 되었습니다"
                            f"{moved}. model.train() 은 모든 하위 모듈을 바꿉니다 — 순서를 보세요")
        raise Incorrect(f"frozen 이 아직 train 모드입니다 (frozen 안의 BatchNorm 의 training == True){moved}. "
                        "requires_grad=False 는 기울기만 막고, running 통계는 train 모드의 forward 마다 바뀝니다")
    if not model.training:
        raise Incorrect("model 자체가 train 모드가 아닙니다 (model.training == False) — 학습 루프가 보는 model 의 "
                        "모드도 train 이어야 합니다")


q4 = Exercise(
    "04-4", "고정한 부분의 BatchNorm 은 eval 모드로", "train_mode", _test_train_mode,
    hints=["requires_grad = False 는 기울기만 막습니다. BatchNorm 의 running_mean/var 는 train 모드의 forward 마다 바뀝니다.",
           "model.train() 은 모든 하위 모듈을 train 모드로 바꿉니다. 그다음에 고정한 부분만 다시 eval 모드로 돌려놓으세요.",
           "for 문이 돌 대상은 frozen 하나를 담은 list, 또는 frozen.modules() 입니다 (m.eval() 은 그 안의 층을 모두 eval 로)"],
    template='''def train_mode(model, frozen):
    """model 을 학습 모드로 두되, 고정한 부분 frozen 은 eval 모드로 둡니다."""
    model.train()
    for m in ____:          # eval 모드로 되돌릴 모듈들
        m.eval()
    return model''',
    solution='''def train_mode(model, frozen):
    """model 을 학습 모드로 두되, 고정한 부분 frozen 은 eval 모드로 둡니다."""
    model.train()
    for m in [frozen]:      # frozen.eval() 은 그 안의 모든 층을 eval 모드로 바꿉니다
        m.eval()
    return model''',
    wrong=[('''def train_mode(model, frozen):
    model.train()
    for p in frozen.parameters():
        p.requires_grad = False
    return model''', "running_mean"),
           ('''def train_mode(model, frozen):
    frozen.eval()
    model.train()
    return model''', "순서"),
           ('''def train_mode(model, frozen):
    model.eval()
    return model''', "model.train() 을 부르지 않아"),
           ('''def train_mode(model, frozen):
    model.train()
    for m in model.modules():
        m.eval()
    return model''', "모든 모듈을 eval")],
)


# --------------------------------------------------------------------------- challenge: a plan for a new dataset

CHALLENGE_DATASET = "병원 검사실의 현미경 세포 사진 600장 (염색한 혈액 세포, 5종류)"


def _test_finetune_plan(fn):
    import torch

    for n_stages, lr, start in ((4, 1e-3, False), (5, 3e-3, False), (4, 1e-3, True)):
        body, head = _toy_stages(n_stages)
        for p in [*body.parameters(), *head.parameters()]:
            p.requires_grad = start
        call = f"finetune_plan(body, head, lr={lr:g})  # stage {n_stages}개"
        opt = run(fn, body, head, lr, what=call)
        if is_blank(opt):
            raise NotAttempted("빈칸 ____ 이 남아 있습니다")
        if not isinstance(opt, torch.optim.Optimizer):
            raise Incorrect(f"{call}: 옵티마이저 (torch.optim.Adam(...)) 를 돌려줘야 하는데 {type(opt).__name__} 입니다")
        stages = [list(s.parameters()) for s in body]
        partly = [i for i, ps in enumerate(stages) if len({p.requires_grad for p in ps}) > 1]
        if partly:
            raise Incorrect(f"{call}: stage {partly[0]} 의 파라미터 일부만 풀렸습니다 — stage 는 통째로 풀거나 고정합니다")
        if not all(p.requires_grad for p in head.parameters()):
            raise Incorrect(f"{call}: head 가 고정되어 있습니다 — 새 분류기는 어느 전략에서나 학습합니다")
        open_ = [i for i, ps in enumerate(stages) if ps[0].requires_grad]
        last_two = [n_stages - 2, n_stages - 1]
        if open_ != last_two:
            if start and len(open_) == n_stages:
                raise Incorrect(f"{call}: 처음부터 모든 파라미터가 requires_grad=True 인 모델에서는 앞쪽 stage 까지 풀린 채로 "
                                "남았습니다 — 풀기 전에 먼저 전부 고정 (requires_grad=False) 하세요")
            if not open_:
                raise Incorrect(f"{call}: 분류기만 학습합니다 (몸통 전체 고정) — 표에서 이 데이터셋의 칸을 다시 찾으세요: "
                                "세포 사진이 ImageNet 의 물체·동물 사진과 닮았나요?")
            if len(open_) == n_stages:
                raise Incorrect(f"{call}: 모델 전체를 학습합니다 — 표에서 이 데이터셋의 크기를 다시 보세요: 600장은 작은 "
                                "데이터셋인가요, 큰 데이터셋인가요?")
            if open_ == [n_stages - 1]:
                raise Incorrect(f"{call}: 마지막 stage 하나만 풀었습니다 — 그것은 '크다 · 비슷하다' 칸의 답입니다. "
                                "이 데이터셋의 크기와 ImageNet 과의 유사성을 다시 보세요")
            if n_stages - 1 not in open_:
                raise Incorrect(f"{call}: 마지막 stage 가 고정되어 있고 그 앞의 stage 가 풀렸습니다 — stage 수가 달라도 "
                                "맞도록 뒤에서부터 세는 음수 인덱스를 쓰세요")
            raise Incorrect(f"{call}: 풀린 stage 가 {open_} 입니다 — 고른 전략이 푸는 stage 만, 뒤에서부터 푸세요")
        lr_of = _lr_of(opt, call)
        frozen_in = [i for i, ps in enumerate(stages) if i not in open_ and any(id(p) in lr_of for p in ps)]
        if frozen_in:
            raise Incorrect(f"{call}: 고정한 stage {frozen_in[0]} 의 파라미터가 옵티마이저에 있습니다 — 학습할 stage 와 head 의 "
                            "파라미터만 그룹에 넣으세요")
        if any(id(p) not in lr_of for p in head.parameters()):
            raise Incorrect(f"{call}: head 의 파라미터가 옵티마이저에 없습니다 — 분류기 그룹을 넣으세요")
        lrs = {}
        for name, ps in [("head", list(head.parameters()))] + [(f"stage {i}", stages[i]) for i in open_]:
            got = {lr_of.get(id(p)) for p in ps}
            if None in got:
                raise Incorrect(f"{call}: {name} 의 파라미터가 옵티마이저에 없습니다 — 푼 stage 마다 그룹을 하나씩 넣으세요")
            if len(got) != 1:
                raise Incorrect(f"{call}: {name} 의 파라미터가 서로 다른 학습률로 나뉘었습니다 — 한 stage 는 한 그룹입니다")
            lrs[name] = got.pop()
        h, s_last, s_prev = lrs["head"], lrs[f"stage {open_[-1]}"], lrs[f"stage {open_[0]}"]
        if abs(h - lr) > 1e-9 * lr:
            raise Incorrect(f"{call}: head 그룹의 학습률이 {h:g} 입니다 — head 는 인자 lr 을 그대로 씁니다 (숫자를 적지 마세요)")
        if abs(s_last - h) <= 1e-12 and abs(s_prev - h) <= 1e-12:
            raise Incorrect(f"{call}: 모든 그룹의 학습률이 {h:g} 로 같습니다 — 차등 학습률: 사전 학습된 stage 일수록 작게")
        if s_prev > s_last:
            raise Incorrect(f"{call}: 앞쪽 stage 의 학습률 ({s_prev:g}) 이 뒤쪽 stage ({s_last:g}) 보다 큽니다 — 거꾸로입니다. "
                            "앞쪽 (일반적인) stage 일수록 덜 바꿉니다")
        if abs(s_prev - s_last) <= 1e-12 * max(s_last, 1e-12):
            raise Incorrect(f"{call}: 푼 두 stage 의 학습률이 {s_last:g} 로 같습니다 — 한 stage 앞으로 갈 때마다 다시 × 0.1")
        for name, want in ((f"stage {open_[-1]}", 0.1), (f"stage {open_[0]}", 0.01)):
            if abs(lrs[name] / h - want) > 1e-6:
                raise Incorrect(f"{call}: {name} 의 학습률이 head 의 {lrs[name] / h:.3g} 배입니다 — 분류기에서 한 stage "
                                "앞으로 갈 때마다 × 0.1 입니다")


challenge = Exercise(
    "04-C", f"새 데이터셋 ({CHALLENGE_DATASET}) 의 미세 조정 계획", "finetune_plan", _test_finetune_plan,
    hints=["먼저 데이터셋 설명에서 두 가지를 정하세요: 600장은 작은가 큰가, 현미경 세포 사진은 ImageNet 과 닮았나? "
           "그다음 4절 표에서 그 칸이 무엇을 풀라고 하는지 읽습니다.",
           "순서: 모든 파라미터 고정 → 고른 전략의 stage (뒤에서부터) 와 head 풀기 → 그룹: head 는 lr, 바로 앞 stage 는 "
           "lr × 0.1, 그 앞 stage 는 lr × 0.01. 고정한 stage 는 옵티마이저에 넣지 않습니다.",
           "작다·다르다 → 마지막 두 stage: for p in [*body[-2].parameters(), *body[-1].parameters(), "
           "*head.parameters()]: p.requires_grad = True  그리고  torch.optim.Adam([{'params': head.parameters(), "
           "'lr': lr}, {'params': body[-1].parameters(), 'lr': lr * 0.1}, {'params': body[-2].parameters(), "
           "'lr': lr * 0.01}])"],
    template=f'''# 도전: 새 데이터셋 = {CHALLENGE_DATASET}
# 1) 교과서 4절의 표로 무엇을 풀지 정하고  2) requires_grad 를 맞추고
# 3) 푼 부분만 차등 학습률 그룹으로: head 는 lr, 한 stage 앞으로 갈 때마다 × 0.1
def finetune_plan(body, head, lr):
    """body: stage 들의 nn.Sequential, head: 새 분류기. 돌려주는 값: torch.optim.Adam"""
    for p in [*body.parameters(), *head.parameters()]:
        p.requires_grad = False
    train_stages = ____                 # 풀 stage 들 (앞 → 뒤), 예: [body[-1]]
    for p in [*head.parameters(), *(q for s in train_stages for q in s.parameters())]:
        p.requires_grad = True
    groups = [{{"params": head.parameters(), "lr": lr}}]
    for k, stage in enumerate(reversed(train_stages), start=1):   # 뒤에서 k 번째 stage
        groups.append({{"params": stage.parameters(), "lr": ____}})
    return torch.optim.Adam(groups)''',
    solution=f'''# 도전: 새 데이터셋 = {CHALLENGE_DATASET}
# 1) 교과서 4절의 표로 무엇을 풀지 정하고  2) requires_grad 를 맞추고
# 3) 푼 부분만 차등 학습률 그룹으로: head 는 lr, 한 stage 앞으로 갈 때마다 × 0.1
def finetune_plan(body, head, lr):
    """body: stage 들의 nn.Sequential, head: 새 분류기. 돌려주는 값: torch.optim.Adam"""
    for p in [*body.parameters(), *head.parameters()]:
        p.requires_grad = False
    train_stages = [body[-2], body[-1]]  # 작다 · ImageNet 과 다르다 → 마지막 두 stage + 분류기
    for p in [*head.parameters(), *(q for s in train_stages for q in s.parameters())]:
        p.requires_grad = True
    groups = [{{"params": head.parameters(), "lr": lr}}]
    for k, stage in enumerate(reversed(train_stages), start=1):   # 뒤에서 k 번째 stage
        groups.append({{"params": stage.parameters(), "lr": lr * 0.1 ** k}})
    return torch.optim.Adam(groups)''',
    wrong=[('''def finetune_plan(body, head, lr):
    for p in [*body.parameters(), *head.parameters()]:
        p.requires_grad = False
    for p in head.parameters():
        p.requires_grad = True
    return torch.optim.Adam(head.parameters(), lr=lr)''', "분류기만"),
           ('''def finetune_plan(body, head, lr):
    for p in [*body.parameters(), *head.parameters()]:
        p.requires_grad = False
    for p in [*body[-2].parameters(), *body[-1].parameters(), *head.parameters()]:
        p.requires_grad = True
    return torch.optim.Adam([*body[-2].parameters(), *body[-1].parameters(), *head.parameters()], lr=lr)''',
            "모든 그룹의 학습률")],
    context=lambda: {"torch": __import__("torch")},
)

EXERCISES = [q1, q2, q3, q4, challenge]
quiz = Quiz("04")
