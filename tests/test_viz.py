"""Figure style: readable by default, projector mode larger, high contrast opaque."""
import matplotlib
import matplotlib.pyplot as plt
import pytest

from chapter5 import config, viz


@pytest.fixture(autouse=True)
def _restore_rc():
    with matplotlib.rc_context():
        yield


def _drawn_size(fig):
    fig.canvas.draw()
    return fig.get_size_inches() * fig.dpi


def test_default_labels_are_at_least_12_pt():
    viz.use_style()
    for key in ("font.size", "axes.labelsize", "xtick.labelsize", "ytick.labelsize"):
        assert matplotlib.rcParams[key] >= 12, key


def test_projector_mode_enlarges_fonts_lines_and_figures():
    viz.use_style()
    fig = plt.figure()
    normal = _drawn_size(fig)
    plt.close(fig)
    changed = viz.use_style(projector=True)
    assert matplotlib.rcParams["font.size"] >= 16 and matplotlib.rcParams["lines.linewidth"] >= 3
    assert changed["axes.labelsize"] > viz.READABLE["axes.labelsize"]
    fig = plt.figure()
    big = _drawn_size(fig)
    plt.close(fig)
    assert big[0] > normal[0] * 1.2 and big[1] > normal[1] * 1.2


def test_contrast_style_is_opaque_white_with_black_text():
    viz.use_style(contrast=True)
    assert matplotlib.colors.to_hex(matplotlib.rcParams["figure.facecolor"]) == "#ffffff"
    assert matplotlib.colors.to_hex(matplotlib.rcParams["text.color"]) == "#000000"


def test_setup_switches_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("CHAPTER5_PROJECTOR", "1")
    monkeypatch.setenv("CHAPTER5_STYLE", "contrast")
    info = config.setup()
    assert info["projector"] and info["contrast"]
    assert matplotlib.rcParams["font.size"] == viz.PROJECTOR["font.size"]
    assert "projector" in capsys.readouterr().out
    monkeypatch.delenv("CHAPTER5_PROJECTOR")
    monkeypatch.delenv("CHAPTER5_STYLE")
    info = config.setup()
    assert not info["projector"] and matplotlib.rcParams["font.size"] == viz.READABLE["font.size"]
