"""Small deterministic segmenters for GUI tests (no model files, no torch)."""
from __future__ import annotations

import threading
from typing import List, Optional

import numpy as np

from anylabel.backends import MaskCandidate, Prompt, Segmenter


class DiskSegmenter(Segmenter):
    """Answers every prompt with disks: around the mean positive point (or the box's ellipse), minus disks
    around negative points; three candidates of decreasing radius (whole / part / subpart)."""

    name = "disk"

    def __init__(self, radius: float = 40.0) -> None:
        self.radius = radius
        self.image_hw: Optional[tuple] = None
        self.keys: List[str] = []
        self.prompts: List[Prompt] = []
        self.encoded: List[str] = []
        self.sizes: dict = {}  # key -> (h, w) of every image seen

    def set_image(self, image, key=None):
        if image is None:
            if key not in self.sizes:
                raise LookupError(key)
        else:
            self.encode(image, key)
        self.image_hw = self.sizes[key]
        self.keys.append(key)

    def encode(self, image, key):
        """Remember the image (like an embedding cache) without making it current."""
        self.sizes[key] = image.shape[:2]
        if key not in self.encoded:
            self.encoded.append(key)

    def has_embedding(self, key):
        return key in self.sizes

    def predict(self, prompt: Prompt) -> List[MaskCandidate]:
        self.prompts.append(prompt)
        h, w = self.image_hw
        yy, xx = np.mgrid[0:h, 0:w]
        out = []
        for k, scale in enumerate((1.0, 0.6, 0.3)):
            if prompt.box is not None:
                x1, y1, x2, y2 = prompt.box
                cx, cy, rx, ry = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2 * scale, (y2 - y1) / 2 * scale
                mask = ((xx - cx) / max(rx, 1)) ** 2 + ((yy - cy) / max(ry, 1)) ** 2 <= 1
            else:
                cx, cy = prompt.positive_points.mean(axis=0)
                mask = (xx - cx) ** 2 + (yy - cy) ** 2 <= (self.radius * scale) ** 2
            for nx, ny in prompt.negative_points:
                mask &= (xx - nx) ** 2 + (yy - ny) ** 2 > (self.radius * 0.5) ** 2
            for bx1, by1, bx2, by2 in prompt.negative_boxes:
                mask[int(by1):int(by2) + 1, int(bx1):int(bx2) + 1] = False
            logits = np.full((1, 8, 8), float(len(prompt.points)), np.float32)
            out.append(MaskCandidate(mask, 0.9 - 0.1 * k, logits=logits))
        return out

    def everything(self, image=None, key=None, progress=None):
        return []


class GatedSegmenter(DiskSegmenter):
    """A deliberately slow segmenter: each predict waits until the test opens the gate."""

    name = "gated"

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.gate = threading.Event()

    def predict(self, prompt):
        self.entered.set()
        if not self.gate.wait(30):
            raise TimeoutError("the test never opened the gate")
        return super().predict(prompt)
