"""Logits to full-size masks on the mask's box equal upstream's full upsampling; polygons via the box."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from anylabel.backends.masks import candidate_polygons, logits_to_mask, negative_box_points, tight_box
from anylabel.geometry import mask_to_polygons


def _smooth_logits(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coarse = torch.tensor(rng.normal(size=(1, 1, 16, 16)), dtype=torch.float32)
    return F.interpolate(coarse, (256, 256), mode="bilinear", align_corners=False)[0, 0].numpy() - 0.8


@pytest.mark.parametrize("hw", [(3000, 4000), (375, 500), (1024, 700), (97, 13)])
def test_sam_two_stage_upsampling_is_reproduced(hw) -> None:
    from segment_anything.utils.transforms import ResizeLongestSide

    logits = _smooth_logits(hw[0])
    input_hw = ResizeLongestSide.get_preprocess_shape(hw[0], hw[1], 1024)
    up = F.interpolate(torch.tensor(logits)[None, None], (1024, 1024), mode="bilinear", align_corners=False)
    up = up[..., : input_hw[0], : input_hw[1]]
    ref = (F.interpolate(up, hw, mode="bilinear", align_corners=False)[0, 0] > 0).numpy()
    mask, box = logits_to_mask(logits, (input_hw[0] / 4, input_hw[1] / 4), hw, pre_scale=4)
    assert mask.shape == hw
    disagree = np.count_nonzero(mask != ref)
    assert disagree <= max(2, 0.001 * ref.sum())  # only sub-pixel rounding on the boundary
    assert box == tight_box(mask)


def test_empty_logits_give_an_empty_mask_and_no_box() -> None:
    mask, box = logits_to_mask(np.full((256, 256), -5, np.float32), (256, 256), (300, 400))
    assert box is None and not mask.any() and mask.shape == (300, 400)


def test_polygons_on_the_box_equal_polygons_on_the_full_mask() -> None:
    mask, box = logits_to_mask(_smooth_logits(3), (256, 256), (1500, 2000))
    assert mask.any()
    full = mask_to_polygons(mask, tolerance=1.0)
    cropped = candidate_polygons(mask, box, tolerance=1.0)
    assert len(full) == len(cropped)
    for a, b in zip(full, cropped):
        np.testing.assert_array_equal(a, b)


def test_negative_box_points_are_inside_the_box() -> None:
    pts = negative_box_points([(10, 20, 50, 100)])
    assert pts.shape == (5, 2)
    assert (pts[:, 0] > 10).all() and (pts[:, 0] < 50).all() and (pts[:, 1] > 20).all() and (pts[:, 1] < 100).all()


def test_only_the_best_candidate_is_upsampled_eagerly() -> None:
    from anylabel.backends import EmbeddingCache, Prompt
    from anylabel.backends.prompt import LazyMaskCandidate
    from anylabel.backends.promptable import Embedding, PromptableSegmenter

    class Fixed(PromptableSegmenter):
        def _encode(self, image):
            return Embedding(orig_hw=image.shape[:2], features=None, logit_hw=(256, 256))

        def _decode(self, emb, coords, labels, box, mask_logits, multimask):
            return np.stack([_smooth_logits(s) for s in (1, 2, 3)]), np.array([0.2, 0.9, 0.5])

        def everything(self, image=None, key=None, progress=None):
            return []

    seg = Fixed("fixed", EmbeddingCache(10))
    seg.set_image(np.zeros((600, 800, 3), np.uint8))
    cands = seg.predict(Prompt.from_clicks([(10, 10)], negative_boxes=[(0, 0, 400, 300)]))
    assert [c.score for c in cands] == [0.9, 0.5, 0.2]
    assert not isinstance(cands[0], LazyMaskCandidate)
    assert all(isinstance(c, LazyMaskCandidate) and not c.computed for c in cands[1:])
    for c, seed in zip(cands, (2, 3, 1)):
        expected, _ = logits_to_mask(_smooth_logits(seed), (256, 256), (600, 800))
        expected[0:300, 0:400] = False
        np.testing.assert_array_equal(c.mask, expected)
        assert c.box == tight_box(expected)
