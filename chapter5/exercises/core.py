"""The exercise machinery: ``check()``, tiered ``hint()`` and ``solution()`` for code a learner writes.

An :class:`Exercise` holds a *test* — a plain function that receives what the learner wrote
and raises :class:`Incorrect` with a specific Korean message when it is wrong. The test calls
the learner's code only through :func:`run` (which catches every exception and names the
failing line of the learner's cell) and compares with the ``expect_*`` helpers (tolerances,
0-d tensors accepted as numbers, ``torch.Size`` as tuples). ``check()`` runs the test in
stages and *never* lets a traceback reach the learner:

    missing name / blank ``____``  ->  📝 아직 풀지 않았습니다
    learner code raises            ->  ❌ the error, the line of the cell, the input
    wrong type / shape / value     ->  ❌ expected vs received and where to look
    runs over the time limit       ->  ⏱ (about 10 s; an endless loop is stopped)
    right                          ->  ✅ (recorded in the progress file)

The tasks live beside their notebook in ``chapter5/exercises/exNN.py``.
"""
from __future__ import annotations

import contextlib
import linecache
import math
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

from . import progress as _progress

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # chapter5/
TIME_LIMIT = 10.0  # seconds for one check


# --------------------------------------------------------------------------- outcomes

class NotAttempted(Exception):
    """The learner has not filled in the blank yet (raised by ``____`` when used)."""


class Incorrect(Exception):
    """What the learner wrote is wrong; the message says what and where to look."""


class LearnerError(Exception):
    """The learner's own code raised; the message names the error, the line and the input."""


class TimeLimit(BaseException):  # BaseException: a learner's ``except Exception`` cannot swallow it
    """The learner's code ran longer than the time limit."""


class _Blank:
    """The placeholder ``____`` in exercise templates. Using it in any way raises NotAttempted."""

    def __repr__(self):
        return "____"

    def _blank(self, *args, **kwargs):
        raise NotAttempted("빈칸 ____ 이 아직 남아 있습니다")

    __call__ = __getitem__ = __iter__ = __len__ = __bool__ = __index__ = __int__ = __float__ = _blank
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _blank
    __floordiv__ = __rfloordiv__ = __pow__ = __rpow__ = __matmul__ = __rmatmul__ = __neg__ = _blank
    __lt__ = __le__ = __gt__ = __ge__ = _blank

    def __getattr__(self, name):  # noqa: F811 - attribute access too
        if name.startswith("_"):  # IPython's _repr_*_ / _ipython_display_ look-ups
            raise AttributeError(name)
        raise NotAttempted("빈칸 ____ 이 아직 남아 있습니다")


____ = _Blank()


def is_blank(value) -> bool:
    return isinstance(value, _Blank)


# --------------------------------------------------------------------------- running learner code

def _library_dirs() -> tuple[str, ...]:
    import sysconfig

    dirs = {str(PACKAGE_DIR)}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        with contextlib.suppress(KeyError):
            dirs.add(sysconfig.get_paths()[key])
    return tuple(sorted(dirs))


def _learner_frame(tb):
    """The last traceback frame that belongs to the learner's code (a notebook cell), or None."""
    libs = _library_dirs()
    found = None
    for frame, lineno in traceback.walk_tb(tb):
        name = frame.f_code.co_filename
        if name.startswith(libs) or name.startswith("<frozen"):
            continue
        found = (name, lineno, frame.f_code.co_name)
    return found


def describe_error(err: BaseException) -> str:
    """``ZeroDivisionError: division by zero — 2번째 줄: `return x / 0``` (one line)."""
    text = f"{type(err).__name__}: {err}".strip().splitlines()[0] if str(err) else type(err).__name__
    where = _learner_frame(err.__traceback__)
    if where:
        name, lineno, func = where
        line = linecache.getline(name, lineno).strip()
        place = f"{func}() 의 " if func not in ("<module>", "<lambda>") else ""
        text += f" — {place}{lineno}번째 줄" + (f": `{line}`" if line else "")
    return text


def blank_left(fn) -> None:
    """Raise :class:`NotAttempted` when the function ``fn`` still refers to the placeholder ``____``
    (also in the functions and classes defined inside it)."""
    code = getattr(fn, "__code__", None)
    stack = [code] if code is not None else []
    while stack:
        c = stack.pop()
        if "____" in c.co_names:
            raise NotAttempted("함수 안에 빈칸 ____ 이 남아 있습니다")
        stack.extend(k for k in c.co_consts if hasattr(k, "co_names"))


def run(fn, *args, what: str | None = None, **kwargs):
    """Call learner code ``fn(*args, **kwargs)``; any exception becomes :class:`LearnerError`
    whose message has the error, the failing line of the learner's cell and the input.

    A blank ``____`` left in ``fn`` (seen before the call, or used where Python needs a real
    object: ``with ____:``, ``nn.Linear(____, 600)``) or returned by it is :class:`NotAttempted`."""
    blank_left(fn)
    try:
        got = fn(*args, **kwargs)
    except (NotAttempted, TimeLimit, KeyboardInterrupt):
        raise
    except Exception as err:  # noqa: BLE001 - everything the learner's code can raise
        if "_Blank" in str(err) or "____" in str(err):
            raise NotAttempted("빈칸 ____ 이 아직 남아 있습니다") from None
        call = what or f"{getattr(fn, '__name__', 'fn')}(...)"
        raise LearnerError(f"{call} 을 실행하다 오류가 났습니다: {describe_error(err)}") from None
    if is_blank(got):
        raise NotAttempted("return 뒤의 빈칸 ____ 을 채우세요")
    return got


@contextlib.contextmanager
def time_limit(seconds: float):
    """Stop the code inside after ``seconds`` with :class:`TimeLimit`.

    SIGALRM where it exists and we are on the main thread (Linux, macOS, Colab, Jupyter's
    cells); elsewhere (Windows, threads) a trace function checks the clock at every line.
    """
    if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
        def _alarm(signum, frame):
            raise TimeLimit(seconds)

        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
        return
    deadline = time.monotonic() + seconds

    def _tracer(frame, event, arg):
        if time.monotonic() > deadline:
            raise TimeLimit(seconds)
        return _tracer

    old_trace = sys.gettrace()
    sys.settrace(_tracer)
    try:
        yield
    finally:
        sys.settrace(old_trace)


# --------------------------------------------------------------------------- comparisons

def _is_tensor(x) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def as_number(got, what: str) -> float:
    """``got`` as a float: int, float, NumPy scalar, 0-d or one-element tensor/array are fine."""
    if is_blank(got):
        raise NotAttempted(f"{what} 에 빈칸 ____ 이 남아 있습니다")
    if isinstance(got, bool):
        raise Incorrect(f"{what}: 숫자가 필요한데 bool({got}) 을 받았습니다")
    if _is_tensor(got) or type(got).__module__ == "numpy":
        if getattr(got, "size", None) is not None and not callable(got.size) and got.size != 1:
            raise Incorrect(f"{what}: 숫자 하나가 필요한데 모양 {tuple(got.shape)} 의 배열을 받았습니다")
        if _is_tensor(got) and got.numel() != 1:
            raise Incorrect(f"{what}: 숫자 하나가 필요한데 모양 {tuple(got.shape)} 의 텐서를 받았습니다 "
                            "— .sum() / .item() 이 빠졌는지 보세요")
        got = got.item()
    if not isinstance(got, (int, float)):
        raise Incorrect(f"{what}: 숫자가 필요한데 {type(got).__name__} 을(를) 받았습니다 ({_short(got)})")
    if isinstance(got, float) and math.isnan(got):
        raise Incorrect(f"{what}: NaN 이 나왔습니다 — 0으로 나누거나 빈 텐서의 평균을 구하지 않았는지 보세요")
    return float(got)


def expect_number(got, expected: float, what: str, *, atol: float = 1e-6, rtol: float = 1e-4,
                  why: str = "") -> float:
    """``got`` equals ``expected`` within a tolerance; the message shows both."""
    value = as_number(got, what)
    if not math.isclose(value, expected, rel_tol=rtol, abs_tol=atol):
        raise Incorrect(f"{what}: 기대값 {_fmt(expected)}, 받은 값 {_fmt(value)}" + (f" — {why}" if why else ""))
    return value


def as_shape(got, what: str) -> tuple:
    """A shape as a tuple of ints: tuple, list or ``torch.Size`` are accepted."""
    if is_blank(got):
        raise NotAttempted(f"{what} 에 빈칸 ____ 이 남아 있습니다")
    if _is_tensor(got) or type(got).__module__ == "numpy":
        raise Incorrect(f"{what}: 모양(shape)이 필요한데 텐서를 받았습니다 — 텐서의 .shape 를 쓰세요")
    try:
        return tuple(int(v) for v in got)
    except (TypeError, ValueError):
        raise Incorrect(f"{what}: 모양은 (N, C, H, W) 같은 정수 튜플이어야 하는데 {_short(got)} 을(를) 받았습니다") from None


def expect_tensor(got, what: str):
    if is_blank(got):
        raise NotAttempted(f"{what} 에 빈칸 ____ 이 남아 있습니다")
    if not _is_tensor(got):
        raise Incorrect(f"{what}: torch.Tensor 가 필요한데 {type(got).__name__} 을(를) 받았습니다")
    return got


def as_tensor(got, what: str):
    """``got`` as a detached float64 CPU tensor: a tensor of any float/int dtype, a NumPy array or
    scalar, a Python number, or a (nested) list/tuple of numbers. Anything else is :class:`Incorrect`."""
    import torch

    if is_blank(got):
        raise NotAttempted(f"{what} 에 빈칸 ____ 이 남아 있습니다")
    if _is_tensor(got):
        if got.is_complex():
            raise Incorrect(f"{what}: 복소수 텐서를 받았습니다 — 실수 텐서가 필요합니다")
        return got.detach().cpu().to(torch.float64)
    if isinstance(got, bool) or got is None or isinstance(got, (str, bytes, dict, set)):
        raise Incorrect(f"{what}: 텐서(또는 NumPy 배열)가 필요한데 {type(got).__name__} 을(를) 받았습니다")
    if type(got).__module__ == "numpy" or isinstance(got, (int, float, list, tuple)):
        try:
            import numpy as np

            arr = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            raise Incorrect(f"{what}: 숫자로 된 텐서(또는 NumPy 배열)가 필요한데 {_short(got)} 을(를) "
                            "받았습니다") from None
        return torch.from_numpy(arr.copy())
    raise Incorrect(f"{what}: 텐서(또는 NumPy 배열)가 필요한데 {type(got).__name__} 을(를) 받았습니다")


def allclose(a, b, *, atol: float = 1e-4, rtol: float = 1e-4) -> bool:
    """True when ``a`` and ``b`` (tensors of any dtype, NumPy arrays, numbers, lists) have the same
    shape and values within a tolerance. Never raises: for telling a known mistake apart."""
    import torch

    try:
        x, y = as_tensor(a, "a"), as_tensor(b, "b")
    except (Incorrect, NotAttempted):
        return False
    return x.shape == y.shape and bool(torch.allclose(x, y, atol=atol, rtol=rtol))


def expect_shape(got, shape, what: str, *, why: str = "") -> None:
    """Tensor (or NumPy array) ``got`` has ``shape`` (message: expected vs received)."""
    if type(got).__module__ != "numpy" or not hasattr(got, "shape"):
        got = expect_tensor(got, what)
    if tuple(got.shape) != tuple(shape):
        raise Incorrect(f"{what}: 모양(shape)이 기대값 {tuple(shape)} 인데 {tuple(got.shape)} 입니다"
                        + (f" — {why}" if why else ""))


def expect_close(got, expected, what: str, *, atol: float = 1e-4, rtol: float = 1e-4, why: str = "") -> None:
    """``got`` matches ``expected`` in shape and values, within a tolerance (a correct hand-written
    float32 convolution differs from ``F.conv2d`` by ~1e-6). Any dtype (float64, int) is fine and
    NumPy arrays and lists of numbers count as tensors: dtypes are unified before comparing."""
    import torch

    got, exp = as_tensor(got, what), as_tensor(expected, f"{what} (기대값)")
    if tuple(got.shape) != tuple(exp.shape):
        raise Incorrect(f"{what}: 모양(shape)이 기대값 {tuple(exp.shape)} 인데 {tuple(got.shape)} 입니다"
                        + (f" — {why}" if why else ""))
    if torch.isnan(got).any():
        raise Incorrect(f"{what}: NaN 이 들어 있습니다 — 0 으로 나누는 곳이 없는지 보세요")
    diff = (got - exp).abs()
    bad = diff > atol + rtol * exp.abs()
    if bad.any():
        idx = tuple(int(i) for i in bad.nonzero()[0])
        raise Incorrect(f"{what}: 값이 다릅니다 — 위치 {idx} 에서 기대값 {_fmt(exp[idx].item())}, "
                        f"받은 값 {_fmt(got[idx].item())} (최대 차이 {diff.max().item():.3g})"
                        + (f" — {why}" if why else ""))


def _fmt(v) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _short(v, n: int = 60) -> str:
    text = repr(v)
    return text if len(text) <= n else text[: n - 1] + "…"


# --------------------------------------------------------------------------- the exercise

class _Code:
    """Reference code shown by ``solution()``: Markdown in Jupyter/Colab, plain text elsewhere."""

    def __init__(self, title: str, code: str):
        self.title, self.code = title, code

    def __repr__(self):
        return f"{self.title}\n\n{self.code}"

    def _repr_markdown_(self):
        return f"**{self.title}**\n\n```python\n{self.code}\n```"


_MISSING = object()


class Checked:
    """What ``check()`` returns: true when the answer passed. It shows nothing by itself in a
    notebook (the feedback line was printed already), so no ``Out: True`` under the check."""

    def __init__(self, ok: bool, message: str):
        self.ok, self.message = ok, message

    def __bool__(self):
        return self.ok

    def __repr__(self):
        return self.message

    def _ipython_display_(self):
        pass


def _lookup(name: str, caller_globals: dict):
    """``name`` from the calling cell's globals, else from the IPython user namespace."""
    if name in caller_globals:
        return caller_globals[name]
    ip = sys.modules.get("IPython")
    shell = ip.get_ipython() if ip is not None and hasattr(ip, "get_ipython") else None
    if shell is not None:
        return shell.user_ns.get(name, _MISSING)
    return _MISSING


class Exercise:
    """One checked exercise.

    ``name``: what the learner defines in the exercise cell (looked up in the caller's
    globals when ``check()`` gets no argument). ``test(answer)``: raises :class:`Incorrect`
    (or NotAttempted / LearnerError via :func:`run`) when ``answer`` is wrong.
    ``hints``: 2–3 strings, from a nudge to almost the answer. ``template``: the exercise
    cell as shipped (with ``____``); ``solution``: the reference code (it also makes the
    "solved copy" of the notebook in the tests). ``wrong``: at least two plausible wrong
    answers as ``(code, part of the expected message)``, which the tests run. ``context``:
    a function returning the names the code needs from the notebook's earlier cells.
    """

    def __init__(self, key: str, title: str, name: str, test, *, hints, template: str, solution: str,
                 wrong, context=None, time_limit: float = TIME_LIMIT):
        if not 2 <= len(hints) <= 3:
            raise ValueError(f"{key}: give 2 or 3 hints")
        if len(wrong) < 2:
            raise ValueError(f"{key}: give at least two plausible wrong answers")
        self.key, self.title, self.name, self._test = key, title, name, test
        self.hints, self.time_limit = list(hints), time_limit
        self.template, self.solution_code = template.strip("\n"), solution.strip("\n")
        self.wrong = [(code.strip("\n"), part) for code, part in wrong]
        self.context = context or (lambda: {})
        self._hints_shown = 0

    def answer_from(self, code: str):
        """Run ``code`` (template, solution or a wrong answer) after :attr:`context`; return
        what it defines as :attr:`name` (used by the tests and the solved-copy notebook)."""
        ns = {"____": ____, **self.context()}
        exec(compile(code, f"<exercise {self.key}>", "exec"), ns)  # noqa: S102 - our own reference code
        return ns.get(self.name, _MISSING)

    def __repr__(self):
        return (f"연습 {self.key}: {self.title}\n  {self.name} 을(를) 채운 뒤 .check() · "
                f"막히면 .hint() (힌트 {len(self.hints)}개) · 답은 .solution()")

    # -- learner API
    def check(self, answer=_MISSING, *, quiet: bool = False) -> Checked:
        """Check what the learner wrote; print ✅/❌/📝 with a specific Korean message."""
        if answer is _MISSING:
            answer = _lookup(self.name, sys._getframe(1).f_globals)
        ok, message = self.evaluate(answer)
        if ok:
            _progress.record_exercise(self.key, True)
        if not quiet:
            print(message)
        return Checked(ok, message)

    def evaluate(self, answer) -> tuple[bool, str]:
        """``(passed, message)`` without printing (the check's stages; used by the tests)."""
        head = f"연습 {self.key}"
        if answer is _MISSING:
            return False, (f"📝 {head}: 아직 풀지 않았습니다 — 먼저 위의 연습 셀을 실행하세요 (`{self.name}` 이(가) "
                           "아직 없습니다: 빈칸 ____ 을 채운 뒤 연습 셀, 그다음 이 셀).")
        if is_blank(answer):
            return False, f"📝 {head}: 아직 풀지 않았습니다 — `{self.name} = ____` 의 빈칸을 채우세요."
        try:
            with time_limit(self.time_limit):
                self._test(answer)
        except NotAttempted as err:
            return False, f"📝 {head}: 아직 풀지 않았습니다 — {err}. 빈칸을 채운 뒤 셀을 다시 실행하세요."
        except Incorrect as err:
            return False, f"❌ {head}: {err}{self._hint_tail()}"
        except LearnerError as err:
            return False, f"❌ {head}: {err}{self._hint_tail()}"
        except TimeLimit:
            return False, (f"⏱ {head}: {self.time_limit:g}초 안에 끝나지 않아 멈췄습니다 — 끝나지 않는 반복문"
                           "(while) 이나 너무 큰 입력이 없는지 보세요.")
        except RecursionError:
            return False, f"❌ {head}: 재귀가 끝나지 않습니다 (RecursionError) — 종료 조건을 확인하세요."
        except Exception as err:  # noqa: BLE001 - the learner must never see a traceback
            return False, (f"❌ {head}: 확인하는 중에 문제가 생겼습니다 ({describe_error(err)}) — "
                           f"`{self.name}` 이(가) 문제에서 말한 종류의 값인지 확인하세요.")
        return True, f"✅ {head}: 정답입니다! ({self.title})"

    def hint(self, level: int | None = None) -> None:
        """Show hint ``level`` (1-based), or the next one."""
        n = len(self.hints)
        if level is None:
            level = min(self._hints_shown + 1, n)
        if not 1 <= level <= n:
            print(f"힌트는 1 ~ {n} 번까지 있습니다. 마지막 힌트: {self.hints[-1]}")
            return
        self._hints_shown = max(self._hints_shown, level)
        more = (f"  (다음 힌트: .hint({level + 1}))" if level < n
                else "  (마지막 힌트입니다. 답은 .solution())")
        print(f"💡 힌트 {level}/{n}: {self.hints[level - 1]}{more}")

    def solution(self) -> _Code:
        """The reference code (shown only when asked)."""
        return _Code(f"📖 연습 {self.key} 참고 답안", self.solution_code)

    def _hint_tail(self) -> str:
        return f"  (막히면 .hint() — 힌트 {len(self.hints)}개)"
