"""Rotated boxes of instances, for the oriented-box formats (YOLO-OBB, DOTA, CVAT's rotated boxes).

* A ``rotation`` shape (four corners in drawing order; the edge p0 -> p1 gives the angle, see
  :mod:`anylabel.document.shape`) is its own rotated box, unless clipping at the image border changed it:
  then its clipped outline's minimum-area rectangle (warned ``clipped`` by the instance rules).
* Polygons, rectangles, circles and masks are rotated boxes only on request (``Options.min_area_rect``):
  OpenCV's ``minAreaRect`` of all the instance's points (a mask's: its outline pixels' corners). Without
  the option they are left out with a ``not_rotated`` warning, because a detector trained on oriented
  boxes should not silently learn axis-aligned ones.
* Corners are returned clockwise on screen (x right, y down), starting at the shape's first corner: DOTA
  lists its corners clockwise; YOLO-OBB does not care about the order.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from anylabel.document import ImageAnnotation, Shape
from anylabel.formats.base import Report
from anylabel.formats.instances import Instance
from anylabel.geometry.rotated import min_area_rotation


def clockwise(corners: np.ndarray) -> np.ndarray:
    """The 4x2 corners in clockwise order on screen, the first corner kept first."""
    x, y = corners[:, 0], corners[:, 1]
    signed = float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))
    return corners if signed >= 0 else corners[[0, 3, 2, 1]]


def min_area_corners(points: np.ndarray) -> np.ndarray:
    """The corners (4x2 float64, clockwise on screen) of the minimum-area rectangle around ``points`` (Nx2)."""
    return clockwise(np.asarray(min_area_rotation(points), dtype=np.float64))


def instance_corners(inst: Instance, annotation: ImageAnnotation, min_area_rect: bool, file: str,
                     report: Report) -> Optional[np.ndarray]:
    """The instance's rotated box as 4x2 corners (clockwise), or ``None`` with a ``not_rotated`` warning."""
    types = {annotation.shapes[p].shape_type for p in inst.polygon_shapes} | ({"mask"} if inst.masks else set())
    if types == {"rotation"} and len(inst.polygons) == 1 and len(inst.polygons[0]) == 4:
        return clockwise(inst.polygons[0])
    if types != {"rotation"} and not min_area_rect:
        report.warn(file, inst.shape_indices[0], "not_rotated", f"{'/'.join(sorted(types))} {inst.label!r} is not a "
                    "rotated rectangle: left out (--min-area-rect exports its minimum-area rectangle)")
        return None
    points = [p for p in inst.polygons]
    for m in inst.masks:
        ys, xs = np.nonzero(m)
        points.append(np.concatenate([np.stack([xs, ys], 1), np.stack([xs + 1, ys + 1], 1)]).astype(np.float64))
    return min_area_corners(np.concatenate(points))


def rotation_shape(label: str, corners: Sequence[Tuple[float, float]], **kw) -> Shape:
    """A ``rotation`` shape from 4 corners (kept in the given order: the first edge is the angle)."""
    return Shape(label, [(float(x), float(y)) for x, y in corners], "rotation", **kw)
