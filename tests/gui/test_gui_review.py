"""Review in the real window (issue 15 GUI part B): K marks the image checked (toggles, undoable), Shift+D /
Shift+A go to the next / previous unchecked image, the file list shows check marks, statistics count them."""
from __future__ import annotations

import json

import pytest
from gui_fakes import DiskSegmenter
from PyQt5 import QtWidgets
from PyQt5.QtCore import Qt

from anylabel.config import Config

pytestmark = pytest.mark.gui


def icon_key(w, row):
    return w.file_list.model.data(w.file_list.model.index(row), Qt.DecorationRole).cacheKey()


def tooltip(w, row):
    return w.file_list.model.data(w.file_list.model.index(row), Qt.ToolTipRole)


def test_k_checks_shift_d_skips_checked_images_and_the_list_shows_it(make_window, image_dir, qtbot):
    # img3 (row 2) was checked earlier, in a file another tool wrote compactly (no indentation)
    (image_dir / "img3.json").write_text(json.dumps({"version": "5.0", "flags": {}, "shapes": [], "imagePath":
                                                     "img3.jpg", "imageData": None, "imageHeight": 1,
                                                     "imageWidth": 1, "checked": True}))
    w = make_window({"disk": DiskSegmenter}, config=Config(autosave=True))
    w.open_path(str(image_dir))  # IMG1, img2, img3, img10
    assert w.row == 0
    model = w.file_list.model
    checked_icon = model._checked.cacheKey()
    assert icon_key(w, 2) == checked_icon and "checked (reviewed)" in tooltip(w, 2)
    assert icon_key(w, 0) != checked_icon and "not checked" in tooltip(w, 0)
    action = w.actions_["toggle_checked"]
    assert not action.isChecked()
    qtbot.keyClick(w.canvas, Qt.Key_K)
    assert w.annotation.checked and w.history.dirty and action.isChecked()
    assert w.file_list.model.is_checked(0)
    qtbot.keyClick(w.canvas, Qt.Key_D, Qt.ShiftModifier)  # next unchecked: img2 (autosave keeps the mark)
    assert w.row == 1 and not action.isChecked()
    assert json.loads((image_dir / "IMG1.json").read_text())["checked"] is True
    assert icon_key(w, 0) == checked_icon
    qtbot.keyClick(w.canvas, Qt.Key_D, Qt.ShiftModifier)  # img3 is checked: skipped to img10
    assert w.row == 3
    qtbot.keyClick(w.canvas, Qt.Key_A, Qt.ShiftModifier)  # previous unchecked: img2 (img3 skipped again)
    assert w.row == 1
    qtbot.keyClick(w.canvas, Qt.Key_K)
    qtbot.keyClick(w.canvas, Qt.Key_K)  # a toggle: not checked again
    assert not w.annotation.checked
    qtbot.keyClick(w.canvas, Qt.Key_K)
    assert w.annotation.checked and icon_key(w, 1) == model._checked_dirty.cacheKey()  # orange: not saved yet
    qtbot.waitUntil(lambda: not w.history.dirty)  # autosave
    assert icon_key(w, 1) == checked_icon
    qtbot.keyClick(w.canvas, Qt.Key_Z, Qt.ControlModifier)  # undoable like any edit
    assert not w.annotation.checked and icon_key(w, 1) != checked_icon
    qtbot.keyClick(w.canvas, Qt.Key_K)
    assert w.session.review.count_checked() == 3
    qtbot.keyClick(w.canvas, Qt.Key_D, Qt.ShiftModifier)
    assert w.row == 3
    qtbot.keyClick(w.canvas, Qt.Key_K)
    qtbot.keyClick(w.canvas, Qt.Key_D, Qt.ShiftModifier)  # every other image is checked: stays
    assert w.row == 3 and "checked" in w.statusBar().currentMessage()
    assert w.save()
    # File → Statistics counts them
    w.open_stats()
    dialog = w.stats_dialog
    qtbot.waitUntil(lambda: dialog.stats is not None, timeout=20000)
    assert dialog.stats.checked == 4
    assert "4 of 4 images checked" in dialog.summary.text()
    dialog.close()


def test_review_keys_are_listed_in_help_shortcuts(make_window):
    from anylabel.gui.dialogs.label import ShortcutsDialog

    w = make_window()
    dialog = ShortcutsDialog(w, w.config)
    rows = {dialog.table.item(r, 0).text(): dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())}
    assert rows["toggle checked"] == "K" and rows["next unchecked"] == "Shift+D"
    assert rows["prev unchecked"] == "Shift+A" and rows["everything"] == "Ctrl+G"
    assert rows["view adjust"] == "Ctrl+Shift+B"
    assert rows["detail finer"] == "Alt+=" and rows["detail coarser"] == "Alt+-"
    dialog.deleteLater()
    assert isinstance(w.docks["image"], QtWidgets.QDockWidget)
