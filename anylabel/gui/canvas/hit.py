"""Hit-testing on the canvas's cached geometry (:class:`~anylabel.gui.canvas.paint.Geometry`): which shape a
click or the cursor is on, and how far a point is from an outline."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional, Tuple

import numpy as np
from PyQt5 import QtCore
from PyQt5.QtCore import Qt

from anylabel.gui.canvas.paint import Geometry

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.canvas.widget import Canvas


def segment_distances(points: np.ndarray, x: float, y: float, closed: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """Distance from (x, y) to every edge of a polyline, and the projection parameter t in [0, 1]."""
    a = points
    b = np.roll(points, -1, axis=0) if closed else points[1:]
    a = a if closed else points[:-1]
    d = b - a
    length2 = np.maximum((d * d).sum(axis=1), 1e-12)
    t = np.clip(((x - a[:, 0]) * d[:, 0] + (y - a[:, 1]) * d[:, 1]) / length2, 0.0, 1.0)
    px, py = a[:, 0] + t * d[:, 0], a[:, 1] + t * d[:, 1]
    return np.hypot(px - x, py - y), t


def contains(geo: Geometry, x: float, y: float, tol: float) -> bool:
    """True when image point (x, y) is inside the shape or within ``tol`` image pixels of its outline."""
    x1, y1, x2, y2 = geo.box
    if x < x1 - tol or x > x2 + tol or y < y1 - tol or y > y2 + tol:
        return False
    kind, pts = geo.shape.shape_type, geo.points
    if kind in ("polygon", "rotation") and len(pts) >= 3:
        if geo.polygon.containsPoint(QtCore.QPointF(x, y), Qt.OddEvenFill):
            return True
        return bool(segment_distances(pts, x, y)[0].min() <= tol)
    if kind == "rectangle":
        return True  # the box test above is the rectangle
    if kind == "circle" and len(pts) == 2:
        (cx, cy), (px, py) = pts
        return bool(np.hypot(x - cx, y - cy) <= np.hypot(px - cx, py - cy) + tol)
    if kind == "mask" and geo.mask is not None:
        c, r = int(round(x - x1)), int(round(y - y1))
        return 0 <= r < geo.mask.shape[0] and 0 <= c < geo.mask.shape[1] and bool(geo.mask[r, c])
    if len(pts) >= 2:
        return bool(segment_distances(pts, x, y, closed=False)[0].min() <= tol)
    return len(pts) == 1 and bool(np.hypot(x - pts[0, 0], y - pts[0, 1]) <= tol * 2)


def hit_shape(canvas: "Canvas", x: float, y: float, tol: float,
              among: Optional[Callable[[int], bool]] = None) -> Optional[int]:
    for i in reversed(canvas.visible_indices()):  # topmost (last drawn) first
        if among is not None and not among(i):
            continue
        if contains(canvas.geometry_cache.get(canvas.shape_at(i)), x, y, tol):
            return i
    return None
