"""What CLIP sees of a mask: a square crop around the mask's box, pixels outside the mask neutralised.

Method (defaults):

* **Window**: a square centred on the mask's box, side ``context`` x the box's longer side
  (``context=1.2``, i.e. 10 % margin on each side of the longer side; SSA-engine gives CLIP its box
  scaled by 1.2, ``scale_small``). Square, so that CLIP's preprocessing (resize the shortest side,
  centre-crop) neither cuts the object nor stretches it (OVSeg resizes non-square regions to 224x224,
  distorting thin objects). Parts of the window outside the image are padding.
* **Neutralising** (``fill="mean"``): pixels outside the mask, and padding, are set to CLIP's own
  normalisation mean (RGB 123, 117, 104), which CLIP's preprocessing maps to 0: the tower sees "no signal"
  there rather than a colour. This is OVSeg / zsseg.baseline's ``mask_fill="mean"``. ultralytics' FastSAM
  text prompt multiplies the crop by the mask (black, a strong colour after normalisation); SSA-engine and
  the original FastSAM keep the unmasked box (neighbouring objects then vote for the mask). Mean fill keeps
  only the object's pixels, which is what labelling *this mask* needs. ``fill="blur"`` keeps a heavily
  blurred surround (scene context without neighbours' detail); ``fill="none"`` keeps the raw crop.
* **Resolution**: a window larger than ``work_size`` is reduced with area interpolation first and the mask
  becomes a soft alpha (its area coverage), so a 4000x3000 mask costs what a 448x448 one does. CLIP's own
  transform then resizes to its input size.

Coordinates: masks are bool HxW at the image size, windows are (x0, y0, side) in pixels (x right, y down).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import cv2
import numpy as np

FILLS = ("mean", "blur", "none")


@dataclass(frozen=True)
class CropWindow:
    """A square window of the image: top-left (x0, y0) and side, integer pixels; may extend past the edges."""

    x0: int
    y0: int
    side: int


def mask_box(mask: np.ndarray) -> Optional[Tuple[int, int, int, int]]:
    """Tight box (x1, y1, x2, y2) of a bool HxW mask, x2/y2 exclusive; None for an empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask[rows[0]: rows[-1] + 1].any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def crop_window(box: Tuple[int, int, int, int], context: float = 1.2, min_side: int = 8) -> CropWindow:
    """The square window of side ``context`` x the box's longer side, centred on the box."""
    x1, y1, x2, y2 = box
    side = max(int(round(max(x2 - x1, y2 - y1) * context)), min_side)
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    return CropWindow(int(round(cx - side / 2.0)), int(round(cy - side / 2.0)), side)


def mask_crop(
    image: np.ndarray,
    mask: np.ndarray,
    context: float = 1.2,
    fill: str = "mean",
    fill_rgb: Tuple[int, int, int] = (123, 117, 104),
    work_size: int = 448,
    box: Optional[Tuple[int, int, int, int]] = None,
) -> Optional[np.ndarray]:
    """The neutralised square crop of one mask (see the module docstring for the method).

    Args:
        image: HxWx3 uint8 RGB.
        mask: bool HxW (same H, W as ``image``).
        context: window side / the box's longer side (>= 1).
        fill: ``"mean"``, ``"blur"`` or ``"none"``: what replaces the pixels outside the mask.
        fill_rgb: the neutral colour (the model's normalisation mean as uint8 RGB) for padding and "mean".
        work_size: windows larger than this are reduced to it first (area interpolation).
        box: the mask's tight box if already known (x1, y1, x2, y2, exclusive).

    Returns:
        SxSx3 uint8 RGB with S = min(window side, work_size), or None for an empty mask.

    Raises:
        ValueError: for mismatched shapes, an unknown ``fill`` or ``context < 1``.
    """
    if fill not in FILLS:
        raise ValueError(f"fill must be one of {FILLS}, got {fill!r}")
    if context < 1.0:
        raise ValueError(f"context must be >= 1 (window side / box side), got {context}")
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != image.shape[:2]:
        raise ValueError(f"mask {mask.shape} does not match image {image.shape[:2]}")
    box = box if box is not None else mask_box(mask)
    if box is None:
        return None
    win = crop_window(box, context)
    h, w = mask.shape
    # The part of the window inside the image, in image and in window coordinates.
    ix0, iy0 = max(win.x0, 0), max(win.y0, 0)
    ix1, iy1 = min(win.x0 + win.side, w), min(win.y0 + win.side, h)
    region = image[iy0:iy1, ix0:ix1]
    window_mask = mask[iy0:iy1, ix0:ix1]
    scale = min(1.0, work_size / float(win.side))
    out_side = max(int(round(win.side * scale)), 1)
    if scale < 1.0:
        # Reduce before compositing: cost independent of the mask's size; the mask becomes area coverage.
        rw = max(int(round((ix1 - ix0) * scale)), 1)
        rh = max(int(round((iy1 - iy0) * scale)), 1)
        region = cv2.resize(region, (rw, rh), interpolation=cv2.INTER_AREA)
        coverage = cv2.resize(window_mask.view(np.uint8) * np.uint8(255), (rw, rh), interpolation=cv2.INTER_AREA)
        alpha = coverage.astype(np.float32) / 255.0
    else:
        alpha = window_mask.astype(np.float32)
    ox, oy = int(round((ix0 - win.x0) * scale)), int(round((iy0 - win.y0) * scale))
    rh, rw = region.shape[:2]
    rh, rw = min(rh, out_side - oy), min(rw, out_side - ox)  # rounding can overshoot by one pixel
    region, alpha = region[:rh, :rw], alpha[:rh, :rw]
    canvas = np.empty((out_side, out_side, 3), dtype=np.uint8)
    canvas[:] = np.asarray(fill_rgb, dtype=np.uint8)
    if fill == "none":
        canvas[oy:oy + rh, ox:ox + rw] = region
        return canvas
    if fill == "blur":
        # Blur the whole window (with the neutral padding) so the surround keeps only coarse context.
        canvas[oy:oy + rh, ox:ox + rw] = region
        sigma = max(out_side / 16.0, 1.0)
        background = cv2.GaussianBlur(canvas, (0, 0), sigmaX=sigma).astype(np.float32)
    else:
        background = canvas.astype(np.float32)
    a = alpha[..., None]
    patch = region.astype(np.float32) * a + background[oy:oy + rh, ox:ox + rw] * (1.0 - a)
    result = background.copy()
    result[oy:oy + rh, ox:ox + rw] = patch
    return np.clip(np.round(result), 0, 255).astype(np.uint8)
