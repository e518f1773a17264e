"""The course's single training loop and plot helpers."""
import warnings

import matplotlib
import matplotlib.pyplot as plt
import torch
from torch import nn

from chapter5 import train, viz


def _blobs(n=400, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 2, generator=g) + (y[:, None] * 2 - 1) * 2.0
    return torch.utils.data.TensorDataset(x, y)


def _loaders():
    dl = torch.utils.data.DataLoader
    return dl(_blobs(400, 0), batch_size=32, shuffle=True), dl(_blobs(200, 1), batch_size=100)


def test_fit_learns_and_records_history():
    tr, te = _loaders()
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    h = train.fit(model, tr, te, epochs=4, lr=0.01, progress=False, device=torch.device("cpu"))
    assert len(h.train_loss) == len(h.test_acc) == len(h.seconds) == 4
    assert h.train_loss[-1] < h.train_loss[0]
    assert h.final_test_acc > 0.95
    loss, acc = train.evaluate(model, te)
    assert abs(acc - h.final_test_acc) < 1e-9
    y, pred, prob = train.predict(model, te)
    assert y.shape == pred.shape == (200,) and prob.shape == (200, 2)
    assert torch.allclose(prob.sum(1), torch.ones(200))


def test_fit_is_reproducible_with_a_seed():
    runs = []
    for _ in range(2):
        tr, te = _loaders()
        torch.manual_seed(123)
        model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
        runs.append(train.fit(model, tr, te, epochs=2, progress=False, seed=7, device=torch.device("cpu")))
    assert runs[0].train_loss == runs[1].train_loss


def test_count_parameters_trainable_only():
    m = nn.Linear(10, 3)
    m.bias.requires_grad = False
    assert train.count_parameters(m) == 33 and train.count_parameters(m, trainable_only=True) == 30


def test_korean_text_renders_without_missing_glyphs(tmp_path, capfd):
    matplotlib.use("Agg")
    assert viz.use_korean_font() == "NanumGothic"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig, ax = plt.subplots()
        ax.set_title("합성곱 신경망 학습 곡선")
        ax.set_xlabel("에포크 (epoch)")
        ax.set_yscale("log")  # math-text tick labels with a minus sign (10^-1)
        ax.plot([0.01, 0.1, 1.0])
        fig.savefig(tmp_path / "k.png")
        plt.close(fig)
    glyph = [w for w in caught if "missing from" in str(w.message) or "Glyph" in str(w.message)]
    assert glyph == [], [str(w.message) for w in glyph]
    # math text reports missing glyphs through logging, not warnings
    assert "does not have a glyph" not in capfd.readouterr().err


def test_plot_helpers_draw_labelled_figures():
    matplotlib.use("Agg")
    h = train.History([1.0, 0.5], [0.5, 0.8], [1.1, 0.6], [0.4, 0.7], [1.0, 1.0])
    fig = viz.plot_history({"cnn": h})
    assert all(ax.get_xlabel() and ax.get_ylabel() and ax.get_title() for ax in fig.axes)
    fig2, cm = viz.plot_confusion([0, 1, 1, 2], [0, 1, 2, 2], ["a", "b", "c"])
    assert cm.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    fig3 = viz.show_images([torch.rand(1, 8, 8), torch.rand(3, 8, 8)], titles=["x", "y"], ncols=2)
    assert len(fig3.axes) == 2
    plt.close("all")


def test_photo_figures_go_out_as_jpeg_and_charts_as_png():
    import base64

    from IPython.core.interactiveshell import InteractiveShell
    from IPython.core.pylabtools import select_figure_formats

    matplotlib.use("Agg")
    shell = InteractiveShell.instance()
    select_figure_formats(shell, {"png"})  # what the inline backend registers
    assert viz.use_jpeg_for_photos() and viz.use_jpeg_for_photos()  # idempotent
    photo = viz.show_images([torch.rand(3, 32, 32)] * 2, titles=["a", "b"], ncols=2)
    chart, ax = plt.subplots()
    ax.plot([1, 2, 3])
    photo_data, _ = shell.display_formatter.format(photo)
    chart_data, _ = shell.display_formatter.format(chart)
    assert "image/jpeg" in photo_data and "image/png" not in photo_data
    assert base64.b64decode(photo_data["image/jpeg"])[:2] == b"\xff\xd8"
    assert "image/png" in chart_data and "image/jpeg" not in chart_data
    plt.close("all")


# --------------------------------------------------------------------------- the fast course loop

def _images(n=256, seed=0):
    """Two classes of 1×12×12 images: a bright blob top-left or bottom-right."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 1, 12, 12, generator=g) * 0.3
    for i in range(n):
        r = slice(0, 6) if y[i] == 0 else slice(6, 12)
        x[i, 0, r, r] += 1.0
    return torch.utils.data.TensorDataset(x, y)


def _conv_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(8 * 6 * 6, 2))


def _img_loaders():
    dl = torch.utils.data.DataLoader
    return dl(_images(256, 0), batch_size=32, shuffle=True), dl(_images(128, 1), batch_size=64)


def test_bf16_and_fp32_paths_reach_the_same_accuracy(monkeypatch, capsys):
    accs = {}
    for wish in ("fp32", "bf16"):
        monkeypatch.setenv("CHAPTER5_PRECISION", wish)
        tr, te = _img_loaders()
        model = _conv_net()
        expected = "bf16" if wish == "bf16" and train.bf16_supported() else "fp32"
        assert train.precision_for(model, "cpu") == expected
        accs[wish] = train.fit(model, tr, te, epochs=3, lr=0.01, desc=f"p-{wish}",
                               device=torch.device("cpu")).final_test_acc
    assert accs["fp32"] > 0.95 and abs(accs["fp32"] - accs["bf16"]) <= 0.03, accs
    out = capsys.readouterr()
    assert train.bf16_supported() is False or "정밀도 (precision): bf16" in out.out or "bf16" in str(train._SAID)


def test_fp32_fallback_when_the_cpu_has_no_bf16(monkeypatch):
    monkeypatch.delenv("CHAPTER5_PRECISION", raising=False)
    monkeypatch.setattr(train, "bf16_supported", lambda: False)
    assert train.precision_for(_conv_net(), "cpu") == "fp32"
    monkeypatch.setattr(train, "bf16_supported", lambda: True)
    assert train.precision_for(_conv_net(), "cpu") == "bf16"
    assert train.precision_for(nn.Linear(2, 2), "cpu") == "fp32"  # no convolution: fp32


def test_tensor_datasets_are_sliced_in_the_dataloaders_order():
    ds = _images(70, 3)
    for shuffle, drop in ((False, False), (True, False), (True, True)):
        g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
        a = torch.utils.data.DataLoader(ds, batch_size=16, shuffle=shuffle, drop_last=drop, generator=g1)
        b = torch.utils.data.DataLoader(ds, batch_size=16, shuffle=shuffle, drop_last=drop, generator=g2)
        fast = list(train.batches(a))
        slow = list(iter(b))
        assert len(fast) == len(slow)
        for (x1, y1), (x2, y2) in zip(fast, slow):
            assert torch.equal(x1, x2) and torch.equal(y1, y2)


def test_estimate_and_progress_bar_are_printed(capsys, monkeypatch):
    from chapter5 import records

    monkeypatch.setattr(records, "ESTIMATE_FROM_S", 0.0)  # this tiny run counts as long
    tr, te = _img_loaders()
    train.fit(_conv_net(), tr, te, epochs=2, desc="estimate-test", device=torch.device("cpu"))
    out = capsys.readouterr()
    assert "이 셀은 이 컴퓨터에서 약" in out.out + out.err and "batch" in out.err


def test_interrupt_keeps_the_best_model_and_returns(capsys, monkeypatch):
    monkeypatch.setenv("CHAPTER5_PRECISION", "fp32")  # the bf16 path peeks at one batch first
    tr, te = _img_loaders()

    class Stop:  # a loader that stops (like Kernel → Interrupt) in the third epoch
        dataset, batch_size = tr.dataset, 32
        calls = 0

        def __len__(self):
            return len(tr)

        def __iter__(self):
            type(self).calls += 1
            for i, b in enumerate(tr):
                if type(self).calls == 3 and i == 2:
                    at_interrupt.update({k: v.clone() for k, v in model.state_dict().items()})
                    raise KeyboardInterrupt
                yield b

    at_interrupt = {}
    model = _conv_net()
    hist = train.fit(model, Stop(), te, epochs=5, lr=0.01, desc="interrupt-test", device=torch.device("cpu"))
    assert len(hist.test_acc) == 2
    best = max(hist.test_acc)
    assert abs(train.evaluate(model, te)[1] - best) < 1e-9
    # the weights were rolled back from the half-trained third epoch to the best epoch's
    assert any(not torch.equal(v, at_interrupt[k]) for k, v in model.state_dict().items())
    assert "중단했습니다" in capsys.readouterr().out


class _ViewNet(nn.Module):
    """Flattens with .view(N, -1) after a convolution, as the textbook does."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 12 * 12, 2)

    def forward(self, x):
        out = self.conv(x)
        return self.fc(out.view(out.size(0), -1))


def test_a_model_that_flattens_with_view_still_trains_in_the_fast_loop(monkeypatch):
    monkeypatch.setattr(train, "bf16_supported", lambda: True)
    monkeypatch.delenv("CHAPTER5_PRECISION", raising=False)
    x = torch.randn(4, 1, 12, 12)
    assert not train.channels_last_ok(_ViewNet(), x)
    assert train.channels_last_ok(_conv_net(), x)
    tr, te = _img_loaders()
    hist = train.fit(_ViewNet(), tr, te, epochs=2, lr=0.01, progress=False, device=torch.device("cpu"))
    assert hist.final_test_acc > 0.9


def test_peeking_for_the_layout_does_not_change_the_shuffling(monkeypatch):
    runs = []
    for wish in ("bf16", "bf16"):
        monkeypatch.setenv("CHAPTER5_PRECISION", wish)
        tr, te = _img_loaders()
        runs.append(train.fit(_conv_net(), tr, te, epochs=2, lr=0.01, progress=False, seed=3,
                              device=torch.device("cpu")).train_loss)
    assert runs[0] == runs[1]


def test_threads_are_capped_at_physical_cores_but_a_lower_choice_is_kept():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert train.use_physical_cores() == 1
        torch.set_num_threads(train.physical_cores() + 3)
        assert train.use_physical_cores() == min(train.physical_cores(), __import__("os").cpu_count())
    finally:
        torch.set_num_threads(before)


_NOTEBOOK_FIT = '''
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from chapter5 import train
from chapter5 import records
records.ESTIMATE_FROM_S = 0.0   # this tiny run is "long": the estimate line must appear
g = torch.Generator().manual_seed(0)
x = torch.randn(512, 1, 8, 8, generator=g)
y = (x.mean((1, 2, 3)) > 0).long()
loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, generator=g)
model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 2))
hist = train.fit(model, loader, loader, epochs=2, desc="demo-run", seed=0)
'''


def test_estimate_and_progress_bar_appear_in_a_notebook_output(tmp_path):
    """In a real kernel, a named ``train.fit`` leaves in the cell's output a tqdm progress bar (an
    ipywidgets view, with its ETA) and the "이 셀은 이 컴퓨터에서 약 …" estimate line; and the
    shipped notebook 02 kept both from its full run."""
    import json
    from pathlib import Path

    import nbformat
    from chapter5.tools.results import execute

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(_NOTEBOOK_FIT)])
    execute(nb, tmp_path, quick=True, timeout=300, env={"CHAPTER5_ARTIFACTS": str(tmp_path / "art")})
    outs = nb.cells[0].outputs
    assert not [o for o in outs if o.output_type == "error"], outs
    bars = [o for o in outs if o.output_type == "display_data"
            and "application/vnd.jupyter.widget-view+json" in o.data and "demo-run" in o.data.get("text/plain", "")]
    assert bars, [o.output_type for o in outs]
    text = "".join(o.get("text", "") for o in outs if o.output_type == "stream")
    assert "⏱ 이 셀은 이 컴퓨터에서 약" in text and "(에포크 2 × 배치 16," in text, text

    stored = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / "02_dnn_vs_cnn.ipynb").read_text("utf-8"))
    cnn = next(c for c in stored["cells"] if c["cell_type"] == "code" and 'desc="CNN"' in "".join(c["source"]))
    plain = ["".join(o.get("data", {}).get("text/plain", "")) for o in cnn["outputs"] if o["output_type"] == "display_data"]
    assert any(p.startswith("CNN:") and "batch/s" in p for p in plain), plain
    assert any("⏱ 이 셀은 이 컴퓨터에서 약" in "".join(o.get("text", "")) for o in cnn["outputs"])


def test_the_runner_reports_the_kernels_own_peak_memory(tmp_path):
    """A notebook that holds 400 MB shows a kernel peak at least that much above an empty one's."""
    import nbformat

    from chapter5.tools.results import execute

    peaks = []
    for mb in (0, 400):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
            f"import numpy as np\nheld = np.ones({mb} * 2**20, dtype=np.uint8)\nint(held.sum())")])
        stats = {}
        execute(nb, tmp_path, quick=True, timeout=120, stats=stats)
        peaks.append(stats["peak_rss_gb"])
    assert peaks[1] >= peaks[0] + 0.35, peaks


def test_early_stopping_keeps_the_best_validation_epoch(monkeypatch):
    """fit(val_loader=..., patience=k): stops k epochs after the best validation accuracy and keeps
    that epoch's weights (a planted validation curve decides which epoch is best)."""
    import pytest

    tr, te = _loaders()
    curve = iter([0.50, 0.70, 0.90, 0.60, 0.80, 0.85, 0.95, 0.99])   # best 0.90 at epoch 3, then 3 worse
    snapshots = {}
    real_evaluate = train.evaluate

    def fake_evaluate(model, loader, loss_fn=None, device=None):
        if loader is val:
            acc = next(curve)
            snapshots[acc] = {k: v.clone() for k, v in model.state_dict().items()}
            return 0.0, acc
        return real_evaluate(model, loader, loss_fn, device)

    val = torch.utils.data.DataLoader(_blobs(50, 2), batch_size=50)
    monkeypatch.setattr(train, "evaluate", fake_evaluate)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    h = train.fit(model, tr, te, epochs=8, lr=0.01, progress=False, val_loader=val, patience=3,
                  device=torch.device("cpu"))
    assert h.val_acc == [0.50, 0.70, 0.90, 0.60, 0.80, 0.85]      # stopped after 3 epochs without a new best
    assert h.best_epoch == 3 and len(h.train_loss) == len(h.test_acc) == 6
    assert all(torch.equal(v, snapshots[0.90][k]) for k, v in model.state_dict().items())
    assert h.as_dict()["best_epoch"] == 3 and "best_epoch" not in train.History().as_dict()
    with pytest.raises(ValueError, match="val_loader"):
        train.fit(model, tr, te, epochs=1, progress=False, patience=2)
