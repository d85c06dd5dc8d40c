"""The window's side of its features (a mixin): attaching them, the File / Video menu commands that reach
them (Export, Import, Statistics, Ctrl+M, reset tracker, opening a video) and drag and drop.

Features are registered explicitly (:data:`DEFAULT_FEATURES`, imported normally: a missing module is an
error at start-up) against the host API of :mod:`anylabel.gui.features`; each one is reached here by its
name and a typed method, never by a string looked up on an object.
"""
from __future__ import annotations

import logging
from typing import Callable, Dict, List, Sequence

from PyQt5 import QtCore, QtGui

from anylabel.gui.dialogs import export as export_dialog
from anylabel.gui.dialogs import stats as stats_dialog
from anylabel.gui.features import FeatureFactory, Features, attach_features
from anylabel.gui.host import WindowHost
from anylabel.gui.suggestions import clip as clip_suggestions
from anylabel.gui.suggestions import semantic as semantic_suggestions
from anylabel.gui.video import panel as video_panel

log = logging.getLogger(__name__)

#: the features every window gets, in attach order (the SSA vote before CLIP: CLIP ranks its candidates)
DEFAULT_FEATURES: Sequence[FeatureFactory] = (semantic_suggestions.attach, clip_suggestions.attach,
                                              video_panel.attach, export_dialog.attach, stats_dialog.attach)
#: the Video menu's commands (``video_action(name)``), each a method of the video feature
VIDEO_COMMANDS: Dict[str, Callable[[video_panel.VideoPanel], None]] = {
    "propagate": video_panel.VideoPanel.propagate_forward,
    "propagate_backward": video_panel.VideoPanel.propagate_backward,
    "propagate_both": video_panel.VideoPanel.propagate_both,
    "interpolate": video_panel.VideoPanel.interpolate,
    "reset_tracker": video_panel.VideoPanel.reset_tracker,
}


class PluginsMixin:
    """Mixed into :class:`anylabel.gui.main_window.MainWindow`."""

    features: Features

    def _attach_features(self, factories: Sequence[FeatureFactory]) -> None:
        """Build the host and attach ``factories`` in order; a failing one stops the start-up (raised)."""
        self.host = WindowHost(self)
        self.features = Features()  # while attaching: a feature's start may already look others up
        self.features = attach_features(self.host, factories)

    def _feature(self, name: str):
        feature = self.features.get(name)
        if feature is None:
            self.statusBar().showMessage(f"This window has no {name} feature", 4000)
        return feature

    def open_export(self) -> None:
        """File → Export: the current image's unsaved changes are saved (or explicitly left out) first."""
        feature = self._feature("export")
        if feature is not None:
            self.export_dialog = feature.open_export()

    def open_import(self) -> None:
        feature = self._feature("export")
        if feature is not None:
            self.import_dialog = feature.open_import()

    def open_stats(self) -> None:
        feature = self._feature("stats")
        if feature is not None:
            self.stats_dialog = feature.open()

    def _open_video(self, path: str) -> bool:
        panel = self._feature("video")
        return bool(panel is not None and self.maybe_leave() and panel.open(path))

    def video_action(self, name: str) -> Callable[[], None]:
        """The Video menu's command ``name`` (see :data:`VIDEO_COMMANDS`; an unknown name is a KeyError
        while the menus are built)."""
        command = VIDEO_COMMANDS[name]

        def run() -> None:
            panel = self._feature("video")
            if panel is not None:
                command(panel)
        return run

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        urls: List[QtCore.QUrl] = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            self.open_path(urls[0].toLocalFile())
