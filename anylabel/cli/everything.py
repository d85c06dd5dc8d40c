"""``anylabel everything``: automatic masks of every object in an image, written as LabelMe shapes."""
from __future__ import annotations

import argparse
from pathlib import Path

from anylabel.cli._segmenting import (
    add_model_arguments,
    add_shapes,
    check_image_arg,
    load_cli_segmenter,
    non_negative,
    open_annotation,
    tqdm_progress,
)
from anylabel.errors import AnylabelError

COMMAND = "everything"
HELP = "write automatic masks of every object in an image to a LabelMe JSON"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", help="the image file")
    add_model_arguments(parser)
    parser.add_argument("--output", "-o", required=True, help="LabelMe JSON to append to (created if missing)")
    parser.add_argument("--label", "-l", default="object", help="label of every shape (default: object)")
    parser.add_argument("--mask", action="store_true", help="write mask shapes (RLE) instead of polygons")
    parser.add_argument("--min-area", type=non_negative(int), default=64,
                        help="drop masks with fewer pixels (default 64)")
    parser.add_argument("--max-masks", type=non_negative(int), default=0,
                        help="keep at most this many, largest first (0: all)")
    parser.add_argument("--tolerance", type=non_negative(float), default=1.0,
                        help="polygon simplification in pixels")


def run(args: argparse.Namespace) -> int:
    from anylabel.backends.shapes import candidate_to_shapes
    from anylabel.imaging import load_image

    image_path = check_image_arg(args.image)
    image = load_image(image_path)
    out = Path(args.output)
    open_annotation(out, image_path, image.shape[:2])  # a bad output file fails now, not after the model ran
    segmenter = load_cli_segmenter(args)
    progress, close = tqdm_progress("everything", "batch", leave=False)  # point batches
    try:
        found = segmenter.everything(image, progress=progress)
    finally:
        close()
    candidates = [c for c in found if c.area >= args.min_area]
    if args.max_masks > 0:
        candidates = candidates[: args.max_masks]

    objects = []  # the candidates that gave shapes

    def make_shapes(ann) -> list:
        shapes = []
        objects.clear()
        for cand in candidates:
            part = candidate_to_shapes(cand, args.label, as_mask=args.mask,
                                       existing=ann.shapes + shapes, tolerance=args.tolerance,
                                       min_area=min(16, args.min_area))
            shapes.extend(part)
            if part:
                objects.append(cand)
        if not objects:
            raise AnylabelError(f"model {segmenter.name!r} found no object of at least {args.min_area} px",
                                image_path)
        return shapes

    add_shapes(out, image_path, image.shape[:2], make_shapes)
    added = len(objects)
    print(f"{out}: added {added} objects ({'masks' if args.mask else 'polygons'}) from model {segmenter.name}")
    return 0

