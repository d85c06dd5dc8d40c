"""The GUI's LabelSuggester (Qt-free) and the LabelProposer seam that classifiers (CLIP) plug into."""
from __future__ import annotations

from typing import List

import numpy as np
import pytest
from PIL import Image

from anylabel.errors import AnylabelError
from anylabel.semantic.branch import SemanticBranch
from anylabel.semantic.proposers import CLASSIFIERS, Labeler, LabelProposer, SemanticVoter, parse_classifier_spec
from anylabel.semantic.suggest import LabelSuggester, auto_accept
from anylabel.semantic.voting import Proposal, Vote

NAMES = ["background", "cat", "dog"]


class CountingBranch(SemanticBranch):
    """Left half cat, right half dog, at half the image resolution; counts its calls."""

    needs_image = False

    def __init__(self) -> None:
        self.calls: List[str] = []
        self.name = "test:halves"

    def class_map(self, image, image_path=None):
        self.calls.append(str(image_path))
        cm = np.ones((10, 20), np.int32)
        cm[:, 10:] = 2
        return cm, list(NAMES)


class PickLargest(LabelProposer):
    """A stand-in classifier: labels each mask 'big' or 'small'; records what it was given."""

    name = "test:size"

    def __init__(self) -> None:
        self.seen = []

    def propose(self, masks, image, image_path=None, prior=None, boxes=None):
        self.seen.append((len(masks), prior))
        votes = []
        for m in masks:
            area = int(np.count_nonzero(m))
            if area == 0:
                votes.append(Vote(label=None, source="size"))
                continue
            label = "big" if area >= 50 else "small"
            votes.append(Vote(label=label, class_id=0, confidence=0.8, proposals=(Proposal(label, 0, 0.8),),
                              pixels=area, source="size"))
        return votes


def _mask(y0, y1, x0, x1, shape=(20, 40)):
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


def test_suggester_caches_the_class_map_per_image():
    branch = CountingBranch()
    sug = LabelSuggester(branch, cache_images=2)
    assert sug.suggest(_mask(0, 20, 0, 8), "a.jpg").label == "cat"
    vote = sug.suggest(_mask(0, 20, 24, 40), "a.jpg")
    assert vote.label == "dog" and vote.confidence == 1.0
    assert sug.class_map_calls == 1 and branch.calls == ["a.jpg"]
    sug.suggest(_mask(0, 4, 0, 40), "b.jpg")
    sug.suggest(_mask(0, 4, 0, 40), "c.jpg")  # evicts a.jpg (least recently used)
    sug.suggest(_mask(0, 4, 0, 40), "a.jpg")
    assert branch.calls == ["a.jpg", "b.jpg", "c.jpg", "a.jpg"]
    sug.forget("a.jpg")
    sug.prepare("a.jpg", size=(20, 40))
    assert branch.calls[-1] == "a.jpg" and sug.class_map_calls == 5
    tie = sug.suggest(_mask(0, 20, 10, 30), "a.jpg")  # 200 cat, 200 dog: the lowest id wins
    assert tie.label == "cat" and [p.label for p in tie.proposals] == ["cat", "dog"]
    assert sug.suggest(np.zeros((20, 40), bool), "a.jpg").label is None


def test_suggester_on_a_voc_object(voc_dir):
    sug = LabelSuggester.from_spec(f"labelmap:{voc_dir / 'data_dataset_voc' / 'SegmentationClass'}")
    objects = np.asarray(Image.open(voc_dir / "data_dataset_voc" / "SegmentationObject" / "2011_000025.png"))
    image_path = voc_dir / "data_annotated" / "2011_000025.jpg"
    assert sug.suggest(objects == 3, image_path).label == "car"   # size from the image header, no decode
    assert sug.suggest(objects == 1, image_path).label == "bus"


def test_auto_accept_rule():
    vote = Vote(label="cat", class_id=1, confidence=0.9)
    assert auto_accept(vote, 0.9) and auto_accept(vote, 0.5)
    assert not auto_accept(vote, 0.95) and not auto_accept(vote, None)
    assert not auto_accept(Vote(label=None), 0.0) and not auto_accept(None, 0.0)


def test_labeler_gives_the_classifier_the_semantic_votes_as_prior():
    voter = SemanticVoter(CountingBranch(), top_k=2)
    clf = PickLargest()
    labeler = Labeler(voter, clf)
    assert labeler.needs_image and not Labeler(voter).needs_image  # the label maps need no pixels
    masks = [_mask(0, 10, 0, 10), _mask(0, 2, 0, 2), np.zeros((20, 40), bool), _mask(10, 20, 30, 40)]
    out = labeler.label(masks, np.zeros((20, 40, 3), np.uint8), "x.jpg", groups=[None, None, None, "g"])
    assert [r.vote.label for r in out] == ["big", "small", None, "big"]
    assert [r.semantic.label for r in out] == ["cat", "cat", None, "dog"]
    (n_masks, prior), = clf.seen
    assert n_masks == 4 and [v.label for v in prior] == ["cat", "cat", None, "dog"]
    # a classifier that does not vote falls back to the semantic vote
    class Abstain(PickLargest):
        def propose(self, masks, image, image_path=None, prior=None, boxes=None):
            return [Vote(label=None, source="size") for _ in masks]

    out = Labeler(voter, Abstain()).label(masks[:1], None, "x.jpg")
    assert out[0].vote.label == "cat" and out[0].classifier.label is None


def test_labeler_groups_reach_every_proposer_as_one_union():
    clf = PickLargest()
    parts = [_mask(0, 5, 0, 5), _mask(0, 5, 5, 10)]  # 25 px each, 50 px together
    out = Labeler(None, clf).label(parts, np.zeros((20, 40, 3), np.uint8), groups=[7, 7])
    assert [r.vote.label for r in out] == ["big", "big"] and clf.seen[0][0] == 1
    with pytest.raises(AnylabelError):
        Labeler(None, None)


def test_classifier_registry_and_spec_errors():
    assert "clip" in CLASSIFIERS
    for bad in ("clip", "clip:", "zzz:model"):
        with pytest.raises(AnylabelError, match="invalid classifier"):
            parse_classifier_spec(bad)
    CLASSIFIERS["size"] = lambda arg, vocabulary, models_files, top_k: PickLargest()
    try:
        assert isinstance(parse_classifier_spec("size:any"), PickLargest)
    finally:
        del CLASSIFIERS["size"]
