"""The concept quizzes cannot be guessed, answer in the letters the learner sees, and progress travels.

* sources: the right option's position is balanced and it does not win by length (per notebook);
* display: options shuffled per learner and question, stable for that learner; ``answer()`` reads
  the shown letters; an answer that is not an option is not an attempt; ``show()`` carries a text
  fallback with the ``answer()`` instructions;
* nothing readable: the built wheel and the Colab bundles hold no answer text and no quiz source;
* progress: one line for the group's chat, an export code that round-trips, a corrupt code is one line.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from chapter5.exercises import progress
from chapter5.exercises import quiz as quizmod
from chapter5.exercises.progress import course
from chapter5.tools import quizzes

ROOT = Path(__file__).resolve().parents[1]
SOURCES = quizzes.sources()
QUIZZES = {nb: q for nb, _, q in course()}

SPEC = {"title": "t", "questions": [
    {"text": "a?", "choices": [{"text": "x0", "why": "x0 is wrong because"},
                               {"text": "y1", "correct": True, "why": "y1 is right"},
                               {"text": "z2", "why": "z2 is wrong because"},
                               {"text": "w3", "why": "w3 is wrong because"}]},
    {"text": "n?", "number": 26, "tolerance": 0, "why": "right", "otherwise": "no",
     "wrong": [{"value": 28, "why": "padding counted twice"}]},
]}


@pytest.fixture(autouse=True)
def _progress_file(tmp_path, monkeypatch):
    file = tmp_path / "progress.json"
    monkeypatch.setenv("CHAPTER5_PROGRESS", str(file))
    monkeypatch.setattr(progress, "_memory", None)
    return file


def _as_learner(file: Path, learner: str) -> None:
    state = json.loads(file.read_text()) if file.is_file() else {"version": 1, "exercises": {}, "quizzes": {}}
    state["learner"] = learner
    file.write_text(json.dumps(state))


def _orders(nb: str) -> list[list[int]]:
    quiz = quizmod.Quiz(nb)
    quiz.text()  # what the learner sees
    return [list(q.order) for q in quiz.questions]


def _right_letter(q) -> str:
    right = next(i for i, c in enumerate(q.spec["choices"]) if c.get("correct"))
    return quizmod.LETTERS[q.order.index(right)]


def _answer_texts(right_options: bool = True) -> list[str]:
    """Every text that would give an answer away (>= 9 characters): all feedback, and the right
    options' texts (not for notebooks: a question on reading the book's table has its answer on
    the page, as it should)."""
    texts = []
    for data in SOURCES.values():
        for q in data["questions"]:
            if right_options:
                texts += [c["text"] for c in q.get("choices", []) if c.get("correct")]
            texts += [c["why"] for c in q.get("choices", [])] + [q.get("why", "")]
            texts += [w["why"] for w in q.get("wrong", [])]
    return [t for t in texts if len(t) >= 9]


# --------------------------------------------------------------------------- the sources

@pytest.mark.parametrize("nb", sorted(SOURCES))
def test_right_option_position_is_balanced_and_does_not_win_by_length(nb):
    stats = quizzes.right_option_stats(SOURCES[nb])
    n = stats["choice_questions"]
    assert n >= 3 and sum(stats["positions"].values()) == n
    assert max(stats["positions"].values()) <= 0.4 * n, f"{nb}: right option positions {stats['positions']}"
    assert stats["right_is_longest"] * 3 <= n, f"{nb}: right option longest in {stats['right_is_longest']}/{n}"
    assert max(stats["length_ratios"]) <= 1.3, f"{nb}: {stats['length_ratios']}"


def test_validate_rejects_a_guessable_quiz():
    long_right = {"text": "the right one, which explains itself at length", "correct": True, "why": "why right"}
    data = {"title": "t", "questions": [
        {"text": f"q{i}?", "choices": [long_right, {"text": "short", "why": "no"}, {"text": "tiny", "why": "no"}]}
        for i in range(5)]}
    problems = " | ".join(quizzes.validate("99", data))
    assert "is (a) in 5 of 5" in problems and "longest in 5 of 5" in problems and "as long as the others" in problems


def test_quiz_04_asks_for_the_books_table_and_gives_no_answer_away():
    q1, _, q3, _, q5, _ = SOURCES["04"]["questions"]
    assert "교과서의 표" in q1["text"] and "7절" in q1["text"]
    assert "7절" in next(c["why"] for c in q1["choices"] if c.get("correct"))
    assert "7절" in next(c["why"] for c in q5["choices"] if c.get("correct"))
    assert q3["number"] == pytest.approx(1e-5)
    for shown in ("0.00001", "1e-5", "1e-05", "10⁻⁵", "10^-5"):
        assert shown not in q3["text"], f"04 Q3 shows its answer as {shown}"


# --------------------------------------------------------------------------- shuffled display

def test_options_are_shuffled_per_learner_and_stable_for_one_learner(_progress_file):
    _as_learner(_progress_file, "0000abcd")
    first = {nb: _orders(nb) for nb in SOURCES}
    again = {nb: _orders(nb) for nb in SOURCES}
    assert first == again  # stable across sessions for the same learner
    for nb in SOURCES:
        for q, order in zip(QUIZZES[nb].questions, first[nb]):
            assert sorted(order) == list(range(len(q.choices)))
    # over many learners, the right option of a question lands on every shown letter
    q = quizmod.Question(1, SPEC["questions"][0])
    seen = Counter()
    for learner in range(200):
        q.order = quizmod.shuffled(4, f"{learner:08x}", "99", "q1")
        seen[_right_letter(q)] += 1
    assert set(seen) == set("abcd") and min(seen.values()) >= 25, seen
    # and two learners see at least one question of the course in a different order
    _as_learner(_progress_file, "ffff0000")
    other = {nb: _orders(nb) for nb in SOURCES}
    assert other != first


@pytest.mark.parametrize("nb", sorted(SOURCES))
def test_answer_reads_the_letters_as_shown(nb, capsys):
    quiz = quizmod.Quiz(nb)
    text = quiz.text()
    for q in quiz.questions:
        if not q.is_choice:
            continue
        letter = _right_letter(q)
        right = next(c for c in q.spec["choices"] if c.get("correct"))
        assert f"({letter}) {right['text']}" in text, f"{nb} Q{q.number}: text fallback not in the shown order"
        wrong = next(x for x in quizmod.LETTERS[:len(q.choices)] if x != letter)
        assert quiz.answer(q.number, wrong) is False and "❌" in capsys.readouterr().out
        assert quiz.answer(q.number, letter.upper()) is True
        assert right["why"] in capsys.readouterr().out
    assert progress.load()["quizzes"][nb] == {q.key: True for q in quiz.questions if q.is_choice}


def test_an_answer_that_is_not_an_option_is_not_an_attempt(capsys):
    quiz = quizmod.Quiz("99", quizmod.encode(SPEC))
    for number, answer in [(1, "e"), (1, 5), (1, ""), (1, None), (2, "스물여섯"), (2, "nan"), (3, "a"), (0, "a")]:
        assert quiz.answer(number, answer) is None, (number, answer)
        out = capsys.readouterr().out
        assert out.startswith("⚠") and "시도로 세지 않았습니다" in out and "Traceback" not in out
    assert progress.load()["quizzes"] == {}
    assert quiz.answer(2, "28") is False and "padding counted twice" in capsys.readouterr().out
    assert progress.load()["quizzes"]["99"] == {"q2": False}


def test_widget_reads_the_shown_order_and_ignores_an_empty_answer():
    ipywidgets = pytest.importorskip("ipywidgets")
    quiz = quizmod.Quiz("99", quizmod.encode(SPEC))
    q = quiz.questions[0]
    box = quiz._widget(q, ipywidgets)
    field, button = box.children[1].children
    feedback = box.children[2]
    assert list(field.options) == [f"({quizmod.LETTERS[i]}) {c}" for i, c in enumerate(q.shown())]
    button.click()  # nothing chosen: not an attempt
    assert "⚠" in feedback.value and progress.load()["quizzes"] == {}
    field.index = quizmod.LETTERS.index(_right_letter(q))
    button.click()
    assert "y1 is right" in feedback.value and progress.load()["quizzes"]["99"] == {"q1": True}


def test_show_carries_the_text_fallback_with_answer_instructions(monkeypatch):
    pytest.importorskip("ipywidgets")
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append((obj, raw)))
    quiz = QUIZZES["01"]
    quiz.show()
    (bundle, raw), = shown
    assert raw and set(bundle) == {"text/plain", "application/vnd.jupyter.widget-view+json"}
    plain = bundle["text/plain"]
    assert "VBox" not in plain and "children" not in plain
    assert all(f"Q{q.number}. {q.text}" in plain for q in quiz.questions)
    choice = next(q for q in quiz.questions if q.is_choice)
    assert f"ex01.quiz.answer({choice.number}, 'b')" in plain and "quiz.answer(번호, 답)" in plain
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"]


def test_show_without_ipywidgets_prints_the_text(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import fails
    QUIZZES["02"].show()
    out = capsys.readouterr().out
    assert "Q1." in out and "ex02.quiz.answer(" in out and "VBox" not in out


# --------------------------------------------------------------------------- nothing readable

def _assert_no_answers(name: str, text: str, answers: list[str]) -> None:
    flat = text.replace(" ", "")
    assert '"correct":true' not in flat.lower() and "'correct':true" not in flat.lower(), f"{name}: a quiz source"
    for t in answers:
        assert t not in text and json.dumps(t)[1:-1] not in text, f"{name}: readable answer {t!r}"


@pytest.mark.slow
def test_built_wheel_carries_only_encoded_quiz_data(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "chapter5", src / "chapter5", ignore=shutil.ignore_patterns("__pycache__"))
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(tmp_path / "wheel"), str(src)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    wheel, = (tmp_path / "wheel").glob("chapter5-*.whl")
    answers = _answer_texts()
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert "chapter5/exercises/quiz_data.py" in names
        assert not [n for n in names if n.startswith("chapter5/tools/quizzes/")], names
        for n in names:
            _assert_no_answers(n, zf.read(n).decode("utf-8", errors="replace"), answers)


def test_colab_bundles_hold_no_readable_answer():
    bundles = sorted((ROOT / "dist" / "colab").glob("[0-9][0-9]_*.ipynb"))
    if not bundles:
        pytest.skip("no Colab bundles built (python -m chapter5 colab)")
    answers = _answer_texts(right_options=False)
    for path in bundles:
        _assert_no_answers(path.name, path.read_text(encoding="utf-8"), answers)


# --------------------------------------------------------------------------- progress to share

def test_summary_line_is_one_line_for_the_chat():
    first_nb, exercises, quiz = course()[0]
    for ex in exercises:
        progress.record_exercise(ex.key, True)
    for q in quiz.questions:
        progress.record_quiz(first_nb, q.key, True)
    progress.record_quiz("02", "q1", True)
    line = progress.summary_line()
    assert "\n" not in line and line.startswith("chapter5 진행: ")
    assert f"{first_nb} ✅ 연습 {len(exercises)}/{len(exercises)} 퀴즈 {len(quiz.questions)}/{len(quiz.questions)}" in line
    n02 = len(QUIZZES["02"].questions)
    assert f" · 02 연습 0/" in line and f"퀴즈 1/{n02}" in line
    assert repr(progress.show(line=True)) == line


def test_export_code_round_trips_into_another_session(_progress_file, tmp_path, monkeypatch):
    progress.record_exercise("01-1", True)
    progress.record_exercise("03-2", True)
    progress.record_quiz("01", "q2", True)
    progress.record_quiz("01", "q3", False)
    progress.record_quiz("05", "q7", True)
    learner = progress.learner_id()
    code = progress.export_code()
    assert code.startswith(progress.CODE_PREFIX) and len(code) < 200 and code.isascii() and " " not in code

    monkeypatch.setenv("CHAPTER5_PROGRESS", str(tmp_path / "fresh" / "progress.json"))  # a new Colab session
    progress.record_exercise("02-1", True)
    assert progress.learner_id() != learner
    msg = progress.import_code("  " + code[:40] + "\n" + code[40:] + " ")  # pasted with line breaks
    assert msg.startswith("진행 코드를 합쳤습니다: 새로 푼 연습 2개, 퀴즈 2문제.")
    state = progress.load()
    assert {k for k, v in state["exercises"].items() if v["solved"]} == {"01-1", "03-2", "02-1"}
    assert state["quizzes"] == {"01": {"q2": True}, "05": {"q7": True}}
    assert progress.learner_id() == learner  # same shuffled order as before
    assert "새로 푼 연습 0개, 퀴즈 0문제" in progress.import_code(code)  # merging twice changes nothing


def _code_of(payload) -> str:
    import base64
    import zlib

    raw = zlib.compress(json.dumps(payload).encode())
    return progress.CODE_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("bad", ["", "hello", "C5P1-", "C5P1-!!!!", None, 42, _code_of({"x": 1}),
                                 _code_of({"l": "0000abcd", "e": ["01-1"], "q": {"01": "q1"}}),
                                 _code_of({"l": "0000abcd", "e": [], "q": ["01"]}),
                                 _code_of({"l": "../../etc", "e": [], "q": {}})])
def test_a_corrupt_code_is_one_korean_line(bad, _progress_file):
    progress.record_exercise("01-1", True)
    before = _progress_file.read_text()
    msg = progress.import_code(bad)
    assert msg.startswith("⚠ 진행 코드를 읽을 수 없습니다") and "\n" not in msg
    assert _progress_file.read_text() == before


def test_a_cut_code_is_rejected():
    for key in ("01-1", "01-2", "01-3", "01-4", "02-1"):
        progress.record_exercise(key, True)
    code = progress.export_code()
    assert progress.import_code(code[:-3]).startswith("⚠")
    mid = len(code) // 2
    assert progress.import_code(code[:mid] + ("A" if code[mid] != "A" else "B") + code[mid + 1:]).startswith("⚠")
