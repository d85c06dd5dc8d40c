"""Round brush and eraser strokes on a bool mask, exact and in proportion to the stroke, not the image.

A stroke is the polyline through its points (mouse positions in image pixels, x right, y down) swept by a
disc of ``radius`` pixels: the pixel at column ``col``, row ``row`` (the point ``(col, row)``, the core's
pixel convention) is painted when its distance to the polyline is at most ``radius``. A stroke of one point
is a disc. Only the stroke's bounding box is read and written, segment by segment; the mask is changed in
place (a 4000x3000 mask is 12 MB: copying it per mouse move would cost more than the stroke) and the change is
returned as a :class:`MaskPatch`, which undoes and redoes it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

IntBox = Tuple[int, int, int, int]  # x1, y1, x2, y2, x2 / y2 exclusive


@dataclass
class MaskPatch:
    """The pixels a stroke changed: ``before`` and ``after`` are bool crops of the mask at ``box``.

    Attributes:
        box: (x1, y1, x2, y2) in pixels, x2 / y2 exclusive, inside the mask.
        before, after: bool (y2 - y1) x (x2 - x1) crops.
    """

    box: IntBox
    before: np.ndarray
    after: np.ndarray

    @property
    def changed(self) -> bool:
        return bool((self.before != self.after).any())

    def undo(self, mask: np.ndarray) -> None:
        x1, y1, x2, y2 = self.box
        mask[y1:y2, x1:x2] = self.before

    def redo(self, mask: np.ndarray) -> None:
        x1, y1, x2, y2 = self.box
        mask[y1:y2, x1:x2] = self.after


def stroke_box(points: Sequence[Sequence[float]], radius: float, hw: Tuple[int, int]) -> Optional[IntBox]:
    """The pixels a stroke can touch, (x1, y1, x2, y2) exclusive and clipped to ``hw`` = (height, width);
    None when the stroke lies entirely outside the image."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(p) == 0:
        return None
    r = max(0.0, float(radius))
    x1 = max(0, int(np.ceil(p[:, 0].min() - r)))
    y1 = max(0, int(np.ceil(p[:, 1].min() - r)))
    x2 = min(int(hw[1]), int(np.floor(p[:, 0].max() + r)) + 1)
    y2 = min(int(hw[0]), int(np.floor(p[:, 1].max() + r)) + 1)
    return (x1, y1, x2, y2) if x2 > x1 and y2 > y1 else None


def stroke_footprint(points: Sequence[Sequence[float]], radius: float,
                     hw: Tuple[int, int]) -> Tuple[Optional[IntBox], np.ndarray]:
    """The stroke's pixels: (its :func:`stroke_box`, a bool crop of that box); (None, empty) outside the image.

    Args:
        points: N x 2 (x, y) image pixels, N >= 1, in drawing order.
        radius: the brush radius in pixels (0 paints the pixels the polyline passes exactly through).
        hw: (height, width) of the mask.
    """
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    box = stroke_box(p, radius, hw)
    if box is None:
        return None, np.zeros((0, 0), dtype=bool)
    bx1, by1, bx2, by2 = box
    out = np.zeros((by2 - by1, bx2 - bx1), dtype=bool)
    r = max(0.0, float(radius))
    r2 = r * r + 1e-9  # a pixel exactly at the radius is painted, whatever the float rounding of its distance
    segments = [(p[0], p[0])] if len(p) == 1 else list(zip(p[:-1], p[1:]))
    for a, b in segments:
        sb = stroke_box(np.stack([a, b]), r, hw)
        if sb is None:
            continue
        sx1, sy1, sx2, sy2 = sb
        xs = np.arange(sx1, sx2, dtype=np.float64)[None, :]
        ys = np.arange(sy1, sy2, dtype=np.float64)[:, None]
        d = b - a
        length2 = float(d @ d)
        if length2 == 0.0:
            dist2 = (xs - a[0]) ** 2 + (ys - a[1]) ** 2
        else:  # distance to the segment: project onto it, clamped to its ends
            t = np.clip(((xs - a[0]) * d[0] + (ys - a[1]) * d[1]) / length2, 0.0, 1.0)
            dist2 = (xs - a[0] - t * d[0]) ** 2 + (ys - a[1] - t * d[1]) ** 2
        out[sy1 - by1:sy2 - by1, sx1 - bx1:sx2 - bx1] |= dist2 <= r2
    return box, out


def paint_stroke(mask: np.ndarray, points: Sequence[Sequence[float]], radius: float,
                 erase: bool = False) -> Optional[MaskPatch]:
    """Paint (or with ``erase``, clear) a round brush stroke into the bool HxW ``mask``, in place.

    Returns:
        The change as a :class:`MaskPatch` (undo / redo), or None when the stroke lies outside the mask.
    """
    if mask.dtype != bool or mask.ndim != 2:
        raise ValueError(f"the mask must be a bool HxW array, got {mask.dtype} {mask.shape}")
    box, footprint = stroke_footprint(points, radius, mask.shape)
    if box is None:
        return None
    x1, y1, x2, y2 = box
    before = mask[y1:y2, x1:x2].copy()
    after = (before & ~footprint) if erase else (before | footprint)
    mask[y1:y2, x1:x2] = after
    return MaskPatch(box=box, before=before, after=after)
