"""CLIP in the label dialog: the classifier's top-k for a finished object, next to the SSA vote.

AI → CLIP labels… picks a registry model of family ``clip`` and a vocabulary (a file, comma-separated
words, or empty = the label list); the settings file can name them too (``clip_model``,
``clip_vocabulary``). The model loads on a background thread (:class:`JobThread`; a download reports its
progress in the status bar). Then, when an object is finished (F), the ``"CLIP"`` provider ranks the
vocabulary ∪ the SSA vote's candidates for the mask with CLIP (SSA-engine's filter,
:func:`anylabel.classify.ssa_filter.filter_candidates`), and the dialog shows that top-k in its own row.

Nothing heavy runs on the GUI thread at F: whenever the AI preview changes, its mask's image embedding and
the text embeddings of the names it will be ranked against (vocabulary ∪ its SSA candidates) are computed
in the background, so F finds them ready. Otherwise (F pressed within a few hundred ms of the last
click) the missing embeddings are computed at F: one crop, ~0.4 s for ViT-B/32 on a 2-core CPU.
The find box (:mod:`anylabel.gui.clip_find`) shares the model and the job thread.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Tuple

import numpy as np
from PyQt5 import QtCore, QtWidgets

from anylabel.errors import AnylabelError, CancelledError

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.main_window import MainWindow

log = logging.getLogger(__name__)
SOURCE = "CLIP"
#: names that label files use for "no class" (labelme's labels.txt, VOC): never CLIP candidates
NOT_NAMES = ("__ignore__", "_background_")


def load_model(name: str, registry: Any, progress: Optional[Callable[[int, int], None]] = None,
               cancel: object = None, device: Optional[str] = None) -> Any:
    """The CLIP model ``name`` of ``registry`` (download, checksum, safe loading) on ``device`` (a name of
    :mod:`anylabel.devices`); runs on the job thread. Tests replace this function with a stand-in model."""
    from anylabel.classify import load_clip

    return load_clip(name, registry=registry, progress=progress, cancel=cancel, device=device)


def emit(signal: Any, *args: Any) -> None:
    """Emit from a background thread; the receiver may be gone when the window closed meanwhile."""
    try:
        signal.emit(*args)
    except RuntimeError:  # "wrapped C/C++ object ... has been deleted": nobody is listening any more
        log.debug("signal dropped: its receiver was deleted")


class JobThread:
    """One daemon thread that runs jobs in submission order. A job replaces the queued (not yet started)
    job of the same kind, so a burst of requests (preview changes, find texts) runs only the newest."""

    def __init__(self, name: str) -> None:
        self._cond = threading.Condition()
        self._jobs: "OrderedDict[str, Callable[[], None]]" = OrderedDict()
        self._closed = False
        self.running: Optional[str] = None
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, kind: str, job: Callable[[], None]) -> None:
        with self._cond:
            if not self._closed:
                self._jobs[kind] = job
                self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._jobs.clear()
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._jobs and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                self.running, job = self._jobs.popitem(last=False)
            try:
                job()  # jobs report their own errors; this guard only keeps the thread alive
            except Exception:  # noqa: BLE001 - logged; a failing job must not stop the ones after it
                log.exception("background CLIP job %s failed", self.running)
            finally:
                with self._cond:
                    self.running = None


class ClipSuggestions(QtCore.QObject):
    """Owns the window's CLIP classifier and registers it as the ``"CLIP"`` label-suggestion provider.

    Attributes:
        classifier: the loaded :class:`~anylabel.classify.MaskClassifier` (None = off or loading).
        model_name: the registry name of the model in use or loading.
        top_k: how many names the dialog shows.
        jobs: the background thread for loading, preview embeddings and the find box.
    """

    #: (model name, MaskClassifier or None, error message or "") when a background load ends
    loaded = QtCore.pyqtSignal(str, object, str)
    status = QtCore.pyqtSignal(str)

    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.window = window
        self.classifier: Any = None
        self.model_name: Optional[str] = None
        self.vocabulary_spec: Optional[str] = None
        self._vocabulary: Optional[List[str]] = None  # None = the window's label list
        self.top_k = 3
        self.jobs = JobThread("clip-jobs")
        self._lock = threading.Lock()
        self._job_classifier: Any = None  # what jobs use: set on the job thread as soon as a load ends
        self._cancel_load = threading.Event()
        self._loading: Optional[str] = None  # the model being loaded
        self._embedded: Optional[Tuple[np.ndarray, Any, Any]] = None  # (mask, its embeddings, classifier)
        self.find_box: Any = None  # the find box (:mod:`anylabel.gui.clip_find`), made by attach()
        self.loaded.connect(self._on_loaded)
        self.status.connect(lambda m: window.statusBar().showMessage(m, 5000))
        window.ai.previewChanged.connect(self._embed_preview)

    # ------------------------------------------------------------------ configuration
    def set_vocabulary(self, spec: Optional[str]) -> None:
        """Use the names of ``spec`` (a file or comma-separated words; empty / None = the label list).

        Raises:
            FormatError, ConfigError: the file cannot be read, or it names nothing.
        """
        from anylabel.classify import parse_vocabulary

        spec = (spec or "").strip() or None
        self._vocabulary = parse_vocabulary(spec) if spec else None
        self.vocabulary_spec = spec
        clf = self._job_classifier
        if clf is not None and self._vocabulary:
            names = list(self._vocabulary)
            self.jobs.submit("texts", lambda: clf.embed_texts(names))  # F then needs no text-tower call

    def vocabulary(self) -> List[str]:
        """The names CLIP chooses from: the chosen vocabulary, else the window's known labels."""
        names = self._vocabulary if self._vocabulary is not None else self.window.known_labels()
        return [n for n in names if n not in NOT_NAMES]

    def set_model(self, name: Optional[str]) -> None:
        """Load the CLIP model ``name`` on the job thread (None turns CLIP off)."""
        if name and name == self.model_name and (self.classifier is not None or self._loading == name):
            return  # in use, or already loading
        self._cancel_load.set()  # a download still running for another model stops
        if not name:
            self.model_name, self._job_classifier, self._loading = None, None, None
            self._use(None)
            return
        self.model_name, self._job_classifier, self._loading = name, None, name
        self._use(None)
        cancel = self._cancel_load = threading.Event()
        registry, vocab = self.window.registry, self.vocabulary()
        from anylabel.gui.models_glue import gui_device

        device = gui_device(getattr(self.window.config, "device", None))

        def progress(done: int, total: int) -> None:
            if total:
                emit(self.status, f"Downloading {name}: {done / total:.0%} of {total / 1e6:.0f} MB")

        def work() -> None:
            try:
                from anylabel.classify import MaskClassifier

                clf = MaskClassifier(load_model(name, registry, progress=progress, cancel=cancel, device=device))
                if vocab:
                    clf.embed_texts(vocab)
            except CancelledError:
                return
            except AnylabelError as e:
                emit(self.loaded, name, None, str(e))
                return
            except Exception as e:  # noqa: BLE001 - any failure becomes a message, never a dead thread
                log.exception("loading CLIP model %s failed", name)
                emit(self.loaded, name, None, f"{type(e).__name__}: {e}")
                return
            if not cancel.is_set():
                self._job_classifier = clf  # jobs queued behind this one (a find) can use it right away
                emit(self.loaded, name, clf, "")

        self.window.statusBar().showMessage(f"Loading CLIP model {name}…")
        self.jobs.submit("load", work)

    def _on_loaded(self, name: str, classifier: Any, error: str) -> None:
        if name != self.model_name:
            return  # another model was chosen meanwhile
        self._loading = None
        if classifier is None:
            self.model_name = None
            self.window.warn(f"Cannot use the CLIP model {name}:\n{error}", "CLIP labels")
            return
        self._use(classifier)
        self.window.statusBar().showMessage(f"CLIP labels from {name}", 4000)
        self._embed_preview()

    def _use(self, classifier: Any) -> None:
        self.classifier = classifier
        with self._lock:
            self._embedded = None
        providers = [(n, f) for n, f in self.window.suggestion_providers if n != SOURCE]
        if classifier is not None:
            # right after the SSA vote: the dialog shows the two rows side by side
            at = next((i + 1 for i, (n, _) in enumerate(providers) if n == "SSA vote"), len(providers))
            providers.insert(at, (SOURCE, self.provider))
        self.window.suggestion_providers[:] = providers

    def default_model(self) -> Optional[str]:
        """The settings' CLIP model, else the first clip model of the registry whose file is present."""
        reg = self.window.registry
        if self.window.config.clip_model:
            return self.window.config.clip_model
        specs = [s for s in reg.specs() if s.family == "clip"]
        present = [s for s in specs if reg.is_available(s)]
        return present[0].name if present else None

    # ------------------------------------------------------------------ suggestions
    def _embed_preview(self) -> None:
        """Embed the AI preview's mask, and the names F will rank for it, in the background: F then runs
        neither CLIP tower (each costs ~0.4 s for ViT-B/32 on a 2-core CPU)."""
        clf, mask, image = self.classifier, self.window.ai.preview_mask, self.window.image
        if clf is None or mask is None or image is None or mask.shape != image.shape[:2]:
            return
        vocab = self.vocabulary()  # here: it reads the label list widget

        def work() -> None:
            emb = clf.embed_masks(image, [mask])
            names = self.ssa_candidates(image, mask) + vocab
            if names:
                clf.embed_texts(names)  # cached per name: only names not seen yet reach the text tower
            with self._lock:
                self._embedded = (mask, emb, clf)

        self.jobs.submit("embed", work)

    def _embedding(self, clf: Any, image: np.ndarray, mask: np.ndarray) -> Any:
        with self._lock:
            hit = self._embedded
        if hit is not None and hit[0] is mask and hit[2] is clf:
            return hit[1]
        return clf.embed_masks(image, [mask])

    def ssa_candidates(self, image: np.ndarray, mask: np.ndarray) -> List[str]:
        """The SSA vote's names for ``mask`` (winner first) when the SSA vote is on, else []."""
        ssa = self.window.plugins.get("anylabel.gui.semantic_suggestions")
        if ssa is None or getattr(ssa, "suggester", None) is None:
            return []
        try:
            items = ssa.provider(image, mask)
        except Exception as e:  # noqa: BLE001 - the SSA row reports its own failure; CLIP goes on without it
            log.warning("SSA candidates for CLIP: %s", e)
            return []
        return [n for n, _ in items if n and n not in NOT_NAMES]

    def provider(self, image: np.ndarray, mask: np.ndarray) -> List[Tuple[str, float]]:
        """CLIP's top-k ``(label, probability)`` for ``mask`` (bool HxW) among the vocabulary ∪ the SSA
        vote's candidates, best first (the label dialog's hook)."""
        from anylabel.classify import filter_candidates

        clf = self.classifier
        if clf is None or image is None:
            return []
        names, ssa = self.vocabulary(), self.ssa_candidates(image, mask)
        if not names and not ssa:
            return []
        emb = self._embedding(clf, image, np.asarray(mask, dtype=bool))
        vote = filter_candidates(clf, emb, [ssa], names, top_k=self.top_k)[0]
        return [(p.label, float(p.score)) for p in vote.proposals] if vote.voted else []

    # ------------------------------------------------------------------ menu
    def ask_settings(self) -> None:
        dialog = ClipDialog(self.window, self)
        self.window.clip_dialog = dialog  # reachable by tests
        try:
            if dialog.exec_() != QtWidgets.QDialog.Accepted:
                return
            self.top_k = dialog.top_k.value()
            cfg = self.window.config
            cfg.clip_model, cfg.clip_vocabulary = dialog.model_name(), self.vocabulary_spec
            self.set_model(dialog.model_name())
        finally:
            self.window.clip_dialog = None
            dialog.deleteLater()
            self.window.refocus()

    def close(self) -> None:
        self._cancel_load.set()
        self.jobs.close()


class ClipDialog(QtWidgets.QDialog):
    """AI → CLIP labels…: the model (registry models of family ``clip``), the vocabulary and top-k."""

    def __init__(self, parent: QtWidgets.QWidget, clip: ClipSuggestions) -> None:
        super().__init__(parent)
        self.clip = clip
        self.setWindowTitle("CLIP labels")
        reg = clip.window.registry
        self.model = QtWidgets.QComboBox()
        self.model.addItem("Off", None)
        for spec in (s for s in reg.specs() if s.family == "clip"):
            have = reg.is_available(spec)
            size = f", {spec.size / 1e6:.0f} MB" if spec.size else ""
            self.model.addItem(f"{spec.display_name or spec.name}" + ("" if have else f"  (download{size})"), spec.name)
        current = self.model.findData(clip.model_name or clip.default_model())
        self.model.setCurrentIndex(max(current, 0))
        self.vocab = QtWidgets.QLineEdit(clip.vocabulary_spec or "")
        labels = ", ".join(clip.window.known_labels()[:6])
        self.vocab.setPlaceholderText(f"empty = the label list ({labels or 'none yet'})")
        self.vocab.setToolTip("A text file with one name per line, or comma-separated words: car, red car, person")
        browse = QtWidgets.QPushButton("File…")
        browse.setAutoDefault(False)
        browse.clicked.connect(self._browse)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.vocab, 1)
        row.addWidget(browse)
        self.top_k = QtWidgets.QSpinBox()
        self.top_k.setRange(1, 10)
        self.top_k.setValue(clip.top_k)
        form = QtWidgets.QFormLayout(self)
        form.addRow("Model", self.model)
        form.addRow("Vocabulary", row)
        form.addRow("Names shown", self.top_k)
        form.addRow(QtWidgets.QLabel("With the SSA vote on, CLIP also ranks the vote's candidates."))
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Ok | QtWidgets.QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.resize(480, self.sizeHint().height())

    def model_name(self) -> Optional[str]:
        return self.model.currentData()

    def _browse(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Vocabulary file", "",
                                                        "Text (*.txt *.names *.csv);;All files (*)")
        if path:
            self.vocab.setText(path)

    def accept(self) -> None:
        try:
            self.clip.set_vocabulary(self.vocab.text())
        except AnylabelError as e:
            QtWidgets.QMessageBox.warning(self, "Vocabulary", str(e))
            return  # stay open: the user fixes the file name or the words
        super().accept()


def attach(window: "MainWindow") -> ClipSuggestions:
    """Add CLIP to ``window``: the AI menu action, the find box, and the settings' model if one is set."""
    clip = ClipSuggestions(window)
    window.clip_dialog = None
    menu = window.menus.get("ai") if hasattr(window, "menus") else None
    if menu is not None:
        menu.addAction("CLIP labels…", clip.ask_settings)
    jobs = clip.jobs
    window.destroyed.connect(lambda *_: jobs.close())
    cfg = window.config
    if cfg.clip_vocabulary:
        try:
            clip.set_vocabulary(cfg.clip_vocabulary)
        except AnylabelError as e:
            window.warn(f"The CLIP vocabulary of the settings is unusable:\n{e}", "CLIP labels")
    if cfg.clip_model:
        clip.set_model(cfg.clip_model)
    from anylabel.gui.clip_find import FindBox

    clip.find_box = FindBox(window, clip)
    return clip
