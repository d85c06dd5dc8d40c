"""Features other modules add to the main window (a mixin): ``attach(window)`` plug-ins (label
suggestions), the video panel, the export / import / statistics dialogs, and drag and drop."""
from __future__ import annotations

import importlib
import logging
from typing import Callable, List

from PyQt5 import QtCore, QtGui

log = logging.getLogger(__name__)


class PluginsMixin:
    """Mixed into :class:`anylabel.gui.main_window.MainWindow`."""

    # -------------------------------------------------------------------------------- plug-ins
    def _attach_plugin(self, module: str) -> None:
        """``module.attach(self)`` when the module exists; a broken plug-in is reported, never fatal."""
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name and module.startswith(e.name):
                return  # not installed / not written yet: nothing to add
            log.exception("plug-in %s cannot be imported", module)
            self.statusBar().showMessage(f"{module} is unavailable: {e}", 8000)
            return
        try:
            self.plugins[module] = mod.attach(self)
        except Exception as e:  # noqa: BLE001 - an optional feature must not keep the window from opening
            log.exception("plug-in %s failed", module)
            self.statusBar().showMessage(f"{module} failed: {e}", 8000)

    def _plugin(self, module: str):
        try:
            return importlib.import_module(module)
        except ImportError as e:
            self.warn(f"{module} is not available: {e}")
            return None

    def _annotation_folder(self):
        """The folder of the LabelMe files: the output folder, else the images' folder (None: nothing open)."""
        if self.output_dir:
            return str(self.output_dir)
        return str(self.folder.folder) if self.folder is not None else None

    def open_export(self) -> None:
        """File → Export: the current image's unsaved changes are saved (or explicitly left out) first."""
        mod = self._plugin("anylabel.gui.export_dialog")
        if mod is not None and self.maybe_leave():
            images = (str(self.folder.folder),) if self.output_dir and self.folder is not None else ()
            self.export_dialog = mod.open_export_dialog(self, self._annotation_folder(), images)

    def open_import(self) -> None:
        mod = self._plugin("anylabel.gui.export_dialog")
        if mod is not None:
            self.import_dialog = mod.open_import_dialog(self)

    def open_stats(self) -> None:
        mod = self._plugin("anylabel.gui.stats_dialog")
        if mod is not None and self.maybe_leave():
            self.stats_dialog = mod.open_stats_dialog(self, self._annotation_folder())

    def _video(self):
        if self.video_panel is None:
            mod = self._plugin("anylabel.gui.video_panel")
            if mod is None:
                return None
            self.video_panel = mod.attach(self)
        return self.video_panel

    def _open_video(self, path: str) -> bool:
        panel = self._video()
        return bool(panel is not None and self.maybe_leave() and panel.open(path))

    def video_action(self, name: str) -> Callable[[], None]:
        def run() -> None:
            if self.video_panel is None:
                self.statusBar().showMessage("Open a video first (File → Open)", 4000)
                return
            getattr(self.video_panel, name)()
        return run

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        urls: List[QtCore.QUrl] = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            self.open_path(urls[0].toLocalFile())
