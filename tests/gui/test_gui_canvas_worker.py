"""Canvas view transform, stale results, model load errors, closing with unsaved changes."""
from __future__ import annotations

import pytest
from gui_fakes import DiskSegmenter, GatedSegmenter
from gui_testutil import answer_message_box
from PyQt5 import QtCore, QtWidgets
from PyQt5.QtCore import QPoint, Qt

pytestmark = pytest.mark.gui


def test_zoom_keeps_the_point_under_the_cursor_and_fit_restores(make_window, image_dir, qtbot):
    w = make_window()
    w.open_path(str(image_dir))
    c = w.canvas
    fit_scale = c.scale
    h, wd = c.image_size
    assert c.scale == pytest.approx(min(c.width() / wd, c.height() / h))
    anchor = QtCore.QPointF(c.width() * 0.3, c.height() * 0.6)
    before = c.to_image(anchor)
    c.zoom_at(3.0, anchor)
    assert c.scale == pytest.approx(fit_scale * 3)
    after = c.to_image(anchor)
    assert after == pytest.approx(before)
    qtbot.keyClick(c, Qt.Key_F, Qt.ControlModifier)  # fit to window
    assert c.scale == pytest.approx(fit_scale)


def test_wheel_zooms_and_middle_drag_pans(make_window, image_dir, qtbot):
    from PyQt5 import QtGui

    w = make_window()
    w.open_path(str(image_dir))
    c = w.canvas
    s0 = c.scale
    pos = QtCore.QPointF(200, 150)
    ev = QtGui.QWheelEvent(pos, c.mapToGlobal(pos.toPoint()), QPoint(0, 0), QPoint(0, 120), Qt.NoButton,
                           Qt.NoModifier, Qt.NoScrollPhase, False)
    QtWidgets.QApplication.sendEvent(c, ev)
    assert c.scale > s0
    ox = c.offset.x()
    from gui_testutil import drag

    drag(c, QPoint(300, 300), QPoint(340, 300), button=Qt.MiddleButton)
    assert c.offset.x() == pytest.approx(ox + 40)
    assert not w.ai.has_prompts  # panning is not a prompt


def test_result_for_a_previous_image_is_discarded(make_window, image_dir, qtbot):
    seg = GatedSegmenter()
    w = make_window({"gated": lambda: seg})
    w.open_path(str(image_dir))
    w.ai.add_point(100, 100, True)
    assert seg.entered.wait(20)
    assert w.load_row(1)  # nothing to save: prompts are not annotations
    with qtbot.waitSignal(w.worker.resultReady, timeout=20000) as blocker:  # the controller sees it first
        seg.gate.set()
    assert blocker.args[0].image_id == str(w.folder.image_path(0))
    assert w.ai.result is None and w.canvas.preview is None  # stale: dropped
    w.ai.add_point(50, 60, True)
    qtbot.waitUntil(lambda: w.ai.result is not None)
    assert w.ai.result.image_id == str(w.folder.image_path(1))


def test_model_that_cannot_load_is_reported(make_window, image_dir, qtbot):
    def broken():
        from anylabel.errors import ModelError

        raise ModelError("checksum mismatch", "/models/sam.pth")

    w = make_window({"broken": broken})
    w.open_path(str(image_dir))
    w.ai.add_point(100, 100, True)
    qtbot.waitUntil(lambda: "Model error" in w.messages and w.messages["Model error"].isVisible())
    assert "cannot load broken" in w.messages["Model error"].text()
    assert "/models/sam.pth: checksum mismatch" in w.messages["Model error"].text()


def test_close_with_unsaved_changes_asks(make_window, image_dir, qtbot):
    from anylabel.document import Shape

    w = make_window({"disk": DiskSegmenter})
    w.open_path(str(image_dir))
    w.history.add([Shape("a", [(1, 1), (20, 1), (20, 20)])])
    answer_message_box(qtbot, "Cancel")
    assert not w.close()
    assert w.isVisible() and w.history.dirty
    answer_message_box(qtbot, "Save")
    assert w.close()
    assert (image_dir / "IMG1.json").exists()
