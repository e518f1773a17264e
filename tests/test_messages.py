"""What a learner or teacher reads from the package is Korean first (English after ``|`` at most).

Two nets: every literal message in the learner-facing modules (what ``raise``, ``print``, a
doctor ``Check``, an exception's ``__init__`` and the CLI's help carry), read from the source so
that a new English-only message fails here before anyone runs it; and the messages themselves,
made by calling the failure paths (missing data, the offline backbone fallback).
"""
import ast
import re
import warnings
from pathlib import Path

import pytest
import torch

from chapter5 import backbone, data, download, graph

ROOT = Path(__file__).resolve().parents[1]
MODULES = ["chapter5/doctor.py", "chapter5/download.py", "chapter5/data.py", "chapter5/backbone.py",
           "chapter5/__main__.py", "chapter5/tools/colab.py"]

HANGUL = re.compile("[\uac00-\ud7a3]")
# Names that make a label or a version line without being English prose (e.g. "torch 2.5 · torchvision 0.20").
TECHNICAL = {"torch", "torchvision", "python", "ipywidgets", "backbone", "chapter5"}
# Calls whose string arguments are shown to a person -> how many leading positional arguments are
# names, not text (a command's or an option's name); the CLI's help=/description=/epilog= always count.
SHOWN = {"print": 0, "Check": 0, "__init__": 0, "NoGitHubRemote": 0, "command": 1, "add_argument": 99,
         "add_parser": 99, "_Parser": 99}


def english_only(text: str) -> bool:
    """True for prose with no Korean before its first ``|`` (a label such as ``backbone: {}``
    or a version line is not prose)."""
    head = text.split("|")[0]
    if HANGUL.search(head):
        return False
    head = re.sub(r"\S*/\S*", " ", head)  # paths and URLs are names, not prose
    return len([w for w in re.findall(r"[A-Za-z]{2,}", head) if w.lower() not in TECHNICAL]) >= 2


def _literal(node) -> str | None:
    """The text a string expression shows, placeholders as ``{}`` (None: not built from literals)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        parts = [_literal(node.left), _literal(node.right)]
        return "{}".join(p for p in parts if p is not None) if any(p is not None for p in parts) else None
    return None


def shown_messages(source: str) -> list[tuple[int, str]]:
    """``(line, text)`` of every literal message in ``source`` that a person reads."""
    out = []
    for node in ast.walk(ast.parse(source)):
        calls = []
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            calls.append((node.exc, 0))
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in SHOWN:
                calls.append((node, SHOWN[name]))
        for call, names in calls:
            args = list(call.args[names:]) + [k.value for k in call.keywords
                                              if k.arg in {"help", "description", "epilog"}]
            for arg in args:
                text = _literal(arg)
                if text is not None and text.strip():
                    out.append((arg.lineno, text))
    return out


def test_the_scan_sees_messages_and_flags_english():
    """The net itself: it finds print/raise/Check/help messages and tells prose from labels."""
    found = shown_messages('raise ValueError(f"no data at {p}")\nprint("데이터 없음 | no data")\n'
                           'Check(False, "x 없음", "pip install x")\np.add_argument("-q", help="quiet " + "mode")\n'
                           'command("info", "보기 | show")\n')
    assert sorted(t for _, t in found) == sorted(["no data at {}", "데이터 없음 | no data", "x 없음", "pip install x",
                                                  "quiet {}mode", "보기 | show"])
    assert english_only("no data at {}") and english_only("download finished") and english_only("quiet {}mode")
    assert not english_only("데이터 없음 | no data") and not english_only("backbone: {} ({})")
    assert not english_only("torch {} · torchvision {}") and not english_only("{}: {}")
    assert not english_only("  dist/colab/{} {}") and english_only("wrote dist/colab/{} for you")
    assert not english_only("--root") and not english_only("{}개 받음 (fetched {})")
    assert english_only("no data | 데이터 없음")  # Korean first, not after


@pytest.mark.parametrize("module", MODULES)
def test_every_message_is_korean_first(module):
    messages = shown_messages((ROOT / module).read_text(encoding="utf-8"))
    assert len(messages) >= 3, f"{module}: the scan found almost nothing ({messages})"
    bad = [f"{module}:{line}: {text!r}" for line, text in messages if english_only(text)]
    assert not bad, "English-only messages:\n" + "\n".join(bad)
    rst = [f"{module}:{line}: {text!r}" for line, text in messages if "``" in text]
    assert not rst, "reST double backticks in a message:\n" + "\n".join(rst)


def test_missing_data_message(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("CHAPTER5_DATA", str(tmp_path))
    monkeypatch.delenv("CHAPTER5_OFFLINE", raising=False)
    monkeypatch.setattr(download, "TEXTBOOK_BASE", "http://127.0.0.1:9/")  # a closed local port
    monkeypatch.setattr(download, "RETRIES", 0)
    with pytest.raises(data.DataMissingError) as info:
        data.cat_image_path()
    msg = str(info.value)
    assert msg.startswith(f"cat.jpg 데이터가 없습니다: {tmp_path / 'cat.jpg'} — 받으려면 "), msg
    assert "-m chapter5 download" in msg and "CHAPTER5_DATA" in msg and "\n" not in msg
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "cat.jpg: 파일 1개가 없어 데이터 루트로 내려받습니다 … | downloading"
    assert printed[1].startswith("내려받기 실패 (download failed): http://127.0.0.1:9/cat.jpg: ")
    assert "1번 시도했지만 받지 못했습니다" in printed[1], printed[1]
    assert not any(english_only(line) for line in printed + [msg])


def test_offline_backbone_line_is_korean(monkeypatch, capsys):
    monkeypatch.setattr(backbone, "resnet18_available", lambda allow_download=True: False)
    monkeypatch.setattr(backbone, "_efficientnet_lite0",
                        lambda: backbone.Backbone(torch.nn.Linear(1, 1), backbone.EFFNET_LITE0, "PyPI", "x", 1))
    backbone.load_backbone()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("ResNet18 ImageNet 가중치를 받을 수 없어 (오프라인), 실제로 ImageNet 에서 사전 학습된 "
                               "EfficientNet-Lite0"), lines
    assert lines[1] == "backbone: efficientnet-lite0 (PyPI)"  # a label + names, which tools/results.py reads back
    assert len(lines) == 2 and not english_only(lines[0])


def test_sparse_adjacency_silences_only_the_sparse_invariants_warning(monkeypatch):
    """Some torch releases warn on every sparse tensor even with check_invariants=False (Colab
    showed it in red in notebook 06). That exact warning is silenced; any other still shows."""
    real = torch.sparse_coo_tensor

    def noisy(*args, **kwargs):
        warnings.warn(graph.SPARSE_INVARIANTS_WARNING + ". Memory errors (e.g. SEGFAULT) will occur ...",
                      UserWarning)
        warnings.warn("another warning the learner must still see", UserWarning)
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "sparse_coo_tensor", noisy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        adj = graph.normalized_adjacency_sparse(torch.tensor([[0, 1], [1, 0]]), 3)
    assert [str(w.message) for w in caught] == ["another warning the learner must still see"]
    assert torch.allclose(adj.to_dense(), graph.normalized_adjacency(torch.tensor([[0., 1, 0], [1, 0, 0], [0, 0, 0]])))
