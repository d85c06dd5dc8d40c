"""``anylabel import PATH --format FORMAT -o DIR [--images DIR]``: a dataset to LabelMe JSON (the registry's
importable formats)."""
from __future__ import annotations

import argparse
from pathlib import Path

from anylabel.cli.export import add_common_output_arguments

COMMAND = "import"
HELP = "import a COCO, YOLO (seg/det/obb), VOC, masks, DOTA or CVAT dataset as LabelMe JSON files"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="COCO: annotations.json (or its folder); YOLO: data.yaml (or its folder), "
                        "or a folder of label files with --images")
    from anylabel.formats.registry import import_format_names

    parser.add_argument("--format", "-f", required=True, choices=import_format_names(), help="input format")
    parser.add_argument("-o", "--output", required=True, help="folder for the LabelMe JSON files")
    parser.add_argument("--images", metavar="DIR", help="folder of the dataset's images (default: found beside "
                        "the annotations)")
    parser.add_argument("--labels", metavar="FILE", help="YOLO without data.yaml: class names, one per line; "
                        "also filters the imported labels")
    parser.add_argument("--copy-images", action="store_true",
                        help="copy the images next to the JSON files (default: imagePath points at them)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a previous import in the output folder (only the files it recorded as its "
                        "own; files added or changed since are kept)")
    parser.add_argument("--allow-outside", action="store_true",
                        help="COCO: follow a file_name that leads outside the images folder (absolute or ../)")
    add_common_output_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from anylabel.cli.export import print_report, progress_bar, run_writing
    from anylabel.formats.base import Options
    from anylabel.formats.labels import read_labels_file
    from anylabel.formats.registry import import_dataset

    labels = read_labels_file(args.labels) if args.labels else None
    progress, close = progress_bar(args.quiet)
    options = Options(labels=labels, images_dir=Path(args.images) if args.images else None,
                      image_mode="copy" if args.copy_images else "reference", overwrite=args.overwrite,
                      progress=progress, lock_wait=args.wait, allow_outside=args.allow_outside)
    try:
        report = run_writing(lambda: import_dataset(args.path, args.format, args.output, options))
    finally:
        close()
    print_report(report, Path(args.output))
    return 0  # partial success: the warnings say what was left out; nothing written raises (exit 2)
