"""Video mode of the main window: open a video, prompt objects on any frame, F confirms, Ctrl+M tracks.

``attach(window)`` (called by ``MainWindow._video()``) adds the "Video" dock (:class:`VideoDock`) and
returns a :class:`VideoPanel`, whose ``open(path)``, ``propagate()`` and ``reset_tracker()`` the window's
File → Open, Ctrl+M and Ctrl+Shift+R call.

How video mode uses the window (so everything for images works for frames too):

* the video becomes the window's folder (:class:`VideoFrameFolder`): the file list, D / A, the canvas, the
  shape list, undo / redo, Ctrl+S and autosave work on frames; frame ``i`` is saved to its LabelMe file;
* the window's :class:`AiController` gets the :class:`TrackerWorker` as its worker, so clicks on a frame
  become tracker prompts for the current object (a new one, or a tracked one: a correction);
* F goes through :meth:`VideoPanel._on_finish`: the label dialog, then the object's shapes on this frame
  are replaced by the new ones (one undo step) with ``track_id`` = the object id, and the tracker is told
  the object is confirmed;
* Ctrl+M saves the frame, then tracks the confirmed objects from the current frame (or their earliest new
  prompt) to the "to frame" box in the background: progress, Cancel, each frame written as it arrives and
  shown when it is the current one ("follow" moves the view along with the tracker);
* opening images again hands the clicks back to the image worker (the panel notices the folder change);
* without a usable SAM2 model (none declared, not downloaded, or its file does not load) tracking is off
  and says why: the clicks stay with the image model, the frames can be browsed, annotated and saved; a
  model that is not downloaded is offered for download (asked first, like the model picker).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np
from PyQt5 import QtCore, QtWidgets
from PyQt5.QtCore import Qt

from anylabel.errors import AnylabelError
from anylabel.gui import video_model
from anylabel.gui.documents import display_name
from anylabel.gui.model_picker import ask_download
from anylabel.gui.video_dock import VideoDock
from anylabel.gui.video_frames import ReplaceTrack, VideoFrameFolder, max_track_id, shape_mask
from anylabel.gui.video_worker import Target, TrackerWorker
from anylabel.gui.worker import SegmentRequest

log = logging.getLogger(__name__)


def attach(window: Any) -> "VideoPanel":
    """Create the video panel of ``window`` (the ``MainWindow`` hook)."""
    return VideoPanel(window)


class VideoPanel(QtCore.QObject):
    """The controller of video mode (see the module docstring)."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.folder: Optional[VideoFrameFolder] = None
        self.model: Optional[str] = None
        self.objects: Dict[int, str] = {}  # confirmed object id -> label
        self.current_obj = 1
        self.max_track_id = 0  # highest track id in the video's files or confirmed: new ids go above it
        self._saved_prefetch: Optional[int] = None
        self.tracking = "off"  # "off" (no tracker: clicks go to the image model), "loading" or "ready"
        #: ``fn(parent, registry, spec) -> bool``: may the missing tracking model be downloaded? (tests answer)
        self.ask_download = lambda parent, registry, spec: ask_download(
            parent, registry, spec, "Tracking objects through the video needs a SAM2 model.")
        self.dock_widget = VideoDock()
        self.dock = QtWidgets.QDockWidget("Video", window)
        self.dock.setObjectName("video")
        self.dock.setWidget(self.dock_widget)
        window.addDockWidget(Qt.BottomDockWidgetArea, self.dock)
        window.docks["video"] = self.dock
        self.dock.hide()
        self.worker = TrackerWorker(self._load_predictor, self._target, precision=window.config.precision,
                                    device=lambda: getattr(window.config, "device", None))
        self._connect()
        self._add_menu_actions()

    # ------------------------------------------------------------------------------ wiring
    def _connect(self) -> None:
        w, d, wk = self.window, self.dock_widget, self.worker
        # F in video mode is ours; for images the window's own handler runs (see _on_finish)
        try:
            w.ai.finishReady.disconnect(w.finish_ai_object)
            self._delegate_finish = True
        except TypeError:  # the window finishes objects some other way: leave it, add ours for video
            self._delegate_finish = False
        w.ai.finishReady.connect(self._on_finish)
        w.model_picker.modelChosen.connect(self._on_model_chosen)
        w.file_list.model.modelReset.connect(self._check_active)
        w.file_list.view.selectionModel().currentChanged.connect(lambda *_: self._sync_frame())
        d.frameRequested.connect(self.goto)
        d.objectChosen.connect(self.set_object)
        w.canvas.selectionChanged.connect(self._on_selection)
        d.newObjectRequested.connect(self.new_object)
        d.propagateRequested.connect(self.propagate)
        d.cancelRequested.connect(self.cancel)
        d.resetRequested.connect(self.reset_tracker)
        wk.status.connect(self._status)
        wk.error.connect(lambda m: w.warn(m, "Tracking"))
        wk.opened.connect(self._on_opened)
        wk.openFailed.connect(self._on_open_failed)
        wk.propagationStarted.connect(self._on_started)
        wk.frameTracked.connect(self._on_frame_tracked)
        wk.propagationFinished.connect(self._on_finished)
        wk.trackerReset.connect(lambda: self._status("Tracker reset: annotations are kept"))
        w.destroyed.connect(lambda *_: self.worker.stop())
        app = QtWidgets.QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    def _add_menu_actions(self) -> None:
        menu = self.window.menus.get("video")
        if menu is None:
            return
        first = menu.actions()[0] if menu.actions() else None
        act = QtWidgets.QAction("&Open video or frame folder…", self.window)
        act.triggered.connect(self.open_dialog)
        menu.insertAction(first, act)
        cancel = QtWidgets.QAction("&Cancel propagation", self.window)
        cancel.triggered.connect(self.cancel)
        menu.addAction(cancel)
        new = QtWidgets.QAction("&New object", self.window)
        new.triggered.connect(self.new_object)
        menu.addAction(new)

    def shutdown(self) -> None:
        """Stop the tracker thread (the window's close / application exit)."""
        self.worker.stop()

    @property
    def active(self) -> bool:
        """True while the window shows the open video."""
        return self.folder is not None and self.window.folder is self.folder

    def _status(self, text: str) -> None:
        text = display_name(text)
        self.dock_widget.status.setText(text)
        self.window.statusBar().showMessage(text, 5000)

    # ------------------------------------------------------------------------------ opening
    def open_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self.window, "Open a video", "",
                                                        "Videos (*.mp4 *.avi *.mov *.mkv *.m4v *.webm);;All files (*)")
        if not path:
            path = QtWidgets.QFileDialog.getExistingDirectory(self.window, "…or a folder of frames")
        if path and self.window.maybe_leave():
            self.open(path)

    def open(self, path: str) -> bool:
        """Open a video file or a folder of frames in video mode (the caller asked about unsaved work)."""
        w = self.window
        try:
            folder = VideoFrameFolder.open(path, w.output_dir)
        except AnylabelError as e:
            w.warn(str(e), "Cannot open the video")
            return False
        model = video_model.tracking_model(w.registry, getattr(w.worker, "name", None))
        if model is None:
            w.warn(video_model.no_model_message(), "Tracking")
        if self.worker.propagating:
            self.worker.cancel()
        self.folder, self.objects = folder, {}
        self.max_track_id = max_track_id(folder.output_dir)
        self.current_obj = self.max_track_id + 1
        w.folder, w.row = folder, None
        w.file_list.set_folder(folder)
        self.dock_widget.set_frame_count(len(folder))
        self.dock_widget.set_objects(self.objects, self.current_obj)
        self.dock.show()
        self.model, self.tracking = model, "off"
        missing = model is not None and not w.registry.is_available(w.registry.get(model))
        if model is not None and not missing:  # a missing file is never downloaded without asking
            self._start_tracker(model)
        if self._saved_prefetch is None:
            # the image model must not pre-encode frames (and frames must not be extracted for it)
            self._saved_prefetch, w.config.prefetch = w.config.prefetch, 0
        w.load_row(0, ask=False)
        # after load_row, which dropped the previous image's prompts; without a tracker the image model answers
        w.ai.set_worker(self.worker if self.tracking != "off" else w.worker)
        self._status(f"Video {Path(path).name}: {len(folder)} frames; annotations in {folder.output_dir}")
        if missing:
            QtCore.QTimer.singleShot(0, lambda: self._offer_download(model))  # once the first frame is shown
        return True

    def _start_tracker(self, model: str) -> None:
        self.model, self.tracking = model, "loading"
        self.worker.open_video(self.folder, model)

    def _offer_download(self, model: str) -> None:
        """The tracking model's file is not there: ask before downloading it (like the model picker)."""
        w = self.window
        if not self.active or self.model != model or self.tracking != "off":
            return
        spec = w.registry.get(model)
        if spec.url and self.ask_download(w, w.registry, spec):
            w.model_picker.start_download(spec)  # when done, the picker chooses it: _on_model_chosen opens it
            self._status(f"Downloading {model} for tracking…")
            return
        self._status(f"Tracking is off: {model} is not downloaded (model picker ⬇ downloads it)")
        w.warn(video_model.missing_model_message(w.registry, model), "Tracking")

    def _on_opened(self, name: str) -> None:
        if name == self.model:
            self.tracking = "ready"
        self._status(f"{name}: ready to track")

    def _on_open_failed(self, name: str, message: str) -> None:
        """The tracking model did not load: say why, and let the image model answer the clicks."""
        if name != self.model:
            return
        self.tracking = "off"
        w = self.window
        if self.active and w.ai.worker is self.worker:
            w.ai.set_worker(w.worker)
        w.warn(video_model.load_failed_message(name, message), "Tracking")

    def _load_predictor(self, name: str) -> Any:
        from anylabel.gui.models_glue import gui_device
        from anylabel.tracking.model import load_video_predictor

        return load_video_predictor(name, registry=self.window.registry,
                                    device=gui_device(getattr(self.window.config, "device", None)))

    def _check_active(self) -> None:
        """The window's folder changed: leaving video mode hands the clicks back to the image worker."""
        if self.folder is not None and not self.active:
            self.worker.cancel()
            self.folder = None
            self.dock.hide()
            if self.window.ai.worker is self.worker:
                self.window.ai.set_worker(self.window.worker)
            if self._saved_prefetch is not None:
                self.window.config.prefetch, self._saved_prefetch = self._saved_prefetch, None

    def _on_model_chosen(self, name: str) -> None:
        """The window just gave the AI controller the image worker of ``name``: in video mode the clicks
        stay with the tracker, which switches to ``name`` when it is a sam2 model."""
        if not self.active:
            return
        from anylabel.tracking.model import sam2_models

        if name in sam2_models(self.window.registry) and (name != self.model or self.tracking == "off"):
            self.worker.cancel()
            self.objects = {}
            self._start_tracker(name)
            self.dock_widget.set_objects(self.objects, self.current_obj)
            self._status(f"Tracking with {name}: the tracker starts afresh (annotations are kept)")
        if self.tracking != "off":
            self.window.ai.set_worker(self.worker)

    # ------------------------------------------------------------------------------ frames
    def goto(self, frame: int) -> None:
        """Show ``frame`` (clamped to the video); asks about unsaved changes like any image switch."""
        if not self.active:
            return
        frame = max(0, min(len(self.folder) - 1, int(frame)))
        self.window.load_row(frame)
        self._sync_frame()

    def next_frame(self) -> None:
        if self.active and self.window.row is not None:
            self.goto(self.window.row + 1)

    def prev_frame(self) -> None:
        if self.active and self.window.row is not None:
            self.goto(self.window.row - 1)

    def _sync_frame(self) -> None:
        if self.active and self.window.row is not None:
            self.dock_widget.show_frame(self.window.row)

    # ------------------------------------------------------------------------------ objects
    def set_object(self, obj_id: int) -> None:
        """The next clicks are for object ``obj_id`` (a tracked one: a correction)."""
        if obj_id != self.current_obj:
            self.window.ai.clear()
        self.current_obj = int(obj_id)
        self.dock_widget.set_objects(self.objects, self.current_obj)

    def _on_selection(self, indices: list) -> None:
        """Selecting a tracked object's shape (canvas or shape list) makes the next clicks correct that object,
        unless an object is being prompted (its clicks are kept: finish or clear it first)."""
        w = self.window
        if not self.active or not indices or w.annotation is None:
            return
        ids = {w.annotation.shapes[i].track_id for i in indices if i < len(w.annotation.shapes)}
        if len(ids) != 1 or None in ids:
            return
        obj = int(ids.pop())
        if obj == self.current_obj:
            return
        if w.ai.has_prompts:
            self._status(f"Finish (F) or clear (B) the object being prompted to correct object {obj}")
            return
        self.set_object(obj)
        self._status(f"Clicks now correct object {obj}" + (f" ({self.objects[obj]})" if obj in self.objects else ""))

    def new_object(self) -> None:
        """The next clicks start a new object, with a fresh id."""
        self.set_object(max([self.max_track_id, *self.objects]) + 1)

    def _target(self, request: SegmentRequest) -> Target:
        if not self.active:
            self._check_active()
            return None
        frame = self.window.row
        ann = self.window.annotation
        previous = None
        if ann is not None:
            size = (ann.image_height, ann.image_width)
            parts = [shape_mask(s, size) for s in ann.shapes if s.track_id == self.current_obj]
            parts = [m for m in parts if m is not None]
            previous = np.logical_or.reduce(parts) if parts else None
        return frame, self.current_obj, previous

    def _on_finish(self, mask: np.ndarray, polygons: list) -> None:
        """F: in video mode, confirm the current object on this frame; otherwise the window's own finish."""
        w = self.window
        if not self.active:
            if self._delegate_finish:
                w.finish_ai_object(mask, polygons)
            return
        obj = self.current_obj
        choice = self._choose_label(obj, mask)
        shapes = w.finished_shapes(mask, polygons, choice)
        if shapes is None:
            return
        for s in shapes:
            s.track_id = obj
        old = [i for i, s in enumerate(w.annotation.shapes) if s.track_id == obj]
        indices = w.history.push(ReplaceTrack(old, shapes, f"object {obj}: {choice.label}"))
        w.last_label = choice.label
        w.ai.clear()
        w.canvas.set_selection(set(indices))
        w.after_object_finished()
        corrected = obj in self.objects
        self.objects[obj] = choice.label
        self.max_track_id = max(self.max_track_id, obj)
        self.worker.set_label(obj, choice.label)
        self._status(f"Object {obj} ({choice.label}) {'corrected' if corrected else 'confirmed'} on frame "
                     f"{w.row}: Ctrl+M propagates it" + ("; clicks still correct it (New object for another)"
                                                         if corrected else ""))
        if corrected:
            self.dock_widget.set_objects(self.objects, self.current_obj)
        else:
            self.new_object()

    def _choose_label(self, obj: int, mask: np.ndarray):
        """The label of a confirmed object: its own label pre-filled for a correction; for a new object the
        suggestions (SSA vote, CLIP), accepted without asking above ``config.auto_accept_confidence``, as
        the window does for images."""
        w = self.window
        sources = w.label_suggestion_sources(mask)
        merged = sorted(((n, c) for items in sources.values() for n, c in items), key=lambda kv: -kv[1])
        threshold = w.config.auto_accept_confidence
        if obj not in self.objects and merged and threshold is not None and merged[0][1] >= threshold:
            from anylabel.gui.dialogs import LabelChoice

            w.statusBar().showMessage(f"Accepted {merged[0][0]} ({merged[0][1]:.0%}) without asking", 4000)
            return LabelChoice(merged[0][0])
        default = self.objects.get(obj) or (merged[0][0] if merged else w.last_label)
        return w.ask_label(default, sources)

    # ------------------------------------------------------------------------------ tracking
    def propagate(self) -> None:
        """Ctrl+M: save this frame, then track from it to the "to frame" box in the background."""
        w = self.window
        if not self.active or w.row is None:
            w.statusBar().showMessage("Open a video first (Video → Open video or frame folder)", 4000)
            return
        if self.worker.propagating:
            w.statusBar().showMessage("Already propagating (Cancel stops it)", 3000)
            return
        if self.tracking == "off":
            w.warn(video_model.tracking_off_message(self.model), "Tracking")
            return
        if w.history is not None and w.history.dirty and not w.save():
            return
        end = max(w.row, self.dock_widget.end_box.value())
        self.dock_widget.set_running(True, end - w.row + 1)
        self.worker.propagate(w.row, end)

    def cancel(self) -> None:
        """Stop the running propagation before its next frame."""
        self.worker.cancel()

    def reset_tracker(self) -> None:
        """Ctrl+Shift+R: forget every object, prompt and memory of the tracker; files are kept."""
        if self.folder is None:
            self.window.statusBar().showMessage("Open a video first", 3000)
            return
        self.worker.reset()
        self.objects = {}
        self.window.ai.clear()
        self.new_object()

    def _on_started(self, start: int, total: int) -> None:
        self.dock_widget.set_running(True, total)
        self._status(f"Tracking {total} frame(s) from frame {start}…")

    def _on_frame_tracked(self, frame: int, done: int, total: int) -> None:
        self.dock_widget.progress.setValue(done)
        self.window.file_list.model.refresh_row(frame)
        if not self.active:
            return
        dirty = self.window.history is not None and self.window.history.dirty
        if frame == self.window.row and not dirty:
            self._reload(frame)
        elif self.dock_widget.follow_box.isChecked() and not dirty:
            self.goto(frame)

    def _on_finished(self, frames: int, cancelled: bool) -> None:
        self.dock_widget.set_running(False)
        self._status(f"Tracking {'cancelled after' if cancelled else 'done:'} {frames} frame(s)")
        if self.active and self.window.row is not None and not (self.window.history and self.window.history.dirty):
            self._reload(self.window.row)

    def _reload(self, frame: int) -> None:
        """Show the file the tracker just wrote for ``frame`` (the window holds no unsaved change)."""
        self.window.row = None
        self.window.load_row(frame, ask=False)
        self._sync_frame()

