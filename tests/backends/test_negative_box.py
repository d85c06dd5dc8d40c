"""Negative boxes exclude their area (pixel-wise) and, for point-taking models, add negative points."""
from __future__ import annotations

import numpy as np

from anylabel.backends import EmbeddingCache, Prompt, load_segmenter
from anylabel.geometry import mask_iou


def _synthetic() -> tuple:
    img = np.full((200, 300, 3), 128, np.uint8)
    img += np.random.default_rng(0).integers(0, 8, img.shape, dtype=np.uint8)
    obj = np.zeros((200, 300), bool)
    obj[50:150, 60:240] = True
    img[obj] = (200, 30, 30)
    return img, obj


def test_classical_negative_box_removes_its_area_and_keeps_the_rest(registry) -> None:
    img, obj = _synthetic()
    seg = load_segmenter("classical", registry=registry, cache=EmbeddingCache(50))
    seg.set_image(img)
    whole = seg.predict(Prompt.from_clicks([(150, 100)], box=(50, 40, 250, 160)))[0]
    assert mask_iou(whole.mask, obj) >= 0.9  # the object, both halves
    neg = (50, 40, 150, 160)  # the left half of the object and its surroundings
    cut = seg.predict(Prompt.from_clicks([(200, 100)], box=(50, 40, 250, 160), negative_boxes=[neg]))[0]
    assert not cut.mask[40:160, 50:150].any()
    right = obj.copy()
    right[:, :150] = False
    assert mask_iou(cut.mask, right) >= 0.85


def test_sam_negative_box_excludes_pixels_and_adds_negative_points(registry, voc_image, monkeypatch) -> None:
    seg = load_segmenter("sam_vit_b", registry=registry)
    seg.set_image(voc_image, key="negbox")
    seen = []
    real = seg._decode

    def spy(emb, coords, labels, box, logits, multimask):
        seen.append(np.asarray(labels).copy())
        return real(emb, coords, labels, box, logits, multimask)

    monkeypatch.setattr(seg, "_decode", spy)
    box, neg = (150, 100, 350, 350), (150, 100, 250, 350)
    before = seg.predict(Prompt.from_clicks([(300, 200)], box=box))
    after = seg.predict(Prompt.from_clicks([(300, 200)], box=box, negative_boxes=[neg]))
    assert any(c.mask[100:350, 150:250].any() for c in before)  # there was something to exclude
    for c in after:
        assert not c.mask[100:350, 150:250].any()
    assert list(seen[0]) == [1] and list(seen[1]) == [1, 0, 0, 0, 0, 0]
