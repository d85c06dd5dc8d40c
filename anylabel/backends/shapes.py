"""Segmenter answers to document shapes: polygons (parts share a group_id) or one RLE mask shape."""
from __future__ import annotations

from typing import Iterable, List, Optional

from anylabel.backends.prompt import MaskCandidate
from anylabel.document.shape import Shape
from anylabel.geometry import rle_encode


def next_group_id(shapes: Iterable[Shape]) -> int:
    """One more than the largest group_id in use (1 when none is)."""
    ids = [s.group_id for s in shapes if s.group_id is not None]
    return max(ids) + 1 if ids else 1


def candidate_to_shapes(candidate: MaskCandidate, label: str, as_mask: bool = False,
                        group_id: Optional[int] = None, tolerance: float = 1.0, min_area: float = 16.0,
                        max_parts: int = 0) -> List[Shape]:
    """Shapes for one candidate.

    Args:
        as_mask: one ``mask`` shape carrying the full-image RLE (holes kept exactly) instead of polygons.
        group_id: the id every part gets when the mask has several parts (a single shape gets None); use
            :func:`next_group_id` of the annotation's shapes. Required when the mask may have parts.
        tolerance: polygon simplification in pixels; min_area: parts with fewer pixels are dropped.
    Returns:
        [] for an empty mask, else one mask shape or one polygon per part (largest first).
    """
    if candidate.box is None and not candidate.mask.any():
        return []
    if as_mask:
        box = candidate.box
        pts = [(box[0], box[1]), (box[2] - 1, box[3] - 1)] if box else [(0.0, 0.0), (0.0, 0.0)]
        return [Shape(label=label, points=pts, shape_type="mask", score=candidate.score,
                      mask=rle_encode(candidate.mask))]
    parts = candidate.polygons(tolerance=tolerance, min_area=min_area, max_parts=max_parts)
    if len(parts) > 1 and group_id is None:
        raise ValueError("a mask with several parts needs a group_id for its polygons")
    gid = group_id if len(parts) > 1 else None
    return [Shape(label=label, points=[(float(x), float(y)) for x, y in p], shape_type="polygon",
                  group_id=gid, score=candidate.score) for p in parts]
