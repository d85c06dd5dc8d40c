"""The lazy frame container that sam2's video predictor reads its input images from.

``SAM2VideoPredictor.init_state`` loads and normalises *every* frame up front (3x1024x1024 float32, about
12.6 MB a frame, so a 500-frame video costs 6.3 GB before the first click). The predictor itself only
ever reads ``inference_state["images"][frame_idx]`` (in ``_get_image_feature``, on a feature-cache miss)
and ``len(...)``; :class:`LazyFrameTensors` answers exactly those two calls by decoding the frame from a
:class:`~anylabel.imaging.video.FrameSource` and preparing it the way sam2's own loader does.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from anylabel.imaging.video import FrameSource

#: sam2's ImageNet normalisation (``sam2.utils.misc.load_video_frames``)
IMG_MEAN = (0.485, 0.456, 0.406)
IMG_STD = (0.229, 0.224, 0.225)


def prepare_frame(rgb: np.ndarray, image_size: int, mean: Sequence[float] = IMG_MEAN,
                  std: Sequence[float] = IMG_STD) -> torch.Tensor:
    """One frame as the model input: 3 x S x S float32, normalised.

    Mirrors ``sam2.utils.misc._load_img_as_tensor`` + ``load_video_frames_from_jpg_images`` exactly:
    a PIL resize to S x S (aspect ratio not kept, Pillow's default bicubic filter), scaling to 0..1, then
    ``(x - mean) / std`` in float32, so masks equal the ones of sam2's own loader on the same frames.

    Args:
        rgb: HxWx3 uint8 RGB frame.
        image_size: the model's square input size S (``predictor.image_size``).
        mean, std: the model's normalisation (sam2's ImageNet statistics; SAM 3: 0.5, 0.5).
    """
    resized = np.asarray(Image.fromarray(rgb).resize((image_size, image_size)))
    img = torch.from_numpy(resized / 255.0).permute(2, 0, 1).to(torch.float32)
    img -= torch.tensor(mean, dtype=torch.float32)[:, None, None]
    img /= torch.tensor(std, dtype=torch.float32)[:, None, None]
    return img


class LazyFrameTensors(Sequence):
    """``inference_state["images"]`` for sam2, decoding and normalising frames only when indexed.

    Args:
        source: the video's frames (HxWx3 uint8 RGB, decoded on demand).
        image_size: the model's input size S.
        device: where the returned tensors live (the model's device).
        cache_size: prepared tensors kept (LRU). sam2 caches the image *features* of the last frame it
            encoded, so one or two prepared frames are enough.
        mean, std: the normalisation (see :func:`prepare_frame`).
    """

    def __init__(self, source: FrameSource, image_size: int, device: torch.device, cache_size: int = 2,
                 mean: Sequence[float] = IMG_MEAN, std: Sequence[float] = IMG_STD) -> None:
        self.mean, self.std = tuple(mean), tuple(std)
        self.source = source
        self.image_size = int(image_size)
        self.device = torch.device(device)
        self.cache_size = max(0, int(cache_size))
        self._cache: "OrderedDict[int, torch.Tensor]" = OrderedDict()
        self.prepared = 0  # number of frames prepared (cache misses), for tests and benchmarks

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> torch.Tensor:  # type: ignore[override]
        """Frame ``index`` as a 3 x S x S float32 tensor on ``device``."""
        index = int(index)
        hit = self._cache.get(index)
        if hit is not None:
            self._cache.move_to_end(index)
            return hit
        img = prepare_frame(self.source[index], self.image_size, self.mean, self.std).to(self.device)
        self.prepared += 1
        if self.cache_size:
            self._cache[index] = img
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return img

    def clear(self) -> None:
        """Drop the prepared tensors."""
        self._cache.clear()
