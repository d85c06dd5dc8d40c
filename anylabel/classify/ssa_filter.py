"""SSA-engine's CLIP filter: the candidate names of a mask (semantic vote ∪ vocabulary), ranked by CLIP.

SSA-engine (fudan-zvg/Semantic-Segment-Anything, ``scripts/pipeline.py``) gathers, per mask, the top
class of two closed-set segmenters plus caption nouns, then keeps CLIP's top-3 of that local set
(``clip_classification``) as ``class_proposals``. Here the local set is the semantic vote's proposals plus
the user's vocabulary, and CLIP ranks it with the same crops and prompt ensemble as vocabulary labelling:
the softmax is over *each mask's own* candidate set. Text embeddings are cached per name, so the many
different candidate sets share one text-tower pass per new name.
"""
from __future__ import annotations

from typing import Iterable, List, Optional, Sequence

import numpy as np

from anylabel.classify.classifier import MaskClassifier, MaskEmbeddings, ProgressFn
from anylabel.votes import Proposal, Vote


def vote_candidates(vote: Optional[Vote]) -> List[str]:
    """The names a semantic vote proposes (winner first), or [] for no vote."""
    if vote is None or vote.label is None:
        return []
    names = [vote.label] + [p.label for p in vote.proposals]
    return list(dict.fromkeys(n for n in names if n))


def _union(first: Iterable[str], second: Iterable[str]) -> List[str]:
    return list(dict.fromkeys([n for n in first if n] + [n for n in second if n]))


def filter_candidates(classifier: MaskClassifier, embeddings: MaskEmbeddings,
                      candidates: Sequence[Sequence[str]], vocabulary: Sequence[str] = (),
                      top_k: int = 3, pixels: Optional[Sequence[int]] = None) -> List[Vote]:
    """CLIP's top-k among each mask's candidates ∪ ``vocabulary`` (precomputed mask embeddings).

    Args:
        classifier: the CLIP mask classifier.
        embeddings: the masks' embeddings (:meth:`MaskClassifier.embed_masks`).
        candidates: per mask, the names to consider (e.g. :func:`vote_candidates` of its semantic vote).
        vocabulary: names added to every mask's candidates.
        top_k: proposals kept per mask.
        pixels: mask areas for ``Vote.pixels``.

    Returns:
        One ``Vote(source="clip")`` per mask: ``proposals`` are CLIP's top-k of the mask's candidate set,
        ``class_id`` the index in that set (semantic first, then vocabulary), ``confidence`` the softmax
        probability within the set. ``label is None`` for masks without a crop or without candidates.
    """
    import torch

    if len(candidates) != len(embeddings.valid):
        raise ValueError(f"{len(candidates)} candidate lists for {len(embeddings.valid)} masks")
    sets = [_union(c, vocabulary) for c in candidates]
    every = _union((n for s in sets for n in s), ())
    votes: List[Vote] = []
    if not every or not embeddings.valid.any():
        return [Vote(label=None, pixels=int(pixels[i]) if pixels is not None else 0, source="clip")
                for i in range(len(sets))]
    text = classifier.embed_texts(every)  # one text-tower call for every name not yet cached
    column = {n: j for j, n in enumerate(every)}
    scale = classifier.model.logit_scale
    for i, names in enumerate(sets):
        area = int(pixels[i]) if pixels is not None else 0
        if not embeddings.valid[i] or not names:
            votes.append(Vote(label=None, pixels=area, source="clip"))
            continue
        cols = torch.tensor([column[n] for n in names])
        probs = torch.softmax(scale * (text[cols] @ embeddings.features[i]).double(), dim=0).numpy()
        order = np.argsort(-probs, kind="stable")[: max(1, top_k)]
        proposals = tuple(Proposal(names[j], int(j), float(probs[j])) for j in order)
        votes.append(Vote(label=proposals[0].label, class_id=proposals[0].class_id,
                          confidence=proposals[0].score, proposals=proposals, pixels=area, source="clip"))
    return votes


def ssa_filter(classifier: MaskClassifier, image: np.ndarray, masks: Sequence[np.ndarray],
               votes: Sequence[Optional[Vote]], vocabulary: Sequence[str] = (), top_k: int = 3,
               cancel: object = None, progress: Optional[ProgressFn] = None) -> List[Vote]:
    """SSA-engine's filter for the masks of one image: semantic votes ∪ vocabulary, ranked by CLIP.

    Args:
        image: HxWx3 uint8 RGB.
        masks: bool HxW masks of the image.
        votes: the semantic vote of each mask (``anylabel.semantic.voting.vote_masks``), or None.
        vocabulary: extra names every mask may take.
        top_k: proposals kept per mask (SSA-engine keeps 3).

    Returns:
        One CLIP ``Vote`` per mask (see :func:`filter_candidates`).
    """
    if len(votes) != len(masks):
        raise ValueError(f"{len(votes)} votes for {len(masks)} masks")
    embeddings = classifier.embed_masks(image, masks, cancel=cancel, progress=progress)
    areas = [int(np.count_nonzero(m)) for m in masks]
    return filter_candidates(classifier, embeddings, [vote_candidates(v) for v in votes], vocabulary,
                             top_k=top_k, pixels=areas)
