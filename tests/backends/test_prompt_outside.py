"""Prompts outside the image are refused or clipped the same way by every backend (``Prompt.fit``, applied
once in ``CachedSegmenter.predict``), and a 1x1 image gives a valid answer instead of an OpenCV error."""
from __future__ import annotations

import numpy as np
import pytest

from anylabel.backends import Prompt, load_segmenter
from anylabel.errors import AnylabelError, PromptError

FAMILIES = ["classical", "sam_vit_b", "sam_vit_b_onnx", "sam2.1_hiera_tiny", "fastsam_s"]


@pytest.fixture(scope="module", params=FAMILIES)
def seg(request, registry):
    s = load_segmenter(request.param, registry=registry)
    yield s
    s.close()


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 60, (120, 160, 3), dtype=np.uint8)
    img[30:90, 40:120] = 200  # an object for GrabCut to find
    return img


def _masks(cands):
    return [c.mask for c in cands]


def test_a_click_outside_the_image_is_refused_by_every_backend(seg, image) -> None:
    seg.set_image(image, key="outside-test")
    for prompt in (Prompt.from_clicks([(5000, 5000)]), Prompt.from_clicks([(50, 50)], [(-3, 10)]),
                   Prompt.from_clicks([(160.5, 10)])):
        with pytest.raises(PromptError, match=r"lies outside the 160x120 image"):
            seg.predict(prompt)
    with pytest.raises(PromptError, match="no area inside the 160x120 image"):
        seg.predict(Prompt.from_clicks(box=(4000, 4000, 5000, 5000)))
    with pytest.raises(PromptError, match="no area inside"):
        seg.predict(Prompt.from_clicks(box=(-50, 10, 0, 60)))  # touches the left edge, covers nothing
    # the edges themselves are inside: W and H are the far edges of the last pixels
    assert all(c.mask.shape == (120, 160) for c in seg.predict(Prompt.from_clicks([(160, 120)])))


def test_boxes_are_clipped_to_the_image_identically_in_every_backend(seg, image) -> None:
    seg.set_image(image, key="outside-test")
    wide = seg.predict(Prompt.from_clicks([(80, 60)], box=(-100, -50, 130, 100)))
    clipped = seg.predict(Prompt.from_clicks([(80, 60)], box=(0, 0, 130, 100)))
    assert len(wide) == len(clipped) >= (0 if seg.name.startswith("fastsam") else 1)  # random FastSAM: few masks
    for a, b in zip(_masks(wide), _masks(clipped)):
        np.testing.assert_array_equal(a, b)
    # a negative box entirely outside excludes nothing: the same answer as without it
    with_neg = seg.predict(Prompt.from_clicks([(80, 60)], negative_boxes=[(500, 500, 600, 600)]))
    without = seg.predict(Prompt.from_clicks([(80, 60)]))
    for a, b in zip(_masks(with_neg), _masks(without)):
        np.testing.assert_array_equal(a, b)


def test_a_1x1_image_gives_a_valid_answer(seg) -> None:
    seg.set_image(np.full((1, 1, 3), 128, np.uint8), key="one-pixel")
    for prompt in (Prompt.from_clicks([(0, 0)]), Prompt.from_clicks([(0.5, 0.5)], box=(0, 0, 1, 1))):
        cands = seg.predict(prompt)
        assert all(c.mask.shape == (1, 1) and c.mask.dtype == bool for c in cands)


def test_coordinates_must_be_finite() -> None:
    for bad in (float("nan"), float("inf")):
        with pytest.raises(PromptError, match="finite"):
            Prompt.from_clicks([(bad, 1.0)])
        with pytest.raises(PromptError, match="finite"):
            Prompt.from_clicks(box=(0, 0, bad, 5))
    assert issubclass(PromptError, AnylabelError) and issubclass(PromptError, ValueError)
