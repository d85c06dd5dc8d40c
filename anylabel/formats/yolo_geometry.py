"""One polygon per YOLO line: joining the parts of an instance, and splitting them again on import.

A YOLO segmentation label has one polygon per object, but one of our instances can have several parts
(shapes sharing a group_id, a mask with several blobs, a polygon clipped into pieces). Like ultralytics' own
COCO converter (``ultralytics.data.converter.merge_multi_segment``) we join the parts with zero-width
bridges: the path walks to the nearest vertex of the next part, around that part, and back the same way.
The bridge adds no area (its two sides coincide), so the rasterised instance is the union of its parts
plus, at most, the one-pixel line ``cv2.fillPoly`` draws along each bridge.

Our variant attaches parts largest first, each at the vertex nearest to the polygon built so far, so any
number of parts joins with short bridges. Every bridge repeats a vertex exactly (the attachment vertex and
the first vertex of the part), which is what :func:`split_bridged` uses to recover the parts losslessly.
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np

from anylabel.formats.instances import Instance, shoelace
from anylabel.geometry.polygons import mask_to_polygons


def bridge_parts(parts: Sequence[np.ndarray]) -> np.ndarray:
    """Join polygons (each Kx2 (x, y)) into one vertex sequence with zero-width bridges.

    A single part is returned unchanged (as a copy).
    """
    if len(parts) == 1:
        return np.asarray(parts[0], dtype=np.float64).reshape(-1, 2).copy()
    ordered = sorted((np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in parts), key=lambda p: -shoelace(p))
    merged = ordered[0].copy()
    for part in ordered[1:]:
        d = ((merged[:, None, :] - part[None, :, :]) ** 2).sum(-1)
        i, j = np.unravel_index(int(np.argmin(d)), d.shape)
        loop = np.roll(part, -j, axis=0)
        loop = np.vstack([loop, loop[:1]])  # around the part and back to its entry vertex
        merged = np.vstack([merged[: i + 1], loop, merged[i:]])  # ... then back to the attachment vertex
    return merged


def split_bridged(points: np.ndarray) -> List[np.ndarray]:
    """Undo :func:`bridge_parts`: cut the sequence into its closed loops at exactly repeated vertices.

    Loops of fewer than 3 vertices (the bridges themselves) are dropped. A polygon with no repeated vertex
    comes back as itself. Works for polygons bridged by ultralytics' ``merge_multi_segment`` too.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    stack: List[Tuple[float, float]] = []
    where: Dict[Tuple[float, float], int] = {}
    loops: List[np.ndarray] = []
    for x, y in pts:
        v = (float(x), float(y))
        k = where.get(v)
        if k is None:
            where[v] = len(stack)
            stack.append(v)
            continue
        loop = stack[k:]  # from the first visit of v to just before this one: a closed loop
        for u in stack[k + 1 :]:
            del where[u]
        del stack[k + 1 :]
        if len(loop) >= 3:
            loops.append(np.asarray(loop))
    if len(stack) >= 3:
        loops.append(np.asarray(stack))
    return loops


def instance_outline(inst: Instance, size: Tuple[int, int]) -> List[np.ndarray]:
    """The polygons of an instance: its polygons, plus the outer boundaries of its masks' blobs."""
    parts = list(inst.polygons)
    for m in inst.masks:
        # a tolerance of 0.01 px only drops collinear boundary pixels: the exact outline, fewer vertices
        parts += mask_to_polygons(m, tolerance=0.01)
    return parts


def normalise(points: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Pixel (x, y) to YOLO's [0, 1] coordinates (x / w, y / h), clipped to the unit square."""
    h, w = size
    return np.clip(np.asarray(points, dtype=np.float64) / np.array([w, h], dtype=np.float64), 0.0, 1.0)


def format_row(class_id: int, values: np.ndarray) -> str:
    """``"cls v1 v2 ..."`` with 6 decimals (1/1,000,000 of the image: 0.004 px on a 4,000 px side)."""
    vals = np.asarray(values, dtype=np.float64).ravel() + 0.0  # + 0.0 turns -0.0 into 0.0
    return f"{class_id} " + " ".join(["%.6f"] * len(vals)) % tuple(vals.tolist())
