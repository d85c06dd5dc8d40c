"""Opening, moving between and saving images: the main window's navigation (a mixin).

Nothing is lost silently: leaving an image with unsaved changes saves it (autosave) or asks Save /
Discard / Cancel; a file that cannot be read is reported and never overwritten; saves are atomic.
"""
from __future__ import annotations

import logging
from pathlib import Path

from PyQt5 import QtGui, QtWidgets

from anylabel.document.history import History
from anylabel.errors import AnylabelError
from anylabel.gui.documents import ChangedOnDiskError, ImageFolder, display_name

log = logging.getLogger(__name__)
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")


class NavigationMixin:
    """Mixed into :class:`anylabel.gui.main_window.MainWindow`."""

    # -------------------------------------------------------------------------------- opening
    def open_path(self, path: str) -> bool:
        """Open an image, a folder, a LabelMe JSON (or a video, through the video panel)."""
        if Path(path).suffix.lower() in VIDEO_EXTENSIONS:
            return self._open_video(path)
        if not self.maybe_leave():
            return False
        try:
            folder, row = ImageFolder.for_path(path, self.output_dir)
        except AnylabelError as e:
            self.warn(str(e), "Cannot open")
            return False
        self.folder, self.row = folder, None
        self.file_list.set_folder(folder)
        if not len(folder):
            self._clear_document()
            self.statusBar().showMessage(f"No images in {display_name(folder.folder)}", 5000)
            return False
        return self.load_row(row, ask=False)

    def load_row(self, row: int, ask: bool = True) -> bool:
        """Show image ``row`` of the folder; asks about unsaved changes first (unless ``ask`` is False)."""
        if self.folder is None or not 0 <= row < len(self.folder):
            return False
        if row == self.row:
            return True
        if ask and not self.maybe_leave():
            self.file_list.select_row(self.row) if self.row is not None else None
            return False
        path = self.folder.image_path(row)
        try:
            image = self.readahead.get(path)  # decoded already when the user moves to a neighbour
            annotation, _ = self.folder.load(row)
        except AnylabelError as e:
            self.warn(str(e), "Cannot open the image")
            if self.row is not None:
                self.file_list.select_row(self.row)
            return False
        h, w = image.shape[:2]
        if (annotation.image_height, annotation.image_width) != (h, w):
            self.statusBar().showMessage(f"The annotation said {annotation.image_width}x{annotation.image_height}; "
                                         f"the image is {w}x{h} (EXIF rotation?): using the image's size", 6000)
            annotation.image_height, annotation.image_width = h, w
        self.row, self.image, self.annotation = row, image, annotation
        self.history = History(annotation)
        self.history.changed.connect(self._on_history)
        qimage = QtGui.QImage(image.data, w, h, 3 * w, QtGui.QImage.Format_RGB888)
        self.canvas.set_image(qimage)
        self.canvas.hidden = set()
        self.canvas.set_shapes(annotation.shapes)
        self.ai.set_image(str(path), image)
        self.file_list.select_row(row)
        self._refresh_lists()
        self._update_title()
        self.file_list.model.set_dirty(None)
        self.file_list.update_progress(row, -1)
        # the images Next / Prev will show: decoded off the GUI thread while this one is annotated; queued
        # before the embedding prefetch, which then waits for these decodes instead of decoding again
        self.readahead.prefetch([self.folder.image_path(r) for r in (row + 1, row - 1) if 0 <= r < len(self.folder)])
        self._prefetch()
        self.imageLoaded.emit(str(path))
        return True

    def _clear_document(self) -> None:
        self.row = self.annotation = self.history = self.image = None
        self.canvas.set_image(None)
        self.canvas.set_shapes([])
        self.ai.set_image(None, None)
        self._refresh_lists()
        self._update_title()

    def next_image(self) -> None:
        if self.folder is not None and self.row is not None and self.row + 1 < len(self.folder):
            self.load_row(self.row + 1)

    def prev_image(self) -> None:
        if self.folder is not None and self.row is not None and self.row > 0:
            self.load_row(self.row - 1)

    def open_file_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open", str(self.folder.folder) if self.folder else "",
            "Images, LabelMe JSON and videos (*.jpg *.jpeg *.png *.bmp *.tif *.tiff *.webp *.json "
            + " ".join(f"*{e}" for e in VIDEO_EXTENSIONS) + ");;All files (*)")
        if path:
            self.open_path(path)

    def open_dir_dialog(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Open a folder of images",
                                                          str(self.folder.folder) if self.folder else "")
        if path:
            self.open_path(path)

    def choose_output_dir(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Folder for the LabelMe files", self.output_dir or "")
        if path and self.maybe_leave():
            self.output_dir = path
            if self.folder is not None:
                current = self.folder.names[self.row] if self.row is not None else None
                self.open_path(str(self.folder.folder / current) if current else str(self.folder.folder))

    # -------------------------------------------------------------------------------- saving
    def save(self, overwrite: bool = False) -> bool:
        """Ctrl+S: write the LabelMe file (atomically, under its lock). True when no unsaved work is left:
        saved, saved elsewhere (Save as), or replaced on purpose by the file's new content (Reload).

        A file another program changed since it was opened here is not overwritten silently: the user is
        asked (:meth:`_changed_on_disk`).
        """
        if self.folder is None or self.row is None or self.annotation is None:
            return False
        try:
            path = self.folder.save(self.row, self.annotation, overwrite=overwrite)
        except ChangedOnDiskError as e:
            return self._changed_on_disk(e)
        except AnylabelError as e:
            self.warn(f"Not saved: {e}", "Cannot save")
            return False
        except (OSError, ValueError) as e:  # a bug must not abort the process (PyQt) and lose the work
            log.exception("save failed")
            self.warn(f"Not saved: {self.folder.annotation_path(self.row)}: {type(e).__name__}: {e}\n"
                      "Your changes are still here: try File → Save again or another output folder.", "Cannot save")
            return False
        self.history.mark_saved()
        self.file_list.model.refresh_row(self.row)
        self.statusBar().showMessage(f"Saved {display_name(path)}", 4000)
        return True

    def _changed_on_disk(self, error: ChangedOnDiskError) -> bool:
        """Someone else changed the file: reload it, keep mine (overwrite), or save mine as another file."""
        answer = self.ask_changed(self, display_name(error.path or self.folder.annotation_path(self.row)))
        self.refocus()
        if answer == "overwrite":
            return self.save(overwrite=True)
        if answer == "reload":
            row, self.row = self.row, None
            self.history.mark_saved()  # the user chose to drop the unsaved changes
            self.load_row(row, ask=False)
            self.statusBar().showMessage(f"Reloaded {display_name(error.path)} from disk", 5000)
            return True
        if answer == "save_as":
            suggested = self.folder.annotation_path(self.row)
            target = self.ask_save_path(self, str(suggested.with_name(f"{suggested.stem}.mine.json")))
            if not target:
                return False
            try:
                path = self.folder.save_copy(self.row, self.annotation, target)
            except AnylabelError as e:
                self.warn(f"Not saved: {e}", "Cannot save")
                return False
            self.history.mark_saved()  # the work is safe in the new file; the changed one is left alone
            self.statusBar().showMessage(f"Saved as {display_name(path)}; "
                                         f"{display_name(error.path)} is unchanged", 6000)
            return True
        return False

    def maybe_leave(self) -> bool:
        """True when the current image may be left: no unsaved changes, saved, or discarded on purpose."""
        if self.history is None or not self.history.dirty:
            return True
        if self.config.autosave:
            return self.save()
        name = self.folder.names[self.row] if self.folder and self.row is not None else ""
        answer = self.ask_unsaved(self, display_name(name))
        self.refocus()
        if answer == "save":
            return self.save()
        return answer == "discard"

    def set_autosave(self, on: bool) -> None:
        self.config.autosave = bool(on)
        if on and self.history is not None and self.history.dirty:
            self._autosave_timer.start()

    def _autosave_now(self) -> None:
        if self.config.autosave and self.history is not None and self.history.dirty:
            self.save()

    def after_object_finished(self) -> None:
        if self.config.autosave:
            self._autosave_timer.start()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if not self.maybe_leave():
            event.ignore()
            return
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        self.readahead.close()
        event.accept()
