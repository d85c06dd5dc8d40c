"""File → Export dataset / Import annotations: self-contained dialogs over :mod:`anylabel.formats.registry`.

The window's ``"export"`` feature (:func:`attach`, File → Export / Import) opens :func:`open_export_dialog` /
:func:`open_import_dialog`. The work runs on the dialog's :class:`~anylabel.gui.tasks.TaskWorker` (queued,
never on the GUI thread) through the same core functions as ``anylabel export`` / ``anylabel import``:
progress arrives on the GUI thread, Cancel sets the job's cancel token (the core's cancel flag), closing
the dialog cancels and joins, and the summary (counts and warnings naming files and shapes) is shown in
the dialog when it ends.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

from PyQt5 import QtCore, QtWidgets

from anylabel.errors import AnylabelError, CancelledError
from anylabel.formats.base import Options, Report
from anylabel.formats.registry import export_format_names, export_options, formats_with, import_format_names
from anylabel.gui.dialogs.remembered import recall, remember
from anylabel.gui.tasks import TaskWorker
from anylabel.tasks import CancelToken, Job, JobContext

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.features import FeatureHost

#: ``task(progress(done, total, stage)) -> result``: what a dialog runs on its worker
Task = Callable[[Callable[..., None]], Any]


def run_task(task: Task, describe: Callable[[AnylabelError], str] = str) -> Callable[[JobContext], Any]:
    """A worker job running ``task`` with the job's progress; an :class:`AnylabelError` is re-raised in the
    dialog's words (``describe``)."""
    def job(ctx: JobContext) -> Any:
        try:
            return task(ctx.progress)
        except CancelledError:
            raise
        except AnylabelError as e:  # user-facing errors: shown in the dialog, in the dialog's words
            raise AnylabelError(describe(e)) from e
    return job


def _path_row(edit: QtWidgets.QLineEdit, pick: Callable[[], str]) -> QtWidgets.QWidget:
    row = QtWidgets.QWidget()
    lay = QtWidgets.QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(edit)
    button = QtWidgets.QPushButton("Browse…")

    def browse() -> None:
        chosen = pick()
        if chosen:
            edit.setText(chosen)

    button.clicked.connect(browse)
    lay.addWidget(button)
    return row


class _TaskDialog(QtWidgets.QDialog):
    """Form + progress bar + Run/Cancel + summary; subclasses build the form and the task."""

    finished_report = QtCore.pyqtSignal(object)  # the Report, once a run succeeded

    def __init__(self, parent: Optional[QtWidgets.QWidget], title: str) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.form = QtWidgets.QFormLayout()
        self.progress = QtWidgets.QProgressBar()
        self.stage = QtWidgets.QLabel("")
        self.summary = QtWidgets.QPlainTextEdit(readOnly=True)
        self.summary.setMinimumHeight(120)
        self.run_button = QtWidgets.QPushButton("Run")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.close_button = QtWidgets.QPushButton("Close")
        self.cancel_button.setEnabled(False)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.run_button, self.cancel_button, self.close_button):
            buttons.addWidget(b)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addLayout(self.form)
        lay.addWidget(self.stage)
        lay.addWidget(self.progress)
        lay.addWidget(self.summary)
        lay.addLayout(buttons)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        self.worker = TaskWorker("export-dialog", parent=self)
        self.job: Optional[Job] = None  # the run in progress or the last one
        self.report: Optional[Report] = None
        self._cancel = CancelToken()

    #: the text of the checkbox that allows replacing a previous export / import (named in the error)
    replace_option = ""

    def make_task(self) -> Task:
        """The form's work as a :data:`Task` (raises AnylabelError for a bad form)."""
        raise NotImplementedError

    def describe_error(self, error: AnylabelError) -> str:
        """The error as this dialog shows it: the core's message, plus what to do here."""
        from anylabel.formats.output import OutputNotEmptyError

        if isinstance(error, OutputNotEmptyError) and self.replace_option:
            return f"{error}: tick “{self.replace_option}” to replace a previous one there, or choose an empty folder"
        return str(error)

    def start(self) -> None:
        """Validate the form and start the task on a worker thread."""
        self._cancel = CancelToken()  # a fresh flag per run; make_task hands it to the core
        try:
            task = self.make_task()
        except AnylabelError as e:
            self.summary.setPlainText(f"error: {e}")
            return
        self.report = None
        self.summary.setPlainText("")
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        # the job's token is the options' cancel flag: Cancel, closing the dialog and quitting all stop the core
        self.job = self.worker.submit(run_task(task, self.describe_error), kind="run", token=self._cancel,
                                      on_progress=lambda d, t, s, _i: self._on_progress(d, t, s),
                                      on_done=self._on_success, on_failed=self._on_failure,
                                      on_cancelled=lambda: self._on_failure("cancelled"))

    def cancel(self) -> None:
        self._cancel.set()

    def is_running(self) -> bool:
        return self.worker.busy

    def _on_progress(self, done: int, total: int, stage: str) -> None:
        self.stage.setText(f"{stage} {done}/{total}")
        self.progress.setMaximum(max(1, total))
        self.progress.setValue(done)

    def _on_success(self, report: Report) -> None:
        self._on_finished()
        self.report = report
        self.summary.setPlainText(report.summary(max_warnings=200))
        self.finished_report.emit(report)

    def _on_failure(self, message: str) -> None:
        self._on_finished()
        if message == "cancelled":
            self.summary.setPlainText("cancelled: nothing in the output folder was changed")
        else:
            self.summary.setPlainText(f"error: {message}")

    def _on_finished(self) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.is_running():  # stop the work before the dialog (its parent) goes away
            self._cancel.set()
            self.worker.shutdown(timeout=None)
        super().closeEvent(event)


class ExportDialog(_TaskDialog):
    """Export a LabelMe folder to COCO / YOLO-seg / YOLO-det / MOT / LabelMe (the ``anylabel export`` options)."""

    FORMATS = tuple(export_format_names())  # the registry's table: a new format needs no code here
    replace_option = "replace a previous export in the output folder"

    def __init__(self, parent: Optional[QtWidgets.QWidget] = None, folder: Optional[str] = None,
                 image_roots: Sequence[str] = ()) -> None:
        super().__init__(parent, "Export dataset")
        # the images the window has open, when its LabelMe files live elsewhere (--output DIR): the user opened
        # them here, so the export may read them (Options.image_roots)
        self.image_roots = tuple(Path(r) for r in image_roots)
        self.source = QtWidgets.QLineEdit(str(folder or ""))
        self.format = QtWidgets.QComboBox()
        self.format.addItems(self.FORMATS)
        self.output = QtWidgets.QLineEdit()
        self.labels = QtWidgets.QLineEdit()
        self.labels.setPlaceholderText("optional: labels.txt (default: all labels, sorted)")
        self.use_split = QtWidgets.QCheckBox("train/val split")
        self.split = QtWidgets.QDoubleSpinBox(minimum=0.05, maximum=1.0, singleStep=0.05, value=0.8)
        self.seed = QtWidgets.QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.image_mode = QtWidgets.QComboBox()
        self.image_mode.addItems(["copy", "hardlink", "symlink"])
        self.overwrite = QtWidgets.QCheckBox(self.replace_option)
        self.keep_corrupt = QtWidgets.QCheckBox("keep images that do not decode (truncated, corrupt)")
        self.allow_outside = QtWidgets.QCheckBox("follow image paths that lead outside the LabelMe folder")
        # the registry's format-specific options (the CLI's flags): enabled while one of their formats is chosen
        self.format_options = {opt.field: QtWidgets.QCheckBox(f"{' / '.join(formats_with(opt))}: {opt.label}")
                               for opt in export_options()}
        for opt in export_options():
            self.format_options[opt.field].setToolTip(f"{opt.flag}: {opt.help}")
        split_row = QtWidgets.QHBoxLayout()
        for w in (self.use_split, self.split, QtWidgets.QLabel("seed"), self.seed):
            split_row.addWidget(w)
        pick_dir = lambda: QtWidgets.QFileDialog.getExistingDirectory(self, "Choose a folder")  # noqa: E731
        self.form.addRow("LabelMe folder", _path_row(self.source, pick_dir))
        self.form.addRow("Format", self.format)
        self.form.addRow("Output folder", _path_row(self.output, pick_dir))
        self.form.addRow("Labels file", _path_row(
            self.labels, lambda: QtWidgets.QFileDialog.getOpenFileName(self, "Labels file")[0]))
        self.form.addRow("Split (YOLO)", split_row)
        self.form.addRow("Images", self.image_mode)
        self.form.addRow("", self.overwrite)
        self.form.addRow("", self.keep_corrupt)
        self.form.addRow("", self.allow_outside)
        for box in self.format_options.values():
            self.form.addRow("", box)
        self.format.currentTextChanged.connect(self._enable_format_options)
        self.run_button.setText("Export")
        self._recall(folder)
        self._enable_format_options(self.format.currentText())

    def _enable_format_options(self, fmt: str) -> None:
        for opt in export_options():
            self.format_options[opt.field].setEnabled(fmt in formats_with(opt))

    def _recall(self, folder: Optional[str]) -> None:
        """The options of the last export (the folder given by the caller wins; "replace" is never kept)."""
        last = recall("export")
        if not folder and last.get("source"):
            self.source.setText(str(last["source"]))
        if last.get("format") in self.FORMATS:
            self.format.setCurrentText(last["format"])
        self.output.setText(str(last.get("output", "")))
        self.labels.setText(str(last.get("labels", "")))
        self.use_split.setChecked(bool(last.get("use_split", False)))
        self.split.setValue(float(last.get("split", self.split.value())))
        self.seed.setValue(int(last.get("seed", self.seed.value())))
        if last.get("image_mode") in ("copy", "hardlink", "symlink"):
            self.image_mode.setCurrentText(last["image_mode"])
        for name, box in self.format_options.items():
            box.setChecked(bool(last.get(name, False)))

    def options(self) -> Options:
        """The form as core :class:`Options` (raises AnylabelError for a bad labels file)."""
        from anylabel.formats.labels import read_labels_file

        labels_path = self.labels.text().strip()
        return Options(labels=read_labels_file(labels_path) if labels_path else None,
                       split=self.split.value() if self.use_split.isChecked() else None, seed=self.seed.value(),
                       image_mode=self.image_mode.currentText(), overwrite=self.overwrite.isChecked(),
                       keep_corrupt=self.keep_corrupt.isChecked(), allow_outside=self.allow_outside.isChecked(),
                       image_roots=self.image_roots, cancel=self._cancel,
                       **{name: box.isEnabled() and box.isChecked() for name, box in self.format_options.items()})

    def make_task(self) -> Task:
        from anylabel.formats.registry import export_folder

        src, out = self.source.text().strip(), self.output.text().strip()
        if not src or not out:
            raise AnylabelError("choose the LabelMe folder and the output folder")
        fmt = self.format.currentText()
        options = self.options()
        remember("export", {"source": src, "format": fmt, "output": out, "labels": self.labels.text().strip(),
                            "use_split": self.use_split.isChecked(), "split": self.split.value(),
                            "seed": self.seed.value(), "image_mode": self.image_mode.currentText(),
                            **{name: box.isChecked() for name, box in self.format_options.items()}})

        def task(progress: Callable) -> Report:
            options.progress = progress
            return export_folder(Path(src), fmt, Path(out), options)

        return task


class ImportDialog(_TaskDialog):
    """Import COCO / YOLO-seg / YOLO-det as LabelMe JSON (the ``anylabel import`` options)."""

    FORMATS = tuple(import_format_names())
    replace_option = "replace a previous import in the output folder"

    def __init__(self, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent, "Import annotations")
        self.source = QtWidgets.QLineEdit()
        self.source.setPlaceholderText("annotations.json, data.yaml, or their folder")
        self.format = QtWidgets.QComboBox()
        self.format.addItems(self.FORMATS)
        self.output = QtWidgets.QLineEdit()
        self.images = QtWidgets.QLineEdit()
        self.images.setPlaceholderText("optional: the images' folder")
        self.labels = QtWidgets.QLineEdit()
        self.labels.setPlaceholderText("optional: class names (YOLO without data.yaml); filters labels")
        self.copy_images = QtWidgets.QCheckBox("copy the images next to the JSON files")
        self.overwrite = QtWidgets.QCheckBox(self.replace_option)
        self.allow_outside = QtWidgets.QCheckBox("COCO: follow file names that lead outside the images folder")
        pick_dir = lambda: QtWidgets.QFileDialog.getExistingDirectory(self, "Choose a folder")  # noqa: E731
        self.form.addRow("Dataset", _path_row(
            self.source, lambda: QtWidgets.QFileDialog.getOpenFileName(self, "annotations.json or data.yaml")[0]))
        self.form.addRow("Format", self.format)
        self.form.addRow("Images folder", _path_row(self.images, pick_dir))
        self.form.addRow("Labels file", _path_row(
            self.labels, lambda: QtWidgets.QFileDialog.getOpenFileName(self, "Labels file")[0]))
        self.form.addRow("Output folder", _path_row(self.output, pick_dir))
        self.form.addRow("", self.copy_images)
        self.form.addRow("", self.overwrite)
        self.form.addRow("", self.allow_outside)
        self.run_button.setText("Import")
        last = recall("import")  # the last import's options ("replace" is never kept)
        for edit, key in ((self.source, "source"), (self.images, "images"), (self.labels, "labels"),
                          (self.output, "output")):
            edit.setText(str(last.get(key, "")))
        if last.get("format") in self.FORMATS:
            self.format.setCurrentText(last["format"])
        self.copy_images.setChecked(bool(last.get("copy_images", False)))

    def make_task(self) -> Task:
        from anylabel.formats.registry import import_dataset

        src, out = self.source.text().strip(), self.output.text().strip()
        if not src or not out:
            raise AnylabelError("choose the dataset and the output folder")
        from anylabel.formats.labels import read_labels_file

        fmt = self.format.currentText()
        labels_path = self.labels.text().strip()
        images = self.images.text().strip()
        remember("import", {"source": src, "format": fmt, "images": images, "labels": labels_path, "output": out,
                            "copy_images": self.copy_images.isChecked()})
        options = Options(labels=read_labels_file(labels_path) if labels_path else None,
                          images_dir=Path(images) if images else None,
                          image_mode="copy" if self.copy_images.isChecked() else "reference",
                          overwrite=self.overwrite.isChecked(), allow_outside=self.allow_outside.isChecked(),
                          cancel=self._cancel)

        def task(progress: Callable) -> Report:
            options.progress = progress
            return import_dataset(Path(src), fmt, Path(out), options)

        return task


def open_export_dialog(parent: Optional[QtWidgets.QWidget] = None, folder: Optional[str] = None,
                       image_roots: Sequence[str] = ()) -> ExportDialog:
    """Show the export dialog (window-modal, non-blocking) prefilled with ``folder``; ``image_roots``: folders
    of images the export may read besides ``folder``; returns it."""
    dialog = ExportDialog(parent, folder, image_roots)
    dialog.setWindowModality(QtCore.Qt.WindowModal)
    dialog.setAttribute(QtCore.Qt.WA_DeleteOnClose, parent is not None)
    dialog.show()
    return dialog


def open_import_dialog(parent: Optional[QtWidgets.QWidget] = None) -> ImportDialog:
    """Show the import dialog (window-modal, non-blocking); returns it."""
    dialog = ImportDialog(parent)
    dialog.setWindowModality(QtCore.Qt.WindowModal)
    dialog.setAttribute(QtCore.Qt.WA_DeleteOnClose, parent is not None)
    dialog.show()
    return dialog


class ExportFeature:
    """File → Export / Import of the window (the ``"export"`` feature): the dialogs on the annotation folder."""

    name = "export"

    def __init__(self, host: "FeatureHost") -> None:
        self.host = host
        self.dialogs: list = []  # the open ones (closed with the window)

    def open_export(self) -> Optional[ExportDialog]:
        """The export dialog on the window's LabelMe folder; the shown image's unsaved changes are saved
        (or explicitly left out) first. None when the user cancelled that."""
        if not self.host.maybe_leave():
            return None
        images = self.host.images_folder()
        dialog = open_export_dialog(self.host.widget(), self.host.annotation_folder(), (images,) if images else ())
        self._keep(dialog)
        return dialog

    def open_import(self) -> ImportDialog:
        dialog = open_import_dialog(self.host.widget())
        self._keep(dialog)
        return dialog

    def _keep(self, dialog: QtWidgets.QDialog) -> None:
        self.dialogs.append(dialog)
        dialog.destroyed.connect(lambda *_: self.dialogs.remove(dialog) if dialog in self.dialogs else None)

    def close(self) -> None:
        """Cancel and join a running export or import."""
        for dialog in list(self.dialogs):
            dialog.worker.shutdown(timeout=None)


def attach(host: "FeatureHost") -> ExportFeature:
    """The export / import feature (the File menu's actions call :meth:`ExportFeature.open_export` ...)."""
    return ExportFeature(host)
