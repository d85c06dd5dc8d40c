"""Rotated rectangles: corners from centre / size / angle and back, minimum-area rectangles, rotate, resize."""
from __future__ import annotations

import math

import numpy as np
import pytest

from anylabel.document import Shape
from anylabel.editing.convert import shape_mask
from anylabel.geometry.rotated import (
    angle,
    direction,
    drag_corner,
    from_box,
    mask_rotation,
    min_area_rotation,
    resize,
    rotate,
    rotation_corners,
    rotation_params,
)


def test_corners_at_angle_zero_are_the_drawing_order_of_a_box() -> None:
    assert rotation_corners(20, 10, 8, 4, 0.0) == [(16, 8), (24, 8), (24, 12), (16, 12)]
    assert from_box(24, 12, 16, 8) == [(16, 8), (24, 8), (24, 12), (16, 12)]


def test_a_quarter_turn_points_the_width_edge_down_the_image() -> None:
    p = rotation_corners(0, 0, 10, 4, math.pi / 2)
    assert np.allclose(p, [(2, -5), (2, 5), (-2, 5), (-2, -5)])
    assert angle(p) == pytest.approx(math.pi / 2) and direction(p) == pytest.approx(math.pi / 2)


@pytest.mark.parametrize("a", [0.0, 0.3, -1.2, 2.9, math.pi])
def test_params_invert_corners(a: float) -> None:
    r = rotation_params(rotation_corners(40.5, -3, 12, 7, a))
    assert (r.cx, r.cy, r.width, r.height) == pytest.approx((40.5, -3, 12, 7))
    assert math.isclose(math.cos(r.angle), math.cos(a), abs_tol=1e-12)
    assert math.isclose(math.sin(r.angle), math.sin(a), abs_tol=1e-12)
    assert 0 <= direction(r.corners()) < 2 * math.pi


def test_min_area_rectangle_of_a_rotated_rectangle_is_itself() -> None:
    corners = rotation_corners(100, 60, 80, 30, math.radians(20))
    dense = np.concatenate([np.linspace(corners[i], corners[(i + 1) % 4], 50) for i in range(4)])
    r = rotation_params(min_area_rotation(dense))
    assert (r.cx, r.cy) == pytest.approx((100, 60), abs=1e-3)
    assert (r.width, r.height) == pytest.approx((80, 30), abs=1e-3)
    assert r.angle == pytest.approx(math.radians(20), abs=1e-5)


def test_min_area_rectangle_keeps_the_most_horizontal_side_as_width() -> None:
    corners = rotation_corners(0, 0, 30, 80, math.radians(80))  # tall and turned: the short side is horizontal
    r = rotation_params(min_area_rotation(np.asarray(corners)))
    assert -math.pi / 4 <= r.angle < math.pi / 4
    assert r.angle == pytest.approx(math.radians(-10), abs=1e-5) and r.width == pytest.approx(80, abs=1e-3)


def test_the_rectangle_of_a_mask_covers_its_pixels() -> None:
    diamond = Shape("d", [(50, 20), (80, 50), (50, 80), (20, 50)], shape_type="polygon")
    mask = shape_mask(diamond, (100, 100))
    r = rotation_params(mask_rotation(mask))
    assert abs(abs(r.angle) - math.pi / 4) < 1e-6
    assert r.width * r.height == pytest.approx(2 * 30 * 30, rel=0.02)
    rect = shape_mask(Shape("r", mask_rotation(mask), shape_type="rotation"), (100, 100))
    assert not (mask & ~rect).any()  # every pixel of the mask lies in its rectangle


def test_rotate_resize_and_drag_keep_the_rectangle() -> None:
    p = rotation_corners(10, 10, 6, 2, 0.0)
    q = rotate(p, math.pi / 2)
    assert np.allclose(q, rotation_corners(10, 10, 6, 2, math.pi / 2))
    r = rotation_params(resize(q, 8, 3))
    assert (r.cx, r.cy, r.width, r.height) == pytest.approx((10, 10, 8, 3))
    dragged = drag_corner(p, 2, (15, 13))  # bottom-right corner out to (15, 13); top-left (7, 9) stays
    assert np.allclose(dragged, [(7, 9), (15, 9), (15, 13), (7, 13)])


def test_the_rotation_of_any_shape() -> None:
    from anylabel.geometry import rle_encode
    from anylabel.geometry.rotated import shape_rotation

    assert shape_rotation(Shape("r", [(5, 1), (2, 8)], shape_type="rectangle")) == [(2, 1), (5, 1), (5, 8), (2, 8)]
    assert np.allclose(shape_rotation(Shape("c", [(10, 10), (13, 14)], shape_type="circle")),
                       [(5, 5), (15, 5), (15, 15), (5, 15)])
    line = Shape("l", [(0, 0), (10, 10), (20, 20.5)], shape_type="linestrip")
    r = rotation_params(shape_rotation(line))
    # 45.7 degrees: the most horizontal side is the short one, at -44.3 degrees
    assert r.angle == pytest.approx(math.atan2(20.5, 20) - math.pi / 2, abs=0.02)
    assert r.width < 0.5 and r.height == pytest.approx(math.hypot(20, 20.5), abs=0.1)
    m = np.zeros((30, 30), bool)
    m[5:10, 3:20] = True
    mr = rotation_params(shape_rotation(Shape("m", [(3, 5), (19, 9)], shape_type="mask", mask=rle_encode(m))))
    assert (mr.width, mr.height, mr.angle) == pytest.approx((16, 4, 0.0))
