"""Display adjustments: brightness, contrast and gamma as one uint8 lookup table, applied to a copy.

The image the models see and the files hold are never changed: :func:`adjusted` returns a new array for the
canvas to show (the GUI keeps the original and redraws from it when a slider moves).

For an input value v in 0..255, with x = v / 255::

    out = clip(contrast * (x ** (1 / gamma) - 0.5) + 0.5 + brightness, 0, 1) * 255, rounded

so gamma > 1 brightens the mid-tones (as in image viewers), contrast scales around mid-grey, brightness
shifts. The neutral settings (0, 1, 1) give the identity table.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ViewAdjustment:
    """Attributes: brightness in [-1, 1] (added, in units of full scale); contrast >= 0 (1 = unchanged);
    gamma > 0 (1 = unchanged)."""

    brightness: float = 0.0
    contrast: float = 1.0
    gamma: float = 1.0

    def __post_init__(self) -> None:
        if not -1.0 <= self.brightness <= 1.0:
            raise ValueError(f"brightness must be within [-1, 1], got {self.brightness}")
        if not (self.contrast >= 0 and np.isfinite(self.contrast)):
            raise ValueError(f"contrast must be a finite number >= 0, got {self.contrast}")
        if not (self.gamma > 0 and np.isfinite(self.gamma)):
            raise ValueError(f"gamma must be a finite number > 0, got {self.gamma}")

    @property
    def neutral(self) -> bool:
        return self.brightness == 0.0 and self.contrast == 1.0 and self.gamma == 1.0

    def lut(self) -> np.ndarray:
        """The 256-entry uint8 lookup table (see the module docstring)."""
        x = np.arange(256, dtype=np.float64) / 255.0
        y = self.contrast * (x ** (1.0 / self.gamma) - 0.5) + 0.5 + self.brightness
        return np.round(np.clip(y, 0.0, 1.0) * 255.0).astype(np.uint8)


def adjusted(image: np.ndarray, adjustment: ViewAdjustment) -> np.ndarray:
    """A new HxW or HxWxC uint8 array: ``image`` through the adjustment's table (every channel alike).
    ``image`` is not modified; the neutral adjustment returns a copy."""
    import cv2

    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    if adjustment.neutral:
        return image.copy()
    lut = adjustment.lut()
    if image.ndim == 3 and image.shape[2] > 4:  # cv2.LUT takes up to 4 channels
        return lut[image]
    return cv2.LUT(np.ascontiguousarray(image), lut)
