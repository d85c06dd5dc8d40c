"""Video mode of the main window: open a video, prompt objects on any frame, F confirms, Ctrl+M tracks.

``attach(host)`` (the window's ``"video"`` feature, see :mod:`anylabel.gui.features`) adds the hidden "Video"
dock (:class:`VideoDock`) and returns a :class:`VideoPanel`, whose ``open(path)``, ``propagate()`` and
``reset_tracker()`` the window's File → Open, Ctrl+M and Ctrl+Shift+R call. The tracker's thread starts
with the first video. Everything of the window is reached through the host.

How video mode uses the window (so everything for images works for frames too):

* the video becomes the window's folder (:class:`VideoFrameFolder`): the file list, D / A, the canvas, the
  shape list, undo / redo, Ctrl+S and autosave work on frames; frame ``i`` is saved to its LabelMe file;
* the host routes the AI clicks to the :class:`TrackerWorker` (``host.route_clicks``), so clicks on a frame
  become tracker prompts for the current object (a new one, or a tracked one: a correction);
* F goes through :meth:`VideoObjects._on_finish` (``host.intercept_finish``): the label dialog, then the
  object's shapes on this frame
  are replaced by the new ones (one undo step) with ``track_id`` = the object id, and the tracker is told
  the object is confirmed;
* Ctrl+M saves the frame, then tracks the confirmed objects forward from the current frame (or their
  earliest new prompt), Ctrl+Shift+M backward, Ctrl+Alt+M both ways (an object first prompted on a late
  frame gets the frames before it), as far as the dock's range says (to the end, N frames, to a frame),
  replacing or keeping an object's earlier shapes (the core's :class:`~anylabel.tracking.Propagation` and
  ``existing``; the settings are remembered), in the background: progress, Cancel, each frame written as it
  arrives and shown when it is the current one ("follow" moves the view along with the tracker);
* the object list, the labels dock's instance counts and interpolation (Ctrl+Shift+J) are
  :class:`~anylabel.gui.video.tracks.VideoTracks`;
* opening images again hands the clicks back to the image worker (the panel notices the folder change);
* without a usable SAM2 model (none declared, not downloaded, or its file does not load) tracking is off
  and says why: the clicks stay with the image model, the frames can be browsed, annotated and saved; a
  model that is not downloaded is offered for download (asked first, like the model picker).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Optional

from PyQt5 import QtCore, QtWidgets
from PyQt5.QtCore import Qt

from anylabel.errors import AnylabelError
from anylabel.gui.ai.model_picker import ask_download
from anylabel.gui.dialogs.remembered import recall, remember
from anylabel.gui.video import model as video_model
from anylabel.gui.video.dock import VideoDock
from anylabel.gui.video.frames import VideoFrameFolder
from anylabel.gui.video.objects import VideoObjects
from anylabel.gui.video.tracks import VideoTracks
from anylabel.gui.video.worker import TrackerWorker
from anylabel.session.folder import display_name
from anylabel.session.video import PropagationSettings

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.features import FeatureHost

log = logging.getLogger(__name__)


def attach(host: "FeatureHost") -> "VideoPanel":
    """Add video mode to the window (its ``"video"`` feature)."""
    return VideoPanel(host)


class VideoPanel(VideoObjects, VideoTracks, QtCore.QObject):
    """The controller of video mode (see the module docstring; objects and F: :class:`VideoObjects`; the object
    list and interpolation: :class:`VideoTracks`)."""

    name = "video"

    def __init__(self, host: "FeatureHost") -> None:
        QtCore.QObject.__init__(self, host.widget())
        self.host = host
        self.folder: Optional[VideoFrameFolder] = None
        self.model: Optional[str] = None
        self.objects: Dict[int, str] = {}
        self.current_obj = 1
        self.max_track_id = 0
        self.tracking = "off"  # "off" (no tracker: clicks go to the image model), "loading" or "ready"
        #: ``fn(parent, registry, spec) -> bool``: may the missing tracking model be downloaded? (tests answer)
        self.ask_download = lambda parent, registry, spec: ask_download(
            parent, registry, spec, "Tracking objects through the video needs a SAM2 model.")
        self.dock_widget = VideoDock(host.label_icon)
        self.dock_widget.set_settings(PropagationSettings.from_dict(recall("video")))
        self.dock = host.add_dock("video", "Video", self.dock_widget, Qt.BottomDockWidgetArea)
        self.worker = TrackerWorker(self._load_predictor, self._target, precision=host.config.precision,
                                    device=lambda: getattr(host.config, "device", None))
        self._init_tracks(self)
        self._connect()
        self._add_menu_actions()

    # ------------------------------------------------------------------------------ wiring
    def _connect(self) -> None:
        host, docs, d, wk = self.host, self.host.documents, self.dock_widget, self.worker
        host.intercept_finish(self._on_finish)  # F in video mode is ours (VideoObjects._on_finish)
        host.on_model_chosen(self._on_model_chosen)
        docs.on_folder_changed(self._check_active)
        docs.on_row_changed(self._sync_frame)
        docs.on_selection_changed(self._on_selection)
        d.frameRequested.connect(self.goto)
        d.objectChosen.connect(self.set_object)
        d.newObjectRequested.connect(self.new_object)
        d.propagateRequested.connect(self.propagate)
        d.cancelRequested.connect(self.cancel)
        d.resetRequested.connect(self.reset_tracker)
        d.settingsChanged.connect(self._remember_settings)
        wk.status.connect(self._status)
        wk.error.connect(lambda m: host.warn(m, "Tracking"))
        wk.opened.connect(self._on_opened)
        wk.openFailed.connect(self._on_open_failed)
        wk.propagationStarted.connect(self._on_started)
        wk.frameTracked.connect(self._on_frame_tracked)
        wk.propagationFinished.connect(self._on_finished)
        wk.trackIdsFound.connect(self._on_track_ids)
        wk.trackerReset.connect(lambda: self._status("Tracker reset: annotations are kept"))
        self.destroyed.connect(lambda *_, worker=wk: worker.stop())  # the window went: stop and join the tracker

    def _add_menu_actions(self) -> None:
        menu = self.host.menu("video")
        if menu is None:
            return
        parent = self.host.widget()
        first = menu.actions()[0] if menu.actions() else None
        act = QtWidgets.QAction("&Open video or frame folder…", parent)
        act.triggered.connect(self.open_dialog)
        menu.insertAction(first, act)
        for text, slot in (("&Vote track labels (SSA / CLIP over every frame)", self.vote_labels),
                           ("&Cancel propagation", self.cancel), ("&New object", self.new_object)):
            action = QtWidgets.QAction(text, parent)
            action.triggered.connect(slot)
            menu.addAction(action)

    def shutdown(self) -> None:
        """Stop the tracker thread and the video jobs, and join them (the window's close / application exit)."""
        self.jobs.shutdown()
        self.worker.stop()

    close = shutdown  # the Feature interface

    def _status(self, text: str) -> None:
        text = display_name(text)
        self.dock_widget.status.setText(text)
        self.host.status(text, 5000)

    # ------------------------------------------------------------------------------ opening
    def open_dialog(self) -> None:
        parent = self.host.widget()
        path, _ = QtWidgets.QFileDialog.getOpenFileName(parent, "Open a video", "",
                                                        "Videos (*.mp4 *.avi *.mov *.mkv *.m4v *.webm);;All files (*)")
        if not path:
            path = QtWidgets.QFileDialog.getExistingDirectory(parent, "…or a folder of frames")
        if path and self.host.maybe_leave():
            self.open(path)

    def open(self, path: str) -> bool:
        """Open a video file or a folder of frames in video mode (the caller asked about unsaved work)."""
        host, docs = self.host, self.host.documents
        try:
            folder = VideoFrameFolder.open(path, docs.output_dir)
        except AnylabelError as e:
            host.warn(str(e), "Cannot open the video")
            return False
        image_model = host.image_model()
        model = video_model.tracking_model(host.registry, getattr(image_model, "name", None))
        if model is None:
            host.warn(video_model.no_model_message(), "Tracking")
        if self.worker.propagating:
            self.worker.cancel()
        self.folder, self.objects = folder, {}
        self.max_track_id, self.current_obj = 0, 1  # until the worker's scan of the files answers
        self.worker.find_track_ids(folder)  # off the GUI thread: _on_track_ids
        self.dock_widget.set_frame_count(len(folder))
        self._start_index()
        self.dock.show()
        self.model, self.tracking = model, "off"
        missing = model is not None and not host.registry.is_available(host.registry.get(model))
        if model is not None and not missing:  # a missing file is never downloaded without asking
            self._start_tracker(model)
        docs.suspend_prefetch(True)  # the image model must not pre-encode frames (nor have them extracted)
        docs.show_folder(folder)
        # after the first frame is shown, which dropped the previous image's prompts; without a tracker the
        # image model answers
        host.route_clicks(self.worker if self.tracking != "off" else None)
        self._status(f"Video {Path(path).name}: {len(folder)} frames; annotations in {folder.output_dir}")
        if missing:
            QtCore.QTimer.singleShot(0, lambda: self._offer_download(model))  # once the first frame is shown
        return True

    def _on_track_ids(self, folder: VideoFrameFolder, highest: int) -> None:
        """The highest track id in the video's files: new objects get ids above it."""
        if folder is not self.folder or highest <= self.max_track_id:
            return
        self.max_track_id = highest
        if self.current_obj not in self.objects and self.current_obj <= highest:
            # the id given before the answer belongs to an object of the files: clicks made for it would
            # merge a new object into that track, so they are dropped and the clicks start a new id
            clicked = self.host.prompting.has_prompts()
            self.new_object()
            if clicked:
                self._status(f"The video's files already have objects up to track {highest}: click the new "
                             f"object again (it is object {self.current_obj})")

    def _start_tracker(self, model: str) -> None:
        self.model, self.tracking = model, "loading"
        self.worker.open_video(self.folder, model)

    def _offer_download(self, model: str) -> None:
        """The tracking model's file is not there: ask before downloading it (like the model picker)."""
        host = self.host
        if not self.active or self.model != model or self.tracking != "off":
            return
        spec = host.registry.get(model)
        if spec.url and self.ask_download(host.widget(), host.registry, spec):
            host.start_download(spec)  # when done, the picker chooses it: _on_model_chosen opens it
            self._status(f"Downloading {model} for tracking…")
            return
        self._status(f"Tracking is off: {model} is not downloaded (model picker ⬇ downloads it)")
        host.warn(video_model.missing_model_message(host.registry, model), "Tracking")

    def _on_opened(self, name: str) -> None:
        if name == self.model:
            self.tracking = "ready"
        self._status(f"{name}: ready to track")

    def _on_open_failed(self, name: str, message: str) -> None:
        """The tracking model did not load: say why, and let the image model answer the clicks."""
        if name != self.model:
            return
        self.tracking = "off"
        if self.active and self.host.clicks_routed_to(self.worker):
            self.host.route_clicks(None)
        self.host.warn(video_model.load_failed_message(name, message), "Tracking")

    def _load_predictor(self, name: str) -> Any:
        from anylabel.gui.ai.models_glue import gui_device
        from anylabel.tracking.model import load_video_predictor

        config = self.host.config
        return load_video_predictor(name, registry=self.host.registry,
                                    device=gui_device(getattr(config, "device", None)))

    def _check_active(self) -> None:
        """The window's folder changed: leaving video mode hands the clicks back to the image worker."""
        if self.folder is not None and not self.active:
            self.worker.cancel()
            self._leave_tracks()
            self.folder = None
            self.dock.hide()
            if self.host.clicks_routed_to(self.worker):
                self.host.route_clicks(None)
            self.host.documents.suspend_prefetch(False)

    def _on_model_chosen(self, name: str) -> None:
        """The window just gave the clicks to the image worker of ``name``: in video mode the clicks stay
        with the tracker, which switches to ``name`` when it can track (sam2, or sam3 with its file)."""
        if not self.active:
            return
        from anylabel.tracking.model import tracking_models

        if name in tracking_models(self.host.registry) and (name != self.model or self.tracking == "off"):
            self.worker.cancel()
            self.objects = {}
            self._start_tracker(name)
            self.dock_widget.set_objects(self.objects, self.current_obj)
            self._status(f"Tracking with {name}: the tracker starts afresh (annotations are kept)")
        if self.tracking != "off":
            self.host.route_clicks(self.worker)

    # ------------------------------------------------------------------------------ frames
    def goto(self, frame: int) -> None:
        """Show ``frame`` (clamped to the video); asks about unsaved changes like any image switch."""
        if not self.active:
            return
        frame = max(0, min(len(self.folder) - 1, int(frame)))
        self.host.documents.show_row(frame)
        self._sync_frame()

    def next_frame(self) -> None:
        row = self.host.documents.row
        if self.active and row is not None:
            self.goto(row + 1)

    def prev_frame(self) -> None:
        row = self.host.documents.row
        if self.active and row is not None:
            self.goto(row - 1)

    def _sync_frame(self) -> None:
        row = self.host.documents.row
        if self.active and row is not None:
            self.dock_widget.show_frame(row)

    # ------------------------------------------------------------------------------ tracking
    def propagate(self, direction: Optional[str] = None) -> None:
        """Save this frame, then track in the background from it in ``direction`` (None: the dock's), as far
        as the dock's range says, replacing or keeping earlier shapes as it says."""
        host, docs = self.host, self.host.documents
        if not self.active or docs.row is None:
            host.status("Open a video first (Video → Open video or frame folder)", 4000)
            return
        if self.worker.propagating or self.jobs.running_kind in ("interpolate", "vote"):
            host.status("Already propagating or interpolating (Cancel stops it)", 3000)
            return
        if self.tracking == "off":
            host.warn(video_model.tracking_off_message(self.model), "Tracking")
            return
        if docs.dirty and not docs.save():
            return
        settings = self.dock_widget.settings()
        try:
            plan = settings.plan(docs.row, len(self.folder), direction)
        except AnylabelError as e:
            host.warn(str(e), "Tracking")
            return
        self.dock_widget.set_running(True, 1)
        self.worker.propagate(plan, docs.row, settings.existing)

    def propagate_forward(self) -> None:
        """Ctrl+M: towards the end."""
        self.propagate("forward")

    def propagate_backward(self) -> None:
        """Ctrl+Shift+M: towards frame 0 (the frames before the objects' prompts)."""
        self.propagate("backward")

    def propagate_both(self) -> None:
        """Ctrl+Alt+M: forward, then backward from each object's first prompt."""
        self.propagate("both")

    def _remember_settings(self) -> None:
        values = self.dock_widget.settings().to_dict()
        values.pop("to_frame")  # a frame of this video, not a choice for the next one
        remember("video", values)

    def cancel(self) -> None:
        """Stop the running propagation (or interpolation) before its next frame."""
        self.worker.cancel()
        self.jobs.cancel("interpolate")
        self.jobs.cancel("vote")

    def reset_tracker(self) -> None:
        """Ctrl+Shift+R: forget every object, prompt and memory of the tracker; files are kept."""
        if self.folder is None:
            self.host.status("Open a video first", 3000)
            return
        self.worker.reset()
        self.objects = {}  # the tracker's objects; the object list keeps the video's (from its files)
        self.host.prompting.clear()
        self.new_object()

    def _on_started(self, start: int, total: int) -> None:
        self.dock_widget.set_running(True, total)
        self._status(f"Tracking {total} frame(s) from frame {start}…")

    def _on_frame_tracked(self, frame: int, done: int, total: int) -> None:
        docs = self.host.documents
        self.dock_widget.progress.setValue(done)
        docs.refresh_row(frame)
        self.schedule_refresh()
        if not self.active or docs.dirty:
            return
        if frame == docs.row:
            self._reload(frame)
        elif self.dock_widget.follow_box.isChecked():
            self.goto(frame)

    def _on_finished(self, frames: int, cancelled: bool) -> None:
        docs = self.host.documents
        self.dock_widget.set_running(False)
        self._status(f"Tracking {'cancelled after' if cancelled else 'done:'} {frames} frame(s)")
        self.show_objects()
        if self.active and docs.row is not None and not docs.dirty:
            self._reload(docs.row)

    def _reload(self, frame: int) -> None:
        """Show the file the tracker just wrote for ``frame`` (the window holds no unsaved change)."""
        self.host.documents.reload_row(frame)
        self._sync_frame()
