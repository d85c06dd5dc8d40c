"""Helpers for the GUI tests: answer modal dialogs through the real widgets, drag with the button held.
(A uniquely named module, not conftest: test folders share one import namespace.)"""
from __future__ import annotations

from typing import Callable, Optional

from PyQt5 import QtCore, QtWidgets


def when_dialog(qtbot, get: Callable[[], Optional[QtWidgets.QWidget]], act: Callable[[QtWidgets.QWidget], None],
                timeout_ms: int = 10000) -> QtCore.QTimer:
    """Poll for a modal dialog (``get()`` returns it once open) and run ``act`` on it inside its event loop."""
    timer = QtCore.QTimer()
    timer.setInterval(10)
    state = {"left": timeout_ms // 10}

    def tick() -> None:
        dialog = get()
        state["left"] -= 1
        if dialog is not None and dialog.isVisible():
            timer.stop()
            act(dialog)
        elif state["left"] <= 0:
            timer.stop()

    timer.timeout.connect(tick)
    timer.start()
    qtbot._anylabel_timers = getattr(qtbot, "_anylabel_timers", []) + [timer]  # keep it alive
    return timer


def answer_label(qtbot, window, label: str) -> QtCore.QTimer:
    """Type ``label`` into the next label dialog and accept it."""

    def act(dialog) -> None:
        dialog.edit.setText(label)
        dialog.accept()

    return when_dialog(qtbot, lambda: window.label_dialog, act)


def answer_message_box(qtbot, button_text: str) -> QtCore.QTimer:
    """Click the button called ``button_text`` in the next modal message box."""

    def get():
        w = QtWidgets.QApplication.activeModalWidget()
        return w if isinstance(w, QtWidgets.QMessageBox) else None

    def act(box) -> None:
        for b in box.buttons():
            if b.text().replace("&", "") == button_text:
                b.click()
                return
        raise AssertionError(f"no button {button_text!r} in {[b.text() for b in box.buttons()]}")

    return when_dialog(qtbot, get, act)


def drag(widget, a, b, modifier=QtCore.Qt.NoModifier, button=QtCore.Qt.LeftButton, steps: int = 4) -> None:
    """Press at ``a``, move to ``b`` in steps with the button held, release (QTest's mouseMove does not
    carry the pressed button in Qt 5)."""
    from PyQt5 import QtGui
    from PyQt5.QtTest import QTest

    a, b = QtCore.QPointF(a), QtCore.QPointF(b)
    QTest.mousePress(widget, button, modifier, a.toPoint())
    for k in range(1, steps + 1):
        pos = a + (b - a) * (k / steps)
        ev = QtGui.QMouseEvent(QtCore.QEvent.MouseMove, pos, button, button, modifier)
        QtWidgets.QApplication.sendEvent(widget, ev)
    QTest.mouseRelease(widget, button, modifier, b.toPoint())
