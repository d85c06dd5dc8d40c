"""What every dataset format shares: items, options, the report, progress and cancel.

* An :class:`Item` is one annotated image on its way through a reader or a writer: the
  :class:`~anylabel.document.ImageAnnotation`, the image file it describes and the file it came from
  (used to name the file in warnings).
* :class:`Options` carries everything a format may need (labels file, split, image placement) plus the
  progress callback and the cancel flag, so the CLI (tqdm) and the GUI (a Qt thread) drive the same core.
* :class:`Report` counts what was written (images, instances, classes) and collects warnings; each warning
  names the file and, when it concerns one shape, the shape's index in that file. Hostile input becomes a
  warning and the offending shape or image is left out; it never becomes a silently wrong output file.
"""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from anylabel.document import ImageAnnotation
from anylabel.errors import AnylabelError, CancelledError

PathLike = Union[str, Path]
#: progress(done, total, stage) is called after each unit of work (a file); ``stage`` is "reading" or
#: "writing", so a caller can show one bar per stage.
ProgressFn = Callable[[int, int, str], None]

#: how images reach the output folder: copied, hard-linked (falls back to a copy across file systems),
#: symlinked, or left where they are and referenced by a relative path (import to LabelMe only).
IMAGE_MODES = ("copy", "hardlink", "symlink", "reference")


@dataclass
class Item:
    """One image and its annotation.

    Attributes:
        annotation: the document; coordinates are image pixels (x right, y down).
        image: the image file on disk, or ``None`` when it is only embedded (``annotation.image_data``) or
            missing.
        source: the file the annotation was read from (LabelMe JSON, COCO JSON, YOLO label file).
        name: how warnings name this item (a JSON path relative to the folder read, or
            ``annotations.json: image.jpg``); defaults to ``source``.
        shape_ids: ``shape_ids[i]`` is the index in the source file of ``annotation.shapes[i]``, when the
            reader left broken shapes out (so later warnings still name the right shape).
        prepared: the writer's per-image work, done by the reading worker already
            (:mod:`anylabel.formats.prepare`); its shapes are then not shipped back (``annotation.shapes``
            is empty) and the writer uses this instead.
    """

    annotation: ImageAnnotation
    image: Optional[Path]
    source: Path
    name: str = ""
    shape_ids: Optional[List[int]] = None
    prepared: Optional[object] = None

    @property
    def label(self) -> str:
        """The name used in warnings."""
        return self.name or self.source.as_posix()

    def __iter__(self):  # ``ann, image = item`` reads like the registry's (annotation, image source) pairs
        return iter((self.annotation, self.image))


@dataclass(frozen=True)
class FormatWarning:
    """A problem found in the input that changed the output (a shape or image left out, clipped, ...).

    Attributes:
        file: the input file concerned.
        shape: the index of the shape in that file's ``shapes`` (or annotation/line index for COCO/YOLO
            input), ``None`` when the whole file is concerned.
        kind: a short stable code (``too_few_points``, ``zero_area``, ``clipped``, ``missing_image``,
            ``unknown_label``, ``duplicate_name``, ``not_labelme``, ``non_ascii``, ...) for grouping.
        message: the sentence shown to the user.
    """

    file: str
    shape: Optional[int]
    kind: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.shape is None else f"{self.file} shape {self.shape}"
        return f"{where}: {self.message}"


@dataclass
class Report:
    """The summary of a read or a write.

    Attributes:
        images: images written (or read).
        instances: instances written; parts sharing a group_id count once.
        classes: the class names of the output, in id order.
        warnings: every problem, in input order.
        skipped_images: images left out entirely (each also has a warning).
        files: output files written, relative to the output folder.
    """

    format: str = ""
    images: int = 0
    instances: int = 0
    classes: List[str] = field(default_factory=list)
    warnings: List[FormatWarning] = field(default_factory=list)
    skipped_images: int = 0
    files: List[str] = field(default_factory=list)

    def warn(self, file: PathLike, shape: Optional[int], kind: str, message: str) -> None:
        """Record a warning about ``file`` (and shape index ``shape`` when it concerns one shape).

        A file name that is not UTF-8 (a lone surrogate in Python) is shown escaped (``caf\\xe9.jpg``), so
        every warning can be printed, logged and written to JSON.
        """
        self.warnings.append(FormatWarning(printable(str(file)), shape, kind, printable(message)))

    def warning_counts(self) -> Dict[str, int]:
        """How many warnings of each kind, most frequent first."""
        return dict(Counter(w.kind for w in self.warnings).most_common())

    def summary(self, max_warnings: int = 20) -> str:
        """A few human-readable lines: counts, then warnings (the first ``max_warnings``)."""
        lines = [
            f"{self.format or 'dataset'}: {self.images} images, {self.instances} instances, "
            f"{len(self.classes)} classes written"
            + (f", {self.skipped_images} images skipped" if self.skipped_images else "")
        ]
        if self.warnings:
            counts = ", ".join(f"{k}: {n}" for k, n in self.warning_counts().items())
            n = len(self.warnings)
            lines.append(f"{n} warning{'s' if n != 1 else ''} ({counts})")
            lines += [f"  warning: {w}" for w in self.warnings[:max_warnings]]
            if len(self.warnings) > max_warnings:
                lines.append(f"  ... and {len(self.warnings) - max_warnings} more")
        return "\n".join(lines)


class NothingWrittenError(AnylabelError):
    """An export or import produced nothing from a non-empty input; ``report`` holds every reason."""

    def __init__(self, report: "Report", path: Optional[PathLike] = None) -> None:
        self.report = report
        counts = ", ".join(f"{k}: {n}" for k, n in report.warning_counts().items()) or "no reason recorded"
        lines = [f"nothing was written: every input was left out ({counts})"]
        lines += [f"  {w}" for w in report.warnings[:10]]
        if len(report.warnings) > 10:
            lines.append(f"  ... and {len(report.warnings) - 10} more")
        super().__init__("\n".join(lines), path)


@dataclass
class Options:
    """Options for readers and writers; a format ignores those that do not concern it.

    Attributes:
        labels: the class names in id order (see :mod:`anylabel.formats.labels`); ``None`` discovers them.
        labels_file: where ``labels`` came from (named in warnings).
        split: fraction of images in the train set (YOLO); ``None`` puts every image in train and makes
            val point at the same images.
        seed: the seed of the reproducible train/val shuffle.
        image_mode: one of :data:`IMAGE_MODES`.
        images_dir: for import: the folder the dataset's images are in.
        overwrite: replace a previous export in the output folder: only the files its manifest records
            (and that were not changed since) are removed.
        lock_wait: seconds to wait for another process writing the same output folder (0: stop at once).
        keep_corrupt: export images whose pixels do not decode (truncated, corrupt) instead of leaving them
            out (a warning either way).
        allow_outside: follow an ``imagePath`` (or COCO ``file_name``) that leads outside the input folder.
        image_roots: export: further folders the images may come from, besides the input folder (the
            folder the user's own annotations point into, e.g. the images of ``anylabel --output DIR`` or of
            a reference-mode import); narrower than ``allow_outside``.
        min_area_rect: rotated-box formats (yolo-obb, dota): export polygons, rectangles, circles and masks as
            their minimum-area rotated rectangles too (otherwise only ``rotation`` shapes are rotated boxes).
        workers: processes for the per-file work of an export (see :mod:`anylabel.formats.parallel`);
            ``None``: ``$ANYLABEL_WORKERS``, else every usable core; ``1``: this process only.
        progress: called as ``progress(done, total, stage)``.
        cancel: set it (from any thread) to stop; the operation raises :class:`CancelledError`.
    """

    labels: Optional[Sequence[str]] = None
    labels_file: Optional[Path] = None
    split: Optional[float] = None
    seed: int = 0
    image_mode: str = "copy"
    images_dir: Optional[Path] = None
    overwrite: bool = False
    lock_wait: float = 0.0
    keep_corrupt: bool = False
    allow_outside: bool = False
    image_roots: Tuple[Path, ...] = ()
    workers: Optional[int] = None
    min_area_rect: bool = False
    progress: Optional[ProgressFn] = None
    cancel: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        if self.image_mode not in IMAGE_MODES:
            raise AnylabelError(f"unknown image mode {self.image_mode!r}; expected one of {IMAGE_MODES}")
        if self.split is not None and not 0.0 < float(self.split) <= 1.0:
            raise AnylabelError(f"--split must be in (0, 1], got {self.split}")

    def tick(self, done: int, total: int, stage: str) -> None:
        """Report progress and stop if cancelled (raises :class:`CancelledError`)."""
        if self.cancel.is_set():
            raise CancelledError("cancelled by the user")
        if self.progress is not None:
            self.progress(done, total, stage)


def printable(text: str) -> str:
    """``text`` with lone surrogates (undecodable bytes of a file name, ``os.fsdecode``'s ``'caf\\udce9.jpg'``)
    spelled out as ``\\xNN`` escapes (``caf\\xe9.jpg``), so a terminal or a widget shows which file it is; a
    surrogate that is not an escaped byte becomes ``\\udNNN``."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that is not an escaped byte
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def display_path(path: PathLike, root: Optional[Path] = None) -> str:
    """``path`` relative to ``root`` when inside it (short warnings), else as given; ``/`` separators."""
    p = Path(path)
    if root is not None:
        try:
            return p.relative_to(root).as_posix()
        except ValueError:
            pass
    return p.as_posix()
