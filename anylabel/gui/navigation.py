"""Opening, moving between and saving images: the window's dialogs around the session's open / load / save.

Nothing is lost silently: leaving an image with unsaved changes saves it (autosave) or asks Save /
Discard / Cancel; a file that cannot be read is reported and never overwritten; saves are atomic, under the
file's lock, and a file another program changed is not overwritten without asking (the safety rules are
the session's and :mod:`anylabel.session.folder`'s; this object only asks the questions).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt5 import QtCore, QtWidgets

from anylabel.errors import AnylabelError
from anylabel.session import AnnotationSession, ChangedOnDiskError
from anylabel.session.folder import display_name

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.main_window import MainWindow

log = logging.getLogger(__name__)
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")


class Navigation:
    """Open / next / previous / save of one window (``window.navigation``)."""

    def __init__(self, window: "MainWindow", session: AnnotationSession) -> None:
        self.window = window
        self.session = session
        self.autosave_timer = QtCore.QTimer(window, singleShot=True, interval=800, timeout=self.autosave_now)

    def _status(self, text: str, ms: int = 4000) -> None:
        self.window.statusBar().showMessage(text, ms)

    # -------------------------------------------------------------------------------- opening
    def open_path(self, path: str) -> bool:
        """Open an image, a folder, a LabelMe JSON (or a video, through the video panel)."""
        w, s = self.window, self.session
        if Path(path).suffix.lower() in VIDEO_EXTENSIONS:
            return w.open_video(path)
        if not self.maybe_leave():
            return False
        s.output_dir = w.output_dir
        try:
            row = s.open(path)
        except AnylabelError as e:
            w.warn(str(e), "Cannot open")
            return False
        w.file_list.set_folder(s.folder)
        if not len(s.folder):
            self._status(f"No images in {display_name(s.folder.folder)}", 5000)
            return False
        return self.load_row(row, ask=False)

    def load_row(self, row: int, ask: bool = True) -> bool:
        """Show image ``row`` of the folder; asks about unsaved changes first (unless ``ask`` is False)."""
        w, s = self.window, self.session
        if s.folder is None or not 0 <= row < len(s.folder):
            return False
        if row == s.row:
            return True
        if ask and not self.maybe_leave():
            w.file_list.select_row(s.row) if s.row is not None else None
            return False
        try:
            notes = s.load(row)  # decoded already when the user moves to a neighbour (the read-ahead)
        except AnylabelError as e:
            w.warn(str(e), "Cannot open the image")
            if s.row is not None:
                w.file_list.select_row(s.row)
            return False
        for note in notes:
            self._status(note, 6000)
        w.file_list.select_row(row)
        w.file_list.model.set_dirty(None)
        w.file_list.update_progress(row, -1)
        # the images Next / Prev will show: decoded off the GUI thread while this one is annotated; queued
        # before the embedding prefetch, which then waits for these decodes instead of decoding again
        neighbours = [r for r in (row + 1, row - 1) if 0 <= r < len(s.folder)]
        if hasattr(s.folder, "prefetch"):  # a video's frames: decoded ahead from the video itself
            s.folder.prefetch(neighbours)
        else:
            w.readahead.prefetch([s.folder.image_path(r) for r in neighbours])
        w.prefetch_embeddings()
        w.imageLoaded.emit(str(s.folder.image_path(row)))
        return True

    def next_image(self) -> None:
        s = self.session
        if s.folder is not None and s.row is not None and s.row + 1 < len(s.folder):
            self.load_row(s.row + 1)

    def prev_image(self) -> None:
        s = self.session
        if s.folder is not None and s.row is not None and s.row > 0:
            self.load_row(s.row - 1)

    def open_file_dialog(self) -> None:
        folder = self.session.folder
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self.window, "Open", str(folder.folder) if folder else "",
            "Images, LabelMe JSON and videos (*.jpg *.jpeg *.png *.bmp *.tif *.tiff *.webp *.json "
            + " ".join(f"*{e}" for e in VIDEO_EXTENSIONS) + ");;All files (*)")
        if path:
            self.open_path(path)

    def open_dir_dialog(self) -> None:
        folder = self.session.folder
        path = QtWidgets.QFileDialog.getExistingDirectory(self.window, "Open a folder of images",
                                                          str(folder.folder) if folder else "")
        if path:
            self.open_path(path)

    def choose_output_dir(self) -> None:
        w, s = self.window, self.session
        path = QtWidgets.QFileDialog.getExistingDirectory(w, "Folder for the LabelMe files", w.output_dir or "")
        if path and self.maybe_leave():
            w.output_dir = path
            if s.folder is not None:
                current = s.folder.names[s.row] if s.row is not None else None
                self.open_path(str(s.folder.folder / current) if current else str(s.folder.folder))

    # -------------------------------------------------------------------------------- saving
    def save(self, overwrite: bool = False) -> bool:
        """Ctrl+S: write the LabelMe file (atomically, under its lock). True when no unsaved work is left:
        saved, saved elsewhere (Save as), or replaced on purpose by the file's new content (Reload).

        A file another program changed since it was opened here is not overwritten silently: the user is
        asked (:meth:`changed_on_disk`).
        """
        w, s = self.window, self.session
        if s.folder is None or s.row is None or s.annotation is None:
            return False
        try:
            path = s.save(overwrite=overwrite)
        except ChangedOnDiskError as e:
            return self.changed_on_disk(e)
        except AnylabelError as e:
            w.warn(f"Not saved: {e}", "Cannot save")
            return False
        except (OSError, ValueError) as e:  # a bug must not abort the process (PyQt) and lose the work
            log.exception("save failed")
            w.warn(f"Not saved: {s.folder.annotation_path(s.row)}: {type(e).__name__}: {e}\n"
                   "Your changes are still here: try File → Save again or another output folder.", "Cannot save")
            return False
        w.file_list.model.refresh_row(s.row)
        self._status(f"Saved {display_name(path)}")
        return True

    def changed_on_disk(self, error: ChangedOnDiskError) -> bool:
        """Someone else changed the file: reload it, keep mine (overwrite), or save mine as another file."""
        w, s = self.window, self.session
        answer = w.ask_changed(w, display_name(error.path or s.folder.annotation_path(s.row)))
        w.refocus()
        if answer == "overwrite":
            return self.save(overwrite=True)
        if answer == "reload":
            row = s.row
            s.discard_changes()  # the user chose to drop the unsaved changes
            s.row = None  # load the row again although it is the current one
            self.load_row(row, ask=False)
            self._status(f"Reloaded {display_name(error.path)} from disk", 5000)
            return True
        if answer == "save_as":
            suggested = s.folder.annotation_path(s.row)
            target = w.ask_save_path(w, str(suggested.with_name(f"{suggested.stem}.mine.json")))
            if not target:
                return False
            try:
                path = s.save_copy(target)
            except AnylabelError as e:
                w.warn(f"Not saved: {e}", "Cannot save")
                return False
            self._status(f"Saved as {display_name(path)}; {display_name(error.path)} is unchanged", 6000)
            return True
        return False

    def maybe_leave(self) -> bool:
        """True when the current image may be left: no unsaved changes, saved, or discarded on purpose."""
        w, s = self.window, self.session
        if not s.dirty:
            return True
        if w.config.autosave:
            return self.save()
        name = s.folder.names[s.row] if s.folder and s.row is not None else ""
        answer = w.ask_unsaved(w, display_name(name))
        w.refocus()
        if answer == "save":
            return self.save()
        return answer == "discard"

    def set_autosave(self, on: bool) -> None:
        self.window.config.autosave = bool(on)
        if on and self.session.dirty:
            self.autosave_timer.start()

    def schedule_autosave(self) -> None:
        """Save soon if autosave is on (after a change; several changes in a row make one save)."""
        if self.window.config.autosave:
            self.autosave_timer.start()

    def autosave_now(self) -> None:
        if self.window.config.autosave and self.session.dirty:
            self.save()
