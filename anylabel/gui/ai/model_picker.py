"""The model picker: every segmentation model of the registry, marked downloaded or not, and the
download with a cancellable progress dialog (``registry.ensure`` on the picker's
:class:`~anylabel.gui.tasks.TaskWorker`, queued: one download after the other)."""
from __future__ import annotations

import logging
from typing import List, Optional

from PyQt5 import QtCore, QtWidgets
from PyQt5.QtCore import Qt

from anylabel.gui.tasks import TaskWorker
from anylabel.models import ModelRegistry, ModelSpec
from anylabel.sizes import format_size
from anylabel.tasks import Job, JobContext

log = logging.getLogger(__name__)

SEGMENTER_FAMILIES = ("sam", "sam2", "fastsam", "classical")


def _size(n: Optional[int]) -> str:
    return format_size(n, unknown="") if n else ""


def ask_download(parent: Optional[QtWidgets.QWidget], registry: ModelRegistry, spec: ModelSpec,
                 why: str = "") -> bool:
    """Ask before downloading ``spec`` (its size, URL and destination); ``why`` says what needs it."""
    where = registry.local_path(spec)
    answer = QtWidgets.QMessageBox.question(
        parent, "Download model",
        f"{spec.display_name or spec.name} is not downloaded yet.{(' ' + why) if why else ''}\n\n"
        f"Download {_size(spec.size) or 'it'} from\n{spec.url}\nto {where}?")
    return answer == QtWidgets.QMessageBox.Yes


class ModelPicker(QtWidgets.QComboBox):
    """A combo box of segmentation models; emits :attr:`modelChosen` once the chosen model's file is there.

    Choosing a model that is not downloaded asks first, then downloads it with a progress dialog that
    can be cancelled (the partial file is kept, so the next attempt resumes).
    """

    modelChosen = QtCore.pyqtSignal(str)
    message = QtCore.pyqtSignal(str)

    def __init__(self, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.registry: Optional[ModelRegistry] = None
        self.current_name: Optional[str] = None
        # deleting the picker (its window closed mid-download) cancels the download and lets the thread end
        self.downloads = TaskWorker("model-downloads", parent=self)
        self.download: Optional[Job] = None
        self.progress_dialog: Optional[QtWidgets.QProgressDialog] = None
        self.confirm_download = True  # tests turn the confirmation off
        self.setSizeAdjustPolicy(QtWidgets.QComboBox.AdjustToContents)
        self.setToolTip("Segmentation model (✓ ready, ⬇ needs a download)")
        self.activated.connect(self._activated)

    def set_registry(self, registry: ModelRegistry, current: Optional[str]) -> None:
        self.registry = registry
        self.current_name = current
        self.refresh()

    def specs(self) -> List[ModelSpec]:
        """The segmentation models (the backends' list when available: it adds the classical backend)."""
        if self.registry is None:
            return []
        try:
            from anylabel.backends.factory import segmenter_specs

            return segmenter_specs(self.registry)
        except (ImportError, AttributeError):
            return [s for s in self.registry.specs() if s.family in SEGMENTER_FAMILIES]

    def spec(self, name: str) -> ModelSpec:
        for spec in self.specs():
            if spec.name == name:
                return spec
        return self.registry.get(name)

    def refresh(self) -> None:
        self.blockSignals(True)
        self.clear()
        from anylabel.models.speed import picker_offers  # encode times measured here; on a CPU fast ones first

        for offer in picker_offers(self.specs()):
            spec = offer.spec
            ready = self.registry.is_available(spec)
            mark = "✓" if ready else "⬇"
            extra = "" if ready else f"  ({_size(spec.size)})" if spec.size else ""
            self.addItem(f"{mark} {spec.display_name or spec.name}{offer.label_suffix}{extra}", spec.name)
            idx = self.count() - 1
            self.setItemData(idx, f"{spec.name}: {'ready' if ready else 'not downloaded'}"
                             f"{' · ' + str(self.registry.local_path(spec)) if self.registry.local_path(spec) else ''}",
                             Qt.ToolTipRole)
        if self.current_name is not None:
            self.setCurrentIndex(max(0, self.findData(self.current_name)))
        self.blockSignals(False)

    def set_current(self, name: str) -> None:
        self.current_name = name
        idx = self.findData(name)
        if idx >= 0:
            self.blockSignals(True)
            self.setCurrentIndex(idx)
            self.blockSignals(False)

    def _activated(self, index: int) -> None:
        name = self.itemData(index)
        if name is None or self.registry is None:
            return
        spec = self.spec(name)
        if self.registry.is_available(spec):
            self.current_name = name
            self.modelChosen.emit(name)
            return
        if self.confirm_download and not ask_download(self, self.registry, spec):
            self.set_current(self.current_name or "")
            return
        self.start_download(spec)

    def start_download(self, spec: ModelSpec) -> Job:
        """Download ``spec`` in the background with a cancellable progress dialog."""
        dialog = QtWidgets.QProgressDialog(f"Downloading {spec.display_name or spec.name}…", "Cancel", 0, 1000, self)
        dialog.setWindowTitle("Download model")
        dialog.setWindowModality(Qt.WindowModal)
        dialog.setMinimumDuration(0)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        registry = self.registry

        def work(ctx: JobContext) -> str:
            registry.ensure(spec, progress=lambda d, t: ctx.progress(d, t), cancel=ctx.token)
            return spec.name

        job = self.downloads.submit(work, kind="download", on_done=lambda name: self._done(dialog, name),
                                    on_progress=lambda d, t, _s, _i: self._progress(dialog, spec, d, t),
                                    on_failed=lambda msg: self._failed(dialog, spec, msg),
                                    on_cancelled=lambda: self._failed(dialog, spec, None))
        dialog.canceled.connect(job.cancel)
        self.download, self.progress_dialog = job, dialog
        dialog.show()
        return job

    def _progress(self, dialog: QtWidgets.QProgressDialog, spec: ModelSpec, done: int, total: int) -> None:
        total = total or spec.size or 0
        if total:
            dialog.setValue(int(1000 * min(done, total) / total))
            dialog.setLabelText(f"Downloading {spec.display_name or spec.name}: {_size(done)} of {_size(total)}")
        else:
            dialog.setLabelText(f"Downloading {spec.display_name or spec.name}: {_size(done)}")

    def _done(self, dialog: QtWidgets.QProgressDialog, name: str) -> None:
        dialog.close()
        self.current_name = name
        self.refresh()
        self.message.emit(f"{name}: downloaded and verified")
        self.modelChosen.emit(name)

    def _failed(self, dialog: QtWidgets.QProgressDialog, spec: ModelSpec, message: Optional[str]) -> None:
        dialog.close()
        self.set_current(self.current_name or "")
        if message is None:
            self.message.emit(f"Download of {spec.name} cancelled (the partial file is kept and resumes next time)")
        else:
            QtWidgets.QMessageBox.warning(self, "Download failed", message)
            self.message.emit(f"Download of {spec.name} failed")
