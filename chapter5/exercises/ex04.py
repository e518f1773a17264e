"""Exercises of notebook 04 (fine-tuning): notebooks/04_fine_tuning.ipynb."""
from __future__ import annotations

from .core import Exercise, Incorrect, NotAttempted, expect_number, is_blank, run
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


def _test_choices(answer):
    if not isinstance(answer, dict):
        raise Incorrect(f"choices 는 {{'A': 'head', ...}} 같은 dict 여야 하는데 {type(answer).__name__} 입니다")
    missing = [k for k in SITUATIONS if k not in answer]
    if missing:
        raise Incorrect(f"상황 {', '.join(missing)} 의 답이 없습니다 — 네 상황 A, B, C, D 를 모두 채우세요")
    if any(is_blank(answer[k]) for k in SITUATIONS):
        raise NotAttempted("choices 에 빈칸 ____ 이 남아 있습니다")
    for key, (size, sim, text) in SITUATIONS.items():
        got = answer[key]
        want = _TABLE[(size, sim)]
        if got not in _CELL:
            raise Incorrect(f"상황 {key}: {got!r} — 답은 'head', 'last', 'last2', 'all' 중 하나입니다")
        if got == want:
            continue
        g_size, g_sim = _CELL[got]
        where = f"상황 {key} ({text}): {got!r} 는 '데이터셋이 {_SIZE[g_size]} · {_SIM[g_sim]}' 칸의 답입니다"
        if g_size != size and g_sim == sim:
            raise Incorrect(f"{where} — 데이터셋 크기를 다시 보세요 (이 데이터셋은 {_SIZE[size]})")
        if g_sim != sim and g_size == size:
            raise Incorrect(f"{where} — ImageNet 과의 유사성을 다시 보세요 (ImageNet 과 {_SIM[sim]})")
        raise Incorrect(f"{where} — 크기와 유사성을 둘 다 다시 보세요")


q1 = Exercise(
    "04-1", "상황에 맞게 무엇을 풀어 줄지 고르기", "choices", _test_choices,
    hints=["먼저 상황마다 두 가지를 정하세요: 데이터셋이 작은가 큰가, ImageNet (사진 속 물체·동물) 과 비슷한가 다른가.",
           "작다·비슷하다 → 'head', 크다·비슷하다 → 'last', 작다·다르다 → 'last2', 크다·다르다 → 'all'.",
           "엑스레이와 위성 사진은 ImageNet 과 다르고, 개 품종과 고양이·개는 비슷합니다."],
    template='''# 상황마다 "head" (분류기만), "last" (마지막 stage + 분류기), "last2" (마지막 두 stage + 분류기),
# "all" (모델 전체) 중 하나를 고르세요.
choices = {
    "A": ____,   # 흑백 흉부 엑스레이 300장으로 폐렴 여부 분류
    "B": ____,   # 개 품종 사진 5만 장으로 120 품종 분류
    "C": ____,   # 고양이·개 사진 400장으로 고양이 vs 개
    "D": ____,   # 위성 사진 10만 장으로 지형 10종류 분류
}''',
    solution='''# 상황마다 "head" (분류기만), "last" (마지막 stage + 분류기), "last2" (마지막 두 stage + 분류기),
# "all" (모델 전체) 중 하나를 고르세요.
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


# --------------------------------------------------------------------------- 04-2 parameter groups

def _toy_body_head():
    import torch
    from torch import nn

    torch.manual_seed(0)
    body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return body, nn.Linear(8, 2)


def _test_make_optimizer(fn):
    import torch

    body, head = _toy_body_head()
    lr = 1e-3
    opt = run(fn, body, head, lr, what="make_optimizer(body, head, lr=1e-3)")
    if not isinstance(opt, torch.optim.Optimizer):
        raise Incorrect(f"make_optimizer 는 torch.optim 의 옵티마이저를 돌려줘야 하는데 {type(opt).__name__} 입니다 "
                        "— return 을 확인하세요")
    lr_of = {}
    for g in opt.param_groups:
        for p in g["params"]:
            if id(p) in lr_of:
                raise Incorrect("같은 파라미터가 두 그룹에 들어 있습니다 — 그룹마다 다른 모듈의 파라미터를 넣으세요")
            lr_of[id(p)] = g["lr"]
    head_lrs = {lr_of.get(id(p)) for p in head.parameters()}
    body_lrs = {lr_of.get(id(p)) for p in body.parameters()}
    if None in head_lrs or None in body_lrs:
        part = "head" if None in head_lrs else "body"
        raise Incorrect(f"{part} 의 파라미터가 옵티마이저에 없습니다 — 두 그룹 모두 .parameters() 를 넣었는지 보세요")
    if len(head_lrs) != 1 or len(body_lrs) != 1:
        raise Incorrect("한 모듈의 파라미터가 서로 다른 학습률로 나뉘었습니다 — head 한 그룹, body 한 그룹이면 됩니다")
    (h,), (b,) = head_lrs, body_lrs
    if abs(h - b) < 1e-12:
        raise Incorrect(f"body 와 head 의 학습률이 둘 다 {h:g} 로 같습니다 — 파라미터 그룹마다 'lr' 을 따로 주세요")
    if b > h:
        raise Incorrect(f"body 의 학습률 ({b:g}) 이 head ({h:g}) 보다 큽니다 — 사전 학습된 body 에 더 작은 학습률을 줍니다")
    expect_number(h, lr, "head 그룹의 학습률", why="head 는 lr 그대로 씁니다")
    expect_number(b, lr / 10, "body 그룹의 학습률", why="body 는 lr 의 1/10 (lr / 10) 입니다")


q2 = Exercise(
    "04-2", "차등 학습률: 옵티마이저 파라미터 그룹", "make_optimizer", _test_make_optimizer,
    hints=["torch.optim.Adam 에 파라미터 대신 dict 의 list 를 줄 수 있습니다: [{'params': ..., 'lr': ...}, ...].",
           "head 그룹은 'lr': lr, body 그룹은 'lr': lr / 10 입니다.",
           "torch.optim.Adam([{'params': head.parameters(), 'lr': lr}, "
           "{'params': body.parameters(), 'lr': lr / 10}])"],
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
                             {"params": body.parameters(), "lr": lr}])''', "더 작은 학습률"),
           ('''def make_optimizer(body, head, lr):
    return torch.optim.Adam([{"params": head.parameters(), "lr": lr},
                             {"params": body.parameters(), "lr": lr / 100}])''', "lr / 10")],
    context=lambda: {"torch": __import__("torch")},
)


# --------------------------------------------------------------------------- 04-3 BatchNorm in eval mode

def _toy_three_parts():
    import torch
    from torch import nn

    torch.manual_seed(0)
    frozen = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
    rest = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten())
    model = nn.Sequential(frozen, rest, nn.Linear(4, 2))
    for p in frozen.parameters():
        p.requires_grad = False
    return model, frozen, rest


def _test_train_mode(fn):
    import torch
    from torch import nn

    model, frozen, rest = _toy_three_parts()
    model.eval()
    run(fn, model, frozen, what="train_mode(model, frozen)")
    if not model.training or not rest.training:
        raise Incorrect("model 이 train 모드가 아닙니다 — 먼저 model.train() 을 부르세요 (학습하는 부분은 train 모드)")
    bn_frozen = next(m for m in frozen.modules() if isinstance(m, nn.BatchNorm2d))
    bn_rest = next(m for m in rest.modules() if isinstance(m, nn.BatchNorm2d))
    before_f, before_r = bn_frozen.running_mean.clone(), bn_rest.running_mean.clone()
    with torch.no_grad():
        model(torch.randn(8, 3, 8, 8, generator=torch.Generator().manual_seed(1)) + 2.0)
    if any(m.training for m in frozen.modules()):
        moved = not torch.equal(before_f, bn_frozen.running_mean)
        raise Incorrect("frozen 이 아직 train 모드입니다 (frozen.training == True)"
                        + (" — 그래서 고정한 BatchNorm 의 running_mean 이 바뀌었습니다" if moved else "")
                        + ". requires_grad=False 로는 막지 못합니다: model.train() 뒤에 frozen.eval() 을 부르세요")
    if not bn_rest.training or torch.equal(before_r, bn_rest.running_mean):
        raise Incorrect("학습하는 부분 (frozen 이 아닌 층) 의 BatchNorm 까지 eval 모드입니다 — frozen 만 eval() 로 두세요")


q3 = Exercise(
    "04-3", "고정한 부분의 BatchNorm 은 eval 모드로", "train_mode", _test_train_mode,
    hints=["requires_grad = False 는 기울기만 막습니다. running_mean/var 는 train 모드의 forward 마다 바뀝니다.",
           "model.train() 은 모든 하위 모듈을 train 모드로 바꿉니다. 그다음에 고정한 부분만 다시 eval 모드로 돌려놓으세요.",
           "for m in [frozen]:  (또는 frozen.modules())  →  m.eval()"],
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
    return model''', "model.train() 뒤에"),
           ('''def train_mode(model, frozen):
    model.eval()
    return model''', "train 모드가 아닙니다")],
)


# --------------------------------------------------------------------------- 04-4 counting trainable parameters

def _toy_stages():
    from torch import nn

    body = nn.Sequential(
        nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8)),            # 216 + 16
        nn.Sequential(nn.Conv2d(8, 16, 3, bias=False), nn.BatchNorm2d(16)),           # 1152 + 32
        nn.Sequential(nn.Conv2d(16, 32, 3, bias=False), nn.BatchNorm2d(32)),          # 4608 + 64
    )
    return body, nn.Linear(32, 2)                                                      # 66


def _test_unfreeze_last(fn):
    body, head = _toy_stages()
    got = run(fn, body, head, what="unfreeze_last(body, head)")
    n_last = sum(p.numel() for p in body[-1].parameters())
    n_head = sum(p.numel() for p in head.parameters())
    n_all = sum(p.numel() for p in body.parameters()) + n_head
    n_tensors = len([*body[-1].parameters(), *head.parameters()])
    flags_ok = all(p.requires_grad for p in [*body[-1].parameters(), *head.parameters()]) and \
        not any(p.requires_grad for s in body[:-1] for p in s.parameters())
    if is_blank(got):
        raise NotAttempted("n_train 에 빈칸 ____ 이 남아 있습니다")
    if not flags_ok:
        if any(p.requires_grad for s in body[:-1] for p in s.parameters()):
            raise Incorrect("마지막 stage 앞의 stage 도 requires_grad=True 입니다 — body[-1] 만 풀어 주세요")
        if not all(p.requires_grad for p in head.parameters()):
            raise Incorrect("head 의 파라미터가 고정되어 있습니다 — 마지막 stage 와 head 를 함께 풀어 주세요")
        raise Incorrect("마지막 stage (body[-1]) 의 파라미터가 고정되어 있습니다 — 그 파라미터의 requires_grad 를 True 로")
    try:
        value = float(got)
    except (TypeError, ValueError):
        raise Incorrect(f"학습 파라미터 수는 정수여야 하는데 {type(got).__name__} 을(를) 받았습니다") from None
    if value == n_all:
        raise Incorrect(f"{int(value):,} 는 모든 파라미터의 수입니다 — requires_grad 가 True 인 것만 세세요")
    if value == n_last:
        raise Incorrect(f"{int(value):,} 는 마지막 stage 만의 수입니다 — head 의 파라미터 ({n_head}) 도 학습합니다")
    if value == n_tensors:
        raise Incorrect(f"{int(value)} 는 파라미터 텐서의 개수입니다 — 원소 수 p.numel() 을 더하세요")
    expect_number(got, n_last + n_head, "unfreeze_last 가 돌려준 학습 파라미터 수", atol=0.5, rtol=0,
                  why="마지막 stage 와 head 의 p.numel() 합")


q4 = Exercise(
    "04-4", "마지막 stage 를 풀고 학습 파라미터 세기", "unfreeze_last", _test_unfreeze_last,
    hints=["body[-1] 이 마지막 stage 입니다. 그 파라미터와 head 의 파라미터를 한 list 로 모을 수 있습니다: "
           "[*body[-1].parameters(), *head.parameters()]",
           "학습 파라미터 수 = requires_grad 가 True 인 파라미터의 p.numel() 합입니다 (텐서 개수가 아니라 원소 수).",
           "sum(p.numel() for p in model_params if p.requires_grad) — model_params 는 body 와 head 의 파라미터 전부"],
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

EXERCISES = [q1, q2, q3, q4]
quiz = Quiz("04")
