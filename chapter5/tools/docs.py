"""The generated parts of README.md, docs/TEACHING.md and docs/STUDY.md.

    python -m chapter5.tools.docs           # rewrite every generated part in place
    python -m chapter5.tools.docs --check   # exit 1 (and name the parts) when one is out of date

Every measured figure a newcomer, a teacher or a study group reads comes from
``docs/results.json`` (``make results``) or ``docs/benchmarks.json`` (``make bench``), and every
time plan from the ⏱ minutes of the notebooks' speaker notes (🎤 발표자 노트). Such figures sit
between ``<!-- generated:NAME -->`` and ``<!-- /generated -->``; the prose around them is written
by hand and carries no measurement (``tests/test_docs.py`` checks both). A key that is missing
from the JSON leaves its sentence out: never a typed number, never a placeholder.

Call :func:`write_all` after writing the JSON files (``make results``, ``make bench``).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..config import REPO_ROOT

DOCS = REPO_ROOT / "docs"
NOTEBOOKS = REPO_ROOT / "notebooks"
RESULTS_JSON = DOCS / "results.json"
BENCH_JSON = DOCS / "benchmarks.json"
FILES = (REPO_ROOT / "README.md", DOCS / "TEACHING.md", DOCS / "STUDY.md")

BLOCK = re.compile(r"(<!-- generated:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /generated -->)", re.S)

# The textbook's section for each notebook (a table of contents, not a measurement).
TEXTBOOK = {"01": "5.1", "02": "5.2", "03": "5.3.1", "04": "5.3.2", "05": "5.4", "06": "5.5"}

# The headline figures of the README's results table, by their key in docs/results.json
# (a key the results no longer report is left out, never filled in).
HEADLINE = {
    "01": ["1×1 합성곱 병목: 파라미터 감소 (GoogLeNet 5×5 분기)"],
    "02": ["Textbook recipe DNN (book's train-mode test)", "Textbook recipe CNN (book's train-mode test)",
           "DNN test accuracy", "CNN test accuracy"],
    "03": ["특성 추출 test 정확도 (마지막 에포크)", "val 로 고른 에포크 test 정확도 (5 시드 평균)",
           "val 로 고른 에포크 test 정확도 (5 시드 표준편차)", "학습 없이 ImageNet 분류기 (zero-shot) test 정확도",
           "무작위 가중치 몸통 + 분류기 학습 test 정확도", "특성 캐시의 속도 향상 (에포크당)"],
    "04": ["사다리 1 scratch CNN: test 정확도 (25 에포크, 3 시드 평균)",
           "사다리 2 scratch + 증강: test 정확도 (25 에포크, 3 시드 평균)",
           "사다리 3 특성 추출: test 정확도 (15 에포크, 3 시드 평균)",
           "사다리 4 특성 추출 + 증강: test 정확도 (15 에포크, 3 시드 평균)",
           "사다리 5 미세 조정: test 정확도 (3 에포크, 3 시드 평균)"],
    "05": ["Grad-CAM heat share in the head box", "Grad-CAM heat share, 1000 random head-sized boxes: mean",
           "Grad-CAM heat share in the door box", "Grad-CAM heat share, 1000 random door-sized boxes: mean",
           "classifier explained in 05: test accuracy"],
    "06": ["연결 과제 GCN: test 정확도 (시드 평균)", "연결 과제, 그래프 없음 (Â = I): test 정확도 (시드 평균)",
           "가라테 클럽 GCN: 라벨 없는 32개 노드 정확도 (시드 5개 평균)", "가라테 클럽 MLP (그래프 없이 X 만): 정확도 평균"],
}

# Per-notebook run records in docs/benchmarks.json: {"<key>": {"seconds": {nb: s}, "peak_rss_gb": {nb: GB}}}.
# Known keys get a Korean name; any other such key the benchmark writes is shown under its own name.
RUN_LABELS = {"default_course": "기본 모드 (default)", "default_mode": "기본 모드", "default": "기본 모드",
              "class_mode": "수업 모드 (class)",
              "full_course": "다시 재기 (recompute, bench)"}

LESSON_MINUTES = 50
# What the 50-minute lesson leaves for homework or a second lesson, by the section number that
# opens a stretch of speaker notes (a teacher's choice; the renderer checks that the rest fits).
SKIP_IN_50 = {
    "01": ["2.4", "2.6", "2.7", "3", "3.1"],
    "02": ["1"],
    "03": ["3", "4", "8"],
    "04": ["7"],
    "05": ["1", "3", "4", "6", "7", "8", "9", "11"],
    "06": ["4", "5", "6"],
}
# A study-group meeting around the 50-minute plan (the group's own parts, minutes).
MEETING = [("진행 상황 나누기: 각자 한 줄 요약을 채팅방에 붙이고, 막혔던 연습 하나를 함께", 10),
           (None, LESSON_MINUTES),  # the presenter runs the 50-minute plan
           ("토론 질문 2개 (아래)", 20),
           ("다음 숙제 정하기: 건너뛴 부분 · 「집에서 푸는 연습」 · 도전 과제", 5)]

EXERCISE = re.compile(r"연습\s+(\d\d-\d+)\s*[:：]?\s*(.*)")
TIMER = re.compile(r"⏱\s*(\d+)\s*분")            # "⏱ 10분": the minutes of the notes' stretch
CLAIMED = re.compile(r"⏱\s*전체\D{0,4}(\d+)\s*분")  # "⏱ 전체 약 90분": the notebook's own total


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _nb(name: str) -> str:
    return name[:2]


def duration(seconds: float) -> str:
    """Seconds as the docs show them: whole seconds below a minute, else minutes with one decimal."""
    return f"{seconds:.0f}초" if seconds < 59.5 else f"{seconds / 60:.1f}분"


# --------------------------------------------------------------------------- speaker-note timers

@dataclass
class Stretch:
    """The cells up to and including one speaker note with a ⏱ time."""
    headings: list = field(default_factory=list)  # (level, text)
    section: str = "시작"  # the level-2 section the stretch starts in ("3", "정리"; "시작" before the first)
    minutes: int = 0
    exercises: list = field(default_factory=list)  # "01-3 층을 쌓은 뒤의 출력 크기"
    challenges: list = field(default_factory=list)  # the heading above each cell tagged "challenge"

    @property
    def number(self) -> str:
        """The section the stretch opens: its first level-2 heading or numbered subsection
        ("2.4"), else the section it continues."""
        for level, text in self.headings:
            if _opens((level, text)):
                return _section_id(text)
        return self.section

    @property
    def title(self) -> str:
        for level, text in self.headings:
            if _section_id(text) == self.number:
                return text
        return self.headings[0][1] if self.headings else self.number


_NUMBER = re.compile(r"(\d+(?:\.\d+)*)\.?\s")


def _opens(heading: tuple[int, str]) -> bool:
    """A heading that opens a section of its own: level 2, or a numbered subsection ("### 2.4 …")."""
    level, text = heading
    return level == 2 or (level > 2 and bool(_NUMBER.match(text)))


def _section_id(text: str) -> str:
    m = _NUMBER.match(text)
    return m.group(1) if m else text


def _heading(cell) -> tuple[int, str] | None:
    lines = "".join(cell.get("source", "")).strip().splitlines()
    if cell.get("cell_type") == "markdown" and lines and lines[0].startswith("#"):
        level = len(lines[0]) - len(lines[0].lstrip("#"))
        return level, lines[0].lstrip("#").strip().replace("`", "")
    return None


def timers(path: Path) -> tuple[list[Stretch], int | None]:
    """A notebook's stretches of speaker notes with their ⏱ minutes, and the total its first
    note claims ("⏱ 전체 … N분"; None without one). A note without "⏱ N분" (an overview, a
    breakdown like "⏱ 2.1–2.3 20분") closes no stretch; cells after the last timed note join the
    last stretch."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    out, cur, claimed, section = [], Stretch(), None, "시작"
    for cell in cells:
        text = "".join(cell.get("source", ""))
        if cell.get("metadata", {}).get("slideshow", {}).get("slide_type") == "notes":
            if claimed is None and CLAIMED.search(text):
                claimed = int(CLAIMED.search(text).group(1))
            found = TIMER.findall(text)
            if found:
                cur.minutes = int(found[-1])
                out.append(cur)
                cur = Stretch(section=section)
            continue
        h = _heading(cell)
        if h:
            m = EXERCISE.search(h[1])
            # an exercise placed right after a section's note still belongs to that section
            owner = out[-1] if m and out and not any(_opens(x) for x in cur.headings) else cur
            owner.headings.append(h)
            if m:
                owner.exercises.append(f"{m.group(1)} {m.group(2).strip()}")
            if h[0] == 2:
                section = _section_id(h[1])
        if "challenge" in cell.get("metadata", {}).get("tags", []):
            title = h[1] if h else (cur.headings[-1][1] if cur.headings else "도전 과제")
            if title not in cur.challenges:
                cur.challenges.append(title)
    if out:
        out[-1].headings += cur.headings
        out[-1].exercises += cur.exercises
        out[-1].challenges += cur.challenges
    return out, claimed


def notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def lesson_plan(path: Path) -> tuple[list[Stretch], list[Stretch]]:
    """(kept, skipped) stretches of the 50-minute lesson; raises if the kept ones do not fit or a
    skipped section number no longer opens a stretch."""
    stretches, _ = timers(path)
    skip = SKIP_IN_50.get(_nb(path.name), [])
    unknown = [s for s in skip if s not in {st.number for st in stretches}]
    if unknown:
        raise ValueError(f"{path.name}: SKIP_IN_50 names {unknown}, which open no stretch of speaker notes "
                         f"(stretches: {[st.number for st in stretches]})")
    kept = [st for st in stretches if st.number not in skip]
    skipped = [st for st in stretches if st.number in skip]
    total = sum(st.minutes for st in kept)
    if total > LESSON_MINUTES:
        raise ValueError(f"{path.name}: the kept stretches take {total} min by the speaker notes' ⏱, "
                         f"more than {LESSON_MINUTES}; add a section to SKIP_IN_50")
    return kept, skipped


# --------------------------------------------------------------------------- blocks

def _runs(bench: dict) -> dict:
    """Per-notebook run records of the benchmark: {key: {"seconds": {...}, "peak_rss_gb": {...}}},
    also from a flat ``<key>_seconds: {notebook: s}`` when there is no ``<key>`` record."""
    def per_notebook(v):
        return isinstance(v, dict) and any(str(n).endswith(".ipynb") for n in v)
    runs = {k: v for k, v in bench.items() if isinstance(v, dict) and per_notebook(v.get("seconds"))}
    for k, v in bench.items():  # a flat copy of a run already there (the same seconds) is not a new run
        if (k.endswith("_seconds") and per_notebook(v) and k[:-len("_seconds")] not in runs
                and all(r.get("seconds") != v for r in runs.values())):
            runs[k[:-len("_seconds")]] = {"seconds": v}
    return runs


def _by_nb(mapping: dict) -> dict:
    return {_nb(k): v for k, v in (mapping or {}).items() if str(k).endswith(".ipynb")}


def _metric(record: dict, key: str) -> dict | None:
    return next((m for m in record.get("metrics", []) if m.get("key") == key), None)


def _value(m: dict, field_: str = "value") -> str:
    unit = m.get("unit", "")
    return m.get("fmt", "{:.2f}").format(m[field_]) + (f" {unit}" if unit else "")


def _machine(results: dict) -> str:
    dates = sorted({r.get("date") for r in results.values() if r.get("date")})
    cpus = sorted({f"{r['cpu']} ({r['cores']}코어)" for r in results.values() if r.get("cpu") and r.get("cores")})
    when = dates[0] if len(dates) == 1 else (f"{dates[0]} – {dates[-1]}" if dates else "")
    return ", ".join(x for x in [" · ".join(cpus), when] if x)


def block_results(results: dict, bench: dict) -> str:
    lines = ["| 노트북 | 측정 (`docs/results.json` 의 이름 그대로) | 측정값 | 교과서 |", "|---|---|---|---|"]
    for name in sorted(results):
        nb = _nb(name)
        for key in HEADLINE.get(nb, []):
            m = _metric(results[name], key)
            if m is not None:
                tb = _value(m, "textbook") if m.get("textbook") is not None else ""
                lines.append(f"| {nb} | {key} | {_value(m)} | {tb} |")
    backbones = sorted({r["backbone"] for r in results.values() if r.get("backbone")})
    notes = [f"측정: {_machine(results)}, `make results`." if _machine(results) else ""]
    for b in backbones:
        nbs = ", ".join(_nb(n) for n in sorted(results) if results[n].get("backbone") == b)
        notes.append(f"{nbs} 의 사전 학습 모델: {b}.")
    return "\n".join(lines + [""] + [" ".join(n for n in notes if n)])


def block_modes(results: dict, bench: dict) -> str:
    """How long each mode takes, from whatever the benchmark and the results recorded."""
    rows = []
    default = []
    if "notebook_default_max_minutes" in bench:
        default.append(f"노트북 하나 최대 {bench['notebook_default_max_minutes']:.1f}분")
    if "course_default_minutes" in bench:
        default.append(f"코스 전체 {bench['course_default_minutes']:.1f}분")
    if default:
        rows.append(("기본 (default)", "(설정 없음)", " · ".join(default)))
    walls = {_nb(n): (r["wall_s"], r.get("speed_index_ms")) for n, r in sorted(results.items()) if r.get("wall_s")}
    if walls:
        each = " · ".join(f"{nb} {duration(s)}" + (f" [{idx:.0f} ms]" if idx else "") for nb, (s, idx) in walls.items())
        rows.append(("다시 재기 (recompute)", "`CHAPTER5_RECOMPUTE=1`",
                     f"코스 전체 {sum(s for s, _ in walls.values()) / 60:.1f}분 ({each}; `make results`; "
                     "[ ] = 그 실행 뒤에 잰 머신의 속도 지수, 낮을수록 빠르고 같은 머신도 바쁘면 커집니다)"))
    cls = []
    seconds = _by_nb(_runs(bench).get("class_mode", {}).get("seconds"))
    if "class_mode_fresh_clone_max_seconds" in bench:
        cls.append(f"새로 받은 저장소에서 노트북 하나 최대 {bench['class_mode_fresh_clone_max_seconds']:.0f}초 "
                   f"(커널 시작 포함, 계산한 셀 {bench.get('class_mode_fresh_clone_computed_cells', 0)}개, `make bench`)")
    elif seconds:
        cls.append(f"노트북 하나 최대 {max(seconds.values()):.0f}초 (커널 시작 포함, `make bench`)")
    if cls:
        rows.append(("수업 (class)", "`CHAPTER5_CLASS_MODE=1`", " · ".join(cls)))
    rows.append(("빠른 점검 (quick)", "`CHAPTER5_QUICK=1`", "테스트용 (측정값 없음)"))
    out = ["| 모드 | 켜는 법 | 걸리는 시간 (측정) |", "|---|---|---|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    where = _machine(results)
    if where:
        out += ["", f"측정한 머신: {where} (CPU 만). 4코어 이상의 노트북 PC 는 보통 더 빠릅니다."]
    return "\n".join(out)


def block_times(results: dict, bench: dict, *, memory: bool = True, plan: bool = True) -> str:
    runs = _runs(bench)
    order = [k for k in RUN_LABELS if k in runs and k != "full_course"] + \
            [k for k in runs if k not in RUN_LABELS]
    head = ["노트북", "교과서", "다시 재기 (`make results`)"] + [RUN_LABELS.get(k, k) for k in order]
    full_peak = _by_nb(runs.get("full_course", {}).get("peak_rss_gb"))
    if memory and full_peak:
        head.append("커널 최고 메모리 (다시 재기)")
    if plan:
        head.append("발표자 노트 ⏱ 합계")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    walls = {_nb(n): r.get("wall_s") for n, r in results.items()}
    for path in notebooks():
        nb = _nb(path.name)
        row = [f"`{path.stem}`", TEXTBOOK.get(nb, ""), duration(walls[nb]) if walls.get(nb) else ""]
        for k in order:
            s = _by_nb(runs[k].get("seconds")).get(nb)
            row.append(duration(s) if s is not None else "")
        if memory and full_peak:
            row.append(f"{full_peak[nb]:.1f} GB" if nb in full_peak else "")
        if plan:
            stretches, claimed = timers(path)
            total = sum(st.minutes for st in stretches)
            row.append(f"{total}분" + (f" (첫 노트에는 '전체 {claimed}분')" if claimed and claimed != total else ""))
        lines.append("| " + " | ".join(row) + " |")
    where = _machine(results)
    if where:
        lines += ["", f"다시 재기 시간: {where}, CPU 만, `docs/RESULTS.md`."
                  + (" 그 밖의 열: `make bench` (`docs/BENCHMARKS.md`, "
                     f"{bench['machine']['date']})." if bench.get("machine", {}).get("date") and order else "")]
    return "\n".join(lines)


def _label(st: Stretch) -> str:
    if not st.number[:1].isdigit():
        return st.title
    if _section_id(st.title) == st.number:
        return f"§{st.number} {_NUMBER.sub('', st.title, count=1)}"
    return f"§{st.number} 안의 「{st.title}」"


def block_plan(results: dict, bench: dict) -> str:
    out = []
    for path in notebooks():
        kept, skipped = lesson_plan(path)
        out.append(f"**{path.stem}** — 수업 {sum(st.minutes for st in kept)}분 "
                   f"(발표자 노트의 ⏱ 그대로)")
        out += [f"- {st.minutes}분 · {_label(st)}"
                + (f" (연습 {', '.join(e.split()[0] for e in st.exercises)})" if st.exercises else "") for st in kept]
        if skipped:
            rest = " · ".join(f"{_label(st)} ({st.minutes}분)" for st in skipped)
            out.append(f"- 건너뛰기 (실행만 하고 숙제·다음 시간으로, 모두 {sum(st.minutes for st in skipped)}분): {rest}")
        out.append("")
    return "\n".join(out).rstrip()


def block_meeting(results: dict, bench: dict) -> str:
    total = sum(m for _, m in MEETING)
    out = [f"| 순서 | 시간 | 하는 일 |", "|---|---|---|"]
    for i, (what, minutes) in enumerate(MEETING, 1):
        what = what or ("발제: `docs/TEACHING.md` 의 50분 계획대로 노트북을 위에서부터 실행하며 설명 "
                        "(함께 푸는 연습과 퀴즈 포함)")
        out.append(f"| {i} | {minutes}분 | {what} |")
    out += ["", f"모두 {total}분입니다."]
    return "\n".join(out)


def block_study_times(results: dict, bench: dict) -> str:
    return block_times(results, bench, memory=False, plan=True)


def block_commands(results: dict, bench: dict) -> str:
    """Every ``python -m chapter5`` command with its help line, read from the command line itself."""
    from .. import __main__ as cli

    parser = cli._parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    rows = ["| 명령 | 하는 일 | (English) |", "|---|---|---|"]
    for a in sub._choices_actions:
        ko, _, en = (a.help or "").partition(" | ")
        rows.append(f"| `python -m chapter5 {a.dest}` | {ko} | {en} |")
    return "\n".join(rows)


def block_exercises(results: dict, bench: dict) -> str:
    """Which exercises the 50-minute plan reaches (solved together) and which it leaves for home."""
    rows = ["| 노트북 | 모임에서 함께 (50분 계획 안) | 집에서 (건너뛴 부분) | 도전 과제 (집에서) |", "|---|---|---|---|"]
    for path in notebooks():
        kept, skipped = lesson_plan(path)
        bold = lambda e: re.sub(r"(\d\d-[0-9C])", r"**\1**", e, count=1)  # noqa: E731 - the key stands out
        together = [bold(e) for st in kept for e in st.exercises]
        home = [bold(e) for st in skipped for e in st.exercises]
        challenges = [bold(c) for st in kept + skipped for c in st.challenges]
        rows.append(f"| {_nb(path.name)} | {' · '.join(together) or '—'} | {' · '.join(home) or '—'} | "
                    f"{' · '.join(challenges) or '—'} |")
    return "\n".join(rows)


BLOCKS = {
    "exercises": block_exercises,
    "commands": block_commands,
    "results": block_results,
    "modes": block_modes,
    "times": block_times,
    "plan": block_plan,
    "meeting": block_meeting,
    "study-times": block_study_times,
}


def render_text(text: str, results: dict, bench: dict) -> str:
    """``text`` with every generated part rendered anew (unknown names raise)."""
    def sub(m):
        name = m.group("name")
        if name not in BLOCKS:
            raise KeyError(f"unknown generated part {name!r} (known: {sorted(BLOCKS)})")
        return m.group(1) + BLOCKS[name](results, bench).rstrip() + "\n" + m.group(4)
    return BLOCK.sub(sub, text)


def stale(results: dict | None = None, bench: dict | None = None) -> list[str]:
    """Files (relative to the repository) whose generated parts are not what the data renders now."""
    results = load(RESULTS_JSON) if results is None else results
    bench = load(BENCH_JSON) if bench is None else bench
    return [str(f.relative_to(REPO_ROOT)) for f in FILES
            if f.is_file() and render_text(f.read_text(encoding="utf-8"), results, bench) != f.read_text(encoding="utf-8")]


def write_all() -> list[str]:
    """Render every generated part in place; returns the files that changed."""
    results, bench = load(RESULTS_JSON), load(BENCH_JSON)
    changed = []
    for f in FILES:
        old = f.read_text(encoding="utf-8")
        new = render_text(old, results, bench)
        if new != old:
            f.write_text(new, encoding="utf-8")
            changed.append(str(f.relative_to(REPO_ROOT)))
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chapter5.tools.docs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report stale generated parts (exit 1)")
    args = parser.parse_args(argv)
    if args.check:
        old = stale()
        print("generated parts current" if not old else "out of date: " + ", ".join(old)
              + " → python -m chapter5.tools.docs")
        return 1 if old else 0
    changed = write_all()
    print("rewrote: " + ", ".join(changed) if changed else "generated parts already current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
