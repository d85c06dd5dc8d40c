"""Polygon detail: the slider's polygons equal mask_to_polygons' at every tolerance; fewer vertices as it grows."""
from __future__ import annotations

import numpy as np

from anylabel.editing.detail import PolygonDetail
from anylabel.geometry import mask_to_polygons


def _noisy_blob(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:h, 0:w]
    angle = np.arctan2(ys - h / 2, xs - w / 2)
    radius = min(h, w) * (0.3 + 0.03 * np.sin(7 * angle)) + rng.normal(0, 1.5, (h, w))
    mask = np.hypot(ys - h / 2, xs - w / 2) < radius
    mask[10:14, 10:30] = True  # a second, small part
    return mask


def test_polygons_equal_mask_to_polygons_at_every_tolerance() -> None:
    mask = _noisy_blob(300, 400)
    detail = PolygonDetail(mask, min_area=5)
    for tol in (0.0, 0.5, 1.0, 2.0, 5.0, 20.0):
        ours, ref = detail.polygons(tol), mask_to_polygons(mask, tolerance=tol, min_area=5)
        assert len(ours) == len(ref) == 2
        assert all(np.array_equal(a, b) for a, b in zip(ours, ref))
        assert detail.vertex_count(tol) == sum(len(p) for p in ref)
    counts = [detail.vertex_count(t) for t in (0.0, 1.0, 3.0, 10.0)]
    assert counts == sorted(counts, reverse=True) and counts[0] > 10 * counts[-1]


def test_max_parts_and_an_empty_mask() -> None:
    mask = _noisy_blob(200, 200)
    detail = PolygonDetail(mask, max_parts=1)
    assert detail.parts == 1 and len(detail.polygons(1.0)) == 1
    empty = PolygonDetail(np.zeros((10, 10), bool))
    assert empty.polygons(1.0) == [] and empty.vertex_count(1.0) == 0 and empty.parts == 0
