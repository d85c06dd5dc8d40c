"""Polygon detail: the simplification tolerance of an AI polygon and its vertex count, fast enough for a slider.

:class:`PolygonDetail` traces the mask's boundaries once (on the mask's box only) and then simplifies them at
any tolerance (Douglas-Peucker on the traced contours), so moving the slider costs a few milliseconds, not a
re-trace of the mask. Its polygons are exactly :func:`anylabel.geometry.mask_to_polygons`' (the same
tracing and simplification, :func:`anylabel.geometry.polygons.trace_parts` / ``parts_to_polygons``), so
what the slider shows is what F turns the preview into at that tolerance.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import numpy as np

from anylabel.geometry.polygons import parts_to_polygons, trace_parts

IntBox = Tuple[int, int, int, int]


class PolygonDetail:
    """The polygons of one mask at any simplification tolerance.

    Args:
        mask: bool HxW full-size mask (e.g. the AI preview's candidate mask).
        box: its tight box (x1, y1, x2, y2 exclusive; ``MaskCandidate.box``), found when not given.
        min_area: parts with fewer pixels are dropped (the ``min_part_area`` setting).
        max_parts: at most this many parts, largest first; 0 keeps all.
    """

    def __init__(self, mask: np.ndarray, box: Optional[IntBox] = None, min_area: float = 1.0,
                 max_parts: int = 0) -> None:
        from anylabel.backends.masks import tight_box

        mask = np.asarray(mask, dtype=bool)
        self.box = box if box is not None else tight_box(mask)
        self.max_parts = max_parts
        self._counts: Dict[float, int] = {}
        if self.box is None:
            self._parts, self._offset = [], np.zeros(2)
            return
        x0, y0, x1, y1 = self.box
        self._parts = trace_parts(mask[y0:y1, x0:x1], min_area)
        self._offset = np.array([x0, y0], dtype=np.float64)

    def polygons(self, tolerance: float) -> List[np.ndarray]:
        """Kx2 (x, y) float64 polygons in full-image pixels at ``tolerance`` pixels, largest part first."""
        return [p + self._offset for p in parts_to_polygons(self._parts, tolerance, self.max_parts)]

    def vertex_count(self, tolerance: float) -> int:
        """The total number of vertices of :meth:`polygons` at ``tolerance`` (memoised per tolerance)."""
        key = float(tolerance)
        if key not in self._counts:
            self._counts[key] = sum(len(p) for p in parts_to_polygons(self._parts, key, self.max_parts))
        return self._counts[key]

    @property
    def parts(self) -> int:
        """How many parts (polygons) the mask gives."""
        return len(self._parts[: self.max_parts] if self.max_parts > 0 else self._parts)
