"""What a user asks a segmenter for, and what it answers.

Conventions: coordinates are float image pixels (x right, y down) of the full-size image; boxes are
(x1, y1, x2, y2); masks are bool HxW at the full image size.

Prompts outside the image: every backend applies :meth:`Prompt.fit` to the prompt before it looks at it
(``CachedSegmenter.predict``, the one entry point of every adapter), so they all answer the same way. The
image covers ``[0, W] x [0, H]``:

* a click (positive or negative) outside it is refused with :class:`~anylabel.errors.PromptError`: it
  points at nothing, and moving it onto the border would segment an object the user never clicked;
* a box is clipped to the image; a box with no area inside the image is refused;
* a negative box is clipped, and dropped when it lies entirely outside (it excludes nothing);
* coordinates that are not finite numbers are refused when the prompt is built.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np

from anylabel.errors import PromptError

Box = Tuple[float, float, float, float]


@dataclass
class Prompt:
    """A set of clicks and boxes for one object.

    Attributes:
        points: Nx2 float64 array of (x, y) pixels; may be empty (shape (0, 2)).
        labels: N int array; 1 = positive (part of the object), 0 = negative (not the object).
        box: optional positive box (x1, y1, x2, y2) around the object.
        negative_boxes: boxes whose area must be excluded from the mask.
        mask_logits: optional low-resolution logits (1x256x256 float32 for SAM-style models) of the
            previous prediction, to refine it with the new clicks.
        multimask: ask for up to three candidates (whole / part / subpart) instead of one.
    """

    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.float64))
    labels: np.ndarray = field(default_factory=lambda: np.zeros((0,), dtype=np.int64))
    box: Optional[Box] = None
    negative_boxes: List[Box] = field(default_factory=list)
    mask_logits: Optional[np.ndarray] = None
    multimask: bool = True

    def __post_init__(self) -> None:
        self.points = np.asarray(self.points, dtype=np.float64).reshape(-1, 2)
        self.labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)
        if len(self.points) != len(self.labels):
            raise ValueError(f"{len(self.points)} points but {len(self.labels)} labels")
        if not np.isin(self.labels, (0, 1)).all():
            raise ValueError("point labels must be 1 (positive) or 0 (negative)")
        if not np.isfinite(self.points).all():
            raise PromptError("click coordinates must be finite numbers")
        if self.box is not None:
            self.box = _ordered_box(self.box)
        self.negative_boxes = [_ordered_box(b) for b in self.negative_boxes]

    @classmethod
    def from_clicks(
        cls,
        positive: Sequence[Tuple[float, float]] = (),
        negative: Sequence[Tuple[float, float]] = (),
        box: Optional[Box] = None,
        negative_boxes: Sequence[Box] = (),
    ) -> "Prompt":
        """Build a prompt from lists of positive and negative (x, y) clicks."""
        pts = list(positive) + list(negative)
        labels = [1] * len(positive) + [0] * len(negative)
        return cls(points=np.asarray(pts, dtype=np.float64).reshape(-1, 2), labels=np.asarray(labels),
                   box=box, negative_boxes=list(negative_boxes))

    def is_empty(self) -> bool:
        """True when there is nothing positive to segment (no positive point and no box)."""
        return self.box is None and not (self.labels == 1).any()

    def fit(self, hw: Tuple[int, int]) -> "Prompt":
        """This prompt on an image of ``hw`` = (height, width): boxes clipped to the image, clicks checked
        (see the module docstring). Returns ``self`` when nothing changes.

        Raises:
            PromptError: a click outside the image, or a box with no area inside it.
        """
        H, W = int(hw[0]), int(hw[1])
        outside = (self.points[:, 0] < 0) | (self.points[:, 0] > W) | (self.points[:, 1] < 0) | (self.points[:, 1] > H)
        if outside.any():
            x, y = self.points[int(np.flatnonzero(outside)[0])]
            raise PromptError(f"the click ({x:g}, {y:g}) lies outside the {W}x{H} image")
        box = None
        if self.box is not None:
            box = _clip_box(self.box, W, H)
            if box is None:
                raise PromptError(f"the box ({', '.join(f'{v:g}' for v in self.box)}) has no area inside the "
                                  f"{W}x{H} image")
        negative = [b for b in (_clip_box(b, W, H) for b in self.negative_boxes) if b is not None]
        if box == self.box and negative == self.negative_boxes:
            return self
        return Prompt(points=self.points, labels=self.labels, box=box, negative_boxes=negative,
                      mask_logits=self.mask_logits, multimask=self.multimask)

    @property
    def positive_points(self) -> np.ndarray:
        return self.points[self.labels == 1]

    @property
    def negative_points(self) -> np.ndarray:
        return self.points[self.labels == 0]


def _ordered_box(box: Sequence[float]) -> Box:
    x1, y1, x2, y2 = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        raise PromptError("box coordinates must be finite numbers")
    return (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))


def _clip_box(box: Box, W: int, H: int) -> Optional[Box]:
    """``box`` clipped to ``[0, W] x [0, H]``, or None when no area of it is inside."""
    x1, y1, x2, y2 = max(0.0, box[0]), max(0.0, box[1]), min(float(W), box[2]), min(float(H), box[3])
    return (x1, y1, x2, y2) if x2 > x1 and y2 > y1 else None


@dataclass
class MaskCandidate:
    """One answer of a segmenter.

    Attributes:
        mask: bool HxW at the full image size.
        score: the model's quality estimate (SAM's predicted IoU), higher is better.
        logits: low-resolution logits to feed back as ``Prompt.mask_logits`` (1x256x256 float32 for
            SAM / SAM2), or ``None`` for backends without them.
        box: tight box of the mask's pixels (x1, y1, x2, y2, ints, x2/y2 exclusive), or ``None`` when the
            mask is empty or the backend did not compute it. Lets callers trace contours on the box crop
            instead of the whole image (:func:`anylabel.backends.masks.candidate_polygons`).
    """

    mask: np.ndarray
    score: float
    logits: Optional[np.ndarray] = None
    box: Optional[Tuple[int, int, int, int]] = None

    def polygons(self, tolerance: float = 1.0, min_area: float = 1.0, max_parts: int = 0) -> List[np.ndarray]:
        """The mask's outer boundaries as Kx2 (x, y) float64 arrays, largest part first (traced on ``box``)."""
        from anylabel.backends.masks import candidate_polygons

        return candidate_polygons(self.mask, self.box, tolerance, min_area, max_parts)

    @property
    def area(self) -> int:
        return int(self.mask.sum())


class LazyMaskCandidate(MaskCandidate):
    """A :class:`MaskCandidate` whose full-size ``mask`` and ``box`` are computed on first access.

    Backends return the best candidate computed and the others lazy: at 4000x3000 each full-size mask costs
    milliseconds that a click whose user never cycles to candidates 2 and 3 should not pay. ``make()``
    returns ``(mask, box)``; it runs once, in whichever thread first reads ``mask`` or ``box``.
    """

    def __init__(self, make, score: float, logits: Optional[np.ndarray] = None) -> None:
        self._make = make
        self._mask: Optional[np.ndarray] = None
        self._box: Optional[Tuple[int, int, int, int]] = None
        self.score = score
        self.logits = logits

    def _ensure(self) -> None:
        if self._make is not None:
            self._mask, self._box = self._make()
            self._make = None

    @property  # type: ignore[override]
    def mask(self) -> np.ndarray:
        self._ensure()
        return self._mask

    @mask.setter
    def mask(self, value: np.ndarray) -> None:
        self._make, self._mask = None, value

    @property  # type: ignore[override]
    def box(self) -> Optional[Tuple[int, int, int, int]]:
        self._ensure()
        return self._box

    @box.setter
    def box(self, value: Optional[Tuple[int, int, int, int]]) -> None:
        self._ensure()
        self._box = value

    @property
    def computed(self) -> bool:
        """True once the full-size mask exists."""
        return self._make is None
