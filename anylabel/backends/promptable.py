"""What the adapters share: embedding cache, in-flight encodes, prompt assembly, candidates.

:class:`CachedSegmenter` (every adapter): ``set_image`` / ``encode`` / ``has_embedding`` over the shared
:class:`~anylabel.backends.cache.EmbeddingCache`, one encoder run per image even when the prefetcher and a
click ask for it at once. Its hook is ``_encode(image) -> Embedding``.

:class:`PromptableSegmenter` (SAM, SAM-ONNX, SAM2) adds ``predict``; an adapter implements two hooks:

* ``_encode(image) -> Embedding``: run the upstream image encoder (the expensive step);
* ``_decode(emb, coords, labels, box, mask_logits, multimask) -> (logits CxhxW, scores C)``: run the
  upstream prompt encoder + mask decoder and return *low-resolution* logits (upsampling happens here, once,
  on the mask's box: see :mod:`anylabel.backends.masks`).

Negative boxes (``Prompt.negative_boxes``) exclude an area in two ways: the box's centre and quadrant
centres are added as negative points (for models that take points, ``takes_negative_points``), and every
candidate mask is ANDed with NOT the box, so no pixel of a negative box is ever part of the answer.
"""
from __future__ import annotations

import functools
import hashlib
import threading
import time
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from anylabel.backends.base import Segmenter
from anylabel.backends.cache import EmbeddingCache, shared_cache
from anylabel.backends.cpu import background_priority, encoding
from anylabel.backends.engines import ONNX_FP32, TORCH_BF16, TORCH_FP32, EnginePlan, plan_engines
from anylabel.backends.masks import exclude_boxes, logits_to_mask, negative_box_points, tight_box
from anylabel.backends.prompt import Box, LazyMaskCandidate, MaskCandidate, Prompt
from anylabel.models.speed import EncodeTimes


@dataclass
class Embedding:
    """One encoded image.

    Attributes:
        orig_hw: (height, width) of the full-size image.
        features: the adapter's tensors/arrays (counted by the cache's size bound).
        logit_hw: (height, width), in low-resolution logit pixels, of the part of the logit grid that covers
            the image (see :func:`anylabel.backends.masks.logits_to_mask`); None for models without logits.
        pre_scale: SAM upsamples its logits 4x before cropping to the image; see ``logits_to_mask``.
    """

    orig_hw: Tuple[int, int]
    features: Any
    logit_hw: Optional[Tuple[float, float]] = None
    pre_scale: int = 1


class EmbeddingMissing(LookupError):
    """``set_image(None, key)`` for a key whose embedding is not (or no longer) cached."""


def array_key(image: np.ndarray) -> str:
    """A content key for an in-memory image (BLAKE2b of shape and bytes), when the caller gives none."""
    h = hashlib.blake2b(digest_size=16)
    h.update(repr(image.shape).encode())
    h.update(np.ascontiguousarray(image).data)
    return h.hexdigest()


def check_image(image: np.ndarray) -> np.ndarray:
    """Validate an HxWx3 uint8 RGB image (raises ValueError naming the problem)."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB image, got shape {image.shape} dtype {image.dtype}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"empty image of shape {image.shape}")
    return image


class CachedSegmenter(Segmenter):
    """Base of every adapter: the current image is an :class:`Embedding` from the shared cache."""

    def __init__(self, name: str, cache: Optional[EmbeddingCache] = None) -> None:
        self.name = name
        #: the embeddings' namespace in the shared cache: the model name, plus the precision when not float32
        #: (a bfloat16 embedding is not the float32 one)
        self.cache_name = name
        self.cache = cache if cache is not None else shared_cache()
        self._lock = threading.Lock()
        self._encode_lock = threading.Lock()  # one encoder run at a time: 2 cores, and torch is greedy
        self._inflight: Dict[str, threading.Event] = {}
        self._current: Optional[Embedding] = None
        self._current_key: Optional[str] = None
        self._current_image: Optional[np.ndarray] = None

    @abstractmethod
    def _encode(self, image: np.ndarray) -> Embedding:
        """Run the image encoder on an HxWx3 uint8 RGB image. Must not touch the current image state."""

    @abstractmethod
    def _predict(self, emb: Embedding, prompt: Prompt) -> List[MaskCandidate]:
        """The adapter's answer to a non-empty ``prompt`` already fitted to the image (:meth:`Prompt.fit`)."""

    def predict(self, prompt: Prompt) -> List[MaskCandidate]:
        """Every adapter's entry point: the prompt is checked and clipped against the current image here, once,
        so that all backends treat clicks and boxes outside the image alike (see :mod:`anylabel.backends.prompt`).

        Raises:
            PromptError: a click outside the image or a box with no area inside it.
        """
        emb, _ = self._state()
        if prompt.is_empty():
            return []
        return self._predict(emb, prompt.fit(emb.orig_hw))

    # ---------------------------------------------------------------- embeddings
    def embedding(self, image: Optional[np.ndarray], key: str) -> Embedding:
        """The cached embedding of ``key``, encoding ``image`` when needed (waiting for an in-flight encode).

        Raises:
            EmbeddingMissing: not cached and ``image`` is None.
        """
        while True:
            emb = self.cache.get(self.cache_name, key)
            if emb is not None:
                return emb
            with self._lock:
                event = self._inflight.get(key)
                mine = event is None
                if mine:
                    if image is None:
                        raise EmbeddingMissing(f"no cached embedding of image {key} for model {self.name}")
                    event = self._inflight[key] = threading.Event()
            if not mine:
                event.wait()  # another thread (the prefetcher) is encoding this image: use its result
                if image is None and not self.cache.contains(self.cache_name, key):
                    raise EmbeddingMissing(f"no cached embedding of image {key} for model {self.name}")
                continue
            try:
                with self._encode_lock, encoding():  # clicks meanwhile use 1 thread (anylabel.backends.cpu)
                    start = time.perf_counter()
                    emb = self._encode(check_image(image))
                    seconds = time.perf_counter() - start
                self.cache.put(self.cache_name, key, emb)
                EncodeTimes().record(self.name, self.device, seconds)  # what the model picker shows
                return emb
            finally:
                with self._lock:
                    self._inflight.pop(key, None)
                event.set()

    def set_image(self, image: Optional[np.ndarray], key: Optional[str] = None) -> None:
        if key is None:
            if image is None:
                raise ValueError("set_image needs an image or a cached key")
            key = array_key(check_image(image))
        emb = self.embedding(image, key)
        with self._lock:
            self._current, self._current_key = emb, key
            self._current_image = image  # kept for everything(); None when the embedding came from the cache

    def encode(self, image: np.ndarray, key: str) -> None:
        # the prefetcher's thread: clicks in the foreground come first (see anylabel.backends.cpu)
        background_priority()
        self.embedding(image, key)

    def has_embedding(self, key: str) -> bool:
        return self.cache.contains(self.cache_name, key)

    @property
    def current_key(self) -> Optional[str]:
        return self._current_key

    def current_embedding(self) -> Embedding:
        """The current image's :class:`Embedding` (its size and logit frame, e.g. for a mask prompt:
        :mod:`anylabel.editing.reprompt`). Raises ValueError when no image is set."""
        return self._state()[0]

    def _state(self) -> Tuple[Embedding, Optional[np.ndarray]]:
        with self._lock:
            if self._current is None:
                raise ValueError(f"{self.name}: no image set; call set_image first")
            return self._current, self._current_image

    def everything_image(self, image: Optional[np.ndarray]) -> np.ndarray:
        """``image`` validated, or the current image's pixels (ValueError when only its embedding is known)."""
        if image is not None:
            return check_image(image)
        _, current = self._state()
        if current is None:
            raise ValueError(f"{self.name}: everything() needs the image pixels; the current image came from "
                             "the embedding cache, pass the image")
        return current

    def everything_input(self, image: Optional[np.ndarray],
                         key: Optional[str] = None) -> Tuple[np.ndarray, Embedding]:
        """The pixels ``everything()`` works on and their embedding, so that automatic masks reuse the cache.

        ``image`` None or equal to the current image: the current image and its embedding (no encoder run).
        Another image: its cached embedding, or one encoded now and cached under ``key`` (default: a hash of
        its pixels); the current image stays current. Raises ValueError when only the current image's
        embedding is known.
        """
        with self._lock:
            emb, current = self._current, self._current_image
        if image is None or (emb is not None and current is not None and image.shape == current.shape
                             and (image is current or np.array_equal(image, current))):
            return self.everything_image(None), emb  # type: ignore[return-value]
        image = check_image(image)
        return image, self.embedding(image, key or array_key(image))

    def close(self) -> None:
        with self._lock:
            self._current = None
            self._current_image = None
        self.cache.clear(self.cache_name)


class PromptableSegmenter(CachedSegmenter):
    """Base of the SAM / SAM-ONNX / SAM2 adapters (and of any model with an encoder + prompt decoder)."""

    #: models that accept negative points get a negative box's points as negatives too
    takes_negative_points = True
    mask_threshold = 0.0
    #: "float32" or "bfloat16" (torch adapters: see :meth:`_use_precision`)
    precision = "float32"
    #: (embedding, its _prepare result) of the latest image decoded: per-image constants of the decoder
    _prepared_memo: Optional[Tuple[Embedding, Any]] = None

    #: the engines of the encoder and the click decoder (torch adapters: see :meth:`_use_engines`)
    engines: Optional[EnginePlan] = None

    def _use_precision(self, requested: Optional[str], device: str, gpu_auto: str = "float32") -> str:
        """Resolve and record the adapter's precision (see :mod:`anylabel.backends.precision`)."""
        self._use_engines(plan_engines(requested, device, gpu_auto=gpu_auto))
        return self.precision

    def _use_engines(self, plan: EnginePlan) -> EnginePlan:
        """Record the engines (:mod:`anylabel.backends.engines`). The embeddings' cache namespace names the
        encoder's engine when it is not torch float32 (``<model>@bfloat16``, ``<model>@onnx``): an embedding
        of another engine is close to, not equal to, this one's, so it is never reused silently."""
        self.engines = plan
        self.precision = plan.encoder_precision
        suffix = {TORCH_FP32: "", TORCH_BF16: "@bfloat16", ONNX_FP32: "@onnx"}[plan.encoder]
        self.cache_name = self.name + suffix
        return plan

    def _prepare(self, emb: Embedding) -> Any:
        """Per-image decoder constants, computed once when an image becomes current (optional hook).

        They are kept for the current image only, not in the embedding cache, so they do not reduce how many
        embeddings the cache holds. ``_decode`` gets them with :meth:`prepared`.
        """
        return None

    def prepared(self, emb: Embedding) -> Any:
        """``_prepare(emb)``, memoised for the latest embedding (identity, not equality: cheap and exact)."""
        memo = self._prepared_memo
        if memo is None or memo[0] is not emb:
            memo = (emb, self._prepare(emb))
            self._prepared_memo = memo  # one atomic assignment: a concurrent reader sees old or new, whole
        return memo[1]

    def set_image(self, image: Optional[np.ndarray], key: Optional[str] = None) -> None:
        super().set_image(image, key)
        self.prepared(self._state()[0])  # now, on the image switch, rather than on the first click

    def close(self) -> None:
        self._prepared_memo = None
        super().close()

    @abstractmethod
    def _decode(self, emb: Embedding, coords: np.ndarray, labels: np.ndarray, box: Optional[Box],
                mask_logits: Optional[np.ndarray], multimask: bool) -> Tuple[np.ndarray, np.ndarray]:
        """Prompt encoder + mask decoder.

        Args:
            coords: Nx2 float (x, y) in full-size image pixels; labels: N ints (1 pos, 0 neg).
            box: (x1, y1, x2, y2) in full-size image pixels or None.
            mask_logits: 1xhxw float32 logits of a previous answer, or None.
        Returns:
            (logits C x h x w float32 at low resolution, scores C float), C = 3 (multimask) or 1.
        """

    # ---------------------------------------------------------------- prompts
    def _predict(self, emb: Embedding, prompt: Prompt) -> List[MaskCandidate]:
        coords, labels = prompt.points, prompt.labels
        if prompt.negative_boxes and self.takes_negative_points:
            extra = negative_box_points(prompt.negative_boxes)
            coords = np.concatenate([coords, extra])
            labels = np.concatenate([labels, np.zeros(len(extra), dtype=np.int64)])
        logits, scores = self._decode(emb, coords, labels, prompt.box, prompt.mask_logits, prompt.multimask)
        return self._candidates(emb, logits, scores, prompt)

    def _candidates(self, emb: Embedding, logits: np.ndarray, scores: np.ndarray,
                    prompt: Prompt) -> List[MaskCandidate]:
        """Candidates best score first: the best one's full-size mask computed, the others on first access
        (:class:`LazyMaskCandidate`); negative boxes excluded from every mask."""
        out: List[MaskCandidate] = []
        for rank, i in enumerate(np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")):
            make = functools.partial(self._full_mask, emb, logits[i], prompt.negative_boxes)
            low_res = np.asarray(logits[i], dtype=np.float32)[None]
            if rank == 0:
                mask, box = make()
                out.append(MaskCandidate(mask=mask, score=float(scores[i]), logits=low_res, box=box))
            else:
                out.append(LazyMaskCandidate(make, score=float(scores[i]), logits=low_res))
        return out

    def _full_mask(self, emb: Embedding, logits: np.ndarray,
                   negative_boxes: List[Box]) -> Tuple[np.ndarray, Optional[Tuple[int, int, int, int]]]:
        mask, box = logits_to_mask(logits, emb.logit_hw, emb.orig_hw, self.mask_threshold, emb.pre_scale)
        if negative_boxes and box is not None:
            box = tight_box(exclude_boxes(mask, negative_boxes), within=box)
        return mask, box
