"""The learner's progress: which exercises and quiz questions are solved, across the course.

A small JSON file in the user's data directory — never inside the repository, never sent
anywhere: ``$CHAPTER5_PROGRESS`` if set, else ``%APPDATA%\\chapter5\\progress.json`` (Windows),
``~/Library/Application Support/chapter5/progress.json`` (macOS) or
``${XDG_DATA_HOME:-~/.local/share}/chapter5/progress.json``. A corrupt file is moved aside
(``progress.json.bad``) and progress starts again, with a message. ``chapter5.progress()``
shows it; ``python -m chapter5 progress --reset`` deletes it.

For a study group: :func:`summary_line` is one line to paste into the group's chat. To carry
progress from one computer or Colab session to the next: :func:`export_code` gives a short text
code, :func:`import_code` merges it into this computer's progress (solved stays solved). The code
also carries the learner's id (:func:`learner_id`), which fixes the order of the quiz options.
"""
from __future__ import annotations

import base64
import binascii
import datetime as _dt
import json
import os
import re
import secrets
import sys
import zlib
from pathlib import Path

_warned: set[str] = set()
_memory: dict | None = None  # used only when the file cannot be written


def path() -> Path:
    env = os.environ.get("CHAPTER5_PROGRESS")
    if env:
        return Path(env).expanduser()
    home = Path.home()
    if sys.platform.startswith("win"):
        base = Path(os.environ.get("APPDATA") or home / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / "chapter5" / "progress.json"


def _empty() -> dict:
    return {"version": 1, "exercises": {}, "quizzes": {}}


def _say_once(msg: str) -> None:
    if msg not in _warned:
        _warned.add(msg)
        print(msg)


def load() -> dict:
    if _memory is not None:
        return _memory
    p = path()
    if not p.is_file():
        return _empty()
    try:
        state = json.loads(p.read_text(encoding="utf-8"))
        if not isinstance(state, dict) or not isinstance(state.get("exercises"), dict) \
                or not isinstance(state.get("quizzes"), dict):
            raise ValueError("unexpected layout")
        return state
    except (ValueError, OSError, UnicodeDecodeError):
        bad = p.with_name(p.name + ".bad")
        try:
            p.replace(bad)
            where = f" (이전 파일은 {bad.name} 으로 옮겼습니다)"
        except OSError:
            where = ""
        _say_once(f"⚠ 진행 기록 파일이 손상되어 새로 시작합니다{where}: {_shown(p)}")
        return _empty()


def _save(state: dict) -> None:
    global _memory
    p = path()
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(json.dumps(state, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(p)
    except OSError as err:
        _memory = state
        _say_once(f"⚠ 진행 기록을 저장할 수 없어 이 세션 동안만 기억합니다 ({err.strerror}): {_shown(p)}")


def _now() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


def record_exercise(key: str, solved: bool) -> None:
    state = load()
    entry = state["exercises"].setdefault(key, {})
    if solved and not entry.get("solved"):
        entry.update(solved=True, at=_now())
    _save(state)


def record_quiz(quiz: str, question: str, correct: bool) -> None:
    state = load()
    answers = state["quizzes"].setdefault(quiz, {})
    answers[question] = bool(answers.get(question)) or bool(correct)  # once right, stays right
    _save(state)


def learner_id() -> str:
    """This learner's id (8 hex digits, made on first use and kept in the progress file)."""
    state = load()
    if not _ID.fullmatch(str(state.get("learner", ""))):
        state["learner"] = secrets.token_hex(4)
        _save(state)
    return state["learner"]


def reset() -> str:
    global _memory
    _memory = None
    p = path()
    if p.is_file():
        p.unlink()
        return f"진행 기록을 지웠습니다 (progress reset): {_shown(p)}"
    return f"지울 진행 기록이 없습니다 (nothing to reset): {_shown(p)}"


# --------------------------------------------------------------------------- the overview

def course() -> list[tuple[str, list, object]]:
    """``[(notebook number, exercises, quiz)]`` for every ``chapter5.exercises.exNN`` module."""
    import importlib
    import pkgutil

    from . import __path__ as pkg_path

    out = []
    for info in sorted(pkgutil.iter_modules(pkg_path), key=lambda m: m.name):
        if info.name.startswith("ex") and info.name[2:].isdigit():
            mod = importlib.import_module(f"{__package__}.{info.name}")
            out.append((info.name[2:], list(getattr(mod, "EXERCISES", [])), getattr(mod, "quiz", None)))
    return out


def summary_rows() -> list[dict]:
    state = load()
    rows = []
    for nb, exercises, quiz in course():
        solved = [e.key for e in exercises if state["exercises"].get(e.key, {}).get("solved")]
        q_total = len(quiz.questions) if quiz is not None else 0
        q_right = sum(bool(v) for v in state["quizzes"].get(f"{nb}", {}).values())
        rows.append({"notebook": nb, "exercises": len(exercises), "solved": solved,
                     "quiz_total": q_total, "quiz_right": q_right,
                     "todo": [e.key for e in exercises if e.key not in solved]})
    return rows


def _shown(p: Path) -> str:
    """The file's path as shown to the learner: ``~/…`` under the home folder (no user name)."""
    try:
        return "~/" + p.relative_to(Path.home()).as_posix()
    except ValueError:
        return str(p)


def summary_text() -> str:
    rows = summary_rows()
    lines = ["진행 상황 (progress) — 노트북 | 연습 | 퀴즈 | 남은 연습", ""]
    for r in rows:
        bar = "■" * len(r["solved"]) + "□" * (r["exercises"] - len(r["solved"]))
        lines.append(f"  {r['notebook']}  연습 {bar} {len(r['solved'])}/{r['exercises']}   "
                     f"퀴즈 {r['quiz_right']}/{r['quiz_total']}   "
                     + (("남음: " + ", ".join(r["todo"])) if r["todo"] else "연습 완료 ✅"))
    done = sum(len(r["solved"]) for r in rows)
    total = sum(r["exercises"] for r in rows)
    qd, qt = sum(r["quiz_right"] for r in rows), sum(r["quiz_total"] for r in rows)
    lines += ["", f"  전체: 연습 {done}/{total}, 퀴즈 {qd}/{qt}  ·  기록 파일 (이 컴퓨터에만): {_shown(path())}"]
    return "\n".join(lines)


def summary_line() -> str:
    """One line for the group's chat, e.g. ``chapter5 진행: 01 ✅ 연습 4/4 퀴즈 8/8 · 02 연습 1/4 퀴즈 3/8 · …``."""
    parts = []
    for r in summary_rows():
        done = len(r["solved"]) == r["exercises"] and r["quiz_right"] == r["quiz_total"]
        parts.append(f"{r['notebook']}{' ✅' if done else ''} 연습 {len(r['solved'])}/{r['exercises']} "
                     f"퀴즈 {r['quiz_right']}/{r['quiz_total']}")
    return "chapter5 진행: " + " · ".join(parts)


class _Line(str):
    """A message that shows without quotes as a notebook cell's result and prints as itself."""

    def __repr__(self):
        return str(self)


# --------------------------------------------------------------------------- carry progress along

CODE_PREFIX = "C5P1-"
_ID = re.compile(r"[0-9a-f]{8}")
_KEY = re.compile(r"[0-9A-Za-z._-]{1,16}")


def export_code() -> str:
    """A short text code with everything solved here (and the learner id), for :func:`import_code`."""
    state = load()
    solved = sorted(k for k, v in state["exercises"].items() if isinstance(v, dict) and v.get("solved"))
    quizzes = {nb: sorted(q for q, ok in answers.items() if ok)
               for nb, answers in sorted(state["quizzes"].items()) if isinstance(answers, dict)}
    payload = {"l": learner_id(), "e": solved, "q": {nb: qs for nb, qs in quizzes.items() if qs}}
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("ascii")
    return _Line(CODE_PREFIX + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode("ascii").rstrip("="))


def _parse_code(code) -> dict | None:
    try:
        text = "".join(str(code).split())
        if not text.startswith(CODE_PREFIX):
            return None
        body = text[len(CODE_PREFIX):]
        raw = zlib.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        data = json.loads(raw.decode("ascii"))
    except (ValueError, binascii.Error, zlib.error, UnicodeDecodeError):
        return None
    ok = (isinstance(data, dict) and _ID.fullmatch(str(data.get("l", "")))
          and isinstance(data.get("e"), list) and all(isinstance(k, str) and _KEY.fullmatch(k) for k in data["e"])
          and isinstance(data.get("q"), dict)
          and all(_KEY.fullmatch(str(nb)) and isinstance(qs, list)
                  and all(isinstance(q, str) and _KEY.fullmatch(q) for q in qs) for nb, qs in data["q"].items()))
    return data if ok else None


def import_code(code: str) -> str:
    """Merge a code from :func:`export_code` into this computer's progress; one line says what changed.

    Solved exercises and right quiz answers are added (nothing is ever un-solved); the learner id of
    the code is adopted so the quiz options come in the same order as where the code was made.
    A code that is cut off or mistyped changes nothing and gives one line saying so."""
    data = _parse_code(code)
    if data is None:
        return _Line("⚠ 진행 코드를 읽을 수 없습니다: 복사할 때 잘렸거나 바뀌었습니다. "
                     f"'{CODE_PREFIX}' 로 시작하는 코드 전체를 다시 붙여 넣으세요 (아무것도 바꾸지 않았습니다).")
    state = load()
    new_ex = new_q = 0
    for key in data["e"]:
        entry = state["exercises"].setdefault(key, {})
        if not entry.get("solved"):
            entry.update(solved=True, at=_now())
            new_ex += 1
    for nb, qs in data["q"].items():
        answers = state["quizzes"].setdefault(nb, {})
        for q in qs:
            new_q += not answers.get(q)
            answers[q] = True
    state["learner"] = data["l"]
    _save(state)
    return _Line(f"진행 코드를 합쳤습니다: 새로 푼 연습 {new_ex}개, 퀴즈 {new_q}문제. " + summary_line())


class _Summary:
    def __init__(self, line: bool = False):
        self.line = line

    def __repr__(self):
        return summary_line() if self.line else summary_text()


def show(line: bool = False) -> _Summary:
    """What ``chapter5.progress()`` shows (plain text, so it reads the same everywhere);
    ``line=True``: the one line of :func:`summary_line`."""
    return _Summary(line)
