"""Nothing graded contradicts the page: notebook 04's exercise 04-1 and quiz 04 against the recorded
quadrant experiment (``notebooks/records/04-quadrants.json``, made by ``make results``).

* Exercise 04-1 and quiz 04 Q1 grade what the **textbook's table** recommends; the accepted answers are
  the table's picks (``transfer.QUADRANTS``).
* Wherever a graded text (quiz explanation, exercise message) or the notebook's prose states what §7
  *measured* for a quadrant, the statement must be the record's verdict for that quadrant
  (``transfer.verdict``: wins / tie / loses beyond the seed spread). A planted record with another
  outcome makes this test fail.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chapter5 import records, transfer

ROOT = Path(__file__).resolve().parents[1]
QUIZ = ROOT / "chapter5" / "tools" / "quizzes" / "04.json"
NOTEBOOK = ROOT / "notebooks" / "04_fine_tuning.ipynb"
RECORD = ROOT / "notebooks" / "records" / "04-quadrants.json"

# How a text states a measured outcome of one quadrant: "(<크기>·<유사성> 칸) 에서는 교과서의 선택이 <outcome>"
CELL = {"작다·비슷하다": ("small", "similar"), "크다·비슷하다": ("large", "similar"),
        "작다·다르다": ("small", "dissimilar"), "크다·다르다": ("large", "dissimilar")}
OUTCOME = {"이겼습니다": "wins", "다른 전략과 구별되지 않았습니다": "tie", "이기지 못했습니다": "loses"}
CLAIM = re.compile(r"(작다·비슷하다|크다·비슷하다|작다·다르다|크다·다르다) 칸\)? 에서는 교과서의 선택이 "
                   r"(이겼습니다|다른 전략과 구별되지 않았습니다|이기지 못했습니다)")


def recorded_verdicts(doc: dict) -> dict:
    results = records.decode(doc["value"])
    return {k: transfer.verdict(rows, transfer.QUADRANTS[k][0])["outcome"] for k, rows in results.items()}


def graded_texts() -> list[tuple[str, str]]:
    """(where, text) for every text a learner is graded by or reads next to a grade in notebook 04."""
    from chapter5.exercises import ex04

    quiz = json.loads(QUIZ.read_text(encoding="utf-8"))
    out = []
    for i, q in enumerate(quiz["questions"], start=1):
        out.append((f"quiz 04 Q{i}", q["text"]))
        for c in q.get("choices", []):
            out.append((f"quiz 04 Q{i} choice", c["text"] + " " + c.get("why", "")))
        out += [(f"quiz 04 Q{i}", q.get("why", "")), (f"quiz 04 Q{i}", q.get("otherwise", ""))]
    q1 = ex04.q1
    out += [("ex04.q1 hint", h) for h in q1.hints] + [("ex04.q1 solution", q1.solution_code)]
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    out += [(f"04 markdown cell {i}", "".join(c["source"])) for i, c in enumerate(nb["cells"])
            if c["cell_type"] == "markdown"]
    return out


def contradictions(verdicts: dict, texts) -> list[str]:
    bad = []
    for where, text in texts:
        for cell, said in CLAIM.findall(text):
            if verdicts[CELL[cell]] != OUTCOME[said]:
                bad.append(f"{where}: says the textbook's pick '{said}' in {cell}, "
                           f"the record says {verdicts[CELL[cell]]}")
    return bad


@pytest.fixture(scope="module")
def verdicts():
    return recorded_verdicts(json.loads(RECORD.read_text(encoding="utf-8")))


def test_exercise_and_quiz_grade_the_textbooks_table():
    from chapter5.exercises import ex04

    assert ex04._TABLE == {k: v[0] for k, v in transfer.QUADRANTS.items()}
    q1 = json.loads(QUIZ.read_text(encoding="utf-8"))["questions"][0]
    assert "작고, 사전 학습 데이터와 다른" in q1["text"]      # small / dissimilar
    right = [c for c in q1["choices"] if c.get("correct")]
    assert len(right) == 1 and right[0]["text"] == "합성곱층의 일부분 + 분류기"
    assert transfer.QUADRANTS[("small", "dissimilar")][0] == "last2"


def test_the_record_has_the_power_the_page_promises(verdicts):
    doc = json.loads(RECORD.read_text(encoding="utf-8"))
    settings = records.decode(doc["inputs"]["settings"])
    assert len(settings["seeds"]) >= 5 and settings["px"] >= 112
    results = records.decode(doc["value"])
    for cell in (("small", "similar"), ("large", "similar")):      # ImageNet features work: far above chance
        best = max(m for m, _, _, _ in transfer.summarize(results[cell]).values())
        assert best >= 0.85, (cell, best)
    assert set(verdicts.values()) <= {"wins", "tie", "loses"} and len(verdicts) == 4


def test_no_graded_text_contradicts_the_recorded_quadrants(verdicts):
    texts = graded_texts()
    said = [c for _, t in texts for c in CLAIM.findall(t)]
    assert said, "quiz 04 Q1 states what §7 measured for its quadrant (checked here against the record)"
    assert contradictions(verdicts, texts) == []


def test_a_planted_record_with_another_outcome_is_caught(verdicts):
    texts = graded_texts()
    stated = {CELL[c] for _, t in texts for c, _ in CLAIM.findall(t)}
    flipped = dict(verdicts)
    for cell in stated:
        flipped[cell] = {"wins": "loses", "loses": "tie", "tie": "wins"}[verdicts[cell]]
    assert contradictions(flipped, texts), "a different recorded outcome must contradict the texts"
