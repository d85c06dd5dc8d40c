"""Text prompts: which of an image's masks is "the red car"?

FastSAM's text prompt: embed every automatic mask's crop with CLIP, embed the text, pick the mask with
the highest similarity. Here the masks of an image are embedded once (:class:`TextFinder`), so each new
text costs one text-tower call and a matrix product, which is what a GUI "find" box typed into needs.

Scores: ``similarity`` is the cosine of mask and text; ``probability`` is the softmax over the candidate
masks of ``logit_scale * similarity``: how much this mask, rather than the others, is the text.
Masks smaller than ``min_area`` (default 100 pixels, as ultralytics' FastSAM) are never candidates.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from anylabel.classify.classifier import MaskClassifier, MaskEmbeddings, ProgressFn


@dataclass(frozen=True)
class MaskMatch:
    """One mask's match with a text.

    Attributes:
        index: position of the mask in the list given to :meth:`TextFinder.set_masks`.
        similarity: cosine similarity of the mask's and the text's CLIP embeddings (-1..1).
        probability: softmax over the candidate masks (0..1, sums to 1 over all candidates).
    """

    index: int
    similarity: float
    probability: float


def rank_masks(classifier: MaskClassifier, embeddings: MaskEmbeddings, text: str) -> List[MaskMatch]:
    """Every valid mask ranked by its match with ``text``, best first (ties: lower index first)."""
    import torch

    text = " ".join(str(text).split())
    if not text:
        raise ValueError("the text prompt is empty")
    idx = np.flatnonzero(embeddings.valid)
    if idx.size == 0:
        return []
    t = classifier.embed_texts([text])[0]
    sims = (embeddings.features[torch.from_numpy(idx)] @ t).double()
    probs = torch.softmax(classifier.model.logit_scale * sims, dim=0).numpy()
    sims_np = sims.numpy()
    order = np.argsort(-sims_np, kind="stable")
    return [MaskMatch(int(idx[j]), float(sims_np[j]), float(probs[j])) for j in order]


class TextFinder:
    """A Qt-free "find" box over one image's masks: embed the masks once, query any number of texts.

    Usage (the GUI runs both calls in its worker thread)::

        finder = TextFinder(classifier)
        finder.set_masks(image, [c.mask for c in segmenter.everything(image)], key=file_key(path))
        matches = finder.find("red car", top_k=3)      # best first; masks = finder.masks[m.index]

    Args:
        classifier: the shared :class:`MaskClassifier`.
        min_area: masks with fewer pixels are never candidates.
    """

    def __init__(self, classifier: MaskClassifier, min_area: int = 100) -> None:
        self.classifier = classifier
        self.min_area = int(min_area)
        self.key: Optional[str] = None
        self.masks: List[np.ndarray] = []
        self._embeddings: Optional[MaskEmbeddings] = None

    def set_masks(self, image: np.ndarray, masks: Sequence[np.ndarray], key: Optional[str] = None,
                  cancel: object = None, progress: Optional[ProgressFn] = None) -> None:
        """Embed ``masks`` (bool HxW of ``image``); a no-op when ``key`` is the current key.

        Raises:
            CancelledError: ``cancel`` fired (the previous masks are kept).
        """
        if key is not None and key == self.key and self._embeddings is not None:
            return
        masks = [np.asarray(m, dtype=bool) for m in masks]
        embeddings = self.classifier.embed_masks(image, masks, cancel=cancel, progress=progress,
                                                 min_area=max(self.min_area, self.classifier.min_area))
        self.key, self.masks, self._embeddings = key, masks, embeddings

    @property
    def candidates(self) -> int:
        """How many of the masks can match a text (large enough to be embedded)."""
        return int(self._embeddings.valid.sum()) if self._embeddings is not None else 0

    def clear(self) -> None:
        self.key, self.masks, self._embeddings = None, [], None

    def find(self, text: str, top_k: int = 1, min_probability: float = 0.0) -> List[MaskMatch]:
        """The ``top_k`` masks that best match ``text`` (probability >= ``min_probability``), best first.

        Raises:
            ValueError: no masks were set, or the text is empty.
        """
        if self._embeddings is None:
            raise ValueError("no masks: call set_masks(image, masks) first")
        ranked = rank_masks(self.classifier, self._embeddings, text)
        return [m for m in ranked if m.probability >= min_probability][: max(1, top_k)]


def segment_by_text(segmenter: Any, classifier: MaskClassifier, image: np.ndarray, text: str,
                    key: Optional[str] = None, top_k: int = 1, min_area: int = 100,
                    cancel: object = None) -> List[Tuple[Any, MaskMatch]]:
    """FastSAM-style text prompt on any backend: its "everything" masks, ranked by CLIP against ``text``.

    Args:
        segmenter: a :class:`~anylabel.backends.base.Segmenter`.
        classifier: the CLIP mask classifier.
        image: HxWx3 uint8 RGB.
        text: the prompt, e.g. ``"red car"``.
        key: the image's content key for the segmenter's embedding cache.
        top_k: how many masks to return.

    Returns:
        Up to ``top_k`` (MaskCandidate, MaskMatch), best first; empty when no mask is large enough.
    """
    segmenter.set_image(image, key=key)
    candidates = segmenter.everything(image)
    finder = TextFinder(classifier, min_area=min_area)
    finder.set_masks(image, [c.mask for c in candidates], cancel=cancel)
    if not finder.masks:
        return []
    return [(candidates[m.index], m) for m in finder.find(text, top_k=top_k)]
