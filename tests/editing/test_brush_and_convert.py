"""Brush / eraser strokes are exact and touch only the stroke's box; shapes become masks and back."""
from __future__ import annotations

import numpy as np
import pytest

from anylabel.document import Shape
from anylabel.editing.brush import paint_stroke, stroke_footprint
from anylabel.editing.convert import mask_to_shapes, shape_mask
from anylabel.errors import GeometryError
from anylabel.geometry import rle_decode


def test_a_one_point_stroke_is_the_disc_of_pixels_within_the_radius() -> None:
    mask = np.zeros((20, 30), dtype=bool)
    patch = paint_stroke(mask, [(10, 8)], 3)
    rows, cols = np.nonzero(mask)
    assert len(rows) == 29  # |{(dx, dy): dx^2 + dy^2 <= 9}|
    assert np.all((cols - 10) ** 2 + (rows - 8) ** 2 <= 9)
    assert mask[8, 13] and mask[5, 10] and not mask[8, 14]
    assert patch.box == (7, 5, 14, 12)


def test_disc_edge_pixels() -> None:
    mask = np.zeros((20, 30), dtype=bool)
    paint_stroke(mask, [(10, 8)], 3)
    assert mask[6, 12]  # dx=2, dy=-2: 8 <= 9
    assert not mask[5, 12]  # dx=2, dy=-3: 13 > 9


def test_a_segment_paints_a_capsule_and_the_eraser_removes_it_exactly() -> None:
    mask = np.zeros((40, 60), dtype=bool)
    paint_stroke(mask, [(10, 20), (50, 20)], 2.5)
    ys, xs = np.mgrid[0:40, 0:60]
    t = np.clip((xs - 10) / 40.0, 0, 1)
    expected = (xs - 10 - 40 * t) ** 2 + (ys - 20) ** 2 <= 6.25
    assert np.array_equal(mask, expected)
    paint_stroke(mask, [(30, 20)], 1, erase=True)
    assert not mask[20, 30] and not mask[19, 30] and mask[18, 30] and mask[20, 28]
    assert mask.sum() == expected.sum() - 5


def test_a_stroke_touches_only_its_box_and_the_patch_undoes_and_redoes() -> None:
    rng = np.random.default_rng(0)
    mask = rng.random((300, 400)) > 0.5
    original = mask.copy()
    patch = paint_stroke(mask, [(100, 100), (120, 130), (125, 131)], 6)
    x1, y1, x2, y2 = patch.box
    assert (x1, y1, x2, y2) == (94, 94, 132, 138)
    outside = np.ones_like(mask)
    outside[y1:y2, x1:x2] = False
    assert np.array_equal(mask[outside], original[outside])
    edited = mask.copy()
    patch.undo(mask)
    assert np.array_equal(mask, original)
    patch.redo(mask)
    assert np.array_equal(mask, edited) and patch.changed


def test_a_stroke_at_the_border_is_clipped_and_one_outside_is_nothing() -> None:
    mask = np.zeros((10, 10), dtype=bool)
    patch = paint_stroke(mask, [(0, 0)], 2)
    assert patch.box == (0, 0, 3, 3) and mask.sum() == 6  # (0,0) (1,0) (2,0) (0,1) (1,1) (0,2)
    assert paint_stroke(mask, [(-50, -50)], 2) is None
    box, crop = stroke_footprint([(-50, -50)], 2, (10, 10))
    assert box is None and crop.size == 0


def test_a_polygon_becomes_its_mask_and_back_to_a_mask_shape_with_its_hole() -> None:
    square = Shape("cat", [(10, 10), (49, 10), (49, 49), (10, 49)], flags={"occluded": True},
                   attributes={"color": "red"}, difficult=True, score=0.9, group_id=4)
    mask = shape_mask(square, (60, 80))
    assert mask.sum() == 40 * 40
    paint_stroke(mask, [(30, 30)], 5, erase=True)  # a hole
    shapes = mask_to_shapes(mask, square, as_mask=True)
    assert len(shapes) == 1
    s = shapes[0]
    assert s.shape_type == "mask" and s.label == "cat" and s.points == [(10.0, 10.0), (49.0, 49.0)]
    assert np.array_equal(rle_decode(s.mask), mask) and not rle_decode(s.mask)[30, 30]
    assert s.flags == {"occluded": True} and s.attributes == {"color": "red"} and s.difficult
    assert s.score is None and s.group_id == 4


def test_a_mask_cut_in_two_becomes_two_polygons_sharing_a_group() -> None:
    rect = Shape("road", [(0, 0), (59, 19)], shape_type="rectangle")
    mask = shape_mask(rect, (20, 60))
    assert mask.sum() == 60 * 20
    paint_stroke(mask, [(30, -5), (30, 25)], 3, erase=True)
    auto = mask_to_shapes(mask, rect, as_mask=False, existing=[Shape("x", [(0, 0), (1, 1)], "rectangle", group_id=3)])
    assert [p.group_id for p in auto] == [4, 4]  # parts share the next free group id
    parts = mask_to_shapes(mask, rect, as_mask=False, group_id=7)
    assert [p.shape_type for p in parts] == ["polygon", "polygon"] and {p.group_id for p in parts} == {7}
    assert mask_to_shapes(np.zeros((20, 60), bool), rect) == []


def test_every_area_type_has_a_mask_and_lines_do_not() -> None:
    hw = (100, 100)
    circle = Shape("c", [(50, 50), (50, 60)], shape_type="circle")
    assert abs(int(shape_mask(circle, hw).sum()) - np.pi * 100) < 40
    rot = Shape("r", [(50, 30), (70, 50), (50, 70), (30, 50)], shape_type="rotation")  # a diamond
    m = shape_mask(rot, hw)
    assert m[50, 50] and not m[31, 31] and abs(int(m.sum()) - 800) < 60
    with pytest.raises(GeometryError):
        shape_mask(Shape("l", [(0, 0), (5, 5)], shape_type="line"), hw)
