"""chapter5.gradcam: Grad-CAM by hand == the helper, the model to explain, heat in a box vs random boxes."""
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from chapter5 import config, data, gradcam
# shared with tests/test_features.py: data marker, Korean font fixture, a small CNN, hook count
from test_features import SHARED, korean_font, n_hooks, needs_data, small_net  # noqa: F401

# Hand-marked in the original 1920×1080 cat.jpg (x0, y0, x1, y1): the whole cat, from the
# tip of its left ear to its paws; it lies across the full width of the photo.
WHOLE_CAT = (0, 140, 1920, 960)


# --------------------------------------------------------------------------- Grad-CAM
def test_grad_cam_works_through_a_frozen_body_and_cleans_up():
    torch.manual_seed(0)
    net = small_net().eval()
    for p in net.parameters():
        p.requires_grad_(False)
    x = torch.randn(1, 3, 32, 32)
    res = gradcam.grad_cam(net, net[4], x, class_index=1)
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
    x = gradcam.to_input(image, bb.mean, bb.std)
    with torch.no_grad():
        logits = bb.model(x)[0]
    cat_class = max(gradcam.IMAGENET_CAT_CLASSES, key=lambda i: float(logits[i]))
    res = gradcam.grad_cam(bb.model, bb.model.get_submodule(bb.feature_layers[-1]), x, cat_class)
    assert res.cam.shape == tuple(x.shape[-2:])
    px, py = res.peak(image.size)
    x0, y0, x1, y1 = WHOLE_CAT
    assert x0 <= px <= x1 and y0 <= py <= y1, (px, py)
    assert n_hooks(bb.model) == 0


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
    cm = gradcam.grad_cam_model(fallback)
    assert cm.model is net and cm.target_layer is net[4] and len(cm.class_names) == 1000
    assert cm.backbone is fallback
    assert "no saved classifier" in capsys.readouterr().out

    body = small_net()
    clf = types.SimpleNamespace(model=body, class_names=["Cat", "Dog"],
                                backbone=types.SimpleNamespace(model=body, feature_layers=["0", "4"], name="tiny",
                                                               mean=(0.1,) * 3, std=(0.2,) * 3))
    install(lambda path=None: clf)                     # saved classifier -> explain it, with its classes
    cm = gradcam.grad_cam_model(fallback)
    assert cm.model is body and cm.target_layer is body[4] and cm.class_names == ["Cat", "Dog"]
    assert cm.mean == (0.1,) * 3 and not body.training
    res = gradcam.grad_cam(cm.model, cm.target_layer, torch.randn(1, 3, 32, 32))
    assert res.class_index in (0, 1) and res.cam.shape == (32, 32)

    clf.model = small_net()                            # classifier does not contain the backbone's layer
    cm = gradcam.grad_cam_model(fallback)
    assert cm.model is net and len(cm.class_names) == 1000


def grad_cam_by_hand(model, layer, x, class_index):
    """Grad-CAM exactly as notebook 05 section 10 builds it (forward hook + tensor hook,
    weights = mean of the gradients, ReLU, cv2 bilinear upsampling, min-max)."""
    import cv2

    store = {}

    def keep_gradient(grad):
        store["dA"] = grad

    def keep_activation(module, inputs, output):
        store["A"] = output
        output.register_hook(keep_gradient)

    handle = layer.register_forward_hook(keep_activation)
    logits = model(x.clone().requires_grad_(True))
    handle.remove()
    model.zero_grad()
    logits[0, class_index].backward()
    A, dA = store["A"].detach(), store["dA"]
    alpha = dA.mean(dim=(2, 3), keepdim=True)
    cam_small = F.relu((alpha * A).sum(dim=1))[0]
    H, W = x.shape[-2:]
    big = cv2.resize(cam_small.numpy(), (W, H), interpolation=cv2.INTER_LINEAR)
    torch_big = F.interpolate(cam_small[None, None], size=(H, W), mode="bilinear", align_corners=False)[0, 0]
    assert np.abs(big - torch_big.numpy()).max() < 1e-5         # cv2 INTER_LINEAR == F.interpolate bilinear
    return (big - big.min()) / (big.max() - big.min())


def test_grad_cam_by_hand_equals_the_helper_on_a_small_net():
    torch.manual_seed(0)
    net = small_net().eval()
    for p in net.parameters():
        p.requires_grad_(False)                                  # frozen, like notebook 03's body
    x = torch.randn(1, 3, 40, 56)
    res = gradcam.grad_cam(net, net[4], x, class_index=1)
    mine = grad_cam_by_hand(net, net[4], x, 1)
    assert mine.shape == res.cam.shape == (40, 56)
    assert np.abs(mine - res.cam).max() < 1e-4


def test_random_box_shares_are_the_area_for_a_flat_map():
    res = gradcam.CamResult(np.ones((20, 40), dtype=np.float32), 0, 1.0)
    box = (0, 0, 100, 50)                                        # 1/4 × 1/2 of a 400×100 photo
    assert res.share_inside(box, (400, 100)) == pytest.approx(0.125, abs=0.02)
    shares = res.random_box_shares(box, (400, 100), n=200, seed=1)
    assert shares.shape == (200,) and abs(shares.mean() - 0.125) < 0.02
    assert np.array_equal(shares, res.random_box_shares(box, (400, 100), n=200, seed=1))
    hot = np.zeros((20, 40), dtype=np.float32)
    hot[:10, :10] = 1.0                                          # all heat in the top-left 100×50 px
    res = gradcam.CamResult(hot, 0, 1.0)
    assert res.share_inside(box, (400, 100)) == pytest.approx(1.0)
    assert res.random_box_shares(box, (400, 100), n=200).mean() < 0.5


@needs_data
def test_notebook05_grad_cam_figures_on_the_cat(monkeypatch):
    """What notebook 05 (sections 10-11) computes and says, on the model it explains: by hand ==
    helper; the door box gets far less heat than random boxes of its size; the head box gets
    about what random boxes of its size get (the heat covers the whole cat)."""
    if not (config.data_root() / "cat.jpg").is_file():
        monkeypatch.setenv("CHAPTER5_DATA", str(SHARED))
    explained = gradcam.grad_cam_model()
    image = data.load_rgb(data.cat_image_path())
    x = gradcam.to_input(image, explained.mean, explained.std)
    res = gradcam.grad_cam(explained.model, explained.target_layer, x)
    assert np.abs(grad_cam_by_hand(explained.model, explained.target_layer, x, res.class_index) - res.cam).max() < 1e-4
    if len(explained.class_names) != 2:
        pytest.skip("notebook 03's classifier is not available: the figures below are about it")
    assert explained.class_names[res.class_index] == "Cat"
    door = res.share_inside(gradcam.DOOR_BOX, image.size)
    door_rand = res.random_box_shares(gradcam.DOOR_BOX, image.size, n=1000)
    assert door < door_rand.mean() - 2 * door_rand.std(), (door, door_rand.mean(), door_rand.std())
    head = res.share_inside(gradcam.CAT_HEAD_BOX, image.size)
    head_rand = res.random_box_shares(gradcam.CAT_HEAD_BOX, image.size, n=1000)
    assert abs(head - head_rand.mean()) < 2 * head_rand.std(), (head, head_rand.mean(), head_rand.std())
    assert n_hooks(explained.model) == 0


def test_notebook05_compares_box_shares_with_random_boxes():
    import nbformat

    nb = nbformat.read(Path(__file__).resolve().parents[1] / "notebooks" / "05_feature_maps.ipynb", as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    cells = [s for s in code if "share_inside(box" in s]
    assert cells and all("random_box_shares(box" in s and "report(" in s for s in cells)
    assert any("dA.mean(dim=(2, 3)" in s for s in code) and any("register_hook(" in s for s in code)
