"""Every exercise and quiz of the course (the study-group kit).

* each exercise: the reference solution passes; every listed plausible wrong answer fails with
  its own message; the shipped template reports "not attempted"; learner code that raises is caught;
* each notebook: >= 4 cells tagged ``exercise`` whose source is exactly the exercise's template,
  each followed by a cell that checks it, and a cell tagged ``quiz``;
* the encoded quiz data is current and every quiz follows the rules;
* a *solved copy* of each notebook's Colab bundle (exercise cells replaced by the reference
  solutions) runs alone in quick mode and every check prints ✅: tests/test_colab.py.
(The shipped, unsolved notebooks run under nbval: their checks print 📝 and nothing errors.)
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from chapter5.exercises import progress
from chapter5.exercises.progress import course
from chapter5.tools import quizzes

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
COURSE = course()
EXERCISES = [ex for _, exs, _ in COURSE for ex in exs]
BY_KEY = {ex.key: ex for ex in EXERCISES}


@pytest.fixture(autouse=True)
def _progress_file(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAPTER5_PROGRESS", str(tmp_path / "progress.json"))
    monkeypatch.setattr(progress, "_memory", None)


def _ids(items):
    return [ex.key for ex in items]


@pytest.mark.parametrize("ex", EXERCISES, ids=_ids(EXERCISES))
def test_reference_solution_passes(ex):
    ok, msg = ex.evaluate(ex.answer_from(ex.solution_code))
    assert ok, msg


@pytest.mark.parametrize("ex,code,part", [(ex, c, p) for ex in EXERCISES for c, p in ex.wrong],
                         ids=[f"{ex.key}-wrong{i}" for ex in EXERCISES for i, _ in enumerate(ex.wrong)])
def test_plausible_wrong_answer_fails_with_its_message(ex, code, part):
    ok, msg = ex.evaluate(ex.answer_from(code))
    assert not ok, f"{ex.key} accepted a wrong answer:\n{code}"
    assert part in msg, f"{ex.key}: expected {part!r} in the feedback, got {msg!r}"
    assert "Traceback" not in msg


@pytest.mark.parametrize("ex", EXERCISES, ids=_ids(EXERCISES))
def test_template_is_not_attempted(ex):
    ok, msg = ex.evaluate(ex.answer_from(ex.template))
    assert not ok and "아직 풀지 않았습니다" in msg, msg


@pytest.mark.parametrize("ex", EXERCISES, ids=_ids(EXERCISES))
def test_learner_code_that_raises_is_caught(ex):
    answer = ex.answer_from(ex.solution_code)
    if callable(answer) and not isinstance(answer, type) and not hasattr(answer, "parameters"):
        def broken(*args, **kwargs):
            raise ValueError("planted")

        ok, msg = ex.evaluate(broken)
        assert not ok and "ValueError: planted" in msg, msg
    else:  # a value, a class or a module: a value of the wrong kind is reported, never a traceback
        ok, msg = ex.evaluate(object())
        assert not ok and msg.startswith("❌") and "Traceback" not in msg, msg


def test_every_notebook_has_exercises_and_a_quiz_module():
    numbers = {nb for nb, _, _ in COURSE}
    for path in NOTEBOOKS:
        assert path.name[:2] in numbers, f"no chapter5/exercises/ex{path.name[:2]}.py"
    for nb, exs, quiz in COURSE:
        assert len(exs) >= 4, f"ex{nb}: {len(exs)} exercises (>= 4 wanted)"
        assert quiz is not None and 5 <= len(quiz.questions) <= 8, f"ex{nb}: quiz missing or wrong size"
        assert all(ex.key.startswith(f"{nb}-") for ex in exs)
    assert len(EXERCISES) == len(BY_KEY), "duplicate exercise keys"


def _exercise_cells(nb):
    return [(i, c) for i, c in enumerate(nb.cells) if "exercise" in c.metadata.get("tags", [])]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_exercise_cells_match_their_templates(path):
    nb = nbformat.read(path, as_version=4)
    cells = _exercise_cells(nb)
    assert len(cells) >= 4, f"{path.name}: {len(cells)} cells tagged 'exercise'"
    keys = []
    for i, cell in cells:
        key = cell.metadata.get("chapter5", {}).get("exercise")
        assert key in BY_KEY, f"{path.name} cell {i}: metadata chapter5.exercise={key!r} is not an exercise"
        assert key.startswith(path.name[:2])
        assert cell.source.strip("\n") == BY_KEY[key].template, \
            f"{path.name} cell {i}: source differs from the template of {key}"
        nxt = next(c for c in nb.cells[i + 1:] if c.cell_type == "code")
        assert re.search(r"\.check\(", nxt.source), f"{path.name}: no check right after exercise {key}"
        keys.append(key)
    assert sorted(keys) == sorted(ex.key for ex in BY_KEY.values() if ex.key.startswith(path.name[:2])), \
        f"{path.name}: not every exercise of the module is in the notebook (or one is there twice)"
    quiz_cells = [c for c in nb.cells if "quiz" in c.metadata.get("tags", [])]
    assert quiz_cells and all(".quiz" in c.source for c in quiz_cells), f"{path.name}: no cell tagged 'quiz'"


def test_quiz_data_is_current_and_valid():
    for name, data in quizzes.sources().items():
        assert quizzes.validate(name, data) == [], quizzes.validate(name, data)
    assert quizzes.TARGET.read_text(encoding="utf-8") == quizzes.render(), \
        "chapter5/exercises/quiz_data.py is stale: run python -m chapter5 quizzes"


def test_quiz_answers_are_not_in_plain_text():
    for name, data in quizzes.sources().items():
        nb = next(p for p in NOTEBOOKS if p.name.startswith(name))
        bundle = ROOT / "dist" / "colab" / nb.name
        text = (nb.read_text(encoding="utf-8") + quizzes.TARGET.read_text(encoding="utf-8")
                + (bundle.read_text(encoding="utf-8") if bundle.is_file() else ""))
        for q in data["questions"]:
            for why in [c["why"] for c in q.get("choices", [])] + [q.get("why", "")]:
                if len(why) > 12:
                    assert json.dumps(why)[1:-1] not in text and why not in text, f"{name}: readable {why!r}"


def test_colab_bundles_carry_the_exercises_and_quizzes():
    """A single-file Colab notebook has the exercise modules and the encoded quizzes inside."""
    from chapter5.tools import colab

    files = colab.package_files()
    for nb, _, _ in COURSE:
        assert f"chapter5/exercises/ex{nb}.py" in files
    assert "chapter5/exercises/quiz_data.py" in files and "chapter5/exercises/progress.py" in files
    assert not any(f.startswith("chapter5/tools/") for f in files), "course tooling must not go to Colab"


def test_study_guide_plans_every_exercise():
    """docs/STUDY.md says, for every exercise of every notebook, whether to do it together or at home."""
    text = (ROOT / "docs" / "STUDY.md").read_text(encoding="utf-8")
    for ex in EXERCISES:
        assert f"**{ex.key}**" in text, f"docs/STUDY.md does not plan exercise {ex.key}"
    assert "docs/STUDY.md" in (ROOT / "README.md").read_text(encoding="utf-8")
