"""chapter5: helpers for the chapter-5 CNN course notebooks.

Teaching helpers, one module per concept (``config``, ``data``, ``conv``, ``shapes``, ``train``,
``viz``, ``backbone``, ``classifier``, ``transfer``, ``features``, ``gradcam``, ``graph``) and the
study-group kit (``exercises``). Course tooling (Colab bundles, slides, results, benchmark)
lives in ``chapter5.tools`` and is never imported by a notebook.
"""
import os as _os

__version__ = "0.3.0"

# OpenMP threads that wait for work by sleeping instead of spinning: on a laptop that is doing
# anything else, spinning threads steal the cores from each other (one CNN step measured 540 ms
# spinning vs 95 ms sleeping on this course's 2-core machine under load; docs/BENCHMARKS.md).
# Read once when torch loads its OpenMP runtime, so it must be set before `import torch`;
# a value the user set wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def progress(line: bool = False):
    """Show which exercises and quizzes are solved across the course (stored on this computer only);
    ``line=True``: one line to paste into the study group's chat."""
    from .exercises.progress import show

    return show(line=line)
