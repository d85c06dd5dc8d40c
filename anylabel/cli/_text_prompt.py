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
                        help="select the automatic mask that best matches TEXT (CLIP) instead of points/boxes "
                             "(with --model sam3: every instance of TEXT, by SAM 3 itself); the label defaults "
                             "to TEXT")
    parser.add_argument("--clip", default=DEFAULT_CLIP, metavar="NAME",
                        help=f"CLIP model of the registry for --text (default {DEFAULT_CLIP})")


def _text_instances(args: argparse.Namespace, segmenter, text: str, image, image_path: Path, out: Path) -> int:
    """Append every instance a text-prompted model (SAM 3) finds for ``text``, each its own group of shapes."""
    from anylabel.backends.shapes import candidate_to_shapes, next_group_id

    found = segmenter.segment_text(text, image)
    if not found:
        raise AnylabelError(f"model {segmenter.name!r} found no instance of {text!r}", image_path)
    label = args.label or text

    def make_shapes(ann) -> list:
        shapes, group = [], next_group_id(ann.shapes)
        for candidate in found:
            parts = candidate_to_shapes(candidate, label, as_mask=args.mask, group_id=group, tolerance=args.tolerance)
            for shape in parts:
                shape.extra["text_prompt"] = {"text": text, "model": segmenter.name, "score": round(candidate.score, 6)}
            shapes += parts
            group += 1 if parts else 0
        return shapes

    add_shapes(out, image_path, image.shape[:2], make_shapes)
    print(f"{out}: added {len(found)} instance(s) of {text!r} as '{label}' (model {segmenter.name})")
    return 0


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
    if hasattr(segmenter, "segment_text"):  # SAM 3 understands text itself: one shape group per instance
        return _text_instances(args, segmenter, text, image, image_path, out)
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
