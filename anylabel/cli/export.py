"""``anylabel export DIR --format FORMAT -o OUT``: a LabelMe folder to a dataset (every format of the registry)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional

COMMAND = "export"
HELP = "export a folder of LabelMe JSON to COCO, YOLO (seg/det/obb), VOC, masks, DOTA, CVAT, MOT or LabelMe"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", help="folder of LabelMe JSON files (searched recursively)")
    from anylabel.formats.registry import export_format_names, export_options, formats_with

    parser.add_argument("--format", "-f", required=True, choices=export_format_names(), help="output format")
    parser.add_argument("-o", "--output", required=True, help="output folder: new, empty, or a previous export "
                        "(with --overwrite); never the input folder, inside it or around it")
    parser.add_argument("--labels", metavar="FILE",
                        help="class list, one per line, labelme's labels.txt style (__ignore__, _background_); "
                        "other labels are left out with a warning. Default: all labels, sorted")
    parser.add_argument("--split", type=float, metavar="FRACTION",
                        help="YOLO: fraction of images in train (e.g. 0.8), the rest in val")
    parser.add_argument("--seed", type=int, default=0, help="seed of the reproducible train/val split (default 0)")
    for opt in export_options():  # the registry's table: the export dialog offers the same
        parser.add_argument(opt.flag, dest=opt.field, action="store_true",
                            help=f"{' / '.join(formats_with(opt))}: {opt.help}")
    parser.add_argument("--link", nargs="?", const="hardlink", choices=("hardlink", "symlink"),
                        help="link the images instead of copying them (hard links by default, falling back to "
                        "copies across file systems)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a previous export in the output folder: only the files it recorded as its "
                        "own are removed (files added or changed since are kept); the swap happens at the end, "
                        "so a failure leaves the previous export as it was")
    parser.add_argument("--keep-corrupt", action="store_true",
                        help="export images whose pixels do not decode (truncated, corrupt) instead of leaving "
                        "them out (a warning either way)")
    parser.add_argument("--images", action="append", default=[], metavar="DIR",
                        help="also read images from DIR when an imagePath leads outside the input folder (the "
                        "images of `anylabel --output`, or of a reference-mode import); repeatable")
    parser.add_argument("--allow-outside", action="store_true",
                        help="follow an imagePath that leads outside the input folder (absolute or ../) wherever "
                        "it leads")
    add_common_output_arguments(parser)


def add_common_output_arguments(parser: argparse.ArgumentParser) -> None:
    """--wait and --quiet, shared with ``anylabel import``."""
    parser.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                        help="when another process is writing the output folder, wait up to SECONDS for it "
                        "(default: stop at once with a message naming it)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def run_writing(write):
    """Run ``write()`` (an export or import) with the CLI's hint on a non-empty output folder; the report."""
    from anylabel.errors import AnylabelError
    from anylabel.formats.output import OutputNotEmptyError

    try:
        return write()
    except OutputNotEmptyError as e:
        raise AnylabelError(f"{e.reason}: add --overwrite to replace a previous export there, or choose an "
                            "empty folder", e.path) from e


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
        from anylabel.formats.base import printable

        print(f"written to {printable(str(out))}")


def run(args: argparse.Namespace) -> int:
    from anylabel.formats.base import Options
    from anylabel.formats.labels import read_labels_file
    from anylabel.formats.registry import export_folder, export_options

    labels = read_labels_file(args.labels) if args.labels else None
    progress, close = progress_bar(args.quiet)
    options = Options(labels=labels, labels_file=Path(args.labels) if args.labels else None, split=args.split,
                      seed=args.seed, image_mode=args.link or "copy", overwrite=args.overwrite, progress=progress,
                      lock_wait=args.wait, keep_corrupt=args.keep_corrupt, allow_outside=args.allow_outside,
                      image_roots=tuple(Path(d) for d in args.images),
                      **{opt.field: getattr(args, opt.field) for opt in export_options()})
    try:
        report = run_writing(lambda: export_folder(args.dir, args.format, args.output, options))
    finally:
        close()
    print_report(report, Path(args.output))
    return 0  # partial success: the warnings say what was left out; nothing written raises (exit 2)
