"""Ctrl+Shift+Z brings back an AI click that Ctrl+Z removed (the prompt set has undo and redo; the set itself
is tested in tests/session/test_session_prompts.py)."""
from __future__ import annotations

from gui_fakes import DiskSegmenter
from PyQt5.QtCore import Qt
from test_gui_ai_workflow import click, finish, wait_preview


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
    assert [p.positive for p in w.canvas.prompt_points] == [True, False]  # both drawn again
    assert w.annotation.shapes == []  # the redo went to the prompts, not to the shapes
    # after a shape's undo, redo restores that shape (not older clicks)
    finish(qtbot, w, "truck")
    qtbot.keyClick(w.canvas, Qt.Key_Z, Qt.ControlModifier)
    assert w.annotation.shapes == []
    qtbot.keyClick(w.canvas, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert [s.label for s in w.annotation.shapes] == ["truck"] and not w.ai.has_prompts
