"""chapter5 명령줄 (command line): ``python -m chapter5 <명령>``.

  download   데이터와 가중치를 데이터 루트에 미리 받기 (fetch every dataset and weight file)
  info       데이터 루트와 있는 파일 보기 (show the data root and what is present)
  doctor     설치 점검: 항목마다 [OK]/[FAIL] 과 고치는 방법 (check this setup, with the exact fix)
  progress   연습 문제·퀴즈 진행 상황 보기, --reset 으로 지우기 (show / reset exercise progress)
  results    노트북을 full 모드로 실행해 docs/RESULTS.md 쓰기 (re-run notebooks, write docs/RESULTS.md)
  bench      교과서 루프 vs 코스 루프 속도를 나란히 재기 (side-by-side benchmark → docs/BENCHMARKS.md)
  colab      dist/colab/ 에 Colab 용 단일 파일 노트북 쓰기 (write the self-contained Colab notebooks)
  slides     build/slides/ 에 오프라인 슬라이드 내보내기 (export offline reveal.js slides)
  quizzes    퀴즈 원본(JSON)을 암호화해 연습 모듈에 쓰기 (encode quiz sources into the exercise modules)

The learner-facing commands (download, info, progress) live in the package; the course
tooling (results, bench, colab, slides, quizzes) lives in ``chapter5/tools/`` and is imported only here.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chapter5", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="<명령 command>")
    dl = sub.add_parser("download", help="데이터·가중치 받기 | fetch every dataset and weight file into the data root")
    dl.add_argument("--root", type=Path, help="데이터 루트 | data root (default: $CHAPTER5_DATA or ./data)")
    sub.add_parser("info", help="데이터 루트 보기 | show the data root and what is present")
    dr = sub.add_parser("doctor", help="설치 점검 | check this setup: [OK]/[FAIL] with the exact fix")
    dr.add_argument("--quick", action="store_true", help="크기만 확인 | sizes instead of checksums")
    pr = sub.add_parser("progress", help="진행 상황 | show exercise and quiz progress")
    pr.add_argument("--reset", action="store_true", help="진행 기록 지우기 | delete the progress file")
    rs = sub.add_parser("results", help="full 모드 실행, docs/RESULTS.md | re-run notebooks in full mode")
    rs.add_argument("notebooks", nargs="*", type=Path)
    rs.add_argument("--no-save", action="store_true", help="do not write outputs back into the notebooks")
    bn = sub.add_parser("bench", help="속도 비교 | benchmark the textbook's loop against the course's (docs/BENCHMARKS.md)")
    bn.add_argument("--tiny", action="store_true", help="작은 부분 데이터 | small subsets, seconds")
    bn.add_argument("--class-mode", action="store_true", help="노트북마다 class mode 시간도 재기 | also time class mode")
    bn.add_argument("--full-course", action="store_true",
                    help="노트북마다 full 모드 시간·메모리도 재기 (출력 저장 안 함) | also run every notebook in full mode")
    bn.add_argument("--out", type=Path, help="output folder (default docs/)")
    sub.add_parser("colab", help="Colab 노트북 만들기 | write the self-contained Colab notebooks into dist/colab/")
    sl = sub.add_parser("slides", help="슬라이드 내보내기 | export offline reveal.js slides into build/slides/")
    sl.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/NN_*.ipynb")
    sl.add_argument("--out", type=Path, help="output folder (default: build/slides)")
    sl.add_argument("--vendor-only", action="store_true",
                    help="only fetch reveal.js & co. from npm into <out>/_static")
    sl.add_argument("--check", action="store_true",
                    help="1280×720 에 맞는지 검사 | check every slide fits 1280×720 (headless Chromium)")
    sub.add_parser("quizzes", help="퀴즈 인코딩 | encode chapter5/tools/quizzes/*.json into the exercise modules")
    return parser


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
                          + (["--out", str(args.out)] if args.out else []))

    if args.cmd == "quizzes":
        from .tools import quizzes

        for name, status in quizzes.write_all():
            print(f"  {name:24s} {status}")
        return 0

    if args.cmd == "slides":
        from .tools import slides

        out = args.out or slides.OUT
        try:
            if args.vendor_only:
                print(f"offline slide libraries: {slides.vendor(out / slides.STATIC)}")
            elif args.check:
                text, ok = slides.check_report(slides.check(args.notebooks or None, out))
                print(text)
                return 0 if ok else 1
            else:
                slides.export(args.notebooks or None, out)
                print(f"open {out / 'index.html'} in a browser (works offline)")
        except slides.SlidesUnavailable as err:
            print(f"slides: {err}")
            return 1
        return 0

    if args.cmd == "colab":
        from .tools import colab

        for name, status in colab.write_all():
            print(f"  dist/colab/{name:32s} {status}")
        return 0

    from . import download
    from .config import data_root

    if args.cmd == "download":
        if args.root:
            os.environ["CHAPTER5_DATA"] = str(args.root.resolve())
        root = data_root()
        print(f"data root: {root}")
        report = download.download_all(root)
        for name, status in report.items():
            print(f"  {name:18s} {status}")
        failed = [n for n, s in report.items() if s.startswith("FAILED") and n != "resnet18 weights"]
        return 1 if failed else 0
    if args.cmd == "info":
        root = data_root()
        print(f"data root: {root}")
        for group in download.GROUPS:
            miss = download.missing(group, root)
            print(f"  {group:18s} {'ok' if not miss else f'{len(miss)} file(s) missing'}")
        print(f"  {'resnet18 weights':18s} {'cached' if download.resnet18_weights_path().is_file() else 'not cached'}")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
