"""The background segmentation worker: one long-lived worker thread per backend (:mod:`anylabel.gui.tasks`).

Contract with the GUI thread:

* :meth:`SegmentWorker.submit` never blocks. A request carries ``(image_id, version)``; it is a "newest
  request wins" job (:attr:`anylabel.tasks.Policy.LATEST`): it replaces any request still waiting and tells
  the running one to stop after its encode, so however fast the user clicks, the worker runs at most the
  one request in progress plus the newest one, and the newest prompt set is always answered.
* Results come back through :attr:`SegmentWorker.resultReady`, tagged with the request's image id and
  version; the GUI drops a result whose image or version is no longer current (stale).
* Errors come back through :attr:`SegmentWorker.failed` as messages (the GUI shows them), with the
  traceback in the log, never as a crash of the thread.
* The images given to :meth:`prefetch` (the next images of the list) are encoded in the background by the
  backends' :class:`~anylabel.backends.prefetch.Prefetcher` (its own thread, ``segmenter.encode``: the
  current image is untouched), so moving on usually finds the embedding cached. A new :meth:`prefetch`
  call replaces the old list; a click on an image being pre-encoded waits for that run, never a second one.

Everything heavy (loading the model, decoding, encoding, decoding masks, mask -> polygon, colouring the
overlay) happens here, off the GUI thread.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
from PyQt5 import QtCore, QtGui

from anylabel.backends import MaskCandidate, Prompt, Segmenter
from anylabel.backends.engines import notices
from anylabel.backends.prefetch import Prefetcher
from anylabel.backends.promptable import array_key
from anylabel.editing.reprompt import LogitFrame
from anylabel.errors import ModelError
from anylabel.gui.tasks import TaskWorker
from anylabel.imaging.loader import file_key
from anylabel.session.prompts import PromptPlan
from anylabel.tasks import JobContext, Policy, error_message

log = logging.getLogger(__name__)


@dataclass
class SegmentRequest:
    """One prompt set to answer.

    Attributes:
        image_id: the GUI's name of the image (its path); results for another id are stale.
        version: increases with every prompt change; results for an older version are stale.
        image_path: the file, used for the content key and (when ``image`` is None) decoding.
        prompt: the clicks and boxes in image pixels.
        image: the decoded HxWx3 uint8 RGB pixels when the GUI already has them (saves a decode).
        tolerance, min_area: mask -> polygon settings (pixels).
        colour: (r, g, b, alpha 0..1) of the preview overlay.
        plan: when the prompts start from a mask (a re-prompted shape, a brushed preview), the prompt is
            rebuilt from it once the image is set, on the model's own logit grid (the GUI may not have known
            it: Ctrl+R before the model encoded the image); ``prompt`` is then only the GUI's guess.
    """

    image_id: str
    version: int
    image_path: str
    prompt: Prompt
    image: Optional[np.ndarray] = None
    tolerance: float = 1.0
    min_area: float = 25.0
    colour: Tuple[int, int, int, float] = (0, 200, 255, 0.45)
    plan: Optional[PromptPlan] = None


@dataclass
class SegmentResult:
    """The answer to a :class:`SegmentRequest`: candidates best first, each with its polygons
    (Kx2 float64 (x, y) arrays) and its coloured overlay (ARGB32 QImage of the mask's box crop, x0, y0).

    ``polygons`` / ``overlays`` hold what was computed in the worker: the best candidate's. The others are
    computed by :meth:`view` when first shown (C cycles to them): a click then pays for one full-size mask,
    polygon and overlay, not three (a few ms each on a 12 MP image).
    """

    image_id: str
    version: int
    prompt: Prompt
    candidates: List[MaskCandidate]
    polygons: List[List[np.ndarray]] = field(default_factory=list)
    overlays: List[Tuple[Optional[QtGui.QImage], int, int]] = field(default_factory=list)
    encode_seconds: float = 0.0
    predict_seconds: float = 0.0
    tolerance: float = 1.0
    min_area: float = 25.0
    colour: Tuple[int, int, int, float] = (0, 200, 255, 0.45)

    def view(self, k: int) -> Tuple[Tuple[Optional[QtGui.QImage], int, int], List[np.ndarray]]:
        """Candidate ``k``'s (overlay, x0, y0) and polygons, computed on first use."""
        while len(self.polygons) <= k:
            cand = self.candidates[len(self.polygons)]
            self.polygons.append(cand.polygons(tolerance=self.tolerance, min_area=self.min_area))
            self.overlays.append(mask_overlay(cand.mask, self.colour, cand.box))
        return self.overlays[k], self.polygons[k]


class SegmentWorker(QtCore.QObject):
    """Runs one :class:`Segmenter` on its own :class:`~anylabel.gui.tasks.TaskWorker` (the GUI's one worker
    idiom): clicks are "newest request wins" jobs, the model load a queued one.

    Args:
        make_segmenter: builds the segmenter; called in the worker thread (loading can take seconds).
        name: the backend's name, for status messages.
        image_loader: decodes for the prefetcher (the window's read-ahead).
    """

    resultReady = QtCore.pyqtSignal(object)  # SegmentResult
    failed = QtCore.pyqtSignal(str, int, str)  # image_id, version, message
    status = QtCore.pyqtSignal(str)  # what the model is doing, for the status bar
    busyChanged = QtCore.pyqtSignal(bool)
    modelLoaded = QtCore.pyqtSignal(str)

    def __init__(self, make_segmenter: Callable[[], Segmenter], name: str,
                 image_loader: Optional[Callable[[str], np.ndarray]] = None) -> None:
        super().__init__()
        self.name = name
        self._image_loader = image_loader
        self._make = make_segmenter
        self._segmenter: Optional[Segmenter] = None
        self.load_error: Optional[str] = None  # why the model did not load (then every click says so)
        self._lock = threading.Lock()
        self._prefetch: List[str] = []
        self._prefetcher: Optional[Prefetcher] = None
        self._current_key: Optional[str] = None
        self._keys: Dict[str, str] = {}  # path -> content key
        self.requests_run = 0  # how many requests reached the model (tests check coalescing with it)
        self.tasks = TaskWorker(f"segment-worker-{name}", on_exit=self._release)
        self.tasks.message.connect(lambda _job, text: self.status.emit(text))

    # ------------------------------------------------------------------ GUI-thread API
    def submit(self, request: SegmentRequest) -> None:
        """Answer ``request``; it replaces a request that has not started yet (newest wins)."""
        def failed(message: str) -> None:
            self.busyChanged.emit(False)
            self.failed.emit(request.image_id, request.version, message)

        self.tasks.submit(lambda ctx: self._answer(ctx, request), kind="click", policy=Policy.LATEST,
                          on_done=self._deliver, on_failed=failed, on_cancelled=lambda: self.busyChanged.emit(False))

    def prefetch(self, paths: List[str]) -> None:
        """Encode these images in the background (replaces the previous list)."""
        with self._lock:
            self._prefetch = [str(p) for p in paths]
            prefetcher = self._prefetcher
        if prefetcher is not None:
            prefetcher.prefetch(self._prefetch)
        else:
            self.load()  # loads the model, which then starts the prefetcher

    def load(self) -> None:
        """Load the model now rather than at the first click."""
        if self.tasks.running_kind != "load" and self._segmenter is None:
            self.tasks.submit(lambda ctx: self._ensure_model(ctx), kind="load", policy=Policy.LATEST)

    @property
    def segmenter(self) -> Optional[Segmenter]:
        return self._segmenter

    def stop(self, wait_ms: int = 30000) -> None:
        """Stop after the current step and release the model (waits up to ``wait_ms`` for the thread; a job
        still running then releases the model when it ends)."""
        self._close_prefetcher(wait_ms / 1000)
        self.tasks.shutdown(wait_ms / 1000, keep_alive=self)

    def retire(self) -> None:
        """Stop without blocking the GUI (switching models while an encode runs): the thread finishes its
        step in the background, then releases the model."""
        self._close_prefetcher(0.0)
        self.tasks.shutdown(timeout=0, keep_alive=self)

    def _close_prefetcher(self, timeout: float) -> None:
        with self._lock:
            self._prefetch = []
            prefetcher, self._prefetcher = self._prefetcher, None
        if prefetcher is not None:
            prefetcher.close(timeout=timeout)

    def _release(self) -> None:
        """On the worker thread after its last job (or at once, if it never ran one)."""
        if self._segmenter is not None:
            self._segmenter.close()
            self._segmenter = None

    def _deliver(self, result: Optional[SegmentResult]) -> None:
        self.busyChanged.emit(False)
        if result is not None:
            self.resultReady.emit(result)

    # ------------------------------------------------------------------ worker thread
    def _ensure_model(self, ctx: JobContext) -> bool:
        if self._segmenter is not None:
            return True
        if self.load_error is None:
            ctx.say(f"{self.name}: loading the model…")
            t0 = time.perf_counter()
            try:
                with notices(ctx.say):  # a one-time engine probe or ONNX export says so
                    self._segmenter = self._make()
            except Exception as e:  # noqa: BLE001 - any failure must reach the user as a message
                log.exception("loading %s failed", self.name)
                self.load_error = error_message(e)
            else:
                ctx.say(f"{self.name}: ready on {runs_on(self._segmenter)} "
                        f"(loaded in {time.perf_counter() - t0:.1f} s)")
                self.tasks.emit(self.modelLoaded, self.name)
                self._start_prefetcher(ctx)
                return True
        ctx.say(f"{self.name}: cannot load: {self.load_error}")
        return False

    def _key(self, path: str, image: Optional[np.ndarray] = None) -> str:
        key = self._keys.get(path)
        if key is None:
            # a video frame is shown from the video and has no file until it is saved: its pixels are its key
            missing = image is not None and not os.path.exists(path)
            key = self._keys[path] = array_key(image) if missing else file_key(path)
        return key

    def _set_image(self, ctx: JobContext, path: str, image: Optional[np.ndarray]) -> float:
        """Make ``path`` the segmenter's current image; returns the seconds spent (encoding when not cached)."""
        key = self._key(path, image)
        if key == self._current_key:
            return 0.0
        seg = self._segmenter
        if not seg.has_embedding(key):
            ctx.say(f"{self.name}: encoding the image…")
        t0 = time.perf_counter()
        seg.set_image_path(path, image=image, key=key)  # the core's rule: cached embedding, else decode + encode
        self._current_key = key
        return time.perf_counter() - t0

    def _answer(self, ctx: JobContext, req: SegmentRequest) -> Optional[SegmentResult]:
        self.tasks.emit(self.busyChanged, True)
        if not self._ensure_model(ctx):
            raise ModelError(f"cannot load {self.name}: {self.load_error}")
        try:
            encode = self._set_image(ctx, req.image_path, req.image)
        except Exception:
            self._current_key = None
            raise
        ctx.check()  # a newer prompt set arrived while encoding: answer that one instead
        ctx.say(f"{self.name}: segmenting…")
        t0 = time.perf_counter()
        prompt = req.prompt if req.plan is None else req.plan.prompt(LogitFrame.of(self._segmenter))
        candidates = self._segmenter.predict(prompt)
        predict = time.perf_counter() - t0
        self.requests_run += 1
        result = SegmentResult(req.image_id, req.version, prompt, candidates, encode_seconds=encode,
                               predict_seconds=predict, tolerance=req.tolerance, min_area=req.min_area,
                               colour=req.colour)
        if candidates:
            result.view(0)  # the best candidate's polygons and overlay, here off the GUI thread
        ctx.say(f"{self.name}: {len(candidates)} mask(s) in {predict * 1000:.0f} ms"
                + (f" (encoding {encode:.1f} s)" if encode > 0.05 else ""))
        return result

    def _start_prefetcher(self, ctx: JobContext) -> None:
        def encoded(path, key) -> None:  # called on the prefetcher's thread: through the worker's gate
            self.tasks.say(f"{self.name}: pre-encoded {Path(path).name}")

        prefetcher = Prefetcher(self._segmenter, on_encoded=encoded, load_image=self._image_loader)
        with self._lock:
            if self.tasks.closed:
                prefetcher.close(timeout=0)
                return
            self._prefetcher = prefetcher
            paths = list(self._prefetch)
        if paths:
            prefetcher.prefetch(paths)


def mask_overlay(mask: np.ndarray, colour: Tuple[int, int, int, float],
             box: Optional[Tuple[int, int, int, int]] = None) -> Tuple[Optional[QtGui.QImage], int, int]:
    """The mask's box crop coloured for the canvas, and the crop's image position."""
    from anylabel.gui.canvas.paint import mask_image

    if box is None:
        ys = np.flatnonzero(mask.any(axis=1))
        if not len(ys):
            return (None, 0, 0)
        xs = np.flatnonzero(mask.any(axis=0))
        box = (xs[0], ys[0], xs[-1] + 1, ys[-1] + 1)
    x0, y0, x1, y1 = (int(v) for v in box)
    if x1 <= x0 or y1 <= y0:
        return (None, 0, 0)
    r, g, b, a = colour
    return (mask_image(mask[y0:y1, x0:x1], QtGui.QColor(r, g, b), a), int(x0), int(y0))


def runs_on(segmenter: object) -> str:
    """``cuda:0 (NVIDIA ...), bfloat16`` / ``cpu, float32``: where and how a segmenter runs (test fakes
    without :meth:`~anylabel.backends.base.Segmenter.runs_on` show their precision, if any)."""
    describe = getattr(segmenter, "runs_on", None)
    if callable(describe):
        return describe()
    return ", ".join(str(v) for v in (getattr(segmenter, "device", "cpu"), getattr(segmenter, "precision", None)) if v)
