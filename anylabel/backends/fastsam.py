"""FastSAM (ultralytics): everything-mode masks, and point / box prompts that select and merge them.

FastSAM is a YOLOv8-seg model: one forward pass gives every object's mask ("everything"). That pass is this
adapter's "embedding" (cached like SAM's): the masks at the network's resolution, each cropped to its box.
A click then only *selects*:

* box: the masks with the highest IoU against the box (as ultralytics' ``FastSAMPredictor.prompt``), clipped
  to the box, up to three candidates;
* positive points: for every positive point the masks containing it that contain no negative point; three
  candidates merge (union over the points) the smallest ("subpart"), the middle and the largest ("whole")
  of them; with a box too, they are clipped to it;
* negative points remove: a mask containing one is never selected, and the smallest mask around each
  negative point is subtracted from the result; negative boxes add their points as negatives and are
  excluded pixel-wise.

Offline: ultralytics checks connectivity, update and telemetry settings at import, and may download fonts or
weights. ``YOLO_OFFLINE=1`` is set before ultralytics is imported here and its ``ONLINE`` flags and event
telemetry are switched off after, so it never reaches the network; weights are only ever read from the
registry's verified file. The checkpoint (a pickled ultralytics model, the official format) is read once,
its checksum verified on those bytes, and unpickled from memory with ultralytics' restricted
``weights_only`` loader, which refuses anything but known model classes; ultralytics never reopens the file
(:mod:`anylabel.models.ultralytics_loading`).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from anylabel.backends.base import Progress, report
from anylabel.backends.cache import EmbeddingCache
from anylabel.backends.masks import exclude_boxes, negative_box_points, pixel_box, resize_mask, tight_box
from anylabel.backends.prompt import MaskCandidate, Prompt
from anylabel.backends.promptable import CachedSegmenter, Embedding
from anylabel.errors import ModelError
from anylabel.models import ModelSpec

STRIDE = 32


def ultralytics_offline() -> None:
    """Make ultralytics network-free for this process (env for later imports, flags for earlier ones)."""
    os.environ["YOLO_OFFLINE"] = "1"
    import ultralytics.utils as uu
    import ultralytics.utils.checks as uc
    import ultralytics.utils.events as ue

    uu.ONLINE = uc.ONLINE = ue.ONLINE = False
    ue.events.enabled = False


def _work_size(h: int, w: int, imgsz: int) -> Tuple[int, int]:
    """Network input size: longest side ``imgsz``, both sides multiples of the stride (no letterbox padding)."""
    s = imgsz / max(h, w)
    return max(STRIDE, int(round(h * s / STRIDE)) * STRIDE), max(STRIDE, int(round(w * s / STRIDE)) * STRIDE)


class FastSamSegmenter(CachedSegmenter):
    """ultralytics FastSAM-s / FastSAM-x. Settings: ``imgsz`` (1024), ``conf`` (0.4), ``iou`` (0.9), ``max_det``."""

    def __init__(self, spec: ModelSpec, checkpoint: Path, cache: Optional[EmbeddingCache] = None,
                 device: str = "cpu") -> None:
        super().__init__(spec.name, cache)
        ultralytics_offline()
        from ultralytics import FastSAM

        from anylabel.models.ultralytics_loading import load_ultralytics_model

        self.spec = spec
        # any name of anylabel.devices; ultralytics' own ``device`` argument takes the resolved one. float32, as
        # ultralytics' predictor by default (its ``half`` is off)
        from anylabel.devices import resolve_device

        self.device = resolve_device(device)
        self.precision = "float32"
        st = spec.settings
        self.imgsz = int(st.get("imgsz", 1024))
        self.conf = float(st.get("conf", 0.4))
        self.iou = float(st.get("iou", 0.9))
        self.max_det = int(st.get("max_det", 100))
        try:  # read once, checksum on those bytes, restricted unpickling in memory: the file is not reopened
            self.model = load_ultralytics_model(FastSAM, checkpoint, spec if spec.has_checksum else None)
        except (TypeError, RuntimeError, KeyError, AttributeError, EOFError) as e:
            raise ModelError(f"not a FastSAM / ultralytics segmentation checkpoint: {e}", checkpoint) from e
        if getattr(self.model, "task", None) != "segment":
            raise ModelError(f"an ultralytics {self.model.task!r} model, not a segmentation (FastSAM) model",
                             checkpoint)

    # ---------------------------------------------------------------- the everything pass = the embedding
    def _encode(self, image: np.ndarray) -> Embedding:
        H, W = image.shape[:2]
        wh, ww = _work_size(H, W, self.imgsz)
        small = cv2.resize(image, (ww, wh), interpolation=cv2.INTER_AREA)
        result = self.model.predict(np.ascontiguousarray(small[..., ::-1]), device=self.device, imgsz=(wh, ww),
                                    conf=self.conf, iou=self.iou, max_det=self.max_det, retina_masks=True,
                                    verbose=False)[0]
        crops: List[np.ndarray] = []
        boxes: List[Tuple[int, int, int, int]] = []
        scores: List[float] = []
        if result.masks is not None:
            masks = result.masks.data.cpu().numpy() > 0.5
            confs = result.boxes.conf.cpu().numpy()
            for m, c in zip(masks, confs):
                b = tight_box(m)
                if b is None:
                    continue
                crops.append(np.ascontiguousarray(m[b[1]:b[3], b[0]:b[2]]))
                boxes.append(b)
                scores.append(float(c))
        features = {"work_hw": (wh, ww), "boxes": np.asarray(boxes, np.int64).reshape(-1, 4),
                    "scores": np.asarray(scores, np.float32), "crops": crops,
                    "areas": np.asarray([int(c.sum()) for c in crops], np.int64)}
        return Embedding(orig_hw=(H, W), features=features)

    # ---------------------------------------------------------------- helpers in working coordinates
    @staticmethod
    def _to_work(emb: Embedding, xy: np.ndarray) -> np.ndarray:
        (H, W), (wh, ww) = emb.orig_hw, emb.features["work_hw"]
        out = np.asarray(xy, np.float64).reshape(-1, 2) * [ww / W, wh / H]
        return np.clip(np.floor(out), 0, [ww - 1, wh - 1]).astype(np.int64)

    @staticmethod
    def _contains(f: dict, pts: np.ndarray) -> np.ndarray:
        """N_masks x N_points bool: does mask i contain point j (working coords)?"""
        out = np.zeros((len(f["crops"]), len(pts)), dtype=bool)
        for i, ((x0, y0, x1, y1), crop) in enumerate(zip(f["boxes"], f["crops"])):
            for j, (x, y) in enumerate(pts):
                if x0 <= x < x1 and y0 <= y < y1:
                    out[i, j] = crop[y - y0, x - x0]
        return out

    @staticmethod
    def _paint(f: dict, idx: Sequence[int], into: np.ndarray, value: bool = True) -> np.ndarray:
        for i in idx:
            x0, y0, x1, y1 = f["boxes"][i]
            region = into[y0:y1, x0:x1]
            if value:
                region |= f["crops"][i]
            else:
                region &= ~f["crops"][i]
        return into

    def _box_ranking(self, emb: Embedding, box: Tuple[float, float, float, float]) -> List[Tuple[int, float]]:
        """(mask index, IoU with the box) best first, ultralytics' box-prompt criterion."""
        f = emb.features
        (H, W), (wh, ww) = emb.orig_hw, f["work_hw"]
        bx0, by0, bx1, by1 = pixel_box((box[0] * ww / W, box[1] * wh / H, box[2] * ww / W, box[3] * wh / H),
                                       (wh, ww))
        box_area = max(1, (bx1 - bx0) * (by1 - by0))
        ranking = []
        for i, ((x0, y0, x1, y1), crop) in enumerate(zip(f["boxes"], f["crops"])):
            ix0, iy0, ix1, iy1 = max(x0, bx0), max(y0, by0), min(x1, bx1), min(y1, by1)
            inter = int(crop[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0].sum()) if ix1 > ix0 and iy1 > iy0 else 0
            ranking.append((i, inter / (box_area + int(f["areas"][i]) - inter)))
        ranking.sort(key=lambda t: -t[1])
        return [r for r in ranking if r[1] > 0]

    # ---------------------------------------------------------------- prompts
    def _predict(self, emb: Embedding, prompt: Prompt) -> List[MaskCandidate]:
        f = emb.features
        neg_pts = np.concatenate([prompt.negative_points, negative_box_points(prompt.negative_boxes)])
        pos_w, neg_w = self._to_work(emb, prompt.positive_points), self._to_work(emb, neg_pts)
        in_pos, in_neg = self._contains(f, pos_w), self._contains(f, neg_w)
        allowed = ~in_neg.any(axis=1)
        # every candidate: (selected mask indices, score)
        choices: List[Tuple[Tuple[int, ...], float]] = []
        if len(pos_w):
            per_point = [sorted(np.flatnonzero(in_pos[:, j] & allowed), key=lambda i: f["areas"][i])
                         for j in range(len(pos_w))]
            per_point = [p for p in per_point if p]
            for pick in (lambda c: c[-1], lambda c: c[len(c) // 2], lambda c: c[0]):  # whole, part, subpart
                idx = tuple(sorted({int(pick(c)) for c in per_point}))
                if idx and idx not in [c[0] for c in choices]:
                    choices.append((idx, float(np.mean(f["scores"][list(idx)]))))
        if not choices and prompt.box is not None:
            choices = [((i,), iou) for i, iou in self._box_ranking(emb, prompt.box)[:3]]
        # the smallest mask around each negative point is carved out of the answer
        carve = [int(min(np.flatnonzero(in_neg[:, j]), key=lambda i: f["areas"][i]))
                 for j in range(len(neg_w)) if in_neg[:, j].any()]
        out = []
        for idx, score in sorted(choices, key=lambda c: -c[1]):
            small = self._paint(f, idx, np.zeros(f["work_hw"], dtype=bool))
            self._paint(f, carve, small, value=False)
            mask, box = resize_mask(small, emb.orig_hw)
            if box is not None and prompt.box is not None:  # the object lies inside its box
                keep = np.zeros_like(mask)
                x0, y0, x1, y1 = pixel_box(prompt.box, mask.shape)
                keep[y0:y1, x0:x1] = mask[y0:y1, x0:x1]
                mask, box = keep, tight_box(keep, within=box)
            if box is not None and prompt.negative_boxes:
                box = tight_box(exclude_boxes(mask, prompt.negative_boxes), within=box)
            out.append(MaskCandidate(mask=mask, score=score, logits=None, box=box))
        return out[:3] if prompt.multimask else out[:1]

    def everything(self, image: Optional[np.ndarray] = None, key: Optional[str] = None,
                   progress: Optional[Progress] = None) -> List[MaskCandidate]:
        """Every FastSAM mask at full size, largest first (from the cached pass when ``image`` is None)."""
        report(progress, 0, 0)
        emb = self.embedding(image, key or self._key_for(image)) if image is not None else self._state()[0]
        f = emb.features
        out = []
        order = np.argsort(-f["areas"], kind="stable")
        for done, i in enumerate(order):
            report(progress, done, len(order))
            small = self._paint(f, [int(i)], np.zeros(f["work_hw"], dtype=bool))
            mask, box = resize_mask(small, emb.orig_hw)
            if box is not None:
                out.append(MaskCandidate(mask=mask, score=float(f["scores"][i]), logits=None, box=box))
        report(progress, len(order), len(order))
        return out

    @staticmethod
    def _key_for(image: np.ndarray) -> str:
        from anylabel.backends.promptable import array_key, check_image

        return array_key(check_image(image))
