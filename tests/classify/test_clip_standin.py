"""The crop / mask / softmax path picks the right word, with towers whose right answer is known."""
from __future__ import annotations

import numpy as np
import pytest
from clip_standin import COLOURS, ColourModel, colour_scene

from anylabel.classify import MaskClassifier, TextFinder, ssa_filter
from anylabel.semantic.voting import Proposal, Vote

VOCAB = ["red", "green", "blue"]


def test_each_mask_gets_the_colour_of_its_own_pixels():
    image, masks = colour_scene()
    clf = MaskClassifier(ColourModel())
    votes = clf.classify(image, masks, VOCAB, top_k=3)
    assert [v.label for v in votes] == ["red", "blue", "red"]
    for v in votes:
        assert v.source == "clip"
        assert v.confidence > 0.9  # logit scale 100: a clear winner
        assert [p.label for p in v.proposals][0] == v.label
        assert sum(p.score for p in v.proposals) == pytest.approx(1.0)  # top 3 of 3 = the full softmax
        assert v.class_id == VOCAB.index(v.label) == v.proposals[0].class_id


def test_neutralising_outside_the_mask_is_what_decides_the_ring():
    """The ring's box is mostly blue: without neutralising, the crop votes blue; with it, red."""
    image, masks = colour_scene()
    ring = masks[2]
    raw = MaskClassifier(ColourModel(), fill="none").classify(image, [ring], VOCAB)[0]
    mean = MaskClassifier(ColourModel(), fill="mean").classify(image, [ring], VOCAB)[0]
    assert raw.label == "blue"
    assert mean.label == "red"


def test_blur_fill_keeps_the_masks_pixels():
    image, masks = colour_scene()
    votes = MaskClassifier(ColourModel(), fill="blur").classify(image, masks[:2], VOCAB)
    assert [v.label for v in votes] == ["red", "blue"]


def test_a_colour_not_in_the_vocabulary_is_never_answered():
    image, masks = colour_scene()
    votes = MaskClassifier(ColourModel()).classify(image, masks, ["green", "blue", "yellow"], top_k=2)
    for v in votes:
        assert v.label in ("green", "blue", "yellow")
        assert len(v.proposals) == 2
        assert v.proposals[0].score >= v.proposals[1].score
    assert votes[1].label == "blue"


def test_text_finder_picks_the_matching_mask():
    image, masks = colour_scene()
    finder = TextFinder(MaskClassifier(ColourModel()))
    finder.set_masks(image, masks, key="scene")
    best = finder.find("blue", top_k=1)
    assert [m.index for m in best] == [1]
    assert best[0].probability > 0.5
    reds = finder.find("red", top_k=2)
    assert sorted(m.index for m in reds) == [0, 2]
    assert reds[0].similarity >= reds[1].similarity
    # Same key: the masks are not embedded again; each query is one text-tower call.
    model = finder.classifier.model
    calls = model.image_calls
    finder.set_masks(image, masks, key="scene")
    finder.find("green")
    assert model.image_calls == calls


def test_text_finder_skips_small_masks_and_needs_masks():
    image, masks = colour_scene()
    finder = TextFinder(MaskClassifier(ColourModel()), min_area=5000)  # every mask here is smaller
    with pytest.raises(ValueError):
        finder.find("red")
    finder.set_masks(image, masks)
    assert finder.find("red") == []


def test_ssa_filter_ranks_vote_candidates_and_vocabulary():
    image, masks = colour_scene()
    clf = MaskClassifier(ColourModel())
    vote_green = Vote(label="green", class_id=1, confidence=0.8,
                      proposals=(Proposal("green", 1, 0.8), Proposal("yellow", 3, 0.2)), pixels=10)
    out = ssa_filter(clf, image, masks, [vote_green, vote_green, None], vocabulary=["blue"], top_k=3)
    # Square: candidates green, yellow, blue (no red): CLIP picks among them only.
    assert out[0].label in ("green", "yellow", "blue")
    assert {p.label for p in out[0].proposals} <= {"green", "yellow", "blue"}
    # Blue disk: the vocabulary adds "blue", which CLIP ranks above the semantic vote's "green".
    assert out[1].label == "blue" and out[1].proposals[0].label == "blue"
    # Ring with no semantic vote: the vocabulary alone.
    assert [p.label for p in out[2].proposals] == ["blue"]


def test_ssa_filter_corrects_a_wrong_vote_when_the_right_name_is_a_candidate():
    image, masks = colour_scene()
    clf = MaskClassifier(ColourModel())
    wrong = Vote(label="blue", class_id=2, confidence=0.6,
                 proposals=(Proposal("blue", 2, 0.6), Proposal("red", 0, 0.4)), pixels=1)
    out = ssa_filter(clf, image, masks[:1], [wrong], top_k=2)
    assert out[0].label == "red"
    assert [p.label for p in out[0].proposals] == ["red", "blue"]


def test_colour_table_is_what_the_scene_uses():
    image, masks = colour_scene()
    assert tuple(image[masks[0]][0]) == COLOURS["red"]
    assert tuple(image[masks[1]][0]) == COLOURS["blue"]
    assert np.array_equal(np.unique(image[masks[2]], axis=0), [COLOURS["red"]])
