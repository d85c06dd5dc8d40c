"""What ``anylabel segment`` and ``anylabel everything`` share: model options, loading, the output file."""
from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any, Callable, List, Tuple

from anylabel.config import PRECISIONS
from anylabel.errors import AnylabelError


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", "-m", help="registry model name (`anylabel models list`); default: the best "
                        "available model, the classical backend on a fresh machine")
    parser.add_argument("--models", action="append", default=[], metavar="FILE",
                        help="extra models file(s), after the shipped one and $ANYLABEL_MODELS")
    parser.add_argument("--precision", choices=PRECISIONS, default=None,
                        help="SAM / SAM2 arithmetic: bfloat16 products are several times faster on CPUs with "
                        "AMX and close to, not equal to, float32 (default: $ANYLABEL_PRECISION or auto = "
                        "bfloat16 where the CPU has AMX)")


def tqdm_progress(desc: str, unit: str, **options: Any) -> Tuple[Callable[[int, int], bool], Callable[[], None]]:
    """A ``progress(done, total)`` callback drawing a tqdm bar on stderr (``total`` 0 = unknown, filled in
    when it becomes known), and a function closing it. The callback answers True: go on."""
    state: dict = {}

    def progress(done: int, total: int) -> bool:
        if "bar" not in state:
            from tqdm import tqdm

            state["bar"] = tqdm(total=total or None, desc=desc, unit=unit, file=sys.stderr, **options)
        bar = state["bar"]
        if total and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)
        return True

    def close() -> None:
        if "bar" in state:
            state["bar"].close()

    return progress, close


def download_progress() -> Tuple[Callable[[int, int], bool], Callable[[], None]]:
    """The model download's progress bar (bytes)."""
    return tqdm_progress("model", "B", unit_scale=True)


def load_cli_segmenter(args: argparse.Namespace):
    """The segmenter named by ``--model`` (and ``--models``), with a download progress bar."""
    from anylabel.backends.factory import load_segmenter
    from anylabel.models import ModelRegistry

    registry = ModelRegistry.load(extra_files=args.models)
    progress, close = download_progress()
    try:
        return load_segmenter(args.model, registry=registry, progress=progress,
                              precision=getattr(args, "precision", None))
    finally:
        close()


def open_annotation(out: Path, image: Path, hw: Tuple[int, int]):
    """The LabelMe annotation at ``out`` (loaded, or a new one for ``image``); checks the image size."""
    from anylabel.document.shape import ImageAnnotation
    from anylabel.formats.labelme import load_labelme

    if out.exists():
        ann = load_labelme(out)
        if (ann.image_height, ann.image_width) != tuple(hw):
            raise AnylabelError(f"the file is for an image of {ann.image_width}x{ann.image_height}, "
                                f"but {image} is {hw[1]}x{hw[0]}", out)
        return ann
    rel = os.path.relpath(image.resolve(), out.resolve().parent)
    return ImageAnnotation(image_path=Path(rel).as_posix(), image_height=int(hw[0]), image_width=int(hw[1]))


def parse_numbers(text: str, counts: List[int], what: str) -> List[float]:
    """``"1,2,3"`` as floats, requiring one of ``counts`` values (AnylabelError naming ``what``)."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError as e:
        raise AnylabelError(f"{what} {text!r}: expected comma-separated numbers") from e
    if not all(math.isfinite(v) for v in values):
        raise AnylabelError(f"{what} {text!r}: expected finite numbers")
    if len(values) not in counts:
        raise AnylabelError(f"{what} {text!r}: expected {' or '.join(map(str, counts))} numbers")
    return values


def non_negative(kind: type = float) -> Callable[[str], Any]:
    """An argparse ``type`` accepting finite numbers >= 0 of ``kind`` (``--tolerance inf`` reached OpenCV as a
    traceback, negative values were taken silently)."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from e
        if not math.isfinite(value) or value < 0:
            raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


def check_image_arg(image: str) -> Path:
    path = Path(image)
    if not path.is_file():
        raise AnylabelError("no such image file", path)
    return path

