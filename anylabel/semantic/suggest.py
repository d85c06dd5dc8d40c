"""Label suggestions for the GUI (Qt-free): the vote for one finished object, with the class map cached.

When the user finishes an object (F), the label dialog asks :meth:`LabelSuggester.suggest` for the
voted class, its confidence and the alternatives. The class map of an image is computed once (a model
branch may take a second) and kept for the next objects of that image; :meth:`LabelSuggester.prepare`
can compute it ahead of time from a worker thread. With a classifier (CLIP) configured too,
:meth:`LabelSuggester.suggest_detail` returns both votes so the dialog can show them side by side.

``auto_accept(vote, threshold)`` is the rule for accepting a vote without showing the dialog.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from anylabel.semantic.branch import SemanticBranch
from anylabel.semantic.proposers import LabeledMask, LabelProposer, SemanticVoter
from anylabel.semantic.voting import NO_VOTE, Vote, class_counts, prepare_class_map, votes_from_counts

PathLike = Union[str, Path]


def auto_accept(vote: Optional[Vote], threshold: Optional[float]) -> bool:
    """True when ``vote`` may be taken without asking: it voted and its confidence >= ``threshold``.

    ``threshold`` None (the option is off) never accepts.
    """
    return threshold is not None and vote is not None and vote.voted and vote.confidence >= float(threshold)


class LabelSuggester:
    """Votes a label for single masks of the image being edited.

    Args:
        branch: the semantic branch (see :func:`anylabel.semantic.spec.parse_semantic_spec`), or None.
        classifier: an optional :class:`LabelProposer` (CLIP) run after the semantic vote.
        ignore_ids, ignore_label, top_k: voting options (see :mod:`anylabel.semantic.voting`).
        cache_images: how many images' class maps to keep (the current one and a few neighbours).
    """

    def __init__(self, branch: Optional[SemanticBranch] = None, classifier: Optional[LabelProposer] = None,
                 ignore_ids: Iterable[int] = (), ignore_label: Optional[str] = None, top_k: int = 3,
                 cache_images: int = 4) -> None:
        self.voter = SemanticVoter(branch, ignore_ids, ignore_label, top_k) if branch is not None else None
        self.classifier = classifier
        self.cache_images = max(1, int(cache_images))
        self._cache: "OrderedDict[Tuple[str, Tuple[int, int]], Tuple[np.ndarray, List[str]]]" = OrderedDict()
        self._lock = threading.Lock()
        self.class_map_calls = 0  # how often the branch ran (tests, diagnostics)

    @classmethod
    def from_spec(cls, spec: str, names_file: Optional[PathLike] = None, device: Optional[str] = None,
                  **options) -> "LabelSuggester":
        """A suggester for a ``--semantic`` spec string (``labelmap:DIR``, ``yolo:MODEL``, ``hf:DIR``); model
        branches run on ``device`` (a name of :mod:`anylabel.devices`; None: ``$ANYLABEL_DEVICE`` or auto)."""
        from anylabel.semantic.spec import parse_semantic_spec

        return cls(parse_semantic_spec(spec, names_file=names_file, device=device), **options)

    @property
    def enabled(self) -> bool:
        return self.voter is not None or self.classifier is not None

    def prepare(self, image_path: PathLike, image: Optional[np.ndarray] = None,
                size: Optional[Tuple[int, int]] = None) -> None:
        """Compute and cache the class map of an image (call from a worker thread to hide the cost)."""
        if self.voter is not None:
            self._bins(image_path, image, size or (image.shape[:2] if image is not None else None))

    def suggest(self, mask: np.ndarray, image_path: PathLike, image: Optional[np.ndarray] = None) -> Vote:
        """The vote for one bool HxW mask (at the image's size) of the image at ``image_path``.

        Returns the classifier's vote when a classifier is configured and voted, else the semantic vote;
        ``NO_VOTE`` (``label is None``) when nothing voted or nothing is configured.
        """
        return self.suggest_detail(mask, image_path, image).vote

    def suggest_detail(self, mask: np.ndarray, image_path: PathLike, image: Optional[np.ndarray] = None) -> LabeledMask:
        """Like :meth:`suggest`, with the semantic and the classifier votes separately."""
        mask = np.asarray(mask, dtype=bool)
        semantic = None
        if self.voter is not None:
            bins, names = self._bins(image_path, image, mask.shape)
            counts = class_counts([mask], bins, len(names))
            semantic = votes_from_counts(counts, names, self.voter.top_k)[0]
        clip = None
        if self.classifier is not None:
            if image is None and self.classifier.needs_image:
                from anylabel.imaging import load_image

                image = load_image(image_path)
            prior = [semantic] if semantic is not None else None
            clip = self.classifier.propose([mask], image, image_path, prior=prior)[0]
        final = clip if clip is not None and clip.voted else (semantic if semantic is not None else clip)
        return LabeledMask(vote=final if final is not None else NO_VOTE, semantic=semantic, classifier=clip)

    def forget(self, image_path: Optional[PathLike] = None) -> None:
        """Drop the cached class map of one image (after its label map changed), or of all images."""
        with self._lock:
            if image_path is None:
                self._cache.clear()
            else:
                for key in [k for k in self._cache if k[0] == str(image_path)]:
                    del self._cache[key]

    def _bins(self, image_path: PathLike, image: Optional[np.ndarray],
              size: Optional[Tuple[int, int]]) -> Tuple[np.ndarray, List[str]]:
        """The prepared class map of an image at ``size`` (cached, least recently used dropped)."""
        voter = self.voter
        assert voter is not None
        if image is None and voter.needs_image:
            from anylabel.imaging import load_image

            image = load_image(image_path)
        if size is None:
            if image is not None:
                size = image.shape[:2]
            else:
                from anylabel.imaging import image_size

                size = image_size(image_path)
        key = (str(image_path), (int(size[0]), int(size[1])))
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        class_map, names = voter.branch.class_map(image, image_path)
        self.class_map_calls += 1
        all_names = list(names) + ([voter.ignore_label] if voter.ignore_label is not None else [])
        bins = prepare_class_map(class_map, len(names), key[1], voter.ignore_ids,
                                 ignore_bin=voter.ignore_label is not None)
        with self._lock:
            self._cache[key] = (bins, all_names)
            while len(self._cache) > self.cache_images:
                self._cache.popitem(last=False)
        return bins, all_names

    def suggest_many(self, masks: Sequence[np.ndarray], image_path: PathLike,
                     image: Optional[np.ndarray] = None) -> List[Vote]:
        """Votes for several masks of one image (e.g. after "everything")."""
        return [self.suggest(m, image_path, image) for m in masks]

    def close(self) -> None:
        self.forget()
        if self.voter is not None:
            self.voter.close()
        if self.classifier is not None:
            self.classifier.close()
