"""Boxes (x1, y1, x2, y2) in float pixels and polygon areas."""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

Box = Tuple[float, float, float, float]


def mask_to_box(mask: np.ndarray) -> Optional[Box]:
    """Tight box of a bool mask as (x1, y1, x2, y2), x2/y2 exclusive (COCO-style extent), or ``None``
    for an empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return (float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1))


def polygon_box(points: np.ndarray) -> Box:
    """Box of an Nx2 (x, y) array."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    x1, y1 = pts.min(axis=0)
    x2, y2 = pts.max(axis=0)
    return (float(x1), float(y1), float(x2), float(y2))


def polygon_area(points: np.ndarray) -> float:
    """Unsigned area of a simple polygon (shoelace formula), Nx2 (x, y)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 3:
        return 0.0
    x, y = pts[:, 0], pts[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def box_iou(a: Box, b: Box) -> float:
    """IoU of two (x1, y1, x2, y2) boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0
