"""chapter5: helpers for the chapter-5 CNN course notebooks.

Teaching helpers, one module per concept (``config``, ``data``, ``conv``, ``shapes``, ``train``,
``viz``, ``backbone``, ``classifier``, ``transfer``, ``features``, ``gradcam``, ``graph``) and the
study-group kit (``exercises``). Course tooling (Colab bundles, slides, results, benchmark)
lives in ``chapter5.tools`` and is never imported by a notebook.
"""
__version__ = "0.2.0"


def progress():
    """Show which exercises and quizzes are solved across the course (stored on this computer only)."""
    from .exercises.progress import show

    return show()
