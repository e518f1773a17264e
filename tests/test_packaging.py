"""The install files agree with each other and the README's commands exist."""
import re
import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~ ]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_lists_every_dependency():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in py["dependencies"] + py["optional-dependencies"]["test"]}
    conda_names = {"torch": "pytorch"}
    env = (ROOT / "environment.yml").read_text()
    listed = {_name(line.strip().lstrip("- ")) for line in env.splitlines()
              if line.strip().startswith("- ") and not line.strip().startswith("- -e")}
    missing = {w for w in wanted if conda_names.get(w, w) not in listed}
    assert not missing, f"environment.yml lacks {sorted(missing)}"


def test_readme_opens_with_the_two_commands_and_ci_uses_the_test_one():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", readme, re.S)
    first = [l.split("#")[0].strip() for l in blocks[0].splitlines() if l.split("#")[0].strip()]
    # from an empty machine: get the code, then `make lab` opens the course
    assert len(first) == 2 and first[0].startswith("git clone ") and first[1] == "make lab", first
    assert "`make test`" in readme and "CI" in readme, "README must name the test command that CI runs"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^lab:", makefile, re.M) and re.search(r"^test:", makefile, re.M)


def test_one_version_for_the_package_and_its_metadata():
    """pyproject reads the version from chapter5.__version__ (they once said 0.1.0 and 0.2.0)."""
    import importlib.metadata

    import chapter5

    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in py["project"] and "version" in py["project"]["dynamic"]
    assert py["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "chapter5.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", chapter5.__version__)
    installed = importlib.metadata.version("chapter5")
    assert installed == chapter5.__version__, (installed, "re-install: make install")
