"""Ctrl+Shift+Z brings back an AI click that Ctrl+Z removed (the prompt set has undo and redo)."""
from __future__ import annotations

from gui_fakes import DiskSegmenter
from PyQt5.QtCore import Qt
from test_gui_ai_workflow import click, finish, wait_preview

from anylabel.document.prompts import PromptSet


def test_prompt_set_undo_redo_and_box_replacement():
    p = PromptSet()
    p.add_point(1, 2, True)
    p.add_box((0, 0, 10, 10), False)
    assert p.add_box((5, 5, 20, 20), False)  # replaces the positive box
    assert p.items == [("point", 1.0, 2.0, True), ("box", (5.0, 5.0, 20.0, 20.0), False)]
    assert p.undo() and p.items[-1] == ("box", (0.0, 0.0, 10.0, 10.0), False)  # the old box is back
    assert p.undo() and p.items == [("point", 1.0, 2.0, True)]
    assert p.redo() and p.redo() and p.items[-1][1] == (5.0, 5.0, 20.0, 20.0)
    assert not p.redo()
    p.undo()
    p.add_point(3, 3, False)  # a new prompt after an undo: nothing to redo
    assert not p.can_redo and len(p) == 3
    p.clear()
    assert not p and not p.undo() and not p.redo()


def test_ctrl_shift_z_brings_back_a_click(make_window, image_dir, qtbot):
    w = make_window({"disk": DiskSegmenter})
    w.open_path(str(image_dir))
    h, wd = w.image.shape[:2]
    click(qtbot, w, wd / 2, h / 2)
    click(qtbot, w, wd / 2 + 30, h / 2, Qt.RightButton)
    wait_preview(qtbot, w)
    qtbot.keyClick(w.canvas, Qt.Key_Z, Qt.ControlModifier)
    assert w.ai.result is None or w.ai.result.version != w.ai.version
    assert wait_preview(qtbot, w) is not None and w.ai.result.prompt.labels.tolist() == [1]
    assert w.actions_["redo"].isEnabled()
    qtbot.keyClick(w.canvas, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    wait_preview(qtbot, w)
    assert w.ai.result.prompt.labels.tolist() == [1, 0]  # the negative click is back (was: nothing happened)
    assert [p[2] for p in w.canvas.prompt_points] == [True, False]  # both drawn again
    assert w.annotation.shapes == []  # the redo went to the prompts, not to the shapes
    # after a shape's undo, redo restores that shape (not older clicks)
    finish(qtbot, w, "truck")
    qtbot.keyClick(w.canvas, Qt.Key_Z, Qt.ControlModifier)
    assert w.annotation.shapes == []
    qtbot.keyClick(w.canvas, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert [s.label for s in w.annotation.shapes] == ["truck"] and not w.ai.has_prompts
