"""Plumbing of the classifier on the small random-weight CLIP: batching, caching, vocabulary, top-k, edge masks.

Random weights say nothing about quality; these tests check only what must hold for any weights.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from anylabel.classify import MaskClassifier, TextEmbeddingCache, TextFinder, parse_vocabulary

VOCAB = ["car", "person", "dog", "traffic light", "red car"]


def _scene(n: int = 10, h: int = 120, w: int = 160):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    masks = []
    for k in range(n):
        m = np.zeros((h, w), bool)
        y, x = 5 + 10 * (k % 10), 5 + 12 * (k % 11)
        m[y:y + 12 + k, x:x + 15 + 2 * k] = True
        masks.append(m)
    return image, masks


def test_batches_of_any_size_give_the_same_embeddings(random_clip):
    image, masks = _scene(10)
    one = MaskClassifier(random_clip, batch_size=1)
    four = MaskClassifier(random_clip, batch_size=4)
    e1, e4 = one.embed_masks(image, masks), four.embed_masks(image, masks)
    assert one.image_batches == 10 and four.image_batches == 3  # ceil(10 / 4)
    assert e1.features.shape == (10, 64) and e1.valid.all()
    assert torch.allclose(e1.features, e4.features, atol=1e-5)
    assert torch.allclose(e1.features.norm(dim=-1), torch.ones(10), atol=1e-5)


def test_text_embeddings_are_cached_per_model_vocabulary_and_templates(random_clip):
    image, masks = _scene(4)
    clf = MaskClassifier(random_clip, cache=TextEmbeddingCache())
    calls = []
    original = random_clip.encode_texts
    random_clip.encode_texts = lambda texts: (calls.append(list(texts)), original(texts))[1]
    try:
        first = clf.classify(image, masks, VOCAB)
        assert clf.cache.encoder_calls == 1 and len(calls) == 1
        assert len(calls[0]) == len(VOCAB) * len(clf.templates)  # every name x every template, one batch
        assert "a photo of a traffic light." in calls[0]
        second = clf.classify(image, masks, VOCAB)
        assert clf.cache.encoder_calls == 1 and len(calls) == 1  # same vocabulary: no text-tower call
        assert [v.label for v in first] == [v.label for v in second]
        clf.classify(image, masks, VOCAB[:2] + ["bicycle"])  # one new name: one call, for it only
        assert clf.cache.encoder_calls == 2 and clf.cache.encoded_names == len(VOCAB) + 1
        assert all("bicycle" in t for t in calls[-1])
        other = MaskClassifier(random_clip, templates=("{}",), cache=clf.cache)
        other.classify(image, masks, VOCAB)  # other templates: other embeddings
        assert clf.cache.encoder_calls == 3 and calls[-1] == VOCAB
    finally:
        random_clip.encode_texts = original


def test_every_label_comes_from_the_vocabulary_in_top_k_order(random_clip):
    image, masks = _scene(6)
    clf = MaskClassifier(random_clip)
    for k in (1, 3, 10):
        votes = clf.classify(image, masks, VOCAB, top_k=k)
        assert len(votes) == len(masks)
        for v in votes:
            assert v.label in VOCAB and v.source == "clip"
            assert len(v.proposals) == min(k, len(VOCAB))
            scores = [p.score for p in v.proposals]
            assert scores == sorted(scores, reverse=True)
            assert v.confidence == scores[0] and v.proposals[0].label == v.label
            assert all(VOCAB[p.class_id] == p.label for p in v.proposals)
            assert 1.0 / len(VOCAB) <= v.confidence <= 1.0
    probs = clf.probabilities(clf.embed_masks(image, masks), VOCAB)
    assert np.allclose(probs.sum(axis=1), 1.0)


def test_empty_and_tiny_masks_get_no_vote_and_do_not_crash(random_clip):
    image, masks = _scene(2)
    empty = np.zeros(image.shape[:2], bool)
    tiny = empty.copy()
    tiny[3, 3] = True
    edge = empty.copy()
    edge[-6:, -6:] = True  # 36 px in the corner: the crop window runs past the image
    clf = MaskClassifier(random_clip, min_area=16)
    votes = clf.classify(image, [empty, masks[0], tiny, edge, masks[1]], VOCAB)
    assert [v.label is None for v in votes] == [True, False, True, False, False]
    assert votes[0].proposals == () and votes[0].confidence == 0.0 and votes[0].class_id == -1
    assert votes[2].pixels == 1 and votes[3].pixels == 36
    assert clf.classify(image, [], VOCAB) == []
    assert all(v.label is None for v in clf.classify(image, [empty, tiny], VOCAB))
    with pytest.raises(ValueError):
        clf.classify(image, [np.zeros((10, 10), bool)], VOCAB)  # even an empty one


def test_text_finder_ranks_every_large_mask_once(random_clip):
    image, masks = _scene(5)
    finder = TextFinder(MaskClassifier(random_clip), min_area=100)
    finder.set_masks(image, masks + [np.zeros(image.shape[:2], bool)])
    ranked = finder.find("red car", top_k=10)
    assert sorted(m.index for m in ranked) == [0, 1, 2, 3, 4]
    assert sum(m.probability for m in ranked) == pytest.approx(1.0)
    sims = [m.similarity for m in ranked]
    assert sims == sorted(sims, reverse=True)
    with pytest.raises(ValueError):
        finder.find("   ")


def test_cancel_stops_between_batches(random_clip):
    from anylabel.errors import CancelledError

    image, masks = _scene(8)
    clf = MaskClassifier(random_clip, batch_size=2)
    seen = []
    with pytest.raises(CancelledError):
        clf.embed_masks(image, masks, cancel=lambda: len(seen) >= 1, progress=lambda d, t: seen.append(d))
    assert clf.image_batches == 1


def test_vocabulary_from_file_words_and_labelme_labels(tmp_path, voc_dir):
    assert parse_vocabulary("car, red car,  person ,car,") == ["car", "red car", "person"]
    f = tmp_path / "vocab.txt"
    f.write_text("# classes\ncar\n\n  dog  # pets\ncar\n", encoding="utf-8")
    assert parse_vocabulary(str(f)) == ["car", "dog"]
    labels = parse_vocabulary(voc_dir / "labels.txt")
    assert "__ignore__" not in labels and "_background_" not in labels and "person" in labels
    from anylabel.errors import ConfigError, FormatError

    with pytest.raises(ConfigError):
        parse_vocabulary(" , ,")
    with pytest.raises(FormatError):
        parse_vocabulary(str(tmp_path / "missing.txt"))


@pytest.mark.parametrize("shape", [(50, 50), (300, 300), (64, 64), (40, 90), (120, 33)])
def test_preprocessing_equals_open_clips_own_transform(random_clip, shape):
    from PIL import Image

    crop = np.random.default_rng(2).integers(0, 255, shape + (3,), dtype=np.uint8)
    ours = random_clip.preprocess([crop])[0]
    theirs = random_clip._transform(Image.fromarray(crop))
    assert ours.shape == theirs.shape == (3, random_clip.image_size, random_clip.image_size)
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_text_tower_on_truncated_tokens_equals_open_clips_encode_text(random_clip):
    """Our encode_texts drops the padding after the longest sentence; CLIP's causal mask makes it exact."""
    assert random_clip.model.attn_mask is not None  # the truncating path runs, not the fallback
    texts = ["a photo of a dog.", "a cropped photo of a traffic light.", "x",
             "a photo of a " + "very " * 30 + "big car."]
    ours = random_clip.encode_texts(texts)
    with torch.no_grad():
        full = torch.nn.functional.normalize(random_clip.model.encode_text(random_clip._tokenizer(texts)), dim=-1)
    assert ours.shape == full.shape
    assert torch.allclose(ours, full, atol=1e-5)
