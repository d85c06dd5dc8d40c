"""Union, subtraction and intersection of finished shapes, holes kept.

Two exact paths, chosen by the operands:

* all operands are vector shapes (polygon, rectangle, circle, rotation): shapely on the geometry
  (:func:`shape_geometry`; a self-intersecting polygon is repaired with ``make_valid``; a circle is a
  128-gon). The result is polygons, one per part sharing a group id, when it has no holes. **A result with
  holes becomes one ``mask`` shape** (the geometry rasterised, holes cut out): a LabelMe polygon is a single
  ring, so holes as polygons would be lost on the first save or silently filled by every reader. Formats
  that keep polygons with holes can take the rings from :func:`geometry_rings`.
* a ``mask`` shape takes part: the operation runs on the pixels (each operand rasterised as labelme does,
  :func:`anylabel.editing.convert.shape_mask`), so no mask pixel is approximated by a polygon, and the result is
  a ``mask`` shape (polygons on request).

The result takes the label details of the first shape (:func:`anylabel.editing.convert.mask_to_shapes`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

from anylabel.document import Shape
from anylabel.editing.convert import has_area, mask_to_shapes, shape_mask, take_details
from anylabel.errors import GeometryError

OPERATIONS = ("union", "subtract", "intersect")
#: segments per quarter circle when a circle becomes a polygon (area within 0.05 % of the circle's)
CIRCLE_QUAD_SEGMENTS = 32

Ring = List[Tuple[float, float]]

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry


def shape_geometry(shape: Shape) -> "BaseGeometry":
    """A vector shape as a shapely (Multi)Polygon in image pixels (x, y).

    Raises:
        GeometryError: a mask shape (use its pixels), a shape without an area, or too few points.
    """
    import shapely
    from shapely.geometry import Point, Polygon, box

    pts = shape.points
    t = shape.shape_type
    if t == "rectangle" and len(pts) >= 2:
        (x1, y1), (x2, y2) = pts[:2]
        return box(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
    if t == "circle" and len(pts) >= 2:
        (cx, cy), (px, py) = pts[:2]
        return Point(cx, cy).buffer(float(np.hypot(px - cx, py - cy)), quad_segs=CIRCLE_QUAD_SEGMENTS)
    if t in ("polygon", "rotation") and len(pts) >= 3:
        poly = Polygon(pts)
        return poly if poly.is_valid else _polygonal(shapely.make_valid(poly))
    if t == "mask":
        raise GeometryError("a mask shape has pixels, not a polygon: combine it on the pixels")
    raise GeometryError(f"a {t} shape with {len(pts)} points has no area")


def _polygonal(geom: "BaseGeometry") -> "BaseGeometry":
    """The polygonal part of a geometry (make_valid may add lines and points)."""
    from shapely.geometry import GeometryCollection, MultiPolygon, Polygon

    if isinstance(geom, (Polygon, MultiPolygon)):
        return geom
    if isinstance(geom, GeometryCollection):
        polys = [g for part in geom.geoms for g in (getattr(_polygonal(part), "geoms", None) or [_polygonal(part)])
                 if isinstance(g, Polygon) and not g.is_empty]
        return MultiPolygon(polys)
    return MultiPolygon()


def geometry_rings(geom: "BaseGeometry") -> List[Tuple[Ring, List[Ring]]]:
    """(exterior, [interiors]) per polygon of a shapely geometry, largest first; rings as (x, y) lists without
    the closing repeat of the first vertex."""
    polys = sorted(_parts(geom), key=lambda p: -p.area)
    return [([tuple(c) for c in p.exterior.coords[:-1]], [[tuple(c) for c in r.coords[:-1]] for r in p.interiors])
            for p in polys]


def _parts(geom: "BaseGeometry") -> list:
    geom = _polygonal(geom)
    return [p for p in getattr(geom, "geoms", [geom]) if not p.is_empty]


def geometry_mask(geom: "BaseGeometry", hw: Tuple[int, int]) -> np.ndarray:
    """A shapely geometry as a bool mask of ``hw`` = (height, width), rasterised like labelme's polygons
    (outlines included, holes cut out with their outline kept as the shape's boundary)."""
    h, w = int(hw[0]), int(hw[1])
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    for exterior, interiors in geometry_rings(geom):
        if len(exterior) >= 2:
            draw.polygon(exterior, fill=1, outline=1)
        for ring in interiors:
            if len(ring) >= 2:
                draw.polygon(ring, fill=0, outline=1)
    return np.asarray(canvas, dtype=bool)


def combine_geometry(shapes: Sequence[Shape], operation: str) -> "BaseGeometry":
    """The shapely result of ``operation`` over vector shapes: the union of all, the first minus the others,
    or the intersection of all."""
    import shapely

    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}; expected one of {OPERATIONS}")
    geoms = [shape_geometry(s) for s in shapes]
    if operation == "union":
        return _polygonal(shapely.union_all(geoms))
    if operation == "intersect":
        return _polygonal(shapely.intersection_all(geoms))
    return _polygonal(shapely.difference(geoms[0], shapely.union_all(geoms[1:])))


def combine_masks(shapes: Sequence[Shape], operation: str, hw: Tuple[int, int]) -> np.ndarray:
    """The pixel result (bool HxW) of ``operation`` over any area shapes, each rasterised at ``hw``."""
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}; expected one of {OPERATIONS}")
    masks = [shape_mask(s, hw) for s in shapes]
    out = masks[0].copy()
    for m in masks[1:]:
        if operation == "union":
            out |= m
        elif operation == "intersect":
            out &= m
        else:
            out &= ~m
    return out


def combine(shapes: Sequence[Shape], operation: str, hw: Tuple[int, int], as_mask: Optional[bool] = None,
            group_id: Optional[int] = None, tolerance: float = 1.0, min_area: float = 1.0) -> List[Shape]:
    """The shapes that replace ``shapes`` after ``operation`` (see the module docstring for the two paths).

    Args:
        shapes: two or more shapes with an area, in the user's order (``subtract`` keeps the first).
        operation: ``"union"``, ``"subtract"`` or ``"intersect"``.
        hw: (height, width) of the image, for mask results.
        as_mask: None: polygons when the result has no holes and no mask took part, else one mask shape;
            True: always one mask shape; False: polygons (refused when holes would be lost).
        group_id: the id parts of a multi-part polygon result share (default: the first shape's group id).
        tolerance, min_area: for polygons traced from pixels.
    Returns:
        [] when nothing is left (e.g. disjoint shapes intersected), else the result shapes.
    Raises:
        GeometryError: fewer than two shapes, a shape without an area, or ``as_mask=False`` with holes.
    """
    if len(shapes) < 2:
        raise GeometryError(f"a boolean edit needs at least two shapes, got {len(shapes)}")
    flat = [s for s in shapes if not has_area(s)]
    if flat:
        raise GeometryError(f"a {flat[0].shape_type} shape has no area to combine")
    first = shapes[0]
    if any(s.shape_type == "mask" for s in shapes):
        mask = combine_masks(shapes, operation, hw)
        return mask_to_shapes(mask, first, as_mask=as_mask is not False, group_id=group_id, tolerance=tolerance,
                              min_area=min_area)
    geom = combine_geometry(shapes, operation)
    rings = geometry_rings(geom)
    if not rings:
        return []
    holes = any(interiors for _, interiors in rings)
    if as_mask is False and holes:
        raise GeometryError("the result has holes, which LabelMe polygons cannot keep: choose the mask output")
    if as_mask or holes:
        return mask_to_shapes(geometry_mask(geom, hw), first, as_mask=True)
    gid = group_id if group_id is not None else first.group_id
    if len(rings) > 1 and gid is None:
        raise ValueError("a result with several parts needs a group_id for its polygons")
    return [take_details(Shape(first.label, [(float(x), float(y)) for x, y in exterior]), first,
                         group_id=gid if len(rings) > 1 else first.group_id) for exterior, _ in rings]
