"""session.edit.rotate_shapes (Z / X in the window): several shapes turned around their own centres in one undo
step; rectangles become rotated rectangles; circles and masks are left alone."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anylabel.document import Shape
from anylabel.geometry.rotated import rotation_corners, rotation_params
from anylabel.session import AnnotationSession


@pytest.fixture
def session(tmp_path: Path) -> AnnotationSession:
    Image.fromarray(np.full((200, 300, 3), 90, np.uint8)).save(tmp_path / "a.png")
    s = AnnotationSession()
    s.load(s.open(tmp_path / "a.png"))
    return s


def test_rotate_shapes_is_one_step_around_each_centre(session):
    s = session
    rot, box, poly, disk = s.add_shapes([
        Shape("r", rotation_corners(60, 60, 40, 20, 0.0), "rotation"),
        Shape("b", [(150, 40), (190, 80)], "rectangle"),
        Shape("p", [(200, 120), (260, 120), (260, 160)]),
        Shape("c", [(100, 150), (120, 150)], "circle")])
    turned = s.edit.rotate_shapes([rot, box, poly, disk], math.radians(30))
    assert turned == [rot, box, poly] and s.history.undo_text == "rotate"
    r = rotation_params(s.shape(rot).points)
    assert (r.cx, r.cy, r.width, r.height, math.degrees(r.angle)) == pytest.approx((60, 60, 40, 20, 30))
    b = s.shape(box)
    assert b.shape_type == "rotation" and rotation_params(b.points).cx == pytest.approx(170)
    p = np.array(s.shape(poly).points)
    assert s.shape(poly).points[0] != (200, 120)  # turned ...
    centre = np.array([230, 140])
    assert np.linalg.norm(p - centre, axis=1) == pytest.approx(
        np.linalg.norm(np.array([(200, 120), (260, 120), (260, 160)]) - centre, axis=1))  # ... around its box centre
    assert s.shape(disk).points == [(100, 150), (120, 150)]
    assert s.undo_shapes() and s.shape(box).shape_type == "rectangle" and s.shape(poly).points[0] == (200, 120)
    assert not s.history.can_undo or s.history.undo_text != "rotate"


def test_rotate_shapes_with_nothing_to_turn_adds_no_step(session):
    s = session
    (disk,) = s.add_shapes([Shape("c", [(100, 150), (120, 150)], "circle")])
    assert s.edit.rotate_shapes([disk], 0.1) == [] and s.history.undo_text == "add shapes"
