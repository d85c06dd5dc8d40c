"""Helpers shared by the semantic tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_palette_png(path: Path, ids: np.ndarray) -> None:
    """A VOC-style palette PNG whose palette indices are ``ids`` (uint8 HxW)."""
    img = Image.fromarray(ids.astype(np.uint8), mode="P")
    palette = np.random.default_rng(0).integers(0, 256, 768).astype(np.uint8).tolist()
    img.putpalette(palette)
    img.save(path)
