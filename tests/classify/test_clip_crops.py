"""What CLIP sees of a mask: window geometry, neutralised pixels, padding, size reduction."""
from __future__ import annotations

import numpy as np
import pytest

from anylabel.classify import crop_window, mask_box, mask_crop

FILL = (123, 117, 104)


def _image(h=100, w=120):
    rng = np.random.default_rng(1)
    return rng.integers(0, 255, (h, w, 3), dtype=np.uint8)


def test_window_is_a_square_of_context_times_the_longer_side_centred_on_the_box():
    win = crop_window((10, 20, 50, 40), context=1.5)  # 40 x 20 box
    assert win.side == 60
    assert (win.x0 + win.side / 2, win.y0 + win.side / 2) == (30, 30)
    assert crop_window((5, 5, 6, 6), context=1.2).side == 8  # a minimum side for 1-pixel masks


def test_mask_box_is_tight_and_exclusive():
    m = np.zeros((50, 60), bool)
    m[10:20, 30:45] = True
    assert mask_box(m) == (30, 10, 45, 20)
    assert mask_box(np.zeros((5, 5), bool)) is None


def test_mean_fill_keeps_mask_pixels_and_neutralises_the_rest():
    image = _image()
    mask = np.zeros(image.shape[:2], bool)
    mask[40:60, 50:70] = True  # 20 x 20 -> window 24 x 24 starting at (48, 38)
    crop = mask_crop(image, mask, context=1.2, fill="mean", fill_rgb=FILL)
    assert crop.shape == (24, 24, 3) and crop.dtype == np.uint8
    assert np.array_equal(crop[2:22, 2:22], image[40:60, 50:70])
    inside = np.zeros((24, 24), bool)
    inside[2:22, 2:22] = True
    assert (crop[~inside] == FILL).all()


def test_fill_none_keeps_the_context_and_blur_smooths_it():
    image = _image()
    mask = np.zeros(image.shape[:2], bool)
    mask[40:60, 50:70] = True
    raw = mask_crop(image, mask, context=2.0, fill="none", fill_rgb=FILL)
    assert np.array_equal(raw, image[30:70, 40:80])
    blur = mask_crop(image, mask, context=2.0, fill="blur", fill_rgb=FILL)
    assert np.array_equal(blur[10:30, 10:30], image[40:60, 50:70])  # the mask is untouched
    outside = np.ones((40, 40), bool)
    outside[10:30, 10:30] = False
    assert blur[outside].astype(float).std() < raw[outside].astype(float).std() / 2  # noise blurred away


def test_window_past_the_image_edge_is_padded_with_the_fill():
    image = _image()
    mask = np.zeros(image.shape[:2], bool)
    mask[0:10, 0:10] = True  # top-left corner
    crop = mask_crop(image, mask, context=2.0, fill="none", fill_rgb=FILL)
    assert crop.shape == (20, 20, 3)
    assert (crop[:5] == FILL).all() and (crop[:, :5] == FILL).all()
    assert np.array_equal(crop[5:15, 5:15], image[0:10, 0:10])


def test_large_masks_are_reduced_to_the_work_size_with_a_soft_edge():
    image = np.zeros((1000, 1200, 3), np.uint8)
    image[:] = (200, 10, 10)
    mask = np.zeros(image.shape[:2], bool)
    mask[100:900, 200:1000] = True  # 800 x 800 -> window 960
    crop = mask_crop(image, mask, context=1.2, fill="mean", fill_rgb=FILL, work_size=96)
    assert crop.shape == (96, 96, 3)
    assert (crop[48, 48] == (200, 10, 10)).all() and (crop[2, 2] == FILL).all()


def test_empty_mask_and_bad_arguments():
    image = _image()
    assert mask_crop(image, np.zeros(image.shape[:2], bool)) is None
    with pytest.raises(ValueError):
        mask_crop(image, np.ones((3, 3), bool))
    with pytest.raises(ValueError):
        mask_crop(image, np.ones(image.shape[:2], bool), fill="zero")
    with pytest.raises(ValueError):
        mask_crop(image, np.ones(image.shape[:2], bool), context=0.5)
