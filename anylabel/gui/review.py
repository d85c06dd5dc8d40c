"""Review in the window: K marks the shown image checked (toggles), Shift+D / Shift+A go to the next / previous
image that is not checked, the file list shows a check mark on checked images.

The state is the session's: ``session.details.toggle_checked`` (one undo step, saved as X-AnyLabeling's
top-level ``"checked": true``) and ``session.review`` (``next_unchecked``, ``is_checked``: the shown image as in
the session, the others from their LabelMe files, cached by size and mtime). File → Statistics counts the
checked images (:mod:`anylabel.gui.dialogs.stats`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PyQt5 import QtCore

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.main_window import MainWindow
    from anylabel.session import AnnotationSession


class Review(QtCore.QObject):
    """``window.review``: the review actions' slots and the file list's check marks."""

    def __init__(self, window: "MainWindow", session: "AnnotationSession") -> None:
        super().__init__(window)
        self.window, self.session = window, session
        window.file_list.model.checked = self._checked
        session.shapes_changed.connect(lambda _event: self._refresh_current())  # K, its undo and redo
        session.saved.connect(lambda _path: self._refresh_current())
        session.image_changed.connect(self._sync_action)

    def _checked(self, row: int) -> bool:
        s = self.session
        return s.folder is not None and 0 <= row < len(s.folder) and s.review.is_checked(row)

    def _refresh_current(self) -> None:
        self.window.file_list.model.refresh_row(self.session.row)
        self._sync_action()

    def _sync_action(self) -> None:
        """The Mark checked action (menu, bottom tool bar) shows the shown image's state."""
        action = getattr(self.window, "actions_", {}).get("toggle_checked")
        if action is not None:
            ann = self.session.annotation
            action.setCheckable(True)
            action.setChecked(bool(ann is not None and ann.checked))

    def _status(self, text: str, ms: int = 3000) -> None:
        self.window.statusBar().showMessage(text, ms)

    def toggle_checked(self) -> None:
        """K: the shown image is checked (reviewed) or not any more."""
        if self.session.annotation is None:
            self._status("Open an image first")
            return
        on = self.session.details.toggle_checked()
        keys = ", ".join(self.window.config.shortcut("next_unchecked"))
        self._status("✓ Checked" + (f" ({keys}: next unchecked image)" if keys else "") if on else "Not checked")

    def go_unchecked(self, backwards: bool = False) -> bool:
        """Shift+D / Shift+A: show the next (previous) unchecked image, wrapping around; False when there is
        none or the user stayed (unsaved changes)."""
        s = self.session
        if s.folder is None:
            self._status("Open a folder first")
            return False
        row = s.review.next_unchecked(backwards=backwards)
        if row is None:
            self._status(f"Every {'other ' if s.row is not None else ''}image is checked", 5000)
            return False
        return self.window.load_row(row)

    def next_unchecked(self) -> bool:
        return self.go_unchecked(False)

    def prev_unchecked(self) -> bool:
        return self.go_unchecked(True)
