"""Label proposers: what turns the masks of one image into votes, and how they combine.

Two kinds plug into the same seam, :class:`LabelProposer`:

* :class:`SemanticVoter`: SSA's vote of a :class:`~anylabel.semantic.branch.SemanticBranch`;
* :class:`ClipProposer`: CLIP zero-shot classification (:mod:`anylabel.classify`) against a
  vocabulary; when a semantic vote ran first, CLIP ranks each mask's semantic proposals ∪ the vocabulary
  (SSA-engine's filter).

:class:`Labeler` runs the semantic vote (if any), then the classifier (if any) with the semantic votes as
its prior. The final label is the classifier's when it voted, else the semantic one; both votes are
kept, so files and the GUI can show them side by side. Masks sharing a group key are labelled once, on
their union, by every proposer.

A new classifier is a :class:`LabelProposer` subclass registered in :data:`CLASSIFIERS` under the prefix
of its ``--classifier`` spec.
"""
from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Hashable, Iterable, List, Optional, Sequence, Union

import numpy as np

from anylabel.errors import AnylabelError
from anylabel.semantic.branch import SemanticBranch
from anylabel.semantic.voting import Vote, group_units, vote_masks

PathLike = Union[str, Path]


class LabelProposer(ABC):
    """Proposes a label (a :class:`Vote` with top-k proposals) for each mask of one image.

    Attributes:
        name: recorded in output files (e.g. ``"labelmap:DIR"``, ``"clip:clip_vit_b32"``).
        needs_image: False when :meth:`propose` works from the image path alone.
    """

    name: str = "proposer"
    needs_image: bool = True

    @abstractmethod
    def propose(self, masks: Sequence[np.ndarray], image: Optional[np.ndarray], image_path: Optional[PathLike] = None,
                prior: Optional[Sequence[Vote]] = None, boxes: Optional[Sequence] = None) -> List[Vote]:
        """One vote per mask, in order.

        Args:
            masks: bool HxW masks at the image size.
            image: HxWx3 uint8 RGB, or None when ``needs_image`` is False.
            image_path: the image file (label-map branches find their map by it).
            prior: votes of an earlier proposer for the same masks (the semantic vote), or None.
            boxes: optional tight box per mask (x1, y1, x2, y2, exclusive ends), a speed hint.
        """

    def close(self) -> None:
        """Release models (optional)."""


class SemanticVoter(LabelProposer):
    """SSA voting over the class map of a semantic branch (see :mod:`anylabel.semantic.voting`)."""

    def __init__(self, branch: SemanticBranch, ignore_ids: Iterable[int] = (), ignore_label: Optional[str] = None,
                 top_k: int = 3) -> None:
        self.branch = branch
        self.ignore_ids = tuple(sorted(set(branch.ignore_ids) | {int(i) for i in ignore_ids}))
        self.ignore_label = ignore_label
        self.top_k = int(top_k)
        self.name = branch.name
        self.needs_image = branch.needs_image

    def propose(self, masks: Sequence[np.ndarray], image: Optional[np.ndarray], image_path: Optional[PathLike] = None,
                prior: Optional[Sequence[Vote]] = None, boxes: Optional[Sequence] = None) -> List[Vote]:
        if len(masks) == 0:
            return []
        class_map, names = self.branch.class_map(image, image_path)
        return self.vote(masks, class_map, names, boxes)

    def vote(self, masks: Sequence[np.ndarray], class_map: np.ndarray, names: Sequence[str],
             boxes: Optional[Sequence] = None) -> List[Vote]:
        """Vote with a class map already at hand."""
        return vote_masks(masks, class_map, names, ignore_ids=self.ignore_ids, ignore_label=self.ignore_label,
                          top_k=self.top_k, boxes=boxes)

    def close(self) -> None:
        self.branch.close()


class ClipProposer(LabelProposer):
    """CLIP zero-shot labels from :mod:`anylabel.classify` (loaded lazily; torch and open_clip are heavy).

    Without a prior it classifies against ``vocabulary``; with the semantic votes as prior it ranks each
    mask's semantic proposals ∪ ``vocabulary`` (SSA-engine's CLIP filter).
    """

    def __init__(self, model: str, vocabulary: Union[str, Sequence[str], None] = None,
                 models_files: Iterable[PathLike] = (), top_k: int = 3, classifier: object = None,
                 device: Optional[str] = None) -> None:
        from anylabel.classify import MaskClassifier, load_clip, parse_vocabulary

        self.vocabulary: List[str] = parse_vocabulary(vocabulary) if vocabulary else []
        if classifier is None:
            from anylabel.models import ModelRegistry

            registry = ModelRegistry.load(extra_files=list(models_files) or None)
            classifier = MaskClassifier(load_clip(model, registry=registry, device=device))
        self.classifier = classifier
        self.top_k = int(top_k)
        self.name = f"clip:{model}"

    def propose(self, masks: Sequence[np.ndarray], image: Optional[np.ndarray], image_path: Optional[PathLike] = None,
                prior: Optional[Sequence[Vote]] = None, boxes: Optional[Sequence] = None) -> List[Vote]:
        if len(masks) == 0:
            return []
        if image is None:
            raise ValueError("CLIP needs the image's pixels")
        if prior is not None:
            from anylabel.classify import ssa_filter

            return ssa_filter(self.classifier, image, masks, prior, self.vocabulary, top_k=self.top_k)
        if not self.vocabulary:
            raise AnylabelError("a CLIP classifier without a semantic branch needs a vocabulary (--vocab)")
        return self.classifier.classify(image, masks, self.vocabulary, top_k=self.top_k)


#: ``--classifier KIND:ARG`` factories: ``factory(arg, vocabulary, models_files, top_k) -> LabelProposer``
CLASSIFIERS: Dict[str, Callable[..., LabelProposer]] = {
    "clip": lambda arg, vocabulary, models_files, top_k, device=None: ClipProposer(arg, vocabulary, models_files,
                                                                                  top_k, device=device),
}


def parse_classifier_spec(spec: str, vocabulary: Union[str, Sequence[str], None] = None,
                          models_files: Iterable[PathLike] = (), top_k: int = 3,
                          device: Optional[str] = None) -> LabelProposer:
    """Build the classifier a ``--classifier`` spec names (``clip:clip_vit_b32``), on ``device``."""
    kind, sep, arg = str(spec).partition(":")
    factory = CLASSIFIERS.get(kind.strip().lower())
    if factory is None or not sep or not arg.strip():
        raise AnylabelError(f"invalid classifier {spec!r}: expected one of "
                            f"{', '.join(k + ':NAME' for k in CLASSIFIERS)}")
    # ``device`` goes to the factories that take it: ones registered before it existed keep working
    params = inspect.signature(factory).parameters.values()
    takes_device = any(p.name == "device" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
    return factory(arg.strip(), vocabulary, tuple(models_files), top_k, **({"device": device} if takes_device else {}))


@dataclass(frozen=True)
class LabeledMask:
    """The outcome for one mask: the final vote and what each proposer said."""

    vote: Vote
    semantic: Optional[Vote] = None
    classifier: Optional[Vote] = None


class Labeler:
    """Runs the semantic vote and/or a classifier on the masks of one image."""

    def __init__(self, voter: Optional[SemanticVoter] = None, classifier: Optional[LabelProposer] = None) -> None:
        if voter is None and classifier is None:
            raise AnylabelError("nothing to label with: give a semantic branch and/or a classifier")
        self.voter = voter
        self.classifier = classifier

    @property
    def needs_image(self) -> bool:
        return any(p.needs_image for p in (self.voter, self.classifier) if p is not None)

    def label(self, masks: Sequence[np.ndarray], image: Optional[np.ndarray], image_path: Optional[PathLike] = None,
              groups: Optional[Sequence[Optional[Hashable]]] = None,
              boxes: Optional[Sequence] = None) -> List[LabeledMask]:
        """One :class:`LabeledMask` per mask; masks sharing a group key share one result.

        ``boxes`` (one tight box per mask, or None) is a speed hint, used only without groups.
        """
        units, owner = group_units(masks, groups)
        boxes = boxes if groups is None else None
        semantic = self.voter.propose(units, image, image_path, boxes=boxes) if self.voter is not None else None
        clip = (self.classifier.propose(units, image, image_path, prior=semantic, boxes=boxes)
                if self.classifier is not None else None)
        results: List[LabeledMask] = []
        for u in range(len(units)):
            s = semantic[u] if semantic is not None else None
            c = clip[u] if clip is not None else None
            final = c if c is not None and c.voted else (s if s is not None else c)
            results.append(LabeledMask(vote=final, semantic=s, classifier=c))
        return [results[u] for u in owner]

    def close(self) -> None:
        for p in (self.voter, self.classifier):
            if p is not None:
                p.close()
