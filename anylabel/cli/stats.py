"""``anylabel stats DIR``: instances per class and per image of a LabelMe folder (the GUI's statistics view
shows the same numbers: both call :func:`anylabel.formats.stats.folder_stats`)."""
from __future__ import annotations

import argparse
import sys

COMMAND = "stats"
HELP = "print instances per class and per image of a folder of LabelMe JSON"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", help="folder of LabelMe JSON files (searched recursively)")
    parser.add_argument("--per-image", action="store_true", help="also list the instance count of every image")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON instead of a table")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from anylabel.cli.export import progress_bar
    from anylabel.errors import AnylabelError
    from anylabel.fileio import json_text
    from anylabel.formats.base import Options
    from anylabel.formats.stats import folder_stats

    progress, close = progress_bar(args.quiet)
    try:
        stats, report = folder_stats(args.dir, Options(progress=progress))
    finally:
        close()
    if not stats.images:  # a wrong folder, or nothing readable in it: say so instead of a table of zeros
        for w in report.warnings:
            print(f"warning: {w}", file=sys.stderr)
        found = f"{len(report.warnings)} JSON file(s), none readable" if report.warnings else "no JSON files"
        raise AnylabelError(f"no LabelMe annotation to count ({found})", args.dir)
    if args.json:  # json_text: file names that are not UTF-8 stay valid JSON
        print(json_text({"images": stats.images, "instances": stats.instances, "per_class": stats.per_class,
                          "images_per_class": stats.images_per_class,
                          "area_per_class": stats.area_per_class, "per_image": stats.per_image,
                          "shape_types": stats.shape_types, "ignored": stats.ignored, "checked": stats.checked,
                          "warnings": [str(w) for w in report.warnings]}), end="")
        return 0
    print(stats.table())
    if args.per_image:
        print("\nimage  instances")
        for name, n in stats.per_image.items():
            print(f"{name}  {n}")
    for w in report.warnings:
        print(f"warning: {w}")
    return 0
