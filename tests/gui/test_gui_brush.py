"""Brush and eraser through the real window: strokes on the AI preview and on finished shapes, the radius
keys, undo, the cursor, and what F / saving make of a painted mask."""
from __future__ import annotations

import json

import numpy as np
import pytest
from gui_fakes import DiskSegmenter
from gui_testutil import answer_label
from PyQt5 import QtCore, QtGui, QtWidgets
from PyQt5.QtCore import QPoint, Qt

from anylabel.document import Shape
from anylabel.editing.convert import shape_mask
from anylabel.geometry import rle_decode

pytestmark = pytest.mark.gui


def at(window, x, y) -> QPoint:
    p = window.canvas.to_widget(x, y)
    return QPoint(round(p.x()), round(p.y()))


@pytest.fixture
def win(make_window, image_dir, qtbot):
    w = make_window({"disk": DiskSegmenter})
    w.open_path(str(image_dir))
    w.canvas.set_zoom(1.0)  # 1 screen pixel = 1 image pixel: exact coordinates
    w.canvas.offset = w.canvas.offset * 0
    w.session.view.brush_radius = 5.0
    return w


def stroke(w, a, b, steps=4, button=Qt.LeftButton) -> None:
    """Press at image point ``a``, move to ``b`` in steps, release: exact sub-pixel positions (QTest's
    integer points would shift the stroke by half a pixel)."""
    c = w.canvas

    def send(kind, xy, buttons):
        ev = QtGui.QMouseEvent(kind, c.to_widget(*xy), button, buttons, Qt.NoModifier)
        QtWidgets.QApplication.sendEvent(c, ev)

    send(QtCore.QEvent.MouseButtonPress, a, button)
    for k in range(1, steps + 1):
        t = k / steps
        send(QtCore.QEvent.MouseMove, (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t), button)
    send(QtCore.QEvent.MouseButtonRelease, b, Qt.NoButton)


def answered(w) -> bool:
    return w.ai.result is not None and w.ai.result.version == w.ai.version


def add_square(w, label="box", x=50, y=50, size=100) -> int:
    pts = [(x, y), (x + size, y), (x + size, y + size), (x, y + size)]
    return w.session.add_shapes([Shape(label, pts)])[0]


def test_keys_choose_brush_and_eraser_and_change_the_radius(win, qtbot):
    w = win
    qtbot.keyClick(w.canvas, Qt.Key_W)
    assert w.canvas.mode == "brush" and w.actions_["brush_mode"].isChecked()
    qtbot.keyClick(w.canvas, Qt.Key_BracketRight)
    assert w.session.view.brush_radius == pytest.approx(6.2, abs=0.06)
    assert "Brush radius 6.2 px" in w.statusBar().currentMessage()
    qtbot.keyClick(w.canvas, Qt.Key_BracketLeft)
    qtbot.keyClick(w.canvas, Qt.Key_BracketLeft)
    assert w.session.view.brush_radius < 5.0
    for _ in range(40):
        qtbot.keyClick(w.canvas, Qt.Key_BracketLeft)
    assert w.session.view.brush_radius == 1.0  # never below one pixel
    qtbot.keyClick(w.canvas, Qt.Key_E)
    assert w.canvas.mode == "eraser" and w.mode_label.text() == "eraser"


def test_brush_stroke_on_the_ai_preview_then_f_keeps_the_painted_pixels(win, qtbot):
    w = win
    w.ai.add_point(100, 100, True)  # the fake model: a disk of radius 40 around the click
    qtbot.waitUntil(lambda: answered(w))
    before = w.session.preview.mask.copy()
    assert not before[100, 170]
    qtbot.keyClick(w.canvas, Qt.Key_W)
    stroke(w, (130, 100), (170, 100), steps=8)  # a stroke out of the disk, to the right
    mask = w.session.preview.mask
    assert mask[100, 170] and mask[100, 175] and not mask[100, 176]  # radius 5 beyond the end point
    assert mask[96, 150] and not mask[94, 150]  # 5 px above the stroke's line, not 6
    assert (mask & ~before).sum() > 150 and not (before & ~mask).any()  # added pixels only
    assert w.canvas.preview is not None and w.canvas.preview.overlay is not None  # the painted preview is shown
    # the stroke is one prompt step: Ctrl+Z takes it back, the model's disk shows again
    qtbot.keyClick(w.canvas, Qt.Key_Z, Qt.ControlModifier)
    qtbot.waitUntil(lambda: answered(w))
    assert not w.session.preview.mask[100, 170]
    qtbot.keyClick(w.canvas, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert w.session.preview.mask[100, 170]
    w.session.mask_output = True
    answer_label(qtbot, w, "blob")
    qtbot.keyClick(w.canvas, Qt.Key_F)
    qtbot.waitUntil(lambda: len(w.session.shapes) == 1)
    (shape,) = w.session.shapes
    assert shape.shape_type == "mask" and shape.label == "blob"
    np.testing.assert_array_equal(rle_decode(shape.mask), mask)


def test_eraser_on_a_selected_polygon_makes_a_mask_with_a_hole_and_undo_restores(win, qtbot, tmp_path):
    w = win
    sid = add_square(w, "roof", 50, 50, 100)
    w.session.select([sid])
    qtbot.keyClick(w.canvas, Qt.Key_E)
    w.session.view.brush_radius = 8.0
    stroke(w, (90, 100), (110, 100), steps=5)  # a hole in the middle, not touching the edge
    (shape,) = w.session.shapes
    assert shape.shape_type == "mask" and shape.id == sid and shape.label == "roof"
    m = rle_decode(shape.mask)
    assert not m[100, 100] and not m[100, 117] and m[100, 119] and m[60, 60]  # erased 8 px around the stroke
    assert m.sum() == shape_mask(Shape("roof", [(50, 50), (150, 50), (150, 150), (50, 150)]), m.shape).sum() \
        - (~m[50:151, 50:151]).sum()
    assert w.history.undo_text == "erase"
    # the hole is kept in the saved file (a mask shape, not a polygon)
    path = w.session.save()
    saved = json.loads(path.read_text())
    assert [s["shape_type"] for s in saved["shapes"]] == ["mask"]
    # one stroke is one undo step
    qtbot.keyClick(w.canvas, Qt.Key_Z, Qt.ControlModifier)
    (back,) = w.session.shapes
    assert back.shape_type == "polygon" and back.id == sid
    # and the mask goes back to polygons with Ctrl+Shift+O
    qtbot.keyClick(w.canvas, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    w.session.select([sid])
    qtbot.keyClick(w.canvas, Qt.Key_O, Qt.ControlModifier | Qt.ShiftModifier)
    assert [s.shape_type for s in w.session.shapes] == ["polygon"]


def test_brush_on_a_selected_shape_extends_it(win, qtbot):
    w = win
    sid = add_square(w, "roof", 50, 50, 100)
    w.session.select([sid])
    w.set_mode("brush")
    stroke(w, (140, 100), (200, 100), steps=6)
    (shape,) = w.session.shapes
    m = rle_decode(shape.mask)
    assert shape.shape_type == "mask" and m[100, 200] and m[100, 205] and not m[100, 206] and m[60, 60]
    assert w.history.undo_text == "brush"


def test_erasing_a_shape_to_nothing_deletes_it_and_says_so(win, qtbot):
    w = win
    sid = add_square(w, "dot", 100, 100, 4)
    w.session.select([sid])
    w.set_mode("eraser")
    w.session.view.brush_radius = 20.0
    stroke(w, (101, 101), (103, 103), steps=2)
    assert w.session.shapes == []
    assert "deleted" in w.statusBar().currentMessage()
    qtbot.keyClick(w.canvas, Qt.Key_Z, Qt.ControlModifier)
    assert [s.id for s in w.session.shapes] == [sid]


def test_brush_without_preview_or_selection_paints_a_new_object(win, qtbot):
    w = win
    w.set_mode("brush")
    stroke(w, (30, 30), (60, 30), steps=3)
    mask = w.session.preview.mask
    assert mask[30, 30] and mask[30, 60] and not mask[30, 66] and mask.sum() > 300
    answer_label(qtbot, w, "scribble")
    qtbot.keyClick(w.canvas, Qt.Key_F)
    qtbot.waitUntil(lambda: len(w.session.shapes) == 1)
    assert w.session.shapes[0].label == "scribble"


def test_brush_refuses_a_shape_without_area_and_several_selected_outside(win, qtbot):
    w = win
    line = w.session.add_shapes([Shape("edge", [(10, 10), (90, 90)], "line")])[0]
    w.session.select([line])
    w.set_mode("brush")
    stroke(w, (40, 40), (50, 40), steps=2)
    assert "no area" in w.statusBar().currentMessage()
    assert w.session.shapes[0].shape_type == "line" and not w.session.prompts
    a, b = add_square(w, "a", 100, 100, 40), add_square(w, "b", 200, 100, 40)
    w.session.select([a, b])
    stroke(w, (20, 200), (30, 200), steps=2)
    assert "Several shapes" in w.statusBar().currentMessage()
    stroke(w, (210, 120), (250, 120), steps=2)  # starting inside b: b is painted
    assert w.session.shape(b).shape_type == "mask" and w.session.shape(a).shape_type == "polygon"


def test_stroke_shows_while_drawn_and_escape_cancels_it(win, qtbot):
    w = win
    sid = add_square(w, "roof", 50, 50, 100)
    w.session.select([sid])
    w.set_mode("eraser")
    c = w.canvas
    from PyQt5.QtTest import QTest

    QTest.mousePress(c, Qt.LeftButton, Qt.NoModifier, at(w, 100, 100))
    ev = QtGui.QMouseEvent(QtCore.QEvent.MouseMove, QtCore.QPointF(at(w, 120, 100)), Qt.LeftButton, Qt.LeftButton,
                           Qt.NoModifier)
    QtWidgets.QApplication.sendEvent(c, ev)
    assert c.tool.stroking and c.suppressed == {0}  # the polygon is hidden, its working mask shown instead
    img = c.grab().toImage()
    inside, erased = img.pixelColor(at(w, 70, 70)), img.pixelColor(at(w, 110, 100))
    assert inside != erased  # the erased pixels no longer show the shape's fill
    qtbot.keyClick(c, Qt.Key_Escape)
    assert not c.tool.stroking and c.suppressed == set()
    QTest.mouseRelease(c, Qt.LeftButton, Qt.NoModifier, at(w, 120, 100))
    assert w.session.shapes[0].shape_type == "polygon" and not w.history.can_redo


def test_brush_cursor_is_a_circle_of_the_radius_in_image_pixels(win, qtbot):
    w = win
    c = w.canvas
    c.set_zoom(2.0)
    c.offset = c.offset * 0
    w.set_mode("brush")
    w.session.view.brush_radius = 10.0
    qtbot.mouseMove(c, at(w, 100, 100))
    qtbot.waitUntil(lambda: c.tool.pos is not None)
    img = c.grab().toImage()
    centre = at(w, 100, 100)
    ring = [img.pixelColor(centre.x() + dx, centre.y()) for dx in (19, 20, 21)]  # radius 10 px x zoom 2
    assert any(col.red() > 200 and col.green() > 200 and col.blue() > 200 for col in ring)
    assert c.cursor().shape() == Qt.BlankCursor


def test_a_selected_mask_shape_shows_its_outline_and_its_hole(win, qtbot, monkeypatch):
    from anylabel.geometry import rle_encode
    from anylabel.gui.canvas.paint import Geometry

    w = win
    c = w.canvas
    c.set_zoom(2.0)
    c.offset = c.offset * 0
    m = np.zeros(w.session.annotation.size, dtype=bool)
    m[40:120, 40:120] = True
    m[70:90, 70:90] = False  # a hole
    sid = w.session.add_shapes([Shape("ring", [], "mask", mask=rle_encode(m))])[0]
    assert w.session.selected == {sid}
    outlined = c.grab().toImage()
    with monkeypatch.context() as mp:
        mp.setattr(Geometry, "mask_outline", lambda self: [])  # the same paint without any outline
        c.update()
        bare = c.grab().toImage()
    for x, y in ((40, 80), (69, 80)):  # the outer boundary and the hole's (its last mask pixels)
        p = at(w, x, y)
        assert bare.pixelColor(p) != outlined.pixelColor(p)
    for x, y in ((80, 80), (55, 55)):  # the hole stays open, the fill is not covered
        p = at(w, x, y)
        assert bare.pixelColor(p) == outlined.pixelColor(p)


def test_the_brush_circle_shows_as_soon_as_w_is_pressed_over_the_canvas(win, qtbot):
    """W with the mouse resting on the image: the circle of the radius is there at once (no move needed)."""
    w = win
    where = at(w, 120, 90)
    QtGui.QCursor.setPos(w.canvas.mapToGlobal(where))
    if w.canvas.mapFromGlobal(QtGui.QCursor.pos()) != where:
        pytest.skip("this platform plugin does not move the cursor")
    qtbot.keyClick(w.canvas, Qt.Key_W)
    assert w.canvas.mode == "brush"
    assert w.canvas.tool.pos is not None and w.canvas.tool.pos.toPoint() == where
