"""Unit tests of the vote: ties, ignore ids, empty masks, resolution, groups, top-k, against a naive count."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anylabel.errors import GeometryError
from anylabel.semantic.voting import class_counts, prepare_class_map, resize_class_map, vote_masks, votes_from_counts

NAMES = ["background", "cat", "dog", "car"]


def _box(shape, y0, y1, x0, x1):
    m = np.zeros(shape, dtype=bool)
    m[y0:y1, x0:x1] = True
    return m


def test_top1_confidence_and_proposals():
    cm = np.zeros((10, 10), np.int32)
    cm[:, 5:] = 1            # right half: cat
    cm[8:, :] = 2            # bottom rows: dog
    mask = _box(cm.shape, 0, 10, 3, 10)  # 70 px: cat 5x8=40, background 2x8=16, dog 2x7=14
    (vote,) = vote_masks([mask], cm, NAMES, top_k=3)
    assert vote.label == "cat" and vote.class_id == 1
    assert vote.pixels == 70
    assert vote.confidence == pytest.approx(40 / 70)
    assert [p.label for p in vote.proposals] == ["cat", "background", "dog"]
    assert [p.score for p in vote.proposals] == pytest.approx([40 / 70, 16 / 70, 14 / 70])
    (vote1,) = vote_masks([mask], cm, NAMES, top_k=1)
    assert [p.label for p in vote1.proposals] == ["cat"]


def test_tie_goes_to_the_lowest_class_id():
    cm = np.array([[3, 3, 1, 1], [2, 2, 0, 7]], np.int32)
    # 2 px car (3), 2 px cat (1): equal counts -> cat (id 1 < 3); proposals keep id order among equals
    (vote,) = vote_masks([_box(cm.shape, 0, 1, 0, 4)], cm, NAMES)
    assert vote.label == "cat" and vote.confidence == pytest.approx(0.5)
    assert [p.class_id for p in vote.proposals] == [1, 3]
    # a three-way tie between background (0), dog (2) and an unnamed id 7 (abstains): background wins
    (vote,) = vote_masks([_box(cm.shape, 1, 2, 1, 4)], cm, NAMES)
    assert vote.label == "background" and vote.pixels == 2


def test_ignore_ids_and_unnamed_ids_abstain():
    cm = np.full((4, 4), 255, np.int32)
    cm[0, 0] = 2
    mask = np.ones((4, 4), bool)
    (vote,) = vote_masks([mask], cm, NAMES)
    # 15 pixels of 255 have no name and abstain: the single dog pixel carries the vote alone
    assert vote.label == "dog" and vote.pixels == 1 and vote.confidence == 1.0
    cm[1, :] = 0
    (vote,) = vote_masks([mask], cm, NAMES, ignore_ids=[0])
    assert vote.label == "dog" and vote.pixels == 1
    (vote,) = vote_masks([mask], cm, NAMES)
    assert vote.label == "background" and vote.pixels == 5


def test_ignore_label_turns_ignore_pixels_into_a_pseudo_class():
    cm = np.full((4, 4), 255, np.int32)
    cm[0, :2] = 1
    mask = np.ones((4, 4), bool)
    (vote,) = vote_masks([mask], cm, NAMES, ignore_ids=[255], ignore_label="__ignore__")
    assert vote.label == "__ignore__" and vote.class_id == len(NAMES)
    assert vote.confidence == pytest.approx(14 / 16)
    assert [p.label for p in vote.proposals] == ["__ignore__", "cat"]


def test_empty_and_fully_ignored_masks_get_no_vote():
    cm = np.zeros((6, 6), np.int32)
    cm[:3] = 255
    empty = np.zeros((6, 6), bool)
    ignored = _box(cm.shape, 0, 3, 0, 6)
    good = _box(cm.shape, 3, 6, 0, 6)
    votes = vote_masks([empty, ignored, good], cm, NAMES)
    for v in votes[:2]:
        assert v.label is None and v.class_id == -1 and v.confidence == 0.0 and v.proposals == () and not v.voted
    assert votes[2].label == "background" and votes[2].voted
    assert vote_masks([], cm, NAMES) == []


def test_masks_smaller_than_the_class_map_resolution():
    # The class map is at 2x the image resolution: each image pixel covers a 2x2 block of the map.
    image_shape = (5, 7)
    small = np.zeros(image_shape, np.int32)
    small[:, 4:] = 2
    small[3:, :] = 1
    cm = np.kron(small, np.ones((2, 2), np.int32))   # 10 x 14
    assert np.array_equal(resize_class_map(cm, image_shape), small)
    mask = _box(image_shape, 0, 5, 2, 7)             # 25 px: dog 3x3=9, cat 2x5=10, background 3x2=6
    (vote,) = vote_masks([mask], cm, NAMES)
    assert vote.label == "cat" and vote.pixels == 25
    assert [p.label for p in vote.proposals] == ["cat", "dog", "background"]


def test_class_map_smaller_than_the_masks_is_upsampled_nearest():
    cm = np.array([[1, 2], [3, 0]], np.int32)        # a 2x2 map for an 8x8 image
    big = resize_class_map(cm, (8, 8))
    assert np.array_equal(big, np.kron(cm, np.ones((4, 4), np.int32)))
    (vote,) = vote_masks([_box((8, 8), 0, 4, 3, 8)], cm, NAMES)  # 4 cat + 16 dog pixels
    assert vote.label == "dog" and vote.pixels == 20


def test_groups_vote_once_over_the_union():
    cm = np.zeros((10, 10), np.int32)
    cm[:, :5] = 1
    left = _box(cm.shape, 0, 4, 0, 5)          # 20 px cat
    right = _box(cm.shape, 0, 2, 2, 10)        # 16 px: 6 cat, 10 background (6 overlap `left`)
    alone = right.copy()
    votes = vote_masks([left, right, alone], cm, NAMES, groups=["g", "g", None])
    assert votes[0] == votes[1]
    # union: 20 + 10 new background pixels (overlap counted once) = 30 px, 20 cat
    assert votes[0].label == "cat" and votes[0].pixels == 30 and votes[0].confidence == pytest.approx(20 / 30)
    assert votes[2].label == "background" and votes[2].pixels == 16
    with pytest.raises(ValueError):
        vote_masks([left], cm, NAMES, groups=["a", "b"])


def test_stack_uint8_masks_and_errors():
    cm = np.ones((3, 5), np.int32)
    stack = np.zeros((2, 3, 5), np.uint8)
    stack[0, 0, 0] = 255
    votes = vote_masks(stack, cm, NAMES)
    assert votes[0].label == "cat" and votes[0].pixels == 1 and votes[1].label is None
    with pytest.raises(GeometryError):
        vote_masks([np.ones((3, 5), bool), np.ones((3, 4), bool)], cm, NAMES)
    with pytest.raises(GeometryError):
        vote_masks([np.ones((3, 5), bool)], cm.astype(np.float32), NAMES)


def test_lazy_sequences_are_read_one_mask_at_a_time():
    cm = np.arange(4, dtype=np.int32).reshape(2, 2)

    class Lazy:
        def __init__(self):
            self.reads = []

        def __len__(self):
            return 4

        def __getitem__(self, i):
            if i >= 4:
                raise IndexError(i)
            self.reads.append(i)
            m = np.zeros((2, 2), bool)
            m.flat[i] = True
            return m

    from collections.abc import Sequence

    Sequence.register(Lazy)
    lazy = Lazy()
    votes = vote_masks(lazy, cm, NAMES)
    assert [v.label for v in votes] == NAMES
    assert len(lazy.reads) <= 5  # the first mask is read once more for its size, nothing is materialised


def _naive_counts(masks, cm, n):
    out = np.zeros((len(masks), n), np.int64)
    for i, m in enumerate(masks):
        ids = cm[m]
        out[i] = np.bincount(ids[(ids >= 0) & (ids < n)], minlength=n)[:n]
    return out


@settings(max_examples=60, deadline=None)
@given(h=st.integers(1, 23), w=st.integers(1, 23), n_masks=st.integers(0, 6), n_classes=st.integers(1, 6),
       seed=st.integers(0, 2**31 - 1))
def test_counts_match_a_naive_per_mask_count(h, w, n_masks, n_classes, seed):
    """Any size (also H*W not a multiple of 8 and masks touching the last pixel), any overlap."""
    rng = np.random.default_rng(seed)
    cm = rng.integers(-1, n_classes + 2, size=(h, w)).astype(np.int32)
    masks = [rng.random((h, w)) < rng.uniform(0, 1) for _ in range(n_masks)]
    if masks:
        masks[0][-1, -1] = True
    bins = prepare_class_map(cm, n_classes)
    counts = class_counts(masks, bins, n_classes)
    assert counts.shape == (n_masks, n_classes)
    assert np.array_equal(counts, _naive_counts(masks, cm, n_classes))
    votes = votes_from_counts(counts, [f"c{i}" for i in range(n_classes)])
    for row, vote in zip(counts, votes):
        if row.sum() == 0:
            assert vote.label is None
        else:
            assert vote.class_id == int(np.argmax(row))  # argmax takes the first (lowest id) maximum
            assert vote.confidence == pytest.approx(row.max() / row.sum())


def test_more_than_254_classes_use_int32_bins():
    names = [f"c{i}" for i in range(400)]
    cm = np.full((4, 4), 333, np.int32)
    cm[0, 0] = 7
    bins = prepare_class_map(cm, len(names))
    assert bins.dtype == np.int32
    (vote,) = vote_masks([np.ones((4, 4), bool)], cm, names)
    assert vote.label == "c333" and vote.pixels == 16


def test_known_boxes_give_the_same_counts():
    rng = np.random.default_rng(3)
    cm = rng.integers(0, 4, size=(30, 41)).astype(np.int32)
    masks, boxes = [], []
    for y0, y1, x0, x1 in [(0, 30, 0, 41), (3, 9, 5, 6), (20, 30, 30, 41), (0, 1, 40, 41)]:
        m = np.zeros(cm.shape, bool)
        m[y0:y1, x0:x1] = rng.random((y1 - y0, x1 - x0)) < 0.7
        m[y0, x0] = m[y1 - 1, x1 - 1] = True
        masks.append(m)
        boxes.append((x0, y0, x1, y1))
    with_boxes = vote_masks(masks, cm, NAMES, boxes=boxes)
    assert with_boxes == vote_masks(masks, cm, NAMES)
    assert [v.pixels for v in with_boxes] == [int(m.sum()) for m in masks]


def test_garbage_ids_abstain_without_a_huge_lookup_table():
    cm = np.array([[2**31 - 1, -(2**31)], [1, 255]], np.int64)
    (vote,) = vote_masks([np.ones((2, 2), bool)], cm, NAMES, ignore_ids=[255], ignore_label="__ignore__")
    assert vote.pixels == 2 and [p.label for p in vote.proposals] == ["cat", "__ignore__"]
    assert vote.label == "cat"  # a tie (1 cat, 1 ignore): the lower id wins
