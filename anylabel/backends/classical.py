"""The classical backend: no download, no network, no torch. The default on a fresh machine.

Prompts: OpenCV's GrabCut (iterated graph cuts over colour GMMs) on a region around the prompt, at a working
resolution of at most ``work_size`` pixels per side, seeded from the prompt:

* box: outside = background (a margin around the box gives GrabCut background samples), inside = probably
  foreground;
* positive points: small disks of sure foreground; without a box, a larger disk of probable foreground
  around each point and probable background elsewhere in a region sized from the image;
* negative points: small disks of sure background;
* negative boxes: excluded pixel-wise from the answer, but not given to GrabCut as background: its colour
  model would learn the excluded colours as background and drop the object's look-alike parts outside the
  box too (a box over half of a red car would take the other half with it).

The answer keeps the connected parts that touch a positive point (or, with only a box, the largest part).

Everything: marker-controlled watershed on the colour gradient (OpenCV): flat regions (low gradient after
mean-shift smoothing) are the seeds, watershed grows them to the edges; each region is one mask.
"""
from __future__ import annotations

import math
from typing import List, Optional, Tuple

import cv2
import numpy as np

from anylabel.backends.base import Progress, report
from anylabel.backends.cache import EmbeddingCache
from anylabel.backends.masks import exclude_boxes, pixel_box, resize_mask, tight_box
from anylabel.backends.prompt import MaskCandidate, Prompt
from anylabel.backends.promptable import CachedSegmenter, Embedding
from anylabel.models import ModelSpec

Region = Tuple[int, int, int, int]
#: GrabCut needs samples of both classes for its colour models; a thinner working region keeps its seed
MIN_GRABCUT_SIDE = 3


class ClassicalSegmenter(CachedSegmenter):
    """GrabCut prompts and watershed everything. Settings: ``work_size`` (256), ``iterations`` (5).

    OpenCV on the CPU, whatever device is asked: a GPU request is checked like any other (a machine without
    the device gets the same DeviceError as every model), then noted and run on the CPU, because this is the
    backend that must always work (a settings file saying ``device: cuda`` must not break the fallback).
    """

    @classmethod
    def resolve_device(cls, requested: str) -> str:
        """``cpu`` and ``auto`` without importing torch; a GPU name checked against the hardware."""
        return "cpu" if requested in ("cpu", "auto") else super().resolve_device(requested)

    def __init__(self, spec: Optional[ModelSpec] = None, checkpoint: object = None,
                 cache: Optional[EmbeddingCache] = None, device: str = "cpu") -> None:
        super().__init__(spec.name if spec is not None else "classical", cache)
        self.device = "cpu"
        self.device_note = "" if device == "cpu" else f"the classical backend runs on the CPU only, not {device}"
        settings = spec.settings if spec is not None else {}
        self.work_size = int(settings.get("work_size", 256))
        self.iterations = int(settings.get("iterations", 5))
        self.everything_size = int(settings.get("everything_size", 512))
        self.max_regions = int(settings.get("max_regions", 200))

    def _encode(self, image: np.ndarray) -> Embedding:
        # No encoder: the "embedding" is the decoded image, so a later click never re-reads the file.
        return Embedding(orig_hw=tuple(image.shape[:2]), features=np.ascontiguousarray(image))

    # ---------------------------------------------------------------- prompts
    def _predict(self, emb: Embedding, prompt: Prompt) -> List[MaskCandidate]:
        image: np.ndarray = emb.features
        H, W = emb.orig_hw
        region = self._region(prompt, (H, W))
        x0, y0, x1, y1 = region
        scale = min(1.0, self.work_size / max(x1 - x0, y1 - y0))
        ww, wh = max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))
        crop = cv2.resize(image[y0:y1, x0:x1], (ww, wh), interpolation=cv2.INTER_AREA)

        def to_work(x: float, y: float) -> Tuple[int, int]:
            return (min(ww - 1, max(0, int((x - x0) * scale))), min(wh - 1, max(0, int((y - y0) * scale))))

        seed = self._seed(prompt, (wh, ww), to_work, scale)
        if min(wh, ww) >= MIN_GRABCUT_SIDE:
            bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
            cv2.setRNGSeed(0)  # GrabCut's k-means init is random: the same click must give the same mask
            cv2.grabCut(cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), seed, None, bgd, fgd, self.iterations,
                        cv2.GC_INIT_WITH_MASK)
        # else: a region of a pixel or two (a 1x1 image) has no colours to model; the seed is the answer
        fg = ((seed == cv2.GC_FGD) | (seed == cv2.GC_PR_FGD)).astype(np.uint8)
        fg = self._keep_prompted_parts(fg, [to_work(x, y) for x, y in prompt.positive_points],
                                       with_largest=prompt.box is not None)
        part, _ = resize_mask(fg.astype(bool), (y1 - y0, x1 - x0))
        mask = np.zeros((H, W), dtype=bool)
        mask[y0:y1, x0:x1] = part
        if prompt.box is not None:  # the object lies inside its box
            bx0, by0, bx1, by1 = pixel_box(prompt.box, (H, W))
            inside = np.zeros_like(mask)
            inside[by0:by1, bx0:bx1] = mask[by0:by1, bx0:bx1]
            mask = inside
        exclude_boxes(mask, prompt.negative_boxes)
        box = tight_box(mask, within=region)
        return [MaskCandidate(mask=mask, score=1.0, logits=None, box=box)]

    @staticmethod
    def _region(prompt: Prompt, hw: Tuple[int, int]) -> Region:
        """The part of the image GrabCut sees: the box (or the positive points' extent) plus a margin."""
        H, W = hw
        if prompt.box is not None:
            x1, y1, x2, y2 = prompt.box
            margin = max(10.0, 0.1 * max(x2 - x1, y2 - y1))
        else:
            pts = prompt.positive_points
            x1, y1 = pts.min(axis=0)
            x2, y2 = pts.max(axis=0)
            # unknown extent: a region a third of the image around the clicks
            margin = max(20.0, max(x2 - x1, y2 - y1) * 0.5, 0.33 * max(H, W))
        return pixel_box((x1 - margin, y1 - margin, x2 + margin, y2 + margin), (H, W))

    def _seed(self, prompt: Prompt, work_hw: Tuple[int, int], to_work, scale: float) -> np.ndarray:
        """GrabCut's initial labels (GC_BGD / GC_FGD / GC_PR_BGD / GC_PR_FGD) at the working size."""
        wh, ww = work_hw
        seed = np.full((wh, ww), cv2.GC_PR_BGD, np.uint8)
        r_sure = max(2, int(round(0.015 * max(wh, ww))))
        if prompt.box is not None:
            seed[:] = cv2.GC_BGD
            ax, ay = to_work(prompt.box[0], prompt.box[1])
            bx, by = to_work(prompt.box[2], prompt.box[3])
            seed[ay:by + 1, ax:bx + 1] = cv2.GC_PR_FGD
        else:
            r_prob = max(3, int(round(0.12 * max(wh, ww))))
            for x, y in prompt.positive_points:
                cv2.circle(seed, to_work(x, y), r_prob, int(cv2.GC_PR_FGD), -1)
        for x, y in prompt.negative_points:
            cv2.circle(seed, to_work(x, y), r_sure, int(cv2.GC_BGD), -1)
        for x, y in prompt.positive_points:
            cv2.circle(seed, to_work(x, y), r_sure, int(cv2.GC_FGD), -1)
        # GrabCut needs samples of both classes to fit its colour models
        if not np.isin(seed, (cv2.GC_BGD, cv2.GC_PR_BGD)).any():
            seed[[0, -1], :] = cv2.GC_PR_BGD
            seed[:, [0, -1]] = cv2.GC_PR_BGD
        if not np.isin(seed, (cv2.GC_FGD, cv2.GC_PR_FGD)).any():
            seed[wh // 2, ww // 2] = cv2.GC_PR_FGD
        return seed

    @staticmethod
    def _keep_prompted_parts(fg: np.ndarray, points: List[Tuple[int, int]], with_largest: bool) -> np.ndarray:
        """The connected parts of ``fg`` that contain a positive point, plus the largest part when asked (a
        box was given: a click that missed a thin object must not discard it) or when no part has a click."""
        n, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
        if n <= 1:
            return fg
        keep = {int(labels[y, x]) for x, y in points if labels[y, x] > 0}
        if with_largest or not keep:
            keep.add(1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA])))
        return np.isin(labels, list(keep)).astype(np.uint8)

    # ---------------------------------------------------------------- everything
    def everything(self, image: Optional[np.ndarray] = None, key: Optional[str] = None,
                   progress: Optional[Progress] = None) -> List[MaskCandidate]:
        """Watershed regions of the image, largest first (from the cached image when ``image`` is None; no
        encoder, so ``key`` is not needed)."""
        report(progress, 0, 0)
        img = self.everything_image(image) if image is not None else self._state()[0].features
        H, W = img.shape[:2]
        labels = self.watershed_labels(img)
        out = []
        ids, counts = np.unique(labels[labels > 0], return_counts=True)
        min_px = max(16, int(0.001 * labels.size))
        regions = ids[np.argsort(-counts, kind="stable")][: self.max_regions]
        for done, rid in enumerate(regions):
            report(progress, done, len(regions))
            small = labels == rid
            if small.sum() < min_px:
                continue
            mask, box = resize_mask(small, (H, W))
            if box is not None:
                out.append(MaskCandidate(mask=mask, score=1.0, logits=None, box=box))
        report(progress, len(regions), len(regions))
        return out

    def watershed_labels(self, image: np.ndarray) -> np.ndarray:
        """int32 region ids (1..N) at a working size of at most ``everything_size`` per side (0 = boundary)."""
        H, W = image.shape[:2]
        s = min(1.0, self.everything_size / max(H, W))
        small = cv2.resize(image, (max(1, round(W * s)), max(1, round(H * s))), interpolation=cv2.INTER_AREA)
        bgr = cv2.pyrMeanShiftFiltering(cv2.cvtColor(small, cv2.COLOR_RGB2BGR), 8, 16)
        lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2LAB).astype(np.float32)
        grad = np.zeros(lab.shape[:2], np.float32)
        for c in range(3):
            gx = cv2.Sobel(lab[..., c], cv2.CV_32F, 1, 0, ksize=3)
            gy = cv2.Sobel(lab[..., c], cv2.CV_32F, 0, 1, ksize=3)
            grad = np.maximum(grad, cv2.magnitude(gx, gy))
        flat = (grad <= np.percentile(grad, 40)).astype(np.uint8)
        k = max(1, int(math.ceil(0.006 * max(small.shape[:2]))))
        flat = cv2.erode(flat, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
        n, markers = cv2.connectedComponents(flat, connectivity=8)
        markers = markers.astype(np.int32)
        cv2.watershed(bgr, markers)
        markers[markers < 0] = 0  # watershed lines
        return markers
