"""Course tooling: what builds and checks the course, never imported by a notebook.

``colab`` (single-file Colab bundles), ``slides`` (offline reveal.js decks and the 1280×720
fit check), ``results`` (full-mode runs → docs/RESULTS.md), ``quizzes`` (encodes the quiz
sources in ``quizzes/*.json``). All are reached through ``python -m chapter5 <command>``.
"""
