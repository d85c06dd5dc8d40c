"""Every labelme shape type drawn through the real window: point, line, line strip, circle and the rotated
rectangle (drawn, turned with Z / X, corners dragged), selected, moved, saved and read back."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from gui_fakes import DiskSegmenter
from gui_testutil import answer_label, drag
from PyQt5 import QtWidgets
from PyQt5.QtCore import QPoint, Qt

from anylabel.formats.labelme import load_labelme
from anylabel.geometry import rotated

pytestmark = pytest.mark.gui


def at(window, x, y) -> QPoint:
    p = window.canvas.to_widget(x, y)
    return QPoint(round(p.x()), round(p.y()))


def rounded(points):
    return [tuple(round(v) for v in p) for p in points]


@pytest.fixture
def win(make_window, image_dir, qtbot):
    w = make_window({"disk": DiskSegmenter})
    w.open_path(str(image_dir))
    w.canvas.set_zoom(1.0)
    w.canvas.offset = w.canvas.offset * 0
    return w


def settle(qtbot, w):
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is w)


def test_point_line_linestrip_circle_drawn_with_their_keys_and_saved(win, qtbot):
    w = win
    c = w.canvas
    qtbot.keyClick(c, Qt.Key_P, Qt.ShiftModifier)
    assert c.mode == "point"
    answer_label(qtbot, w, "eye")
    qtbot.mouseClick(c, Qt.LeftButton, pos=at(w, 40, 30))
    qtbot.waitUntil(lambda: len(w.session.shapes) == 1)
    settle(qtbot, w)

    qtbot.keyClick(c, Qt.Key_L)
    assert c.mode == "line"
    answer_label(qtbot, w, "edge")
    drag(c, at(w, 20, 100), at(w, 120, 140))
    qtbot.waitUntil(lambda: len(w.session.shapes) == 2)
    settle(qtbot, w)

    qtbot.keyClick(c, Qt.Key_L, Qt.ShiftModifier)
    assert c.mode == "linestrip"
    for x, y in [(150, 20), (200, 60), (250, 20)]:
        qtbot.mouseClick(c, Qt.LeftButton, pos=at(w, x, y))
    qtbot.mouseClick(c, Qt.LeftButton, pos=at(w, 150, 20))  # on the first vertex: a vertex, not a close
    answer_label(qtbot, w, "wire")
    qtbot.keyClick(c, Qt.Key_Return)
    qtbot.waitUntil(lambda: len(w.session.shapes) == 3)
    settle(qtbot, w)

    qtbot.keyClick(c, Qt.Key_O, Qt.ShiftModifier)
    assert c.mode == "circle"
    answer_label(qtbot, w, "wheel")
    drag(c, at(w, 200, 200), at(w, 230, 240))  # from the centre: radius 50
    qtbot.waitUntil(lambda: len(w.session.shapes) == 4)

    kinds = [(s.label, s.shape_type) for s in w.session.shapes]
    assert kinds == [("eye", "point"), ("edge", "line"), ("wire", "linestrip"), ("wheel", "circle")]
    point, line, strip, circle = w.session.shapes
    assert rounded(point.points) == [(40, 30)]
    assert rounded(line.points) == [(20, 100), (120, 140)]
    assert rounded(strip.points) == [(150, 20), (200, 60), (250, 20), (150, 20)]
    assert rounded(circle.points) == [(200, 200), (230, 240)]

    path = w.session.save()
    saved = json.loads(path.read_text())
    assert [s["shape_type"] for s in saved["shapes"]] == ["point", "line", "linestrip", "circle"]
    assert [s.shape_type for s in load_labelme(path).shapes] == ["point", "line", "linestrip", "circle"]


def test_each_new_shape_is_selected_by_a_click_and_moved(win, qtbot):
    from anylabel.document import Shape

    w = win
    shapes = [Shape("p", [(40, 40)], "point"), Shape("l", [(100, 40), (180, 40)], "line"),
              Shape("s", [(40, 120), (80, 160), (120, 120)], "linestrip"),
              Shape("c", [(250, 150), (280, 150)], "circle"),
              Shape("r", rotated.rotation_corners(150, 250, 80, 40, math.radians(30)), "rotation")]
    ids = w.session.add_shapes(shapes)
    w.set_mode("edit")
    grabs = {ids[0]: (40, 40), ids[1]: (140, 40), ids[2]: (60, 140), ids[3]: (255, 160), ids[4]: (150, 250)}
    for sid, (x, y) in grabs.items():
        before = w.session.shape(sid).points_array()
        drag(w.canvas, at(w, x, y), at(w, x + 10, y + 5))
        assert w.session.selected == {sid}, w.session.shape(sid).shape_type
        after = w.session.shape(sid).points_array()
        moved = after - before  # by (10, 5): the ends are rounded to whole screen pixels
        assert abs(moved - (10, 5)).max() <= 1 + 1e-6 and abs(moved - moved[0]).max() < 1e-9


def test_rotated_rectangle_drawn_turned_with_z_x_and_round_trips_through_labelme(win, qtbot):
    w = win
    c = w.canvas
    qtbot.keyClick(c, Qt.Key_R, Qt.ShiftModifier)
    assert c.mode == "rotation"
    answer_label(qtbot, w, "plate")
    drag(c, at(w, 100, 100), at(w, 200, 150))
    qtbot.waitUntil(lambda: len(w.session.shapes) == 1)
    settle(qtbot, w)
    (shape,) = w.session.shapes
    assert shape.shape_type == "rotation" and rounded(shape.points) == [(100, 100), (200, 100), (200, 150), (100, 150)]
    assert w.session.selected == {shape.id}
    for _ in range(10):
        qtbot.keyClick(c, Qt.Key_X)  # 10 x 1 degree clockwise
    qtbot.keyClick(c, Qt.Key_Z)
    turned = w.session.shapes[0]
    params = rotated.rotation_params(turned.points)
    assert math.degrees(params.angle) == pytest.approx(9.0)
    assert (params.cx, params.cy, params.width, params.height) == pytest.approx((150, 125, 100, 50), abs=0.6)
    assert "9°" in w.statusBar().currentMessage()
    qtbot.keyClick(c, Qt.Key_Z, Qt.ControlModifier)  # each turn is one undo step
    assert math.degrees(rotated.rotation_params(w.session.shapes[0].points).angle) == pytest.approx(10.0)

    path = w.session.save()
    raw = json.loads(path.read_text())["shapes"][0]
    assert raw["shape_type"] == "rotation" and len(raw["points"]) == 4
    assert raw["direction"] == pytest.approx(math.radians(10.0))
    again = load_labelme(path).shapes[0]
    assert again.shape_type == "rotation" and again.points == w.session.shapes[0].points
    label_file = pytest.importorskip("labelme._label_file")
    theirs = label_file.LabelFile(str(path))  # labelme's own loader opens it
    assert theirs.shapes[0]["shape_type"] == "rotation" and theirs.shapes[0]["points"] == raw["points"]


def test_dragging_a_rotated_corner_keeps_the_angle(win, qtbot):
    w = win
    corners = rotated.rotation_corners(150, 150, 100, 50, math.radians(20))
    sid = w.session.add_shapes([rotated_shape(corners)])[0]
    w.set_mode("edit")
    w.session.select([sid])
    x, y = corners[2]
    drag(w.canvas, at(w, x, y), at(w, x + 20, y + 10))
    after = rotated.rotation_params(w.session.shape(sid).points)
    assert math.degrees(after.angle) == pytest.approx(20.0, abs=0.6)  # integer mouse positions
    assert rounded(w.session.shape(sid).points)[0] == rounded(corners)[0]  # the opposite corner stays
    pts = np.array(w.session.shape(sid).points)
    edges = np.roll(pts, -1, axis=0) - pts
    assert abs(edges[:, 0] * np.roll(edges, -1, axis=0)[:, 0] + edges[:, 1] * np.roll(edges, -1, axis=0)[:, 1]).max() \
        < 1e-6 * (edges ** 2).sum()  # still a rectangle: every corner a right angle
    assert after.width > 100 and after.height > 50  # and it grew towards the dragged corner


def rotated_shape(corners):
    from anylabel.document import Shape

    return Shape("r", corners, "rotation")


def test_z_x_turn_a_rectangle_into_a_rotation_and_refuse_circles(win, qtbot):
    from anylabel.document import Shape

    w = win
    box, disk = w.session.add_shapes([Shape("b", [(10, 10), (60, 40)], "rectangle"),
                                      Shape("d", [(200, 200), (220, 200)], "circle")])
    w.session.select([box])
    qtbot.keyClick(w.canvas, Qt.Key_X)
    assert w.session.shape(box).shape_type == "rotation"
    w.session.select([disk])
    qtbot.keyClick(w.canvas, Qt.Key_X)
    assert w.session.shape(disk).points == [(200, 200), (220, 200)]
    assert "not turned" in w.statusBar().currentMessage()
    w.session.select([])
    qtbot.keyClick(w.canvas, Qt.Key_Z)
    assert "Select shapes first" in w.statusBar().currentMessage()


def test_the_shape_list_names_every_shape_type(win):
    """Each row of the shape list says the shape's own type (a line strip is not a polygon) with its size."""
    from anylabel.document import Shape
    from anylabel.document.shape import SHAPE_TYPES
    from anylabel.geometry import rle_encode

    mask = np.zeros((480, 640), bool)
    mask[10:30, 20:60] = True
    shapes = {
        "polygon": Shape("a", [(0, 0), (10, 0), (10, 10)]),
        "rectangle": Shape("a", [(10, 20), (50, 80)], shape_type="rectangle"),
        "point": Shape("a", [(5, 5)], shape_type="point"),
        "points": Shape("a", [(5, 5), (6, 6), (7, 9)], shape_type="points"),
        "line": Shape("a", [(0, 0), (30, 40)], shape_type="line"),
        "linestrip": Shape("a", [(0, 0), (30, 40), (60, 0), (90, 40)], shape_type="linestrip"),
        "circle": Shape("a", [(100, 100), (100, 125)], shape_type="circle"),
        "mask": Shape("a", [(20, 10), (59, 29)], shape_type="mask", mask=rle_encode(mask)),
        "rotation": Shape("a", rotated.rotation_corners(200, 200, 60, 20, math.radians(30)), shape_type="rotation"),
    }
    assert set(shapes) == set(SHAPE_TYPES)
    win.session.add_shapes(list(shapes.values()))
    rows = [win.shape_list.item(i).text() for i in range(win.shape_list.count())]
    expected = {"polygon": "polygon, 3 pts", "rectangle": "rectangle 40×60", "point": "point",
                "points": "points, 3", "line": "line 50 px", "linestrip": "line strip, 4 pts", "circle": "circle r 25",
                "mask": "mask 40×20", "rotation": "rotated rectangle 60×20, 30°"}
    for row, kind in zip(rows, shapes):
        assert row.endswith(expected[kind]), (kind, row)


def test_the_turn_handle_of_a_selected_rotated_rectangle_turns_it_with_the_mouse(win, qtbot):
    """A knob beyond the p0 -> p1 edge of the one selected rotated rectangle: a drag around the centre turns
    the box by the angle swept (one undo step), Shift snaps to 15°; other shapes or several selected: none."""
    w = win
    corners = rotated.rotation_corners(200, 200, 100, 50, 0.0)  # p0 -> p1 is the top edge: knob above it
    sid = w.session.add_shapes([rotated_shape(corners)])[0]
    w.set_mode("edit")
    w.session.select([])
    assert w.canvas.tool.turn_handle() is None  # not selected: no handle
    w.session.select([sid])
    _, mid, knob = w.canvas.tool.turn_handle()
    top = w.canvas.to_widget(200, 175)
    assert (mid.x(), mid.y()) == pytest.approx((top.x(), top.y()))
    assert knob.y() < mid.y() and knob.x() == pytest.approx(mid.x())  # above the top edge
    centre = w.canvas.to_widget(200, 200)
    r = centre.y() - knob.y()
    right = QPoint(round(centre.x() + r), round(centre.y()))  # a quarter turn clockwise, seen from the centre
    drag(w.canvas, knob.toPoint(), right, steps=8)
    after = rotated.rotation_params(w.session.shape(sid).points)
    assert math.degrees(after.angle) == pytest.approx(90.0, abs=1.5)  # integer mouse positions
    assert (after.cx, after.cy, after.width, after.height) == pytest.approx((200, 200, 100, 50), abs=1e-6)
    assert w.history.undo_text == "rotate"
    qtbot.keyClick(w.canvas, Qt.Key_Z, Qt.ControlModifier)
    assert w.session.shape(sid).points == corners
    _, _, knob = w.canvas.tool.turn_handle()
    near = w.canvas.to_widget(200 + 60, 200 - 130)  # about 24.8° clockwise: Shift snaps it to 30°
    drag(w.canvas, knob.toPoint(), near.toPoint(), modifier=Qt.ShiftModifier, steps=8)
    assert math.degrees(rotated.rotation_params(w.session.shape(sid).points).angle) == pytest.approx(30.0)
    other = w.session.add_shapes([rotated_shape(rotated.rotation_corners(400, 300, 40, 40, 0.0))])[0]
    w.session.select([sid, other])
    assert w.canvas.tool.turn_handle() is None
