"""chapter5.features: hooks, layer listing, learned-vs-random statistics, filters, the explorer."""
import copy
import io
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from chapter5 import config, data, features, train, viz

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_data = pytest.mark.skipif(not (SHARED / "cat.jpg").is_file() and not (config.data_root() / "cat.jpg").is_file(),
                                reason="course data (cat.jpg, catanddog) not present")



@pytest.fixture(autouse=True)
def korean_font():
    viz.use_korean_font()        # the figures have Korean titles, as in the notebook
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def small_net():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 2))


def n_hooks(model):
    return sum(len(m._forward_hooks) for m in model.modules())


# ---------------------------------------------------------------------------- hooks
def test_feature_hook_records_output_and_removes_itself():
    net = small_net().eval()
    x = torch.randn(2, 3, 32, 32)
    with features.FeatureHook(net[0]) as hook:
        assert hook.attached and n_hooks(net) == 1
        net(x)
    assert not hook.attached and n_hooks(net) == 0
    assert hook.output.shape == (2, 8, 30, 30)
    assert torch.allclose(hook.output, net[0](x))
    before = hook.output.clone()
    net(torch.randn(2, 3, 32, 32))                    # removed: a later pass changes nothing
    assert torch.equal(hook.output, before)


def test_feature_hook_is_removed_when_the_forward_pass_fails():
    net = small_net()
    with pytest.raises(RuntimeError):
        with features.FeatureHook(net[0]):
            net(torch.randn(1, 5, 32, 32))           # wrong number of channels
    assert n_hooks(net) == 0


def test_feature_hook_output_survives_inplace_relu():
    net = small_net().eval()
    with features.FeatureHook(net[1]) as hook:       # BatchNorm, followed by ReLU(inplace=True)
        net(torch.randn(1, 3, 32, 32))
    assert (hook.output < 0).any()                  # not overwritten by the in-place ReLU


def test_capture_restores_training_mode_and_leaves_no_hooks():
    net = small_net().train()
    outs = features.capture(net, ["0", "4"], torch.randn(1, 3, 32, 32))
    assert net.training and n_hooks(net) == 0
    assert outs["0"].shape == (1, 8, 30, 30) and outs["4"].shape == (1, 16, 15, 15)


def test_hooks_and_create_feature_extractor_agree():
    from torchvision.models.feature_extraction import create_feature_extractor

    net = small_net().eval()
    x = torch.randn(2, 3, 32, 32)
    extractor = create_feature_extractor(net, return_nodes={"0": "a", "4": "b"})
    with torch.no_grad():
        ref = extractor(x)
    outs = features.capture(net, ["0", "4"], x)
    assert torch.equal(outs["0"], ref["a"]) and torch.equal(outs["4"], ref["b"])


def test_list_layers_by_type_and_by_name():
    net = small_net()
    x = torch.randn(1, 3, 32, 32)
    infos = features.list_layers(net, x)
    assert [i.name for i in infos] == ["0", "4"]
    assert [i.kind for i in infos] == ["Conv2d", "Conv2d"]
    assert [i.shape for i in infos] == [(8, 30, 30), (16, 15, 15)]
    assert infos[0].label == "0 · Conv2d · 8×30×30"
    named = features.list_layers(net, x, names=["3", "6"])
    assert [(i.kind, i.shape) for i in named] == [("MaxPool2d", (8, 15, 15)), ("AdaptiveAvgPool2d", (16, 1, 1))]
    assert n_hooks(net) == 0


# ------------------------------------------------------------------------ statistics
def test_statistics_on_known_maps():
    torch.manual_seed(0)
    image = torch.rand(1, 3, 16, 16)
    grey = image.mean(1, keepdim=True)
    assert features.input_similarity(torch.cat([grey, -grey], 1), image) == pytest.approx(1.0, abs=1e-5)
    noise = torch.randn(1, 4, 64, 64)
    assert features.input_similarity(noise, image) < 0.2
    maps = torch.randn(40, 3, 4, 4)
    labels = torch.arange(40) % 2
    maps[labels == 1, 0] += 5.0                       # channel 0 fires for class 1 only
    assert features.class_selectivity(maps, labels) > 2.0
    assert features.class_selectivity(maps[:, 1:], labels) < 0.6
    with pytest.raises(ValueError):
        features.class_selectivity(maps, torch.zeros(40))


def plain_cnn(width=8):
    """Four conv-ReLU-pool blocks, no BatchNorm (so eval mode needs no running statistics)."""
    layers, cin = [], 3
    for cout in (width, 2 * width, 4 * width, 8 * width):
        layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
        cin = cout
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 2))


@needs_data
def test_trained_maps_differ_from_untrained_maps(monkeypatch):
    """After brief training on cats vs dogs, the deepest maps (on unseen test images)
    respond more differently to the two classes than before (class selectivity)."""
    from torchvision import transforms as T

    if not (config.data_root() / "cat.jpg").is_file():
        monkeypatch.setenv("CHAPTER5_DATA", str(SHARED))
    start = time.perf_counter()
    tf = T.Compose([T.Resize((64, 64)), T.ToTensor(), T.Normalize(data.IMAGENET_MEAN, data.IMAGENET_STD)])
    train_set = data.subset(data.catdog("train", tf), 96, seed=0)
    test_set = data.subset(data.catdog("test", tf), 48, seed=0)
    x_test = torch.stack([img for img, _ in test_set])
    y_test = torch.tensor([label for _, label in test_set])
    config.seed_everything(0)
    untrained = plain_cnn()
    trained = copy.deepcopy(untrained)
    loader = torch.utils.data.DataLoader(train_set, batch_size=16, shuffle=True)
    hist = train.fit(trained, loader, epochs=6, seed=0, progress=False, device=torch.device("cpu"))
    assert hist.train_loss[-1] < hist.train_loss[0]
    deepest = "9"                                    # last Conv2d: 64 channels × 8×8
    before = features.capture(untrained, deepest, x_test)[deepest]
    after = features.capture(trained, deepest, x_test)[deepest]
    assert after.shape == before.shape == (48, 64, 8, 8)
    sel_before, sel_after = features.class_selectivity(before, y_test), features.class_selectivity(after, y_test)
    assert sel_after > 1.3 * sel_before, (sel_before, sel_after)
    assert time.perf_counter() - start < 60


# --------------------------------------------------------------------------- filters
def test_filter_patches_are_rgb_in_unit_range():
    conv = nn.Conv2d(3, 6, 5)
    p = features.filter_patches(conv.weight)
    assert p.shape == (6, 5, 5, 3)
    assert p.min() == pytest.approx(0.0, abs=1e-6) and p.max() == pytest.approx(1.0, abs=1e-6)
    grey = features.filter_patches(nn.Conv2d(8, 4, 3).weight)
    assert grey.shape == (4, 3, 3, 3) and np.allclose(grey[..., 0], grey[..., 2])


def test_plot_helpers_draw_what_they_say():
    import matplotlib.pyplot as plt

    maps = torch.randn(1, 40, 6, 6)
    fig = features.plot_feature_maps(maps, first=32, count=16)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == [f"ch {c}" for c in range(32, 40)]
    assert features.describe_maps("layer", maps, 32, 16) == "layer: 40 channels × 6×6, showing channels 32–39"
    plt.close(fig)
    fig = features.plot_filters(nn.Conv2d(3, 10, 3).weight)
    assert sum(1 for ax in fig.axes if ax.images) == 10
    plt.close(fig)


# ------------------------------------------------------------------ images, explorer
def _png_bytes(color=(255, 0, 0)):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 6), color).save(buf, format="PNG")
    return buf.getvalue()


def test_image_from_upload_accepts_widget_values_and_rejects_junk():
    value = ({"name": "a.png", "type": "image/png", "size": 1, "content": memoryview(_png_bytes())},)
    img = features.image_from_upload(value)
    assert img.mode == "RGB" and img.size == (8, 6) and img.getpixel((0, 0)) == (255, 0, 0)
    assert features.image_from_upload(_png_bytes((0, 0, 255))).getpixel((1, 1)) == (0, 0, 255)
    with pytest.raises(ValueError):
        features.image_from_upload(())
    with pytest.raises(ValueError):
        features.image_from_upload(b"not an image")


@needs_data
def test_image_choices(monkeypatch):
    if not (config.data_root() / "cat.jpg").is_file():
        monkeypatch.setenv("CHAPTER5_DATA", str(SHARED))
    choices = features.image_choices(2)
    assert list(choices)[0] == "cat.jpg"
    assert sum(k.startswith("test/Cat/") for k in choices) == 2 and sum(k.startswith("test/Dog/") for k in choices) == 2
    assert all(Path(p).is_file() for p in choices.values())


def test_explorer_updates_layers_and_channels(capsys):
    import datetime as dt

    from PIL import Image
    from torchvision import transforms as T

    def drawn():
        """The summary lines printed by the redraws since the last call."""
        return [line.split("\r")[-1] for line in capsys.readouterr().out.splitlines() if "showing" in line]

    tf = T.Compose([T.Resize((32, 32)), T.ToTensor()])
    x = torch.zeros(1, 3, 32, 32)
    net_a, net_b = small_net(), small_net()
    views = {"A": features.Viewable(net_a, tf, features.list_layers(net_a, x)),
             "B": features.Viewable(net_b, tf, features.list_layers(net_b, x, names=["3"]))}
    box = features.feature_map_explorer(views, {"red": Image.new("RGB", (40, 40), (200, 0, 0))}, count=4, step=4)
    controls, _out = box.children
    row1, row2 = controls.children
    model_dd, image_dd, upload = row1.children
    layer_dd, first, count_dd = row2.children
    assert layer_dd.options == (("0 · Conv2d · 8×30×30", "0"), ("4 · Conv2d · 16×15×15", "4"))
    assert drawn() == ["0: 8 channels × 30×30, showing channels 0–3"]
    assert first.max == 4 and first.step == 4                  # pages: 0–3, 4–7
    layer_dd.value = "4"
    assert first.max == 12 and drawn() == ["4: 16 channels × 15×15, showing channels 0–3"]
    first.value = 12
    assert drawn() == ["4: 16 channels × 15×15, showing channels 12–15"]
    count_dd.value = 8                                     # more channels than are left: shows what exists
    assert drawn() == ["4: 16 channels × 15×15, showing channels 12–15"]
    first.value = 4
    assert drawn() == ["4: 16 channels × 15×15, showing channels 4–11"]
    model_dd.value = "B"                                   # new layer list, channel back to 0, ONE redraw
    assert layer_dd.options == (("3 · MaxPool2d · 8×15×15", "3"),) and layer_dd.value == "3"
    assert first.max == 4 and first.value == 0
    assert drawn() == ["3: 8 channels × 15×15, showing channels 0–7"]

    when = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)        # FileUpload serialises this field
    upload.value = ({"name": "me.png", "type": "image/png", "size": 1, "content": memoryview(_png_bytes()),
                     "last_modified": when},)
    assert image_dd.value == "업로드한 사진" and image_dd.options == ("red", "업로드한 사진")
    assert drawn() == ["3: 8 channels × 15×15, showing channels 0–7"]
    upload.value = ({"name": "junk.txt", "type": "text/plain", "size": 4, "content": memoryview(b"junk"),
                     "last_modified": when},)
    out = capsys.readouterr().out
    assert "이미지 파일이 아닙니다" in out and "showing" not in out      # a bad upload: one line, no redraw
    assert "Traceback" not in out and "그릴 수 없습니다" not in out
    assert n_hooks(net_a) == 0 and n_hooks(net_b) == 0


def test_to_unit_scales_and_handles_constant_maps():
    t = torch.tensor([[-2.0, 0.0], [2.0, 6.0]])
    assert torch.allclose(features.to_unit(t), torch.tensor([[0.0, 0.25], [0.5, 1.0]]))
    assert torch.equal(features.to_unit(torch.full((3, 3), 7.0)), torch.zeros(3, 3))
    per = features.to_unit(torch.stack([t, torch.ones(2, 2)]), dims=(1, 2))
    assert torch.allclose(per[0], features.to_unit(t)) and torch.equal(per[1], torch.zeros(2, 2))


def test_random_twin_has_the_same_architecture_and_new_weights():
    net = small_net().eval()
    with torch.no_grad():
        net[1].running_mean.fill_(3.0)
    twin = features.random_twin(net, seed=0)
    assert [type(m) for m in twin.modules()] == [type(m) for m in net.modules()]
    assert not torch.equal(twin[0].weight, net[0].weight)
    assert torch.equal(twin[1].running_mean, torch.zeros(8))            # BatchNorm statistics reset
    assert torch.equal(features.random_twin(net, seed=0)[0].weight, twin[0].weight)   # seeded
    assert not twin.training and torch.equal(net[1].running_mean, torch.full((8,), 3.0))  # original untouched


def test_filter_stats_separate_structured_from_random_filters():
    sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    luminance_edge = sobel.expand(3, 3, 3)[None]                        # the same edge in R, G, B
    green_blob = torch.zeros(1, 3, 3, 3)
    green_blob[0, 1] = 1.0                                              # uniform green
    stats = features.filter_stats(torch.cat([luminance_edge, green_blob]))
    assert stats["colour"][0] == pytest.approx(1.0) and stats["flat"][0] == pytest.approx(0.0, abs=1e-9)
    assert stats["flat"][1] == pytest.approx(1.0)
    torch.manual_seed(0)
    rand = features.filter_stats(nn.Conv2d(3, 256, 3).weight)
    assert 0.2 < float(rand["colour"].mean()) < 0.4                     # random kernels: unrelated colours
    assert float(rand["flat"].mean()) < 0.2


@needs_data
def test_learned_classifier_maps_are_class_selective_unlike_its_random_twin(monkeypatch):
    """Notebook 05 section 7: at the last feature layer, the explained classifier responds to cats
    and dogs differently (class selectivity) far more than the same architecture with random weights."""
    from chapter5 import gradcam

    if not (config.data_root() / "cat.jpg").is_file():
        monkeypatch.setenv("CHAPTER5_DATA", str(SHARED))
    explained = gradcam.grad_cam_model()
    bb = explained.backbone
    test_set = data.subset(data.catdog("test", bb.transform()), 48, seed=0)
    x = torch.stack([img for img, _ in test_set])
    y = torch.tensor([label for _, label in test_set])
    last = bb.feature_layers[-1]
    learned = features.class_selectivity(features.capture(explained.model, last, x)[last], y)
    random = features.class_selectivity(features.capture(features.random_twin(explained.model), last, x)[last], y)
    assert learned > 1.5 * random, (learned, random)   # 48 images: |d| of pure noise is about 0.2-0.3


def test_random_twin_from_a_start_module_keeps_the_layers_before_it():
    net = small_net().eval()
    twin = features.random_twin(net, seed=1, start="4")
    assert torch.equal(twin[0].weight, net[0].weight)                  # before "4": kept
    assert not torch.equal(twin[4].weight, net[4].weight) and not torch.equal(twin[8].weight, net[8].weight)
    with pytest.raises(ValueError):
        features.random_twin(net, start="nope")


def test_selectivity_sentence_says_what_the_table_shows():
    names = ["a", "b", "c", "d"]
    rand = np.array([[0.1, 0.1, 0.1, 0.1], [0.12, 0.1, 0.14, 0.1]])
    s = features.selectivity_sentence(names, [0.1, 0.3, 0.5, 0.9], rand)
    assert "4개 층 중 3개에서" in s and "가장 큰 층은 d (0.90, 무작위 0.10)" in s and "꾸준히 커집니다" in s
    s = features.selectivity_sentence(names, [0.35, 0.32, 0.37, 0.35], rand)
    assert "꾸준히 커지지는 않습니다" in s and "a 0.35 → b 0.32" in s and "c 0.37 → d 0.35" in s
    assert "4개 층 중 4개에서" in s and "가장 큰 층은 c" in s
