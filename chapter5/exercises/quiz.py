"""A concept quiz per notebook: multiple choice and numeric questions, feedback for every answer.

The questions are written as JSON in ``chapter5/tools/quizzes/NN.json`` (course tooling, not
installed) and stored encoded (zlib + base64) in the generated ``quiz_data.py`` by
``python -m chapter5 quizzes``, so the answers cannot be read in a notebook's, a Colab bundle's or
the installed package's plain text.

The options of a question are shown shuffled, in an order fixed by the learner's id (kept in the
progress file, see :func:`progress.learner_id`) and the question's key: the same learner sees the
same order every time, two learners side by side see different orders. The letters a, b, c … that
``quiz.answer(1, "b")`` takes are the letters the learner SEES. Progress is recorded per question
key, so the order never changes what was solved.

``Quiz.show()`` draws plain ipywidgets (JupyterLab 4 + ipywidgets 8, Notebook 7, VS Code, Colab's
ipywidgets 7.7.1). Its display bundle also carries a ``text/plain`` part: the questions with the
shuffled options and how to answer with ``quiz.answer(...)``, which is what a front end without
widgets (a saved notebook on GitHub, nbconvert, a terminal) shows instead of ``VBox(children=…)``.
An answer that is not one of the options (or not a number) is not an attempt: it gets a hint on
how to answer and is not recorded.
"""
from __future__ import annotations

import base64
import hashlib
import json
import random
import zlib

from . import progress as _progress

LETTERS = "abcdefgh"


def encode(data: dict) -> str:
    raw = json.dumps(data, ensure_ascii=True, sort_keys=True).encode("ascii")
    return base64.b64encode(zlib.compress(raw, 9)).decode("ascii")


def decode(blob: str) -> dict:
    return json.loads(zlib.decompress(base64.b64decode(blob)).decode("ascii"))


def shuffled(n: int, learner: str, notebook: str, key: str) -> list[int]:
    """Source indices ``0..n-1`` in the order shown to ``learner`` for question ``key`` of ``notebook``."""
    seed = int.from_bytes(hashlib.sha256(f"{learner}|{notebook}|{key}".encode()).digest()[:8], "big")
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return order


class Question:
    def __init__(self, number: int, spec: dict):
        self.number, self.spec = number, spec
        self.key = f"q{number}"
        self.text = spec["text"]
        self.choices = [c["text"] for c in spec.get("choices", [])]
        self.order = list(range(len(self.choices)))  # source index of each shown option

    @property
    def is_choice(self) -> bool:
        return bool(self.choices)

    def shown(self) -> list[str]:
        """The options in the order the learner sees them."""
        return [self.choices[i] for i in self.order]

    def judge(self, answer) -> tuple[bool | None, str]:
        """``(correct, feedback)`` for ``answer``: a shown letter / 1-based shown position / option
        text, or a number. ``correct`` is ``None`` when the answer is not an attempt (no such option,
        not a number): the feedback then says how to answer."""
        if self.is_choice:
            idx = self._choice_index(answer)
            if idx is None:
                letters = ", ".join(LETTERS[:len(self.choices)])
                return None, f"보기 {letters} 중 하나를 고르세요 (받은 답: {answer!r}). 시도로 세지 않았습니다."
            choice = self.spec["choices"][idx]
            return bool(choice.get("correct")), choice["why"]
        try:
            value = float(str(answer).strip().replace(",", ""))
            if value != value:  # NaN
                raise ValueError
        except ValueError:
            return None, f"숫자로 답하세요 (받은 답: {answer!r}). 시도로 세지 않았습니다."
        target, tol = float(self.spec["number"]), float(self.spec.get("tolerance", 1e-9))
        if abs(value - target) <= tol:
            return True, self.spec["why"]
        for near in self.spec.get("wrong", []):
            if abs(value - float(near["value"])) <= tol:
                return False, near["why"]
        return False, self.spec["otherwise"]

    def _choice_index(self, answer):
        """Source index of ``answer`` (shown letter, shown 1-based position or option text)."""
        n = len(self.choices)
        if isinstance(answer, int) and not isinstance(answer, bool) and 1 <= answer <= n:
            return self.order[answer - 1]
        if isinstance(answer, str):
            a = answer.strip().strip("()").strip()
            if len(a) == 1 and a.lower() in LETTERS[:n]:
                return self.order[LETTERS.index(a.lower())]
            if a in self.choices:
                return self.choices.index(a)
        return None

    def plain(self) -> str:
        lines = [f"Q{self.number}. {self.text}"]
        lines += [f"   ({LETTERS[i]}) {c}" for i, c in enumerate(self.shown())]
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
        self._shuffled_for: str | None = None

    def _shuffle(self) -> None:
        """Put every question's options in this learner's order (once per session: the order a
        learner saw stays the order ``answer()`` reads, even if an imported code changes the id)."""
        if self._shuffled_for is not None:
            return
        learner = _progress.learner_id()
        for q in self.questions:
            q.order = shuffled(len(q.choices), learner, self.notebook, q.key)
        self._shuffled_for = learner

    def how_to_answer(self) -> str:
        name = f"ex{self.notebook}.quiz"
        choice = next((q for q in self.questions if q.is_choice), None)
        number = next((q for q in self.questions if not q.is_choice), None)
        examples = []
        if choice is not None:
            examples.append(f"{name}.answer({choice.number}, 'b')")
        if number is not None:
            examples.append(f"{name}.answer({number.number}, 12)")
        return ("위젯이 보이지 않으면 글자로 답하세요: quiz.answer(번호, 답) — 보기는 위에 보이는 글자 (a, b, …), "
                "숫자 문제는 숫자. 예: " + ", ".join(examples) + ". 보기에 없는 답은 시도로 세지 않습니다.")

    def text(self) -> str:
        """The whole quiz as text, options in this learner's order, with how to answer."""
        self._shuffle()
        body = "\n\n".join(q.plain() for q in self.questions)
        return f"📝 {self.title}\n\n{body}\n\n{self.how_to_answer()}"

    def __repr__(self):
        return self.text()

    def answer(self, number: int, answer, *, quiet: bool = False) -> bool | None:
        """Answer question ``number`` (1-based) in text, with the letters as shown; prints the feedback.

        Returns True / False, or None when the answer was not an attempt (not recorded)."""
        self._shuffle()
        if not (isinstance(number, int) and 1 <= number <= len(self.questions)):
            if not quiet:
                print(f"⚠ 문제 번호는 1–{len(self.questions)} 입니다 (받은 번호: {number!r}). 시도로 세지 않았습니다.")
            return None
        q = self.questions[number - 1]
        ok, why = q.judge(answer)
        if ok is not None:
            _progress.record_quiz(self.notebook, q.key, ok)
        if not quiet:
            print({True: "✅ 정답! ", False: "❌ 다시 생각해 보세요. ", None: "⚠ "}[ok] + why)
        return ok

    def bundle(self, box) -> dict:
        """The display bundle of the quiz widget ``box``: the widget view plus the text fallback."""
        return {"text/plain": self.text(),
                "application/vnd.jupyter.widget-view+json":
                    {"version_major": 2, "version_minor": 0, "model_id": box.model_id}}

    def show(self):
        """Draw the quiz with ipywidgets; where widgets cannot render, the text with ``answer()``."""
        self._shuffle()
        try:
            import ipywidgets as w
            from IPython.display import display
        except ImportError:
            print(self.text())
            return None
        boxes = [w.HTML(f"<h4 style='margin:4px 0'>📝 {self.title}</h4>")]
        boxes += [self._widget(q, w) for q in self.questions]
        boxes.append(w.HTML("<small>위젯이 보이지 않는 곳에서는 "
                            f"<code>ex{self.notebook}.quiz.answer(번호, 답)</code> 으로 답할 수 있습니다.</small>"))
        display(self.bundle(w.VBox(boxes)), raw=True)
        return None

    def _widget(self, q: Question, w):
        self._shuffle()
        title = w.HTML(f"<b>Q{q.number}.</b> {q.text}")
        if q.is_choice:
            field = w.RadioButtons(options=[f"({LETTERS[i]}) {c}" for i, c in enumerate(q.shown())],
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
            if ok is None:
                why = "보기를 하나 고른 뒤 확인을 누르세요." if q.is_choice else "숫자를 입력한 뒤 확인을 누르세요."
                feedback.value = f"<span style='color:#9a6700'>⚠ {why}</span>"
                return
            _progress.record_quiz(self.notebook, q.key, ok)
            color = "#1a7f37" if ok else "#cf222e"
            mark = "✅ 정답! " if ok else "❌ 다시 생각해 보세요. "
            feedback.value = f"<span style='color:{color}'>{mark}{why}</span>"

        button.on_click(on_click)
        return w.VBox([title, w.HBox([field, button]), feedback],
                      layout=w.Layout(margin="0 0 10px 0"))
