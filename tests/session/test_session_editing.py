"""session.edit and session.brush: conversions, boolean edits, rotated rectangles, hit-testing and brush strokes,
each one undo step with stable ids; undo / redo restore the shapes exactly; files written."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anylabel.backends import MaskCandidate
from anylabel.document import Shape
from anylabel.editing.convert import shape_mask
from anylabel.errors import GeometryError
from anylabel.formats.labelme import load_labelme
from anylabel.geometry import rle_decode
from anylabel.geometry.rotated import rotation_params
from anylabel.session import AnnotationSession, PlainAnswer


def _square(label: str, x: float, y: float = 10, size: float = 20) -> Shape:
    return Shape(label, [(x, y), (x + size, y), (x + size, y + size), (x, y + size)], flags={"f": True})


@pytest.fixture
def session(tmp_path: Path) -> AnnotationSession:
    Image.fromarray(np.full((120, 200, 3), 90, np.uint8)).save(tmp_path / "a.png")
    s = AnnotationSession()
    s.load(s.open(tmp_path / "a.png"))
    s.add_shapes([_square("a", 10), _square("b", 20), _square("c", 100)])
    return s


def snapshot(s: AnnotationSession) -> list:
    return [(sh.id, sh.copy()) for sh in s.shapes]


def assert_undo_redo_exact(s: AnnotationSession, before: list) -> None:
    after = snapshot(s)
    assert s.undo_shapes()
    assert snapshot(s) == before and [i for i, _ in snapshot(s)] == [i for i, _ in before]
    assert s.redo_shapes()
    assert snapshot(s) == after and [i for i, _ in snapshot(s)] == [i for i, _ in after]


def test_to_mask_keeps_id_pixels_and_details_then_to_polygons_back(session):
    s = session
    a = s.shapes[0]
    pixels = shape_mask(a, s.annotation.size)
    before = snapshot(s)
    assert s.edit.to_mask([a.id]) == [a.id]
    m = s.shape(a.id)
    assert m.shape_type == "mask" and np.array_equal(rle_decode(m.mask), pixels) and m.flags == {"f": True}
    assert_undo_redo_exact(s, before)
    ids = s.edit.to_polygons(a.id)
    assert ids == [a.id] and s.shape(a.id).shape_type == "polygon" and s.shape(a.id).label == "a"
    assert np.array_equal(shape_mask(s.shape(a.id), s.annotation.size), pixels)


def test_to_polygons_of_a_two_part_mask_gives_parts_a_new_group_id(session):
    s = session
    mask = np.zeros((120, 200), bool)
    mask[10:40, 10:40] = mask[60:90, 120:150] = True
    s.shapes[2].group_id = 4
    from anylabel.geometry import rle_encode

    mid = s.add_shapes([Shape("m", [(10, 10), (149, 89)], "mask", mask=rle_encode(mask))])[0]
    ids = s.edit.to_polygons(mid, tolerance=0.5)
    assert len(ids) == 2 and ids[0] == mid and {s.shape(i).group_id for i in ids} == {5}
    assert s.selected == set(ids)
    assert s.undo_shapes() and [sh.id for sh in s.shapes][-1] == mid and s.shape(mid).shape_type == "mask"


def test_to_rotation_gives_the_min_area_rectangle(session):
    s = session
    a = s.shapes[0].id
    s.edit.to_rotation([a])
    r = rotation_params(s.shape(a).points)
    assert s.shape(a).shape_type == "rotation" and (r.width, r.height) == pytest.approx((20, 20), abs=1e-6)
    assert (r.cx, r.cy) == pytest.approx((20, 20))


@pytest.mark.parametrize("operation, area, replaced", [("union", 600, 2), ("intersect", 200, 2),
                                                       ("subtract", 200, 1)])
def test_boolean_edits_replace_their_operands_in_one_undo_step(session, operation, area, replaced):
    s = session
    a, b, c = (sh.id for sh in s.shapes)
    before = snapshot(s)
    events = []
    s.shapes_changed.connect(events.append)
    ids = s.edit.combine([a, b], operation)
    assert len(events) == 1 and ids == [a]
    result = s.shape(a)
    assert result.label == "a" and result.shape_type == "polygon"
    from shapely.geometry import Polygon

    assert Polygon(result.points).area == pytest.approx(area)
    assert [sh.id for sh in s.shapes] == ([a, c] if replaced == 2 else [a, b, c])
    assert_undo_redo_exact(s, before)


def test_a_union_with_a_hole_becomes_one_mask_shape(session):
    s = session
    ring = [_square("r", 10, 10, 60), _square("h", 30, 30, 20)]
    ring_ids = s.add_shapes(ring)
    ids = s.edit.combine(ring_ids, "subtract")
    m = s.shape(ids[0])
    pixels = rle_decode(m.mask)
    assert m.shape_type == "mask" and pixels[20, 20] and not pixels[40, 40]
    path = s.save()
    saved = load_labelme(path).shapes[-2]
    assert saved.shape_type == "mask" and np.array_equal(rle_decode(saved.mask), pixels)


def test_intersecting_disjoint_shapes_leaves_nothing_and_undo_brings_them_back(session):
    s = session
    a, _, c = (sh.id for sh in s.shapes)
    assert s.edit.intersect([a, c]) == []
    assert [sh.label for sh in s.shapes] == ["b"]
    assert s.undo_shapes() and [sh.id for sh in s.shapes][0] == a and s.shape(c).label == "c"


def test_rotation_shapes_add_rotate_drag_resize(session):
    s = session
    rid = s.edit.add_rotation("car", 100, 60, 40, 20, 0.0)
    assert s.shape(rid).shape_type == "rotation" and s.selected == {rid}
    s.edit.rotate_shape(rid, math.pi / 6)
    r = rotation_params(s.shape(rid).points)
    assert r.angle == pytest.approx(math.pi / 6) and (r.cx, r.cy, r.width, r.height) == pytest.approx((100, 60, 40, 20))
    opposite = s.shape(rid).points[2]
    s.edit.drag_rotation_corner(rid, 0, (80.0, 40.0))
    assert np.allclose(s.shape(rid).points[2], opposite)
    assert rotation_params(s.shape(rid).points).angle == pytest.approx(math.pi / 6)
    s.edit.resize_rotation(rid, 10, 5)
    r2 = rotation_params(s.shape(rid).points)
    assert (r2.width, r2.height) == pytest.approx((10, 5))
    saved = load_labelme(s.save()).shapes[-1]
    assert saved.shape_type == "rotation" and np.allclose(saved.points, s.shape(rid).points)
    for _ in range(2):  # the resize and the drag
        s.undo_shapes()
    assert rotation_params(s.shape(rid).points).angle == pytest.approx(math.pi / 6)
    assert rotation_params(s.shape(rid).points).width == pytest.approx(40)
    with pytest.raises(GeometryError, match="not a rotated rectangle"):
        s.edit.resize_rotation(s.shapes[0].id, 3, 3)


def test_shape_at_follows_changes_and_skips_hidden_shapes(session):
    s = session
    a, b, c = (sh.id for sh in s.shapes)
    assert s.edit.shape_at(25, 25) == b  # topmost of the two overlapping squares
    index = s.edit.hit_index()
    assert s.edit.hit_index() is index  # kept while nothing changes
    s.hide([b])
    assert s.edit.shape_at(25, 25) == a
    s.move(50, 0, [c])
    assert s.edit.hit_index() is not index and s.edit.shape_at(155, 20) == c and s.edit.shape_at(105, 20) is None
    assert s.edit.shape_at(5, 100) is None


def test_brush_on_a_shape_is_one_undo_step_and_makes_an_exact_mask(session):
    s = session
    a = s.shapes[0].id
    before = snapshot(s)
    original = shape_mask(s.shape(a), s.annotation.size)
    events = []
    s.shapes_changed.connect(events.append)
    s.brush.begin_stroke(a, radius=3)
    patches = [s.brush.extend_stroke([(50, 60)]), s.brush.extend_stroke([(60, 60), (70, 60)])]
    assert all(p is not None and p.changed for p in patches)
    assert s.view.brush_radius == 3 and s.shapes[0].shape_type == "polygon"  # nothing committed mid-stroke
    ids = s.brush.end_stroke()
    m = s.shape(a)
    pixels = rle_decode(m.mask)
    assert ids == [a] and m.shape_type == "mask" and m.flags == {"f": True}
    assert [(e.kind, e.ids) for e in events] == [("do", (a,))]  # one event, one undo step per stroke
    assert (pixels & original).sum() == original.sum() and pixels[60, 50:71].all() and pixels[57, 60]
    assert not pixels[56, 60]  # exactly the radius
    assert_undo_redo_exact(s, before)


def test_erasing_a_shape_to_nothing_deletes_it(session):
    s = session
    c = s.shapes[2].id
    s.brush.begin_stroke(c, radius=30, erase=True)
    s.brush.extend_stroke([(110, 20)])
    assert s.brush.end_stroke() == [] and c not in [sh.id for sh in s.shapes]
    assert s.undo_shapes() and s.shape(c).label == "c"


def test_brush_on_the_preview_is_a_prompt_step_that_the_next_click_refines(session):
    s = session
    mask = np.zeros((120, 200), bool)
    mask[50:70, 50:90] = True
    s.add_point(60, 60)
    assert s.accept(PlainAnswer(s.image_key, s.prompts.version, [MaskCandidate(mask, 0.9)]))
    shapes_before = snapshot(s)
    fired = []
    s.preview_changed.connect(lambda: fired.append("preview"))
    s.prompts_changed.connect(lambda version: fired.append("prompts"))
    s.shapes_changed.connect(lambda event: fired.append("shapes"))
    s.brush.begin_stroke(None, radius=4, erase=True)
    s.brush.extend_stroke([(70, 40), (70, 80)])
    assert fired == []  # nothing is announced mid-stroke (the canvas paints the patches)
    assert s.brush.end_stroke() == []
    assert fired == ["preview", "prompts"]
    preview = s.preview
    assert not s.waiting and preview is not None and not preview.mask[60, 70] and preview.mask[60, 60]
    assert snapshot(s) == shapes_before  # the shapes are not touched
    prompt = s.prompt()  # the classical backend: the painted mask's box is the box prompt, with the click
    assert prompt.box is not None and len(prompt.positive_points) == 1
    ids = s.finish("thing")
    assert s.shape(ids[0]).label == "thing" and not s.prompts
    s.undo_shapes()
    s.add_point(60, 60)
    s.accept(PlainAnswer(s.image_key, s.prompts.version, [MaskCandidate(mask, 0.9)]))
    s.brush.begin_stroke(None, radius=4, erase=True)
    s.brush.extend_stroke([(70, 40), (70, 80)])
    s.brush.end_stroke()
    assert s.undo() and s.prompts.base is None and s.waiting  # the stroke is undone like a click: ask again


def test_no_stroke_no_change(session):
    s = session
    with pytest.raises(Exception, match="begin_stroke"):
        s.brush.extend_stroke([(1, 1)])
    a = s.shapes[0].id
    s.brush.begin_stroke(a)
    assert s.brush.extend_stroke([(500, 500)]) is None
    assert s.brush.end_stroke() == [a] and s.history.undo_text == "add shapes"  # no undo step of its own


def test_a_preview_erased_to_nothing_cannot_be_finished_and_clicks_start_afresh(session):
    from anylabel.editing.reprompt import LogitFrame
    from anylabel.session import NothingToFinish

    s = session
    mask = np.zeros((120, 200), bool)
    mask[50:60, 50:60] = True
    s.add_point(55, 55)
    s.accept(PlainAnswer(s.image_key, s.prompts.version, [MaskCandidate(mask, 0.9)]))
    s.brush.begin_stroke(None, radius=20, erase=True, frame=LogitFrame(valid_hw=(128.0, 213.0), pre_scale=4))
    s.brush.extend_stroke([(55, 55)])
    s.brush.end_stroke()
    assert s.preview is not None and not s.preview.mask.any()
    with pytest.raises(NothingToFinish, match="empty"):
        s.finish("x")
    s.add_point(100, 30)
    prompt = s.prompt()  # the empty base adds nothing: just the clicks
    assert len(prompt.positive_points) == 2 and prompt.box is None
