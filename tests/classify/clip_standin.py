"""A tiny deterministic CLIP stand-in whose right answer is known: colours.

* Image tower: the mean of the crop's *normalised* pixels (CLIP's mean/std), i.e. the crop's average colour
  measured from CLIP's mean. Pixels the crop step neutralised (filled with the mean) add nothing, so the
  embedding's direction is the colour of the mask's own pixels, and only if neutralisation works.
* Text tower: the colour word in the sentence ("a photo of a red.") -> that colour, normalised the same
  way. Words that are no colour map to a fixed unrelated direction.

So ``cos(image, text)`` is highest for the colour word of the mask's pixels, and the crop / mask /
softmax path can be checked against a known answer.
"""
from __future__ import annotations

from typing import List, Sequence

import cv2
import numpy as np
import torch

from anylabel.classify.model import CLIP_MEAN, CLIP_STD, ClipModel

COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 200, 40),
    "blue": (30, 40, 220),
    "yellow": (230, 220, 30),
}


def _normalise_rgb(rgb: np.ndarray) -> np.ndarray:
    return (np.asarray(rgb, np.float32) / 255.0 - np.asarray(CLIP_MEAN, np.float32)) / np.asarray(CLIP_STD, np.float32)


class ColourModel(ClipModel):
    name = "colour-standin"
    image_size = 16
    mean = CLIP_MEAN

    def __init__(self) -> None:
        self.text_calls: List[List[str]] = []
        self.image_calls = 0

    def preprocess(self, crops: Sequence[np.ndarray]) -> torch.Tensor:
        out = []
        for c in crops:
            small = cv2.resize(c, (self.image_size, self.image_size), interpolation=cv2.INTER_AREA)
            out.append(torch.from_numpy(_normalise_rgb(small)).permute(2, 0, 1))
        return torch.stack(out)

    def encode_images(self, batch: torch.Tensor) -> torch.Tensor:
        self.image_calls += 1
        return torch.nn.functional.normalize(batch.mean(dim=(2, 3)), dim=-1)

    def encode_texts(self, texts: List[str]) -> torch.Tensor:
        self.text_calls.append(list(texts))
        rows = []
        for t in texts:
            words = t.lower().replace(".", " ").split()
            colour = next((COLOURS[w] for w in words if w in COLOURS), None)
            rows.append(_normalise_rgb(colour) if colour is not None else np.array([0.0, 0.0, -1.0], np.float32))
        return torch.nn.functional.normalize(torch.from_numpy(np.stack(rows)), dim=-1)

    @property
    def logit_scale(self) -> float:
        return 100.0


def disk(shape, centre, radius) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 <= radius ** 2


def colour_scene():
    """A grey 240x320 image: a red square, a blue disk, and a thin red ring around a blue disk.

    Returns (image, masks) with masks = [square, blue disk, red ring]. The ring's box is mostly blue inside,
    so only a crop that neutralises the pixels outside the mask sees it as red.
    """
    h, w = 240, 320
    image = np.full((h, w, 3), 128, np.uint8)
    square = np.zeros((h, w), bool)
    square[30:80, 20:70] = True
    blue_disk = disk((h, w), (140, 60), 30)
    outer, inner = disk((h, w), (240, 160), 50), disk((h, w), (240, 160), 44)
    ring = outer & ~inner
    image[square] = COLOURS["red"]
    image[blue_disk] = COLOURS["blue"]
    image[inner] = COLOURS["blue"]
    image[ring] = COLOURS["red"]
    return image, [square, blue_disk, ring]
