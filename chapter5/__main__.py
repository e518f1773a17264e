"""chapter5 command line: ``python -m chapter5 <command>`` (``--help`` lists the commands).

The learner-facing commands (download, info, doctor, progress) live in the package; the course
tooling (results, bench, colab, slides, quizzes) lives in ``chapter5/tools/`` and is imported only
here, by its own command. Everything this prints and its help are Korean first (English after
``|``); the exit code is 0 only when the command did what it says (``info``: every data file is
present; ``doctor``: no [FAIL]; ``download``: every data group fetched; ``colab --links``: a GitHub
remote to link to).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DESCRIPTION = """\
딥러닝 파이토치 교과서 5장 (합성곱 신경망) 코스의 명령줄 도구입니다.
학생용 명령은 download · info · doctor · progress 이고, 나머지는 코스를 만드는 도구입니다.
| command line of the chapter5 course (learners: download, info, doctor, progress)."""


def _epilog(py: str) -> str:
    return f"""\
예 (examples):
  {py} -m chapter5 doctor          설치 점검: 항목마다 [OK]/[FAIL] 과 고치는 방법
  {py} -m chapter5 download        데이터와 가중치를 미리 받기 (인터넷이 불안한 교실)
  {py} -m chapter5 info            데이터 루트와 빠진 파일 보기
  {py} -m chapter5 colab --links   GitHub 에서 Colab 으로 바로 여는 주소
명령마다 자세한 도움말: {py} -m chapter5 <명령> --help
종료 코드 (exit code): 0 = 성공, 1 = 빠진 것 · 실패가 있음, 2 = 명령을 잘못 씀."""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups, "사용법 (usage): " if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """argparse with Korean headings: one group for arguments and options, a Korean ``-h``,
    a Korean line before argparse's own error."""

    def __init__(self, *args, **kwargs):
        kwargs["add_help"] = False
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)
        self.args = self.add_argument_group("인자와 옵션 (arguments and options)")
        self.args.add_argument("-h", "--help", action="help", help="이 도움말 보기 | show this help")

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: 명령을 잘못 썼습니다 ({self.prog} --help 로 도움말을 보세요) "
                     f"| error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    from .doctor import python_command

    py = python_command()
    parser = _Parser(prog=f"{py} -m chapter5", description=DESCRIPTION, epilog=_epilog(py))
    sub = parser.add_subparsers(dest="cmd", required=True, title="명령 (commands)", metavar="<명령 command>")

    def command(name: str, summary: str, description: str) -> _Parser:
        return sub.add_parser(name, help=summary, description=description)

    dl = command("download", "데이터·가중치 받기 | fetch every dataset and weight file",
                 "데이터 (FashionMNIST, 고양이/개 사진, cat.jpg) 와 ResNet18 가중치를\n"
                 "데이터 루트에 미리 받습니다. 모든 파일은 체크섬으로 확인하고, 끊기면 다시 실행해 이어 받습니다.\n"
                 "| fetch every data file (checksum-verified, resumable) and the ResNet18 weights.")
    dl.args.add_argument("--root", type=Path,
                         help="데이터 루트 (기본값: 환경 변수 CHAPTER5_DATA, 없으면 저장소의 data/) | data root")
    command("info", "데이터 루트 보기 | show the data root and what is missing",
            "데이터 루트와 그 안에 빠진 파일을 보여 줍니다. 빠진 파일이 있으면 종료 코드 1 입니다.\n"
            "| show the data root and what is missing (exit code 1 when a file is missing).")
    dr = command("doctor", "설치 점검 | check this setup: [OK]/[FAIL] with the exact fix",
                 "Python·torch 버전, 데이터와 체크섬, 사전 학습 가중치, 한글 글꼴, 위젯, 디스크를 점검하고\n"
                 "항목마다 [OK] 또는 [FAIL] 과 고치는 명령을 한 줄로 알려 줍니다. [FAIL] 이 있으면 종료 코드 1.\n"
                 "| check this setup, one line per item with the exact fix (exit code 1 on a [FAIL]).")
    dr.args.add_argument("--quick", action="store_true",
                         help="체크섬 대신 파일 크기만 확인 (빠름) | sizes instead of checksums")
    pr = command("progress", "진행 상황 | show exercise and quiz progress",
                 "연습 문제와 퀴즈의 진행 상황을 보여 줍니다 (이 컴퓨터에만 저장된 기록).\n"
                 "| show exercise and quiz progress (stored on this computer only).")
    pr.args.add_argument("--reset", action="store_true", help="진행 기록 지우기 | delete the progress file")
    pr.args.add_argument("--line", action="store_true",
                         help="스터디 채팅방에 붙일 한 줄 요약 | one line to paste into the group's chat")
    pr.args.add_argument("--export", action="store_true",
                         help="다른 컴퓨터·Colab 세션으로 옮길 진행 코드 출력 | print a code that carries progress")
    pr.args.add_argument("--import", dest="import_code", metavar="CODE",
                         help="--export 로 받은 진행 코드를 합치기 | merge a progress code")
    rs = command("results", "full 모드 실행, docs/RESULTS.md 쓰기 | re-run notebooks in full mode",
                 "노트북을 full 모드로 처음부터 끝까지 실행해 출력을 저장하고\n"
                 "측정값을 docs/RESULTS.md 에 씁니다 (노트북마다 몇 분에서 수십 분).\n"
                 "| run notebooks in full mode, save their outputs and write docs/RESULTS.md.")
    rs.args.add_argument("notebooks", nargs="*", type=Path,
                         help="실행할 노트북 (기본값: notebooks/ 의 모든 노트북) | notebooks to run")
    rs.args.add_argument("--no-save", action="store_true",
                         help="실행 결과를 노트북에 저장하지 않기 | do not write outputs into the notebooks")
    bn = command("bench", "속도 비교 | benchmark the textbook's loop against the course's",
                 "교과서의 학습 루프와 코스의 루프를 같은 실행에서 나란히 재서 docs/BENCHMARKS.md 에 씁니다.\n"
                 "| time the textbook's loops against the course's side by side (docs/BENCHMARKS.md).")
    bn.args.add_argument("--tiny", action="store_true", help="작은 부분 데이터로 몇 초 만에 | small subsets, seconds")
    bn.args.add_argument("--class-mode", action="store_true", help="노트북마다 class mode 시간도 재기 | also time class mode")
    bn.args.add_argument("--default-course", action="store_true",
                         help="노트북마다 기본 모드 (기록 + 핵심 학습) 시간·메모리도 재기 | also run every notebook in the default mode")
    bn.args.add_argument("--save-notebooks", action="store_true",
                         help="--default-course 의 실행 결과를 노트북 출력으로 저장 | store the default-mode runs as outputs")
    bn.args.add_argument("--workloads", help="잴 작업만 쉼표로 (기본값: 전부) | comma-separated workloads (default: all)")
    bn.args.add_argument("--full-course", action="store_true",
                         help="노트북마다 다시 재기 모드 (모든 셀 지금 계산) 시간·메모리도 재기 (출력 저장 안 함) "
                              "| also run every notebook in the recompute mode")
    bn.args.add_argument("--refresh", action="store_true",
                         help="실행 없이 docs/results.json 의 다시 재기 수치만 다시 읽어 보고서를 새로 씀 | re-read the make-results figures")
    bn.args.add_argument("--out", type=Path, help="결과 폴더 (기본값: docs/) | output folder")
    cb = command("colab", "Colab 노트북 만들기 | write the self-contained Colab notebooks",
                 "notebooks/ 의 노트북마다 chapter5 패키지를 담은 Colab 용 단일 파일 노트북을\n"
                 "dist/colab/ 에 씁니다. --links 는 그 노트북을 GitHub 에서 Colab 으로 바로 여는 주소를\n"
                 "이 저장소의 git 원격 origin 에서 만들어 보여 줍니다\n"
                 "(origin 이 GitHub 가 아니면 파일을 업로드하라는 한 줄과 종료 코드 1).\n"
                 "| write dist/colab/*.ipynb; --links prints their Colab URLs from the origin remote.")
    cb.args.add_argument("--links", action="store_true",
                         help="노트북마다 Colab 주소 출력 (git 원격 origin 에서) | print each notebook's Colab URL")
    sl = command("slides", "슬라이드 내보내기 | export offline reveal.js slides into build/slides/",
                 "노트북을 인터넷 없이 열리는 reveal.js 슬라이드로 build/slides/ 에 내보냅니다.\n"
                 "| export the notebooks as offline reveal.js slides.")
    sl.args.add_argument("notebooks", nargs="*", type=Path,
                         help="내보낼 노트북 (기본값: notebooks/NN_*.ipynb 전부) | notebooks to export")
    sl.args.add_argument("--out", type=Path, help="결과 폴더 (기본값: build/slides) | output folder")
    sl.args.add_argument("--vendor-only", action="store_true",
                         help="reveal.js 등 오프라인 라이브러리만 <out>/_static 에 받기 | only fetch the slide libraries")
    sl.args.add_argument("--check", action="store_true",
                         help="모든 슬라이드가 1280×720 에 맞는지 검사 (headless Chromium) | check every slide fits")
    command("quizzes", "퀴즈 인코딩 | encode the quiz sources into the exercise modules",
            "chapter5/tools/quizzes/*.json 의 퀴즈 원본을 인코딩해 연습 모듈에 씁니다.\n"
            "| encode chapter5/tools/quizzes/*.json into the exercise modules.")
    return parser


_WRITTEN = {"written": "씀 (written)", "unchanged": "그대로 (unchanged)", "removed": "지움 (removed)"}


def main(argv=None) -> int:
    args = _parser().parse_args(argv)

    if args.cmd == "doctor":
        from . import doctor

        text, ok = doctor.report(verify=not args.quick)
        print(text)
        return 0 if ok else 1

    if args.cmd == "progress":
        from .exercises import progress

        if args.reset:
            print(progress.reset())
        elif args.line:
            print(progress.summary_line())
        elif args.export:
            print(progress.export_code())
        elif args.import_code:
            said = str(progress.import_code(args.import_code))
            print(said)
            return 1 if said.startswith("⚠") else 0
        else:
            print(progress.summary_text())
        return 0

    if args.cmd == "results":
        from .tools import results

        return results.main([str(p) for p in args.notebooks] + (["--no-save"] if args.no_save else []))

    if args.cmd == "bench":
        from .tools import bench

        return bench.main((["--tiny"] if args.tiny else []) + (["--class-mode"] if args.class_mode else [])
                          + (["--full-course"] if args.full_course else [])
                          + (["--default-course"] if args.default_course else [])
                          + (["--save-notebooks"] if args.save_notebooks else [])
                          + (["--workloads", args.workloads] if args.workloads else [])
                          + (["--refresh"] if args.refresh else [])
                          + (["--out", str(args.out)] if args.out else []))

    if args.cmd == "quizzes":
        from .tools import quizzes

        for name, status in quizzes.write_all():
            print(f"  {name:24s} {_WRITTEN.get(status, status)}")
        return 0

    if args.cmd == "slides":
        from .tools import slides

        out = args.out or slides.OUT
        try:
            if args.vendor_only:
                print(f"오프라인 슬라이드 라이브러리 (offline slide libraries): {slides.vendor(out / slides.STATIC)}")
            elif args.check:
                text, ok = slides.check_report(slides.check(args.notebooks or None, out))
                print(text)
                return 0 if ok else 1
            else:
                slides.export(args.notebooks or None, out)
                print(f"브라우저로 여세요 (인터넷 없이 열립니다): {out / 'index.html'}")
        except slides.SlidesUnavailable as err:
            print(f"슬라이드를 만들 수 없습니다 (slides): {err}")
            return 1
        return 0

    if args.cmd == "colab":
        from .tools import colab

        if args.links:
            try:
                print("\n".join(colab.links()))
            except colab.NoGitHubRemote as err:
                print(err, file=sys.stderr)
                return 1
            return 0
        for path in colab.notebook_paths():  # guard cell and plumbing cells first: the bundles follow them
            colab.ensure_guard_cell_file(path)
        for name, status in colab.write_all():
            print(f"  dist/colab/{name:32s} {_WRITTEN.get(status, status)}")
        return 0

    from . import download
    from .config import data_root
    from .doctor import download_command

    if args.cmd == "download":
        if args.root:
            os.environ["CHAPTER5_DATA"] = str(args.root.resolve())
        root = data_root()
        print(f"데이터 루트 (data root): {root}")
        report = download.download_all(root)
        for name, status in report.items():
            print(f"  {name:18s} {status}")
        failed = [n for n, s in report.items() if s.startswith(download.FAILED) and n != download.WEIGHTS]
        if failed:
            print(f"받지 못한 데이터가 있습니다 ({', '.join(failed)}): 인터넷 연결을 확인하고 다시 실행하세요 "
                  "(받은 파일은 다시 받지 않습니다).")
        return 1 if failed else 0
    if args.cmd == "info":
        root = data_root()
        print(f"데이터 루트 (data root): {root}")
        missing = 0
        for group in download.GROUPS:
            n = len(download.missing(group, root))
            missing += n
            print(f"  {group:18s} {download.PRESENT if not n else f'파일 {n}개 없음 (missing)'}")
        weights = ("캐시에 있음 (cached)" if download.resnet18_weights_path().is_file() else
                   "캐시에 없음 (not cached): 노트북 03–05 는 받을 수 없으면 EfficientNet-Lite0 을 씁니다")
        print(f"  {download.WEIGHTS:18s} {weights}")
        if missing:
            print(f"빠진 파일 {missing}개: {download_command()} 로 받으세요.")
        return 1 if missing else 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
