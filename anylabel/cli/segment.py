"""``anylabel segment``: prompt a model with points and boxes, append the answer to a LabelMe file."""
from __future__ import annotations

import argparse
from pathlib import Path

from anylabel.cli._segmenting import (
    add_model_arguments,
    add_shapes,
    check_image_arg,
    load_cli_segmenter,
    non_negative,
    parse_numbers,
)
from anylabel.cli._text_prompt import add_text_arguments
from anylabel.errors import AnylabelError

COMMAND = "segment"
HELP = "segment one object from points/boxes and append it to a LabelMe JSON"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", help="the image file")
    add_model_arguments(parser)
    parser.add_argument("--point", "-p", action="append", default=[], metavar="X,Y[,1|0]",
                        help="a click in image pixels; 1 (default) = on the object, 0 = not the object")
    parser.add_argument("--box", "-b", metavar="X1,Y1,X2,Y2", help="a box around the object")
    parser.add_argument("--neg-box", action="append", default=[], metavar="X1,Y1,X2,Y2",
                        help="an area to exclude from the object (repeatable)")
    parser.add_argument("--label", "-l", help="the shape's label (required, except with --text: default TEXT)")
    parser.add_argument("--output", "-o", required=True, help="LabelMe JSON to append to (created if missing)")
    parser.add_argument("--mask", action="store_true", help="write a mask shape (RLE, holes kept) instead of "
                        "polygons")
    parser.add_argument("--candidate", type=int, default=0, help="which of the (up to 3) candidates, best "
                        "first (default 0)")
    parser.add_argument("--tolerance", type=non_negative(float), default=1.0, help="polygon simplification in pixels")
    add_text_arguments(parser)  # --text / --clip: CLIP picks the everything mask (anylabel.classify)


def run(args: argparse.Namespace) -> int:
    from anylabel.backends.prompt import Prompt
    from anylabel.backends.shapes import candidate_to_shapes
    image = check_image_arg(args.image)
    if args.text is not None:
        from anylabel.cli._text_prompt import run_text_prompt

        return run_text_prompt(args, image)
    if not args.label:
        raise AnylabelError("--label is required (unless --text chooses the object)")
    positive, negative = [], []
    for text in args.point:
        v = parse_numbers(text, [2, 3], "--point")
        if len(v) == 3 and v[2] not in (0.0, 1.0):
            raise AnylabelError(f"--point {text!r}: the third number must be 1 (object) or 0 (not the object)")
        (positive if len(v) == 2 or v[2] == 1.0 else negative).append((v[0], v[1]))
    box = tuple(parse_numbers(args.box, [4], "--box")) if args.box else None
    neg_boxes = [tuple(parse_numbers(b, [4], "--neg-box")) for b in args.neg_box]
    prompt = Prompt.from_clicks(positive, negative, box=box, negative_boxes=neg_boxes)
    if prompt.is_empty():
        raise AnylabelError("nothing to segment: give at least one positive --point or a --box")

    out = Path(args.output)
    segmenter = load_cli_segmenter(args)
    segmenter.set_image_path(image)
    candidates = segmenter.predict(prompt)
    if not candidates:
        raise AnylabelError(f"model {segmenter.name!r} found no object for this prompt", image)
    if not 0 <= args.candidate < len(candidates):
        raise AnylabelError(f"--candidate {args.candidate}: the model gave {len(candidates)} candidate(s)")
    chosen = candidates[args.candidate]
    hw = chosen.mask.shape

    def make_shapes(ann) -> list:
        shapes = candidate_to_shapes(chosen, args.label, as_mask=args.mask, existing=ann.shapes,
                                     tolerance=args.tolerance)
        if not shapes and chosen.area:
            raise AnylabelError(f"model {segmenter.name!r} found an object of only {chosen.area} pixel(s), too "
                                "small for a polygon; --mask keeps it as a mask shape", image)
        if not shapes:
            raise AnylabelError(f"model {segmenter.name!r} returned an empty mask for this prompt", image)
        return shapes

    shapes = add_shapes(out, image, hw, make_shapes)
    kind = "mask" if args.mask else f"polygon{'s' if len(shapes) > 1 else ''}"
    print(f"{out}: added {len(shapes)} {kind} '{args.label}' ({chosen.area} px, score {chosen.score:.3f}, "
          f"model {segmenter.name})")
    return 0
