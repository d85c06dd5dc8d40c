"""``anylabel export DIR --format coco|yolo-seg|yolo-det|mot|labelme -o OUT``: a LabelMe folder to a dataset."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional

COMMAND = "export"
HELP = "export a folder of LabelMe JSON to COCO, YOLO (seg/det), MOT or LabelMe"
EXPORT_FORMATS = ("coco", "yolo-seg", "yolo-det", "mot", "labelme")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", help="folder of LabelMe JSON files (searched recursively)")
    parser.add_argument("--format", "-f", required=True, choices=EXPORT_FORMATS, help="output format")
    parser.add_argument("-o", "--output", required=True, help="output folder (created; must be empty)")
    parser.add_argument("--labels", metavar="FILE",
                        help="class list, one per line, labelme's labels.txt style (__ignore__, _background_); "
                        "other labels are left out with a warning. Default: all labels, sorted")
    parser.add_argument("--split", type=float, metavar="FRACTION",
                        help="YOLO: fraction of images in train (e.g. 0.8), the rest in val")
    parser.add_argument("--seed", type=int, default=0, help="seed of the reproducible train/val split (default 0)")
    parser.add_argument("--link", nargs="?", const="hardlink", choices=("hardlink", "symlink"),
                        help="link the images instead of copying them (hard links by default, falling back to "
                        "copies across file systems)")
    parser.add_argument("--overwrite", action="store_true",
                        help="write into a folder holding a previous export, removing its stale files")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def progress_bar(quiet: bool) -> tuple:
    """(progress callback, close function): one tqdm bar per stage ("reading", "writing") on stderr."""
    if quiet:
        return None, lambda: None
    from tqdm import tqdm

    state = {"bar": None, "stage": None}

    def progress(done: int, total: int, stage: str) -> None:
        if state["stage"] != stage:
            if state["bar"] is not None:
                state["bar"].close()
            state["bar"] = tqdm(total=total, desc=stage, unit="file", file=sys.stderr, dynamic_ncols=True)
            state["stage"] = stage
        bar = state["bar"]
        bar.total = total
        bar.update(done - bar.n)

    def close() -> None:
        if state["bar"] is not None:
            state["bar"].close()

    return progress, close


def print_report(report, out: Optional[Path] = None) -> None:
    """The summary lines on stdout: counts, classes and warnings."""
    print(report.summary())
    if report.classes:
        shown = ", ".join(report.classes[:30]) + (" ..." if len(report.classes) > 30 else "")
        print(f"classes: {shown}")
    if out is not None:
        print(f"written to {out}")


def run(args: argparse.Namespace) -> int:
    from anylabel.formats.base import Options
    from anylabel.formats.labels import read_labels_file
    from anylabel.formats.registry import export_folder

    labels = read_labels_file(args.labels) if args.labels else None
    progress, close = progress_bar(args.quiet)
    options = Options(labels=labels, labels_file=Path(args.labels) if args.labels else None, split=args.split,
                      seed=args.seed, image_mode=args.link or "copy", overwrite=args.overwrite, progress=progress)
    try:
        report = export_folder(args.dir, args.format, args.output, options)
    finally:
        close()
    print_report(report, Path(args.output))
    return 0 if report.images or not report.skipped_images else 1
