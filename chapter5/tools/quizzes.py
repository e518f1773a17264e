"""Quiz sources → encoded ``chapter5/exercises/quiz_data.py`` (``python -m chapter5 quizzes``).

Each notebook's quiz is written in plain JSON in ``chapter5/tools/quizzes/NN.json``::

    {"title": "01 합성곱 기초 퀴즈",
     "questions": [
       {"text": "…", "choices": [{"text": "…", "why": "…"}, {"text": "…", "why": "…", "correct": ✓}]},
       {"text": "…", "number": 26, "tolerance": 0, "why": "…",
        "wrong": [{"value": 28, "why": "…"}], "otherwise": "…"}]}

(✓ stands for JSON's true, on the one right option.) The generated module holds them only
encoded, so no answer is readable in a notebook, a Colab bundle or the installed package (these JSON sources are course tooling: they are not package data).
``tests/test_exercises.py`` fails when the generated file is stale or a quiz breaks the rules
checked by :func:`validate`, which include what keeps a quiz from being guessed: the right
option's position is balanced over a notebook's multiple-choice questions (no position holds more
than 40 %), and the right option does not win by length (it is strictly the longest in at most a
third of them, and never more than 1.3 × the distractors' mean length). Learners also see the
options shuffled (``chapter5.exercises.quiz``).
"""
from __future__ import annotations

import json
from pathlib import Path

from ..exercises.quiz import LETTERS, encode

MAX_POSITION_SHARE = 0.4   # no option position is right in more than 40 % of a notebook's choice questions
MAX_LONGEST_SHARE = 1 / 3  # the right option is strictly the longest in at most a third of them
MAX_LENGTH_RATIO = 1.3     # right option length / mean length of the other options, per question

SOURCES = Path(__file__).resolve().parent / "quizzes"
TARGET = Path(__file__).resolve().parent.parent / "exercises" / "quiz_data.py"


def validate(name: str, data: dict) -> list[str]:
    """Problems with one quiz source (an empty list when it is fine)."""
    problems = []
    qs = data.get("questions", [])
    if not data.get("title"):
        problems.append(f"{name}: no title")
    if not 5 <= len(qs) <= 8:
        problems.append(f"{name}: {len(qs)} questions (5–8 wanted)")
    kinds = set()
    for i, q in enumerate(qs, 1):
        where = f"{name} Q{i}"
        if not q.get("text"):
            problems.append(f"{where}: no text")
        if "choices" in q:
            kinds.add("choice")
            right = [c for c in q["choices"] if c.get("correct")]
            if len(q["choices"]) < 2 or len(right) != 1:
                problems.append(f"{where}: needs ≥ 2 choices and exactly one correct")
            problems += [f"{where}: choice {c.get('text')!r} has no 'why'" for c in q["choices"] if not c.get("why")]
        elif "number" in q:
            kinds.add("number")
            for key in ("why", "otherwise"):
                if not q.get(key):
                    problems.append(f"{where}: numeric question without {key!r}")
            problems += [f"{where}: near miss without value/why" for w in q.get("wrong", [])
                         if "value" not in w or not w.get("why")]
        else:
            problems.append(f"{where}: neither 'choices' nor 'number'")
    problems += guessability(name, data)
    return problems


def right_option_stats(data: dict) -> dict:
    """Per notebook: how many choice questions, where the right option sits (``{"a": 2, …}``), how
    many have it as the strictly longest option, and its length over the other options' mean."""
    positions, longest, ratios = {}, 0, []
    questions = [q for q in data.get("questions", []) if len(q.get("choices", [])) >= 2]
    for q in questions:
        lengths = [len(c["text"]) for c in q["choices"]]
        right = next((i for i, c in enumerate(q["choices"]) if c.get("correct")), None)
        if right is None:
            continue
        others = [n for i, n in enumerate(lengths) if i != right]
        positions[LETTERS[right]] = positions.get(LETTERS[right], 0) + 1
        longest += lengths[right] > max(others)
        ratios.append(lengths[right] / (sum(others) / len(others)))
    return {"choice_questions": len(questions), "positions": dict(sorted(positions.items())),
            "right_is_longest": longest, "length_ratios": ratios}


def guessability(name: str, data: dict) -> list[str]:
    """Problems that would let a group guess the right option without knowing the answer."""
    stats, problems = right_option_stats(data), []
    n = stats["choice_questions"]
    for letter, count in stats["positions"].items():
        if count > MAX_POSITION_SHARE * n:
            problems.append(f"{name}: the right option is ({letter}) in {count} of {n} choice questions "
                            f"(at most {MAX_POSITION_SHARE:.0%})")
    if stats["right_is_longest"] > MAX_LONGEST_SHARE * n:
        problems.append(f"{name}: the right option is the longest in {stats['right_is_longest']} of {n} "
                        "choice questions (at most a third)")
    choice_qs = [(i, q) for i, q in enumerate(data.get("questions", []), 1) if len(q.get("choices", [])) >= 2]
    for (i, _), ratio in zip(choice_qs, stats["length_ratios"]):
        if ratio > MAX_LENGTH_RATIO:
            problems.append(f"{name} Q{i}: the right option is {ratio:.2f} × as long as the others "
                            f"(at most {MAX_LENGTH_RATIO})")
    return problems


def sources() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(SOURCES.glob("[0-9][0-9].json"))}


def render() -> str:
    lines = ['"""Encoded quiz data — generated by ``python -m chapter5 quizzes`` from',
             '``chapter5/tools/quizzes/*.json``. Do not edit; regenerate instead."""', "", "BLOBS = {"]
    for name, data in sources().items():
        problems = validate(name, data)
        if problems:
            raise ValueError("; ".join(problems))
        lines.append(f"    {name!r}: {encode(data)!r},")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_all() -> list[tuple[str, str]]:
    text = render()
    if TARGET.is_file() and TARGET.read_text(encoding="utf-8") == text:
        return [(TARGET.name, "unchanged")]
    TARGET.write_text(text, encoding="utf-8")
    return [(TARGET.name, "written")]
