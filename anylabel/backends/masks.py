"""Low-resolution logits to full-size masks, fast; box exclusion; polygons of a candidate via its box.

Why this exists: upstream predictors upsample every candidate's logits to the full image with
``F.interpolate`` before thresholding. At 4000x3000 that is 3 x 12 M floats per click (hundreds of ms on a
CPU), most of them far from the object. Here only the part of the logit grid that can be positive is
interpolated (bilinear, the same sampling positions as ``F.interpolate(align_corners=False)``, with
cv2.warpAffine), the rest of the full-size mask is left False, and the mask's box is returned so that
contours are traced on the box crop only. The mask in the result is still bool HxW at the full size.
"""
from __future__ import annotations

import math
from typing import Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from anylabel.geometry import mask_to_polygons

IntBox = Tuple[int, int, int, int]  # x1, y1, x2, y2 with x2, y2 exclusive


def logits_to_mask(
    logits: np.ndarray,
    valid_hw: Tuple[float, float],
    out_hw: Tuple[int, int],
    threshold: float = 0.0,
    pre_scale: int = 1,
) -> Tuple[np.ndarray, Optional[IntBox]]:
    """Bilinear upsampling of low-resolution logits to a full-size bool mask, computed on the mask's box only.

    Args:
        logits: float h x w logits (SAM: 256x256).
        valid_hw: (height, width) in logit pixels of the part of the grid that covers the image, from the
            top-left corner (SAM pads the resized image at the bottom/right: ``input_size / 4``; SAM2
            stretches the image over the whole grid: ``(256, 256)``).
        out_hw: (H, W) of the full-size image.
        threshold: logits above it are foreground.
        pre_scale: first upsample the whole grid by this factor (cv2.resize, bilinear), as SAM does
            (256 -> 1024, then crop, then to the image size): replicating both stages keeps the mask equal to
            SamPredictor's. ``valid_hw`` is given in the grid's own (pre-scale) pixels.

    Returns:
        (mask, box): bool HxW mask and its tight box (x1, y1, x2, y2 exclusive) or None when empty.
    """
    H, W = int(out_hw[0]), int(out_hw[1])
    vh, vw = float(valid_hw[0]) * pre_scale, float(valid_hw[1]) * pre_scale
    fh, fw = int(math.ceil(vh)), int(math.ceil(vw))  # the part of the (pre-scaled) grid that covers the image
    grid = np.asarray(logits, dtype=np.float32)
    mask = np.zeros((H, W), dtype=bool)
    sy, sx = vh / H, vw / W  # logit pixels per output pixel
    oy = ox = 0  # grid coordinates of the window computed below
    if pre_scale != 1:
        # Bilinear interpolation never exceeds its largest input, so positives of the pre-scaled grid lie next
        # to positives of the coarse one: pre-scale only a window of coarse cells around those (the coarse
        # rows/cols that reach the valid part). cv2.resize's values inside a window equal the whole grid's
        # (integer scale: same sampling phases); its edge handling only changes values within 2 fine cells of
        # the window's edge, and the margin keeps those away from every cell the warp below reads (within
        # 1 + one output pixel's span of a positive cell).
        margin = 3 + int(math.ceil(max(sy, sx) / pre_scale))
        coarse = grid[: min(grid.shape[0], fh // pre_scale + 2), : min(grid.shape[1], fw // pre_scale + 2)]
        pos = coarse > threshold
        crows = np.flatnonzero(pos.any(axis=1))
        if crows.size == 0:
            return mask, None
        ccols = np.flatnonzero(pos.any(axis=0))
        r0, r1 = max(0, int(crows[0]) - margin), min(grid.shape[0], int(crows[-1]) + margin + 1)
        c0, c1 = max(0, int(ccols[0]) - margin), min(grid.shape[1], int(ccols[-1]) + margin + 1)
        window = cv2.resize(np.ascontiguousarray(grid[r0:r1, c0:c1]), ((c1 - c0) * pre_scale, (r1 - r0) * pre_scale),
                            interpolation=cv2.INTER_LINEAR)
        oy, ox = r0 * pre_scale, c0 * pre_scale
        grid = window[: max(0, fh - oy), : max(0, fw - ox)]
    else:
        grid = grid[:fh, :fw]
    grid = np.ascontiguousarray(grid)
    pos = grid > threshold
    rows = np.flatnonzero(pos.any(axis=1)) + oy  # in whole-grid coordinates
    if rows.size == 0:
        return mask, None  # bilinear interpolation never exceeds its largest input: nothing can be positive
    cols = np.flatnonzero(pos.any(axis=0)) + ox
    # output pixel x samples the grid at (x + 0.5) * sx - 0.5; keep the pixels whose sample lies within one
    # cell of a positive cell (bilinear support), clipped to the image.
    x0 = max(0, int(math.floor((cols[0] - 1 + 0.5) / sx - 0.5)))
    x1 = min(W, int(math.ceil((cols[-1] + 1 + 0.5) / sx - 0.5)) + 1)
    y0 = max(0, int(math.floor((rows[0] - 1 + 0.5) / sy - 0.5)))
    y1 = min(H, int(math.ceil((rows[-1] + 1 + 0.5) / sy - 0.5)) + 1)
    if x1 <= x0 or y1 <= y0:
        return mask, None
    # the same sampling positions, in the window's coordinates (cv2's fixed-point sub-pixel rounding of the
    # shifted offset can move a boundary pixel: well within the tolerance to upstream's F.interpolate)
    m = np.array([[sx, 0.0, (x0 + 0.5) * sx - 0.5 - ox], [0.0, sy, (y0 + 0.5) * sy - 0.5 - oy]], dtype=np.float64)
    crop = cv2.warpAffine(grid, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)
    crop_mask = crop > threshold
    mask[y0:y1, x0:x1] = crop_mask
    box = _tight_box(crop_mask)
    if box is None:
        return mask, None
    return mask, (box[0] + x0, box[1] + y0, box[2] + x0, box[3] + y0)


def resize_mask(small: np.ndarray, out_hw: Tuple[int, int]) -> Tuple[np.ndarray, Optional[IntBox]]:
    """Upsample a bool mask that covers the whole image at a lower resolution (smooth edges, box-cropped)."""
    logits = small.astype(np.float32) - 0.5
    return logits_to_mask(logits, logits.shape, out_hw, 0.0)


def _tight_box(mask: np.ndarray) -> Optional[IntBox]:
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def tight_box(mask: np.ndarray, within: Optional[IntBox] = None) -> Optional[IntBox]:
    """Tight box (x1, y1, x2, y2 exclusive) of a bool mask, searching only ``within`` when given."""
    if within is None:
        return _tight_box(mask)
    x0, y0, x1, y1 = within
    box = _tight_box(mask[y0:y1, x0:x1])
    return None if box is None else (box[0] + x0, box[1] + y0, box[2] + x0, box[3] + y0)


def pixel_box(box: Sequence[float], hw: Tuple[int, int]) -> IntBox:
    """The pixels covered by a float box (x1, y1, x2, y2), as an exclusive int box clipped to the image."""
    H, W = hw
    x1, y1, x2, y2 = box
    return (min(W, max(0, int(math.floor(x1)))), min(H, max(0, int(math.floor(y1)))),
            min(W, max(0, int(math.ceil(x2)))), min(H, max(0, int(math.ceil(y2)))))


def exclude_boxes(mask: np.ndarray, boxes: Iterable[Sequence[float]]) -> np.ndarray:
    """Set the pixels of every box to False, in place; returns ``mask``."""
    for b in boxes:
        x1, y1, x2, y2 = pixel_box(b, mask.shape)
        mask[y1:y2, x1:x2] = False
    return mask


def negative_box_points(boxes: Iterable[Sequence[float]]) -> np.ndarray:
    """Points that stand for a negative box when a model takes negative points: centre and 4 inner points.

    The inner points sit at the quarter positions (the centres of the box's four quadrants), so a box that
    covers a distractor tells the model "not this" at five places spread over it. Returns Mx2 (x, y).
    """
    pts: List[Tuple[float, float]] = []
    for x1, y1, x2, y2 in boxes:
        cx, cy, qx, qy = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 4, (y2 - y1) / 4
        pts += [(cx, cy), (cx - qx, cy - qy), (cx + qx, cy - qy), (cx - qx, cy + qy), (cx + qx, cy + qy)]
    return np.asarray(pts, dtype=np.float64).reshape(-1, 2)


def candidate_polygons(mask: np.ndarray, box: Optional[IntBox] = None, tolerance: float = 1.0,
                       min_area: float = 1.0, max_parts: int = 0) -> List[np.ndarray]:
    """:func:`anylabel.geometry.mask_to_polygons` of ``mask``, traced on its box crop only.

    Identical to tracing the full mask when ``box`` contains every foreground pixel (a
    :class:`MaskCandidate`'s ``box`` does), at the cost of the box's area instead of the image's.
    Returns Kx2 (x, y) float64 arrays in full-image pixels, largest part first.
    """
    if box is None:
        box = _tight_box(mask)
        if box is None:
            return []
    x0, y0, x1, y1 = box
    parts = mask_to_polygons(mask[y0:y1, x0:x1], tolerance=tolerance, min_area=min_area, max_parts=max_parts)
    offset = np.array([x0, y0], dtype=np.float64)
    return [p + offset for p in parts]
