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


# ------------------------------------------------- batch Grad-CAM and the checks of notebook 05 §11
def test_batch_cams_equal_the_helper_photo_by_photo():
    torch.manual_seed(0)
    net = small_net().eval()
    for p in net.parameters():
        p.requires_grad_(False)
    x = torch.randn(5, 3, 36, 44)
    classes = [0, 1, 1, 0, 1]
    small = gradcam.cams(net, net[4], x, classes, batch=2)
    assert small.shape == (5, 17, 21) and (small >= 0).all()
    big = gradcam.upsample(small, x.shape[-2:])
    for i, c in enumerate(classes):
        ref = gradcam.grad_cam(net, net[4], x[i:i + 1], c).cam
        assert np.abs(big[i].numpy() - ref).max() < 1e-4, i
    assert n_hooks(net) == 0 and all(p.grad is None for p in net.parameters())


class CornerNet(torch.nn.Module):
    """Class 1's logit is the mean brightness of the top-left quarter; class 0's is zero."""

    def forward(self, x):
        h, w = x.shape[-2:]
        s = x[:, :, : h // 2, : w // 2].mean((1, 2, 3))
        return torch.stack([torch.zeros_like(s), 4 * s], 1)


def test_deletion_curves_fall_faster_when_the_heat_is_where_the_score_comes_from():
    x = torch.ones(6, 3, 28, 28)
    right = torch.zeros(6, 28, 28)
    right[:, :14, :14] = 1.0                               # heat on the top-left: where class 1 comes from
    wrong = torch.zeros(6, 28, 28)
    wrong[:, 14:, 14:] = 1.0                               # heat on the bottom-right: irrelevant
    steps = (0.125, 0.25, 0.5)                             # 2, 4 and 8 of the 4×4 cells
    good = gradcam.deletion_curves(CornerNet(), x, right, [1] * 6, fractions=steps, grid=4)
    bad = gradcam.deletion_curves(CornerNet(), x, wrong, [1] * 6, fractions=steps, grid=4)
    assert good["fractions"] == [0.0, *steps] and good["heat"].shape == good["random"].shape == (6, 4)
    p0 = float(torch.sigmoid(torch.tensor(4.0)))
    assert np.allclose(good["heat"][:, 0], p0) and np.allclose(good["random"][:, 0], p0)
    assert np.allclose(good["heat"][:, 2:], 0.5)                       # the whole top-left quarter gone
    assert (good["random"][:, 2] > 0.5).sum() >= 4                     # 4 random cells rarely are that quarter
    assert np.allclose(bad["heat"][:, 1:3], p0)                        # the bottom-right changes nothing
    assert gradcam.deletion_sentence(good).startswith("열이 높은 칸부터 지우면 무작위 칸을 지울 때보다 점수가 빨리")
    assert gradcam.deletion_sentence(bad).startswith("열이 높은 칸부터 지워도")


def test_deletion_sentence_from_synthetic_tables():
    f = [0.0, 0.1, 0.25, 0.5]
    falls = {"fractions": f, "heat": np.tile([0.9, 0.5, 0.3, 0.2], (20, 1)) + np.linspace(0, 0.05, 20)[:, None],
             "random": np.tile([0.9, 0.85, 0.8, 0.7], (20, 1))}
    s = gradcam.deletion_sentence(falls)
    assert s.startswith("열이 높은 칸부터 지우면") and "사진 20장 중 20장에서" in s
    same = {"fractions": f, "heat": falls["random"] + np.resize([0.02, -0.02], 20)[:, None], "random": falls["random"]}
    assert gradcam.deletion_sentence(same).startswith("열이 높은 칸부터 지워도")
    slower = {"fractions": f, "heat": falls["random"], "random": falls["heat"]}   # heat order is the slower one
    assert "말할 수 없습니다" in gradcam.deletion_sentence(slower)
    assert gradcam.deletion_auc(np.ones((1, 4)), f)[0] == pytest.approx(1.0)


def test_randomisation_sentence_from_synthetic_tables():
    changed = {"stages": ["head", "top half", "all"], "other photo": [0.3, 0.2],
               "rho": {"head": [0.1, 0.2], "top half": [0.0, 0.1], "all": [-0.1, 0.05]}}
    s = gradcam.randomisation_sentence(changed)
    assert "통과합니다" in s and "못합니다" not in s and "head 0.15" in s and "0.25" in s
    kept = {**changed, "rho": {**changed["rho"], "top half": [0.9, 0.8]}}
    s = gradcam.randomisation_sentence(kept)
    assert "통과하지 못합니다" in s and "(top half;" in s
    flat = {**changed, "rho": {**changed["rho"], "all": [float("nan"), float("nan")]}}
    assert "통과하지 못합니다" in gradcam.randomisation_sentence(flat)   # no map at all is no evidence of change


def test_randomisation_check_on_a_small_net():
    torch.manual_seed(0)
    net = small_net().eval()
    x = torch.randn(4, 3, 32, 32)
    table = gradcam.randomisation_check(net, "4", x, [1, 1, 0, 0], {"head": "8", "all": "0"})
    assert table["stages"] == ["head", "all"] and len(table["rho"]["head"]) == 4 and len(table["other photo"]) == 4
    assert all(-1 <= r <= 1 for r in table["rho"]["head"] + table["rho"]["all"])
    a = np.arange(12.0).reshape(3, 4)
    assert gradcam.rank_correlation(a, 2 * a + 1) == pytest.approx(1.0) and np.isnan(gradcam.rank_correlation(a, np.zeros((3, 4))))
    assert n_hooks(net) == 0


def test_box_sentence_three_verdicts():
    r = np.linspace(10, 20, 1000)
    assert "많이 몰려" in gradcam.box_sentence("머리", 25.0, r)
    assert "적습니다" in gradcam.box_sentence("문", 5.0, r)
    s = gradcam.box_sentence("머리", 15.0, r)
    assert "구별되지 않습니다" in s and "50%" in s


def test_grad_cam_model_rebuilds_the_classifier_from_a_recorded_head(monkeypatch, capsys):
    import types

    import chapter5
    from chapter5 import backbone

    def missing(path=None):
        raise FileNotFoundError("no saved classifier: run notebook 03")

    fake = types.ModuleType("chapter5.classifier")
    fake.load_classifier = missing
    monkeypatch.setitem(sys.modules, "chapter5.classifier", fake)
    monkeypatch.setattr(chapter5, "classifier", fake, raising=False)
    monkeypatch.setenv("CHAPTER5_DATA", "/nonexistent")
    bb = backbone.load_backbone(prefer=backbone.EFFNET_LITE0, verbose=False)
    torch.manual_seed(0)
    head = {"backbone": bb.name, "class_names": ["Cat", "Dog"],
            "head": {"weight": torch.randn(2, bb.feature_dim), "bias": torch.tensor([0.5, -0.5])}}
    cm = gradcam.grad_cam_model(head=head)
    out = capsys.readouterr().out
    assert "기록된 head" in out and f"backbone: {bb.name} (" in out
    assert cm.class_names == ["Cat", "Dog"] and torch.equal(cm.backbone.head.bias, torch.tensor([0.5, -0.5]))
    assert cm.target_layer is cm.model.get_submodule(bb.feature_layers[-1])
    assert not any(p.requires_grad for p in cm.model.parameters())
    cm = gradcam.grad_cam_model(fallback=bb, head={**head, "backbone": "no-such-net"})
    assert len(cm.class_names) == 1000 and "no-such-net" in capsys.readouterr().out
