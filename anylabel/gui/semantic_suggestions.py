"""The SSA vote in the label dialog: when an object is finished (F), the dialog opens pre-filled with the
voted class, showing its confidence and the alternatives (the window's ``suggestion_providers`` hook, see
:mod:`anylabel.gui.editing`), and ``auto_accept_confidence`` accepts a confident vote without asking.

All voting is :class:`anylabel.semantic.suggest.LabelSuggester` (Qt-free). Here: the menu actions
(AI → Semantic labels…, AI → Accept confident votes…), loading a branch and preparing each image's class
map on a background thread (a model branch may take a second per image), and the provider function.

The branch comes from the settings file (``semantic: labelmap:DIR`` | ``yolo:MODEL`` | ``hf:MODEL_DIR``)
or from the menu.
"""
from __future__ import annotations

import hashlib
import logging
import threading
from typing import TYPE_CHECKING, List, Optional, Tuple

import numpy as np
from PyQt5 import QtCore, QtWidgets

from anylabel.errors import AnylabelError
from anylabel.semantic.suggest import LabelSuggester

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.main_window import MainWindow

log = logging.getLogger(__name__)
SOURCE = "SSA vote"


class SemanticSuggestions(QtCore.QObject):
    """Owns the window's :class:`LabelSuggester` and registers it as the ``"SSA vote"`` provider."""

    #: (spec, the LabelSuggester or None, error message or "") when a background branch load ends
    loaded = QtCore.pyqtSignal(str, object, str)

    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.window = window
        self.suggester: Optional[LabelSuggester] = None
        self.spec: Optional[str] = None
        self.loaded.connect(self._on_loaded)

    # ------------------------------------------------------------------ configuration
    def set_suggester(self, suggester: Optional[LabelSuggester], spec: Optional[str] = None) -> None:
        """Use ``suggester`` (None turns the SSA vote off) and prepare the current image."""
        old, self.suggester, self.spec = self.suggester, suggester, spec
        providers = [(n, f) for n, f in self.window.suggestion_providers if n != SOURCE]
        if suggester is not None:
            providers.insert(0, (SOURCE, self.provider))
        self.window.suggestion_providers[:] = providers
        if old is not None and old is not suggester:
            old.close()
        self.prepare_current()

    def load_spec(self, spec: Optional[str]) -> None:
        """Build the branch of ``spec`` on a background thread (model branches load for seconds)."""
        if not spec:
            self.set_suggester(None)
            return

        from anylabel.gui.models_glue import gui_device

        device = gui_device(getattr(self.window.config, "device", None))

        def work() -> None:
            try:
                self.loaded.emit(spec, LabelSuggester.from_spec(spec, device=device), "")
            except AnylabelError as e:
                self.loaded.emit(spec, None, str(e))
            except Exception as e:  # noqa: BLE001 - any failure becomes a message, never a dead thread
                log.exception("loading the semantic branch %s failed", spec)
                self.loaded.emit(spec, None, f"{type(e).__name__}: {e}")

        self.window.statusBar().showMessage(f"Loading semantic branch {spec}…", 4000)
        threading.Thread(target=work, name="semantic-load", daemon=True).start()

    def _on_loaded(self, spec: str, suggester: Optional[LabelSuggester], error: str) -> None:
        if error or suggester is None:
            self.window.warn(f"Cannot use the semantic branch {spec}:\n{error}", "Semantic labels")
            return
        self.set_suggester(suggester, spec)
        self.window.statusBar().showMessage(f"Label suggestions from {spec}", 4000)

    # ------------------------------------------------------------------ per image
    def current_key(self, image: Optional[np.ndarray]) -> Optional[str]:
        """The current image's path, or a content key for an image without one (a video frame)."""
        w = self.window
        if w.folder is not None and w.row is not None and (image is None or image is w.image):
            return str(w.folder.image_path(w.row))
        if image is None:
            return None
        sample = np.ascontiguousarray(image[:: max(1, image.shape[0] // 64), :: max(1, image.shape[1] // 64)])
        return "array:" + hashlib.blake2b(sample.tobytes() + str(image.shape).encode(), digest_size=12).hexdigest()

    def prepare_current(self) -> None:
        """Compute the current image's class map in the background, so F does not wait for it."""
        sug, image = self.suggester, self.window.image
        key = self.current_key(image)
        if sug is None or key is None:
            return

        def work() -> None:
            try:
                sug.prepare(key, image)
            except Exception as e:  # noqa: BLE001 - suggestions are optional; F reports a failure again
                log.warning("semantic class map of %s: %s", key, e)

        threading.Thread(target=work, name="semantic-prepare", daemon=True).start()

    def provider(self, image: np.ndarray, mask: np.ndarray) -> List[Tuple[str, float]]:
        """``(label, confidence)`` proposals of the vote for ``mask``, best first (the dialog's hook)."""
        sug = self.suggester
        key = self.current_key(image)
        if sug is None or key is None:
            return []
        if key.startswith("array:") and sug.voter is not None and not sug.voter.needs_image:
            return []  # a label-map branch finds maps by file name: a video frame has none
        vote = sug.suggest(mask, key, image)
        return [(p.label, float(p.score)) for p in vote.proposals]

    # ------------------------------------------------------------------ menu
    def ask_spec(self) -> None:
        spec, ok = QtWidgets.QInputDialog.getText(
            self.window, "Semantic labels (SSA)",
            "Semantic branch: labelmap:DIR, yolo:MODEL.pt or hf:MODEL_DIR (empty = off)",
            text=self.spec or "")
        if ok:
            self.load_spec(spec.strip() or None)

    def ask_threshold(self) -> None:
        cfg = self.window.config
        current = cfg.auto_accept_confidence
        value, ok = QtWidgets.QInputDialog.getDouble(
            self.window, "Accept confident votes",
            "Accept a label suggestion without the dialog at this confidence (%), 0 = always ask:",
            100.0 * current if current is not None else 90.0, 0.0, 100.0, 1)
        if ok:
            cfg.auto_accept_confidence = value / 100.0 if value > 0 else None


def attach(window: "MainWindow") -> SemanticSuggestions:
    """Add the SSA vote to ``window``: menu actions, and the settings' branch if one is configured."""
    ssa = SemanticSuggestions(window)
    menu = window.menus.get("ai") if hasattr(window, "menus") else None
    if menu is not None:
        menu.addSeparator()
        menu.addAction("Semantic labels (SSA)…", ssa.ask_spec)
        menu.addAction("Accept confident votes without asking…", ssa.ask_threshold)
    if hasattr(window, "imageLoaded"):
        window.imageLoaded.connect(lambda _path: ssa.prepare_current())
    spec = getattr(window.config, "semantic", None)
    if spec:
        ssa.load_spec(spec)
    return ssa
