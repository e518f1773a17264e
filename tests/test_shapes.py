"""chapter5.shapes against real PyTorch layers: random parameter sets, valid and invalid."""
import random
import warnings

import pytest
import torch
from torch import nn

from chapter5.shapes import (InvalidShapeError, check_conv, check_pool, conv2d_output_shape,
                             conv_formula, conv_output_size, pool2d_output_shape, pool_formula,
                             pool_output_size)

N_CASES = 600


def _param(rng, lo, hi, bad=None, p_bad=0.03):
    """A random int in [lo, hi]; now and then an illegal value ``bad``."""
    if bad is not None and rng.random() < p_bad:
        return bad
    return rng.randint(lo, hi)


def _pair(rng, lo, hi, bad=None):
    a = _param(rng, lo, hi, bad)
    return (a, a) if rng.random() < 0.5 else (a, _param(rng, lo, hi, bad))


def _torch_shape(layer_fn, x):
    """Spatial output shape of a real layer, or None when PyTorch refuses."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return tuple(layer_fn()(x).shape[-2:])
    except (RuntimeError, ValueError):
        return None


def _ours(fn, *args, **kw):
    try:
        return fn(*args, **kw)
    except InvalidShapeError:
        return None


def test_conv2d_matches_pytorch_on_random_cases():
    rng = random.Random(1234)
    valid = invalid = 0
    for _ in range(N_CASES):
        hw = (rng.randint(1, 14), rng.randint(1, 14))
        k, s, p, d = _pair(rng, 1, 7, 0), _pair(rng, 1, 4, 0), _pair(rng, 0, 3, -1), _pair(rng, 1, 3, 0)
        x = torch.zeros(1, 1, *hw)
        theirs = _torch_shape(lambda: nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d), x)
        ours = _ours(conv2d_output_shape, hw, k, s, p, d)
        assert ours == theirs, f"input {hw} kernel {k} stride {s} padding {p} dilation {d}"
        valid += ours is not None
        invalid += ours is None
    assert valid >= 200 and invalid >= 100, (valid, invalid)  # both kinds really covered


@pytest.mark.parametrize("layer", ["max", "avg"])
def test_pool2d_matches_pytorch_on_random_cases(layer):
    rng = random.Random(99 if layer == "max" else 7)
    valid = invalid = 0
    for _ in range(N_CASES):
        hw = (rng.randint(1, 16), rng.randint(1, 16))
        k, s = _pair(rng, 1, 6, 0), _pair(rng, 1, 4, 0)
        p = (0, 0) if rng.random() < 0.4 else _pair(rng, 0, 3, -1)
        d = _pair(rng, 1, 2, 0) if layer == "max" else (1, 1)
        ceil = rng.random() < 0.5
        x = torch.zeros(1, 2, *hw)
        if layer == "max":
            make = lambda: nn.MaxPool2d(k, stride=s, padding=p, dilation=d, ceil_mode=ceil)  # noqa: E731
        else:
            make = lambda: nn.AvgPool2d(k, stride=s, padding=p, ceil_mode=ceil)  # noqa: E731
        theirs = _torch_shape(make, x)
        ours = _ours(pool2d_output_shape, hw, k, s, p, d, ceil_mode=ceil)
        assert ours == theirs, f"{layer} input {hw} kernel {k} stride {s} padding {p} dilation {d} ceil {ceil}"
        valid += ours is not None
        invalid += ours is None
    assert valid >= 200 and invalid >= 100, (valid, invalid)


def test_conv1d_and_conv3d_use_the_same_rule():
    rng = random.Random(5)
    for _ in range(100):
        n, f, s, p, d = rng.randint(1, 10), rng.randint(1, 5), rng.randint(1, 3), rng.randint(0, 2), rng.randint(1, 2)
        ours = _ours(conv_output_size, n, f, s, p, d)
        t1 = _torch_shape(lambda: nn.Conv1d(1, 1, f, s, p, d), torch.zeros(1, 1, n))
        t3 = _torch_shape(lambda: nn.Conv3d(1, 1, f, s, p, d), torch.zeros(1, 1, n, n, n))
        assert (ours, ours) == (t1[-1] if t1 else None, t3[-1] if t3 else None)


def test_textbook_examples():
    assert conv_output_size(5, 3) == 3                 # the 5x5 image with a 3x3 kernel
    assert conv_output_size(28, 3, p=1) == 28          # "same" padding for an odd kernel
    assert conv_output_size(32, 5, s=1, p=0) == 28     # LeNet-5 first layer
    assert conv_output_size(7, 3, s=2) == 3
    assert pool_output_size(4, 2, 2) == 2              # W2 = (W1 - F)/S + 1
    assert pool_output_size(5, 2, 2) == 2
    assert pool_output_size(5, 2, 2, ceil_mode=True) == 3
    assert conv2d_output_shape((28, 20), (3, 5), stride=(1, 2)) == (26, 8)


def test_invalid_cases_explain_themselves():
    with pytest.raises(InvalidShapeError, match="커널"):
        conv_output_size(3, 5)
    with pytest.raises(InvalidShapeError, match="스트라이드"):
        conv_output_size(5, 3, s=0)
    with pytest.raises(InvalidShapeError, match="절반"):
        pool_output_size(5, 3, 1, p=2)
    bad = check_conv(4, 3, 1, 0, 2)                    # dilation 2 -> span 5 > 4
    assert not bad.ok and bad.size is None and "dilation 2" in bad.reason and "\n" not in bad.reason
    good = check_pool(6, 2)
    assert good.ok and good.size == 3 and good.reason == ""


def test_formula_text():
    assert conv_formula(7, 3, 2, 1) == "⌊(7 + 2·1 − 3) / 2⌋ + 1 = 4"
    assert conv_formula(5, 3, 1, 0, 2).endswith("= 1")
    assert conv_formula(2, 5).endswith("(< 1)")
    assert pool_formula(4, 2) == "⌊(4 − 2) / 2⌋ + 1 = 2"
