"""What a newcomer, a teacher and a study group read is true (README.md, docs/TEACHING.md, docs/STUDY.md).

The rule for numbers (``test_no_unmeasured_numbers``):

* A *measurement* is a number written with a unit of time, share, size or ratio:
  ``%``, ``%p``, ``초``, ``분``, ``시간``, ``s``, ``ms``, ``min``, ``GB``, ``MB``, ``배``, ``×``/``x``
  (``9.9분``, ``92.78 %``, ``2.8 GB``, ``983 배``, ``3.8×``; both ends of a range like ``1–2분``).
* Inside ``<!-- generated:NAME -->`` … ``<!-- /generated -->`` numbers are not checked one by one:
  ``test_generated_parts_are_current`` checks that each part is exactly what
  ``python -m chapter5.tools.docs`` renders now from docs/results.json, docs/benchmarks.json and the
  ⏱ minutes of the notebooks' speaker notes (the 50-minute plans and their sums come from there).
* Everywhere else in the three files, and in all of docs/BENCHMARKS.md (rendered by ``bench``,
  so only its fixed sentences can fail), every measurement must equal a value in
  docs/results.json or docs/benchmarks.json as printed at the precision shown
  (also seconds shown as minutes, minutes as seconds, fractions as percent).
* Not measurements, hence ignored: numbers without such a unit — section numbers (5.3.2, §2.4),
  notebook numbers (01–06), versions (0.43, 3.10), dates, counts (exercises, seeds, epochs, weeks),
  sizes like 1280×720 or 3×3 (a digit follows the ×), keyboard keys — and the few fixed settings in
  ``SETTINGS`` below, each with its reason.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chapter5.tools import docs

ROOT = docs.REPO_ROOT
CHECKED = [ROOT / "README.md", ROOT / "docs" / "TEACHING.md", ROOT / "docs" / "STUDY.md"]
BENCHMARKS_MD = ROOT / "docs" / "BENCHMARKS.md"

# Fixed settings that carry a unit but are not measurements: text -> reason.
SETTINGS: dict[str, str] = {
    f"{docs.LESSON_MINUTES}분": "the length of a lesson the plans are made for (docs.LESSON_MINUTES)",
}

_NUMBER = r"\d+(?:,\d{3})*(?:\.\d+)?"
MEASUREMENT = re.compile(
    rf"(?<![\w.\-/§])(?P<a>{_NUMBER})(?:\s*[–~-]\s*(?P<b>{_NUMBER}))?\s?"
    r"(?P<unit>%p|%|초|분|시간|ms|min|GB|MB|배|×|x|s)(?![A-Za-z0-9])")
# a unit in the docs -> (family of the measured value, factor from the stored value to the shown one)
SHOWN = {"초": [("s", 1), ("min", 60)], "s": [("s", 1), ("min", 60)], "분": [("s", 1 / 60), ("min", 1)],
         "min": [("s", 1 / 60), ("min", 1)], "시간": [("s", 1 / 3600), ("min", 1 / 60)], "ms": [("ms", 1)],
         "%": [("%", 1)], "%p": [("%", 1)], "GB": [("GB", 1)], "MB": [("GB", 1024)],
         "배": [("x", 1)], "×": [("x", 1)], "x": [("x", 1)]}
METRIC_UNITS = {"%": "%", "%p": "%", "s": "s", "배": "x", "×": "x"}


def _family(key: str, inherited: str | None) -> str | None:
    """What a JSON key measures, by its name (docs/benchmarks.json and docs/results.json)."""
    k = key.lower()
    if "_vs_" in k and not k.endswith(".ipynb"):  # a ratio (cnn_train_vs_textbook_5_epochs), not 02_dnn_vs_cnn
        return "x"
    for family, marks in (("ms", ("_ms",)), ("min", ("minutes",)), ("GB", ("gb",)), ("x", ("speedup",)),
                          ("%", ("acc", "accuracy")), ("s", ("seconds", "_s"))):
        if any(k.endswith(m) or f"{m}_" in k or k.startswith(m.strip("_") + "_") for m in marks):
            return family
    return inherited


def measured_values(obj, family: str | None = None):
    """(family, value) for every measured number in the JSON: metrics by their own unit, other
    values by their key's name (``*_s``/``seconds``, ``*_minutes``, ``*_gb``, ``*_ms``, ``*acc*``,
    ``speedup*``), nested dicts inheriting their parent's."""
    if isinstance(obj, dict) and "value" in obj and "unit" in obj:
        fam = METRIC_UNITS.get(obj.get("unit"))
        for v in (obj.get("value"), obj.get("textbook")):
            if fam and isinstance(v, (int, float)):
                yield fam, float(v)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from measured_values(v, _family(str(k), family))
    elif isinstance(obj, list):
        for v in obj:
            yield from measured_values(v, family)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool) and family:
        yield family, float(obj)


@pytest.fixture(scope="module")
def measured() -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for path in (docs.RESULTS_JSON, docs.BENCH_JSON):
        for fam, v in measured_values(docs.load(path)):
            out.setdefault(fam, []).append(v)
    return out


def _shown(text: str, values: dict, unit: str) -> bool:
    decimals = len(text.split(".")[1]) if "." in text else 0
    plain = text.replace(",", "")
    return any(f"{v * k:.{decimals}f}" == plain for fam, k in SHOWN[unit] for v in values.get(fam, []))


def unmeasured(text: str, values: dict[str, list[float]]) -> list[str]:
    """The measurements in ``text`` (generated parts removed) that the measured data does not contain."""
    text = docs.BLOCK.sub("", text)
    bad = []
    for lineno, line in enumerate(text.splitlines(), 1):
        for m in MEASUREMENT.finditer(line):
            if m.group(0).strip() in SETTINGS:
                continue
            for part in filter(None, (m.group("a"), m.group("b"))):
                if not _shown(part, values, m.group("unit")):
                    bad.append(f"line {lineno}: {m.group(0)!r} in {line.strip()[:120]!r}")
    return bad


# a small measured data set of its own, so that the checker's test does not follow today's figures
_SAMPLE = {"results": {"02_x.ipynb": {"wall_s": 594.0, "metrics": [
               {"key": "CNN test accuracy", "value": 92.78, "unit": "%"},
               {"key": "cache speed-up", "value": 983.0, "unit": "배"}]},
           "03_x.ipynb": {"wall_s": 106.0, "metrics": []}},
           "bench": {"peak_rss_gb": 2.79, "x_decode_s": 1.8, "machine": {"speed_index_ms": 119.0},
                     "cnn_epoch_speedup_vs_textbook": 3.8, "course_full_minutes": 17.2}}


@pytest.fixture
def sample_measured():
    out: dict[str, list[float]] = {}
    for obj in _SAMPLE.values():
        for fam, v in measured_values(obj):
            out.setdefault(fam, []).append(v)
    return out


def test_number_rule_catches_a_planted_number(sample_measured):
    """The checker itself: a stale figure fails, the measured one passes, non-measurements are ignored."""
    measured = sample_measured
    assert unmeasured("02 는 9.8분 걸립니다.", measured) == ["line 1: '9.8분' in '02 는 9.8분 걸립니다.'"]
    assert unmeasured("02 는 9.9분, 03 은 106초, CNN 92.78 %, 캐시 983 배.", measured) == []
    assert unmeasured("교과서 5.3.2, 01 §2.4, 1280×720, 3×3 필터, Python 3.10, 2026-11-29, 연습 4개", measured) == []
    assert len(unmeasured("수업 90분, 약 150 MB, 3–4시간, 92.78 배", measured)) == 5  # a % figure is no ratio
    assert unmeasured("커널 2.8 GB, 1.8 s 디코드, 119 ms, 3.8×, 17.2 min", measured) == []
    planted = "<!-- generated:modes -->\n9.8분\n<!-- /generated -->\n"
    assert unmeasured(planted, measured) == []  # generated parts are checked by currency, not here


@pytest.mark.parametrize("path", CHECKED + [BENCHMARKS_MD], ids=lambda p: p.name)
def test_no_unmeasured_numbers(path, measured):
    bad = unmeasured(path.read_text(encoding="utf-8"), measured)
    assert not bad, (f"{path.relative_to(ROOT)}: numbers the measured data (docs/results.json, "
                     f"docs/benchmarks.json) does not contain — generate them or remove them:\n  " + "\n  ".join(bad))


def test_generated_parts_are_current():
    assert docs.stale() == [], "generated parts are out of date: run  .venv/bin/python -m chapter5.tools.docs"


def test_every_file_has_its_generated_parts():
    names = {f.name: [m.group("name") for m in docs.BLOCK.finditer(f.read_text(encoding="utf-8"))] for f in docs.FILES}
    assert names == {"README.md": ["modes", "results", "commands"], "TEACHING.md": ["times", "plan"],
                     "STUDY.md": ["meeting", "study-times", "exercises"]}


def test_stale_data_makes_the_parts_stale():
    results, bench = docs.load(docs.RESULTS_JSON), docs.load(docs.BENCH_JSON)
    planted = json.loads(json.dumps(results))
    planted["02_dnn_vs_cnn.ipynb"]["wall_s"] = 1234.0
    assert docs.stale(planted, bench) == ["README.md", "docs/TEACHING.md", "docs/STUDY.md"]
    assert "20.6분" in docs.block_times(planted, bench)
    with pytest.raises(KeyError, match="unknown generated part 'nope'"):
        docs.render_text("<!-- generated:nope -->\n<!-- /generated -->", results, bench)


def test_missing_keys_leave_the_sentence_out():
    """No typed number and no placeholder: a key the benchmark has not written leaves its sentence out."""
    results, bench = docs.load(docs.RESULTS_JSON), docs.load(docs.BENCH_JSON)
    bare = {k: v for k, v in bench.items() if k not in ("notebook_default_max_minutes", "course_default_minutes",
                                                          "class_mode_fresh_clone_max_seconds")}
    text = docs.block_modes(results, bare)
    assert "기본 (default)" not in text and "새로 받은" not in text
    assert not re.search(r"None|nan|\?\?|TODO|<[a-z]+>", text)
    full = dict(bare, notebook_default_max_minutes=3.26, course_default_minutes=11.04,
                class_mode_fresh_clone_max_seconds=24.6)
    text = docs.block_modes(results, full)
    assert "노트북 하나 최대 3.3분 · 코스 전체 11.0분" in text
    assert "새로 받은 저장소에서 노트북 하나 최대 25초" in text
    assert docs.block_modes({}, {}).count("\n") == 2  # header, rule, quick; nothing measured, nothing typed
    new_run = dict(bare, default_mode={"seconds": {"02_dnn_vs_cnn.ipynb": 150.0}})
    assert "| 기본 모드 |" in docs.block_times(results, new_run) and "2.5분" in docs.block_times(results, new_run)
    flat = dict(bare, default_mode_seconds={"02_dnn_vs_cnn.ipynb": 150.0})
    assert docs.block_times(results, flat) == docs.block_times(results, new_run)
    assert docs.block_times(results, bare).count("|") == docs.block_times(results, docs.load(docs.BENCH_JSON)).count("|")


def _plan_lines():
    text = (ROOT / "docs" / "TEACHING.md").read_text(encoding="utf-8")
    return next(m for m in docs.BLOCK.finditer(text) if m.group("name") == "plan").group("body").splitlines()


def test_lesson_plans_add_up_to_at_most_50_minutes():
    plans, cur = {}, None
    for line in _plan_lines():
        head = re.match(r"\*\*(\d\d)_\w+\*\* — 수업 (\d+)분", line)
        if head:
            cur = head.group(1)
            plans[cur] = [int(head.group(2)), []]
        elif line.startswith("- ") and not line.startswith("- 건너뛰기"):
            plans[cur][1].append(int(re.match(r"- (\d+)분", line).group(1)))
    assert sorted(plans) == [p.name[:2] for p in docs.notebooks()]
    for nb, (total, parts) in plans.items():
        assert sum(parts) == total <= docs.LESSON_MINUTES, (nb, total, parts)


def test_lesson_plan_refuses_what_does_not_fit(monkeypatch):
    first = docs.notebooks()[0]
    total = sum(st.minutes for st in docs.timers(first)[0])
    assert total > docs.LESSON_MINUTES  # otherwise pick a longer notebook for this plant
    monkeypatch.setitem(docs.SKIP_IN_50, first.name[:2], [])
    with pytest.raises(ValueError, match=f"take {total} min"):
        docs.lesson_plan(first)
    monkeypatch.setitem(docs.SKIP_IN_50, first.name[:2], ["99.9"])
    with pytest.raises(ValueError, match=r"names \['99.9'\]"):
        docs.lesson_plan(first)


def test_timers_read_the_speaker_notes(tmp_path):
    def md(text, slide="-"):
        return {"cell_type": "markdown", "source": text, "metadata": {"slideshow": {"slide_type": slide}}}
    nb = {"cells": [md("# 09. 제목", "slide"), md("🎤 **발표자 노트**\n- ⏱ 전체 약 90분: 1절 10분", "notes"),
                    md("## 1. 하나", "slide"), md("### ✏️ 연습 09-1: 첫 연습", "subslide"),
                    md("🎤 **발표자 노트**\n- ⏱ 2.1–2.3 20분, 1절은 ⏱ 12분.", "notes"),
                    md("### ✏️ 연습 09-2: 노트 뒤의 연습", "subslide"),
                    md("## 2. 둘", "slide"),
                    dict(md("### 🧗 도전 과제: 더 깊이", "subslide"), metadata={"tags": ["challenge"]}),
                    {"cell_type": "code", "source": "# 여기에", "metadata": {"tags": ["challenge"]}},
                    md("- ⏱ 30분", "notes"), md("### 퀴즈", "subslide")]}
    path = tmp_path / "09_x.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    stretches, claimed = docs.timers(path)
    assert claimed == 90
    assert [(st.number, st.minutes) for st in stretches] == [("1", 12), ("2", 30)]
    assert stretches[0].exercises == ["09-1 첫 연습", "09-2 노트 뒤의 연습"]
    assert [h for _, h in stretches[1].headings] == ["2. 둘", "🧗 도전 과제: 더 깊이", "퀴즈"]
    assert stretches[1].challenges == ["🧗 도전 과제: 더 깊이"] and stretches[0].challenges == []


SECTION_REF = re.compile(r"(?<![\d.])(0[1-6]) §(\d+(?:\.\d+)*)(?:\s*의)?(?:\s*「([^」]+)」)?")


def _sections(path: Path) -> dict[str, list[str]]:
    """Section id ("5", "2.3") -> the headings inside it (number stripped), in one notebook."""
    out: dict[str, list[str]] = {}
    open_ids: dict[int, str] = {}
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        h = docs._heading(cell)
        if not h or h[0] < 2:
            continue
        level, text = h
        if docs._opens(h):
            open_ids = {lv: i for lv, i in open_ids.items() if lv < level}
            open_ids[level] = docs._section_id(text)
        for sid in open_ids.values():
            out.setdefault(sid, []).append(docs._NUMBER.sub("", text, count=1))
    return out


def wrong_references(text: str) -> list[str]:
    """'02 §5' must be a section of notebook 02; '02 §5 「비교」' must also have a heading starting '비교' in it."""
    sections = {nb.name[:2]: _sections(nb) for nb in docs.notebooks()}
    wrong = []
    for m in SECTION_REF.finditer(docs.BLOCK.sub("", text)):
        inside = sections.get(m.group(1), {}).get(m.group(2))
        title = (m.group(3) or "").replace("`", "")
        if inside is None or (title and not any(h.startswith(title) for h in inside)):
            wrong.append(m.group(0))
    return wrong


@pytest.mark.parametrize("path", CHECKED, ids=lambda p: p.name)
def test_section_references_match_the_notebooks(path):
    """'NN §X.Y' in the prose names a section the notebook's headings have (the textbook's numbers carry no §)."""
    wrong = wrong_references(path.read_text(encoding="utf-8"))
    assert not wrong, f"{path.name}: no such section (or title) in the notebook's headings: {wrong}"


def test_section_check_catches_a_wrong_reference():
    assert wrong_references("02 §5 「비교」 · 06 §3.4 「층을 쌓으면」 · 01 §2.3 「직접 움직여 보기") == []
    assert wrong_references("02 §4 「비교」 · 06 §3.3 「층을 쌓으면」 · 02 §9") == ["02 §4 「비교」", "06 §3.3 「층을 쌓으면」", "02 §9"]


def _rise_schema() -> dict | None:
    for path in Path(ROOT / ".venv").glob("share/jupyter/labextensions/jupyterlab-rise/schemas/jupyterlab-rise/plugin.json"):
        return json.loads(path.read_text(encoding="utf-8"))
    return None


def test_rise_keys_in_teaching_are_the_installed_ones():
    schema = _rise_schema()
    if schema is None:
        pytest.skip("jupyterlab-rise is not installed in .venv")
    keys = {s["command"]: s["keys"][0] for s in schema["jupyter.lab.shortcuts"]}
    assert keys["RISE:notes-open"] == "T" and keys["RISE:toggleOverview"] == "W"
    assert keys["RISE:toggleAllRiseButtons"] == "," and keys["RISE:riseHelp"] == "?" and keys["RISE:preview"] == "Alt R"
    assert keys["RISE:chalkboard-colorNext"] == "S"
    text = (ROOT / "docs" / "TEACHING.md").read_text(encoding="utf-8")
    assert "**T** (발표자 화면)" in text and "RISE 에서는 `T`" in text
    assert "`S` 는 발표자 화면이 아니라 칠판" in text


def test_readme_gets_the_code_and_names_every_platform():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "<owner>" not in text and "<repo>" not in text
    assert not re.search(r"github\.com/[\w.-]+/[\w.-]+", text), "no repository address is typed into the README"
    for needed in ("git clone", "Download ZIP", "python3-venv", "xcode-select --install", "make lab PYTHON=python3.12",
                   '$env:CHAPTER5_CLASS_MODE="1"', "conda env create -f environment.yml", "colab --links",
                   "`python -m chapter5 bench`", "CHAPTER5_RECOMPUTE=1", "CHAPTER5_CLASS_MODE=1", "CHAPTER5_QUICK=1",
                   "notebooks/records/", "파일을 먼저 올리기"):
        assert needed in text, needed
