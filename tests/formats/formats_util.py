"""Helpers for the format tests: tiny images and LabelMe documents written to tmp folders."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
from PIL import Image

from anylabel.document import ImageAnnotation, Shape
from anylabel.formats.labelme import save_labelme


def write_image(path: Path, width: int, height: int, seed: int = 0) -> Path:
    """A random RGB image of width x height (PNG unless the suffix says JPEG)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(path)
    return path


def write_doc(folder: Path, stem: str, shapes: Sequence[Shape], width: int = 64, height: int = 48,
              suffix: str = ".png", image: bool = True, frame_index: Optional[int] = None) -> Path:
    """A LabelMe JSON ``folder/stem.json`` with ``shapes``, and its image unless ``image=False``."""
    if image:
        write_image(folder / f"{stem}{suffix}", width, height, seed=len(stem))
    ann = ImageAnnotation(f"{stem}{suffix}", height, width, list(shapes), frame_index=frame_index)
    path = folder / f"{stem}.json"
    save_labelme(ann, path)
    return path


def poly(label: str, pts: List[tuple], group_id: Optional[int] = None, **kw) -> Shape:
    return Shape(label, pts, "polygon", group_id=group_id, **kw)
