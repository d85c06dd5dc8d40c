"""Hit-testing, distances, boxes and areas for every shape type the canvas draws."""
from __future__ import annotations

import math

import numpy as np
import pytest

from anylabel.document import Shape
from anylabel.editing.hit import area, bbox, contains, distance, hit_test, hits, nearest_edge, nearest_vertex
from anylabel.geometry import rle_encode
from anylabel.geometry.rotated import rotation_corners


def test_distances_of_each_type() -> None:
    assert distance(Shape("p", [(3, 4)], shape_type="point"), 0, 0) == pytest.approx(5)
    assert distance(Shape("p", [(3, 4), (10, 0)], shape_type="points"), 10, 1) == pytest.approx(1)
    line = Shape("l", [(0, 0), (10, 0)], shape_type="line")
    assert distance(line, 5, 3) == pytest.approx(3) and distance(line, 13, 4) == pytest.approx(5)
    strip = Shape("s", [(0, 0), (10, 0), (10, 10)], shape_type="linestrip")
    assert distance(strip, 12, 5) == pytest.approx(2) and distance(strip, 5, 5) == pytest.approx(5)
    circle = Shape("c", [(0, 0), (0, 5)], shape_type="circle")
    assert distance(circle, 1, 1) == 0 and distance(circle, 8, 0) == pytest.approx(3)
    rect = Shape("r", [(10, 10), (0, 0)], shape_type="rectangle")
    assert distance(rect, 5, 5) == 0 and distance(rect, 13, 14) == pytest.approx(5)
    poly = Shape("g", [(0, 0), (10, 0), (10, 10), (5, 2), (0, 10)])  # concave: (5, 6) is in the notch
    assert distance(poly, 2, 2) == 0 and distance(poly, 5, 6) > 0 and not contains(poly, 5, 6)


def test_a_rotation_is_hit_inside_its_corners_not_its_axis_box() -> None:
    rot = Shape("r", rotation_corners(50, 50, 40, 4, math.pi / 4), shape_type="rotation")
    assert contains(rot, 50, 50) and contains(rot, 60, 60)
    assert not contains(rot, 60, 40)  # inside the axis-aligned box, outside the rectangle
    assert distance(rot, 60, 40) == pytest.approx(math.hypot(10, 10) - 2, abs=1e-6)  # across the short side
    x1, y1, x2, y2 = bbox(rot)
    assert x1 == pytest.approx(50 - 22 / math.sqrt(2)) and x2 == pytest.approx(50 + 22 / math.sqrt(2))
    assert area(rot) == pytest.approx(160)


def test_a_mask_is_hit_on_its_pixels() -> None:
    m = np.zeros((50, 60), bool)
    m[10:20, 10:20] = True
    m[14:16, 14:16] = False
    s = Shape("m", [(10, 10), (19, 19)], shape_type="mask", mask=rle_encode(m))
    assert contains(s, 12, 12) and not contains(s, 14, 14) and distance(s, 14, 14) == pytest.approx(1)
    assert distance(s, 40, 40) == pytest.approx(math.hypot(21, 21)) and area(s) == 96


def test_topmost_shape_wins_and_hits_lists_all() -> None:
    under = Shape("a", [(0, 0), (100, 100)], shape_type="rectangle")
    over = Shape("b", [(40, 40), (60, 60)], shape_type="rectangle")
    pin = Shape("p", [(80, 80)], shape_type="point")
    shapes = [under, over, pin]
    assert hit_test(shapes, 50, 50) == 1 and hits(shapes, 50, 50) == [1, 0]
    assert hit_test(shapes, 82, 81, tolerance=3) == 2
    assert hit_test(shapes, 200, 200) is None


def test_vertices_and_edges() -> None:
    poly = Shape("g", [(0, 0), (10, 0), (10, 10), (0, 10)])
    assert nearest_vertex(poly, 9, 1, 2) == 1 and nearest_vertex(poly, 5, 5, 2) is None
    assert nearest_edge(poly, 5, 9, 2) == 2 and nearest_edge(poly, 1, 5, 2) == 3  # 3: the closing edge
    strip = Shape("s", [(0, 0), (10, 0), (10, 10)], shape_type="linestrip")
    assert nearest_edge(strip, 5, 5, 1) is None  # no closing edge
    assert nearest_edge(Shape("r", [(0, 0), (5, 5)], shape_type="rectangle"), 2, 0, 1) is None


def test_areas_of_every_type() -> None:
    assert area(Shape("c", [(0, 0), (3, 4)], shape_type="circle")) == pytest.approx(25 * math.pi)
    assert area(Shape("r", [(0, 0), (3, 4)], shape_type="rectangle")) == 12
    assert area(Shape("l", [(0, 0), (3, 4)], shape_type="line")) == 0


def test_the_index_answers_as_the_plain_functions() -> None:
    from anylabel.editing.hit import HitIndex

    rng = np.random.default_rng(1)
    shapes = []
    for i in range(60):
        x, y = rng.uniform(0, 200, 2)
        kind = ["polygon", "rectangle", "circle", "point", "line", "rotation"][i % 6]
        if kind == "polygon":
            shapes.append(Shape("p", [(x, y), (x + 20, y + 3), (x + 8, y + 25)]))
        elif kind == "rotation":
            shapes.append(Shape("o", rotation_corners(x, y, 30, 6, 0.7), shape_type=kind))
        elif kind == "circle":
            shapes.append(Shape("c", [(x, y), (x + 9, y)], shape_type=kind))
        elif kind == "point":
            shapes.append(Shape("t", [(x, y)], shape_type=kind))
        else:
            shapes.append(Shape("r", [(x, y), (x + 15, y + 12)], shape_type=kind))
    index = HitIndex(shapes)
    for x, y in rng.uniform(0, 220, (300, 2)):
        assert index.hits(x, y, 3.0) == hits(shapes, x, y, 3.0)
        assert index.hit_test(x, y) == hit_test(shapes, x, y)
    moved = Shape("p", [(500, 500), (510, 500), (505, 510)])
    index.update(0, moved)
    shapes[0] = moved
    assert index.hit_test(505, 503) == 0 == hit_test(shapes, 505, 503)


def test_a_click_keeps_the_smallest_candidate_under_it() -> None:
    from anylabel.editing.hit import pick_candidate

    whole = np.zeros((50, 50), bool)
    whole[5:45, 5:45] = True
    part = np.zeros((50, 50), bool)
    part[10:20, 10:20] = True
    assert pick_candidate([whole, part], 12.5, 15.2) == 1
    assert pick_candidate([whole, part], 30, 30) == 0
    assert pick_candidate([whole, part], 2, 2) is None and pick_candidate([whole], 80, 3) is None
