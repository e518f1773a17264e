"""Unit tests for chapter5.conv, the functions behind notebook 01's widgets."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from chapter5.conv import (KERNEL_LABELS, KERNELS, apply_kernel, explore_conv, explore_pool,  # noqa: E402
                           pool_maps, receptive_window, show_kernel, to_gray, torch_conv_shape)
from chapter5.shapes import InvalidShapeError  # noqa: E402
from chapter5.viz import use_korean_font  # noqa: E402

use_korean_font()  # figures are drawn (not shown) in these tests


def _ramp(h=6, w=7):
    return np.tile(np.arange(w, dtype=np.float32), (h, 1)) / w  # brightness grows to the right


def test_kernels_are_3x3_and_labelled():
    assert set(KERNELS) == {"identity", "edge", "blur", "sharpen", "sobel_x", "sobel_y"} == set(KERNEL_LABELS)
    for k in KERNELS.values():
        assert k.shape == (3, 3) and k.dtype == np.float32
    assert KERNELS["blur"].sum() == pytest.approx(1.0)
    assert KERNELS["edge"].sum() == 0 and KERNELS["sharpen"].sum() == 1
    np.testing.assert_array_equal(KERNELS["sobel_y"], KERNELS["sobel_x"].T)


def test_apply_kernel_matches_a_hand_loop():
    rng = np.random.default_rng(0)
    img = rng.random((6, 5)).astype(np.float32)
    k = rng.standard_normal((3, 3)).astype(np.float32)
    padded = np.pad(img, 1)
    by_hand = np.array([[(padded[i:i + 3, j:j + 3] * k).sum() for j in range(5)] for i in range(6)])
    np.testing.assert_allclose(apply_kernel(img, k), by_hand, rtol=1e-5, atol=1e-6)


def test_classic_kernels_do_what_their_names_say():
    img = _ramp()
    np.testing.assert_allclose(apply_kernel(img, "identity"), img)
    inner = (slice(1, -1), slice(1, -1))          # away from the zero padding
    np.testing.assert_allclose(apply_kernel(img, "sobel_x")[inner], 8 / 7, rtol=1e-5)  # horizontal ramp
    np.testing.assert_allclose(apply_kernel(img, "sobel_y")[inner], 0, atol=1e-6)
    np.testing.assert_allclose(apply_kernel(img, "edge")[inner], 0, atol=1e-5)          # linear -> no edge
    np.testing.assert_allclose(apply_kernel(img, "blur")[inner], img[inner], rtol=1e-5)
    np.testing.assert_allclose(apply_kernel(img, "sharpen")[inner], img[inner], rtol=1e-5)


def test_show_kernel_returns_same_size_output():
    img = _ramp(8, 9)
    out = show_kernel(img, "sobel_x", show=False)
    assert out.shape == (8, 9)
    np.testing.assert_allclose(out, apply_kernel(img, "sobel_x"))


def test_to_gray_from_pil_array_and_tensor():
    pil = Image.fromarray(np.full((10, 20, 3), 255, dtype=np.uint8))
    g = to_gray(pil, size=10)
    assert g.shape == (5, 10) and g.dtype == np.float32 and g.max() == pytest.approx(1.0)
    assert to_gray(np.full((4, 4, 3), 255.0)).max() == pytest.approx(1.0)
    assert to_gray(torch.ones(1, 3, 3)).shape == (3, 3)


def test_receptive_window_with_stride_and_dilation():
    assert receptive_window(0, 0, 2) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    win = receptive_window(1, 2, 3, s=2, d=2)
    assert len(win) == 9 and win[0] == (2, 4) and win[-1] == (6, 8)


def test_torch_conv_shape():
    assert torch_conv_shape(7, 3, 2, 1) == (1, 1, 4, 4)
    assert torch_conv_shape(3, 5) is None


def test_explore_conv_valid(capsys):
    info = explore_conv(7, 3, 2, 1, 1, row=1, col=3, show=False)
    text = capsys.readouterr().out
    assert info["size"] == 4 and info["torch_shape"] == (1, 1, 4, 4)
    assert (info["row"], info["col"]) == (1, 3) and info["window"][0] == (2, 6)
    assert "= 4" in text and "(1, 1, 4, 4)" in text


def test_explore_conv_clips_the_chosen_cell(capsys):
    info = explore_conv(5, 3, row=9, col=9, show=False)
    assert (info["row"], info["col"]) == (2, 2)       # output is 3x3


def test_explore_conv_invalid_explains_without_raising(capsys):
    info = explore_conv(3, 3, 1, 0, 2, show=False)     # dilated span 5 > 3
    text = capsys.readouterr().out
    assert info["size"] is None and info["torch_shape"] is None and info["window"] == []
    assert "불가능한 조합" in text and "Traceback" not in text


def test_pool_maps_max_and_average():
    fmap = np.arange(16, dtype=np.float32).reshape(4, 4)
    mx, av = pool_maps(fmap, 2)
    np.testing.assert_array_equal(mx, [[5, 7], [13, 15]])
    np.testing.assert_array_equal(av, [[2.5, 4.5], [10.5, 12.5]])
    mx3, _ = pool_maps(np.zeros((7, 9)), 3, 2)
    assert mx3.shape == (3, 4)
    with pytest.raises(InvalidShapeError):
        pool_maps(fmap, 5)


def test_explore_pool(capsys):
    res = explore_pool(np.arange(36, dtype=np.float32).reshape(6, 6), 2, 2, show=False)
    text = capsys.readouterr().out
    assert res[0].shape == (3, 3) and "D₂ = D₁" in text and "4.0배" in text
    assert explore_pool(np.zeros((3, 3)), 4, show=False) is None
    assert "불가능한 조합" in capsys.readouterr().out


def test_draw_conv_steps_titles_hold_the_sums():
    import matplotlib.pyplot as plt
    from chapter5.conv import draw_conv_steps

    image = np.array([[1, 1, 1, 0], [0, 1, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1]])
    kernel = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]])
    draw_conv_steps(image, kernel, show=True)          # Agg backend: nothing is displayed
    fig = plt.gcf()
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["출력[0,0] = 4", "출력[0,1] = 3", "출력[1,0] = 2", "출력[1,1] = 4"]
    plt.close(fig)


def test_photo_figures_are_marked_for_jpeg_and_charts_are_not(monkeypatch, capsys):
    import matplotlib.pyplot as plt
    from chapter5.viz import PHOTO_ATTR

    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gcf()))
    show_kernel(_ramp(8, 9), "blur")                                        # photo + feature map
    explore_pool(np.arange(36, dtype=np.float32).reshape(6, 6), 2)          # feature maps
    explore_conv(7, 3, 2, 1)                                                # a grid diagram (chart)
    assert [getattr(f, PHOTO_ATTR, False) for f in shown] == [True, True, False]
    for f in shown:
        plt.close(f)


def test_slide_sized_figures(monkeypatch, capsys):
    """Figures of notebook 01's widgets fit a 1280×720 slide next to their code (≤ 11 × 4.2 in)."""
    import matplotlib.pyplot as plt

    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gcf()))
    show_kernel(_ramp(8, 9), "edge")
    explore_pool(np.zeros((8, 8), dtype=np.float32), 2)
    explore_conv(12, 3, 1, 3, 1)
    for f in shown:
        w, h = f.get_size_inches()
        assert w <= 11 and h <= 4.2, (w, h)
        plt.close(f)
