"""AI mode: the prompt set of the object being segmented, its versions, the preview, and finishing.

Every prompt change (a click, a box, an undo of a click, B) bumps :attr:`AiController.version` and submits
the whole prompt set to the worker. Results for another image or an older version are dropped. The
previous answer's low-resolution logits go with the next click as long as prompts were only added
(SAM's interactive refinement); removing a prompt or replacing the box starts from scratch.
"""
from __future__ import annotations

from typing import Callable, List, Optional, Tuple

import numpy as np
from PyQt5 import QtCore, QtGui

from anylabel.backends import Prompt
from anylabel.document.prompts import PromptSet
from anylabel.gui.canvas import Canvas, Preview
from anylabel.gui.worker import SegmentRequest, SegmentResult, SegmentWorker

Box = Tuple[float, float, float, float]


class AiController(QtCore.QObject):
    """Owns the prompts of the current object and talks to the worker.

    Signals:
        finishReady(mask, polygons): F was pressed and the preview for the newest prompts is available:
            the bool HxW mask and its polygons (list of Kx2 (x, y) arrays).
        message(text): something the user should read in the status bar.
        error(text): the model failed; shown in a message box.
    """

    finishReady = QtCore.pyqtSignal(object, object)
    message = QtCore.pyqtSignal(str)
    error = QtCore.pyqtSignal(str)
    previewChanged = QtCore.pyqtSignal()

    def __init__(self, canvas: Canvas, parent: Optional[QtCore.QObject] = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.worker: Optional[SegmentWorker] = None
        self.image_id: Optional[str] = None
        self.image: Optional[np.ndarray] = None
        self.prompts = PromptSet()  # the object's prompts, with undo / redo
        self.version = 0
        self.result: Optional[SegmentResult] = None  # the answer for ``version``, when it has arrived
        self.candidate = 0
        self.tolerance = 1.0
        self.min_area = 25.0
        self.colour = (0, 200, 255, 0.45)
        self._logits_from = 0  # results from this version on may feed their logits to the next click
        self._last_logits: Optional[np.ndarray] = None
        self._finish_pending = False
        canvas.pointPrompt.connect(self.add_point)
        canvas.boxPrompt.connect(self.add_box)

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
        self._logits_from = self.version + 1  # another model's logits mean nothing to this one
        self._resubmit()

    @property
    def actions(self) -> List[tuple]:
        """The prompts, oldest first: ("point", x, y, positive) | ("box", box, negative) (see PromptSet)."""
        return self.prompts.items

    def set_image(self, image_id: Optional[str], image: Optional[np.ndarray]) -> None:
        """A new image is shown: prompts and preview belong to the old one and are dropped."""
        self.image_id, self.image = image_id, image
        self.prompts.clear()
        self._finish_pending = False
        self._changed(reset_logits=True, submit=False)

    # ------------------------------------------------------------------------------ prompts
    @property
    def has_prompts(self) -> bool:
        return bool(self.actions)

    def add_point(self, x: float, y: float, positive: bool) -> None:
        self.prompts.add_point(x, y, positive)
        self._changed(reset_logits=False)

    def add_box(self, box: Box, negative: bool) -> None:
        self.prompts.add_box(box, negative)  # one object has one box: a new one replaces the old
        self._changed(reset_logits=True)

    def undo_last(self) -> bool:
        """Ctrl+Z: undo the newest prompt change; False when there is none."""
        if not self.prompts.undo():
            return False
        self._changed(reset_logits=True)
        return True

    def redo_last(self) -> bool:
        """Ctrl+Shift+Z: bring back the prompt change Ctrl+Z removed; False when there is none."""
        if not self.prompts.redo():
            return False
        self._changed(reset_logits=True)
        return True

    def clear(self) -> None:
        """B: drop every prompt and the preview."""
        self.prompts.clear()
        self._finish_pending = False
        self._changed(reset_logits=True)

    def prompt(self) -> Prompt:
        pos = [(a[1], a[2]) for a in self.actions if a[0] == "point" and a[3]]
        neg = [(a[1], a[2]) for a in self.actions if a[0] == "point" and not a[3]]
        boxes = [a[1] for a in self.actions if a[0] == "box" and not a[2]]
        neg_boxes = [a[1] for a in self.actions if a[0] == "box" and a[2]]
        prompt = Prompt.from_clicks(pos, neg, box=boxes[-1] if boxes else None, negative_boxes=neg_boxes)
        prompt.mask_logits = self._last_logits
        return prompt

    def _changed(self, reset_logits: bool, submit: bool = True) -> None:
        self.version += 1
        if reset_logits:
            self._logits_from = self.version
            self._last_logits = None
        pts = [(a[1], a[2], a[3]) for a in self.actions if a[0] == "point"]
        boxes = [(a[1], a[2]) for a in self.actions if a[0] == "box"]
        self.canvas.set_prompts(pts, boxes)
        if submit:
            self._resubmit()
        else:
            self._show(None)

    def _resubmit(self) -> None:
        prompt = self.prompt()
        if self.image_id is None or prompt.is_empty():
            self._show(None)
            self.canvas.set_busy("")
            if self.actions and prompt.is_empty():
                self.message.emit("Add a positive point or a box: negative prompts alone select nothing")
            return
        if self.worker is None:
            self.message.emit("No model loaded: choose one in the model picker")
            return
        self.canvas.set_busy("⏳ segmenting…")
        self.worker.submit(SegmentRequest(self.image_id, self.version, self.image_id, prompt, self.image,
                                          self.tolerance, self.min_area, self.colour))

    def show_answer_for_box(self, box: Box, answer: Callable[[int, Prompt], SegmentResult]) -> SegmentResult:
        """Make ``box`` the only prompt (a positive box that clicks then refine) and show an answer computed
        elsewhere, without a model run: ``answer(version, prompt)`` builds it for the new prompt version,
        and it is shown exactly as the worker's answer to that version would be (the find box uses this)."""
        self.prompts.replace([("box", tuple(float(v) for v in box), False)])
        self._changed(reset_logits=True, submit=False)
        result = answer(self.version, self.prompt())
        self._on_result(result)
        return result

    # ------------------------------------------------------------------------------ results
    def _on_result(self, res: SegmentResult) -> None:
        if res.image_id != self.image_id or res.version != self.version:
            return  # stale: another image or an older prompt set
        self.canvas.set_busy("")
        self._show(res)
        if self._finish_pending:
            self._finish_pending = False
            self.finish()

    def _on_failed(self, image_id: str, version: int, message: str) -> None:
        if image_id == self.image_id and version == self.version:
            self.canvas.set_busy("")
            self._finish_pending = False
        self.error.emit(message)

    def _show(self, res: Optional[SegmentResult]) -> None:
        self.result = res
        self.candidate = 0
        self._apply_preview()

    def _apply_preview(self) -> None:
        res = self.result
        if res is None or not res.candidates:
            self.canvas.set_preview(None)
        else:
            k = self.candidate
            (overlay, x0, y0), polygons = res.view(k)
            self.canvas.set_preview(Preview(overlay, x0, y0, polygons))
            logits = res.candidates[k].logits
            self._last_logits = logits if res.version >= self._logits_from else None
        self.previewChanged.emit()

    @property
    def preview_mask(self) -> Optional[np.ndarray]:
        """The bool HxW mask of the shown candidate, or None."""
        if self.result is None or not self.result.candidates:
            return None
        return self.result.candidates[self.candidate].mask

    def cycle_candidate(self) -> None:
        """Show the next multimask candidate (whole / part / subpart)."""
        res = self.result
        if res is None or len(res.candidates) < 2:
            self.message.emit("The model gave a single mask for these prompts")
            return
        self.candidate = (self.candidate + 1) % len(res.candidates)
        self._apply_preview()
        self.message.emit(f"Mask candidate {self.candidate + 1} of {len(res.candidates)} "
                          f"(score {res.candidates[self.candidate].score:.2f})")

    # ------------------------------------------------------------------------------ finish
    @property
    def waiting(self) -> bool:
        """True while the newest prompt set has not been answered yet."""
        return bool(self.actions) and (self.result is None or self.result.version != self.version)

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
        self.finishReady.emit(mask, list(self.result.view(self.candidate)[1]))

    def set_colour(self, colour: QtGui.QColor, alpha: float) -> None:
        self.colour = (colour.red(), colour.green(), colour.blue(), alpha)
