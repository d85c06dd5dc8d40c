"""The tracker's background thread: one :class:`TrackingSession`, its clicks, propagation, reset, on the
GUI's one worker idiom (:class:`~anylabel.gui.tasks.TaskWorker`).

:class:`TrackerWorker` plays two parts:

* for the window's :class:`~anylabel.gui.ai.controller.AiController` it is a drop-in
  :class:`~anylabel.gui.ai.worker.SegmentWorker` (``submit`` / ``resultReady`` / ``failed`` / ``status``):
  in video mode a click becomes ``session.add_prompt(frame, object, prompt)`` and its mask comes back as a
  one-candidate :class:`~anylabel.gui.ai.worker.SegmentResult` (same "newest request wins" policy: the newest
  prompt set of the object is answered, stale answers are dropped by the controller);
* for the video panel it runs long jobs in order: loading the model and opening the session,
  propagation (each frame written to its LabelMe file as it arrives and reported by
  :attr:`frameTracked`), reset, labels. :meth:`cancel` is safe from the GUI thread and stops a
  propagation before its next frame (``TrackingSession.cancel``).

Nothing here blocks the GUI thread: every call only queues work and wakes the thread.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np
from PyQt5 import QtCore

from anylabel.backends.prompt import MaskCandidate
from anylabel.errors import AnylabelError, ModelError
from anylabel.geometry import mask_to_box
from anylabel.gui.ai.worker import SegmentRequest, SegmentResult, mask_overlay
from anylabel.gui.tasks import TaskWorker
from anylabel.session.video import start_frame
from anylabel.tasks import JobContext, Policy
from anylabel.tracking.propagation import Propagation

log = logging.getLogger(__name__)

#: (frame index, object id, the object's current mask on that frame or None), or None when the request
#: is not for the open video (the panel then hands the click back to the image worker)
Target = Optional[Tuple[int, int, Optional[np.ndarray]]]


class TrackerWorker(QtCore.QObject):
    """Runs a :class:`~anylabel.tracking.TrackingSession` on its own :class:`~anylabel.gui.tasks.TaskWorker`:
    clicks are "newest request wins" jobs, opening / propagating / resetting / labels queued ones.

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
    trackIdsFound = QtCore.pyqtSignal(object, int)  # folder, the highest track_id in its files (0: none)
    error = QtCore.pyqtSignal(str)

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
        #: ``fn(frame, annotation)`` called on the worker thread after each frame file is written
        self.on_written: Optional[Callable[[int, Any], None]] = None
        self._predictors: Dict[Tuple[str, Optional[str]], Any] = {}
        self.tasks = TaskWorker("tracker-worker")
        self.tasks.message.connect(lambda _job, text: self.status.emit(text))

    # ----------------------------------------------------------------- SegmentWorker interface
    def submit(self, request: SegmentRequest) -> None:
        """A click set for the current object on the shown frame (replaces one not started yet)."""
        target = self.target(request)
        if target is None:
            return
        self.tasks.submit(lambda ctx: self._answer(ctx, request, target), kind="click", policy=Policy.LATEST,
                          on_done=self._deliver,
                          on_failed=lambda m: self.failed.emit(request.image_id, request.version, m))

    def prefetch(self, paths) -> None:
        """Nothing to prefetch: the tracker encodes frames as it reaches them."""

    def load(self) -> None:
        """The model loads when a video is opened (:meth:`open_video`)."""

    def stop(self, wait_ms: int = 30000) -> None:
        """Cancel any propagation, stop the thread and join it (idempotent: the window's exit and its
        destruction both call it). A model load that outlasts ``wait_ms`` finishes on its own thread, which
        the interpreter's exit waits for; nothing is emitted any more."""
        self.cancel()
        self.tasks.shutdown(wait_ms / 1000, keep_alive=self)

    # ----------------------------------------------------------------- panel interface
    def open_video(self, folder: Any, model: str) -> None:
        """Start a session on ``folder`` (a VideoFrameFolder) with zoo model ``model``."""
        self._queue("open", lambda ctx: self._open(ctx, folder, model))

    def find_track_ids(self, folder: Any) -> None:
        """Scan the files of ``folder`` (a VideoFrameFolder) for the highest ``track_id`` on this thread, not
        the GUI's (10,000 frame files take about half a second); queued before the model loads, so
        :attr:`trackIdsFound` arrives before :attr:`opened`."""
        from anylabel.tracking.folder import highest_track_id

        self._queue("scan", lambda ctx: self.tasks.emit(self.trackIdsFound, folder,
                                                        highest_track_id(folder.output_dir)))

    def propagate(self, plan: Propagation, shown: int, existing: str = "replace") -> None:
        """Track the confirmed objects as ``plan`` says (direction, range) from the frame ``shown`` (or an
        object's newer prompt: :func:`anylabel.session.video.start_frame`); ``existing``: ``replace`` or
        ``keep`` an object's shapes already on a frame."""
        self._queue("propagate", lambda ctx: self._propagate(plan, shown, existing))

    def cancel(self) -> None:
        """Stop a running propagation before its next frame; drop queued ones."""
        self.tasks.cancel("propagate")
        session = self.session
        if session is not None:
            session.cancel()

    def reset(self) -> None:
        """Clear the tracker (objects, prompts, memory); files are not touched."""
        self.cancel()
        self._queue("reset", lambda ctx: self._reset())

    def set_label(self, obj_id: int, label: str) -> None:
        """Object ``obj_id`` is confirmed (F) with ``label``: it will be propagated."""
        self.confirmed[int(obj_id)] = label  # read by _propagate on the worker thread, after this job
        self._queue("label", lambda ctx: self.session is not None and self.session.set_label(obj_id, label))

    # ----------------------------------------------------------------- worker thread
    def _queue(self, kind: str, job: Callable[[JobContext], None]) -> None:
        self.tasks.submit(job, kind=kind, on_failed=self.error.emit)

    def _deliver(self, result: Optional[SegmentResult]) -> None:
        if result is not None:
            self.resultReady.emit(result)

    def _open(self, ctx: JobContext, folder: Any, model: str) -> None:
        from anylabel.backends.engines import notices
        from anylabel.tracking.model import open_session

        self.session, self.folder, self.confirmed = None, folder, {}
        key = (model, self.device())
        predictor = self._predictors.get(key)
        if predictor is None:
            ctx.say(f"{model}: loading the tracking model…")
            t0 = time.perf_counter()
            try:
                predictor = self._load(model)
            except AnylabelError as e:  # missing, corrupt or wrong file: the window stays usable without it
                log.warning("tracking model %s: %s", model, e)
                ctx.say(f"{model}: not loaded (tracking is off)")
                self.tasks.emit(self.openFailed, model, str(e))
                return
            ctx.check()  # the window closed during the load: no session for nobody
            self._predictors = {key: predictor}  # one model in memory
            ctx.say(f"{model}: loaded in {time.perf_counter() - t0:.1f} s")
            self.tasks.emit(self.modelLoaded, model)
        self.name = model
        with notices(ctx.say):  # a one-time engine probe (precision auto) says so
            self.session = open_session(predictor, folder.source, precision=self.precision)
        ctx.say(f"{model}: tracking on {self.session.device}, {self.session.precision}")
        self.tasks.emit(self.opened, model)

    def _answer(self, ctx: JobContext, req: SegmentRequest, target: Target) -> SegmentResult:
        frame, obj_id, previous = target
        if self.session is None:
            raise ModelError("the tracking model is not loaded yet (see the status bar)")
        self.tasks.emit(self.busyChanged, True)
        try:
            t0 = time.perf_counter()
            mask = self.session.add_prompt(frame, obj_id, req.prompt, previous_mask=previous)
            seconds = time.perf_counter() - t0
            box = mask_to_box(mask)
            cand = MaskCandidate(mask, 1.0, None, None if box is None else tuple(int(v) for v in box))
            polygons = cand.polygons(tolerance=req.tolerance, min_area=req.min_area)
            overlay = mask_overlay(mask, req.colour, cand.box)
        finally:
            self.tasks.emit(self.busyChanged, False)
        ctx.say(f"{self.name}: object {obj_id} on frame {frame} in {seconds * 1000:.0f} ms")
        return SegmentResult(req.image_id, req.version, req.prompt, [cand], [polygons], [overlay], 0.0, seconds)

    def _propagate(self, plan: Propagation, shown: int, existing: str) -> None:
        session = self.session
        if session is None:
            raise ModelError("the tracking model is not loaded yet")
        known = set(session.obj_ids)
        confirmed = [o for o in session.obj_ids if o in self.confirmed]
        pending = [o for o in confirmed if session.pending.get(o)]
        objs = pending or confirmed
        if not objs:
            missing = "" if known else " (no object has prompts)"
            self.tasks.emit(self.propagationFinished, 0, False)
            raise AnylabelError("Nothing to propagate: click an object and finish it with F first" + missing)
        marks = [f for o in pending for f in session.pending[o]]
        plan = dataclasses.replace(plan, start=start_frame(plan.direction, shown, marks))
        try:
            total = session.frames_to_track(plan, objs)
            passes = session.passes(plan, objs)
        except AnylabelError:
            self.tasks.emit(self.propagationFinished, 0, False)
            raise
        self.propagating, self.frames_done = True, 0
        self.folder.annotations.existing = existing
        self.tasks.emit(self.propagationStarted, passes[0].start if passes else shown, total)
        done, cancelled = 0, False
        try:
            for result in session.run(plan, objs):
                ann = self.folder.write_result(result)  # kept for the window to show without parsing the file
                if self.on_written is not None:
                    self.on_written(result.frame_index, ann)
                done += 1
                self.frames_done = done
                self.tasks.emit(self.frameTracked, result.frame_index, done, total)
            cancelled = session.last_run_cancelled
        finally:
            self.propagating = False
            self.tasks.emit(self.propagationFinished, done, cancelled)

    def _reset(self) -> None:
        if self.session is not None:
            self.session.reset()
        self.confirmed = {}
        self.tasks.emit(self.trackerReset)

