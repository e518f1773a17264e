"""Transfer-learning plumbing of notebooks 03-04 (the plain code of each helper is in the notebooks:
see each docstring for the section that first shows it in full).

* :func:`body_stages` cuts a pretrained backbone into named stages, early -> late
  (ResNet18: stem, layer1..layer4; EfficientNet-Lite0: stem, stage1..stage7), so
  that "train only the last stage" means the same thing for both backbones;
* :func:`set_trainable` freezes everything before a stage (the fine-tuning quadrants);
* :func:`cache_features` runs a frozen part **once** and keeps its outputs, so that
  the trainable part can be trained for many epochs without re-running it;
* :class:`TransferModel` = frozen prefix (always in eval mode) + trainable rest + head;
* :func:`param_groups` gives discriminative learning rates (smaller for earlier stages).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import nn

# The quadrants of the textbook's table (dataset size x similarity to ImageNet).
QUADRANTS = {
    ("small", "similar"): ("head", "분류기 (classifier head) 만 학습 — 특성 추출 (feature extraction)"),
    ("large", "similar"): ("last", "합성곱층의 뒷부분 (마지막 stage) + 분류기 학습"),
    ("small", "dissimilar"): ("last2", "합성곱층의 일부분 (마지막 두 stage) + 분류기 학습"),
    ("large", "dissimilar"): ("all", "모델 전체를 재학습"),
}
SIZE_LABELS = {"small": "데이터셋이 작다", "large": "데이터셋이 크다"}
SIMILARITY_LABELS = {"similar": "사전 학습 데이터와 비슷하다", "dissimilar": "사전 학습 데이터와 다르다"}


class _EffBlock(nn.Module):
    """An EfficientNet MBConv block with its fixed drop-connect rate (as in ``extract_features``)."""

    def __init__(self, block: nn.Module, rate: float):
        super().__init__()
        self.block, self.rate = block, rate

    def forward(self, x):
        return self.block(x, drop_connect_rate=self.rate)


def body_stages(bb) -> list:
    """``[(name, nn.Sequential), ...]``: the backbone body early -> late, without pooling and head.

    Running the stages in order gives the last feature map; ``pool()`` turns it into
    the feature vector the head sees. The stages share their parameters with ``bb.model``.
    """
    m = bb.model
    if bb.name == "resnet18":
        return [("stem", nn.Sequential(m.conv1, m.bn1, m.relu, m.maxpool))] + [
            (f"layer{i}", nn.Sequential(getattr(m, f"layer{i}"))) for i in range(1, 5)]
    # EfficientNet: blocks grouped by their repeats (one "stage" = blocks with the same output shape).
    base = m._global_params.drop_connect_rate or 0.0
    n = len(m._blocks)
    groups, stages = [], []
    for idx, block in enumerate(m._blocks):
        if idx == 0 or block._block_args.num_repeat != m._blocks[idx - 1]._block_args.num_repeat \
                or block._block_args.output_filters != m._blocks[idx - 1]._block_args.output_filters:
            groups.append([])
        groups[-1].append(_EffBlock(block, base * idx / n))
    stages.append(("stem", nn.Sequential(m._conv_stem, m._bn0, m._swish)))
    for i, g in enumerate(groups, start=1):
        stages.append((f"stage{i}", nn.Sequential(*g)))
    # the 1x1 "head" convolution to 1280 channels belongs to the last stage
    stages[-1] = (stages[-1][0], nn.Sequential(*stages[-1][1], m._conv_head, m._bn1, m._swish))
    return stages


def pool() -> nn.Module:
    """Global average pooling + flatten: last feature map -> feature vector."""
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())


def first_trainable(bb, which: str) -> int:
    """Index into :func:`body_stages` of the first trainable stage for 'head'/'last'/'last2'/'all'."""
    n = len(body_stages(bb))
    table = {"head": n, "last": n - 1, "last2": n - 2, "all": 0}
    if which not in table:
        raise ValueError(f"which must be one of {sorted(table)}, not {which!r}")
    return table[which]


def split(bb, k: int):
    """``(prefix, rest)``: stages ``[:k]`` (to be frozen) and stages ``[k:]`` + pooling."""
    stages = body_stages(bb)
    prefix = nn.Sequential(*[s for _, s in stages[:k]])
    rest = nn.Sequential(*[s for _, s in stages[k:]], pool())
    return prefix, rest


def set_trainable(bb, k: int) -> int:
    """Freeze stages ``[:k]``, unfreeze stages ``[k:]`` and the head; return the trainable count.

    노트북 04 §5 에서 처음 전체 코드를 보여 줍니다 (first shown in full in notebooks/04_fine_tuning.ipynb,
    section 5; freezing the whole body first: notebooks/03_feature_extraction.ipynb, section 5).
    """
    for p in bb.model.parameters():
        p.requires_grad = False
    for _, stage in body_stages(bb)[k:]:
        for p in stage.parameters():
            p.requires_grad = True
    for p in bb.head.parameters():
        p.requires_grad = True
    return sum(p.numel() for p in bb.model.parameters() if p.requires_grad)


class TransferModel(nn.Module):
    """``head(rest(prefix(x)))`` where ``prefix`` is frozen and **stays in eval mode**.

    ``requires_grad = False`` stops the weights from changing, but a BatchNorm layer in
    train mode still uses the batch statistics and overwrites its running mean/variance.
    ``train()`` therefore leaves the prefix in eval mode.

    노트북 04 §6 에서 처음 전체 코드를 보여 줍니다 (first shown in full in notebooks/04_fine_tuning.ipynb,
    section 6, and exercise 04-3).
    """

    def __init__(self, prefix: nn.Module, rest: nn.Module, head: nn.Module):
        super().__init__()
        self.prefix, self.rest, self.head = prefix, rest, head
        for p in self.prefix.parameters():
            p.requires_grad = False
        self.prefix.eval()

    def train(self, mode: bool = True):
        super().train(mode)
        self.prefix.eval()
        return self

    def forward(self, x):
        with torch.no_grad():
            x = self.prefix(x)
        return self.head(self.rest(x))


@dataclass
class Cached:
    """Outputs of a frozen module for a whole dataset, computed once."""

    x: torch.Tensor
    y: torch.Tensor
    seconds: float

    def dataset(self):
        return torch.utils.data.TensorDataset(self.x, self.y)

    def loader(self, batch_size: int = 32, shuffle: bool = False):
        return torch.utils.data.DataLoader(self.dataset(), batch_size=batch_size, shuffle=shuffle)

    def __len__(self):
        return len(self.y)


@torch.no_grad()
def cache_features(module: nn.Module, data, batch_size: int = 64, desc: str = "features",
                   progress: bool = True) -> Cached:
    """Run ``module`` (in eval mode) once over ``data`` (a DataLoader, a Dataset or a :class:`Cached`).

    노트북 03 §6 에서 처음 전체 코드를 보여 줍니다 (first shown in full in notebooks/03_feature_extraction.ipynb,
    section 6 (나)).
    """
    from tqdm.auto import tqdm

    if isinstance(data, Cached):
        data = data.dataset()
    if not isinstance(data, torch.utils.data.DataLoader):
        data = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=False)
    was_training = module.training
    module.eval()
    xs, ys = [], []
    start = time.perf_counter()
    for x, y in tqdm(data, desc=desc, unit="batch", disable=not progress):
        xs.append(module(x).float())
        ys.append(y)
    seconds = time.perf_counter() - start
    module.train(was_training)
    return Cached(torch.cat(xs), torch.cat(ys), seconds)


@torch.no_grad()
def cache_stages(bb, data, at=(), batch_size: int = 64, desc: str = "features", progress: bool = True) -> dict:
    """One pass of the frozen body over ``data``; keeps the input of every stage index in ``at``
    (for training stages ``[k:]`` later) and the pooled feature vectors (key ``"features"``).

    The pass runs in bf16 autocast with ``channels_last`` where the CPU computes bf16 natively (as
    :func:`chapter5.train.fit` trains; ``CHAPTER5_PRECISION=fp32`` turns it off): measured in
    docs/BENCHMARKS.md ("몸통 특성 캐시") against fp32. What it keeps is stored as fp32.

    The one-pass idea is :func:`cache_features` (notebooks/03_feature_extraction.ipynb, section 6 (나));
    its use for fine-tuning is shown in notebooks/04_fine_tuning.ipynb, sections 3 and 5."""
    from tqdm.auto import tqdm

    from .train import _autocast, precision_for

    if not isinstance(data, torch.utils.data.DataLoader):
        data = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=False)
    precision = precision_for(bb.model, "cpu")
    layout = torch.channels_last if precision == "bf16" else torch.contiguous_format
    stages = [s for _, s in body_stages(bb)]
    keep = {k: [] for k in at}
    feats, ys = [], []
    bb.model.eval()
    bb.model.to(memory_format=layout)
    start = time.perf_counter()
    try:
        with _autocast(precision, "cpu"):
            for x, y in tqdm(data, desc=desc, unit="batch", disable=not progress):
                x = x.contiguous(memory_format=layout) if x.dim() == 4 else x
                for i, stage in enumerate(stages):
                    if i in keep:
                        keep[i].append(x.float().contiguous())
                    x = stage(x)
                feats.append(pool()(x).float())
                ys.append(y)
    finally:
        bb.model.to(memory_format=torch.contiguous_format)
    seconds = time.perf_counter() - start
    y = torch.cat(ys)
    out = {k: Cached(torch.cat(v), y, seconds) for k, v in keep.items()}
    out["features"] = Cached(torch.cat(feats), y, seconds)
    return out


def concat(*cached: Cached) -> Cached:
    """Several :class:`Cached` sets (e.g. augmented views) as one."""
    return Cached(torch.cat([c.x for c in cached]), torch.cat([c.y for c in cached]),
                  sum(c.seconds for c in cached))


def param_groups(stages: list, head: nn.Module, lr: float, decay: float = 0.1) -> list:
    """Discriminative learning rates: ``lr`` for the head, ``lr * decay**i`` for the i-th trainable
    stage counted back from the head. Only stages with trainable parameters get a group.

    노트북 04 §5 에서 처음 전체 코드를 보여 줍니다 (first shown in full in notebooks/04_fine_tuning.ipynb,
    section 5: the optimizer with two parameter groups written by hand, and exercise 04-2).
    """
    groups = [{"params": [p for p in head.parameters() if p.requires_grad], "lr": lr, "name": "head"}]
    factor = 1.0
    for name, stage in reversed(stages):
        params = [p for p in stage.parameters() if p.requires_grad]
        if not params:
            continue
        factor *= decay
        groups.append({"params": params, "lr": lr * factor, "name": name})
    return groups


class InMemoryImages(torch.utils.data.Dataset):
    """A labelled image dataset decoded once and kept in memory (resized so the short side is
    ``short_side``); ``transform`` is applied on every access, so random augmentation still works."""

    def __init__(self, dataset, short_side: int = 256, transform=None):
        from torchvision.transforms import functional as F

        self.items = [(F.resize(img.convert("RGB"), short_side), label) for img, label in
                      (dataset[i] for i in range(len(dataset)))]
        self.transform = transform

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        img, label = self.items[i]
        return (self.transform(img) if self.transform else img), label

    def with_transform(self, transform) -> "InMemoryImages":
        new = object.__new__(InMemoryImages)
        new.items, new.transform = self.items, transform
        return new


def model_from(bb, k: int, head: nn.Module | None = None, num_classes: int = 2):
    """A trainable copy of stages ``[k:]`` + pooling + head, fed with the cached input of stage ``k``
    (with the pooled features when ``k == len(body_stages(bb))``). ``bb`` itself is not changed.

    Returns ``(model, named_stages)``; ``named_stages`` are the copied stages, for :func:`param_groups`.
    """
    import copy

    named = [(name, copy.deepcopy(stage)) for name, stage in body_stages(bb)[k:]]
    rest = nn.Sequential(*[s for _, s in named], pool()) if named else nn.Identity()
    head = copy.deepcopy(head) if head is not None else nn.Linear(bb.feature_dim, num_classes)
    model = nn.Sequential(rest, head)
    for p in model.parameters():
        p.requires_grad = True
    return model, named


def train_from(bb, k: int, train: Cached, test: Cached | None = None, *, epochs: int = 5, lr: float = 1e-3,
               decay: float = 0.1, head: nn.Module | None = None, num_classes: int = 2, batch_size: int = 32,
               seed: int = 0, desc: str = "fine-tune", progress: bool = True, val: Cached | None = None,
               patience: int | None = None):
    """Train stages ``[k:]`` + head on cached stage inputs with discriminative learning rates and a
    one-cycle schedule; return ``(model, history)``. Stages before ``k`` stay frozen (they made the cache).

    With ``val`` and ``patience``: early stopping instead of the schedule (constant learning rates,
    at most ``epochs``; the model keeps its best validation epoch, see :func:`chapter5.train.fit`).

    노트북 04 §5 에서 처음 전체 코드를 보여 줍니다 (first shown in full in notebooks/04_fine_tuning.ipynb,
    section 5: unfreeze, parameter groups and one epoch of the training loop on cached stage inputs).
    """
    from .config import seed_everything
    from .train import fit

    seed_everything(seed)
    model, named = model_from(bb, k, head, num_classes)
    groups = param_groups(named, model[1], lr, decay)
    optimizer = torch.optim.Adam(groups)
    g = torch.Generator().manual_seed(seed)
    train_set = _dataset(train)
    # drop a last batch of one sample: BatchNorm in train mode cannot normalise a single 1x1 map
    drop = len(train_set) % batch_size == 1
    loader = torch.utils.data.DataLoader(train_set, batch_size=batch_size, shuffle=True, generator=g,
                                         drop_last=drop)
    test_loader = None if test is None else torch.utils.data.DataLoader(_dataset(test), batch_size=128)
    val_loader = None if val is None else torch.utils.data.DataLoader(_dataset(val), batch_size=128)
    scheduler = None if patience is not None else torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=[gr["lr"] for gr in groups], total_steps=epochs * len(loader))
    hist = fit(model, loader, test_loader, epochs=epochs, optimizer=optimizer, scheduler=scheduler,
               seed=seed, desc=desc, progress=progress, val_loader=val_loader, patience=patience)
    return model, hist


def _dataset(d):
    return d.dataset() if isinstance(d, Cached) else d


def describe_quadrant(bb, size: str, similarity: str) -> dict:
    """Apply one quadrant of the textbook's table to ``bb`` (sets ``requires_grad``) and describe it."""
    if (size, similarity) not in QUADRANTS:
        raise ValueError(f"size must be 'small'/'large' and similarity 'similar'/'dissimilar', "
                         f"not {size!r}/{similarity!r}")
    which, text = QUADRANTS[(size, similarity)]
    stages = body_stages(bb)
    k = first_trainable(bb, which)
    trainable = set_trainable(bb, k)
    return {"size": size, "similarity": similarity, "which": which, "text": text, "k": k,
            "trainable_stages": [name for name, _ in stages[k:]], "frozen_stages": [name for name, _ in stages[:k]],
            "trainable": trainable, "total": sum(p.numel() for p in bb.model.parameters())}


def train_quadrant(bb, size: str, similarity: str, inputs: dict, epochs: int = 3, lr: float = 1e-3,
                   decay: float = 0.3, progress: bool = True):
    """Set the quadrant's trainable stages and train that configuration.

    ``inputs`` maps a stage index ``k`` (or ``"features"`` for head only) to ``(train, test)``: the cached
    inputs of stage ``k`` (:class:`Cached`) or, for ``k = 0``, image datasets. Returns ``(info, model, history)``.
    """
    info = describe_quadrant(bb, size, similarity)
    key = "features" if info["which"] == "head" else info["k"]
    if key not in inputs:
        raise ValueError(f"no cached inputs for stage {key}: cache them first (transfer.cache_stages)")
    train_data, test_data = inputs[key]
    model, hist = train_from(bb, info["k"], train_data, test_data, epochs=epochs, lr=lr, decay=decay,
                             desc=f"{size}/{similarity}: {info['which']} ({epochs} ep)", progress=progress)
    return info, model, hist


STRATEGIES = ("head", "last", "last2", "all")
STRATEGY_LABELS = {"head": "분류기만", "last": "마지막 stage", "last2": "마지막 두 stage", "all": "모델 전체"}
_SUBJECT = {"head": "이", "last": "가", "last2": "가", "all": "가"}  # 조사: 분류기만이, (마지막) stage 가, 전체가


def compare_strategies(bb, train, test, *, strategies=STRATEGIES, seeds=(0, 1, 2), epochs: int = 4,
                       lr: float = 1e-3, decay: float = 0.5, num_classes: int = 2, progress: bool = True,
                       desc: str = "", val=None, patience: int | None = None) -> list:
    """Train every strategy (``'head'``/``'last'``/``'last2'``/``'all'``) on the same data for every seed.

    ``train``/``test`` (and ``val``) are image datasets (tensors already transformed). The frozen part
    is run **once** (:func:`cache_stages`); each strategy then trains stages ``[k:]`` + a new head from
    the cached input of stage ``k`` with :func:`train_from` (same lr for all); ``'all'`` trains from the
    images themselves. Without ``val``: the
    same ``epochs`` and one-cycle schedule for every strategy, accuracy after the last epoch. With
    ``val`` and ``patience``: each run trains until the validation accuracy stops improving (at most
    ``epochs``) and its test accuracy is that of its best validation epoch.
    Returns ``[{"which", "seed", "acc", "seconds", "trainable", "epochs", "ran"}, ...]`` (``epochs``: the
    epoch kept, ``ran``: epochs trained). The setup it automates is shown in full in
    notebooks/04_fine_tuning.ipynb, section 5 (노트북 04 §5 에서 처음 전체 코드를 보여 줍니다).
    """
    from tqdm.auto import tqdm

    from .train import evaluate

    n_stages = len(body_stages(bb))
    ks = {w: first_trainable(bb, w) for w in strategies}
    at = tuple(sorted({k for k in ks.values() if 0 < k < n_stages}))   # stage 0's input: the images
    sets = {"train": train, "val": val, "test": test}
    cached = {name: cache_stages(bb, d, at=at, progress=False) for name, d in sets.items() if d is not None}

    def part(name, key):
        """What a strategy starting at stage ``key`` trains or is measured on (never a copy of the images)."""
        return None if sets[name] is None else sets[name] if key == 0 else cached[name][key]

    rows = []
    bar = tqdm([(w, s) for w in strategies for s in seeds], desc=desc or "strategies", unit="run",
               disable=not progress)
    for which, seed in bar:
        k = ks[which]
        key = "features" if k == n_stages else k
        va, te = part("val", key), part("test", key)
        model, hist = train_from(bb, k, part("train", key), None if va is not None else te, epochs=epochs,
                                 lr=lr, decay=decay, num_classes=num_classes, seed=seed, progress=False,
                                 val=va, patience=patience if va is not None else None)
        acc = (evaluate(model, torch.utils.data.DataLoader(_dataset(te), batch_size=128))[1] if va is not None
               else hist.final_test_acc)
        rows.append({"which": which, "seed": seed, "acc": acc, "seconds": hist.train_time,
                     "trainable": sum(p.numel() for p in model.parameters()),
                     "epochs": hist.best_epoch or len(hist.train_loss), "ran": len(hist.train_loss)})
        bar.set_postfix(which=which, acc=f"{acc:.3f}")
    return rows


def summarize(rows: list) -> dict:
    """``{which: (mean acc, std acc over seeds, mean seconds, trainable)}`` in the order of the rows."""
    out = {}
    for which in dict.fromkeys(r["which"] for r in rows):
        acc = torch.tensor([r["acc"] for r in rows if r["which"] == which], dtype=torch.float64)
        secs = [r["seconds"] for r in rows if r["which"] == which]
        std = acc.std().item() if len(acc) > 1 else 0.0
        out[which] = (acc.mean().item(), std, sum(secs) / len(secs),
                      next(r["trainable"] for r in rows if r["which"] == which))
    return out


def verdict(rows: list, pick: str) -> dict:
    """Does the textbook's ``pick`` win in one quadrant, beyond the seed spread?

    ``rows`` as :func:`compare_strategies` returns them. The rival is the best other strategy; the
    spread of their difference is ``sqrt(s_pick**2 + s_rival**2)`` (their standard deviations over
    seeds). ``outcome``: ``"wins"`` (the pick ahead by more than the spread), ``"loses"`` (the rival
    ahead by more than the spread) or ``"tie"`` (within the spread, or fewer than two seeds).
    Accuracies in %, ``gap`` = pick - rival in %p.
    """
    summ = summarize(rows)
    if pick not in summ:
        raise ValueError(f"{pick!r} was not measured: {sorted(summ)}")
    rival = max((w for w in summ if w != pick), key=lambda w: summ[w][0])
    gap = 100 * (summ[pick][0] - summ[rival][0])
    spread = 100 * (summ[pick][1] ** 2 + summ[rival][1] ** 2) ** 0.5
    seeds = len([r for r in rows if r["which"] == pick])
    outcome = "tie" if seeds < 2 else "wins" if gap > spread else "loses" if -gap > spread else "tie"
    return {"pick": pick, "rival": rival, "pick_acc": 100 * summ[pick][0], "rival_acc": 100 * summ[rival][0],
            "gap": gap, "spread": spread, "outcome": outcome, "seeds": seeds}


def verdict_sentence(v: dict) -> str:
    """One Korean sentence for :func:`verdict`'s result (every number from it)."""
    pick, rival = STRATEGY_LABELS[v["pick"]], STRATEGY_LABELS[v["rival"]]
    noise = f"{v['seeds']} 시드의 흔들림 ±{v['spread']:.1f} %p"
    if v["seeds"] < 2:
        return (f"시드가 {v['seeds']}개라 흔들림을 잴 수 없어 판정하지 않습니다 (교과서의 선택 {pick} {v['pick_acc']:.1f} %, "
                f"{rival} {v['rival_acc']:.1f} %).")
    if v["outcome"] == "wins":
        return (f"교과서의 선택 ({pick}, {v['pick_acc']:.1f} %) 이 이깁니다: 다음으로 높은 {rival} 보다 "
                f"{v['gap']:.1f} %p 높고, {noise} 밖입니다.")
    if v["outcome"] == "loses":
        return (f"교과서의 선택 ({pick}, {v['pick_acc']:.1f} %) 이 이기지 못했습니다: {rival} ({v['rival_acc']:.1f} %) "
                f"{_SUBJECT[v['rival']]} {-v['gap']:.1f} %p 높고, {noise} 밖입니다.")
    return (f"교과서의 선택 ({pick}, {v['pick_acc']:.1f} %) 과 {rival} ({v['rival_acc']:.1f} %) 의 차이 "
            f"{v['gap']:+.1f} %p 는 {noise} 안이라, 이 측정으로는 둘을 구별할 수 없습니다.")


def plot_strategies(results: dict, chance: dict | None = None):
    """One panel per quadrant ``{(size, similarity): rows}``: test accuracy of each strategy (mean ± std
    over seeds, dots = single seeds); the textbook's choice for that quadrant is outlined."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(2.7 * len(results), 3.6), squeeze=False)
    for ax, ((size, sim), rows) in zip(axes[0], results.items()):
        summ = summarize(rows)
        names = list(summ)
        means = [100 * summ[w][0] for w in names]
        stds = [100 * summ[w][1] for w in names]
        pick = QUADRANTS[(size, sim)][0]
        bars = ax.bar(range(len(names)), means, yerr=stds, capsize=3,
                      color=["tab:orange" if w == pick else "tab:blue" for w in names],
                      edgecolor=["black" if w == pick else "none" for w in names], linewidth=1.5)
        for i, w in enumerate(names):
            ys = [100 * r["acc"] for r in rows if r["which"] == w]
            ax.plot([i] * len(ys), ys, "k.", ms=4)
            ax.annotate(f"{means[i]:.1f}", (bars[i].get_x() + bars[i].get_width() / 2, means[i] + stds[i]),
                        ha="center", va="bottom", fontsize=8)
        lo = min(m - s for m, s in zip(means, stds)) - 12
        if chance and (size, sim) in chance:  # the chance line stays in view
            lo = min(lo, 100 * chance[(size, sim)] - 5)
        ax.set_ylim(max(0, lo), 100)
        ax.set_xticks(range(len(names)), [STRATEGY_LABELS[w].replace(" ", "\n", 1) for w in names], fontsize=8)
        ax.set_title(f"{SIZE_LABELS[size]}\n{SIMILARITY_LABELS[sim]}", fontsize=9)
        if chance and (size, sim) in chance:
            ax.axhline(100 * chance[(size, sim)], color="gray", ls=":", lw=1)
    axes[0][0].set_ylabel("test 정확도 (%)")
    fig.suptitle("교과서의 표를 데이터로: 사분면마다 네 전략 (주황 = 교과서의 선택, 막대 = 시드 평균 ± 표준편차)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def plot_quadrant(bb, size: str = "small", similarity: str = "similar"):
    """The textbook's 2x2 table with the chosen quadrant highlighted, next to the stages it trains."""
    import matplotlib.pyplot as plt

    info = describe_quadrant(bb, size, similarity)
    fig, (ax_t, ax_s) = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [1.25, 1]})
    sizes, sims = ["small", "large"], ["similar", "dissimilar"]
    for c, sz in enumerate(sizes):
        for r, sm in enumerate(sims):
            chosen = (sz, sm) == (size, similarity)
            ax_t.add_patch(plt.Rectangle((c, 1 - r), 1, 1, facecolor="#ffe08a" if chosen else "#f2f2f2",
                                         edgecolor="black", lw=2.5 if chosen else 1))
            text = QUADRANTS[(sz, sm)][1].replace(" — ", "\n").replace(" + ", "\n+ ")
            ax_t.text(c + 0.5, 1.5 - r, text, ha="center", va="center", fontsize=9,
                      fontweight="bold" if chosen else "normal")
    ax_t.set(xlim=(0, 2), ylim=(0, 2), title="교과서의 표: 무엇을 다시 학습할까?")
    ax_t.set_xticks([0.5, 1.5], [SIZE_LABELS[s] for s in sizes])
    ax_t.set_yticks([1.5, 0.5], [SIMILARITY_LABELS[s] for s in sims])
    ax_t.set_xlabel("데이터셋 크기 (dataset size)")
    ax_t.set_ylabel("유사성 (similarity)")
    stages = body_stages(bb)
    names = [n for n, _ in stages] + ["head"]
    counts = [sum(p.numel() for p in s.parameters()) for _, s in stages] + [sum(p.numel() for p in bb.head.parameters())]
    colors = ["tab:orange" if i >= info["k"] else "lightgray" for i in range(len(names))]
    ax_s.barh(names[::-1], counts[::-1], color=colors[::-1])
    ax_s.set_xscale("log")
    ax_s.set(xlabel="파라미터 수 (로그 축)",
             title=f"{bb.name}: 학습 {info['trainable']:,} / 전체 {info['total']:,} ({info['trainable'] / info['total']:.1%})")
    ax_s.text(0.98, 0.02, "주황 = 학습, 회색 = 고정", transform=ax_s.transAxes, ha="right", fontsize=8)
    fig.tight_layout()
    return fig, info


def quadrant_widget(bb, inputs: dict):
    """The textbook's table as a widget: pick a quadrant -> trainable stages and count; button -> train it."""
    import ipywidgets as W
    import matplotlib.pyplot as plt
    from IPython.display import display

    size = W.ToggleButtons(options=[("작다", "small"), ("크다", "large")], description="데이터셋")
    sim = W.ToggleButtons(options=[("비슷하다", "similar"), ("다르다", "dissimilar")], description="유사성")
    epochs = W.IntSlider(value=3, min=1, max=10, description="에포크")
    button = W.Button(description="이 설정으로 학습", button_style="primary")
    out_table, out_train = W.Output(), W.Output()

    def show(_=None):
        out_table.clear_output(wait=True)
        with out_table:
            try:
                fig, info = plot_quadrant(bb, size.value, sim.value)
                display(fig)
                plt.close(fig)
                if info["which"] == "all":
                    print("주의: 몸통 전체를 사진에서부터 학습합니다. CPU 에서는 에포크당 1분 이상 걸릴 수 있습니다.")
            except Exception as err:
                print(f"표를 그리지 못했습니다: {type(err).__name__}: {err}")

    def run(_):
        out_train.clear_output(wait=True)
        with out_train:
            try:
                info, _, hist = train_quadrant(bb, size.value, sim.value, inputs, epochs=epochs.value)
                print(f"{info['text']}: 학습 파라미터 {info['trainable']:,}개, {len(hist.train_loss)} 에포크 "
                      f"{hist.train_time:.1f} s, test 정확도 {hist.final_test_acc:.2%}")
            except Exception as err:
                print(f"학습하지 못했습니다: {type(err).__name__}: {err}")

    size.observe(show, names="value")
    sim.observe(show, names="value")
    button.on_click(run)
    show()
    return W.VBox([W.HBox([size, sim]), out_table, W.HBox([epochs, button]), out_train])
