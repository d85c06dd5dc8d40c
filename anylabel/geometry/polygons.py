"""Masks to polygons and back.

Rasterisation follows labelme's ``shape_to_mask`` (PIL ``ImageDraw`` with the outline filled), so masks
we compute from polygons equal the ones labelme computes from the same file.

Holes and multiple parts: a LabelMe polygon is one simple ring, so :func:`mask_to_polygons` returns the
outer boundary of every connected part (largest first). Holes are filled. Callers that turn one mask
into several polygons give them a shared ``group_id`` so that they stay one instance; users who need
holes exactly choose the mask output (a ``mask`` shape with RLE) instead of polygons.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image, ImageDraw

from anylabel.errors import GeometryError

#: radius in pixels of a ``point`` shape and width of a ``line`` when rasterised (labelme's defaults)
POINT_RADIUS = 2.5
LINE_WIDTH = 10


def mask_to_polygons(
    mask: np.ndarray, tolerance: float = 1.0, min_area: float = 1.0, max_parts: int = 0
) -> List[np.ndarray]:
    """Outer boundaries of the parts of a mask.

    Args:
        mask: bool HxW (any non-zero value counts as foreground).
        tolerance: simplification tolerance in pixels (Douglas-Peucker); 0 keeps every boundary pixel.
        min_area: parts with fewer pixels than this are dropped (noise from the model).
        max_parts: keep at most this many parts, largest first; 0 keeps all.

    Returns:
        A list of Kx2 float64 arrays of (x, y) pixel vertices, K >= 3, largest part first. Empty for an
        empty mask.
    """
    return parts_to_polygons(trace_parts(mask, min_area), tolerance, max_parts)


@dataclass
class TracedPart:
    """One connected part of a mask, traced once (:func:`trace_parts`) and simplified at any tolerance
    (:func:`parts_to_polygons`), so a tolerance slider does not trace the mask again.

    Attributes:
        area: the part's pixel count.
        contour: its outer boundary, every boundary pixel (OpenCV's K x 1 x 2 int32 (x, y)).
        rect: its bounding rectangle (x, y, w, h) in pixels.
    """

    area: float
    contour: np.ndarray
    rect: Tuple[int, int, int, int]


def trace_parts(mask: np.ndarray, min_area: float = 1.0) -> List[TracedPart]:
    """The connected parts of a bool HxW mask with at least ``min_area`` pixels, largest first."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise GeometryError(f"a mask must be 2-D (HxW), got shape {mask.shape}")
    m = np.ascontiguousarray(mask.astype(np.uint8))
    contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    parts: List[TracedPart] = []
    for contour in contours:
        # Pixel count of the part, not the area of its outline: a 1-pixel-wide line has outline area 0.
        x, y, w, h = cv2.boundingRect(contour)
        area = float(np.count_nonzero(m[y : y + h, x : x + w])) if len(contours) > 1 else float(m.sum())
        if area >= min_area:
            parts.append(TracedPart(area, contour, (x, y, w, h)))
    parts.sort(key=lambda p: -p.area)
    return parts


def parts_to_polygons(parts: Sequence[TracedPart], tolerance: float = 1.0, max_parts: int = 0) -> List[np.ndarray]:
    """The polygons of traced parts at ``tolerance`` (see :func:`mask_to_polygons`), in the parts' order."""
    out = []
    for part in parts[:max_parts] if max_parts > 0 else parts:
        contour = part.contour
        if tolerance > 0 and len(contour) > 3:
            contour = cv2.approxPolyDP(contour, tolerance, True)
        pts = contour.reshape(-1, 2).astype(np.float64)
        if len(pts) < 3:
            # a single pixel or a straight run of pixels: use its box, so the polygon keeps its area
            x, y, w, h = part.rect
            pts = np.array([[x, y], [x + w - 1, y], [x + w - 1, y + h - 1], [x, y + h - 1]], dtype=np.float64)
            if w == 1 or h == 1:
                pts = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=np.float64)
        out.append(pts)
    return out


def simplify_polygon(points: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas-Peucker simplification of a closed polygon, keeping at least 3 vertices.

    Args:
        points: Nx2 (x, y) float pixels.
        tolerance: the largest distance in pixels a removed vertex may lie from the result.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) <= 3 or tolerance <= 0:
        return pts.copy()
    simplified = cv2.approxPolyDP(pts.astype(np.float32).reshape(-1, 1, 2), tolerance, True).reshape(-1, 2)
    if len(simplified) < 3:
        return pts.copy()
    return simplified.astype(np.float64)


def polygon_to_mask(points: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Rasterise a polygon (Nx2 (x, y) pixels, N >= 3) into a bool mask of ``size`` = (height, width)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 3:
        raise GeometryError(f"a polygon needs at least 3 points, got {len(pts)}")
    return _draw(size, lambda d: d.polygon([tuple(p) for p in pts], outline=1, fill=1))


def shape_to_mask(shape_type: str, points: Sequence[Tuple[float, float]], size: Tuple[int, int]) -> np.ndarray:
    """Rasterise any LabelMe shape type (except ``mask``, which carries its own RLE) like labelme does."""
    pts = [tuple(map(float, p)) for p in points]
    if shape_type in ("polygon", "rotation"):  # a rotation is its four corners' polygon
        return polygon_to_mask(np.asarray(pts), size)
    if shape_type == "rectangle":
        (x1, y1), (x2, y2) = pts[:2]
        box = [min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)]
        return _draw(size, lambda d: d.rectangle(box, outline=1, fill=1))
    if shape_type == "circle":
        (cx, cy), (px, py) = pts[:2]
        r = float(np.hypot(cx - px, cy - py))
        return _draw(size, lambda d: d.ellipse([cx - r, cy - r, cx + r, cy + r], outline=1, fill=1))
    if shape_type in ("line", "linestrip"):
        return _draw(size, lambda d: d.line(pts, fill=1, width=LINE_WIDTH))
    if shape_type in ("point", "points"):
        r = POINT_RADIUS

        def dots(d: ImageDraw.ImageDraw) -> None:
            for cx, cy in pts:
                d.ellipse([cx - r, cy - r, cx + r, cy + r], outline=1, fill=1)

        return _draw(size, dots)
    raise GeometryError(f"cannot rasterise shape type {shape_type!r}")


def _draw(size: Tuple[int, int], paint) -> np.ndarray:
    h, w = int(size[0]), int(size[1])
    if h <= 0 or w <= 0:
        raise GeometryError(f"invalid mask size {size}")
    canvas = Image.new("L", (w, h), 0)
    paint(ImageDraw.Draw(canvas))
    return np.asarray(canvas, dtype=bool)
