"""Every edit of issue 15 through the real window, then Ctrl+Z: the annotation is exactly what it was (the
LabelMe dict that would be saved, and the shapes' stable ids); Ctrl+Shift+Z gives the edit back exactly."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from gui_fakes import DiskSegmenter
from gui_testutil import answer_label, drag, when_dialog
from PyQt5 import QtCore, QtGui, QtWidgets
from PyQt5.QtCore import QPoint, Qt

from anylabel.backends import MaskCandidate
from anylabel.config import Config
from anylabel.document import Shape
from anylabel.formats.labelme import labelme_to_dict
from anylabel.geometry import rle_encode, rotated

pytestmark = pytest.mark.gui


def at(w, x, y) -> QPoint:
    p = w.canvas.to_widget(x, y)
    return QPoint(round(p.x()), round(p.y()))


def state(w) -> str:
    """The annotation as it would be saved, with the shapes' ids."""
    return json.dumps([labelme_to_dict(w.session.annotation), [s.id for s in w.session.shapes]], sort_keys=True)


def square(label, x, y, size):
    return Shape(label, [(x, y), (x + size, y), (x + size, y + size), (x, y + size)])


class EverythingDisk(DiskSegmenter):
    """The disk fake whose "segment everything" finds one box-shaped object."""

    def everything(self, image=None, key=None, progress=None):
        h, w = self.image_hw if image is None else image.shape[:2]
        mask = np.zeros((h, w), bool)
        mask[220:260, 400:470] = True
        return [MaskCandidate(mask, 0.9)]


@pytest.fixture
def win(make_window, image_dir, qtbot):
    cfg = Config(shape_flags=["occluded"], image_tags=["blurry"])
    w = make_window({"disk": EverythingDisk}, config=cfg)
    w.open_path(str(image_dir))
    w.canvas.set_zoom(1.0)
    w.canvas.offset = w.canvas.offset * 0
    h, wd = w.session.image.shape[:2]
    blob = np.zeros((h, wd), bool)
    blob[300:360, 40:120] = True
    blob[320:340, 60:100] = False  # a hole
    base = [square("a", 50, 50, 100), square("b", 100, 100, 100),
            Shape("r", rotated.rotation_corners(320, 120, 80, 40, math.radians(20)), "rotation"),
            Shape("m", [(40, 300), (119, 359)], "mask", mask=rle_encode(blob))]
    w.session.add_shapes(base)
    w.history.mark_saved()
    return w


def ids(w):
    return [s.id for s in w.session.shapes]


def select(w, *positions):
    w.session.select([ids(w)[p] for p in positions])
    w.shape_edits.order = [ids(w)[p] for p in positions]


def key(qtbot, w, k, mod=Qt.NoModifier):
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is w)
    qtbot.keyClick(w.canvas, k, mod)


def stroke(w, a, b, button=Qt.LeftButton):
    c = w.canvas

    def send(kind, xy, buttons):
        QtWidgets.QApplication.sendEvent(c, QtGui.QMouseEvent(kind, c.to_widget(*xy), button, buttons, Qt.NoModifier))

    send(QtCore.QEvent.MouseButtonPress, a, button)
    for t in (0.25, 0.5, 0.75, 1.0):
        send(QtCore.QEvent.MouseMove, (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t), button)
    send(QtCore.QEvent.MouseButtonRelease, b, Qt.NoButton)


def brush(qtbot, w):
    select(w, 0)
    key(qtbot, w, Qt.Key_W)
    stroke(w, (140, 60), (190, 60))


def eraser(qtbot, w):
    select(w, 1)
    key(qtbot, w, Qt.Key_E)
    stroke(w, (90, 150), (210, 150))


def boolean(k):
    def run(qtbot, w):
        select(w, 0, 1)
        key(qtbot, w, k, Qt.ControlModifier | Qt.ShiftModifier)
    return run


def to_mask(qtbot, w):
    select(w, 0, 2)
    key(qtbot, w, Qt.Key_K, Qt.ControlModifier | Qt.ShiftModifier)


def to_polygons(qtbot, w):
    select(w, 3)
    key(qtbot, w, Qt.Key_O, Qt.ControlModifier | Qt.ShiftModifier)


def turn(k):
    def run(qtbot, w):
        select(w, 2, 0)
        key(qtbot, w, k)
    return run


def turn_handle(qtbot, w):
    w.set_mode("edit")
    select(w, 2)
    _, _, knob = w.canvas.tool.turn_handle()
    drag(w.canvas, knob.toPoint(), at(w, 380, 140), steps=6)


def corner(qtbot, w):
    w.set_mode("edit")
    select(w, 2)
    x, y = w.session.shapes[2].points[2]
    drag(w.canvas, at(w, x, y), at(w, x + 15, y + 12))


def move_and_nudge(qtbot, w):
    w.set_mode("edit")
    select(w, 3)
    key(qtbot, w, Qt.Key_Right, Qt.ShiftModifier)


def reprompt(qtbot, w):
    select(w, 0)
    key(qtbot, w, Qt.Key_R, Qt.ControlModifier)
    w.ai.add_point(100, 100, True)
    qtbot.waitUntil(lambda: w.ai.result is not None and w.ai.result.version == w.ai.version)
    key(qtbot, w, Qt.Key_F)
    qtbot.waitUntil(lambda: w.session.assist.reprompting is None)


def draw(mode, points, closing=None):
    def run(qtbot, w):
        n = len(w.session.shapes)
        w.set_mode(mode)
        answer_label(qtbot, w, mode)
        if len(points) == 2 and closing is None:
            drag(w.canvas, at(w, *points[0]), at(w, *points[1]))
        else:
            for p in points:
                qtbot.mouseClick(w.canvas, Qt.LeftButton, pos=at(w, *p))
        if closing is not None:
            qtbot.keyClick(w.canvas, closing)
        qtbot.waitUntil(lambda: len(w.session.shapes) == n + 1)
    return run


def label_details(qtbot, w):
    select(w, 1)

    def act(dialog):
        dialog.edit.setText("bee")
        dialog.details.flag_boxes["occluded"].setChecked(True)
        dialog.accept()

    when_dialog(qtbot, lambda: w.label_dialog, act)
    key(qtbot, w, Qt.Key_E, Qt.ControlModifier)
    qtbot.waitUntil(lambda: w.session.shapes[1].label == "bee")


def keep_candidate(qtbot, w):
    key(qtbot, w, Qt.Key_G, Qt.ControlModifier)
    qtbot.waitUntil(lambda: bool(w.session.assist.candidates) and w.everything.layer.shown)
    answer_label(qtbot, w, "kept")
    qtbot.mouseClick(w.canvas, Qt.LeftButton, pos=at(w, 430, 240))
    qtbot.waitUntil(lambda: len(w.session.shapes) == 5)


def checked(qtbot, w):
    key(qtbot, w, Qt.Key_K)


def image_tag(qtbot, w):
    w.image_details.new_tag.setText("blurry")
    w.image_details.new_tag.returnPressed.emit()


EDITS = {
    "brush": brush, "eraser": eraser, "union": boolean(Qt.Key_U), "subtract": boolean(Qt.Key_Minus),
    "intersect": boolean(Qt.Key_I), "to mask": to_mask, "to polygons": to_polygons, "turn X": turn(Qt.Key_X),
    "turn Z": turn(Qt.Key_Z), "turn handle": turn_handle, "rotated corner": corner, "nudge": move_and_nudge,
    "re-prompt": reprompt, "point": draw("point", [(480, 40)]), "line": draw("line", [(420, 40), (480, 80)]),
    "line strip": draw("linestrip", [(420, 200), (460, 240), (500, 200)], Qt.Key_Return),
    "circle": draw("circle", [(450, 300), (470, 320)]), "rotated rectangle": draw("rotation", [(250, 250), (300, 290)]),
    "label details": label_details, "keep a candidate": keep_candidate, "checked": checked, "image tag": image_tag,
}


@pytest.mark.parametrize("name", list(EDITS))
def test_each_edit_is_undone_and_redone_exactly(win, qtbot, name):
    w = win
    before = state(w)
    EDITS[name](qtbot, w)
    after = state(w)
    assert after != before, f"{name} changed nothing"
    w.set_mode("ai")  # no tool holds anything: Ctrl+Z is the edit's
    key(qtbot, w, Qt.Key_Z, Qt.ControlModifier)
    assert state(w) == before, f"Ctrl+Z after {name} did not give back the annotation as it was"
    assert not w.session.dirty
    key(qtbot, w, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert state(w) == after, f"Ctrl+Shift+Z after {name} did not give the edit back"


def test_files_saved_after_brush_boolean_and_rotation_edits_open_in_labelme(win, qtbot):
    """Ctrl+S after brush / eraser strokes (a mask with a hole), a union, a subtraction and a turn: labelme's
    own LabelFile reads every shape, and its masks (a PNG crop placed at the first point) are our pixels."""
    label_file = pytest.importorskip("labelme._label_file")
    from anylabel.geometry import rle_decode

    w = win
    brush(qtbot, w)  # shape a: painted beyond its right edge -> a mask shape
    select(w, 0)
    key(qtbot, w, Qt.Key_E)
    w.session.view.brush_radius = 6.0
    stroke(w, (90, 90), (100, 90))  # a hole in it
    boolean(Qt.Key_Minus)(qtbot, w)  # b cut out of a: still a mask (it has a hole)
    select(w, 1, 3)
    key(qtbot, w, Qt.Key_U, Qt.ControlModifier | Qt.ShiftModifier)  # b and the mask m: one mask shape
    turn_handle(qtbot, w)
    key(qtbot, w, Qt.Key_S, Qt.ControlModifier)
    path = w.session.folder.annotation_path(w.session.row)
    assert not w.session.dirty and path.exists()
    ours = w.session.shapes
    theirs = label_file.LabelFile(str(path)).shapes
    assert [s["shape_type"] for s in theirs] == [s.shape_type for s in ours]
    assert {s.shape_type for s in ours} >= {"mask", "rotation"}
    h, wd = w.session.image.shape[:2]
    for mine, their in zip(ours, theirs):
        assert their["label"] == mine.label and their["points"] == [list(p) for p in mine.points]
        if mine.shape_type != "mask":
            continue
        full = np.zeros((h, wd), bool)
        (x1, y1), (x2, y2) = (int(v) for v in their["points"][0]), (int(v) for v in their["points"][1])
        assert their["mask"].shape == (y2 - y1 + 1, x2 - x1 + 1)  # labelme's bbox-extent rule
        full[y1:y2 + 1, x1:x2 + 1] = their["mask"]
        np.testing.assert_array_equal(full, rle_decode(mine.mask))
    holed = rle_decode(ours[0].mask)
    assert ours[0].shape_type == "mask" and not holed[90, 95] and holed[60, 60] and holed[60, 185]
