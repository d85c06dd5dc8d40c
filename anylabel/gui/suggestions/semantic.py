"""The SSA vote in the label dialog: when an object is finished (F), the dialog opens pre-filled with the
voted class, showing its confidence and the alternatives (the window's ``suggestion_providers`` hook, see
:mod:`anylabel.gui.editing`), and ``auto_accept_confidence`` accepts a confident vote without asking.

All voting is :class:`anylabel.semantic.suggest.LabelSuggester` (Qt-free). Here: the menu actions
(AI → Semantic labels…, AI → Accept confident votes…), loading a branch and preparing each image's class
map on the feature's worker (:class:`anylabel.gui.tasks.TaskWorker`, "newest request wins": a model branch
may take a second per image, and only the newest image matters), and the provider function. The window is
reached only through the feature host (:mod:`anylabel.gui.features`).

The branch comes from the settings file (``semantic: labelmap:DIR`` | ``yolo:MODEL`` | ``hf:MODEL_DIR``)
or from the menu.
"""
from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, List, Optional

import numpy as np
from PyQt5 import QtCore, QtWidgets

from anylabel.gui.tasks import TaskWorker
from anylabel.semantic.suggest import LabelSuggester
from anylabel.tasks import JobContext, Policy
from anylabel.votes import LabelSuggestion

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.features import FeatureHost

log = logging.getLogger(__name__)
SOURCE = "SSA vote"


class SemanticSuggestions(QtCore.QObject):
    """Owns the window's :class:`LabelSuggester` and registers it as the ``"SSA vote"`` provider."""

    name = "ssa"
    #: (spec, the LabelSuggester or None, error message or "") when a background branch load ends
    loaded = QtCore.pyqtSignal(str, object, str)

    def __init__(self, host: "FeatureHost") -> None:
        super().__init__(host.widget())
        self.host = host
        self.suggester: Optional[LabelSuggester] = None
        self.spec: Optional[str] = None
        self.jobs = TaskWorker("semantic", parent=self)
        self.loaded.connect(self._on_loaded)

    # ------------------------------------------------------------------ configuration
    def set_suggester(self, suggester: Optional[LabelSuggester], spec: Optional[str] = None) -> None:
        """Use ``suggester`` (None turns the SSA vote off) and prepare the current image."""
        old, self.suggester, self.spec = self.suggester, suggester, spec
        if suggester is not None:
            self.host.add_suggestion_provider(SOURCE, self.provider, first=True)
        else:
            self.host.remove_suggestion_provider(SOURCE)
        if old is not None and old is not suggester:
            self.jobs.cancel("prepare")
            # closed on the worker, after a class map it may still be computing
            self.jobs.submit(lambda ctx: old.close(), kind="close")
        self.prepare_current()

    def load_spec(self, spec: Optional[str]) -> None:
        """Build the branch of ``spec`` on a background thread (model branches load for seconds)."""
        if not spec:
            self.set_suggester(None)
            return

        from anylabel.gui.ai.models_glue import gui_device

        device = gui_device(getattr(self.host.config, "device", None))
        self.host.status(f"Loading semantic branch {spec}…", 4000)
        self.jobs.submit(lambda ctx: LabelSuggester.from_spec(spec, device=device), kind="load", policy=Policy.LATEST,
                         on_done=lambda suggester: self.loaded.emit(spec, suggester, ""),
                         on_failed=lambda message: self.loaded.emit(spec, None, message))

    def _on_loaded(self, spec: str, suggester: Optional[LabelSuggester], error: str) -> None:
        if error or suggester is None:
            self.host.warn(f"Cannot use the semantic branch {spec}:\n{error}", "Semantic labels")
            return
        self.set_suggester(suggester, spec)
        self.host.status(f"Label suggestions from {spec}", 4000)

    # ------------------------------------------------------------------ per image
    def current_key(self, image: Optional[np.ndarray]) -> Optional[str]:
        """The current image's path, or a content key for an image without one (a video frame)."""
        host = self.host
        path = host.current_path()
        if path is not None and (image is None or image is host.current_image()):
            return path
        if image is None:
            return None
        sample = np.ascontiguousarray(image[:: max(1, image.shape[0] // 64), :: max(1, image.shape[1] // 64)])
        return "array:" + hashlib.blake2b(sample.tobytes() + str(image.shape).encode(), digest_size=12).hexdigest()

    def prepare_current(self) -> None:
        """Compute the current image's class map in the background, so F does not wait for it."""
        sug, image = self.suggester, self.host.current_image()
        key = self.current_key(image)
        if sug is None or key is None:
            return

        def work(ctx: JobContext) -> None:
            try:
                sug.prepare(key, image)
            except Exception as e:  # noqa: BLE001 - suggestions are optional; F reports a failure again
                log.warning("semantic class map of %s: %s", key, e)

        self.jobs.submit(work, kind="prepare", policy=Policy.COALESCE)

    def provider(self, image: np.ndarray, mask: np.ndarray) -> List[LabelSuggestion]:
        """``(label, confidence)`` proposals of the vote for ``mask``, best first (the dialog's hook)."""
        sug = self.suggester
        key = self.current_key(image)
        if sug is None or key is None:
            return []
        if key.startswith("array:") and sug.voter is not None and not sug.voter.needs_image:
            return []  # a label-map branch finds maps by file name: a video frame has none
        return sug.suggest(mask, key, image).suggestions()

    # ------------------------------------------------------------------ menu
    def ask_spec(self) -> None:
        spec, ok = QtWidgets.QInputDialog.getText(
            self.host.widget(), "Semantic labels (SSA)",
            "Semantic branch: labelmap:DIR, yolo:MODEL.pt or hf:MODEL_DIR (empty = off)",
            text=self.spec or "")
        if ok:
            self.load_spec(spec.strip() or None)

    def ask_threshold(self) -> None:
        cfg = self.host.config
        current = cfg.auto_accept_confidence
        value, ok = QtWidgets.QInputDialog.getDouble(
            self.host.widget(), "Accept confident votes",
            "Accept a label suggestion without the dialog at this confidence (%), 0 = always ask:",
            100.0 * current if current is not None else 90.0, 0.0, 100.0, 1)
        if ok:
            cfg.auto_accept_confidence = value / 100.0 if value > 0 else None


    def close(self) -> None:
        """Stop the worker (after a class map it is computing) and release the branch."""
        self.jobs.shutdown()
        if self.suggester is not None:
            self.suggester.close()
            self.suggester = None


def attach(host: "FeatureHost") -> SemanticSuggestions:
    """Add the SSA vote to the window: menu actions, and the settings' branch if one is configured."""
    ssa = SemanticSuggestions(host)
    menu = host.menu("ai")
    if menu is not None:
        menu.addSeparator()
        menu.addAction("Semantic labels (SSA)…", ssa.ask_spec)
        menu.addAction("Accept confident votes without asking…", ssa.ask_threshold)
    host.on_image_loaded(lambda _path: ssa.prepare_current())
    spec = getattr(host.config, "semantic", None)
    if spec:
        ssa.load_spec(spec)
    return ssa
