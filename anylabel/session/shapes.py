"""Plain shape edits the session applies (new Shape objects; the inputs are never changed). Qt-free."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from anylabel.document import Shape
from anylabel.geometry import rle_decode, rle_encode


def translated(shape: Shape, dx: float, dy: float) -> Shape:
    """``shape`` moved by (dx, dy) image pixels (same id). A mask shape moves by whole pixels (its RLE is
    shifted, what leaves the image is cut off) and its box moves with it."""
    new = shape.copy()
    new.points = [(px + dx, py + dy) for px, py in shape.points]
    if new.shape_type == "mask" and new.mask is not None:
        m = rle_decode(new.mask)
        shifted = np.zeros_like(m)
        h, w = m.shape
        ix, iy = int(round(dx)), int(round(dy))
        src = m[max(0, -iy): h - max(0, iy), max(0, -ix): w - max(0, ix)]
        shifted[max(0, iy): max(0, iy) + src.shape[0], max(0, ix): max(0, ix) + src.shape[1]] = src
        new.mask = rle_encode(shifted)
        new.points = [(px + ix - dx, py + iy - dy) for px, py in new.points]  # keep box and mask in step
    return new


def placed(shape: Shape, size: Tuple[int, int]) -> Optional[Shape]:
    """A copy of ``shape`` (a new shape: no id) fitted into an image of ``size`` (h, w): points clamped to
    the image; None for a mask shape of another image size (it cannot be placed)."""
    h, w = size
    new = shape.copy()
    new.id = None
    if new.shape_type != "mask":
        new.points = [(min(max(x, 0.0), w - 1.0), min(max(y, 0.0), h - 1.0)) for x, y in new.points]
    elif new.mask is not None and tuple(new.mask.get("size", ())) != (h, w):
        return None
    return new


def relabeled(shape: Shape, label: Optional[str] = None, group_id: Optional[int] = None, set_group: bool = False,
              description: Optional[str] = None, flags: Optional[dict] = None) -> Shape:
    """A copy (same id) with the given label details changed; ``None`` keeps a detail, except ``group_id``,
    which is set (also to None) when ``set_group``."""
    new = shape.copy()
    if label is not None:
        new.label = label
    if set_group:
        new.group_id = group_id
    if description is not None:
        new.description = description
    if flags is not None:
        new.flags = dict(flags)
    return new


def front_order(n: int, moving: Sequence[int], to_front: bool) -> list:
    """The permutation (old index per new position) that draws the shapes at ``moving`` last (on top) or
    first, keeping the order within each group."""
    chosen = set(moving)
    rest = [i for i in range(n) if i not in chosen]
    picked = [i for i in range(n) if i in chosen]
    return rest + picked if to_front else picked + rest
