"""Checked exercises, quizzes and progress (the study-group kit).

One small core (``core``: check / hint / solution, ``quiz``, ``progress``) and one module of
tasks per notebook (``ex01`` … ``ex06``), as Kaggle Learn's learntools does. In a notebook::

    from chapter5.exercises import ex01
    from chapter5.exercises import ____   # the blank marker that exercise cells leave to fill
    ex01.q1            # what to do
    ex01.q1.check()    # ✅ / ❌ with what is wrong and where to look
    ex01.q1.hint()     # tiered hints
    ex01.q1.solution() # the reference code, only when asked
    ex01.quiz.show()   # the concept quiz
"""
from .core import (Exercise, Incorrect, NotAttempted, as_number, as_shape, expect_close, expect_number,
                   expect_shape, expect_tensor, run, ____)

__all__ = ["Exercise", "Incorrect", "NotAttempted", "as_number", "as_shape", "expect_close",
           "expect_number", "expect_shape", "expect_tensor", "run", "____"]

