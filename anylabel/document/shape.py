"""Shapes and image annotations.

Coordinate convention (used everywhere in anylabel's core):
    * image pixel coordinates, float; x to the right, y down; (0, 0) is the top-left corner of the
      top-left pixel's area, so the centre of pixel (col, row) is (col + 0.5, row + 0.5) in continuous
      terms, but like labelme we store and draw points as given: a point (x, y) refers to pixel column x,
      row y. Masks therefore round-trip through polygons without a half-pixel shift.
    * points are stored as ``(x, y)`` tuples in the order the shape type gives them:
        - polygon: the vertices, not closed (the last vertex is not a copy of the first);
        - rectangle: two opposite corners ``[(x1, y1), (x2, y2)]``;
        - circle: ``[(cx, cy), (px, py)]``, the centre and one point on the circle (labelme's form);
        - line / linestrip: the vertices in order; point: one point; points: any number;
        - mask: the mask's bounding box ``[(x1, y1), (x2, y2)]`` as labelme writes it;
        - rotation: a rotated rectangle (X-AnyLabeling's shape type of that name), its four corners in
          drawing order ``[p0, p1, p2, p3]``; the edge p0 -> p1 is the box's "width" side and its angle,
          ``atan2(y1 - y0, x1 - x0)`` in radians, is the rectangle's rotation. The LabelMe codec also writes
          that angle as X-AnyLabeling's ``direction`` key, so both tools open the file.
    * a mask shape carries its full-image mask as COCO RLE (``{"size": [h, w], "counts": str}``), the
      form pycocotools reads; :mod:`anylabel.geometry.rle` converts it to a bool HxW array.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

Point = Tuple[float, float]

SHAPE_TYPES = ("polygon", "rectangle", "point", "points", "line", "linestrip", "circle", "mask", "rotation")


@dataclass
class Shape:
    """One annotated object (or one part of an object; parts share a ``group_id``).

    Attributes:
        label: the class name, may be empty for unlabeled proposals.
        points: list of (x, y) float pixel coordinates; see the module docstring for their meaning.
        shape_type: one of :data:`SHAPE_TYPES`.
        group_id: shapes with the same group id in one image are parts of one instance.
        track_id: the object's id across video frames; ``None`` for still images.
        flags: labelme's per-shape boolean flags.
        description: free text.
        score: the model's confidence for an automatic shape, ``None`` for manual ones.
        mask: COCO RLE of the full-image mask for ``shape_type == "mask"``, else ``None``.
        extra: keys found in a file that anylabel does not use; written back unchanged.
        attributes: attribute name -> value (a choice from the settings' ``attributes``); X-AnyLabeling's
            ``attributes`` key, which labelme keeps as other data.
        difficult: the object is hard to recognise (PASCAL VOC's flag; X-AnyLabeling's ``difficult`` key).
        id: the shape's stable id in this process, given by :class:`~anylabel.document.history.History`
            (unique among one annotation's shapes, unchanged when other shapes are added, removed or
            reordered, kept by :meth:`copy` so an edited copy is the same shape); never written to files and
            ignored by ``==``. ``None`` until a history has seen the shape.
    """

    label: str
    points: List[Point]
    shape_type: str = "polygon"
    group_id: Optional[int] = None
    track_id: Optional[int] = None
    flags: Dict[str, bool] = field(default_factory=dict)
    description: str = ""
    score: Optional[float] = None
    mask: Optional[Dict[str, Any]] = None
    extra: Dict[str, Any] = field(default_factory=dict)
    attributes: Dict[str, Any] = field(default_factory=dict)
    difficult: bool = False
    id: Optional[int] = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.shape_type not in SHAPE_TYPES:
            raise ValueError(f"unknown shape type {self.shape_type!r}; expected one of {SHAPE_TYPES}")
        self.points = [(float(x), float(y)) for x, y in self.points]

    def points_array(self) -> np.ndarray:
        """The points as an Nx2 float64 array of (x, y) pixels."""
        return np.asarray(self.points, dtype=np.float64).reshape(-1, 2)

    def bbox(self) -> Tuple[float, float, float, float]:
        """Axis-aligned box (x1, y1, x2, y2) of the points (for circles: of the whole circle)."""
        pts = self.points_array()
        if len(pts) == 0:
            raise ValueError("a shape with no points has no box")
        if self.shape_type == "circle" and len(pts) == 2:
            (cx, cy), (px, py) = pts
            r = float(np.hypot(px - cx, py - cy))
            return (cx - r, cy - r, cx + r, cy + r)
        x1, y1 = pts.min(axis=0)
        x2, y2 = pts.max(axis=0)
        return (float(x1), float(y1), float(x2), float(y2))

    def copy(self) -> "Shape":
        """A deep copy (points, flags, mask and extra are not shared)."""
        import copy

        return copy.deepcopy(self)


@dataclass
class ImageAnnotation:
    """The annotation of one image (or one video frame).

    Attributes:
        image_path: path of the image relative to the annotation file's folder, with ``/`` separators
            (labelme's ``imagePath``).
        image_height, image_width: the image size in pixels, after EXIF orientation.
        shapes: the shapes in drawing order.
        flags: labelme's per-image boolean flags.
        image_data: labelme's embedded base64 image, kept as-is; ``None`` when not embedded.
        version: the labelme format version written into the file.
        extra: top-level keys anylabel does not use; written back unchanged.
        frame_index: for a video frame, its index in the video; ``None`` for a still image.
        tags: image-level tags, in order (X-AnyLabeling's top-level ``tags`` list).
        checked: the image has been reviewed (X-AnyLabeling's top-level ``checked``).
    """

    image_path: str
    image_height: int
    image_width: int
    shapes: List[Shape] = field(default_factory=list)
    flags: Dict[str, bool] = field(default_factory=dict)
    image_data: Optional[str] = None
    version: str = "5.5.0"
    extra: Dict[str, Any] = field(default_factory=dict)
    frame_index: Optional[int] = None
    tags: List[str] = field(default_factory=list)
    checked: bool = False

    @property
    def size(self) -> Tuple[int, int]:
        """(height, width) in pixels."""
        return (self.image_height, self.image_width)

    def labels(self) -> List[str]:
        """The label of every shape, in order."""
        return [s.label for s in self.shapes]

    def copy(self) -> "ImageAnnotation":
        import copy

        return copy.deepcopy(self)
