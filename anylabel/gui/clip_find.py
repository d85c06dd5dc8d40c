"""The find box: type "red car", press Enter, and the best-matching object becomes the AI preview.

FastSAM's text prompt on any backend: the current segmenter's automatic ("everything") masks of the image,
ranked by CLIP against the text (:class:`anylabel.classify.TextFinder`). Both run on the CLIP job thread
(:class:`anylabel.gui.clip_suggestions.JobThread`); the masks and their CLIP embeddings are cached for the
current image, so a second text on the same image costs one text-tower call.

The matches become *prompts in waiting*, exactly like an AI preview: the prompt is the best match's box
(drawn on the canvas), the preview is the matched mask itself, the next matches are the other mask
candidates (C cycles them, and the box follows), a click refines the box prompt with the model, B clears,
and F finishes through the usual label dialog, pre-filled with the text (the ``"Find"`` suggestion).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, List, Optional, Tuple

import numpy as np
from PyQt5 import QtCore, QtGui, QtWidgets
from PyQt5.QtCore import Qt

from anylabel.backends import MaskCandidate
from anylabel.errors import AnylabelError, CancelledError, ModelError
from anylabel.gui.actions import key_sequences
from anylabel.gui.clip_suggestions import emit
from anylabel.gui.worker import SegmentResult
from anylabel.session import BoxPrompt

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.clip_suggestions import ClipSuggestions
    from anylabel.gui.main_window import MainWindow

log = logging.getLogger(__name__)
SOURCE = "Find"
#: matches after the best one are offered (as further candidates) only from this probability on
MIN_PROBABILITY = 0.01


@dataclass
class FindOutcome:
    """The answer to one find: matched masks best first, with polygons and preview overlays."""

    serial: int
    image_id: str
    text: str
    candidates: List[MaskCandidate] = field(default_factory=list)
    polygons: List[List[np.ndarray]] = field(default_factory=list)
    overlays: List[Tuple[Optional[QtGui.QImage], int, int]] = field(default_factory=list)
    searched: int = 0  # automatic masks large enough to match


def _box(mask: np.ndarray) -> Optional[Tuple[int, int, int, int]]:
    rows = np.flatnonzero(mask.any(axis=1))
    if not rows.size:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


class FindBox(QtCore.QObject):
    """The toolbar's find box (Ctrl+Shift+F) and its background search."""

    found = QtCore.pyqtSignal(object)  # FindOutcome
    failed = QtCore.pyqtSignal(int, str)  # serial, message
    progress = QtCore.pyqtSignal(int, str)  # serial, message

    def __init__(self, window: "MainWindow", clip: "ClipSuggestions", top_k: int = 3) -> None:
        super().__init__(window)
        self.window, self.clip, self.top_k = window, clip, top_k
        self.serial = 0  # bumped by every search and image change: older answers are dropped
        self._cancel = threading.Event()
        self._cache: Optional[Tuple[str, Any]] = None  # (key, TextFinder) of the last image searched
        self._shown: Optional[SegmentResult] = None  # the preview a find produced
        self._action: Optional[tuple] = None  # its box prompt in ai.actions
        self._text = ""
        self.edit = QtWidgets.QLineEdit()
        keys = ", ".join(window.config.shortcut("find_text"))
        self.edit.setPlaceholderText("Find objects: red car" + (f"  ({keys})" if keys else ""))
        self.edit.setToolTip("Type what to find and press Enter: the best-matching object becomes the AI "
                             "preview (CLIP over the model's automatic masks); F finishes it, C shows the next match")
        self.edit.setClearButtonEnabled(True)
        self.edit.setMinimumWidth(240)
        self.edit.returnPressed.connect(self.run)
        QtWidgets.QShortcut(QtGui.QKeySequence(Qt.Key_Escape), self.edit, self._leave, context=Qt.WidgetShortcut)
        self.edit.setMaximumWidth(320)
        self._place(window)
        self.action = QtWidgets.QAction("&Find objects by text…", window)
        try:
            self.action.setShortcuts(key_sequences(window.config.shortcut("find_text")))
        except ValueError as e:
            window.statusBar().showMessage(f"find_text shortcut ignored: {e}", 8000)
        self.action.triggered.connect(self.focus)
        window.addAction(self.action)
        menu = window.menus.get("ai") if hasattr(window, "menus") else None
        if menu is not None:
            menu.addAction(self.action)
        self.found.connect(self._on_found)
        self.failed.connect(self._on_failed)
        self.progress.connect(self._on_progress)
        window.imageLoaded.connect(self._image_changed)
        window.ai.previewChanged.connect(self._sync)

    def _place(self, window: "MainWindow") -> None:
        """In the menu bar's free right corner: the tool bar is full at the default window width. A native
        menu bar (macOS) shows no widgets: there the box gets a tool bar of its own."""
        bar = window.menuBar()
        if not bar.isNativeMenuBar():
            holder = QtWidgets.QWidget()
            layout = QtWidgets.QHBoxLayout(holder)
            layout.setContentsMargins(0, 1, 6, 1)
            layout.addWidget(self.edit)
            bar.setCornerWidget(holder, Qt.TopRightCorner)
            return
        toolbar = QtWidgets.QToolBar("Find", window)
        toolbar.setObjectName("find")
        toolbar.addWidget(self.edit)
        window.addToolBarBreak(Qt.TopToolBarArea)
        window.addToolBar(Qt.TopToolBarArea, toolbar)

    # ------------------------------------------------------------------ GUI thread
    def focus(self) -> None:
        self.edit.setFocus(Qt.ShortcutFocusReason)
        self.edit.selectAll()

    def _leave(self) -> None:
        self.window.canvas.setFocus()

    def run(self, text: Optional[str] = None) -> bool:
        """Search the current image for ``text`` (default: the box's text); False when it cannot start."""
        w = self.window
        text = " ".join((self.edit.text() if text is None else text).split())
        if not text:
            return False
        if w.image is None or w.ai.image_id is None:
            w.statusBar().showMessage("Find: open an image first", 4000)
            return False
        if w.worker is None:
            w.statusBar().showMessage("Find: choose a segmentation model first (the model picker)", 5000)
            return False
        clip = self.clip
        if clip.model_name is None:
            name = clip.default_model()
            if name is None:
                w.warn("Find needs a CLIP model: choose one in AI → CLIP labels…", "Find")
                return False
            clip.set_model(name)  # loads on the job thread, before the search queued below
        self.serial += 1
        serial, image_id, image, worker, ai = self.serial, w.ai.image_id, w.image, w.worker, w.ai
        settings = (ai.tolerance, ai.min_area, ai.colour, self.top_k)
        cancel = self._cancel
        w.statusBar().showMessage(f"Find “{text}”: waiting for CLIP…" if clip.classifier is None else f"Find “{text}”…")
        w.canvas.set_busy(f"⏳ finding “{text}”…")
        self.clip.jobs.submit("find", lambda: self._search(serial, image_id, image, text, worker, cancel, settings))
        w.canvas.setFocus()  # F, C and B go to the canvas again
        return True

    def _image_changed(self, _path: str = "") -> None:
        self._cancel.set()  # the running search stops at its next check; its answer would be stale anyway
        self._cancel = threading.Event()
        self.serial += 1
        self.window.canvas.set_busy("")
        self._forget()

    def _forget(self) -> None:
        if self._text and self.window.statusBar().currentMessage().startswith(f"Find “{self._text}”"):
            self.window.statusBar().clearMessage()  # its "F finishes, B clears" hint is spent
        self._shown, self._action, self._text = None, None, ""

    def _on_progress(self, serial: int, message: str) -> None:
        if serial == self.serial:
            self.window.statusBar().showMessage(message)

    def _on_failed(self, serial: int, message: str) -> None:
        if serial != self.serial:
            return
        self.window.canvas.set_busy("")
        self.window.warn(f"Find failed:\n{message}", "Find")

    def _on_found(self, out: FindOutcome) -> None:
        w, ai = self.window, self.window.ai
        if out.serial != self.serial or out.image_id != ai.image_id:
            return  # a newer search or another image
        w.canvas.set_busy("")
        if not out.candidates:
            why = "no automatic mask is large enough" if not out.searched else "no mask matched"
            w.statusBar().showMessage(f"Find “{out.text}”: nothing found ({why})", 6000)
            return
        # the found object's box becomes the prompt in waiting (clicks refine it); the found masks are shown
        # as the answer to that prompt, without a model run
        result = ai.show_answer_for_box(out.candidates[0].box, lambda version, prompt: SegmentResult(
            out.image_id, version, prompt, out.candidates, out.polygons, out.overlays))
        self._shown, self._action, self._text = result, ai.actions[0], out.text
        providers = [(n, f) for n, f in w.suggestion_providers if n != SOURCE]
        w.suggestion_providers[:] = [(SOURCE, self.provider)] + providers  # first: pre-fills the dialog
        best = out.candidates[0].score
        more = f"; C: next of {len(out.candidates)} matches" if len(out.candidates) > 1 else ""
        w.statusBar().showMessage(f"Find “{out.text}”: best match {best:.0%} of {out.searched} masks — "
                                  f"F finishes, B clears{more}", 8000)
        w.canvas.setFocus()

    def _sync(self) -> None:
        """Keep the box prompt on the candidate shown (C), and forget the find once its box is gone."""
        ai = self.window.ai
        if self._shown is None:
            return
        ours = bool(ai.actions) and ai.actions[0] is self._action
        if ai.result is not self._shown:
            if not ours:
                self._forget()  # cleared, undone or replaced: the text no longer describes the prompts
            return
        box = BoxPrompt.of(self._shown.candidates[ai.candidate].box)
        if ours and self._action != box:
            old, self._action = self._action, box
            ai.session.retarget_prompt(old, box)  # the shown answer stays current: no model run

    def provider(self, image: np.ndarray, mask: np.ndarray) -> List[Tuple[str, float]]:
        """The searched text for the object a find produced (also after clicks refined it): the label
        dialog's pre-fill. Confidence 1: the user said what it is."""
        ai = self.window.ai
        if self._text and ai.actions and ai.actions[0] is self._action and mask is ai.preview_mask:
            return [(self._text, 1.0)]
        return []

    # ------------------------------------------------------------------ job thread
    def _search(self, serial: int, image_id: str, image: np.ndarray, text: str, worker: Any,
                cancel: threading.Event, settings: tuple) -> None:
        try:
            emit(self.found, self._find(serial, image_id, image, text, worker, cancel, settings))
        except CancelledError:
            return
        except AnylabelError as e:
            emit(self.failed, serial, str(e))
        except Exception as e:  # noqa: BLE001 - reported to the user, traceback logged
            log.exception("find %r failed", text)
            emit(self.failed, serial, f"{type(e).__name__}: {e}")

    def _find(self, serial: int, image_id: str, image: np.ndarray, text: str, worker: Any,
              cancel: threading.Event, settings: tuple) -> FindOutcome:
        from anylabel.classify import TextFinder

        tolerance, min_area, colour, top_k = settings
        clf = self.clip._job_classifier
        if clf is None:
            raise ModelError("no CLIP model is loaded: choose one in AI → CLIP labels…")
        key = f"{worker.name}|{clf.model.name}|{image_id}"
        cached = self._cache
        if cached is not None and cached[0] == key:
            finder = cached[1]
        else:
            segmenter = self._segmenter(worker, cancel, serial)
            emit(self.progress, serial, f"Find: automatic masks of the image ({worker.name})…")
            t0 = time.perf_counter()
            def batches(done: int, total: int) -> bool:  # progress, and a cancel between two point batches
                if total:
                    emit(self.progress, serial, f"Find: automatic masks of the image ({worker.name}) {done}/{total}…")
                return not cancel.is_set()

            # under the key the worker and its prefetch cache the image's embedding: no second encoder run
            masks = [c.mask for c in segmenter.everything(image, key=_content_key(image_id), progress=batches)]
            if cancel.is_set():
                raise CancelledError("find cancelled")
            emit(self.progress, serial, f"Find: CLIP on {len(masks)} masks "
                                        f"(automatic masks took {time.perf_counter() - t0:.1f} s)…")
            finder = TextFinder(clf)
            finder.set_masks(image, masks, key=key, cancel=cancel, progress=lambda done, total: emit(
                self.progress, serial, f"Find: CLIP on mask {done}/{total}…"))
            self._cache = (key, finder)  # one image: masks are full-size, a few hundred MB on big images
        out = FindOutcome(serial, image_id, text, searched=finder.candidates)
        if not finder.candidates:
            return out
        for k, match in enumerate(finder.find(text, top_k=top_k)):
            if k and match.probability < MIN_PROBABILITY:
                break
            mask = finder.masks[match.index]
            box = _box(mask)
            cand = MaskCandidate(mask, float(match.probability), None, box)
            out.candidates.append(cand)
            out.polygons.append(cand.polygons(tolerance=tolerance, min_area=min_area))
            out.overlays.append(_overlay(mask, box, colour))
        return out

    def _segmenter(self, worker: Any, cancel: threading.Event, serial: int) -> Any:
        """The window's segmenter, waiting for it to finish loading (the worker loads it in its thread)."""
        told = False
        while worker.segmenter is None:
            error = getattr(worker, "_load_error", None)
            if error:
                raise ModelError(f"the segmentation model {worker.name} could not be loaded: {error}")
            if not told:
                emit(self.progress, serial, f"Find: waiting for {worker.name} to load…")
                told = True
            if cancel.wait(0.05):
                raise CancelledError("find cancelled")
        return worker.segmenter


def _overlay(mask: np.ndarray, box: Tuple[int, int, int, int],
             colour: Tuple[int, int, int, float]) -> Tuple[Optional[QtGui.QImage], int, int]:
    """The preview overlay of ``mask`` (its box crop coloured), as the segmentation worker makes it."""
    from anylabel.gui.canvas_paint import mask_image

    x0, y0, x1, y1 = box
    r, g, b, a = colour
    return mask_image(mask[y0:y1, x0:x1], QtGui.QColor(r, g, b), a), x0, y0


def _content_key(image_id: str) -> Optional[str]:
    """The image file's content key (:func:`anylabel.imaging.loader.file_key`, as the segment worker uses),
    or None for an image that is not a file."""
    from anylabel.errors import ImageLoadError
    from anylabel.imaging.loader import file_key

    try:
        return file_key(image_id) if Path(image_id).is_file() else None
    except (ImageLoadError, OSError, ValueError):
        return None
