"""The tracker's background thread: one :class:`TrackingSession`, its clicks, propagation, reset.

:class:`TrackerWorker` plays two parts:

* for the window's :class:`~anylabel.gui.ai_controller.AiController` it is a drop-in
  :class:`~anylabel.gui.worker.SegmentWorker` (``submit`` / ``resultReady`` / ``failed`` / ``status``):
  in video mode a click becomes ``session.add_prompt(frame, object, prompt)`` and its mask comes back as a
  one-candidate :class:`~anylabel.gui.worker.SegmentResult` (same coalescing: the newest prompt set of
  the object is answered, stale answers are dropped by the controller);
* for the video panel it runs long jobs in order: loading the model and opening the session,
  propagation (each frame written to its LabelMe file as it arrives and reported by
  :attr:`frameTracked`), reset, labels. :meth:`cancel` is safe from the GUI thread and stops a
  propagation before its next frame (``TrackingSession.cancel``).

Nothing here blocks the GUI thread: every call only queues work and wakes the thread.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, Dict, Optional, Tuple

import numpy as np
from PyQt5 import QtCore

from anylabel.backends.prompt import MaskCandidate
from anylabel.errors import AnylabelError
from anylabel.geometry import mask_to_box
from anylabel.gui.worker import SegmentRequest, SegmentResult, _message, _overlay

log = logging.getLogger(__name__)

#: (frame index, object id, the object's current mask on that frame or None), or None when the request
#: is not for the open video (the panel then hands the click back to the image worker)
Target = Optional[Tuple[int, int, Optional[np.ndarray]]]


class TrackerWorker(QtCore.QObject):
    """Runs a :class:`~anylabel.tracking.TrackingSession` in its own thread.

    Args:
        load_predictor: ``fn(model name) -> SAM2VideoPredictor``, called in the worker thread.
        target: ``fn(request) -> Target``, called in the GUI thread when a click arrives.
    """

    resultReady = QtCore.pyqtSignal(object)  # SegmentResult
    failed = QtCore.pyqtSignal(str, int, str)  # image_id, version, message
    status = QtCore.pyqtSignal(str)
    busyChanged = QtCore.pyqtSignal(bool)
    modelLoaded = QtCore.pyqtSignal(str)
    opened = QtCore.pyqtSignal(str)  # model name: the session is ready
    openFailed = QtCore.pyqtSignal(str, str)  # model name, message: no session (the model did not load)
    propagationStarted = QtCore.pyqtSignal(int, int)  # first frame, number of frames
    frameTracked = QtCore.pyqtSignal(int, int, int)  # frame, frames done, frames in the run
    propagationFinished = QtCore.pyqtSignal(int, bool)  # frames done, cancelled
    trackerReset = QtCore.pyqtSignal()
    error = QtCore.pyqtSignal(str)
    _wake = QtCore.pyqtSignal()

    def __init__(self, load_predictor: Callable[[str], Any], target: Callable[[SegmentRequest], Target],
                 precision: Optional[str] = None, device: Callable[[], Optional[str]] = lambda: None) -> None:
        super().__init__()
        self.precision = precision  # the sessions' (anylabel.backends.precision)
        self.device = device  # the device the next load uses (the Device menu changes it): part of the cache key
        self.name = "tracker"
        self._load = load_predictor
        self.target = target
        self.session = None
        self.folder = None  # VideoFrameFolder of the session
        self.confirmed: Dict[int, str] = {}  # object id -> label, for objects finished with F
        self.propagating = False
        self.frames_done = 0
        self._predictors: Dict[Tuple[str, Optional[str]], Any] = {}
        self._lock = threading.Lock()
        self._pending: Optional[Tuple[SegmentRequest, Target]] = None
        self._jobs: Deque[Callable[[], None]] = deque()
        self._stopping = False
        self._thread = QtCore.QThread()
        self._thread.setObjectName("tracker-worker")
        self.moveToThread(self._thread)
        self._wake.connect(self._run, QtCore.Qt.QueuedConnection)
        self._thread.start()

    # ----------------------------------------------------------------- SegmentWorker interface
    def submit(self, request: SegmentRequest) -> None:
        """A click set for the current object on the shown frame (replaces one not started yet)."""
        target = self.target(request)
        if target is None:
            return
        with self._lock:
            self._pending = (request, target)
        self._wake.emit()

    def prefetch(self, paths) -> None:
        """Nothing to prefetch: the tracker encodes frames as it reaches them."""

    def load(self) -> None:
        self._wake.emit()

    def stop(self, wait_ms: int = 30000) -> None:
        """Cancel any propagation and stop the thread (once: the window's exit and its destruction both call it)."""
        self.cancel()
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            self._pending = None
            self._jobs.clear()
        self._thread.quit()
        self._thread.wait(wait_ms)

    # ----------------------------------------------------------------- panel interface
    def open_video(self, folder: Any, model: str) -> None:
        """Start a session on ``folder`` (a VideoFrameFolder) with zoo model ``model``."""
        self._queue(lambda: self._open(folder, model))

    def propagate(self, start: int, end: int) -> None:
        """Track the confirmed objects from ``start`` (or their earliest new prompt) to ``end``."""
        self._queue(lambda: self._propagate(start, end))

    def cancel(self) -> None:
        """Stop a running propagation before its next frame; drop queued ones."""
        session = self.session
        if session is not None:
            session.cancel()

    def reset(self) -> None:
        """Clear the tracker (objects, prompts, memory); files are not touched."""
        self.cancel()
        self._queue(self._reset)

    def set_label(self, obj_id: int, label: str) -> None:
        """Object ``obj_id`` is confirmed (F) with ``label``: it will be propagated."""
        self.confirmed[int(obj_id)] = label  # read by _propagate on the worker thread, after this job
        self._queue(lambda: self.session is not None and self.session.set_label(obj_id, label))

    # ----------------------------------------------------------------- worker thread
    def _queue(self, job: Callable[[], None]) -> None:
        with self._lock:
            self._jobs.append(job)
        self._wake.emit()

    @QtCore.pyqtSlot()
    def _run(self) -> None:
        with self._lock:
            if self._stopping:
                return
            pending, self._pending = self._pending, None
            job = self._jobs.popleft() if pending is None and self._jobs else None
        try:
            if pending is not None:
                self._answer(*pending)
            elif job is not None:
                job()
        except AnylabelError as e:  # an expected problem (a file, a model): a message, no traceback
            log.warning("tracker: %s", e)
            self.error.emit(str(e))
        except Exception as e:  # noqa: BLE001 - every failure must reach the user as a message
            log.exception("tracker job failed")
            self.error.emit(_message(e))
        with self._lock:
            more = not self._stopping and (self._pending is not None or bool(self._jobs))
        if more:
            self._wake.emit()

    def _open(self, folder: Any, model: str) -> None:
        from anylabel.backends.engines import notices
        from anylabel.tracking import TrackingSession

        self.session, self.folder, self.confirmed = None, folder, {}
        key = (model, self.device())
        predictor = self._predictors.get(key)
        if predictor is None:
            self.status.emit(f"{model}: loading the tracking model…")
            t0 = time.perf_counter()
            try:
                predictor = self._load(model)
            except AnylabelError as e:  # missing, corrupt or wrong file: the window stays usable without it
                log.warning("tracking model %s: %s", model, e)
                self.status.emit(f"{model}: not loaded (tracking is off)")
                self.openFailed.emit(model, str(e))
                return
            self._predictors = {key: predictor}  # one model in memory
            self.status.emit(f"{model}: loaded in {time.perf_counter() - t0:.1f} s")
            self.modelLoaded.emit(model)
        self.name = model
        with notices(self.status.emit):  # a one-time engine probe (precision auto) says so
            self.session = TrackingSession(predictor, folder.source, precision=self.precision)
        self.status.emit(f"{model}: tracking on {self.session.device}, {self.session.precision}")
        self.opened.emit(model)

    def _answer(self, req: SegmentRequest, target: Target) -> None:
        frame, obj_id, previous = target
        if self.session is None:
            self.failed.emit(req.image_id, req.version, "the tracking model is not loaded yet (see the status bar)")
            return
        self.busyChanged.emit(True)
        try:
            t0 = time.perf_counter()
            mask = self.session.add_prompt(frame, obj_id, req.prompt, previous_mask=previous)
            seconds = time.perf_counter() - t0
            box = mask_to_box(mask)
            cand = MaskCandidate(mask, 1.0, None, None if box is None else tuple(int(v) for v in box))
            polygons = cand.polygons(tolerance=req.tolerance, min_area=req.min_area)
            overlay = _overlay(mask, req.colour, cand.box)
        except AnylabelError as e:
            self.failed.emit(req.image_id, req.version, str(e))
            return
        finally:
            self.busyChanged.emit(False)
        self.resultReady.emit(SegmentResult(req.image_id, req.version, req.prompt, [cand], [polygons], [overlay],
                                            0.0, seconds))
        self.status.emit(f"{self.name}: object {obj_id} on frame {frame} in {seconds * 1000:.0f} ms")

    def _propagate(self, start: int, end: int) -> None:
        session = self.session
        if session is None:
            self.error.emit("the tracking model is not loaded yet")
            return
        known = set(session.obj_ids)
        confirmed = [o for o in session.obj_ids if o in self.confirmed]
        pending = [o for o in confirmed if session.pending.get(o)]
        objs = pending or confirmed
        if not objs:
            missing = "" if known else " (no object has prompts)"
            self.error.emit("Nothing to propagate: click an object and finish it with F first" + missing)
            self.propagationFinished.emit(0, False)
            return
        marks = [f for o in pending for f in session.pending[o]]
        start = min([start] + marks)
        total = max(0, end - start + 1)
        self.propagating, self.frames_done = True, 0
        self.propagationStarted.emit(start, total)
        done, cancelled = 0, False
        try:
            for result in session.propagate(start=start, end=end, obj_ids=objs):
                self.folder.annotations.write(result)
                self.folder.set_annotated(result.frame_index, True)
                done += 1
                self.frames_done = done
                self.frameTracked.emit(result.frame_index, done, total)
            cancelled = session.last_run_cancelled
        finally:
            self.propagating = False
            self.propagationFinished.emit(done, cancelled)

    def _reset(self) -> None:
        if self.session is not None:
            self.session.reset()
        self.confirmed = {}
        self.trackerReset.emit()

