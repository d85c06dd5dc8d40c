"""Tracking results to annotation files: one LabelMe JSON per frame, merged with what is already there.

Each :class:`~anylabel.tracking.session.FrameResult` replaces, in its frame's annotation, the shapes whose
``track_id`` it carries, and leaves every other shape alone (manual shapes, objects tracked earlier,
objects the tracker no longer knows after a reset). So results can arrive in any order, a correction
re-propagation overwrites only its object, and nothing confirmed is ever lost.

Shapes: an object's mask becomes one polygon per connected part (``mask_to_polygons``), labelled with the
object's label, ``track_id`` = object id, ``score`` = visibility probability. Parts of a multi-part mask
share ``group_id = track_id`` so the COCO / YOLO exporters merge them into one instance. An empty mask
(object hidden on that frame) removes the object's shapes from the frame. A replaced object keeps, on that
frame, what was said about it there (flags, attributes, difficult, description, recorded votes:
:func:`carry_details`), so re-tracking a frame never loses a person's details.

Earlier annotations of a tracked object (``existing``): ``replace`` (the default) puts the new result in
their place, as above; ``keep`` leaves a frame where the object already has shapes exactly as it is (a
person's corrections, an earlier run) and fills in only the frames where it has none.

Files: ``OUT/<frame name>.json``. For a folder of frames, ``imagePath`` is the relative path to the frame
file; for a video file, the frame is extracted once to ``OUT/<frame name>.jpg`` (labelme and the exporters
need an image file) and ``imagePath`` names it. ``frame_index`` is set in every file.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, List, Optional, Union

import numpy as np

from anylabel.document.shape import ImageAnnotation, Shape
from anylabel.errors import ImageLoadError
from anylabel.fileio import atomic_write_bytes
from anylabel.filelock import locked
from anylabel.formats.labelme import load_labelme, save_labelme
from anylabel.geometry import mask_to_polygons
from anylabel.imaging.video import FrameSource
from anylabel.tracking.state import FrameResult  # not .session: that imports torch

PathLike = Union[str, Path]


def object_label(obj_id: int, label: Optional[str]) -> str:
    """The label written for an object: its own, or ``object_<id>`` when it has none."""
    return label if label else f"object_{obj_id}"


def mask_shapes(mask: np.ndarray, obj_id: int, label: str, score: Optional[float] = None,
                tolerance: float = 1.0, min_area: float = 4.0) -> List[Shape]:
    """Polygons of one object's bool HxW mask, largest part first (empty list for an empty mask)."""
    parts = mask_to_polygons(mask, tolerance=tolerance, min_area=min_area)
    group = obj_id if len(parts) > 1 else None
    return [Shape(label=label, points=[(float(x), float(y)) for x, y in pts], shape_type="polygon",
                  group_id=group, track_id=int(obj_id), score=None if score is None else round(float(score), 4))
            for pts in parts]


#: the keys of a shape's ``extra`` that describe the object on that frame and outlive its outline: the votes
#: recorded for it (``anylabel autolabel``, F in the window) and the track's label decision
CARRIED_EXTRA = ("semantic", "classifier", "mask_score", "track_label")


def carry_details(old: Shape, parts: List[Shape]) -> None:
    """The new outline of an object on a frame keeps what a person or a vote said about it there: flags,
    attributes, difficult, description and the :data:`CARRIED_EXTRA` keys of its old shape."""
    for s in parts:
        s.flags = dict(old.flags)
        s.attributes = dict(old.attributes)
        s.difficult = old.difficult
        s.description = old.description
        s.extra.update({k: old.extra[k] for k in CARRIED_EXTRA if k in old.extra})


#: what a propagation does with an object's shapes already on a frame (see the module docstring)
EXISTING = ("replace", "keep")


def check_existing(existing: str) -> str:
    """``existing`` if it is one of :data:`EXISTING`; else ValueError."""
    if existing not in EXISTING:
        raise ValueError(f"existing must be one of {EXISTING}, got {existing!r}")
    return existing


def merge_result(annotation: ImageAnnotation, result: FrameResult, tolerance: float = 1.0,
                 min_area: float = 4.0, existing: str = "replace") -> ImageAnnotation:
    """Replace, in ``annotation`` (in place), the shapes of the objects in ``result``; return it.

    ``existing="keep"``: objects that already have shapes in ``annotation``, or that a person marked as not
    visible on the frame (``outside``, :mod:`anylabel.tracking.interpolate`), are left as they are; with
    ``replace`` an object the tracker sees there is visible again (its outside mark is cleared)."""
    from anylabel.tracking.interpolate import mark_outside, outside_tracks

    check_existing(existing)
    tracked = set(result.masks)
    hidden = outside_tracks(annotation)
    if existing == "keep":
        tracked -= {s.track_id for s in annotation.shapes} | hidden
    kept = [s for s in annotation.shapes if s.track_id not in tracked]
    before = {s.track_id: s for s in reversed(annotation.shapes) if s.track_id in tracked}  # first part of each
    new: List[Shape] = []
    for obj_id, mask in result.masks.items():
        if obj_id not in tracked:
            continue
        parts = mask_shapes(mask, obj_id, object_label(obj_id, result.labels.get(obj_id)),
                            result.scores.get(obj_id), tolerance, min_area)
        if obj_id in before:
            carry_details(before[obj_id], parts)
        new.extend(parts)
    annotation.shapes = kept + new
    for obj_id in hidden & {s.track_id for s in new}:
        mark_outside(annotation, obj_id, outside=False)
    annotation.frame_index = result.frame_index
    return annotation


class FrameAnnotations:
    """The per-frame LabelMe files of one video in an output folder.

    Args:
        source: the video's frames.
        out_dir: where the JSON files (and, for a video file, the extracted frames) go.
        tolerance: polygon simplification tolerance in pixels.
        min_area: mask parts smaller than this many pixels are dropped.
        existing: ``replace`` or ``keep`` an object's shapes already on a frame (see :func:`merge_result`).
    """

    def __init__(self, source: FrameSource, out_dir: PathLike, tolerance: float = 1.0, min_area: float = 4.0,
                 existing: str = "replace") -> None:
        self.existing = check_existing(existing)
        self.source = source
        self.out_dir = Path(out_dir)
        self.tolerance = tolerance
        self.min_area = min_area

    def json_path(self, index: int) -> Path:
        """The annotation file of frame ``index``."""
        return self.out_dir / f"{self.source.frame_name(index)}.json"

    def image_path(self, index: int) -> str:
        """``imagePath`` for frame ``index`` (relative to the JSON, ``/`` separators); extracts a video
        frame to a JPEG file first if it is not there yet."""
        frame_file = self.source.frame_file(index)
        if frame_file is None:
            frame_file = self.out_dir / f"{self.source.frame_name(index)}.jpg"
            if not frame_file.is_file():
                self._extract(index, frame_file)
        return Path(os.path.relpath(Path(frame_file).resolve(), self.out_dir.resolve())).as_posix()

    def _extract(self, index: int, path: Path) -> None:
        import cv2

        rgb = self.source[index]
        ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 95])
        if not ok:
            raise ImageLoadError(f"cannot encode frame {index} as JPEG", path)
        atomic_write_bytes(path, buf.tobytes())

    def load(self, index: int) -> ImageAnnotation:
        """The annotation of frame ``index``: its file if there is one, else an empty one."""
        path = self.json_path(index)
        if path.is_file():
            ann = load_labelme(path)
            ann.frame_index = index
            return ann
        h, w = self.source.size
        return ImageAnnotation(image_path=self.image_path(index), image_height=h, image_width=w, frame_index=index)

    def write(self, result: FrameResult,
              on_written: Optional[Callable[[Path, ImageAnnotation], None]] = None) -> ImageAnnotation:
        """Merge ``result`` into its frame's file (atomically) and return the new annotation.

        ``on_written(path, annotation)`` runs once the file is written, still under its lock (so what it sees
        of the file is what was written: the window keeps the annotation to show it without parsing)."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.json_path(result.frame_index)
        with locked(path):  # read-modify-write: the GUI saving this frame at the same time waits
            ann = merge_result(self.load(result.frame_index), result, self.tolerance, self.min_area, self.existing)
            save_labelme(ann, path)
            if on_written is not None:
                on_written(path, ann)
        return ann
