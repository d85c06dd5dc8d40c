"""The find box: type "red car", press Enter, and the best-matching object becomes the AI preview.

FastSAM's text prompt on any backend: the current segmenter's automatic ("everything") masks of the image,
ranked by CLIP against the text (:class:`anylabel.classify.TextFinder`). Both run on the CLIP feature's worker
(:class:`anylabel.gui.tasks.TaskWorker`; a new text replaces one still waiting, a new image cancels the
search); the masks and their CLIP embeddings are cached for the current image, so a second text on the
same image costs one text-tower call. The window is reached only through the feature host.

The matches become *prompts in waiting*, exactly like an AI preview: the prompt is the best match's box
(drawn on the canvas), the preview is the matched mask itself, the next matches are the other mask
candidates (C cycles them, and the box follows), a click refines the box prompt with the model, B clears,
and F finishes through the usual label dialog, pre-filled with the text (the ``"Find"`` suggestion).

When the chosen model understands text itself (SAM 3: a segmenter with ``segment_text``), the find asks it
instead: no CLIP model is needed, every instance SAM 3 finds is a candidate (best first; C goes to the next
instance, F finishes the one shown), and the search reuses the image's cached embedding.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, List, Optional, Tuple

import numpy as np
from PyQt5 import QtCore, QtGui, QtWidgets
from PyQt5.QtCore import Qt

from anylabel.backends import MaskCandidate
from anylabel.errors import ModelError
from anylabel.gui.actions import key_sequences
from anylabel.gui.ai.worker import SegmentResult, mask_overlay
from anylabel.session import BoxPrompt
from anylabel.tasks import JobContext, Policy
from anylabel.votes import LabelSuggestion

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.features import FeatureHost
    from anylabel.gui.suggestions.clip import ClipSuggestions

log = logging.getLogger(__name__)
SOURCE = "Find"
#: matches after the best one are offered (as further candidates) only from this probability on
MIN_PROBABILITY = 0.01
#: model families that answer text prompts themselves (the find box asks them instead of CLIP)
TEXT_FAMILIES = ("sam3",)


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
    by_model: str = ""  # the text-prompted model that found the instances ("": CLIP ranked automatic masks)


def _box(mask: np.ndarray) -> Optional[Tuple[int, int, int, int]]:
    rows = np.flatnonzero(mask.any(axis=1))
    if not rows.size:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


class FindBox(QtCore.QObject):
    """The toolbar's find box (Ctrl+Shift+F) and its background search."""

    name = "find"
    found = QtCore.pyqtSignal(object)  # FindOutcome
    failed = QtCore.pyqtSignal(int, str)  # serial, message
    progress = QtCore.pyqtSignal(int, str)  # serial, message

    def __init__(self, host: "FeatureHost", clip: "ClipSuggestions", top_k: int = 3) -> None:
        super().__init__(host.widget())
        self.host, self.clip, self.top_k = host, clip, top_k
        self.serial = 0  # bumped by every search and image change: older answers are dropped
        self._cache: Optional[Tuple[str, Any]] = None  # (key, TextFinder) of the last image searched
        self._shown: Optional[SegmentResult] = None  # the preview a find produced
        self._action: Optional[BoxPrompt] = None  # its box prompt (the first prompt)
        self._text = ""
        self.edit = QtWidgets.QLineEdit()
        self.edit.setObjectName("find")
        keys = ", ".join(host.config.shortcut("find_text"))
        self.edit.setPlaceholderText("Find objects: red car" + (f"  ({keys})" if keys else ""))
        self.edit.setToolTip("Type what to find and press Enter: the best-matching object becomes the AI "
                             "preview (CLIP over the model's automatic masks); F finishes it, C shows the next match")
        self.edit.setClearButtonEnabled(True)
        self.edit.setMinimumWidth(240)
        self.edit.returnPressed.connect(self.run)
        QtWidgets.QShortcut(QtGui.QKeySequence(Qt.Key_Escape), self.edit, self._leave, context=Qt.WidgetShortcut)
        self.edit.setMaximumWidth(320)
        host.add_corner_widget(self.edit)  # the tool bar is full at the default window width
        self.action = QtWidgets.QAction("&Find objects by text…", host.widget())
        try:
            self.action.setShortcuts(key_sequences(host.config.shortcut("find_text")))
        except ValueError as e:
            host.status(f"find_text shortcut ignored: {e}", 8000)
        self.action.triggered.connect(self.focus)
        host.add_action(self.action)
        menu = host.menu("ai")
        if menu is not None:
            menu.addAction(self.action)
        self.found.connect(self._on_found)
        self.failed.connect(self._on_failed)
        self.progress.connect(self._on_progress)
        host.on_image_loaded(self._image_changed)
        host.on_preview_changed(self._sync)

    # ------------------------------------------------------------------ GUI thread
    def focus(self) -> None:
        self.edit.setFocus(Qt.ShortcutFocusReason)
        self.edit.selectAll()

    def _leave(self) -> None:
        self.host.prompting.focus()

    def run(self, text: Optional[str] = None) -> bool:
        """Search the current image for ``text`` (default: the box's text); False when it cannot start."""
        host, prompting = self.host, self.host.prompting
        text = " ".join((self.edit.text() if text is None else text).split())
        if not text:
            return False
        image, image_id = host.current_image(), prompting.image_id()
        if image is None or image_id is None:
            host.status("Find: open an image first", 4000)
            return False
        worker = host.image_model()
        if worker is None:
            host.status("Find: choose a segmentation model first (the model picker)", 5000)
            return False
        clip = self.clip
        if understands_text(worker, host.registry):
            return self._submit(text, image, image_id, worker, self._find_by_model)
        if clip.model_name is None:
            name = clip.default_model()
            if name is None:
                host.warn("Find needs a CLIP model: choose one in AI → CLIP labels…", "Find")
                return False
            clip.set_model(name)  # loads on the worker, before the search queued below
        return self._submit(text, image, image_id, worker, self._find)

    def _submit(self, text: str, image: np.ndarray, image_id: str, worker: Any, find: Any) -> bool:
        """Queue ``find`` (:meth:`_find` or :meth:`_find_by_model`) on the CLIP feature's worker."""
        host, prompting, clip = self.host, self.host.prompting, self.clip
        self.serial += 1
        serial = self.serial
        settings = (*prompting.settings(), self.top_k)
        waiting = find == self._find and clip.classifier is None
        host.status(f"Find “{text}”: waiting for CLIP…" if waiting else f"Find “{text}”…", 0)
        prompting.set_busy(f"⏳ finding “{text}”…")
        clip.jobs.submit(lambda ctx: find(ctx, serial, image_id, image, text, worker, settings),
                         kind="find", policy=Policy.COALESCE, on_done=self.found.emit,
                         on_failed=lambda message: self.failed.emit(serial, message),
                         on_progress=lambda _d, _t, stage, _i: self.progress.emit(serial, stage))
        prompting.focus()  # F, C and B go to the canvas again
        return True

    def _image_changed(self, _path: str = "") -> None:
        self.clip.jobs.cancel("find")  # the running search stops at its next check; its answer would be stale
        self.serial += 1
        self.host.prompting.set_busy("")
        self._forget()

    def _forget(self) -> None:
        if self._text and self.host.status_text().startswith(f"Find “{self._text}”"):
            self.host.clear_status()  # its "F finishes, B clears" hint is spent
        self._shown, self._action, self._text = None, None, ""

    def _on_progress(self, serial: int, message: str) -> None:
        if serial == self.serial:
            self.host.status(message, 0)

    def _on_failed(self, serial: int, message: str) -> None:
        if serial != self.serial:
            return
        self.host.prompting.set_busy("")
        self.host.warn(f"Find failed:\n{message}", "Find")

    def _on_found(self, out: "FindOutcome") -> None:
        host, prompting = self.host, self.host.prompting
        if out.serial != self.serial or out.image_id != prompting.image_id():
            return  # a newer search or another image
        prompting.set_busy("")
        if not out.candidates:
            why = (f"{out.by_model} found no instance" if out.by_model else
                   "no automatic mask is large enough" if not out.searched else "no mask matched")
            host.status(f"Find “{out.text}”: nothing found ({why})", 6000)
            return
        # the found object's box becomes the prompt in waiting (clicks refine it); the found masks are shown
        # as the answer to that prompt, without a model run
        result = prompting.show_answer_for_box(out.candidates[0].box, lambda version, prompt: SegmentResult(
            out.image_id, version, prompt, out.candidates, out.polygons, out.overlays))
        self._shown, self._action, self._text = result, prompting.first_prompt(), out.text
        host.add_suggestion_provider(SOURCE, self.provider, first=True)  # first: pre-fills the dialog
        best = out.candidates[0].score
        more = f"; C: next of {len(out.candidates)} matches" if len(out.candidates) > 1 else ""
        found = (f"{len(out.candidates)} instance(s) by {out.by_model}, best {best:.0%}" if out.by_model
                 else f"best match {best:.0%} of {out.searched} masks")
        host.status(f"Find “{out.text}”: {found} — F finishes, B clears{more}", 8000)
        prompting.focus()

    def _sync(self) -> None:
        """Keep the box prompt on the candidate shown (C), and forget the find once its box is gone."""
        prompting = self.host.prompting
        if self._shown is None:
            return
        ours = self._action is not None and prompting.first_prompt() is self._action
        result, candidate = prompting.shown()
        if result is not self._shown:
            if not ours:
                self._forget()  # cleared, undone or replaced: the text no longer describes the prompts
            return
        box = BoxPrompt.of(self._shown.candidates[candidate].box)
        if ours and self._action != box:
            prompting.set_first_box(box)
            self._action = prompting.first_prompt()

    def provider(self, image: np.ndarray, mask: np.ndarray) -> List[LabelSuggestion]:
        """The searched text for the object a find produced (also after clicks refined it): the label
        dialog's pre-fill. Confidence 1: the user said what it is."""
        prompting = self.host.prompting
        if self._text and self._action is not None and prompting.first_prompt() is self._action \
                and mask is prompting.preview_mask():
            return [LabelSuggestion(self._text, 1.0)]
        return []

    # ------------------------------------------------------------------ worker thread
    def _find(self, ctx: JobContext, serial: int, image_id: str, image: np.ndarray, text: str, worker: Any,
              settings: tuple) -> FindOutcome:
        from anylabel.classify import TextFinder

        top_k = settings[-1]
        clf = self.clip.job_classifier
        if clf is None:
            raise ModelError("no CLIP model is loaded: choose one in AI → CLIP labels…")
        key = f"{worker.name}|{clf.model.name}|{image_id}"
        cached = self._cache
        if cached is not None and cached[0] == key:
            finder = cached[1]
        else:
            segmenter = self._segmenter(ctx, worker)
            ctx.progress(0, 0, f"Find: automatic masks of the image ({worker.name})…")
            t0 = time.perf_counter()
            def batches(done: int, total: int) -> bool:  # progress, and a cancel between two point batches
                if total:
                    ctx.progress(done, total, f"Find: automatic masks of the image ({worker.name}) {done}/{total}…")
                return not ctx.cancelled

            # under the key the worker and its prefetch cache the image's embedding: no second encoder run
            masks = [c.mask for c in segmenter.everything(image, key=_content_key(image_id), progress=batches)]
            ctx.check()
            ctx.progress(0, 0, f"Find: CLIP on {len(masks)} masks "
                               f"(automatic masks took {time.perf_counter() - t0:.1f} s)…")
            finder = TextFinder(clf)
            finder.set_masks(image, masks, key=key, cancel=ctx.token, progress=lambda done, total: ctx.progress(
                done, total, f"Find: CLIP on mask {done}/{total}…"))
            self._cache = (key, finder)  # one image: masks are full-size, a few hundred MB on big images
        out = FindOutcome(serial, image_id, text, searched=finder.candidates)
        if not finder.candidates:
            return out
        for k, match in enumerate(finder.find(text, top_k=top_k)):
            if k and match.probability < MIN_PROBABILITY:
                break
            _add_candidate(out, finder.masks[match.index], float(match.probability), settings)
        return out

    def _find_by_model(self, ctx: JobContext, serial: int, image_id: str, image: np.ndarray, text: str,
                       worker: Any, settings: tuple) -> FindOutcome:
        """Every instance of ``text`` as the text-prompted model (SAM 3) finds them, best first."""
        segmenter = self._segmenter(ctx, worker)
        ctx.progress(0, 0, f"Find: {worker.name} looks for “{text}”…")
        found = segmenter.segment_text(text, image, key=_content_key(image_id))
        ctx.check()
        out = FindOutcome(serial, image_id, text, searched=len(found), by_model=worker.name)
        for candidate in found:
            _add_candidate(out, candidate.mask, float(candidate.score), settings)
        return out

    def _segmenter(self, ctx: JobContext, worker: Any) -> Any:
        """The window's segmenter, waiting for it to finish loading (the worker loads it in its thread)."""
        from anylabel.gui.ai.everything import wait_for_segmenter

        return wait_for_segmenter(ctx, worker, "Find")


def _add_candidate(out: FindOutcome, mask: np.ndarray, score: float, settings: tuple) -> None:
    """One match of a find: its candidate, polygons and preview overlay."""
    tolerance, min_area, colour, _top_k = settings
    box = _box(mask)
    cand = MaskCandidate(mask, score, None, box)
    out.candidates.append(cand)
    out.polygons.append(cand.polygons(tolerance=tolerance, min_area=min_area))
    out.overlays.append(mask_overlay(mask, colour, box))


def understands_text(worker: Any, registry: Any) -> bool:
    """Whether the window's model takes text prompts itself (SAM 3): its loaded segmenter has
    ``segment_text``, or, before it has loaded, its registry entry is of a text-prompted family."""
    segmenter = worker.segmenter
    if segmenter is not None:
        return callable(getattr(segmenter, "segment_text", None))
    try:
        return registry.get(worker.name).family in TEXT_FAMILIES
    except ModelError:  # not in the registry (a test's or a plug-in's model): not a text-prompted family
        return False


def _content_key(image_id: str) -> Optional[str]:
    """The image file's content key (:func:`anylabel.imaging.loader.file_key`, as the segment worker uses),
    or None for an image that is not a file."""
    from anylabel.errors import ImageLoadError
    from anylabel.imaging.loader import file_key

    try:
        return file_key(image_id) if Path(image_id).is_file() else None
    except (ImageLoadError, OSError, ValueError):
        return None
