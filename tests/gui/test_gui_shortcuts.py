"""Help → Shortcuts (sections, filter) and the keys themselves: no two window-wide actions share a key, no
action takes a key the canvas needs, and a drawing tool keeps Enter / Esc even when an action is bound to them."""
from __future__ import annotations

import pytest
from gui_fakes import DiskSegmenter
from gui_testutil import answer_label
from PyQt5 import QtGui, QtWidgets
from PyQt5.QtCore import QPoint, Qt

from anylabel.config import SHORTCUT_GROUPS, SHORTCUTS, Config
from anylabel.gui.dialogs.shortcuts import ShortcutsDialog, shortcut_clashes

pytestmark = pytest.mark.gui
#: keys the canvas handles itself (pan, cancel, close a polygon / line strip, nudge): no window action may take
#: them by default, or the shortcut would swallow them
CANVAS_KEYS = ("Space", "Esc", "Return", "Enter", "Left", "Right", "Up", "Down", "Shift+Left", "Shift+Right",
               "Shift+Up", "Shift+Down")


def test_no_two_window_actions_share_a_key_and_none_takes_a_canvas_key(make_window):
    w = make_window()  # with every default feature (find box, video, export ...) attached
    actions = [a for a in w.actions() if a.shortcutContext() in (Qt.WindowShortcut, Qt.ApplicationShortcut)]
    assert len(actions) >= len(SHORTCUTS)
    assert shortcut_clashes(actions) == {}
    keys = {s.toString(QtGui.QKeySequence.PortableText) for a in actions for s in a.shortcuts()}
    taken = {k for k in CANVAS_KEYS if QtGui.QKeySequence(k).toString(QtGui.QKeySequence.PortableText) in keys}
    assert not taken, f"window actions take keys the canvas needs: {taken}"
    # the check itself: one key written two ways is found
    w.actions_["rotate_left"].setShortcuts([QtGui.QKeySequence("Shift+Ctrl+U")])
    (owners,) = shortcut_clashes(actions).values()
    assert sorted(owners) == sorted(w.actions_[a].text().replace("&", "") for a in ("union_shapes", "rotate_left"))


def test_help_shortcuts_shows_every_section_and_filters(make_window):
    w = make_window()
    d = ShortcutsDialog(w, w.config)
    titles = [d.table.item(r, 0).text() for r in d.titles]
    assert titles == list(SHORTCUT_GROUPS) + ["Mouse"]
    rows = d.rows()
    assert {a.replace("_", " ") for a in SHORTCUTS} <= set(rows)
    assert rows["reprompt shape"] == "Ctrl+R" and rows["brush smaller"] == "[" and rows["rotate right"] == "X"
    d.filter.setText("brush")
    shown = d.rows()
    assert {"brush mode", "brush smaller", "brush larger"} <= set(shown) and "save" not in shown
    assert "Drag / right-drag" in shown.values()  # the mouse row of the brush
    visible_titles = [d.table.item(r, 0).text() for r in d.titles if not d.table.isRowHidden(r)]
    assert visible_titles == ["Mask and shape editing", "Mouse"]
    d.filter.setText("ctrl+r")
    assert set(d.rows()) == {"reprompt shape"}
    d.filter.setText("")
    assert d.rows() == rows
    d.deleteLater()


def test_enter_ends_a_line_strip_even_when_an_action_is_bound_to_it(make_window, image_dir, qtbot):
    """``shortcuts: {finish_object: Return}`` (the README's example) must not take Enter from a line strip or a
    polygon being drawn: the canvas claims Enter and Esc while a shape is half drawn."""
    cfg = Config()
    cfg.shortcuts["finish_object"] = ["Return"]
    w = make_window({"disk": DiskSegmenter}, config=cfg)
    w.open_path(str(image_dir))
    c = w.canvas
    w.set_mode("linestrip")
    for x, y in ((50, 50), (120, 80), (200, 50)):
        p = c.to_widget(x, y)
        qtbot.mouseClick(c, Qt.LeftButton, pos=QPoint(round(p.x()), round(p.y())))
    answer_label(qtbot, w, "wire")
    qtbot.keyClick(c, Qt.Key_Return)
    qtbot.waitUntil(lambda: len(w.session.shapes) == 1)
    assert w.session.shapes[0].shape_type == "linestrip" and len(w.session.shapes[0].points) == 3
    w.set_mode("ai")  # nothing half drawn: Return is finish_object again
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is w)  # after the dialog
    qtbot.keyClick(c, Qt.Key_Return)
    assert "Nothing to finish" in w.statusBar().currentMessage()
