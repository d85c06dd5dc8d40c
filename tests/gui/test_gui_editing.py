"""Manual tools and editing through the real window: polygon, rectangle, edit mode, labels, clipboard."""
from __future__ import annotations

import pytest
from gui_fakes import DiskSegmenter
from gui_testutil import answer_label, drag
from PyQt5 import QtWidgets
from PyQt5.QtCore import QPoint, Qt

from anylabel.document import Shape

pytestmark = pytest.mark.gui


def at(window, x, y) -> QPoint:
    p = window.canvas.to_widget(x, y)
    return QPoint(round(p.x()), round(p.y()))


def settle(qtbot, window):
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is window)


@pytest.fixture
def win(make_window, image_dir, qtbot):
    w = make_window({"disk": DiskSegmenter})
    w.open_path(str(image_dir))
    w.canvas.set_zoom(1.0)  # 1 screen pixel = 1 image pixel: exact coordinates
    w.canvas.offset = w.canvas.offset * 0  # image at the top-left
    return w


def add_square(w, label="box", x=50, y=50, size=100):
    pts = [(x, y), (x + size, y), (x + size, y + size), (x, y + size)]
    w.history.add([Shape(label, pts)])


def test_polygon_tool_draws_a_labeled_polygon(win, qtbot):
    w = win
    qtbot.keyClick(w.canvas, Qt.Key_P)
    assert w.canvas.mode == "polygon"
    for x, y in [(20, 20), (120, 20), (120, 90)]:
        qtbot.mouseClick(w.canvas, Qt.LeftButton, pos=at(w, x, y))
    qtbot.mouseClick(w.canvas, Qt.LeftButton, pos=at(w, 60, 120))
    qtbot.keyClick(w.canvas, Qt.Key_Backspace)  # removes the last vertex, not a shape
    qtbot.mouseClick(w.canvas, Qt.LeftButton, pos=at(w, 20, 90))
    answer_label(qtbot, w, "road")
    qtbot.mouseClick(w.canvas, Qt.LeftButton, pos=at(w, 20, 20))  # click on the first vertex closes it
    qtbot.waitUntil(lambda: len(w.annotation.shapes) == 1)
    (shape,) = w.annotation.shapes
    assert shape.label == "road" and shape.shape_type == "polygon"
    assert [tuple(round(v) for v in p) for p in shape.points] == [(20, 20), (120, 20), (120, 90), (20, 90)]
    assert "road" in w.label_list.item(0).text() and "1" in w.label_list.item(0).text()


def test_rectangle_tool(win, qtbot):
    w = win
    qtbot.keyClick(w.canvas, Qt.Key_R)
    answer_label(qtbot, w, "sign")
    drag(w.canvas, at(w, 30, 40), at(w, 130, 90))
    qtbot.waitUntil(lambda: len(w.annotation.shapes) == 1)
    s = w.annotation.shapes[0]
    assert s.shape_type == "rectangle" and s.label == "sign"
    (x1, y1), (x2, y2) = s.points
    assert (round(x1), round(y1), round(x2), round(y2)) == (30, 40, 130, 90)


def test_edit_select_move_delete_undo(win, qtbot):
    w = win
    add_square(w)
    qtbot.keyClick(w.canvas, Qt.Key_J, Qt.ControlModifier)
    assert w.canvas.mode == "edit"
    drag(w.canvas, at(w, 100, 100), at(w, 130, 110))  # grab inside, move by (30, 10)
    assert w.canvas.selected == {0}
    assert [tuple(round(v) for v in p) for p in w.annotation.shapes[0].points][0] == (80, 60)
    assert w.shape_list.item(0).isSelected()
    qtbot.keyClick(w.canvas, Qt.Key_Delete)
    assert w.annotation.shapes == []
    qtbot.keyClick(w.canvas, Qt.Key_Z, Qt.ControlModifier)
    assert len(w.annotation.shapes) == 1
    qtbot.keyClick(w.canvas, Qt.Key_Z, Qt.ControlModifier)
    assert w.annotation.shapes[0].points[0] == (50.0, 50.0)


def test_edit_vertices_move_add_delete(win, qtbot):
    w = win
    add_square(w)
    w.set_mode("edit")
    drag(w.canvas, at(w, 150, 150), at(w, 170, 160))  # drag the bottom-right vertex
    assert (170.0, 160.0) in [tuple(round(v) for v in p) for p in w.annotation.shapes[0].points]
    # hovering the middle of the top edge of the selected square offers a new vertex there
    w.canvas.set_selection({0})
    drag(w.canvas, at(w, 100, 50), at(w, 100, 30))
    pts = [tuple(round(v) for v in p) for p in w.annotation.shapes[0].points]
    assert len(pts) == 5 and pts[1] == (100, 30)
    # right-click on a vertex deletes it
    qtbot.mouseMove(w.canvas, at(w, 100, 30))
    w.canvas.tool._update_hover(100, 30)
    qtbot.mouseClick(w.canvas, Qt.RightButton, pos=at(w, 100, 30))
    assert len(w.annotation.shapes[0].points) == 4
    assert w.history.undo_text == "delete vertex"


def test_change_label_copy_paste(win, qtbot):
    w = win
    add_square(w, "cat")
    w.set_mode("edit")
    w.canvas.set_selection({0})
    answer_label(qtbot, w, "dog")
    qtbot.keyClick(w.canvas, Qt.Key_E, Qt.ControlModifier)
    qtbot.waitUntil(lambda: w.annotation.shapes[0].label == "dog")
    settle(qtbot, w)
    qtbot.keyClick(w.canvas, Qt.Key_C, Qt.ControlModifier)
    w.save()
    assert w.load_row(1)
    qtbot.keyClick(w.canvas, Qt.Key_V, Qt.ControlModifier)
    assert [s.label for s in w.annotation.shapes] == ["dog"]
    assert w.annotation.shapes[0].points[0] == (50.0, 50.0)


def test_visibility_toggles_hide_shapes(win, qtbot):
    w = win
    add_square(w, "a")
    add_square(w, "b", x=200)
    item = w.shape_list.item(0)
    item.setCheckState(Qt.Unchecked)
    assert w.canvas.hidden == {0} and w.canvas.visible_indices() == [1]
    assert w.canvas.shape_index_at(100, 100) is None  # a hidden shape cannot be picked
    items = [w.label_list.item(i) for i in range(w.label_list.count())]
    label_item = next(item for item in items if item.data(Qt.UserRole) == "b")
    label_item.setCheckState(Qt.Unchecked)
    assert w.canvas.visible_indices() == []


def test_configured_shortcut_replaces_the_default(make_window, image_dir, qtbot):
    from anylabel.config import Config

    cfg = Config()
    cfg.shortcuts["finish_object"] = ["Return"]
    w = make_window({"disk": DiskSegmenter}, config=cfg)
    assert [s.toString() for s in w.actions_["finish_object"].shortcuts()] == ["Return"]
    w.open_path(str(image_dir))
    w.ai.add_point(100, 100, True)
    qtbot.waitUntil(lambda: w.ai.result is not None and w.ai.result.version == w.ai.version)
    qtbot.keyClick(w.canvas, Qt.Key_F)
    assert w.label_dialog is None and w.annotation.shapes == []
    answer_label(qtbot, w, "x")
    qtbot.keyClick(w.canvas, Qt.Key_Return)
    qtbot.waitUntil(lambda: len(w.annotation.shapes) == 1)


def test_shortcuts_dialog_lists_every_action(make_window, qtbot):
    from anylabel.config import SHORTCUTS
    from anylabel.gui.dialogs.label import ShortcutsDialog

    w = make_window()
    d = ShortcutsDialog(w, w.config)
    names = {d.table.item(r, 0).text() for r in range(d.table.rowCount())}
    assert {a.replace("_", " ") for a in SHORTCUTS} <= names
    keys = {d.table.item(r, 0).text(): d.table.item(r, 1).text() for r in range(d.table.rowCount())}
    assert keys["redo"] == "Ctrl+Shift+Z, Ctrl+Y" and keys["finish object"] == "F"


def test_label_suggestions_prefill_and_auto_accept(make_window, image_dir, qtbot):
    from anylabel.config import Config

    w = make_window({"disk": DiskSegmenter}, config=Config(auto_accept_confidence=0.9))
    w.open_path(str(image_dir))
    votes = {"conf": 0.6}
    w.suggestion_providers.append(("SSA vote", lambda image, mask: [("car", votes["conf"]), ("bus", 0.2)]))
    w.ai.add_point(100, 100, True)
    qtbot.waitUntil(lambda: w.ai.result is not None and w.ai.result.version == w.ai.version)
    seen = {}

    def check(dialog):
        seen["text"] = dialog.edit.text()
        seen["buttons"] = [b.text() for b in dialog.suggestion_buttons]
        dialog.accept()

    from gui_testutil import when_dialog

    when_dialog(qtbot, lambda: w.label_dialog, check)
    w.ai.finish()
    qtbot.waitUntil(lambda: len(w.annotation.shapes) == 1)
    assert seen["text"] == "car" and seen["buttons"][0].startswith("car") and "60%" in seen["buttons"][0]
    import numpy as np

    assert w.label_suggestions(np.ones(w.image.shape[:2], bool)) == [("car", 0.6), ("bus", 0.2)]
    votes["conf"] = 0.95  # above the threshold: accepted without a dialog
    w.ai.add_point(300, 200, True)
    qtbot.waitUntil(lambda: w.ai.result is not None and w.ai.result.version == w.ai.version)
    w.ai.finish()
    assert [s.label for s in w.annotation.shapes] == ["car", "car"]


def test_the_labels_dock_counts_an_objects_parts_once_on_images_too(win, qtbot):
    """Before: outside video mode the dock counted polygons, so one AI object of 3 parts (one group) was
    "truck 3"; the video mode alone had swapped in the instance count."""
    parts = [Shape("truck", [(x, 10), (x + 20, 10), (x + 20, 30)], group_id=1) for x in (10, 50, 90)]
    boxes = [Shape("box", [(x, 60), (x + 30, 60), (x + 30, 90)]) for x in (10, 60)]  # no group: two instances
    win.history.add(parts + boxes)
    texts = [win.label_list.item(i).text() for i in range(win.label_list.count())]
    assert [t.split() for t in texts] == [["box", "2"], ["truck", "1"]]
