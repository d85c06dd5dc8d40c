"""Brightness / contrast / gamma: the table's values; the image itself is never changed."""
from __future__ import annotations

import numpy as np
import pytest

from anylabel.editing.view import ViewAdjustment, adjusted


def test_neutral_is_the_identity() -> None:
    assert np.array_equal(ViewAdjustment().lut(), np.arange(256, dtype=np.uint8))


def test_table_values() -> None:
    assert ViewAdjustment(brightness=0.2).lut()[[0, 100, 250]].tolist() == [51, 151, 255]
    c = ViewAdjustment(contrast=1.5).lut()  # 255 * (1.5 * (v / 255 - .5) + .5) = 1.5 v - 63.75
    assert c[[0, 42, 64, 100, 200, 255]].tolist() == [0, 0, 32, 86, 236, 255]
    g = ViewAdjustment(gamma=2.0).lut()
    assert g[64] == round((64 / 255) ** 0.5 * 255) == 128 and g[0] == 0 and g[255] == 255
    assert ViewAdjustment(contrast=0.0).lut().tolist() == [128] * 256


def test_the_image_is_not_modified() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    before = image.copy()
    adj = ViewAdjustment(brightness=-0.1, contrast=1.5, gamma=0.8)
    out = adjusted(image, adj)
    assert np.array_equal(image, before) and out is not image
    assert np.array_equal(out, adj.lut()[image])
    assert np.array_equal(adjusted(image[..., 0], adj), adj.lut()[image[..., 0]])
    neutral = adjusted(image, ViewAdjustment())
    assert np.array_equal(neutral, image) and not np.shares_memory(neutral, image)


@pytest.mark.parametrize("kw", [{"brightness": 2}, {"contrast": -1}, {"gamma": 0}])
def test_bad_settings_are_refused(kw) -> None:
    with pytest.raises(ValueError):
        ViewAdjustment(**kw)
