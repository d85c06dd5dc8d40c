"""What ``anylabel segment`` and ``anylabel everything`` share: model options, loading, the output file."""
from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any, Callable, ContextManager, List, Tuple

from anylabel.cli._device import add_device_argument, cli_device
from anylabel.config import PRECISIONS
from anylabel.errors import AnylabelError


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", "-m", help="registry model name (`anylabel models list`); default: the best "
                        "available model, the classical backend on a fresh machine")
    parser.add_argument("--models", action="append", default=[], metavar="FILE",
                        help="extra models file(s), after the shipped one and $ANYLABEL_MODELS")
    parser.add_argument("--precision", choices=PRECISIONS, default=None,
                        help="SAM / SAM2 arithmetic in torch: float32 (exact) or bfloat16 products (faster on "
                        "CPUs with AMX or AVX512-BF16, close to, not equal to, float32); default: "
                        "$ANYLABEL_PRECISION or auto = the engines measured fastest on this CPU, once "
                        "(torch float32 / bfloat16, ONNX Runtime for SAM), or upstream's choice on a GPU")
    add_device_argument(parser)


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


def stderr_notices() -> ContextManager[None]:
    """One-time work of the engine choice (a probe, an ONNX export) announced on stderr while it runs."""
    from anylabel.backends.engines import notices

    return notices(lambda message: print(f"anylabel: {message}", file=sys.stderr, flush=True))


def load_cli_segmenter(args: argparse.Namespace):
    """The segmenter named by ``--model`` (and ``--models``), with a download progress bar."""
    from anylabel.backends.factory import load_segmenter
    from anylabel.models import ModelRegistry

    registry = ModelRegistry.load(extra_files=args.models)
    progress, close = download_progress()
    try:
        with stderr_notices():
            segmenter = load_segmenter(args.model, registry=registry, progress=progress,
                                       precision=getattr(args, "precision", None), device=cli_device(args))
    finally:
        close()
    if segmenter.device_note:  # it runs elsewhere than asked, or on another runtime: say so
        print(f"{segmenter.name}: on {segmenter.runs_on()}", file=sys.stderr)
    return segmenter


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


def add_shapes(out: Path, image: Path, hw: Tuple[int, int], make_shapes: Callable[[Any], List[Any]]) -> List[Any]:
    """Append ``make_shapes(annotation)`` to the LabelMe file ``out`` as one read-modify-write under the file's
    lock (:mod:`anylabel.filelock`), so a GUI or another command saving the same file meanwhile loses nothing.
    ``make_shapes`` sees the annotation as it is on disk now (for the next group id) and may raise to write
    nothing. Returns the shapes added."""
    from anylabel.filelock import locked
    from anylabel.formats.labelme import save_labelme

    with locked(out):
        ann = open_annotation(out, image, hw)
        shapes = make_shapes(ann)
        ann.shapes.extend(shapes)
        save_labelme(ann, out)
    return shapes


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

