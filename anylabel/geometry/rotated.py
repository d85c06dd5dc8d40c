"""Rotated rectangles: the ``rotation`` shape type (X-AnyLabeling's), four corners ``[p0, p1, p2, p3]``.

Convention (:mod:`anylabel.document.shape`): the edge p0 -> p1 is the rectangle's *width* side and its angle
``atan2(y1 - y0, x1 - x0)`` (radians, image coordinates: x right, y down, so a positive angle turns
clockwise on screen) is the rotation; p1 -> p2 is the *height* side, at angle + pi/2. With angle 0 the
corners are top-left, top-right, bottom-right, bottom-left, the order X-AnyLabeling draws. X-AnyLabeling's
``direction`` key is the same angle normalised to [0, 2 pi) (:func:`direction`).

Only numpy and OpenCV here (no backends): the LabelMe codec imports :func:`direction`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple

import numpy as np

Point = Tuple[float, float]

if TYPE_CHECKING:
    from anylabel.document import Shape


@dataclass(frozen=True)
class RotatedRect:
    """A rotated rectangle by its centre, size and angle.

    Attributes:
        cx, cy: centre in image pixels.
        width: length of the edge p0 -> p1; height: of p1 -> p2 (pixels, >= 0).
        angle: radians, the direction of p0 -> p1 (``atan2``, in (-pi, pi]).
    """

    cx: float
    cy: float
    width: float
    height: float
    angle: float

    def corners(self) -> List[Point]:
        """The four corners [p0, p1, p2, p3] (see the module docstring)."""
        return rotation_corners(self.cx, self.cy, self.width, self.height, self.angle)

    @property
    def area(self) -> float:
        return self.width * self.height


def rotation_corners(cx: float, cy: float, width: float, height: float, angle: float) -> List[Point]:
    """Corners [p0, p1, p2, p3] of the rectangle centred at (cx, cy) with the edge p0 -> p1 of length ``width``
    at ``angle`` radians and p1 -> p2 of length ``height`` (x right, y down)."""
    c, s = math.cos(angle), math.sin(angle)
    out = []
    for u, v in ((-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)):
        dx, dy = u * width, v * height
        out.append((cx + dx * c - dy * s, cy + dx * s + dy * c))
    return out


def rotation_params(points: Sequence[Sequence[float]]) -> RotatedRect:
    """Centre, size and angle of a ``rotation`` shape's four corners (the centre is the middle of the diagonal
    p0 -> p2, as X-AnyLabeling takes it; width |p1 - p0|, height |p2 - p1|, angle of p0 -> p1)."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(p) != 4:
        raise ValueError(f"a rotated rectangle has 4 corners, got {len(p)} points")
    e1, e2 = p[1] - p[0], p[2] - p[1]
    cx, cy = (p[0] + p[2]) / 2.0
    return RotatedRect(float(cx), float(cy), float(np.hypot(*e1)), float(np.hypot(*e2)),
                       float(math.atan2(e1[1], e1[0])))


def angle(points: Sequence[Sequence[float]]) -> float:
    """The rotation in radians, ``atan2`` of the edge p0 -> p1, in (-pi, pi]."""
    (x0, y0), (x1, y1) = points[0], points[1]
    return float(math.atan2(y1 - y0, x1 - x0))


def direction(points: Sequence[Sequence[float]]) -> float:
    """X-AnyLabeling's ``direction`` of a ``rotation`` shape: :func:`angle` in [0, 2 pi) radians."""
    a = angle(points) % (2 * math.pi)
    return 0.0 if a >= 2 * math.pi else float(a)


def min_area_rotation(points: np.ndarray) -> List[Point]:
    """The minimum-area rotated rectangle around Nx2 (x, y) points (cv2.minAreaRect), as four corners.

    The width edge is the one whose angle lies in [-pi/4, pi/4) (the rectangle's "most horizontal" side),
    so a near-axis-aligned object gives a near-zero angle whichever corner OpenCV starts from. For a mask,
    pass its pixel coordinates (:func:`mask_rotation`).
    """
    import cv2

    pts = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    if len(pts) == 0:
        raise ValueError("no points: no rectangle")
    box = cv2.boxPoints(cv2.minAreaRect(pts)).astype(np.float64)
    centre = box.mean(axis=0)
    e1, e2 = box[1] - box[0], box[2] - box[1]
    w, h, a = float(np.hypot(*e1)), float(np.hypot(*e2)), math.atan2(e1[1], e1[0])
    # quarter turns until the width edge is the most horizontal one (swapping width and height each time)
    while a >= math.pi / 4 - 1e-12:
        a, w, h = a - math.pi / 2, h, w
    while a < -math.pi / 4 - 1e-12:
        a, w, h = a + math.pi / 2, h, w
    return rotation_corners(float(centre[0]), float(centre[1]), w, h, a)


def mask_rotation(mask: np.ndarray) -> List[Point]:
    """The minimum-area rotated rectangle around the pixels of a bool HxW mask. A pixel (col, row) is the
    point (col, row) (the core's convention), so a one-pixel-wide mask gives a zero-height rectangle; the
    pixel squares' corners are not added."""
    rows, cols = np.nonzero(np.asarray(mask))
    if rows.size == 0:
        raise ValueError("an empty mask has no rectangle")
    import cv2

    # the hull's vertices are enough for minAreaRect and far fewer than the pixels
    pts = np.stack([cols, rows], axis=1).astype(np.float32)
    return min_area_rotation(cv2.convexHull(pts).reshape(-1, 2))


def rotate(points: Sequence[Sequence[float]], theta: float, pivot: Optional[Point] = None) -> List[Point]:
    """The corners turned by ``theta`` radians (positive: clockwise on screen, the angle grows by theta)
    around ``pivot`` (default: the rectangle's centre)."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if pivot is None:
        pivot = tuple((p[0] + p[2]) / 2.0) if len(p) == 4 else tuple(p.mean(axis=0))
    c, s = math.cos(theta), math.sin(theta)
    d = p - np.asarray(pivot, dtype=np.float64)
    out = np.stack([d[:, 0] * c - d[:, 1] * s, d[:, 0] * s + d[:, 1] * c], axis=1) + np.asarray(pivot)
    return [(float(x), float(y)) for x, y in out]


def drag_corner(points: Sequence[Sequence[float]], index: int, to: Point) -> List[Point]:
    """The rectangle after its corner ``index`` is dragged to ``to``: the opposite corner stays, the angle
    stays, the size follows (a drag across the opposite corner gives the mirrored rectangle, with the corner
    order kept so p0 -> p1 keeps its direction)."""
    r = rotation_params(points)
    opposite = np.asarray(points[(index + 2) % 4], dtype=np.float64)
    ux = np.array([math.cos(r.angle), math.sin(r.angle)])
    uy = np.array([-math.sin(r.angle), math.cos(r.angle)])
    d = np.asarray(to, dtype=np.float64) - opposite
    w, h = abs(float(d @ ux)), abs(float(d @ uy))
    cx, cy = opposite + d / 2.0
    return rotation_corners(float(cx), float(cy), w, h, r.angle)


def resize(points: Sequence[Sequence[float]], width: float, height: float) -> List[Point]:
    """The rectangle with a new size, same centre and angle."""
    r = rotation_params(points)
    return rotation_corners(r.cx, r.cy, float(width), float(height), r.angle)


def from_box(x1: float, y1: float, x2: float, y2: float) -> List[Point]:
    """An axis-aligned rectangle (a labelme ``rectangle``'s two corners) as a ``rotation`` at angle 0."""
    xa, xb, ya, yb = min(x1, x2), max(x1, x2), min(y1, y2), max(y1, y2)
    return [(xa, ya), (xb, ya), (xb, yb), (xa, yb)]


def shape_rotation(shape: "Shape") -> List[Point]:
    """The minimum-area rotated rectangle of any shape (:class:`anylabel.document.Shape`) as four corners:
    of its vertices (polygon, linestrip, points...), of its disc for a circle (a square at angle 0), of its
    pixels for a mask, itself for a rectangle or a rotation (a rectangle at angle 0)."""
    t = shape.shape_type
    pts = shape.points_array()
    if t == "rotation" and len(pts) == 4:
        return [(float(x), float(y)) for x, y in pts]
    if t in ("rectangle", "circle"):
        return from_box(*shape.bbox())
    if t == "mask":
        from anylabel.geometry import rle_decode

        if shape.mask is None:
            raise ValueError("a mask shape without its mask")
        return mask_rotation(rle_decode(shape.mask))
    return min_area_rotation(pts)
