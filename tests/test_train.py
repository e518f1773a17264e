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
