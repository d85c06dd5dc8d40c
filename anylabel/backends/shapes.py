"""Segmenter answers to document shapes: the one mask -> shape function of anylabel.

The CLI (``segment``, ``everything``, the text prompt), ``autolabel`` and the GUI's F (through
:meth:`anylabel.session.AnnotationSession.finish`) all call :func:`candidate_to_shapes`, so one mask makes
the same shapes everywhere. Its rules, chosen for what an annotator expects:

* parts smaller than ``min_area`` pixels (default :data:`MIN_PART_AREA`, the settings' ``min_part_area``)
  are specks and are dropped; but when *every* part is that small the object the user asked for is kept
  as its largest part (a small object is still an object; an empty answer is not a reason to lose it);
  vertices are clipped to the image's pixels, and a part without three distinct vertices is no polygon
  (a 1x1 image's one pixel: the mask output keeps it);
* polygons: one per part, largest first; parts of one object share a group id (a single polygon gets
  none), ``group_id`` or one more than the largest in use (:func:`next_group_id`);
* a mask shape: the full-image RLE (holes kept exactly); its points are the mask's tight pixel box,
  ``[(x1, y1), (x2, y2)]`` with x2 / y2 the last column / row *inside* the mask (labelme's form).
"""
from __future__ import annotations

from typing import Iterable, List, Optional

import numpy as np

from anylabel.backends.masks import tight_box
from anylabel.backends.prompt import MaskCandidate
from anylabel.document.shape import Shape
from anylabel.geometry import rle_encode

#: the default smallest part (pixels) worth a polygon; equal to :class:`anylabel.config.Config`'s min_part_area
MIN_PART_AREA = 25.0


def next_group_id(shapes: Iterable[Shape]) -> int:
    """One more than the largest group_id in use (1 when none is)."""
    ids = [s.group_id for s in shapes if s.group_id is not None]
    return max(ids) + 1 if ids else 1


def candidate_to_shapes(candidate: MaskCandidate, label: str, as_mask: bool = False,
                        group_id: Optional[int] = None, tolerance: float = 1.0, min_area: float = MIN_PART_AREA,
                        max_parts: int = 0, existing: Iterable[Shape] = (), description: str = "") -> List[Shape]:
    """Shapes for one candidate (bool HxW ``candidate.mask`` at the image's size).

    Args:
        as_mask: one ``mask`` shape carrying the full-image RLE instead of polygons.
        group_id: the group id every shape gets (the user's choice); ``None`` = automatic: one more than the
            largest in ``existing`` when the mask has several parts, none for a single shape.
        tolerance: polygon simplification in pixels; min_area: parts with fewer pixels are dropped, unless
            every part is smaller (then the largest is kept); max_parts: at most this many polygons (0 = all).
        existing: the shapes already in the annotation (for the automatic group id).
        description: the shapes' free text.
    Returns:
        [] for an empty mask, else one mask shape or one polygon per part (largest first).
    """
    box = candidate.box if candidate.box is not None else tight_box(candidate.mask)
    if box is None:
        return []
    if as_mask:
        pts = [(float(box[0]), float(box[1])), (float(box[2] - 1), float(box[3] - 1))]
        return [Shape(label=label, points=pts, shape_type="mask", score=candidate.score, group_id=group_id,
                      mask=rle_encode(candidate.mask), description=description)]
    parts = candidate.polygons(tolerance=tolerance, min_area=min_area, max_parts=max_parts)
    if not parts:  # every part is smaller than min_area: the object itself, not a speck, was asked for
        parts = candidate.polygons(tolerance=tolerance, min_area=0.0, max_parts=1)
    h, w = candidate.mask.shape[:2]
    parts = [np.clip(p, 0.0, [w - 1.0, h - 1.0]) for p in parts]  # a vertex is a pixel of the image
    parts = [p for p in parts if len(np.unique(p, axis=0)) >= 3]  # no polygon without an area
    gid = group_id if group_id is not None else (next_group_id(existing) if len(parts) > 1 else None)
    return [Shape(label=label, points=[(float(x), float(y)) for x, y in p], shape_type="polygon",
                  group_id=gid, score=candidate.score, description=description) for p in parts]
