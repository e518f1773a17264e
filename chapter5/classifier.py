"""The cats-vs-dogs classifier trained in notebook 03: save, load, predict, upload.

    clf = load_classifier()                 # <artifacts>/catdog_classifier.pt
    clf.predict_path("my_cat.jpg")          # {"Cat": 0.98, "Dog": 0.02}
    classify_upload(clf, raw_bytes)         # probabilities, or a short message for a bad file

The file holds the weights (only the head when the pretrained body was not
changed), the class names, the backbone name and the eval transform settings, and
is read with ``torch.load(weights_only=True)`` (no pickled code).
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .config import artifacts_dir

FORMAT = "chapter5-classifier/1"
CLASS_NAMES = ("Cat", "Dog")
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class ClassifierUnavailable(FileNotFoundError):
    """No usable saved classifier (missing, unreadable, or made with a backbone not available now)."""

    def _render_traceback_(self):  # IPython shows just this line, no traceback
        return [f"ClassifierUnavailable: {self}"]


class BadImage(ValueError):
    """The bytes are not a complete, readable image."""


def saved_path() -> Path:
    return artifacts_dir() / "catdog_classifier.pt"


def transform_settings(bb) -> dict:
    """The eval transform of ``bb`` as plain numbers (what the saved file stores)."""
    return {"image_size": bb.image_size, "resize": int(bb.image_size * 256 / 224),
            "mean": [float(v) for v in bb.mean], "std": [float(v) for v in bb.std]}


def eval_transform(settings: dict):
    """The eval transform described by :func:`transform_settings` (as stored in the saved file)."""
    from .data import imagenet_transform

    return imagenet_transform(settings["image_size"], False, settings["mean"], settings["std"],
                              resize=settings["resize"])


def save_classifier(bb, class_names=CLASS_NAMES, path=None, body_trained: bool = False,
                    metrics: dict | None = None) -> Path:
    """Save ``bb.model`` (pretrained body + trained head) with what is needed to use it again.

    With ``body_trained=False`` only the head's weights are stored: the body is the
    unchanged pretrained one, which :func:`load_classifier` gets from ``load_backbone``.
    """
    path = Path(path) if path else saved_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    state = bb.model.state_dict()
    if not body_trained:
        prefix = bb.head_name + "."
        state = {k: v for k, v in state.items() if k.startswith(prefix)}
    if bb.head.out_features != len(class_names):
        raise ValueError(f"the head has {bb.head.out_features} outputs but there are {len(class_names)} class names")
    payload = {"format": FORMAT, "backbone": bb.name, "head_name": bb.head_name,
               "class_names": list(class_names), "body_trained": bool(body_trained),
               "state_dict": {k: v.detach().cpu().clone() for k, v in state.items()},
               "transform": transform_settings(bb), "metrics": dict(metrics or {})}
    tmp = path.with_name(path.name + ".part")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def open_image_bytes(content) -> "PIL.Image.Image":
    """Decode uploaded bytes into an RGB image, or raise :class:`BadImage` with a short message."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    content = bytes(content or b"")
    if not content:
        raise BadImage("빈 파일입니다 (empty file): 사진 파일을 다시 올려 주세요.")
    if len(content) > MAX_UPLOAD_BYTES:
        raise BadImage(f"파일이 너무 큽니다 ({len(content) / 2**20:.0f} MB > {MAX_UPLOAD_BYTES // 2**20} MB).")
    try:
        with Image.open(io.BytesIO(content)) as img:
            img.load()  # decodes every byte: a truncated file fails here, not later
            img = ImageOps.exif_transpose(img)  # phone photos: honour the EXIF rotation
            return img.convert("RGB")
    except UnidentifiedImageError:
        raise BadImage("이미지 파일이 아닙니다 (not an image): JPEG/PNG 사진을 올려 주세요.") from None
    except Image.DecompressionBombError:
        raise BadImage("이미지의 픽셀 수가 너무 많습니다 (too many pixels).") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise BadImage(f"이미지 파일이 손상되었거나 잘렸습니다 (broken or truncated image: {err}).") from None


@dataclass
class Classifier:
    model: nn.Module                 # full model in eval mode: pretrained body + trained head
    backbone: object                 # chapter5.backbone.Backbone
    class_names: list
    transform: object                # eval transform (resize, crop, normalise)
    info: dict = field(default_factory=dict)

    @torch.no_grad()
    def predict_image(self, image) -> dict:
        """``{class name: probability}`` for one PIL image."""
        self.model.eval()
        x = self.transform(image.convert("RGB")).unsqueeze(0)
        device = next(self.model.parameters()).device
        prob = self.model(x.to(device)).softmax(1)[0].cpu()
        return {name: float(p) for name, p in zip(self.class_names, prob)}

    def predict_path(self, path) -> dict:
        from .data import load_rgb

        return self.predict_image(load_rgb(path))

    def predict_bytes(self, content) -> dict:
        """Like :meth:`predict_image` for raw file bytes; raises :class:`BadImage`."""
        return self.predict_image(open_image_bytes(content))


def load_classifier(path=None) -> Classifier:
    """Load what :func:`save_classifier` wrote; raise :class:`ClassifierUnavailable` (a FileNotFoundError)
    with a one-line message when there is no usable file."""
    from .backbone import load_backbone

    path = Path(path) if path else saved_path()
    if not path.is_file():
        raise ClassifierUnavailable(
            f"no saved classifier at {path.name} in the artifacts folder: run notebook 03 "
            f"(03_feature_extraction.ipynb) once to train and save it.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ValueError("unknown format")
    except Exception as err:  # truncated / foreign file
        raise ClassifierUnavailable(
            f"{path.name} is not a readable chapter5 classifier ({type(err).__name__}): "
            f"re-run notebook 03 to save it again.") from None
    wanted = payload["backbone"]
    bb = load_backbone(prefer=wanted, verbose=False)
    if bb.name != wanted:
        raise ClassifierUnavailable(
            f"{path.name} was trained on the {wanted} backbone, which is not available here "
            f"(this machine has {bb.name}): re-run notebook 03 to train a classifier for {bb.name}.")
    classes = list(payload["class_names"])
    bb.replace_head(len(classes))
    missing, unexpected = bb.model.load_state_dict(payload["state_dict"], strict=False)
    head_keys = {k for k in bb.model.state_dict() if k.startswith(bb.head_name + ".")}
    if unexpected or head_keys & set(missing) or (payload["body_trained"] and missing):
        raise ClassifierUnavailable(f"{path.name} does not match the {bb.name} architecture: re-run notebook 03.")
    bb.model.eval()
    for p in bb.model.parameters():
        p.requires_grad = False
    return Classifier(bb.model, bb, classes, eval_transform(payload["transform"]),
                      {"metrics": payload.get("metrics", {}), "body_trained": payload["body_trained"],
                       "transform": payload["transform"]})


def upload_content(value):
    """``(file name, bytes)`` of the first file in a ``FileUpload.value`` (ipywidgets 8 tuple of dicts,
    ipywidgets 7 dict), or of raw bytes; ``("", b"")`` when nothing was uploaded."""
    if value is None:
        return "", b""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "", bytes(value)
    if isinstance(value, dict):  # ipywidgets 7: {name: {"metadata": ..., "content": ...}}
        if not value:
            return "", b""
        name, item = next(iter(value.items()))
        return str(name), bytes(item.get("content") or b"")
    items = list(value)
    if not items:
        return "", b""
    item = items[0]
    return str(item.get("name", "")), bytes(item.get("content") or b"")


def classify_upload(clf: Classifier, content) -> dict | str:
    """Probabilities for an uploaded file (bytes or a ``FileUpload.value``), or a short message."""
    _, data = upload_content(content)
    try:
        return clf.predict_bytes(data)
    except BadImage as err:
        return str(err)


def plot_prediction(image, probs: dict, title: str = ""):
    """The image next to a bar chart of its class probabilities."""
    import matplotlib.pyplot as plt

    names, values = list(probs), [100 * probs[n] for n in probs]
    best = max(probs, key=probs.get)
    fig, (ax_img, ax_bar) = plt.subplots(1, 2, figsize=(8, 3.4), gridspec_kw={"width_ratios": [1.2, 1]})
    ax_img.imshow(image)
    ax_img.axis("off")
    ax_img.set_title(f"{title} → {best} ({100 * probs[best]:.1f}%)" if title else f"예측: {best} ({100 * probs[best]:.1f}%)")
    bars = ax_bar.barh(names, values, color=["tab:green" if n == best else "tab:gray" for n in names])
    for b, v in zip(bars, values):
        ax_bar.text(min(v + 2, 80), b.get_y() + b.get_height() / 2, f"{v:.1f}%", va="center")
    ax_bar.set(xlim=(0, 100), xlabel="확률 (%)", title="클래스별 확률 (softmax)")
    fig.tight_layout()
    return fig


def upload_widget(clf: Classifier):
    """A ``FileUpload`` that classifies the uploaded photo and shows it with its probabilities."""
    import ipywidgets as W
    import matplotlib.pyplot as plt
    from IPython.display import display

    upload = W.FileUpload(accept="image/*", multiple=False, description="사진 올리기")
    out = W.Output()

    def on_upload(change):
        out.clear_output(wait=True)
        with out:
            try:
                name, data = upload_content(change["new"])
                if not name and not data:
                    return
                image = open_image_bytes(data)
                probs = clf.predict_image(image)
                display(plot_prediction(image, probs, title=name))
                plt.close("all")
            except BadImage as err:
                print(err)
            except Exception as err:  # never let a callback die silently
                print(f"예측하지 못했습니다: {type(err).__name__}: {err}")

    upload.observe(on_upload, names="value")
    return W.VBox([W.HTML("고양이나 개 사진 (JPEG/PNG) 을 올려 보세요."), upload, out])
