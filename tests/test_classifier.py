"""The saved cats-vs-dogs classifier: save/load round trip, clear failures, and the upload path."""
import datetime
import io
from pathlib import Path

import pytest
import torch
from PIL import Image

from chapter5 import backbone, classifier

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CAT = SHARED / "catanddog" / "test" / "Cat"
needs_data = pytest.mark.skipif(not CAT.is_dir(), reason="offline course data not present")


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No ResNet18 weights and no downloads: the EfficientNet-Lite0 branch, as on these machines."""
    monkeypatch.setenv("CHAPTER5_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    torch.hub.set_dir(str(tmp_path / "torch" / "hub"))
    monkeypatch.setenv("CHAPTER5_ARTIFACTS", str(tmp_path / "artifacts"))
    yield tmp_path
    torch.hub.set_dir(str(Path.home() / ".cache" / "torch" / "hub"))


@pytest.fixture
def saved(offline):
    """A classifier saved the way notebook 03 saves it (head only), with a seeded head."""
    bb = backbone.load_backbone(verbose=False)
    torch.manual_seed(0)
    bb.replace_head(2)
    with torch.no_grad():
        bb.head.weight.mul_(20)  # a head with confident, non-trivial outputs
    bb.model.eval()
    path = classifier.save_classifier(bb, ["Cat", "Dog"], metrics={"test_acc": 0.5})
    return bb, path


def _jpeg_bytes(size=(64, 48), color=(200, 120, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def test_saved_path_is_in_artifacts(offline):
    assert classifier.saved_path() == offline / "artifacts" / "catdog_classifier.pt"


def test_missing_file_is_a_clear_file_not_found(offline):
    with pytest.raises(FileNotFoundError) as info:
        classifier.load_classifier()
    msg = str(info.value)
    assert "notebook 03" in msg and "\n" not in msg and str(offline) not in msg
    assert isinstance(info.value, classifier.ClassifierUnavailable)


def test_round_trip_gives_the_same_predictions(saved):
    bb, path = saved
    assert path == classifier.saved_path() and path.is_file()
    payload = torch.load(path, weights_only=True)
    assert set(payload["state_dict"]) == {"_fc.weight", "_fc.bias"}  # head only: the body is pretrained
    assert payload["backbone"] == "efficientnet-lite0" and payload["class_names"] == ["Cat", "Dog"]
    assert payload["transform"]["mean"] == pytest.approx(list(bb.mean))
    clf = classifier.load_classifier()
    assert clf.class_names == ["Cat", "Dog"] and clf.backbone.name == "efficientnet-lite0"
    assert not clf.model.training and clf.info["metrics"]["test_acc"] == 0.5
    img = Image.new("RGB", (300, 200), (30, 160, 90))
    x = bb.transform()(img).unsqueeze(0)
    with torch.no_grad():
        expected = bb.model(x).softmax(1)[0]
    probs = clf.predict_image(img)
    assert list(probs) == ["Cat", "Dog"]
    assert probs["Cat"] == pytest.approx(float(expected[0]), abs=1e-5)
    assert sum(probs.values()) == pytest.approx(1.0)
    assert max(probs.values()) > 0.6  # the scaled head is confident, so the comparison is not vacuous


def test_full_weights_round_trip(offline):
    bb = backbone.load_backbone(verbose=False)
    bb.replace_head(2)
    with torch.no_grad():
        bb.model._conv_head.weight.mul_(1.5)  # a "fine-tuned" body
    bb.model.eval()
    path = classifier.save_classifier(bb, ["Cat", "Dog"], path=offline / "ft.pt", body_trained=True)
    clf = classifier.load_classifier(path)
    assert torch.equal(clf.model._conv_head.weight, bb.model._conv_head.weight)


@needs_data
def test_predict_path_and_upload_of_a_real_photo(saved):
    clf = classifier.load_classifier()
    photo = sorted(CAT.glob("*.jpg"))[0]
    by_path = clf.predict_path(photo)
    by_upload = classifier.classify_upload(clf, photo.read_bytes())
    assert isinstance(by_upload, dict) and list(by_upload) == ["Cat", "Dog"]
    assert by_upload == pytest.approx(by_path, abs=1e-6)


def test_upload_messages_for_bad_files(saved, tmp_path):
    clf = classifier.load_classifier()
    text_as_jpg = tmp_path / "notes.jpg"
    text_as_jpg.write_text("these are my notes, not a photo")
    good = _jpeg_bytes((320, 240))
    cases = {
        "text file renamed .jpg": (text_as_jpg.read_bytes(), "이미지 파일이 아닙니다"),
        "truncated JPEG": (good[: len(good) // 2], "잘렸습니다"),
        "empty upload": (b"", "빈 파일"),
    }
    for name, (content, expected) in cases.items():
        out = classifier.classify_upload(clf, content)
        assert isinstance(out, str), name
        assert expected in out and "\n" not in out and len(out) < 160, (name, out)
    assert isinstance(classifier.classify_upload(clf, good), dict)


def test_upload_value_formats(saved):
    clf = classifier.load_classifier()
    good = _jpeg_bytes()
    v8 = ({"name": "kitty.jpg", "type": "image/jpeg", "size": len(good), "content": memoryview(good),
           "last_modified": 0},)
    v7 = {"kitty.jpg": {"metadata": {"name": "kitty.jpg"}, "content": good}}
    assert classifier.upload_content(v8) == ("kitty.jpg", good)
    assert classifier.upload_content(v7) == ("kitty.jpg", good)
    assert classifier.upload_content(()) == ("", b"")
    assert classifier.upload_content(None) == ("", b"")
    assert classifier.classify_upload(clf, v8) == pytest.approx(classifier.classify_upload(clf, good))
    assert "빈 파일" in classifier.classify_upload(clf, ())


def test_open_image_bytes_handles_modes_and_rotation():
    buf = io.BytesIO()
    Image.new("RGBA", (40, 20), (255, 0, 0, 128)).save(buf, format="PNG")
    assert classifier.open_image_bytes(buf.getvalue()).mode == "RGB"
    buf = io.BytesIO()
    Image.new("L", (40, 20), 128).save(buf, format="PNG")
    assert classifier.open_image_bytes(buf.getvalue()).size == (40, 20)
    # a phone photo stored sideways with EXIF orientation 6 (rotate 90 degrees) comes back upright
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.new("RGB", (40, 20), (0, 0, 255)).save(buf, format="JPEG", exif=exif.tobytes())
    assert classifier.open_image_bytes(buf.getvalue()).size == (20, 40)


def test_upload_widget_callback_reports_instead_of_raising(saved, capsys):
    pytest.importorskip("ipywidgets")
    from chapter5 import viz

    viz.use_korean_font()
    clf = classifier.load_classifier()
    box = classifier.upload_widget(clf)
    upload = box.children[1]
    bad = b"GIF89a but not really"
    when = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    upload.value = ({"name": "x.jpg", "type": "image/jpeg", "size": len(bad), "content": memoryview(bad),
                     "last_modified": when},)
    assert "이미지 파일이 아닙니다" in capsys.readouterr().out
    good = _jpeg_bytes((120, 90))
    upload.value = ({"name": "ok.jpg", "type": "image/jpeg", "size": len(good), "content": memoryview(good),
                     "last_modified": when},)
    out = capsys.readouterr().out
    assert "Figure" in out and "예측하지 못했습니다" not in out  # the prediction plot, no error


def test_unreadable_file_and_unavailable_backbone(saved, offline):
    bb, path = saved
    broken = offline / "broken.pt"
    broken.write_bytes(b"\x00not a torch file")
    with pytest.raises(FileNotFoundError, match="not a readable chapter5 classifier"):
        classifier.load_classifier(broken)
    # a file made on a machine that had ResNet18, opened where only EfficientNet-Lite0 is available
    payload = torch.load(path, weights_only=True)
    payload["backbone"] = "resnet18"
    payload["state_dict"] = {"fc.weight": torch.zeros(2, 512), "fc.bias": torch.zeros(2)}
    other = offline / "resnet.pt"
    torch.save(payload, other)
    with pytest.raises(FileNotFoundError) as info:
        classifier.load_classifier(other)
    msg = str(info.value)
    assert "resnet18" in msg and "not available" in msg and "efficientnet-lite0" in msg and "\n" not in msg


@pytest.fixture
def big_photo(tmp_path):
    """A real photo saved as a JPEG of more than 1 MB (what Colab's FileUpload drops)."""
    src = SHARED / "cat.jpg"
    if not src.is_file():
        pytest.skip("offline course data not present")
    with Image.open(src) as img:
        big = img.convert("RGB").resize((3000, 2000))
    path = tmp_path / "phone photo.jpg"
    big.save(path, quality=98)
    assert path.stat().st_size > 2**20, path.stat().st_size
    return path


def test_photo_path_takes_a_big_photo_from_a_path(big_photo, capsys):
    assert classifier.photo_path(str(big_photo)) == big_photo
    out = capsys.readouterr().out
    assert "phone photo.jpg" in out and "MB" in out
    image = Image.open(classifier.photo_path(big_photo))
    assert image.size == (3000, 2000)


def test_photo_path_says_what_to_do_instead_of_raising(tmp_path, capsys):
    assert classifier.photo_path("") is None
    assert "PHOTO_PATH" in capsys.readouterr().out
    assert classifier.photo_path(tmp_path / "nope.jpg") is None
    out = capsys.readouterr().out
    assert out.startswith("❌ 파일을 찾지 못했습니다") and out.count("\n") == 1
    junk = tmp_path / "notes.jpg"
    junk.write_bytes(b"hello")
    assert classifier.photo_path(junk) is None
    assert "이미지 파일이 아닙니다" in capsys.readouterr().out
    # "colab" outside Colab: a line, no import of google.colab
    assert classifier.photo_path("colab") is None
    assert "Google Colab 에서만" in capsys.readouterr().out


def test_photo_path_uses_colabs_own_uploader_in_colab(big_photo, tmp_path, monkeypatch, capsys):
    """In Colab, "colab" opens google.colab.files.upload (no 1 MB limit); its files land in the
    working folder and the returned path is that file."""
    import sys
    import types

    calls = []

    def upload():
        calls.append(1)
        (tmp_path / "IMG_0001.jpg").write_bytes(big_photo.read_bytes())
        return {"IMG_0001.jpg": big_photo.read_bytes()}

    google = types.ModuleType("google")
    google_colab = types.ModuleType("google.colab")
    google_colab.files = types.SimpleNamespace(upload=upload)
    google.colab = google_colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", google_colab)
    monkeypatch.chdir(tmp_path)
    got = classifier.photo_path("colab")
    assert calls == [1]
    assert got == (tmp_path / "IMG_0001.jpg").resolve()
    assert Image.open(got).size == (3000, 2000)
    # the dialog was closed without a file
    google_colab.files.upload = lambda: {}
    assert classifier.photo_path("COLAB") is None
    assert "고르지 않았습니다" in capsys.readouterr().out
