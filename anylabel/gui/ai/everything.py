"""Segment everything in the window (Ctrl+G): the model's automatic masks of the shown image become
candidates on the canvas, and a click keeps the one under it.

* The masks are computed on this object's :class:`~anylabel.gui.tasks.TaskWorker` (the GUI's one worker
  idiom), never on the GUI thread: ``segmenter.everything(image, key, progress)`` under the image file's
  content key, the key the click worker and its prefetch cache the embedding under (no second encoder
  run), with progress per point batch in the status bar and a Cancel button (Esc, or Ctrl+G again). The
  picture of the candidates is built there too (:class:`~anylabel.gui.canvas.candidates.CandidateRender`).
* The answer is handed to the session on the GUI thread (``session.assist.set_everything``) if it is still
  for the shown image; another image cancels the run and drops the candidates (the session does).
* A left click in AI mode while candidates are shown keeps the one under the cursor (the smallest holding
  the point): the label dialog opens pre-filled with the SSA / CLIP suggestions for its mask (or accepts
  the best one above ``auto_accept_confidence``), then ``session.assist.keep_candidate_at`` adds it with the
  label and its details as one undo step. Esc hides the candidates.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, List, Optional

from PyQt5 import QtCore, QtWidgets
from PyQt5.QtCore import Qt

from anylabel.backends import MaskCandidate
from anylabel.errors import CancelledError, ImageLoadError, ModelError
from anylabel.gui.canvas.candidates import CandidateLayer, CandidateRender
from anylabel.gui.canvas.tools import DRAG_PX
from anylabel.gui.tasks import TaskWorker
from anylabel.imaging.loader import file_key
from anylabel.tasks import JobContext, Policy

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.main_window import MainWindow
    from anylabel.session import AnnotationSession

log = logging.getLogger(__name__)


@dataclass
class EverythingOutcome:
    serial: int
    image_key: str
    masks: List[MaskCandidate]
    render: CandidateRender
    seconds: float


def wait_for_segmenter(ctx: JobContext, worker: Any, what: str) -> Any:
    """Worker thread: the window's segmenter (a :class:`~anylabel.gui.ai.worker.SegmentWorker`'s), waiting
    while it loads on its own thread; ModelError when it failed to load, CancelledError when cancelled."""
    told = False
    while worker.segmenter is None:
        if worker.load_error:
            raise ModelError(f"the segmentation model {worker.name} could not be loaded: {worker.load_error}")
        if not told:
            ctx.progress(0, 0, f"{what}: waiting for {worker.name} to load…")
            told = True
        if ctx.token.wait(0.05):
            raise CancelledError(f"{what} cancelled")
    return worker.segmenter


class SegmentEverything(QtCore.QObject):
    """``window.everything``: Ctrl+G, the progress widgets, the candidates layer and the click that keeps one."""

    def __init__(self, window: "MainWindow", session: "AnnotationSession") -> None:
        super().__init__(window)
        self.window, self.session, self.canvas = window, session, window.canvas
        self.tasks = TaskWorker("everything", parent=self)
        self.layer = CandidateLayer(self.canvas)
        self.serial = 0  # bumped by every run and image change: older answers are dropped
        self._press: Optional[QtCore.QPointF] = None
        self._running = False
        self.progress = QtWidgets.QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setFormat("everything %p %")
        self.cancel_button = QtWidgets.QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        for w in (self.progress, self.cancel_button):
            w.hide()
            window.statusBar().addPermanentWidget(w)  # a permanent widget: status messages do not hide it
        session.assist.candidates_changed.connect(self._on_candidates)
        session.image_changed.connect(self._on_image)
        self.canvas.installEventFilter(self)

    # ------------------------------------------------------------------------------ GUI thread
    @property
    def running(self) -> bool:
        """A run is in progress whose answer would be shown (the worker may still be winding a cancelled
        one down)."""
        return self._running

    def _status(self, text: str, ms: int = 5000) -> None:
        self.window.statusBar().showMessage(text, ms)

    def toggle(self) -> None:
        """Ctrl+G: start, or cancel a run in progress, or hide the candidates shown."""
        if self.running:
            self.cancel()
        elif self.session.assist.candidates:
            self.hide()
        else:
            self.start()

    def start(self) -> bool:
        """Run the model's automatic masks on the shown image; False when it cannot start (says why)."""
        s, worker = self.session, self.window.worker
        if s.image is None or s.image_key is None:
            self._status("Segment everything: open an image first")
            return False
        if worker is None:
            self._status("Segment everything: choose a segmentation model first (the model picker)")
            return False
        self.serial += 1
        serial, image, image_key = self.serial, s.image, s.image_key
        self._running = True
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self.canvas.set_busy(f"⏳ segmenting everything ({worker.name})…")
        self._status(f"Segment everything with {worker.name}…", 0)

        def run(ctx: JobContext) -> EverythingOutcome:
            segmenter = wait_for_segmenter(ctx, worker, "Segment everything")
            t0 = time.perf_counter()
            try:  # the key the click worker and the prefetch cache this image's embedding under
                key: Optional[str] = file_key(image_key)
            except (ImageLoadError, OSError, ValueError):
                key = None  # not a readable file (pixels in memory): the segmenter hashes them

            def batches(done: int, total: int) -> bool:  # progress, and a cancel between two point batches
                ctx.progress(done, total, f"Segment everything ({worker.name}): {done}/{total}")
                return not ctx.cancelled

            masks = segmenter.everything(image, key=key, progress=batches)
            ctx.check()
            render = CandidateRender.build(masks, image.shape[:2])
            return EverythingOutcome(serial, image_key, list(masks), render, time.perf_counter() - t0)

        self.tasks.submit(run, kind="everything", policy=Policy.LATEST, on_done=self._done,
                          on_failed=lambda m: self._failed(serial, m), on_cancelled=lambda: self._ended(serial),
                          on_progress=lambda d, t, stage, _i: self._progress(serial, d, t, stage))
        return True

    def cancel(self) -> None:
        if self.running:
            self._status("Segment everything: cancelled", 3000)
        self._drop()

    def _drop(self) -> None:
        """The run in progress (if any) is cancelled and its answer will be dropped."""
        self.tasks.cancel("everything")  # it stops between two point batches
        self.serial += 1
        self._ended(self.serial)

    def hide(self) -> None:
        """Esc: no candidates (nothing is added)."""
        self.session.assist.clear_candidates()

    def _ended(self, serial: int) -> None:
        if serial == self.serial:
            self._running = False
            self.progress.hide()
            self.cancel_button.hide()
            self.canvas.set_busy("")

    def _progress(self, serial: int, done: int, total: int, stage: str) -> None:
        if serial != self.serial:
            return
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        self._status(stage, 0)

    def _failed(self, serial: int, message: str) -> None:
        if serial != self.serial:
            return
        self._ended(serial)
        if "cancelled" in message:
            return
        self.window.warn(f"Segment everything failed:\n{message}", "Segment everything")

    def _done(self, out: EverythingOutcome) -> None:
        if out.serial != self.serial or out.image_key != self.session.image_key:
            return  # cancelled, a newer run, or another image
        self._ended(out.serial)
        self.layer.show(out.render if out.masks else None)
        self.session.assist.set_everything(out.masks)
        if out.masks:
            self._status(f"{len(out.masks)} candidates in {out.seconds:.1f} s: click one to keep it "
                         "(the label dialog asks), Esc hides them", 10000)
        else:
            self._status("Segment everything: the model found no mask", 6000)

    def _on_candidates(self) -> None:
        self.layer.sync(self.session.assist.candidates)

    def _on_image(self) -> None:
        self._drop()  # its answer would be for the image left
        self.layer.show(None)

    def keep_at(self, x: float, y: float) -> Optional[int]:
        """Keep the candidate under image point (x, y) (label dialog first); its new shape id, or None."""
        assist = self.session.assist
        k = assist.candidate_at(x, y)
        if k is None:
            self._status("No candidate here: click a coloured region (Esc hides them)", 3000)
            return None
        choice = self.window.editing.choose_label(assist.candidates[k].mask)
        if choice is None:
            self._status("Not kept (no label chosen)", 3000)
            return None
        shape_id = assist.keep_candidate_at(x, y, choice.label, choice.group_id, choice.description,
                                            **choice.details())
        if shape_id is not None:
            self.window.after_object_finished()
            left = len(assist.candidates)
            self._status(f"Kept {choice.label}; {left} candidate{'s' * (left != 1)} left", 4000)
        return shape_id

    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:  # noqa: N802 - Qt's name
        """Esc cancels a run; while candidates are shown in AI mode: a left click keeps one, moving highlights
        one, Esc hides them."""
        if obj is not self.canvas:
            return False
        kind = ev.type()
        if kind == QtCore.QEvent.KeyPress and ev.key() == Qt.Key_Escape and self.running:
            self.cancel()
            return True
        if not self.layer.shown or self.canvas.mode != "ai":
            return False
        if kind == QtCore.QEvent.MouseMove:
            self.layer.set_hover(self.layer.candidate_under(*self.canvas.to_image(ev.localPos())))
            return False
        if kind == QtCore.QEvent.MouseButtonPress and ev.button() == Qt.LeftButton \
                and not QtWidgets.QApplication.keyboardModifiers() & Qt.ShiftModifier:
            self._press = ev.localPos()
            self.canvas.setFocus()
            return True
        if kind == QtCore.QEvent.MouseButtonRelease and ev.button() == Qt.LeftButton and self._press is not None:
            moved = ev.localPos() - self._press
            self._press = None
            if abs(moved.x()) + abs(moved.y()) <= DRAG_PX:
                self.keep_at(*self.canvas.to_image(ev.localPos()))
            return True
        if kind == QtCore.QEvent.KeyPress and ev.key() == Qt.Key_Escape:
            self.hide()
            return True
        return False

    def close(self) -> None:
        self.tasks.shutdown(timeout=None)
