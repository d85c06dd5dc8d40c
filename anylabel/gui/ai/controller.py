"""AI mode in the window: the session's prompts go to the worker thread, its answers come back as the preview.

The state (the prompts, their version, the shown answer and candidate) is the session's
(:class:`~anylabel.session.AnnotationSession`, :mod:`anylabel.session.prompts`): every prompt change there
is submitted here to the :class:`SegmentWorker` with the new version and the logits the session's rule
allows (:func:`~anylabel.session.prompts.logits_to_reuse`); an answer is shown only if the session accepts
it (:func:`~anylabel.session.prompts.is_current`: this image, the newest version). This class keeps only
the Qt side: the worker's signals, the busy badge, the overlay, and F waiting for a pending answer.
"""
from __future__ import annotations

from typing import Callable, List, Optional, Tuple

import numpy as np
from PyQt5 import QtCore, QtGui

from anylabel.backends import Prompt
from anylabel.gui.ai.worker import SegmentRequest, SegmentResult, SegmentWorker
from anylabel.gui.canvas.widget import Canvas, Preview
from anylabel.session import AnnotationSession, BoxPrompt, PromptSet

Box = Tuple[float, float, float, float]


class AiController(QtCore.QObject):
    """Talks to the worker for the session's prompts.

    Signals:
        finishReady(mask, polygons): F was pressed and the preview for the newest prompts is available:
            the bool HxW mask and its polygons (list of Kx2 (x, y) arrays).
        message(text): something the user should read in the status bar.
        error(text): the model failed; shown in a message box.
        previewChanged(): the shown answer or candidate changed (also when it went away).
    """

    finishReady = QtCore.pyqtSignal(object, object)
    message = QtCore.pyqtSignal(str)
    error = QtCore.pyqtSignal(str)
    previewChanged = QtCore.pyqtSignal()

    def __init__(self, canvas: Canvas, session: AnnotationSession, parent: Optional[QtCore.QObject] = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.session = session
        self.worker: Optional[SegmentWorker] = None
        self.colour = (0, 200, 255, 0.45)
        self._finish_pending = False
        self._plain: Optional[Tuple[object, SegmentResult]] = None  # (a PlainAnswer, its view), see _view
        self._submit = True  # False while a prompt change is answered without the model (show_answer_for_box)
        canvas.pointPrompt.connect(self.add_point)
        canvas.boxPrompt.connect(self.add_box)
        session.prompts_changed.connect(self._on_prompts)
        session.preview_changed.connect(self._apply_preview)
        session.image_changed.connect(self._on_image)

    # ------------------------------------------------------------------------------- the session's state
    @property
    def prompts(self) -> PromptSet:
        return self.session.prompts

    @property
    def actions(self) -> list:
        """The prompts, oldest first (PointPrompt / BoxPrompt)."""
        return self.session.prompts.items

    @property
    def version(self) -> int:
        return self.session.prompts.version

    @property
    def result(self) -> Optional[SegmentResult]:
        """The answer shown (for :attr:`version` once it has arrived)."""
        return self.session.answer

    @property
    def candidate(self) -> int:
        return self.session.candidate

    @property
    def image_id(self) -> Optional[str]:
        return self.session.image_key

    @property
    def image(self) -> Optional[np.ndarray]:
        return self.session.image

    @property
    def tolerance(self) -> float:
        return self.session.tolerance

    @property
    def min_area(self) -> float:
        return self.session.min_area

    @property
    def has_prompts(self) -> bool:
        return bool(self.actions)

    @property
    def preview_mask(self) -> Optional[np.ndarray]:
        """The bool HxW mask of the shown candidate, or None."""
        preview = self.session.preview
        return preview.mask if preview is not None else None

    @property
    def waiting(self) -> bool:
        """True while the newest prompt set has not been answered yet."""
        return self.session.waiting

    # ------------------------------------------------------------------------------- wiring
    def set_worker(self, worker: Optional[SegmentWorker]) -> None:
        if self.worker is not None:
            for sig, slot in ((self.worker.resultReady, self._on_result), (self.worker.failed, self._on_failed)):
                try:
                    sig.disconnect(slot)
                except TypeError:
                    pass
        self.worker = worker
        if worker is not None:
            worker.resultReady.connect(self._on_result)
            worker.failed.connect(self._on_failed)
        self.session.forbid_refinement()  # another model's logits mean nothing to this one
        self._resubmit()

    def _on_image(self) -> None:
        """A new image is shown: its prompts and preview start empty."""
        self._finish_pending = False
        self.canvas.set_prompts([])
        self.canvas.set_busy("")
        self._apply_preview()

    # ------------------------------------------------------------------------------ prompts
    def add_point(self, x: float, y: float, positive: bool) -> None:
        self.session.add_point(x, y, positive)

    def add_box(self, box: Box, negative: bool) -> None:
        self.session.add_box(box, negative)  # one object has one box: a new one replaces the old

    def undo_last(self) -> bool:
        """Ctrl+Z: undo the newest prompt change; False when there is none."""
        return self.session.undo_prompt()

    def redo_last(self) -> bool:
        """Ctrl+Shift+Z: bring back the prompt change Ctrl+Z removed; False when there is none."""
        return self.session.redo_prompt()

    def clear(self) -> None:
        """B: drop every prompt and the preview."""
        self._finish_pending = False
        self.session.clear_prompts()

    def prompt(self) -> Prompt:
        return self.session.prompt()

    def _on_prompts(self, _version: int) -> None:
        self.canvas.set_prompts(self.actions)
        if not self._submit:
            return
        if self.session.waiting:
            self._resubmit()
        else:  # no prompts, or the shown answer is this version's already (a retargeted box)
            self.canvas.set_busy("")

    def _resubmit(self) -> None:
        s = self.session
        prompt = s.prompt()
        if s.image_key is None or prompt.is_empty():
            self.canvas.set_busy("")
            if self.actions and prompt.is_empty():
                self.message.emit("Add a positive point or a box: negative prompts alone select nothing")
            return
        if self.worker is None:
            self.message.emit("No model loaded: choose one in the model picker")
            return
        self.canvas.set_busy("⏳ segmenting…")
        self.worker.submit(SegmentRequest(s.image_key, s.prompts.version, s.image_key, prompt, s.image,
                                          s.tolerance, s.min_area, self.colour, plan=s.prompt_plan()))

    def show_answer_for_box(self, box: Box, answer: Callable[[int, Prompt], SegmentResult]) -> SegmentResult:
        """Make ``box`` the only prompt (a positive box that clicks then refine) and show an answer computed
        elsewhere, without a model run: ``answer(version, prompt)`` builds it for the new prompt version,
        and it is shown exactly as the worker's answer to that version would be (the find box uses this)."""
        self._submit = False
        try:
            self.session.set_prompts([BoxPrompt.of(box)])
        finally:
            self._submit = True
        result = answer(self.version, self.prompt())
        self._on_result(result)
        return result

    # ------------------------------------------------------------------------------ results
    def _on_result(self, res: SegmentResult) -> None:
        if not self.session.accept(res):
            return  # stale: another image or an older prompt set
        self.canvas.set_busy("")
        if self._finish_pending:
            self._finish_pending = False
            self.finish()

    def _on_failed(self, image_id: str, version: int, message: str) -> None:
        if image_id == self.image_id and version == self.version:
            self.canvas.set_busy("")
            self._finish_pending = False
        self.error.emit(message)

    def _apply_preview(self) -> None:
        res, k = self.session.answer, self.session.candidate
        if res is None or not res.candidates:
            self.canvas.set_preview(None)
        else:
            (overlay, x0, y0), polygons = self._view(k)
            self.canvas.set_preview(Preview(overlay, x0, y0, polygons))
        self.previewChanged.emit()

    def _view(self, k: int):
        """The shown answer's candidate ``k`` as (overlay, x0, y0), polygons. An answer made without the
        model (a brushed or re-prompted mask: the session's PlainAnswer) gets them here, once."""
        res = self.session.answer
        if not isinstance(res, SegmentResult):
            if self._plain is None or self._plain[0] is not res:
                self._plain = (res, SegmentResult(res.image_id, res.version, getattr(res, "prompt", None),
                                                  res.candidates, tolerance=self.tolerance,
                                                  min_area=self.min_area, colour=self.colour))
            res = self._plain[1]
        return res.view(k)

    def cycle_candidate(self) -> None:
        """Show the next multimask candidate (whole / part / subpart)."""
        res = self.result
        if res is None or len(res.candidates) < 2:
            self.message.emit("The model gave a single mask for these prompts")
            return
        k = self.session.cycle_candidate()
        self.message.emit(f"Mask candidate {k + 1} of {len(res.candidates)} (score {res.candidates[k].score:.2f})")

    # ------------------------------------------------------------------------------ finish
    def finish(self) -> None:
        """F: emit :attr:`finishReady` for the newest prompts (waiting for the worker if needed)."""
        if not self.actions:
            self.message.emit("Nothing to finish: click on an object first")
            return
        if self.waiting:
            if self.worker is None or self.prompt().is_empty():
                self.message.emit("Nothing to finish: add a positive point or a box")
                return
            self._finish_pending = True
            self.message.emit("Finishing as soon as the model answers…")
            return
        mask = self.preview_mask
        if mask is None or not mask.any():
            self.message.emit("The mask is empty: add a positive point or a box")
            return
        polygons: List[np.ndarray] = list(self._view(self.candidate)[1])
        self.finishReady.emit(mask, polygons)

    def set_colour(self, colour: QtGui.QColor, alpha: float) -> None:
        self.colour = (colour.red(), colour.green(), colour.blue(), alpha)
