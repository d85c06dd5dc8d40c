"""``anylabel segment IMAGE --text "red car"``: the everything mask that best matches a text (CLIP).

FastSAM's text prompt on any backend: the segmenter's automatic masks are embedded with CLIP
(:class:`anylabel.classify.TextFinder`: neutralised crops, masks under 100 px skipped) and the mask most
similar to the text is appended to the LabelMe file, with the match recorded in the shape's
``text_prompt`` key (text, CLIP model, cosine similarity, probability among the candidates).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from anylabel.cli._device import cli_device
from anylabel.cli._segmenting import add_shapes, download_progress, load_cli_segmenter, open_annotation
from anylabel.errors import AnylabelError

DEFAULT_CLIP = "clip_vit_b32"


def add_text_arguments(parser: argparse.ArgumentParser) -> None:
    """``--text`` and ``--clip`` for ``anylabel segment``."""
    parser.add_argument("--text", "-t", metavar="TEXT",
                        help="select the automatic mask that best matches TEXT (CLIP) instead of points/boxes; "
                             "the label defaults to TEXT")
    parser.add_argument("--clip", default=DEFAULT_CLIP, metavar="NAME",
                        help=f"CLIP model of the registry for --text (default {DEFAULT_CLIP})")


def run_text_prompt(args: argparse.Namespace, image_path: Path) -> int:
    """Append the best-matching everything mask for ``args.text`` to ``args.output``; the exit code."""
    from anylabel.backends.shapes import candidate_to_shapes
    from anylabel.classify import MaskClassifier, TextFinder, load_clip
    from anylabel.imaging import load_image
    from anylabel.models import ModelRegistry

    text = " ".join(str(args.text).split())
    if not text:
        raise AnylabelError("--text is empty")
    if args.point or args.box or args.neg_box:
        raise AnylabelError("--text chooses among the automatic masks; it cannot be combined with --point/--box")
    image = load_image(image_path)
    out = Path(args.output)
    open_annotation(out, image_path, image.shape[:2])  # a bad output file fails now, not after the model ran
    segmenter = load_cli_segmenter(args)
    candidates = segmenter.everything(image)
    progress, close = download_progress()
    try:
        clip = load_clip(args.clip, registry=ModelRegistry.load(extra_files=args.models), progress=progress,
                         device=cli_device(args))
    finally:
        close()
    finder = TextFinder(MaskClassifier(clip))
    finder.set_masks(image, [c.mask for c in candidates])
    matches = finder.find(text, top_k=args.candidate + 1)
    if not matches:
        raise AnylabelError(f"model {segmenter.name!r} found no object of at least {finder.min_area} px "
                            f"to match {text!r}", image_path)
    if args.candidate >= len(matches):
        raise AnylabelError(f"--candidate {args.candidate}: only {len(matches)} mask(s) to choose from")
    match = matches[args.candidate]
    chosen = candidates[match.index]
    label = args.label or text
    record = {"text": text, "clip": args.clip, "similarity": round(match.similarity, 6),
              "probability": round(match.probability, 6), "candidates": finder.candidates}

    def make_shapes(ann) -> list:
        shapes = candidate_to_shapes(chosen, label, as_mask=args.mask, existing=ann.shapes,
                                     tolerance=args.tolerance)
        if not shapes:
            raise AnylabelError(f"the mask matching {text!r} has no polygon of at least 16 px", image_path)
        for shape in shapes:
            shape.extra["text_prompt"] = dict(record)
        return shapes

    add_shapes(out, image_path, image.shape[:2], make_shapes)
    print(f"{out}: added '{label}' ({chosen.area} px): mask {match.index + 1} of {len(candidates)} "
          f"matches {text!r} best (similarity {match.similarity:.3f}, probability {match.probability:.3f}; "
          f"models {segmenter.name} + {args.clip})")
    return 0
