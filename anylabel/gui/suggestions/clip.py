"""CLIP in the label dialog: the classifier's top-k for a finished object, next to the SSA vote.

AI → CLIP labels… picks a registry model of family ``clip`` and a vocabulary (a file, comma-separated
words, or empty = the label list); the settings file can name them too (``clip_model``,
``clip_vocabulary``). The model loads on the feature's worker thread
(:class:`~anylabel.gui.tasks.TaskWorker`, "newest request wins" per kind of job; a download reports its
progress in the status bar). Then, when an object is finished (F), the ``"CLIP"`` provider ranks the
vocabulary ∪ the SSA vote's candidates for the mask with CLIP (SSA-engine's filter,
:func:`anylabel.classify.ssa_filter.filter_candidates`), and the dialog shows that top-k in its own row.

Nothing heavy runs on the GUI thread at F: whenever the AI preview changes, its mask's image embedding and
the text embeddings of the names it will be ranked against (vocabulary ∪ its SSA candidates) are computed
in the background, so F finds them ready. Otherwise (F pressed within a few hundred ms of the last
click) the missing embeddings are computed at F: one crop, ~0.4 s for ViT-B/32 on a 2-core CPU.
The find box (:mod:`anylabel.gui.suggestions.find`) shares the model and the worker. Everything of the window goes
through the feature host (:mod:`anylabel.gui.features`).
"""
from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Tuple

import numpy as np
from PyQt5 import QtCore, QtWidgets

from anylabel.errors import AnylabelError
from anylabel.gui.tasks import TaskWorker
from anylabel.tasks import JobContext, Policy
from anylabel.votes import LabelSuggestion

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.features import FeatureHost

log = logging.getLogger(__name__)
SOURCE = "CLIP"
SSA_SOURCE = "SSA vote"  # the SSA vote's suggestion source (anylabel.gui.suggestions.semantic.SOURCE)
#: names that label files use for "no class" (labelme's labels.txt, VOC): never CLIP candidates
NOT_NAMES = ("__ignore__", "_background_")


def load_model(name: str, registry: Any, progress: Optional[Callable[[int, int], None]] = None,
               cancel: object = None, device: Optional[str] = None) -> Any:
    """The CLIP model ``name`` of ``registry`` (download, checksum, safe loading) on ``device`` (a name of
    :mod:`anylabel.devices`); runs on the job thread. Tests replace this function with a stand-in model."""
    from anylabel.classify import load_clip

    return load_clip(name, registry=registry, progress=progress, cancel=cancel, device=device)


class ClipSuggestions(QtCore.QObject):
    """Owns the window's CLIP classifier and registers it as the ``"CLIP"`` label-suggestion provider.

    Attributes:
        classifier: the loaded :class:`~anylabel.classify.MaskClassifier` (None = off or loading).
        model_name: the registry name of the model in use or loading.
        top_k: how many names the dialog shows.
        jobs: the worker for loading, preview embeddings and the find box.
    """

    name = "clip"
    #: (model name, MaskClassifier or None, error message or "") when a background load ends
    loaded = QtCore.pyqtSignal(str, object, str)

    def __init__(self, host: "FeatureHost") -> None:
        super().__init__(host.widget())
        self.host = host
        self.classifier: Any = None
        self.model_name: Optional[str] = None
        self.vocabulary_spec: Optional[str] = None
        self._vocabulary: Optional[List[str]] = None  # None = the window's label list
        self.top_k = 3
        self.jobs = TaskWorker("clip-jobs", parent=self)
        self._lock = threading.Lock()
        self.job_classifier: Any = None  # what jobs use: set on the job thread as soon as a load ends
        self._loading: Optional[str] = None  # the model being loaded
        self._embedded: Optional[Tuple[np.ndarray, Any, Any]] = None  # (mask, its embeddings, classifier)
        self.find_box: Any = None  # the find box (:mod:`anylabel.gui.suggestions.find`), made by attach()
        self.clip_dialog: Optional["ClipDialog"] = None  # the open settings dialog (reachable by tests)
        self.loaded.connect(self._on_loaded)
        host.on_preview_changed(self._embed_preview)
        host.on_device_changed(self._device_changed)

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
        clf = self.job_classifier
        if clf is not None and self._vocabulary:
            names = list(self._vocabulary)
            # F then needs no text-tower call
            self.jobs.submit(lambda ctx: clf.embed_texts(names), kind="texts", policy=Policy.LATEST)

    def vocabulary(self) -> List[str]:
        """The names CLIP chooses from: the chosen vocabulary, else the window's known labels."""
        names = self._vocabulary if self._vocabulary is not None else self.host.known_labels()
        return [n for n in names if n not in NOT_NAMES]

    def set_model(self, name: Optional[str]) -> None:
        """Load the CLIP model ``name`` on the worker (None turns CLIP off); a newer choice cancels a load
        (a download) still running for another model."""
        if name and name == self.model_name and (self.classifier is not None or self._loading == name):
            return  # in use, or already loading
        if not name:
            self.jobs.cancel("load")
            self.model_name, self.job_classifier, self._loading = None, None, None
            self._use(None)
            return
        self.model_name, self.job_classifier, self._loading = name, None, name
        self._use(None)
        registry, vocab = self.host.registry, self.vocabulary()
        from anylabel.gui.ai.models_glue import gui_device

        device = gui_device(getattr(self.host.config, "device", None))

        def work(ctx: JobContext) -> Any:
            from anylabel.classify import MaskClassifier

            clf = MaskClassifier(load_model(name, registry, progress=lambda d, t: ctx.progress(d, t, "download"),
                                            cancel=ctx.token, device=device))
            if vocab:
                clf.embed_texts(vocab)
            ctx.check()
            self.job_classifier = clf  # jobs queued behind this one (a find) can use it right away
            return clf

        def progress(done: int, total: int, _stage: str, _item: Any) -> None:
            if total:
                self.host.status(f"Downloading {name}: {done / total:.0%} of {total / 1e6:.0f} MB", 5000)

        self.host.status(f"Loading CLIP model {name}…", 0)
        self.jobs.submit(work, kind="load", policy=Policy.LATEST, on_progress=progress,
                         on_done=lambda clf: self.loaded.emit(name, clf, ""),
                         on_failed=lambda message: self.loaded.emit(name, None, message))

    def _device_changed(self, _device: str) -> None:
        """The Device menu chose another device: CLIP in use is loaded again there."""
        if self.model_name:
            name = self.model_name
            self.set_model(None)
            self.set_model(name)

    def _on_loaded(self, name: str, classifier: Any, error: str) -> None:
        if name != self.model_name:
            return  # another model was chosen meanwhile
        self._loading = None
        if classifier is None:
            self.model_name = None
            self.host.warn(f"Cannot use the CLIP model {name}:\n{error}", "CLIP labels")
            return
        self._use(classifier)
        self.host.status(f"CLIP labels from {name}", 4000)
        self._embed_preview()

    def _use(self, classifier: Any) -> None:
        self.classifier = classifier
        with self._lock:
            self._embedded = None
        if classifier is not None:
            # right after the SSA vote: the dialog shows the two rows side by side
            self.host.add_suggestion_provider(SOURCE, self.provider, after=SSA_SOURCE)
        else:
            self.host.remove_suggestion_provider(SOURCE)

    def default_model(self) -> Optional[str]:
        """The settings' CLIP model, else the first clip model of the registry whose file is present."""
        reg = self.host.registry
        if self.host.config.clip_model:
            return self.host.config.clip_model
        specs = [s for s in reg.specs() if s.family == "clip"]
        present = [s for s in specs if reg.is_available(s)]
        return present[0].name if present else None

    # ------------------------------------------------------------------ suggestions
    def _embed_preview(self) -> None:
        """Embed the AI preview's mask, and the names F will rank for it, in the background: F then runs
        neither CLIP tower (each costs ~0.4 s for ViT-B/32 on a 2-core CPU)."""
        clf, mask, image = self.classifier, self.host.prompting.preview_mask(), self.host.current_image()
        if clf is None or mask is None or image is None or mask.shape != image.shape[:2]:
            return
        vocab = self.vocabulary()  # here: it reads the label list widget

        def work(ctx: JobContext) -> None:
            emb = clf.embed_masks(image, [mask])
            names = self.ssa_candidates(image, mask) + vocab
            if names:
                clf.embed_texts(names)  # cached per name: only names not seen yet reach the text tower
            with self._lock:
                self._embedded = (mask, emb, clf)

        self.jobs.submit(work, kind="embed", policy=Policy.LATEST)

    def _embedding(self, clf: Any, image: np.ndarray, mask: np.ndarray) -> Any:
        with self._lock:
            hit = self._embedded
        if hit is not None and hit[0] is mask and hit[2] is clf:
            return hit[1]
        return clf.embed_masks(image, [mask])

    def ssa_candidates(self, image: np.ndarray, mask: np.ndarray) -> List[str]:
        """The SSA vote's names for ``mask`` (winner first) when the SSA vote is on, else [] (through the
        host: the vote is the ``"SSA vote"`` suggestion source)."""
        try:
            items = self.host.suggestions_from(SSA_SOURCE, image, mask)
        except Exception as e:  # noqa: BLE001 - the SSA row reports its own failure; CLIP goes on without it
            log.warning("SSA candidates for CLIP: %s", e)
            return []
        return [s.label for s in items if s.label and s.label not in NOT_NAMES]

    def provider(self, image: np.ndarray, mask: np.ndarray) -> List[LabelSuggestion]:
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
        return vote.suggestions() if vote.voted else []

    # ------------------------------------------------------------------ menu
    def ask_settings(self) -> None:
        dialog = ClipDialog(self.host.widget(), self)
        self.clip_dialog = dialog
        try:
            if dialog.exec_() != QtWidgets.QDialog.Accepted:
                return
            self.top_k = dialog.top_k.value()
            cfg = self.host.config
            cfg.clip_model, cfg.clip_vocabulary = dialog.model_name(), self.vocabulary_spec
            self.set_model(dialog.model_name())
        finally:
            self.clip_dialog = None
            dialog.deleteLater()
            self.host.refocus()

    def close(self) -> None:
        """Stop the worker (cancels a download) and join it."""
        self.jobs.shutdown()


class ClipDialog(QtWidgets.QDialog):
    """AI → CLIP labels…: the model (registry models of family ``clip``), the vocabulary and top-k."""

    def __init__(self, parent: QtWidgets.QWidget, clip: ClipSuggestions) -> None:
        super().__init__(parent)
        self.clip = clip
        self.setWindowTitle("CLIP labels")
        reg = clip.host.registry
        self.model = QtWidgets.QComboBox()
        self.model.addItem("Off", None)
        for spec in (s for s in reg.specs() if s.family == "clip"):
            have = reg.is_available(spec)
            size = f", {spec.size / 1e6:.0f} MB" if spec.size else ""
            self.model.addItem(f"{spec.display_name or spec.name}" + ("" if have else f"  (download{size})"), spec.name)
        current = self.model.findData(clip.model_name or clip.default_model())
        self.model.setCurrentIndex(max(current, 0))
        self.vocab = QtWidgets.QLineEdit(clip.vocabulary_spec or "")
        labels = ", ".join(clip.host.known_labels()[:6])
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


def attach(host: "FeatureHost") -> ClipSuggestions:
    """Add CLIP to the window: the AI menu action, the find box, and the settings' model if one is set."""
    from anylabel.gui.suggestions.find import FindBox

    clip = ClipSuggestions(host)
    menu = host.menu("ai")
    if menu is not None:
        menu.addAction("CLIP labels…", clip.ask_settings)
    cfg = host.config
    if cfg.clip_vocabulary:
        try:
            clip.set_vocabulary(cfg.clip_vocabulary)
        except AnylabelError as e:
            host.warn(f"The CLIP vocabulary of the settings is unusable:\n{e}", "CLIP labels")
    if cfg.clip_model:
        clip.set_model(cfg.clip_model)
    clip.find_box = FindBox(host, clip)
    return clip
