"""Transfer-learning helpers: stages, freezing, feature caching, BatchNorm, learning-rate groups.

Both backbone layouts are checked: ResNet18 (random weights, no download) and the
offline EfficientNet-Lite0.
"""
import copy

import pytest
import torch
from PIL import Image
from torch import nn

from chapter5 import backbone, train, transfer


@pytest.fixture(scope="module")
def resnet():
    from torchvision.models import resnet18

    torch.manual_seed(0)
    return backbone.Backbone(resnet18(weights=None).eval(), "resnet18", "test", "fc", 512,
                             feature_layers=["conv1", "layer1", "layer2", "layer3", "layer4"])


@pytest.fixture(scope="module")
def effnet():
    return backbone._efficientnet_lite0()


@pytest.fixture(params=["resnet", "effnet"])
def bb(request):
    """A fresh copy per test, so freezing in one test does not leak into another."""
    b = copy.copy(request.getfixturevalue(request.param))
    b.model = copy.deepcopy(b.model).eval()
    return b


def test_stage_names():
    from torchvision.models import resnet18

    b = backbone.Backbone(resnet18(weights=None), "resnet18", "t", "fc", 512)
    assert [n for n, _ in transfer.body_stages(b)] == ["stem", "layer1", "layer2", "layer3", "layer4"]
    e = backbone._efficientnet_lite0()
    names = [n for n, _ in transfer.body_stages(e)]
    assert names == ["stem"] + [f"stage{i}" for i in range(1, 8)]
    # every parameter of the body belongs to exactly one stage; the head to none
    staged = [id(p) for _, s in transfer.body_stages(e) for p in s.parameters()]
    body = [id(p) for n, p in e.model.named_parameters() if not n.startswith("_fc.")]
    assert sorted(staged) == sorted(body)


def test_stages_reproduce_the_body(bb):
    torch.manual_seed(1)
    x = torch.randn(2, 3, 96, 96)
    stages = transfer.body_stages(bb)
    with torch.no_grad():
        expected = bb.body()(x)
        y = x
        for _, s in stages:
            y = s(y)
        got = transfer.pool()(y)
        prefix, rest = transfer.split(bb, len(stages) - 1)
        split_out = rest(prefix(x))
    assert got.shape == (2, bb.feature_dim)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(split_out, expected)


def test_set_trainable_counts(bb):
    n = len(transfer.body_stages(bb))
    head = sum(p.numel() for p in bb.head.parameters())
    last = sum(p.numel() for p in transfer.body_stages(bb)[-1][1].parameters())
    total = sum(p.numel() for p in bb.model.parameters())
    assert transfer.set_trainable(bb, transfer.first_trainable(bb, "head")) == head
    assert transfer.set_trainable(bb, transfer.first_trainable(bb, "last")) == head + last
    assert transfer.set_trainable(bb, transfer.first_trainable(bb, "all")) == total
    counts = [transfer.set_trainable(bb, k) for k in range(n, -1, -1)]
    assert counts == sorted(counts) and len(set(counts)) == len(counts)
    transfer.set_trainable(bb, n)
    assert [name for name, p in bb.model.named_parameters() if p.requires_grad] == \
        [f"{bb.head_name}.weight", f"{bb.head_name}.bias"]
    with pytest.raises(ValueError):
        transfer.first_trainable(bb, "middle")


def test_quadrants_follow_the_textbook():
    assert set(transfer.QUADRANTS) == {(s, m) for s in ("small", "large") for m in ("similar", "dissimilar")}
    assert transfer.QUADRANTS[("small", "similar")][0] == "head"
    assert transfer.QUADRANTS[("large", "dissimilar")][0] == "all"


def test_frozen_prefix_keeps_batchnorm_statistics(resnet):
    model = copy.deepcopy(resnet.model)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    before = [bn.running_mean.clone() for bn in bns]
    x = torch.randn(4, 3, 64, 64)
    # the trap: requires_grad=False but train mode -> running statistics still move
    for p in model.parameters():
        p.requires_grad = False
    model.train()
    with torch.no_grad():
        model(x)
    assert any(not torch.equal(a, bn.running_mean) for a, bn in zip(before, bns))
    # TransferModel keeps its frozen prefix in eval mode even after .train()
    fresh = copy.deepcopy(resnet)
    fresh.model = copy.deepcopy(resnet.model)
    prefix, rest = transfer.split(fresh, 4)
    tm = transfer.TransferModel(prefix, rest, nn.Linear(512, 2)).train()
    pre_bn = [m for m in tm.prefix.modules() if isinstance(m, nn.BatchNorm2d)]
    rest_bn = [m for m in tm.rest.modules() if isinstance(m, nn.BatchNorm2d)]
    pre_before = [bn.running_mean.clone() for bn in pre_bn]
    rest_before = [bn.running_mean.clone() for bn in rest_bn]
    tm(x)
    assert not tm.prefix.training and tm.rest.training
    assert all(torch.equal(a, bn.running_mean) for a, bn in zip(pre_before, pre_bn))
    assert any(not torch.equal(a, bn.running_mean) for a, bn in zip(rest_before, rest_bn))
    assert all(not p.requires_grad for p in tm.prefix.parameters())


def _toy_images(n=24, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.utils.data.TensorDataset(torch.randn(n, 3, size, size, generator=g),
                                          torch.arange(n) % 2)


def test_cache_features_matches_direct_computation(resnet):
    ds = _toy_images()
    body = resnet.body()
    cached = transfer.cache_features(body, torch.utils.data.DataLoader(ds, batch_size=10), progress=False)
    assert cached.x.shape == (24, 512) and len(cached) == 24
    assert torch.equal(cached.y, ds.tensors[1])
    with torch.no_grad():
        torch.testing.assert_close(cached.x, body.eval()(ds.tensors[0]))
    assert cached.seconds > 0
    both = transfer.concat(cached, cached)
    assert len(both) == 48 and both.seconds == pytest.approx(2 * cached.seconds)


def test_cache_stages_one_pass(bb, monkeypatch):
    monkeypatch.setenv("CHAPTER5_PRECISION", "fp32")
    ds = _toy_images(n=6)
    n = len(transfer.body_stages(bb))
    out = transfer.cache_stages(bb, ds, at=(n - 2, n - 1), progress=False)
    assert set(out) == {n - 2, n - 1, "features"}
    assert out["features"].x.shape == (6, bb.feature_dim)
    _, rest = transfer.split(bb, n - 1)
    with torch.no_grad():
        torch.testing.assert_close(rest(out[n - 1].x), out["features"].x)
        torch.testing.assert_close(bb.body()(ds.tensors[0]), out["features"].x)


def test_cache_stages_in_bf16_keeps_fp32_tensors_close_to_the_fp32_pass(bb, monkeypatch):
    """On a CPU with native bf16 the pass runs in bf16 + channels_last (docs/BENCHMARKS.md); what it keeps
    is fp32 in the usual layout, close to the fp32 pass, and the body's own layout is restored."""
    if not train.bf16_supported():
        pytest.skip("this CPU has no native bf16: the pass is fp32 (test above)")
    ds = _toy_images(n=6)
    n = len(transfer.body_stages(bb))
    monkeypatch.setenv("CHAPTER5_PRECISION", "fp32")
    ref = transfer.cache_stages(bb, ds, at=(n - 1,), progress=False)
    monkeypatch.setenv("CHAPTER5_PRECISION", "auto")
    out = transfer.cache_stages(bb, ds, at=(n - 1,), progress=False)
    for key in (n - 1, "features"):
        x = out[key].x
        assert x.dtype == torch.float32 and x.is_contiguous()
        assert not torch.equal(x, ref[key].x), "the bf16 pass rounds: not bit-identical to fp32"
        cos = nn.functional.cosine_similarity(x.flatten(1), ref[key].x.flatten(1), dim=1)
        assert cos.min() > 0.99, cos
    assert all(p.is_contiguous() for p in bb.model.parameters())


def test_cached_training_equals_training_through_the_frozen_body(resnet, monkeypatch):
    """The speed lesson's claim: same data, same seed -> the same head, whichever way it is fed."""
    monkeypatch.setenv("CHAPTER5_PRECISION", "fp32")   # bf16 autocast would round the slow path only
    ds = _toy_images(n=32)
    fb = copy.copy(resnet)
    fb.model = copy.deepcopy(resnet.model)
    torch.manual_seed(3)
    head = nn.Linear(512, 2)
    slow = transfer.TransferModel(fb.body(), nn.Identity(), copy.deepcopy(head))
    train.fit(slow, torch.utils.data.DataLoader(ds, batch_size=8, shuffle=True), epochs=2, lr=1e-2,
              progress=False, device=torch.device("cpu"))
    feats = transfer.cache_features(fb.body(), ds, progress=False)
    fast = copy.deepcopy(head)
    train.fit(fast, feats.loader(8, shuffle=True), epochs=2, lr=1e-2, progress=False, device=torch.device("cpu"))
    torch.testing.assert_close(fast.weight, slow.head.weight, atol=1e-4, rtol=1e-4)
    assert not torch.equal(fast.weight, head.weight)


def test_param_groups_discriminative(resnet):
    b = copy.copy(resnet)
    b.model = copy.deepcopy(resnet.model)
    k = transfer.first_trainable(b, "last2")
    transfer.set_trainable(b, k)
    stages = transfer.body_stages(b)
    groups = transfer.param_groups(stages, b.head, lr=1e-3, decay=0.1)
    assert [g["name"] for g in groups] == ["head", "layer4", "layer3"]
    assert [g["lr"] for g in groups] == pytest.approx([1e-3, 1e-4, 1e-5])
    n_params = sum(p.numel() for g in groups for p in g["params"])
    assert n_params == sum(p.numel() for p in b.model.parameters() if p.requires_grad)
    opt = torch.optim.Adam(groups)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([1e-3, 1e-4, 1e-5])


def test_train_from_leaves_backbone_untouched(resnet):
    b = copy.copy(resnet)
    b.model = copy.deepcopy(resnet.model)
    n = len(transfer.body_stages(b))
    ds = _toy_images(n=16, size=32)
    cached = transfer.cache_stages(b, ds, at=(n - 1,), progress=False)
    before = {k: v.clone() for k, v in b.model.state_dict().items()}
    model, hist = transfer.train_from(b, n - 1, cached[n - 1], cached[n - 1], epochs=2, lr=1e-3,
                                      progress=False)
    assert len(hist.test_acc) == 2 and 0.0 <= hist.final_test_acc <= 1.0
    assert all(torch.equal(v, b.model.state_dict()[k]) for k, v in before.items())
    with torch.no_grad():
        assert model.eval()(cached[n - 1].x[:3]).shape == (3, 2)
    head_only, h2 = transfer.train_from(b, n, cached["features"], None, epochs=1, progress=False)
    assert isinstance(head_only[0], nn.Identity) and len(h2.train_loss) == 1


def test_in_memory_images_resize_once_and_transform_each_time():
    from torchvision import transforms as T

    imgs = [(Image.new("RGB", (300, 200), (i * 40, 0, 0)), i % 2) for i in range(4)]
    mem = transfer.InMemoryImages(imgs, short_side=64)
    assert len(mem) == 4 and mem[0][0].size == (96, 64) and mem[3][1] == 1
    tensors = mem.with_transform(T.Compose([T.CenterCrop(64), T.ToTensor()]))
    x, y = tensors[1]
    assert x.shape == (3, 64, 64) and y == 1 and mem.transform is None


def _toy_inputs(b, n_train=16, n_test=8, size=32):
    n = len(transfer.body_stages(b))
    tr = transfer.cache_stages(b, _toy_images(n_train, size, seed=1), at=(n - 2, n - 1), progress=False)
    te = transfer.cache_stages(b, _toy_images(n_test, size, seed=2), at=(n - 2, n - 1), progress=False)
    return {"features": (tr["features"], te["features"]), n - 1: (tr[n - 1], te[n - 1]),
            n - 2: (tr[n - 2], te[n - 2])}


def test_describe_quadrant_sets_trainable_stages(resnet):
    b = copy.copy(resnet)
    b.model = copy.deepcopy(resnet.model)
    small = transfer.describe_quadrant(b, "small", "similar")
    assert small["which"] == "head" and small["trainable_stages"] == []
    assert small["trainable"] == 512 * 1000 + 1000 == sum(p.numel() for p in b.model.parameters() if p.requires_grad)
    large = transfer.describe_quadrant(b, "large", "similar")
    assert large["trainable_stages"] == ["layer4"] and large["frozen_stages"][-1] == "layer3"
    part = transfer.describe_quadrant(b, "small", "dissimilar")
    assert part["trainable_stages"] == ["layer3", "layer4"]
    everything = transfer.describe_quadrant(b, "large", "dissimilar")
    assert everything["trainable"] == everything["total"]
    assert small["trainable"] < large["trainable"] < part["trainable"] < everything["trainable"]
    with pytest.raises(ValueError, match="size must be"):
        transfer.describe_quadrant(b, "huge", "similar")


def test_train_quadrant_uses_the_matching_cache(resnet):
    b = copy.copy(resnet)
    b.model = copy.deepcopy(resnet.model)
    b.replace_head(2)
    inputs = _toy_inputs(b)
    info, model, hist = transfer.train_quadrant(b, "large", "similar", inputs, epochs=1, progress=False)
    assert info["which"] == "last" and len(hist.test_acc) == 1
    with torch.no_grad():
        assert model.eval()(inputs[info["k"]][0].x[:2]).shape == (2, 2)
    info, model, _ = transfer.train_quadrant(b, "small", "similar", inputs, epochs=1, progress=False)
    assert isinstance(model[0], nn.Identity)
    with pytest.raises(ValueError, match="no cached inputs"):
        transfer.train_quadrant(b, "large", "dissimilar", inputs, epochs=1, progress=False)


def test_quadrant_widget_draws_and_trains_without_raising(resnet, capsys):
    pytest.importorskip("ipywidgets")
    from chapter5 import viz

    viz.use_korean_font()
    b = copy.copy(resnet)
    b.model = copy.deepcopy(resnet.model)
    b.replace_head(2)
    inputs = _toy_inputs(b)
    box = transfer.quadrant_widget(b, inputs)
    (size, sim), _, (epochs, button), _ = box.children[0].children, box.children[1], box.children[2].children, \
        box.children[3]
    size.value = "large"                     # -> "last": the table is redrawn, bb's trainable stages follow
    assert [n for n, p in b.model.named_parameters() if p.requires_grad][0].startswith("layer4")
    epochs.value = 1
    button.click()
    out = capsys.readouterr().out
    assert "test 정확도" in out and "학습하지 못했습니다" not in out
    sim.value = "dissimilar"                 # "all": no cache for stage 0 -> a message, not an exception
    button.click()
    out = capsys.readouterr().out
    assert "학습하지 못했습니다" in out and "no cached inputs" in out


def test_smaller_data_trains_fewer_parameters_within_the_same_similarity(bb):
    """The table's trade-off: within one similarity the smaller dataset trains fewer parameters, while
    small-and-dissimilar (last two stages) trains more than large-and-similar (last stage)."""
    count = {(s, m): transfer.describe_quadrant(bb, s, m)["trainable"] for s, m in transfer.QUADRANTS}
    for sim in ("similar", "dissimilar"):
        assert count[("small", sim)] < count[("large", sim)]
    assert count[("small", "dissimilar")] > count[("large", "similar")]
    head = sum(p.numel() for p in bb.head.parameters())
    assert count[("small", "similar")] == head
    assert count[("large", "dissimilar")] == sum(p.numel() for p in bb.model.parameters())


def _fashion_quick(bb, train, n, px=32):
    from torchvision import transforms as T

    from chapter5 import data

    x, y = data.fashion_tensors(train=train, normalize=False, limit=n)
    x = nn.functional.interpolate(x, size=px, mode="bilinear", align_corners=False)
    x = T.Normalize(bb.mean, bb.std)(x.expand(-1, 3, -1, -1)).contiguous()
    return torch.utils.data.TensorDataset(x, y)


def test_quadrant_measurement_runs_on_the_dissimilar_set_in_quick_mode(effnet):
    """Notebook 04 section 7: every strategy trained on FashionMNIST (grey clothing, not ImageNet-like)."""
    b = copy.copy(effnet)
    b.model = copy.deepcopy(effnet.model).eval()
    b.replace_head(10)
    before = {k: v.clone() for k, v in b.model.state_dict().items()}
    tr, te = _fashion_quick(b, True, 24), _fashion_quick(b, False, 16)
    rows = transfer.compare_strategies(b, tr, te, seeds=(0,), epochs=1, num_classes=10, progress=False)
    assert [r["which"] for r in rows] == list(transfer.STRATEGIES)
    summ = transfer.summarize(rows)
    counts = [summ[w][3] for w in transfer.STRATEGIES]
    assert counts == sorted(counts) and len(set(counts)) == 4
    assert summ["head"][3] == 1280 * 10 + 10
    assert summ["all"][3] == sum(p.numel() for n, p in b.model.named_parameters() if not n.startswith("_fc.")) \
        + 1280 * 10 + 10
    assert all(0.0 <= r["acc"] <= 1.0 and r["seconds"] >= 0 for r in rows)
    assert all(torch.equal(v, b.model.state_dict()[k]) for k, v in before.items())   # bb is not trained
    import matplotlib

    from chapter5 import viz

    matplotlib.use("Agg")
    viz.use_korean_font()
    fig = transfer.plot_strategies({("small", "dissimilar"): rows}, chance={("small", "dissimilar"): 0.1})
    assert len(fig.axes) == 1


def _rows(accs: dict) -> list:
    return [{"which": w, "seed": s, "acc": a, "seconds": 0.0, "trainable": 1, "epochs": 1, "ran": 1}
            for w, seeds in accs.items() for s, a in enumerate(seeds)]


def test_verdict_wins_loses_and_ties_beyond_the_seed_spread():
    """04 §7: the textbook's pick wins/loses only when the gap is beyond sqrt(s1^2 + s2^2)."""
    clear = _rows({"head": [0.95, 0.96, 0.94], "last": [0.80, 0.82, 0.81], "all": [0.70, 0.71, 0.72]})
    v = transfer.verdict(clear, "head")
    assert (v["outcome"], v["rival"], v["seeds"]) == ("wins", "last", 3)
    assert abs(v["gap"] - 14.0) < 1e-9 and 0 < v["spread"] < 2
    s = transfer.verdict_sentence(v)
    assert "이깁니다" in s and "14.0 %p" in s and f"±{v['spread']:.1f}" in s and "3 시드" in s
    lose = transfer.verdict(clear, "all")
    assert lose["outcome"] == "loses" and lose["rival"] == "head" and "이기지 못했습니다" in transfer.verdict_sentence(lose)
    noisy = _rows({"head": [0.90, 0.70, 0.80], "last": [0.85, 0.78, 0.84]})     # gap 2.3 %p, spread ~10 %p
    t = transfer.verdict(noisy, "head")
    assert t["outcome"] == "tie" and t["rival"] == "last" and "구별할 수 없습니다" in transfer.verdict_sentence(t)
    one = transfer.verdict(_rows({"head": [0.9], "last": [0.5]}), "head")
    assert one["outcome"] == "tie" and "판정하지 않습니다" in transfer.verdict_sentence(one)
    with pytest.raises(ValueError):
        transfer.verdict(clear, "last2")


def test_compare_strategies_with_early_stopping_reports_the_kept_epoch(effnet):
    b = copy.copy(effnet)
    b.model = copy.deepcopy(effnet.model).eval()
    b.replace_head(10)
    tr, va, te = _fashion_quick(b, True, 24), _fashion_quick(b, True, 12), _fashion_quick(b, False, 16)
    rows = transfer.compare_strategies(b, tr, te, strategies=("head", "last"), seeds=(0,), epochs=6,
                                       num_classes=10, progress=False, val=va, patience=2)
    for r in rows:
        assert 1 <= r["epochs"] <= r["ran"] <= 6 and r["ran"] - r["epochs"] <= 2
        assert 0.0 <= r["acc"] <= 1.0


def test_compare_strategies_trains_all_from_the_images_without_caching_a_copy(effnet, monkeypatch):
    """04 §7's memory: stage 0's input is the images themselves, so no cached copy of them is kept."""
    b = copy.copy(effnet)
    b.model = copy.deepcopy(effnet.model).eval()
    b.replace_head(10)
    tr, va, te = _fashion_quick(b, True, 12), _fashion_quick(b, True, 8), _fashion_quick(b, False, 8)
    asked, trained_on = [], []
    real_cache, real_train = transfer.cache_stages, transfer.train_from
    monkeypatch.setattr(transfer, "cache_stages", lambda bb, d, at=(), **kw: asked.append(at) or real_cache(bb, d, at, **kw))
    monkeypatch.setattr(transfer, "train_from",
                        lambda bb, k, train, *a, **kw: trained_on.append((k, train, kw["val"])) or real_train(bb, k, train, *a, **kw))
    rows = transfer.compare_strategies(b, tr, te, strategies=("last", "all"), seeds=(0,), epochs=1,
                                       num_classes=10, progress=False, val=va, patience=1)
    assert len(asked) == 3 and all(0 not in at for at in asked)
    (k_last, last_train, last_val), (k_all, all_train, all_val) = trained_on
    assert k_all == 0 and all_train is tr and all_val is va
    assert k_last > 0 and isinstance(last_train, transfer.Cached) and len(last_train) == len(tr)
    assert [r["which"] for r in rows] == ["last", "all"] and all(0.0 <= r["acc"] <= 1.0 for r in rows)


def test_verdict_sentence_takes_the_rivals_own_particle():
    """분류기만이 / 마지막 stage 가 / 모델 전체가: the subject particle follows the rival's label."""
    for rival, particle in [("head", "이"), ("last", "가"), ("all", "가")]:
        rows = _rows({rival: [0.95, 0.96, 0.94], "last2": [0.70, 0.71, 0.72]})
        sentence = transfer.verdict_sentence(transfer.verdict(rows, "last2"))
        assert f"{transfer.STRATEGY_LABELS[rival]} (95.0 %) {particle} 24.0 %p 높고" in sentence, sentence
