"""A concept quiz per notebook: multiple choice and numeric questions, feedback for every answer.

The questions are written as JSON in ``chapter5/tools/quizzes/NN.json`` and stored encoded
(zlib + base64) in the generated ``quiz_data.py`` by ``python -m chapter5 quizzes``, so the
answers cannot be read in a notebook's (or a Colab bundle's) plain text. ``Quiz.show()`` draws
plain ipywidgets (JupyterLab 4 + ipywidgets 8, Notebook 7, VS Code, Colab's ipywidgets 7.7.1):
a choice or a text box per question, a 확인 button and the feedback for that exact answer.
Where no widget front end runs, ``quiz.answer(1, "b")`` does the same in text.
"""
from __future__ import annotations

import base64
import json
import zlib

from . import progress as _progress

LETTERS = "abcdefgh"


def encode(data: dict) -> str:
    raw = json.dumps(data, ensure_ascii=True, sort_keys=True).encode("ascii")
    return base64.b64encode(zlib.compress(raw, 9)).decode("ascii")


def decode(blob: str) -> dict:
    return json.loads(zlib.decompress(base64.b64decode(blob)).decode("ascii"))


class Question:
    def __init__(self, number: int, spec: dict):
        self.number, self.spec = number, spec
        self.text = spec["text"]
        self.choices = [c["text"] for c in spec.get("choices", [])]

    @property
    def is_choice(self) -> bool:
        return bool(self.choices)

    def judge(self, answer) -> tuple[bool, str]:
        """``(correct, feedback)`` for ``answer``: a letter / 1-based index / choice text, or a number."""
        if self.is_choice:
            idx = self._choice_index(answer)
            if idx is None:
                return False, f"보기 {', '.join(LETTERS[:len(self.choices)])} 중 하나를 고르세요."
            choice = self.spec["choices"][idx]
            return bool(choice.get("correct")), choice["why"]
        try:
            value = float(str(answer).strip().replace(",", ""))
        except ValueError:
            return False, "숫자를 입력하세요 (예: 26)."
        target, tol = float(self.spec["number"]), float(self.spec.get("tolerance", 1e-9))
        if abs(value - target) <= tol:
            return True, self.spec["why"]
        for near in self.spec.get("wrong", []):
            if abs(value - float(near["value"])) <= tol:
                return False, near["why"]
        return False, self.spec["otherwise"]

    def _choice_index(self, answer):
        if isinstance(answer, int) and not isinstance(answer, bool) and 1 <= answer <= len(self.choices):
            return answer - 1
        if isinstance(answer, str):
            a = answer.strip()
            if len(a) == 1 and a.lower() in LETTERS[:len(self.choices)]:
                return LETTERS.index(a.lower())
            if a in self.choices:
                return self.choices.index(a)
        return None

    def plain(self) -> str:
        lines = [f"Q{self.number}. {self.text}"]
        lines += [f"   ({LETTERS[i]}) {c}" for i, c in enumerate(self.choices)]
        if not self.is_choice:
            lines.append("   (숫자로 답하세요)")
        return "\n".join(lines)


class Quiz:
    def __init__(self, notebook: str, blob: str | None = None):
        if blob is None:
            from .quiz_data import BLOBS

            blob = BLOBS[notebook]
        data = decode(blob)
        self.notebook, self.title = notebook, data["title"]
        self.questions = [Question(i + 1, q) for i, q in enumerate(data["questions"])]

    def __repr__(self):
        body = "\n\n".join(q.plain() for q in self.questions)
        return (f"{self.title}\n\n{body}\n\n위젯이 보이지 않으면 quiz.answer(번호, 답) 으로 답하세요 "
                "(예: quiz.answer(1, 'b'), quiz.answer(2, 26)).")

    def answer(self, number: int, answer, *, quiet: bool = False) -> bool:
        """Answer question ``number`` (1-based) in text; prints the feedback."""
        q = self.questions[number - 1]
        ok, why = q.judge(answer)
        _progress.record_quiz(self.notebook, f"q{number}", ok)
        if not quiet:
            print(("✅ 정답! " if ok else "❌ 다시 생각해 보세요. ") + why)
        return ok

    def show(self):
        """Draw the quiz with ipywidgets (text fallback when widgets are unavailable)."""
        try:
            import ipywidgets as w
            from IPython.display import display
        except ImportError:
            print(repr(self))
            return None
        boxes = [w.HTML(f"<h4 style='margin:4px 0'>📝 {self.title}</h4>")]
        for q in self.questions:
            boxes.append(self._widget(q, w))
        box = w.VBox(boxes)
        display(box)
        return None

    def _widget(self, q: Question, w):
        title = w.HTML(f"<b>Q{q.number}.</b> {q.text}")
        if q.is_choice:
            field = w.RadioButtons(options=[f"({LETTERS[i]}) {c}" for i, c in enumerate(q.choices)],
                                   index=None, layout=w.Layout(width="auto"))
        else:
            field = w.Text(placeholder="숫자 입력", layout=w.Layout(width="160px"))
        button = w.Button(description="확인", button_style="primary", layout=w.Layout(width="80px"))
        feedback = w.HTML("")

        def on_click(_):
            if q.is_choice:
                answer = None if field.index is None else field.index + 1
            else:
                answer = field.value
            ok, why = q.judge(answer)
            _progress.record_quiz(self.notebook, f"q{q.number}", ok)
            color = "#1a7f37" if ok else "#cf222e"
            mark = "✅ 정답! " if ok else "❌ 다시 생각해 보세요. "
            feedback.value = f"<span style='color:{color}'>{mark}{why}</span>"

        button.on_click(on_click)
        return w.VBox([title, w.HBox([field, button]), feedback],
                      layout=w.Layout(margin="0 0 10px 0"))
