"""Hit-testing and measures of every LabelMe shape type, for the canvas (Qt-free).

Distances are in image pixels from the point (x, y): 0 inside a shape with an area (polygon, rectangle,
circle, rotation, mask), else the distance to its outline; for point / points the distance to the nearest
point, for line / linestrip to the polyline. A mask shape is tested on its pixels: the box in its points
rejects a far point at no cost, and the decoded mask of the last few mask shapes tested is kept (a mouse
move over a 4000x3000 mask must not decode 12 MB each time). A mask's distance is exact up to
:data:`MASK_NEAR` pixels; a point farther from every mask pixel (inside the mask's box) gets ``MASK_NEAR``
(meaning "at least that far"), which is all hit-testing needs.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import List, Optional, Sequence, Tuple

import numpy as np

from anylabel.document import Shape
from anylabel.formats.stats import shape_area

__all__ = ["HitIndex", "area", "bbox", "contains", "distance", "hits", "hit_test", "nearest_edge", "nearest_vertex",
           "pick_candidate"]

MASK_NEAR = 16
_DECODED: "OrderedDict[str, np.ndarray]" = OrderedDict()
_DECODED_KEEP = 4


def area(shape: Shape) -> float:
    """The shape's area in pixels from its geometry (:func:`anylabel.formats.stats.shape_area`): polygons and
    rotations by the shoelace formula, rectangles and circles exactly, masks their pixel count; 0 for points
    and lines."""
    return shape_area(shape)


def bbox(shape: Shape) -> Tuple[float, float, float, float]:
    """(x1, y1, x2, y2) around the whole shape (a circle's whole disc; a mask's pixels, x2 / y2 inclusive)."""
    return shape.bbox()


def _segment_distances(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distances from the point p (2,) to the segments a[i] -> b[i] (N x 2 each)."""
    d = b - a
    length2 = np.einsum("ij,ij->i", d, d)
    t = np.where(length2 > 0, np.einsum("ij,ij->i", p - a, d) / np.where(length2 > 0, length2, 1.0), 0.0)
    t = np.clip(t, 0.0, 1.0)
    closest = a + t[:, None] * d
    return np.hypot(*(p - closest).T)


def _edges(pts: np.ndarray, closed: bool) -> Tuple[np.ndarray, np.ndarray]:
    if closed:
        return pts, np.roll(pts, -1, axis=0)
    return pts[:-1], pts[1:]


def _inside_polygon(pts: np.ndarray, x: float, y: float) -> bool:
    """Even-odd rule (a ray to the right), as QPainterPath's default fill."""
    xa, ya = pts[:, 0], pts[:, 1]
    xb, yb = np.roll(xa, -1), np.roll(ya, -1)
    crosses = (ya > y) != (yb > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        xi = xa + (y - ya) * (xb - xa) / (yb - ya)
    return bool(np.count_nonzero(crosses & (x < xi)) % 2)


def _mask_pixels(shape: Shape) -> Optional[np.ndarray]:
    if not shape.mask:
        return None
    key = f"{shape.mask.get('size')}:{shape.mask.get('counts')}"
    mask = _DECODED.get(key)
    if mask is None:
        from anylabel.geometry import rle_decode

        mask = rle_decode(shape.mask)
        _DECODED[key] = mask
        while len(_DECODED) > _DECODED_KEEP:
            _DECODED.popitem(last=False)
    else:
        _DECODED.move_to_end(key)
    return mask


def distance(shape: Shape, x: float, y: float) -> float:
    """Distance in pixels from (x, y) to ``shape`` (0 inside a shape with an area; see the module docstring)."""
    pts = shape.points_array()
    if len(pts) == 0:
        return math.inf
    p = np.array([x, y], dtype=np.float64)
    t = shape.shape_type
    if t in ("point", "points"):
        return float(np.hypot(*(pts - p).T).min())
    if t in ("line", "linestrip"):
        if len(pts) == 1:
            return float(np.hypot(*(pts[0] - p)))
        return float(_segment_distances(p, *_edges(pts, closed=False)).min())
    if t == "circle" and len(pts) >= 2:
        r = float(np.hypot(*(pts[1] - pts[0])))
        return max(0.0, float(np.hypot(*(p - pts[0]))) - r)
    if t == "rectangle" and len(pts) >= 2:
        x1, y1 = pts[:2].min(axis=0)
        x2, y2 = pts[:2].max(axis=0)
        return float(np.hypot(max(x1 - x, 0.0, x - x2), max(y1 - y, 0.0, y - y2)))
    if t == "mask":
        mask = _mask_pixels(shape)
        x1, y1, x2, y2 = shape.bbox()
        outside_box = float(np.hypot(max(x1 - x, 0.0, x - x2), max(y1 - y, 0.0, y - y2)))
        if mask is None or outside_box > 0:
            return outside_box if mask is not None else math.inf
        col, row = int(round(x)), int(round(y))
        if 0 <= row < mask.shape[0] and 0 <= col < mask.shape[1] and mask[row, col]:
            return 0.0
        n = MASK_NEAR  # the nearest pixel, searched in a small window
        r0, r1 = max(0, row - n), min(mask.shape[0], row + n + 1)
        c0, c1 = max(0, col - n), min(mask.shape[1], col + n + 1)
        rows, cols = np.nonzero(mask[r0:r1, c0:c1])
        return min(float(n), float(np.hypot(cols + c0 - x, rows + r0 - y).min())) if rows.size else float(n)
    if len(pts) < 3:
        return float(_segment_distances(p, *_edges(pts, closed=False)).min()) if len(pts) == 2 else math.inf
    if _inside_polygon(pts, x, y):
        return 0.0
    return float(_segment_distances(p, *_edges(pts, closed=True)).min())


def contains(shape: Shape, x: float, y: float) -> bool:
    """True when (x, y) lies in a shape with an area (always False for points and lines)."""
    return shape.shape_type in ("polygon", "rectangle", "circle", "rotation", "mask") and distance(shape, x, y) == 0


def hits(shapes: Sequence[Shape], x: float, y: float, tolerance: float = 4.0) -> List[int]:
    """Indices of the shapes within ``tolerance`` pixels of (x, y), topmost (last drawn) first; among them,
    shapes the point is inside come in drawing order too. The GUI selects the first and cycles on clicks."""
    return [i for i in range(len(shapes) - 1, -1, -1) if distance(shapes[i], x, y) <= tolerance]


def hit_test(shapes: Sequence[Shape], x: float, y: float, tolerance: float = 4.0) -> Optional[int]:
    """The topmost shape within ``tolerance`` pixels of (x, y) (:func:`hits`), or None."""
    found = hits(shapes, x, y, tolerance)
    return found[0] if found else None


class HitIndex:
    """Hit-testing many shapes per mouse move: their boxes are computed once, and a query measures exactly only
    the shapes whose box lies within the tolerance (1,000 polygons of 200 vertices: see benchmarks/editing.py).
    Build a new index when the shapes change (the canvas does it on the session's change event).

    Args:
        shapes: the shapes in drawing order; query results are positions in this sequence.
    """

    def __init__(self, shapes: Sequence[Shape]) -> None:
        self.shapes = list(shapes)
        boxes = [s.bbox() if len(s.points) else (math.inf, math.inf, -math.inf, -math.inf) for s in self.shapes]
        self.boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)

    def update(self, position: int, shape: Shape) -> None:
        """Replace the shape at ``position`` (a vertex drag: one box recomputed, not the index)."""
        self.shapes[position] = shape
        self.boxes[position] = shape.bbox() if len(shape.points) else (math.inf, math.inf, -math.inf, -math.inf)

    def hits(self, x: float, y: float, tolerance: float = 4.0) -> List[int]:
        """As :func:`hits`: positions of the shapes within ``tolerance`` of (x, y), topmost first."""
        b = self.boxes
        near = np.flatnonzero((b[:, 0] - tolerance <= x) & (x <= b[:, 2] + tolerance)
                              & (b[:, 1] - tolerance <= y) & (y <= b[:, 3] + tolerance))
        return [int(i) for i in near[::-1] if distance(self.shapes[i], x, y) <= tolerance]

    def hit_test(self, x: float, y: float, tolerance: float = 4.0) -> Optional[int]:
        found = self.hits(x, y, tolerance)
        return found[0] if found else None


def nearest_vertex(shape: Shape, x: float, y: float, epsilon: float) -> Optional[int]:
    """Index of the vertex nearest (x, y) if within ``epsilon`` pixels (a circle's centre and rim point, a
    rectangle's two corners, a rotation's four corners count as vertices; a mask has none)."""
    if shape.shape_type == "mask":
        return None
    pts = shape.points_array()
    if len(pts) == 0:
        return None
    d = np.hypot(pts[:, 0] - x, pts[:, 1] - y)
    i = int(np.argmin(d))
    return i if d[i] <= epsilon else None


def nearest_edge(shape: Shape, x: float, y: float, epsilon: float) -> Optional[int]:
    """For polygons, linestrips and lines: the index i of the edge from vertex i to vertex i + 1 (the last
    polygon edge closes back to vertex 0) nearest (x, y) if within ``epsilon``; a new vertex there goes at
    i + 1. None for other types (their vertices are not free)."""
    t = shape.shape_type
    if t not in ("polygon", "linestrip", "line"):
        return None
    pts = shape.points_array()
    if len(pts) < 2:
        return None
    d = _segment_distances(np.array([x, y], dtype=np.float64), *_edges(pts, closed=t == "polygon"))
    i = int(np.argmin(d))
    return i if d[i] <= epsilon else None


def pick_candidate(masks: Sequence[np.ndarray], x: float, y: float) -> Optional[int]:
    """Which of several candidate masks (bool HxW, e.g. the automatic "segment everything" masks) a click at
    (x, y) keeps: the smallest one containing the clicked pixel (the most specific object under the cursor;
    a whole that contains the part is reached by clicking outside the part). None when no mask holds it."""
    col, row = int(math.floor(x)), int(math.floor(y))
    best, best_area = None, math.inf
    for i, m in enumerate(masks):
        if 0 <= row < m.shape[0] and 0 <= col < m.shape[1] and m[row, col]:
            a = int(np.count_nonzero(m))
            if a < best_area:
                best, best_area = i, a
    return best
