"""Re-prompt a finished shape: its mask as the model's mask input, so new clicks refine that shape.

SAM and SAM2 take a mask prompt as 1 x 256 x 256 float32 *low-resolution logits* (``Prompt.mask_logits``,
what a previous answer's ``MaskCandidate.logits`` hold), on the grid their decoder answers on:

* SAM resizes the image so its longest side is 1024 (segment-anything's ``ResizeLongestSide``), pads it
  bottom / right to 1024 x 1024, and its logits are that padded square at 1/4: the image covers the top-left
  ``input_size / 4`` cells (``Embedding.logit_hw``), upsampled by ``pre_scale`` = 4 before the crop;
* SAM2 stretches the image over its 1024 x 1024 input: the image covers all 256 x 256 cells.

:func:`mask_logits` inverts that: every cell of the logit grid gets the fraction f of its area (in image
pixels, through the resize and the padding) inside the shape; the logit is ``MASK_LOGIT * (2 f - 1)``:
+20 inside, -20 outside, 0 on the boundary, which is where the decoder's threshold (0) puts it again (tested
through upstream's own ``postprocess_masks``). 20 is a choice, not a measurement: clearly signed, inside
SAM2's clamp (+-32); its effect on refinements with trained weights is not measured here (random weights).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Tuple

import cv2
import numpy as np

from anylabel.backends.masks import tight_box
from anylabel.backends.prompt import Box, MaskCandidate, Prompt
from anylabel.geometry.boxes import mask_to_box

MASK_LOGIT = 20.0


@dataclass(frozen=True)
class LogitFrame:
    """Where the image lies on a model's low-resolution logit grid.

    Attributes:
        valid_hw: (rows, cols) of grid cells covering the image, from the top-left (may be fractional).
        pre_scale: the grid is upsampled by this factor before the image part is cut out (SAM: 4).
        grid_hw: the grid's size (256 x 256 for SAM and SAM2).
    """

    valid_hw: Tuple[float, float]
    pre_scale: int = 1
    grid_hw: Tuple[int, int] = (256, 256)

    @classmethod
    def of(cls, segmenter: Any) -> Optional["LogitFrame"]:
        """The frame of ``segmenter``'s current image; None for backends without mask prompts (FastSAM, the
        classical one) or with no image set."""
        current = getattr(segmenter, "current_embedding", None)
        if current is None:
            return None
        try:
            emb = current()
        except ValueError:
            return None
        if emb.logit_hw is None:
            return None
        valid = (float(emb.logit_hw[0]), float(emb.logit_hw[1]))
        if int(emb.pre_scale) == 1:  # SAM2, SAM 3: the image covers the whole grid, whatever its size (SAM 3: 288)
            return cls(valid_hw=valid, pre_scale=1, grid_hw=(int(math.ceil(valid[0])), int(math.ceil(valid[1]))))
        return cls(valid_hw=valid, pre_scale=int(emb.pre_scale))  # SAM: the padded 1024 square at 1/4


def mask_logits(mask: np.ndarray, frame: LogitFrame, scale: float = MASK_LOGIT,
                box: Optional[Tuple[int, int, int, int]] = None) -> np.ndarray:
    """A bool HxW full-size mask as the model's mask input.

    Returns:
        1 x gh x gw float32 logits (1 x 256 x 256 for SAM / SAM2): ``scale * (2 f - 1)`` per cell, f the
        fraction of the cell inside the mask; cells outside the image (SAM's padding) are ``-scale``.

    The fractions are exact areas (pixels as unit squares, cells with fractional edges), read from the
    integral image of the mask's box only, so the cost follows the shape, not the image. ``box`` (x1, y1, x2,
    y2 exclusive, e.g. ``MaskCandidate.box``) saves finding it; it must hold every pixel of the mask.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.size == 0:
        raise ValueError(f"the mask must be a non-empty HxW array, got shape {mask.shape}")
    return (scale * (2.0 * cell_fractions(mask, frame, box) - 1.0)).astype(np.float32)[None]


def cell_fractions(mask: np.ndarray, frame: LogitFrame,
                   box: Optional[Tuple[int, int, int, int]] = None) -> np.ndarray:
    """gh x gw float64: the fraction of each logit cell's area that the bool HxW ``mask`` covers."""
    H, W = mask.shape
    k = int(frame.pre_scale)
    gh, gw = int(frame.grid_hw[0]), int(frame.grid_hw[1])
    fh = min(gh * k, int(round(frame.valid_hw[0] * k)))  # the image's part of the fine grid (SAM: input_size)
    fw = min(gw * k, int(round(frame.valid_hw[1] * k)))
    sy, sx = k * H / fh, k * W / fw  # a cell's height and width in image pixels
    if box is None:
        box = tight_box(np.asarray(mask, dtype=bool))
    if box is None:
        return np.zeros((gh, gw))
    x0, y0, x1, y1 = box
    integral = cv2.integral(np.ascontiguousarray(mask[y0:y1, x0:x1]).astype(np.uint8), sdepth=cv2.CV_64F)
    # the integral of a pixel-wise constant mask is bilinear between pixel corners: sample it at the cells'
    # edges (clamped to the box: outside it the mask is empty), then area = inclusion-exclusion of corners
    ys = np.clip(np.arange(gh + 1) * sy - y0, 0, y1 - y0)
    xs = np.clip(np.arange(gw + 1) * sx - x0, 0, x1 - x0)
    rows = _lerp(integral, ys, axis=0)
    corners = _lerp(rows, xs, axis=1)
    area = corners[1:, 1:] - corners[:-1, 1:] - corners[1:, :-1] + corners[:-1, :-1]
    return np.clip(area / (sy * sx), 0.0, 1.0)


def _lerp(a: np.ndarray, at: np.ndarray, axis: int) -> np.ndarray:
    """``a`` linearly interpolated at the fractional indices ``at`` along ``axis``."""
    i0 = np.minimum(np.floor(at).astype(np.int64), a.shape[axis] - 1)
    i1 = np.minimum(i0 + 1, a.shape[axis] - 1)
    t = at - i0
    if axis == 0:
        return a[i0] * (1 - t)[:, None] + a[i1] * t[:, None]
    return a[:, i0] * (1 - t)[None, :] + a[:, i1] * t[None, :]


def interior_point(mask: np.ndarray) -> Tuple[float, float]:
    """The pixel (x, y) of a bool mask farthest from its background (a point surely inside the shape, also
    for rings and crescents, where the centroid is not)."""
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        raise ValueError("an empty mask has no interior point")
    y0, y1, x0, x1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    crop = np.pad(np.ascontiguousarray(mask[y0:y1, x0:x1]).astype(np.uint8), 1)  # the border counts as outside
    dist = cv2.distanceTransform(crop, cv2.DIST_L2, 5)
    r, c = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return float(c - 1 + x0), float(r - 1 + y0)


def reprompt(mask: np.ndarray, frame: Optional[LogitFrame], positive: Sequence[Tuple[float, float]] = (),
             negative: Sequence[Tuple[float, float]] = (), box: Optional[Box] = None,
             negative_boxes: Sequence[Box] = ()) -> Prompt:
    """The prompt that refines the shape whose full-size bool mask is ``mask`` with the user's new clicks.

    * With a logit frame (SAM, SAM2): the mask as ``mask_logits`` (:func:`mask_logits`) and one candidate
      (``multimask=False``, as segment-anything advises for a prompt with a mask input). Without a positive
      click or a box the model would have nothing to segment (a prompt of only negatives is empty), so the
      shape's :func:`interior_point` is added as a positive click.
    * Without one (FastSAM, classical): the shape's box as the box prompt unless a box is given, plus the clicks.
    """
    positive = list(positive)
    if frame is None:
        if box is None:
            b = mask_to_box(np.asarray(mask, dtype=bool))
            box = None if b is None else (b[0], b[1], b[2] - 1, b[3] - 1)
        return Prompt.from_clicks(positive, negative, box=box, negative_boxes=negative_boxes)
    if not positive and box is None:
        positive = [interior_point(mask)]
    prompt = Prompt.from_clicks(positive, negative, box=box, negative_boxes=negative_boxes)
    prompt.mask_logits = mask_logits(mask, frame)
    prompt.multimask = False
    return prompt


def candidate_from_mask(mask: np.ndarray, frame: Optional[LogitFrame], score: float = 1.0) -> MaskCandidate:
    """The AI preview after a brush or eraser stroke: a ``MaskCandidate`` of the edited bool HxW ``mask`` with
    its tight box and, where the model takes mask prompts, the logits of the *edited* mask (so the next click
    refines what the user painted, not the model's stale answer)."""
    mask = np.asarray(mask, dtype=bool)
    box = tight_box(mask)
    logits = mask_logits(mask, frame, box=box) if frame is not None and box is not None else None
    return MaskCandidate(mask=mask, score=float(score), logits=logits, box=box)
