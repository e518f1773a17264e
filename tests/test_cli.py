"""`python -m chapter5 ...` as a terminal runs it: Korean output and help, exit codes that mean
something, and the Colab links made from the clone's own git remote (temporary repositories with
fake remotes; nothing goes to the network)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chapter5 import download
from chapter5.doctor import python_command
from chapter5.tools import colab

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
COMMANDS = ["download", "info", "doctor", "progress", "results", "bench", "colab", "slides", "quizzes"]
HANGUL = re.compile("[\uac00-\ud7a3]")
NOTEBOOKS = [p.name for p in colab.notebook_paths()]


def cli(*args, env=None, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "chapter5", *args], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, **(env or {})}, timeout=300)


def test_info_exits_1_and_says_what_is_missing_in_an_empty_data_root(tmp_path):
    proc = cli("info", env={"CHAPTER5_DATA": str(tmp_path), "TORCH_HOME": str(tmp_path / "torch")})
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines() == [
        f"데이터 루트 (data root): {tmp_path.resolve()}",
        "  fashionmnist       파일 4개 없음 (missing)",
        "  catanddog          파일 483개 없음 (missing)",
        "  catphoto           파일 1개 없음 (missing)",
        "  resnet18 weights   캐시에 없음 (not cached): 노트북 03–05 는 받을 수 없으면 EfficientNet-Lite0 을 씁니다",
        f"빠진 파일 488개: {python_command(sys.executable, ROOT)} -m chapter5 download 로 받으세요.",
    ]


def test_info_exits_1_when_a_single_file_is_missing(tmp_path):
    (tmp_path / "cat.jpg").write_bytes(b"present (info checks presence, doctor the checksums)")
    for e in download.manifest("catanddog")[:-1]:
        (tmp_path / e.path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / e.path).write_bytes(b"x")
    proc = cli("info", env={"CHAPTER5_DATA": str(tmp_path)})
    assert proc.returncode == 1
    assert "  catanddog          파일 1개 없음 (missing)" in proc.stdout.splitlines()
    assert "  catphoto           있음 (ok)" in proc.stdout.splitlines()


@pytest.mark.skipif(not SHARED.is_dir(), reason="offline course data not present")
def test_info_and_doctor_exit_0_when_everything_is_there():
    info = cli("info", env={"CHAPTER5_DATA": str(SHARED)})
    assert info.returncode == 0, info.stdout
    assert "없음 (missing)" not in info.stdout and "빠진 파일" not in info.stdout
    doctor = cli("doctor", "--quick", env={"CHAPTER5_DATA": str(SHARED)})
    assert doctor.returncode == 0, doctor.stdout
    assert "[FAIL]" not in doctor.stdout


def test_doctor_exits_1_on_a_fail(tmp_path):
    proc = cli("doctor", "--quick", env={"CHAPTER5_DATA": str(tmp_path)})
    assert proc.returncode == 1 and proc.stdout.count("[FAIL]") == 3


def test_help_is_korean_with_no_rest_markup():
    main = cli("--help")
    assert main.returncode == 0
    assert main.stdout.startswith("사용법 (usage): ")
    assert "``" not in main.stdout and "The learner-facing" not in main.stdout
    epilog = main.stdout.split("예 (examples):", 1)[1]
    assert "명령마다 자세한 도움말:" in epilog and "종료 코드 (exit code):" in epilog
    listed = re.findall(r"^    (\w+) +(.+)$", main.stdout, re.M)
    assert [name for name, _ in listed] == COMMANDS
    for name, summary in listed:
        assert HANGUL.search(summary.split("|")[0]), (name, summary)
    for name in COMMANDS:
        proc = cli(name, "--help")
        assert proc.returncode == 0, (name, proc.stderr)
        description = proc.stdout.split("\n\n")[1]
        assert HANGUL.search(description.split("|")[0]), (name, description)
        assert "``" not in proc.stdout, name
        options = re.findall(r"^  (-\S+|\w+)(?:, --\w+)?(?: \S+)? {2,}(.+)$", proc.stdout, re.M)
        assert options and all(HANGUL.search(text) for _, text in options), (name, options)


def test_a_wrong_command_exits_2_with_a_korean_line():
    proc = cli("dowload")
    assert proc.returncode == 2
    assert "명령을 잘못 썼습니다" in proc.stderr and "invalid choice: 'dowload'" in proc.stderr


# --------------------------------------------------------------------------- colab --links

def _repo(tmp_path, remote=None, branch="main"):
    repo = tmp_path / "clone"
    subprocess.run(["git", "init", "-q", "-b", branch, str(repo)], check=True)
    if remote:
        subprocess.run(["git", "-C", str(repo), "remote", "add", "origin", remote], check=True)
    return repo


def _links(repo):
    """`python -m chapter5 colab --links` with git reading the temporary repository (GIT_DIR)."""
    return cli("colab", "--links", env={"GIT_DIR": str(repo / ".git")})


@pytest.mark.parametrize("remote", ["https://github.com/alice/chapter5.git", "https://github.com/alice/chapter5",
                                    "git@github.com:alice/chapter5.git", "ssh://git@github.com/alice/chapter5.git"])
def test_links_from_a_github_remote(tmp_path, remote):
    proc = _links(_repo(tmp_path, remote, branch="study"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f"https://colab.research.google.com/github/alice/chapter5/blob/study/dist/colab/{name}" for name in NOTEBOOKS]
    assert len(NOTEBOOKS) == 6 and NOTEBOOKS[0] == "01_cnn_basics.ipynb"


@pytest.mark.parametrize("remote", [None, "https://gitlab.com/alice/chapter5.git",
                                    "https://alice:secret-token@gitlab.com/alice/chapter5.git"])
def test_no_github_remote_says_upload_in_one_korean_line(tmp_path, remote):
    proc = _links(_repo(tmp_path, remote))
    assert proc.returncode == 1 and proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "Colab 에 업로드하세요 (파일 → 노트북 업로드)" in lines[0], lines
    assert ("git 원격 origin 이 없어" if remote is None else "GitHub 가 아니라서") in lines[0]
    assert "secret-token" not in proc.stderr


def test_links_use_the_branch_tracked_on_origin(tmp_path):
    repo = _repo(tmp_path, "git@github.com:alice/chapter5.git")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(git + ["commit", "-q", "--allow-empty", "-m", "x"], check=True)
    subprocess.run(git + ["update-ref", "refs/remotes/origin/main", "HEAD"], check=True)
    subprocess.run(git + ["checkout", "-q", "-b", "my-local-work"], check=True)
    assert colab.links(repo, ["a.ipynb"]) == [  # not pushed under that name: the current branch alone
        "https://colab.research.google.com/github/alice/chapter5/blob/my-local-work/dist/colab/a.ipynb"]
    subprocess.run(git + ["branch", "-q", "--set-upstream-to=origin/main"], check=True)
    assert colab.links(repo, ["a.ipynb"]) == [
        "https://colab.research.google.com/github/alice/chapter5/blob/main/dist/colab/a.ipynb"]
