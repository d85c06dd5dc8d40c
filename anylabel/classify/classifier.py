"""Zero-shot classification of masks with CLIP: one classifier behind vocabulary labels, text prompts
and the SSA-engine filter.

For each mask: a neutralised square crop (:mod:`anylabel.classify.crops`), CLIP's preprocessing, the image
tower in batches; the vocabulary's text embeddings come from the cache (:mod:`anylabel.classify.vocab`).
Scores are ``softmax(logit_scale * cos(image, text))`` over the vocabulary, as CLIP's zero-shot classifier.

Results are :class:`~anylabel.semantic.voting.Vote` objects (``source="clip"``, ``class_id`` = index in
the vocabulary, ``confidence`` = softmax probability, ``proposals`` = top-k), the same type as SSA's
semantic vote, so the GUI and the autolabel pipeline treat both alike.

Empty masks and masks smaller than ``min_area`` pixels get no embedding and no vote (a ``Vote`` with
``label=None``, the voting module's convention): CLIP on a handful of upscaled pixels answers noise with
confidence, so we say nothing instead (ultralytics' FastSAM text prompt likewise skips masks of <= 100
pixels).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from anylabel.classify.crops import FILLS, mask_box, mask_crop
from anylabel.classify.model import ClipModel
from anylabel.classify.vocab import DEFAULT_TEMPLATES, TextEmbeddingCache
from anylabel.errors import CancelledError
from anylabel.votes import Proposal, Vote

ProgressFn = Callable[[int, int], None]


@dataclass
class MaskEmbeddings:
    """Image embeddings of a list of masks.

    Attributes:
        features: NxD float32 torch tensor, L2-normalised rows; zero rows where ``valid`` is False.
        valid: N bool numpy array: False for empty masks and masks below ``min_area``.
    """

    features: Any
    valid: np.ndarray


def _cancelled(cancel: object) -> bool:
    if cancel is None:
        return False
    if callable(cancel):
        return bool(cancel())
    is_set = getattr(cancel, "is_set", None)
    return bool(is_set()) if is_set is not None else False


class MaskClassifier:
    """CLIP zero-shot classification of masks.

    Args:
        model: the two towers (:class:`~anylabel.classify.model.OpenClipModel`, or a stand-in).
        templates: prompt templates for vocabulary names (see :data:`DEFAULT_TEMPLATES`).
        context: crop window side / mask box side (default 1.2, see :mod:`anylabel.classify.crops`).
        fill: ``"mean"`` (default), ``"blur"`` or ``"none"``: what replaces the pixels outside the mask.
        batch_size: crops per image-tower call (32: on a CPU a ViT-B/32 batch of 1 runs at a fraction of the
            throughput of a batch of 32; see benchmarks/clip_masks.py).
        min_area: masks with fewer pixels get no vote.
        cache: a shared :class:`TextEmbeddingCache` (default: a new one per classifier).
    """

    def __init__(self, model: ClipModel, templates: Sequence[str] = DEFAULT_TEMPLATES, context: float = 1.2,
                 fill: str = "mean", batch_size: int = 32, min_area: int = 16,
                 cache: Optional[TextEmbeddingCache] = None) -> None:
        if fill not in FILLS:
            raise ValueError(f"fill must be one of {FILLS}, got {fill!r}")
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.model = model
        self.templates = tuple(templates)
        self.context = float(context)
        self.fill = fill
        self.batch_size = int(batch_size)
        self.min_area = int(min_area)
        self.cache = cache if cache is not None else TextEmbeddingCache()
        self.image_batches = 0  # image-tower calls, for tests and benchmarks

    # ------------------------------------------------------------------ embeddings
    def crop(self, image: np.ndarray, mask: np.ndarray, min_area: Optional[int] = None) -> Optional[np.ndarray]:
        """The neutralised square crop CLIP sees for ``mask`` (SxSx3 uint8), or None if it gets no vote."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != image.shape[:2]:
            raise ValueError(f"mask {mask.shape} does not match image {image.shape[:2]}")
        if int(np.count_nonzero(mask)) < max(self.min_area if min_area is None else min_area, 1):
            return None
        return mask_crop(image, mask, context=self.context, fill=self.fill, fill_rgb=self.model.fill_rgb,
                         work_size=2 * self.model.image_size, box=mask_box(mask))

    def embed_masks(self, image: np.ndarray, masks: Sequence[np.ndarray], cancel: object = None,
                    progress: Optional[ProgressFn] = None, min_area: Optional[int] = None) -> MaskEmbeddings:
        """Image embeddings of every mask, ``batch_size`` crops per image-tower call.

        Args:
            image: HxWx3 uint8 RGB.
            masks: bool HxW masks of ``image``.
            cancel: None, a ``threading.Event`` or a callable; checked between batches.
            progress: ``progress(done, total)`` after each batch.
            min_area: overrides the classifier's ``min_area`` for this call.

        Raises:
            CancelledError: ``cancel`` fired. ValueError: a mask's shape differs from the image's.
        """
        import torch

        n = len(masks)
        valid = np.zeros(n, dtype=bool)
        rows: List[Any] = [None] * n
        pending: List[Tuple[int, np.ndarray]] = []

        def flush() -> None:
            if not pending:
                return
            feats = self.model.encode_images(self.model.preprocess([c for _, c in pending]))
            self.image_batches += 1
            for (i, _), f in zip(pending, feats):
                rows[i] = f
            pending.clear()

        for i, mask in enumerate(masks):
            if _cancelled(cancel):
                raise CancelledError("mask classification cancelled")
            crop = self.crop(image, mask, min_area=min_area)
            if crop is None:
                continue
            valid[i] = True
            pending.append((i, crop))  # crops are made lazily: at most one batch of them in memory
            if len(pending) >= self.batch_size:
                flush()
                if progress is not None:
                    progress(i + 1, n)
        flush()
        if progress is not None:
            progress(n, n)
        dim = next((r.shape[-1] for r in rows if r is not None), 0)
        feats = torch.zeros((n, dim), dtype=torch.float32)
        for i, r in enumerate(rows):
            if r is not None:
                feats[i] = r
        return MaskEmbeddings(feats, valid)

    def embed_texts(self, names: Sequence[str], templates: Optional[Sequence[str]] = None) -> Any:
        """VxD normalised text embeddings (prompt ensemble), from the cache when possible."""
        return self.cache.get(self.model, list(names), templates or self.templates)

    # ------------------------------------------------------------------ scores
    def probabilities(self, embeddings: MaskEmbeddings, names: Sequence[str]) -> np.ndarray:
        """NxV float64 softmax over ``names`` per mask; rows of NaN for masks without a vote."""
        import torch

        n, v = len(embeddings.valid), len(names)
        out = np.full((n, v), np.nan)
        if v == 0 or not embeddings.valid.any():
            return out
        text = self.embed_texts(names)
        logits = self.model.logit_scale * (embeddings.features[torch.from_numpy(embeddings.valid)] @ text.T)
        out[embeddings.valid] = torch.softmax(logits.double(), dim=-1).numpy()
        return out

    def similarities(self, embeddings: MaskEmbeddings, names: Sequence[str]) -> np.ndarray:
        """NxV cosine similarities (NaN rows for masks without a vote)."""
        import torch

        n = len(embeddings.valid)
        out = np.full((n, len(names)), np.nan)
        if len(names) and embeddings.valid.any():
            text = self.embed_texts(names)
            rows = embeddings.features[torch.from_numpy(embeddings.valid)]
            out[embeddings.valid] = (rows @ text.T).double().numpy()
        return out

    def classify_embeddings(self, embeddings: MaskEmbeddings, names: Sequence[str],
                            top_k: int = 5, pixels: Optional[Sequence[int]] = None) -> List[Vote]:
        """Top-k names per mask from precomputed embeddings (a ``Vote(label=None)`` where there is no vote).

        Args:
            embeddings: from :meth:`embed_masks`.
            names: the vocabulary; ``class_id`` of a proposal is its index here.
            top_k: proposals kept per mask.
            pixels: mask areas, copied into ``Vote.pixels`` when given.
        """
        names = list(names)
        probs = self.probabilities(embeddings, names)
        votes: List[Vote] = []
        for i in range(len(embeddings.valid)):
            area = int(pixels[i]) if pixels is not None else 0
            if not embeddings.valid[i] or not names:
                votes.append(Vote(label=None, pixels=area, source="clip"))
                continue
            # Stable sort: ties keep vocabulary order, so results are deterministic.
            order = np.argsort(-probs[i], kind="stable")[: max(1, top_k)]
            proposals = tuple(Proposal(names[j], int(j), float(probs[i, j])) for j in order)
            votes.append(Vote(label=proposals[0].label, class_id=proposals[0].class_id,
                              confidence=proposals[0].score, proposals=proposals, pixels=area, source="clip"))
        return votes

    def classify(self, image: np.ndarray, masks: Sequence[np.ndarray], vocabulary: Sequence[str],
                 top_k: int = 5, cancel: object = None,
                 progress: Optional[ProgressFn] = None) -> List[Vote]:
        """The vocabulary's top-k names for each mask of ``image``.

        Args:
            image: HxWx3 uint8 RGB.
            masks: bool HxW masks of the image.
            vocabulary: the candidate names (see :func:`~anylabel.classify.vocab.parse_vocabulary`).
            top_k: proposals kept per mask.

        Returns:
            One ``Vote`` per mask, in order (``source="clip"``); ``label is None`` for empty / tiny masks.
        """
        embeddings = self.embed_masks(image, masks, cancel=cancel, progress=progress)
        areas = [int(np.count_nonzero(m)) for m in masks]
        return self.classify_embeddings(embeddings, vocabulary, top_k=top_k, pixels=areas)
