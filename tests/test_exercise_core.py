"""The exercise machinery itself, on a planted exercise (the real tasks: test_exercises.py)."""
import threading
import time

import pytest
import torch

from chapter5.exercises import core, progress, quiz
from chapter5.exercises.core import Exercise, ____, expect_close, expect_number, run


def _test_double(fn):
    for x in (0, 3, -2):
        expect_number(run(fn, x, what=f"double({x})"), 2 * x, f"double({x})",
                      why="입력에 2 를 곱했는지 보세요")


DOUBLE = Exercise(
    "99-1", "두 배", "double", _test_double,
    hints=["곱하기", "x * 2"],
    template="def double(x):\n    return ____",
    solution="def double(x):\n    return 2 * x",
    wrong=[("def double(x):\n    return x + 2", "double(0): 기대값 0, 받은 값 2"),
           ("def double(x):\n    return x * x", "double(3): 기대값 6, 받은 값 9")],
)


@pytest.fixture(autouse=True)
def _progress_file(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAPTER5_PROGRESS", str(tmp_path / "p" / "progress.json"))
    monkeypatch.setattr(progress, "_memory", None)
    yield tmp_path / "p" / "progress.json"


def test_solution_passes_and_is_recorded(_progress_file):
    ok, msg = DOUBLE.evaluate(DOUBLE.answer_from(DOUBLE.solution_code))
    assert ok and msg.startswith("✅")
    assert DOUBLE.check(DOUBLE.answer_from(DOUBLE.solution_code), quiet=True)
    assert progress.load()["exercises"]["99-1"]["solved"] is True
    assert _progress_file.is_file()


@pytest.mark.parametrize("code,part", DOUBLE.wrong)
def test_wrong_answers_fail_with_their_message(code, part):
    ok, msg = DOUBLE.evaluate(DOUBLE.answer_from(code))
    assert not ok and msg.startswith("❌") and part in msg, msg


def test_untouched_template_and_missing_name_are_not_attempted():
    for answer in (DOUBLE.answer_from(DOUBLE.template), ____, core._MISSING):
        ok, msg = DOUBLE.evaluate(answer)
        assert not ok and "아직 풀지 않았습니다" in msg, msg


def test_check_finds_the_name_in_the_callers_globals(capsys):
    g = {"DOUBLE": DOUBLE}
    exec("def double(x):\n    return x * 2\nresult = DOUBLE.check()", g)
    assert bool(g["result"]) and "✅" in capsys.readouterr().out
    exec("result = DOUBLE.check()", {"DOUBLE": DOUBLE})  # nothing defined: not attempted, no error
    assert "아직 풀지 않았습니다" in capsys.readouterr().out


def test_learner_exception_names_the_line_and_input():
    ok, msg = DOUBLE.evaluate(DOUBLE.answer_from("def double(x):\n    y = 1\n    return y / x"))
    assert not ok
    assert "double(0) 을 실행하다 오류가 났습니다: ZeroDivisionError" in msg
    assert "3번째 줄" in msg and "Traceback" not in msg


def test_wrong_type_and_nan_and_tensor_numbers():
    assert "숫자가 필요한데 str" in DOUBLE.evaluate(lambda x: "6")[1]
    assert "NaN" in DOUBLE.evaluate(lambda x: float("nan"))[1]
    assert DOUBLE.evaluate(lambda x: torch.tensor(2.0 * x))[0]  # a 0-d tensor is a number
    assert ".sum() / .item()" in DOUBLE.evaluate(lambda x: torch.tensor([x, x]))[1]


def test_endless_loop_is_stopped_and_later_code_runs():
    ex = Exercise("99-2", "loop", "f", lambda fn: run(fn), hints=["a", "b"], template="f = ____",
                  solution="f = lambda: 1", wrong=[("f = 1", "x"), ("f = 2", "y")], time_limit=0.5)

    def spin():
        while True:
            pass

    start = time.monotonic()
    ok, msg = ex.evaluate(spin)
    assert not ok and msg.startswith("⏱") and time.monotonic() - start < 3
    assert ex.evaluate(lambda: 1)[0]


def test_time_limit_also_works_off_the_main_thread():
    out = {}

    def spin():  # learner code is always a function called inside the limit
        while True:
            pass

    def worker():
        try:
            with core.time_limit(0.3):
                spin()
        except core.TimeLimit:
            out["stopped"] = True

    t = threading.Thread(target=worker, daemon=True)
    t.start()
    t.join(5)
    assert out.get("stopped")


def test_checker_crash_is_reported_without_traceback():
    ex = Exercise("99-3", "shape", "t", lambda t: expect_close(t, torch.zeros(2, 2), "t"),
                  hints=["a", "b"], template="t = ____", solution="t = torch.zeros(2, 2)",
                  wrong=[("t = torch.ones(2, 2)", "값이 다릅니다"), ("t = torch.zeros(3)", "모양")],
                  context=lambda: {"torch": torch})
    for code, part in ex.wrong:
        ok, msg = ex.evaluate(ex.answer_from(code))
        assert not ok and part in msg
    assert "텐서(또는 NumPy 배열)가 필요한데 str" in ex.evaluate("zeros")[1]
    assert "(2, 2) 인데 (3,)" in ex.evaluate(torch.zeros(3))[1]


def test_float64_numpy_lists_and_ints_are_compared_after_one_dtype():
    """The issue's 'RuntimeError: Double did not match Float': a right float64 / NumPy / list answer
    must pass, and a wrong one must still be named as wrong (not as a checker crash)."""
    import numpy as np

    ex = Exercise("99-5", "close", "t", lambda t: expect_close(t, torch.arange(4.0).view(2, 2), "t"),
                  hints=["a", "b"], template="t = ____", solution="t = torch.arange(4.0).view(2, 2)",
                  wrong=[("t = 1", "x"), ("t = 2", "y")])
    for right in (torch.arange(4, dtype=torch.float64).view(2, 2), np.arange(4.0).reshape(2, 2),
                  np.arange(4, dtype=np.float32).reshape(2, 2), [[0, 1], [2, 3]], torch.arange(4).view(2, 2)):
        ok, msg = ex.evaluate(right)
        assert ok, (type(right), msg)
    ok, msg = ex.evaluate(np.ones((2, 2)))
    assert not ok and "값이 다릅니다" in msg and "문제가 생겼습니다" not in msg, msg
    ok, msg = ex.evaluate(np.ones(3))
    assert not ok and "(2, 2) 인데 (3,)" in msg, msg
    assert core.allclose(np.arange(3.0), torch.arange(3, dtype=torch.float32))
    assert not core.allclose(torch.zeros(2), torch.zeros(3)) and not core.allclose("a", torch.zeros(1))
    assert core.as_tensor(np.float64(2.5), "x").dtype == torch.float64


def test_check_without_argument_asks_to_run_the_exercise_cell_first(capsys):
    exec("result = DOUBLE.check()", {"DOUBLE": DOUBLE})
    out = capsys.readouterr().out
    assert "📝" in out and "먼저 위의 연습 셀을 실행하세요" in out and "`double`" in out, out
    # an explicit argument still works
    assert DOUBLE.check(lambda x: 2 * x, quiet=True)


def test_check_finds_the_name_in_the_ipython_namespace(monkeypatch):
    import types

    shell = types.SimpleNamespace(user_ns={"double": lambda x: x * 2})
    monkeypatch.setitem(__import__("sys").modules, "IPython",
                        types.SimpleNamespace(get_ipython=lambda: shell))
    assert DOUBLE.check(quiet=True)


def test_blank_inside_a_with_or_a_nested_function_is_not_attempted():
    def with_blank(x):
        with ____:
            return 2 * x

    def nested(x):
        def inner():
            return ____
        return 2 * x

    for fn in (with_blank, nested, lambda x: ____):
        ok, msg = DOUBLE.evaluate(fn)
        assert not ok and msg.startswith("📝") and "아직 풀지 않았습니다" in msg, msg


def test_check_result_shows_nothing_more_in_a_notebook():
    from IPython.core.interactiveshell import InteractiveShell

    result = DOUBLE.check(DOUBLE.answer_from(DOUBLE.solution_code), quiet=True)
    assert result and hasattr(result, "_ipython_display_") and result._ipython_display_() is None
    assert not DOUBLE.check(DOUBLE.answer_from(DOUBLE.wrong[0][0]), quiet=True)
    assert InteractiveShell  # IPython calls _ipython_display_ instead of printing Out[]


def test_progress_summary_shows_no_user_path(monkeypatch, tmp_path):
    monkeypatch.setattr(progress.Path, "home", lambda: tmp_path)
    monkeypatch.setenv("CHAPTER5_PROGRESS", str(tmp_path / ".local" / "share" / "chapter5" / "progress.json"))
    assert "~/.local/share/chapter5/progress.json" in progress.summary_text()
    assert str(tmp_path) not in progress.summary_text()


def test_hints_are_tiered_and_never_raise(capsys):
    ex = Exercise("99-4", "h", "x", lambda x: None, hints=["one", "two", "three"], template="x = ____",
                  solution="x = 1", wrong=[("x = 2", ""), ("x = 3", "")])
    ex.hint()
    ex.hint()
    ex.hint()
    ex.hint()
    ex.hint(7)
    out = capsys.readouterr().out
    assert "힌트 1/3: one" in out and "힌트 2/3: two" in out and out.count("힌트 3/3: three") == 2
    assert "1 ~ 3 번까지" in out
    assert "x = 1" in ex.solution()._repr_markdown_()
    assert "x = 1" not in repr(ex)


def test_blank_in_arithmetic_means_not_attempted():
    def partly(x):
        return x * ____

    ok, msg = DOUBLE.evaluate(partly)
    assert not ok and "아직 풀지 않았습니다" in msg


# --------------------------------------------------------------------------- quiz + progress

SPEC = {"title": "t", "questions": [
    {"text": "a?", "choices": [{"text": "x", "why": "x is wrong because"},
                               {"text": "y", "correct": True, "why": "y is right"}]},
    {"text": "n?", "number": 26, "tolerance": 0, "why": "right", "otherwise": "no",
     "wrong": [{"value": 28, "why": "padding counted twice"}]},
]}


def test_quiz_feedback_per_answer_and_encoded(capsys):
    blob = quiz.encode(SPEC)
    assert "padding" not in blob and "correct" not in blob
    q = quiz.Quiz("99", blob)
    # options are shown shuffled (per learner): answer by the option's text, then by its shown letter
    assert not q.answer(1, "x") and "x is wrong because" in capsys.readouterr().out
    shown_y = "ab"[q.questions[0].order.index(1)]
    assert q.answer(1, shown_y) and "y is right" in capsys.readouterr().out
    assert not q.answer(2, "28") and "padding counted twice" in capsys.readouterr().out
    assert not q.answer(2, 30) and "no" in capsys.readouterr().out
    assert q.answer(2, "26.0")
    assert progress.load()["quizzes"]["99"] == {"q1": True, "q2": True}
    assert "y is right" not in repr(q)


def test_quiz_widget_feedback_changes_on_click():
    ipywidgets = pytest.importorskip("ipywidgets")
    q = quiz.Quiz("99", quiz.encode(SPEC))
    box = q._widget(q.questions[0], ipywidgets)
    field, button = box.children[1].children
    feedback = box.children[2]
    order = q.questions[0].order  # source index of each shown option (shown shuffled)
    field.index = order.index(0)
    button.click()
    assert "x is wrong because" in feedback.value
    field.index = order.index(1)
    button.click()
    assert "y is right" in feedback.value


def test_progress_survives_reload_and_corrupt_file_is_reset(_progress_file, capsys):
    progress.record_exercise("99-1", True)
    progress.record_quiz("99", "q1", False)
    assert progress.load()["exercises"]["99-1"]["solved"]
    _progress_file.write_text("{not json")
    state = progress.load()
    assert state["exercises"] == {} and "손상" in capsys.readouterr().out
    assert _progress_file.with_name("progress.json.bad").is_file()
    progress.record_exercise("99-1", True)
    assert "지웠습니다" in progress.reset() and not _progress_file.exists()


def test_default_progress_file_is_outside_the_repository(monkeypatch, tmp_path):
    from chapter5.config import REPO_ROOT

    monkeypatch.delenv("CHAPTER5_PROGRESS")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert progress.path() == tmp_path / "xdg" / "chapter5" / "progress.json"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert REPO_ROOT not in progress.path().parents


def test_progress_file_on_windows_and_macos(monkeypatch, tmp_path):
    """The README's Windows path: progress in %APPDATA%\\chapter5 (also without APPDATA), macOS's
    Application Support; the time limit's fallback used there is tested off the main thread above."""
    monkeypatch.delenv("CHAPTER5_PROGRESS")
    monkeypatch.setattr(progress.sys, "platform", "win32")
    monkeypatch.setenv("APPDATA", str(tmp_path / "Roaming"))
    assert progress.path() == tmp_path / "Roaming" / "chapter5" / "progress.json"
    monkeypatch.delenv("APPDATA")
    monkeypatch.setattr(progress.Path, "home", classmethod(lambda cls: tmp_path / "home"))
    assert progress.path() == tmp_path / "home" / "AppData" / "Roaming" / "chapter5" / "progress.json"
    monkeypatch.setattr(progress.sys, "platform", "darwin")
    assert progress.path() == tmp_path / "home" / "Library" / "Application Support" / "chapter5" / "progress.json"
