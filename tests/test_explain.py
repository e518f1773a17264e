"""chapter5.explain: hooks, layer listing, map statistics, filters, Grad-CAM, the explorer."""
import copy
import io
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from chapter5 import config, data, explain, train, viz

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_data = pytest.mark.skipif(not (SHARED / "cat.jpg").is_file() and not (config.data_root() / "cat.jpg").is_file(),
                                reason="course data (cat.jpg, catanddog) not present")

# Hand-marked in the original 1920×1080 cat.jpg (x0, y0, x1, y1): the whole cat, from the
# tip of its left ear (y≈145) to its paws (y≈955); it lies across the full width of the photo.
CAT_BOX = (0, 140, 1920, 960)


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
    with explain.FeatureHook(net[0]) as hook:
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
        with explain.FeatureHook(net[0]):
            net(torch.randn(1, 5, 32, 32))           # wrong number of channels
    assert n_hooks(net) == 0


def test_feature_hook_output_survives_inplace_relu():
    net = small_net().eval()
    with explain.FeatureHook(net[1]) as hook:       # BatchNorm, followed by ReLU(inplace=True)
        net(torch.randn(1, 3, 32, 32))
    assert (hook.output < 0).any()                  # not overwritten by the in-place ReLU


def test_capture_restores_training_mode_and_leaves_no_hooks():
    net = small_net().train()
    outs = explain.capture(net, ["0", "4"], torch.randn(1, 3, 32, 32))
    assert net.training and n_hooks(net) == 0
    assert outs["0"].shape == (1, 8, 30, 30) and outs["4"].shape == (1, 16, 15, 15)


def test_hooks_and_create_feature_extractor_agree():
    from torchvision.models.feature_extraction import create_feature_extractor

    net = small_net().eval()
    x = torch.randn(2, 3, 32, 32)
    extractor = create_feature_extractor(net, return_nodes={"0": "a", "4": "b"})
    with torch.no_grad():
        ref = extractor(x)
    outs = explain.capture(net, ["0", "4"], x)
    assert torch.equal(outs["0"], ref["a"]) and torch.equal(outs["4"], ref["b"])


def test_list_layers_by_type_and_by_name():
    net = small_net()
    x = torch.randn(1, 3, 32, 32)
    infos = explain.list_layers(net, x)
    assert [i.name for i in infos] == ["0", "4"]
    assert [i.kind for i in infos] == ["Conv2d", "Conv2d"]
    assert [i.shape for i in infos] == [(8, 30, 30), (16, 15, 15)]
    assert infos[0].label == "0 · Conv2d · 8×30×30"
    named = explain.list_layers(net, x, names=["3", "6"])
    assert [(i.kind, i.shape) for i in named] == [("MaxPool2d", (8, 15, 15)), ("AdaptiveAvgPool2d", (16, 1, 1))]
    assert n_hooks(net) == 0


# ------------------------------------------------------------------------ statistics
def test_statistics_on_known_maps():
    torch.manual_seed(0)
    image = torch.rand(1, 3, 16, 16)
    grey = image.mean(1, keepdim=True)
    assert explain.input_similarity(torch.cat([grey, -grey], 1), image) == pytest.approx(1.0, abs=1e-5)
    noise = torch.randn(1, 4, 64, 64)
    assert explain.input_similarity(noise, image) < 0.2
    assert explain.sharpness(noise) == pytest.approx(4.0, rel=0.1)
    ramp = torch.linspace(0, 1, 64).expand(64, 64)[None]
    assert explain.sharpness(ramp) < 0.01
    assert explain.sharpness(torch.zeros(1, 2, 8, 8)) == 0.0          # dead channels are skipped
    maps = torch.randn(40, 3, 4, 4)
    labels = torch.arange(40) % 2
    maps[labels == 1, 0] += 5.0                       # channel 0 fires for class 1 only
    assert explain.class_selectivity(maps, labels) > 2.0
    assert explain.class_selectivity(maps[:, 1:], labels) < 0.6
    with pytest.raises(ValueError):
        explain.class_selectivity(maps, torch.zeros(40))


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
    respond more differently to the two classes and are spatially smoother than before."""
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
    before = explain.capture(untrained, deepest, x_test)[deepest]
    after = explain.capture(trained, deepest, x_test)[deepest]
    assert after.shape == before.shape == (48, 64, 8, 8)
    sel_before, sel_after = explain.class_selectivity(before, y_test), explain.class_selectivity(after, y_test)
    assert sel_after > 1.3 * sel_before, (sel_before, sel_after)
    sharp_before, sharp_after = explain.sharpness(before), explain.sharpness(after)
    assert sharp_after < 0.95 * sharp_before, (sharp_before, sharp_after)
    assert time.perf_counter() - start < 30


# --------------------------------------------------------------------------- filters
def test_filter_patches_are_rgb_in_unit_range():
    conv = nn.Conv2d(3, 6, 5)
    p = explain.filter_patches(conv.weight)
    assert p.shape == (6, 5, 5, 3)
    assert p.min() == pytest.approx(0.0, abs=1e-6) and p.max() == pytest.approx(1.0, abs=1e-6)
    grey = explain.filter_patches(nn.Conv2d(8, 4, 3).weight)
    assert grey.shape == (4, 3, 3, 3) and np.allclose(grey[..., 0], grey[..., 2])


def test_plot_helpers_draw_what_they_say():
    import matplotlib.pyplot as plt

    maps = torch.randn(1, 40, 6, 6)
    fig = explain.plot_feature_maps(maps, first=32, count=16)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == [f"ch {c}" for c in range(32, 40)]
    assert explain.describe_maps("layer", maps, 32, 16) == "layer: 40 channels × 6×6, showing channels 32–39"
    plt.close(fig)
    fig = explain.plot_filters(nn.Conv2d(3, 10, 3).weight)
    assert sum(1 for ax in fig.axes if ax.images) == 10
    plt.close(fig)


# --------------------------------------------------------------------------- Grad-CAM
def test_grad_cam_works_through_a_frozen_body_and_cleans_up():
    torch.manual_seed(0)
    net = small_net().eval()
    for p in net.parameters():
        p.requires_grad_(False)
    x = torch.randn(1, 3, 32, 32)
    res = explain.grad_cam(net, net[4], x, class_index=1)
    assert res.cam.shape == (32, 32) and res.class_index == 1
    assert 0.0 <= res.cam.min() and res.cam.max() <= 1.0 + 1e-6 and res.cam.max() > 0.5
    assert n_hooks(net) == 0
    assert all(p.grad is None for p in net.parameters())
    assert res.peak((64, 128))[0] <= 64 and res.peak((64, 128))[1] <= 128


@needs_data
def test_grad_cam_peak_lies_on_the_cat(monkeypatch):
    from chapter5 import backbone

    if not (config.data_root() / "cat.jpg").is_file():
        monkeypatch.setenv("CHAPTER5_DATA", str(SHARED))
    bb = backbone.load_backbone(verbose=False)
    image = data.load_rgb(data.cat_image_path())
    assert image.size == (1920, 1080)
    x = explain.to_input(image, bb.mean, bb.std)
    with torch.no_grad():
        logits = bb.model(x)[0]
    cat_class = max(explain.IMAGENET_CAT_CLASSES, key=lambda i: float(logits[i]))
    res = explain.grad_cam(bb.model, bb.model.get_submodule(bb.feature_layers[-1]), x, cat_class)
    assert res.cam.shape == tuple(x.shape[-2:])
    px, py = res.peak(image.size)
    x0, y0, x1, y1 = CAT_BOX
    assert x0 <= px <= x1 and y0 <= py <= y1, (px, py)
    # and there is more heat on the cat than off it (the map is coarse: one cell ≈ 150 px here)
    h, w = res.cam.shape
    rows = (np.arange(h) + 0.5) * image.size[1] / h
    inside = (rows >= y0) & (rows <= y1)
    assert res.cam[inside].mean() > 1.3 * res.cam[~inside].mean()
    assert n_hooks(bb.model) == 0


# ------------------------------------------------------------------ images, explorer
def _png_bytes(color=(255, 0, 0)):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 6), color).save(buf, format="PNG")
    return buf.getvalue()


def test_image_from_upload_accepts_widget_values_and_rejects_junk():
    value = ({"name": "a.png", "type": "image/png", "size": 1, "content": memoryview(_png_bytes())},)
    img = explain.image_from_upload(value)
    assert img.mode == "RGB" and img.size == (8, 6) and img.getpixel((0, 0)) == (255, 0, 0)
    assert explain.image_from_upload(_png_bytes((0, 0, 255))).getpixel((1, 1)) == (0, 0, 255)
    with pytest.raises(ValueError):
        explain.image_from_upload(())
    with pytest.raises(ValueError):
        explain.image_from_upload(b"not an image")


@needs_data
def test_image_choices(monkeypatch):
    if not (config.data_root() / "cat.jpg").is_file():
        monkeypatch.setenv("CHAPTER5_DATA", str(SHARED))
    choices = explain.image_choices(2)
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
    views = {"A": explain.Viewable(net_a, tf, explain.list_layers(net_a, x)),
             "B": explain.Viewable(net_b, tf, explain.list_layers(net_b, x, names=["3"]))}
    box = explain.feature_map_explorer(views, {"red": Image.new("RGB", (40, 40), (200, 0, 0))}, count=4, step=4)
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


def test_grad_cam_model_uses_the_notebook03_classifier_or_falls_back(monkeypatch, capsys):
    import types

    import chapter5

    net = small_net().eval()
    fallback = types.SimpleNamespace(model=net, feature_layers=["0", "4"], name="tiny",
                                     mean=(0.5,) * 3, std=(0.25,) * 3)

    def install(load):
        fake = types.ModuleType("chapter5.classifier")
        fake.load_classifier = load
        monkeypatch.setitem(sys.modules, "chapter5.classifier", fake)
        monkeypatch.setattr(chapter5, "classifier", fake, raising=False)

    def missing(path=None):
        raise FileNotFoundError("no saved classifier: run notebook 03")

    install(missing)                                   # no saved file -> the ImageNet backbone
    cm = explain.grad_cam_model(fallback)
    assert cm.model is net and cm.target_layer is net[4] and len(cm.class_names) == 1000
    assert "no saved classifier" in capsys.readouterr().out

    body = small_net()
    clf = types.SimpleNamespace(model=body, class_names=["Cat", "Dog"],
                                backbone=types.SimpleNamespace(model=body, feature_layers=["0", "4"], name="tiny",
                                                               mean=(0.1,) * 3, std=(0.2,) * 3))
    install(lambda path=None: clf)                     # saved classifier -> explain it, with its classes
    cm = explain.grad_cam_model(fallback)
    assert cm.model is body and cm.target_layer is body[4] and cm.class_names == ["Cat", "Dog"]
    assert cm.mean == (0.1,) * 3 and not body.training
    res = explain.grad_cam(cm.model, cm.target_layer, torch.randn(1, 3, 32, 32))
    assert res.class_index in (0, 1) and res.cam.shape == (32, 32)

    clf.model = small_net()                            # classifier does not contain the backbone's layer
    cm = explain.grad_cam_model(fallback)
    assert cm.model is net and len(cm.class_names) == 1000
