"""Hidden and selected shapes are remembered by their stable ids, not by list positions (issue 14).

Before: ``canvas.hidden`` / ``selected`` were index sets trimmed but never remapped, so deleting a shape in
front of a hidden one hid its neighbour instead."""
from __future__ import annotations

import pytest
from gui_fakes import DiskSegmenter
from PyQt5.QtCore import Qt

from anylabel.document import Shape

pytestmark = pytest.mark.gui


def _square(label: str, x: float) -> Shape:
    return Shape(label, [(x, 10), (x + 40, 10), (x + 40, 50), (x, 50)])


@pytest.fixture
def win(make_window, image_dir):
    w = make_window({"disk": DiskSegmenter})
    w.open_path(str(image_dir))
    w.history.add([_square("a", 10), _square("b", 60), _square("c", 110)])
    return w


def test_deleting_a_shape_in_front_of_a_hidden_one_keeps_the_right_one_hidden(win, qtbot):
    w = win
    w.shape_list.item(1).setCheckState(Qt.Unchecked)  # hide "b"
    assert [w.annotation.shapes[i].label for i in w.canvas.visible_indices()] == ["a", "c"]
    w.canvas.set_selection({0})
    w.delete_selected()  # delete "a": "b" moves to index 0, "c" to index 1
    assert [s.label for s in w.annotation.shapes] == ["b", "c"]
    assert [w.annotation.shapes[i].label for i in w.canvas.visible_indices()] == ["c"]  # "b" still hidden
    assert w.shape_list.item(0).checkState() == Qt.Unchecked and w.shape_list.item(1).checkState() == Qt.Checked
    w.undo()  # "a" comes back in front: "b" (index 1 again) stays hidden
    assert [w.annotation.shapes[i].label for i in w.canvas.visible_indices()] == ["a", "c"]


def test_selection_follows_the_shape_when_one_before_it_is_deleted(win, qtbot):
    w = win
    w.canvas.set_selection({2})  # "c"
    w.history.remove([0])  # "a" removed by another path (e.g. a script or the video panel)
    assert [w.annotation.shapes[i].label for i in sorted(w.canvas.selected)] == ["c"]


def test_duplicate_and_drawing_order_from_the_keyboard_undo(win, qtbot):
    w = win
    settle = lambda: qtbot.waitUntil(lambda: w.isActiveWindow())  # noqa: E731 - shortcuts need the window
    settle()
    ids = [s.id for s in w.annotation.shapes]
    w.canvas.set_selection({0})
    qtbot.keyClick(w.canvas, Qt.Key_D, Qt.ControlModifier)
    assert [s.label for s in w.annotation.shapes] == ["a", "b", "c", "a"]
    new = w.annotation.shapes[3]
    assert new.id not in ids and w.canvas.selected == {3} and new.points[0] == (20.0, 20.0)
    w.canvas.set_selection({0})
    qtbot.keyClick(w.canvas, Qt.Key_BracketRight, Qt.ControlModifier)  # "a" drawn on top
    assert [s.id for s in w.annotation.shapes] == [ids[1], ids[2], new.id, ids[0]] and w.canvas.selected == {3}
    w.undo()
    w.undo()
    assert [s.id for s in w.annotation.shapes] == ids
