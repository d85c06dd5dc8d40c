"""Boolean edits: areas of unions / differences / intersections, holes kept, every area type, masks on pixels."""
from __future__ import annotations

import math

import numpy as np
import pytest

from anylabel.document import Shape
from anylabel.editing.boolean import combine, combine_geometry, geometry_rings, shape_geometry
from anylabel.editing.convert import shape_mask
from anylabel.errors import GeometryError
from anylabel.geometry import rle_decode, rle_encode
from anylabel.geometry.rotated import rotation_corners

HW = (120, 160)


def _square(x: float, y: float, size: float, label: str = "a", **kw) -> Shape:
    return Shape(label, [(x, y), (x + size, y), (x + size, y + size), (x, y + size)], **kw)


def test_union_of_overlapping_squares_has_the_area_of_both_minus_the_overlap() -> None:
    a, b = _square(10, 10, 40, attributes={"k": "v"}), _square(30, 30, 40, label="b")
    out = combine([a, b], "union", HW)
    assert len(out) == 1 and out[0].shape_type == "polygon" and out[0].label == "a"
    assert out[0].attributes == {"k": "v"}
    assert shape_geometry(out[0]).area == pytest.approx(2 * 1600 - 400)


def test_subtracting_an_inner_square_keeps_the_hole_as_a_mask_shape() -> None:
    outer, inner = _square(10, 10, 60), _square(30, 30, 20)
    geom = combine_geometry([outer, inner], "subtract")
    assert geom.area == pytest.approx(3600 - 400)
    (exterior, holes), = geometry_rings(geom)
    assert len(exterior) == 4 and len(holes) == 1
    out = combine([outer, inner], "subtract", HW)
    assert len(out) == 1 and out[0].shape_type == "mask"
    m = rle_decode(out[0].mask)
    assert not m[40, 40] and m[15, 15] and m[30, 30]  # inside the hole / in the ring / on the hole's outline
    # every pixel of the outer square's raster is kept but the hole's open interior (19 x 19 pixels)
    assert m.sum() == shape_mask(outer, HW).sum() - 19 * 19
    with pytest.raises(GeometryError, match="holes"):
        combine([outer, inner], "subtract", HW, as_mask=False)


def test_subtraction_that_splits_gives_parts_sharing_a_group() -> None:
    bar = Shape("bar", [(0, 0), (100, 20)], shape_type="rectangle")
    cut = Shape("cut", [(40, -10), (60, 30)], shape_type="rectangle")
    with pytest.raises(ValueError, match="group_id"):
        combine([bar, cut], "subtract", HW)
    parts = combine([bar, cut], "subtract", HW, group_id=3)
    assert [p.group_id for p in parts] == [3, 3]
    assert sorted(shape_geometry(p).area for p in parts) == pytest.approx([800, 800])


def test_intersection_of_every_area_type() -> None:
    circle = Shape("c", [(60, 60), (60, 90)], shape_type="circle")  # r = 30
    rect = Shape("r", [(60, 0), (160, 120)], shape_type="rectangle")  # the right half plane of the circle
    out = combine([circle, rect], "intersect", HW)
    assert shape_geometry(out[0]).area == pytest.approx(math.pi * 900 / 2, rel=1e-3)
    rot = Shape("o", rotation_corners(60, 60, 20, 20, math.pi / 4), shape_type="rotation")
    inside = combine([rot, circle], "intersect", HW)
    assert shape_geometry(inside[0]).area == pytest.approx(400)
    assert combine([_square(0, 0, 5), _square(50, 50, 5)], "intersect", HW) == []


def test_a_self_intersecting_polygon_is_repaired() -> None:
    bowtie = Shape("b", [(0, 0), (20, 20), (20, 0), (0, 20)])
    assert shape_geometry(bowtie).area == pytest.approx(200)
    out = combine([bowtie, _square(0, 0, 20)], "intersect", HW, group_id=1)
    assert sum(shape_geometry(s).area for s in out) == pytest.approx(200)


def test_with_a_mask_the_edit_is_exact_on_the_pixels() -> None:
    m = np.zeros(HW, dtype=bool)
    m[20:60, 20:60] = True
    m[35:45, 35:45] = False  # a mask with a hole
    mask_shape = Shape("m", [(20, 20), (59, 59)], shape_type="mask", mask=rle_encode(m))
    sq = _square(50, 50, 20)
    union = combine([mask_shape, sq], "union", HW)
    assert len(union) == 1 and union[0].shape_type == "mask"
    got = rle_decode(union[0].mask)
    assert np.array_equal(got, m | shape_mask(sq, HW)) and not got[40, 40]
    diff = rle_decode(combine([mask_shape, sq], "subtract", HW)[0].mask)
    assert np.array_equal(diff, m & ~shape_mask(sq, HW))


def test_lines_and_single_shapes_are_refused() -> None:
    with pytest.raises(GeometryError):
        combine([_square(0, 0, 5)], "union", HW)
    with pytest.raises(GeometryError, match="line"):
        combine([_square(0, 0, 5), Shape("l", [(0, 0), (3, 3)], shape_type="line")], "union", HW)
    with pytest.raises(ValueError):
        combine([_square(0, 0, 5), _square(1, 1, 5)], "xor", HW)
