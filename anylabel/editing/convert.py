"""A shape with an area as its full-size mask, and a mask back to a shape.

Shape -> mask rasterises like labelme (:func:`anylabel.geometry.shape_to_mask`: PIL, outline included) for
polygon, rectangle, circle and rotation, and decodes a mask shape's RLE. Mask -> shape goes through the core's
one mask -> shape function (:func:`anylabel.backends.shapes.candidate_to_shapes`), so a brushed shape becomes
exactly what a model's answer would: one ``mask`` shape (every pixel kept, holes included) or polygons (outer
boundaries, parts sharing a group id). The label details of the edited shape (label, flags, attributes,
difficult, description, group id, track id, unknown keys) carry over; the model's ``score`` does not, since
the pixels are no longer the model's.
"""
from __future__ import annotations

import copy
from typing import Iterable, List, Optional, Tuple

import numpy as np

from anylabel.document import Shape
from anylabel.errors import GeometryError
from anylabel.geometry import rle_decode, shape_to_mask

#: shape types with an area (the ones a brush, a boolean edit or a re-prompt can work on)
AREA_TYPES = ("polygon", "rectangle", "circle", "rotation", "mask")


def has_area(shape: Shape) -> bool:
    """True for the shape types in :data:`AREA_TYPES`."""
    return shape.shape_type in AREA_TYPES


def shape_mask(shape: Shape, hw: Tuple[int, int]) -> np.ndarray:
    """The shape's pixels as a bool mask of ``hw`` = (height, width).

    Raises:
        GeometryError: a shape type without an area (point, line, ...), a mask shape without its RLE or of
            another size, or too few points.
    """
    if shape.shape_type == "mask":
        if shape.mask is None:
            raise GeometryError("a mask shape without its mask")
        mask = rle_decode(shape.mask)
        if mask.shape != tuple(hw):
            raise GeometryError(f"the mask is {mask.shape[1]}x{mask.shape[0]}, the image {hw[1]}x{hw[0]}")
        return mask
    if not has_area(shape):
        raise GeometryError(f"a {shape.shape_type} shape has no area to turn into a mask")
    return shape_to_mask(shape.shape_type, shape.points, hw)


def mask_to_shapes(mask: np.ndarray, like: Shape, as_mask: bool = True, group_id: Optional[int] = None,
                   tolerance: float = 1.0, min_area: float = 1.0, existing: Iterable[Shape] = ()) -> List[Shape]:
    """Shapes for a bool HxW ``mask`` that replaces the shape ``like`` (whose details they take).

    Args:
        as_mask: one ``mask`` shape (exact, holes kept) instead of polygons.
        group_id: for polygons of a mask with several parts: the id they share (default: ``like``'s group id,
            else one more than the largest in ``existing``, the annotation's other shapes).
        tolerance, min_area: polygon simplification in pixels and the smallest part kept (pixels).
    Returns:
        [] for an empty mask (the shape was erased), else one mask shape or one polygon per part.
    """
    from anylabel.backends.masks import tight_box
    from anylabel.backends.prompt import MaskCandidate
    from anylabel.backends.shapes import candidate_to_shapes

    mask = np.asarray(mask, dtype=bool)
    box = tight_box(mask)
    if box is None:
        return []
    gid = group_id if group_id is not None else like.group_id
    shapes = candidate_to_shapes(MaskCandidate(mask=mask, score=0.0, box=box), like.label, as_mask=as_mask,
                                 group_id=gid, tolerance=tolerance, min_area=min_area, existing=existing)
    for s in shapes:
        take_details(s, like, group_id=like.group_id if len(shapes) == 1 else s.group_id)
    return shapes


def take_details(shape: Shape, like: Shape, group_id: Optional[int] = None) -> Shape:
    """Give ``shape`` (in place; also returned) the label details of ``like``: label, flags, attributes,
    difficult, description, track id and unknown keys; ``group_id`` as given; no score (see the module
    docstring)."""
    shape.label, shape.score, shape.group_id = like.label, None, group_id
    shape.flags, shape.attributes = dict(like.flags), dict(like.attributes)
    shape.difficult, shape.description, shape.track_id = like.difficult, like.description, like.track_id
    shape.extra = copy.deepcopy(like.extra)
    return shape
