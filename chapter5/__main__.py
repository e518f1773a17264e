"""Command line: ``python -m chapter5 download`` prefetches everything the course needs."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chapter5", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    dl = sub.add_parser("download", help="fetch every dataset and weight file into the data root")
    dl.add_argument("--root", type=Path, help="data root (default: $CHAPTER5_DATA or ./data)")
    sub.add_parser("info", help="show the data root and what is present")
    sub.add_parser("colab", help="write the self-contained Colab notebooks into dist/colab/")
    sl = sub.add_parser("slides", help="export offline reveal.js slides into build/slides/")
    sl.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/NN_*.ipynb")
    sl.add_argument("--out", type=Path, help="output folder (default: build/slides)")
    sl.add_argument("--vendor-only", action="store_true",
                    help="only fetch reveal.js & co. from npm into <out>/_static")
    args = parser.parse_args(argv)

    if args.cmd == "slides":
        from . import slides

        out = args.out or slides.OUT
        try:
            if args.vendor_only:
                print(f"offline slide libraries: {slides.vendor(out / slides.STATIC)}")
            else:
                slides.export(args.notebooks or None, out)
                print(f"open {out / 'index.html'} in a browser (works offline)")
        except slides.SlidesUnavailable as err:
            print(f"slides: {err}")
            return 1
        return 0

    if args.cmd == "colab":
        from . import colab

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
