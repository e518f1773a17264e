"""The cats-vs-dogs classifier trained in notebook 03: save, load, predict, upload.

    clf = load_classifier()                 # <artifacts>/catdog_classifier.pt
    clf.predict_path("my_cat.jpg")          # {"Cat": 0.98, "Dog": 0.02}
    classify_upload(clf, raw_bytes)         # probabilities, or a short message for a bad file
    photo_path("my_dog.jpg") / photo_path("colab")   # a photo of any size (path, or Colab's uploader)

The file holds the weights (only the head when the pretrained body was not
changed), the class names, the backbone name and the eval transform settings, and
is read with ``torch.load(weights_only=True)`` (no pickled code).

The fair comparison of notebook 03 §7 lives here too: :func:`checkpoint_run` (save a
checkpoint every epoch, reload each with ``load_state_dict``, pick one on a validation
split, never on the test set), :func:`comparison_table` and :func:`comparison_sentence`
(the prose numbers come from the measured table).
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .config import artifacts_dir, in_colab

FORMAT = "chapter5-classifier/1"


def save_atomic(obj, path: Path) -> Path:
    """``torch.save`` to a temporary file beside ``path``, then rename it: a reader never sees a
    half-written file, and two kernels saving at once never write into the same temporary file."""
    import os

    tmp = path.with_name(f"{path.name}.{os.getpid()}.part")
    torch.save(obj, tmp)
    os.replace(tmp, path)
    return path
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

    노트북 03 §7 에서 ``torch.save(model.state_dict(), path)`` / ``load_state_dict`` 를 먼저 그대로
    보여 줍니다 (the plain calls are first shown in notebooks/03_feature_extraction.ipynb, section 7).

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
    return save_atomic(payload, path)


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
        """``{class name: probability}`` for one PIL image.

        노트북 03 §3 에서 같은 단계 (eval → transform → unsqueeze(0) → no_grad → softmax) 를
        셀에 그대로 씁니다 (the same steps written out in notebooks/03_feature_extraction.ipynb).
        """
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
    return W.VBox([W.HTML("고양이나 개 사진 (JPEG/PNG) 을 올려 보세요. " + BIG_PHOTO_TIP), upload, out])


COLAB_UPLOAD = "colab"  # the PHOTO_PATH that opens Colab's own upload dialog
BIG_PHOTO_TIP = ("Colab 에서 1 MB 이상 사진이 올라가지 않으면 아래 <code>PHOTO_PATH</code> 셀을 쓰세요 "
                 "(Colab 의 위젯은 1 MB 이상 파일을 버립니다).")


def photo_path(path="") -> Path | None:
    """A photo of any size, checked, for notebooks 03 and 05: a file on disk, or with
    ``path="colab"`` Colab's own uploader (``google.colab.files.upload``, no size limit).

    Colab's ipywidgets 7.7.1 ``FileUpload`` silently drops files of 1 MB or more
    (ipywidgets#3452) and phone photos are bigger. Returns the image file, or None after
    one Korean line that says what to do.
    """
    path = str(path or "").strip()
    if not path:
        print("ℹ️ 큰 사진 (1 MB 이상): PHOTO_PATH 에 사진 파일의 경로를 적고 (Colab 에서는 \"colab\") 이 셀을 다시 실행하세요.")
        return None
    if path.lower() == COLAB_UPLOAD:
        if not in_colab():
            print("ℹ️ \"colab\" 은 Google Colab 에서만 됩니다: 여기서는 PHOTO_PATH 에 사진 파일의 경로를 적으세요.")
            return None
        from google.colab import files  # Colab's own dialog; it also writes the files to the working folder

        uploaded = files.upload()
        if not uploaded:
            print("ℹ️ 사진을 고르지 않았습니다: 셀을 다시 실행하고 파일을 고르세요.")
            return None
        name, content = next(iter(uploaded.items()))
        file = Path(name).resolve()
        if not file.is_file():
            file.write_bytes(content)
    else:
        file = Path(path).expanduser()
    if not file.is_file():
        print(f"❌ 파일을 찾지 못했습니다: {path} — 경로를 확인하세요 (Colab: 왼쪽 📁 파일 패널 → 파일의 ⋮ → '경로 복사').")
        return None
    try:
        open_image_bytes(file.read_bytes())
    except BadImage as err:
        print(f"❌ {file.name}: {err}")
        return None
    print(f"📷 {file.name} ({file.stat().st_size / 2**20:.1f} MB)")
    return file


# --------------------------------------------------------------------------- fair comparison (notebook 03 §7)

# The textbook's published notebook (ResNet18, 13 epochs with augmentation) evaluates every one of
# its 13 epoch checkpoints on the *test* set. Test accuracies (%) as printed there:
BOOK_RESNET18 = {"epochs": 13, "first": 73.47, "quoted": 91.84, "quoted_epoch": 2,
                 "best_on_test": 94.90, "last": 92.86}


def split_cached(cached, val_fraction: float = 0.2, seed: int = 0):
    """``(train, val)``: a reproducible random split of cached features (``transfer.Cached``)."""
    from .transfer import Cached

    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(cached.y), generator=g)
    n_val = max(1, int(round(val_fraction * len(idx))))
    va, tr = idx[:n_val], idx[n_val:]
    return Cached(cached.x[tr], cached.y[tr], 0.0), Cached(cached.x[va], cached.y[va], 0.0)


def checkpoint_run(train_feats, val_feats, test_feats, ckpt_dir, *, epochs: int, lr: float = 1e-3,
                   seed: int = 0, batch_size: int = 32) -> dict:
    """Train a fresh head on cached features, ``torch.save`` its ``state_dict`` after every epoch,
    then ``glob`` the ``.pth`` files, ``load_state_dict`` each and measure it on val and test.

    Returns per-epoch lists ``val_acc``, ``val_loss``, ``test_acc`` (fractions) and ``paths``.
    노트북 03 §7 에서 처음 전체 코드를 보여 줍니다 (first shown in full in
    notebooks/03_feature_extraction.ipynb, section 7).
    """
    import glob

    from .config import seed_everything
    from .train import evaluate, fit

    ckpt_dir = Path(ckpt_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    for old in ckpt_dir.glob("*.pth"):
        old.unlink()
    seed_everything(seed)
    head = nn.Linear(train_feats.x.shape[1], int(train_feats.y.max()) + 1)
    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    loader = train_feats.loader(batch_size, shuffle=True)
    for epoch in range(epochs):
        fit(head, loader, None, epochs=1, optimizer=optimizer, seed=None, progress=False)
        torch.save(head.state_dict(), ckpt_dir / f"{epoch:02d}.pth")
    out = {"val_acc": [], "val_loss": [], "test_acc": [], "paths": sorted(glob.glob(str(ckpt_dir / "*.pth")))}
    for path in out["paths"]:
        head.load_state_dict(torch.load(path, weights_only=True))
        val_loss, val_acc = evaluate(head, val_feats.loader(256))
        out["val_loss"].append(val_loss)
        out["val_acc"].append(val_acc)
        out["test_acc"].append(evaluate(head, test_feats.loader(256))[1])
    return out


def standardize(train_x: torch.Tensor, *others: torch.Tensor) -> tuple:
    """Every feature dimension scaled to mean 0, std 1 with the *train* set's statistics (the same
    shift and scale applied to ``others``, e.g. the test features): ``(train, *others)``."""
    mean, std = train_x.mean(0), train_x.std(0)
    std = torch.where(std > 0, std, torch.ones_like(std))
    return tuple((x - mean) / std for x in (train_x, *others))


def random_body_baseline(bb, train_data, test_data, *, seeds=(0, 1, 2), epochs: int = 15, lr: float = 1e-3,
                         progress: bool = True) -> dict:
    """The same architecture as ``bb`` with random weights (``backbone.untrained_copy``, a new random
    body per seed), its features cached once, and a fresh 2-class head trained on them twice: on the
    raw features and on the standardised ones (:func:`standardize`). Notebook 03 §7.2.

    Returns lists with one entry per seed: ``raw_std`` (spread of the raw features),
    ``raw_acc`` / ``std_acc`` (test accuracy, fractions), ``raw_counts`` / ``std_counts``
    (test photos predicted as each class) and ``scaled_std`` (spread after standardising).
    """
    from .backbone import untrained_copy
    from .train import fit, predict
    from .transfer import Cached, cache_features

    out = {k: [] for k in ("seeds", "raw_std", "scaled_std", "raw_acc", "std_acc", "raw_counts", "std_counts")}
    for seed in seeds:
        torch.manual_seed(seed)                       # the random body of this seed
        body = untrained_copy(bb).body()
        tr = cache_features(body, train_data, desc=f"무작위 몸통 {seed}: train", progress=progress)
        te = cache_features(body, test_data, desc=f"무작위 몸통 {seed}: test", progress=progress)
        out["seeds"].append(int(seed))
        out["raw_std"].append(float(tr.x.std()))
        tr_s, te_s = standardize(tr.x, te.x)
        out["scaled_std"].append(float(tr_s.std()))
        n_classes = int(tr.y.max()) + 1
        for key, (xtr, xte) in (("raw", (tr.x, te.x)), ("std", (tr_s, te_s))):
            torch.manual_seed(seed)
            head = nn.Linear(xtr.shape[1], n_classes)
            fit(head, Cached(xtr, tr.y, 0.0).loader(32, shuffle=True), epochs=epochs, lr=lr, seed=seed,
                progress=False)
            y_true, y_pred, _ = predict(head, Cached(xte, te.y, 0.0).loader(256))
            out[f"{key}_acc"].append(float((y_true == y_pred).float().mean()))
            out[f"{key}_counts"].append(torch.bincount(y_pred, minlength=n_classes).tolist())
    return out


def pick_epochs(run: dict) -> dict:
    """Epoch indices (0-based) and test accuracies of three choices in one :func:`checkpoint_run`:
    the last epoch, the epoch with the best validation accuracy (ties: lower validation loss,
    then earlier), and -- for comparison only -- the epoch with the best *test* accuracy."""
    n = len(run["test_acc"])
    val_pick = min(range(n), key=lambda i: (-run["val_acc"][i], run["val_loss"][i], i))
    test_pick = max(range(n), key=lambda i: (run["test_acc"][i], -i))
    return {"last": n - 1, "val": val_pick, "test": test_pick,
            "last_acc": run["test_acc"][-1], "val_acc": run["test_acc"][val_pick],
            "test_acc": run["test_acc"][test_pick]}


def _mean_std(values) -> tuple[float, float]:
    t = torch.tensor([float(v) for v in values], dtype=torch.float64)
    return float(t.mean()), float(t.std()) if len(t) > 1 else 0.0


def comparison_table(*, backbone_name: str, zero_shot: float, last_full: float, picks: list,
                     epochs: int, n_train: int, n_val: int, n_test: int, random_body=None,
                     book: dict = BOOK_RESNET18) -> list:
    """The rows of the fair comparison, accuracies in % (``picks``: one :func:`pick_epochs` per seed).

    Each row: ``key``, ``label`` (Korean, for the plot), ``acc``, ``std`` (over seeds, 0 for one run),
    ``seeds`` and ``fair`` (False when the number was chosen by looking at the test set).
    ``random_body``: the random-weights baseline's accuracy, or a list of them (one per seed).
    """
    def row(key, label, acc, std=0.0, seeds=1, fair=True):
        return {"key": key, "label": label, "acc": float(acc), "std": float(std), "seeds": int(seeds),
                "fair": bool(fair)}

    last, last_sd = _mean_std(100 * p["last_acc"] for p in picks)
    val, val_sd = _mean_std(100 * p["val_acc"] for p in picks)
    tst, tst_sd = _mean_std(100 * p["test_acc"] for p in picks)
    k = len(picks)
    rows = [
        row("book_last", f"교과서 ResNet18: 마지막 에포크 ({book['epochs'] - 1})", book["last"]),
        row("book_best_on_test", "교과서: test 로 고른 최고 에포크", book["best_on_test"], fair=False),
        row("book_quoted", f"교과서 본문의 값 = 에포크 {book['quoted_epoch']} 하나", book["quoted"], fair=False),
        row("zero_shot", f"zero-shot ({backbone_name}, 학습 없음)", 100 * zero_shot),
    ]
    if random_body is not None:  # one accuracy, or one per seed (each seed its own random body)
        accs = [random_body] if isinstance(random_body, (int, float)) else list(random_body)
        rb, rb_sd = _mean_std(100 * a for a in accs)
        rows.append(row("random_body", f"무작위 가중치 몸통 (특성 표준화) + 분류기 학습 ({epochs} 에포크)",
                        rb, rb_sd, len(accs)))
    rows += [
        row("course_last", f"이 코스: 마지막 에포크 ({epochs}, train {n_train}장)", 100 * last_full),
        row("course_val", f"이 코스: val 로 고른 에포크 (train {n_train - n_val} / val {n_val})", val, val_sd, k),
        row("course_last_split", f"이 코스: 마지막 에포크 (train {n_train - n_val})", last, last_sd, k),
        row("course_best_on_test", "이 코스: test 로 고른 에포크 (교과서와 같은 반칙)", tst, tst_sd, k, fair=False),
    ]
    for r in rows:
        r["n_test"], r["backbone"] = n_test, backbone_name
    return rows


def _fmt_row(r) -> str:
    return f"{r['acc']:.2f} %" + (f" ± {r['std']:.2f}" if r["seeds"] > 1 else "")


def comparison_sentence(rows: list) -> str:
    """The notebook's conclusion, with every number taken from ``rows`` (:func:`comparison_table`)."""
    by = {r["key"]: r for r in rows}
    n_test = rows[0]["n_test"]
    seeds = by["course_val"]["seeds"]
    book, zero, cl, cv = by["book_last"], by["zero_shot"], by["course_last"], by["course_val"]
    diff = cv["acc"] - book["acc"]
    text = (f"공정하게 비교하면 (test {n_test}장, test 를 보고 고르지 않은 값끼리): 교과서 ResNet18 의 마지막 에포크는 "
            f"{_fmt_row(book)}, 학습 없이 ImageNet 분류기만 쓴 zero-shot 은 {_fmt_row(zero)}, "
            f"이 코스 ({cl['backbone']}) 의 특성 추출은 마지막 에포크 {_fmt_row(cl)}, val 로 고른 에포크 {_fmt_row(cv)}"
            f"{f' ({seeds} 시드 평균 ± 표준편차)' if seeds > 1 else ''} 입니다. "
            f"val 로 고른 값은 교과서의 마지막 에포크보다 {abs(diff):.2f} %p {'높고' if diff >= 0 else '낮고'}, "
            f"zero-shot 보다 {cv['acc'] - zero['acc']:+.2f} %p 입니다. "
            f"교과서의 {by['book_best_on_test']['acc']:.2f} % 와 이 코스의 {_fmt_row(by['course_best_on_test'])} 는 "
            f"test 세트를 보고 고른 값이라 실제보다 좋게 나옵니다 (test 1장 = {100 / n_test:.2f} %p).")
    if "random_body" in by:
        rb = by["random_body"]
        seeds_rb = f" ({rb['seeds']} 시드)" if rb["seeds"] > 1 else ""
        text += f" 같은 구조에 무작위 가중치를 쓴 몸통은 특성을 표준화하고 같은 분류기를 학습해도 {_fmt_row(rb)}{seeds_rb}"
        if rb["acc"] + rb["std"] < cv["acc"] - cv["std"]:
            text += " 에 그칩니다: 같은 구조에서 이 차이를 만든 것은 사전 학습된 가중치입니다."
        else:
            text += " 입니다: 이 측정으로는 사전 학습된 가중치의 효과를 가를 수 없습니다."
    return text


def plot_comparison(rows: list, title: str = "공정한 비교: test 정확도"):
    """Horizontal bars with the spread over seeds; numbers picked on the test set are hatched."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 0.3 * len(rows) + 1.0))
    ys = list(range(len(rows)))[::-1]
    lo = max(0.0, 10 * (min(r["acc"] for r in rows) // 10) - 10)
    for y, r in zip(ys, rows):
        color = "tab:gray" if r["key"].startswith("book") else (
            "tab:green" if r["key"].startswith("course") else "tab:blue")
        ax.barh(y, r["acc"], xerr=r["std"] if r["seeds"] > 1 else None, color=color,
                hatch=None if r["fair"] else "//", alpha=1.0 if r["fair"] else 0.55, capsize=3)
        ax.text(lo + 1, y, _fmt_row(r), va="center", fontsize=8,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    ax.set_yticks(ys, [r["label"] for r in rows], fontsize=8)
    ax.set(xlim=(lo, 101), title=title,
           xlabel="test 정확도 (%) · 오차 막대 = 시드 사이의 표준편차 · 빗금 = test 를 보고 고른 값 (공정하지 않음)")
    fig.tight_layout()
    return fig
