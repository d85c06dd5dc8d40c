"""Dataset statistics view: instances per class (a bar chart drawn with QPainter) and per image.

The numbers come from :func:`anylabel.formats.stats.folder_stats`, the same function ``anylabel stats DIR``
prints, computed on the dialog's :class:`~anylabel.gui.tasks.TaskWorker` so a folder of thousands of files
does not freeze the window; closing the dialog cancels and joins it. The window's ``"stats"`` feature
(:func:`attach`) opens it on the annotation folder.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, List, Optional, Tuple

from PyQt5 import QtCore, QtGui, QtWidgets

from anylabel.formats.base import Options
from anylabel.formats.stats import DatasetStats, folder_stats
from anylabel.gui.dialogs.export import run_task
from anylabel.gui.tasks import TaskWorker
from anylabel.session.folder import display_name
from anylabel.tasks import CancelToken

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.features import FeatureHost


class BarChart(QtWidgets.QWidget):
    """Horizontal bars, one per (name, value), longest first as given; drawn with QPainter."""

    BAR_HEIGHT = 18

    def __init__(self, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.bars: List[Tuple[str, int]] = []
        self.setSizePolicy(QtWidgets.QSizePolicy.Expanding, QtWidgets.QSizePolicy.Minimum)

    def set_bars(self, bars: List[Tuple[str, int]]) -> None:
        self.bars = list(bars)
        self.setMinimumHeight(max(40, (self.BAR_HEIGHT + 4) * len(self.bars) + 8))
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt's name
        return QtCore.QSize(480, self.minimumHeight())

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QtGui.QPainter(self)
        painter.setRenderHint(QtGui.QPainter.Antialiasing)
        if not self.bars:
            painter.drawText(self.rect(), QtCore.Qt.AlignCenter, "no instances")
            return
        metrics = painter.fontMetrics()
        label_w = min(self.width() // 3, max(metrics.horizontalAdvance(n) for n, _ in self.bars) + 8)
        value_w = metrics.horizontalAdvance(str(max(v for _, v in self.bars))) + 8
        span = max(1, self.width() - label_w - value_w - 8)
        top = max(v for _, v in self.bars) or 1
        bar_colour = self.palette().color(QtGui.QPalette.Highlight)
        for i, (name, value) in enumerate(self.bars):
            y = 4 + i * (self.BAR_HEIGHT + 4)
            text_rect = QtCore.QRect(0, y, label_w - 4, self.BAR_HEIGHT)
            painter.drawText(text_rect, QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter,
                             metrics.elidedText(name, QtCore.Qt.ElideRight, label_w - 4))
            length = int(round(span * value / top))
            painter.fillRect(QtCore.QRect(label_w, y, max(1, length), self.BAR_HEIGHT), bar_colour)
            painter.drawText(QtCore.QRect(label_w + length + 4, y, value_w, self.BAR_HEIGHT),
                             QtCore.Qt.AlignLeft | QtCore.Qt.AlignVCenter, str(value))


class StatsDialog(QtWidgets.QDialog):
    """Counts of a LabelMe folder: a summary line, a chart and table per class, a table per image."""

    def __init__(self, parent: Optional[QtWidgets.QWidget] = None, folder: Optional[str] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Dataset statistics")
        self.resize(640, 560)
        self.folder = str(folder or "")
        self.stats: Optional[DatasetStats] = None
        self.summary = QtWidgets.QLabel("")
        self.progress = QtWidgets.QProgressBar()
        self.chart = BarChart()  # instances per class
        self.image_chart = BarChart()  # images per instance count: how instances spread over the images
        charts = QtWidgets.QWidget()
        charts_lay = QtWidgets.QVBoxLayout(charts)
        charts_lay.addWidget(QtWidgets.QLabel("Instances per class"))
        charts_lay.addWidget(self.chart)
        charts_lay.addWidget(QtWidgets.QLabel("Images by number of instances"))
        charts_lay.addWidget(self.image_chart)
        charts_lay.addStretch(1)
        chart_scroll = QtWidgets.QScrollArea(widgetResizable=True)
        chart_scroll.setWidget(charts)
        self.class_table = self._table(["class", "instances", "images"])
        self.image_table = self._table(["image", "instances"])
        tabs = QtWidgets.QTabWidget()
        tabs.addTab(chart_scroll, "Chart")
        tabs.addTab(self.class_table, "Per class")
        tabs.addTab(self.image_table, "Per image")
        self.warnings = QtWidgets.QPlainTextEdit(readOnly=True)
        self.warnings.setMaximumHeight(90)
        refresh = QtWidgets.QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        close = QtWidgets.QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(refresh)
        buttons.addWidget(close)
        lay = QtWidgets.QVBoxLayout(self)
        for w in (self.summary, self.progress, tabs, self.warnings):
            lay.addWidget(w)
        lay.addLayout(buttons)
        self.worker = TaskWorker("stats-dialog", parent=self)
        self._options = Options()

    @staticmethod
    def _table(headers: List[str]) -> QtWidgets.QTableWidget:
        table = QtWidgets.QTableWidget(0, len(headers))
        table.setHorizontalHeaderLabels(headers)
        table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        table.horizontalHeader().setSectionResizeMode(0, QtWidgets.QHeaderView.Stretch)
        table.verticalHeader().setVisible(False)
        table.setSortingEnabled(True)
        return table

    def refresh(self) -> None:
        """Recount the folder on a worker thread."""
        if not self.folder or self.worker.busy:
            return
        self._options = Options(cancel=CancelToken())
        self.summary.setText(f"counting {display_name(self.folder)} …")
        folder, options = self.folder, self._options

        def task(progress):
            options.progress = progress
            return folder_stats(folder, options)

        self.worker.submit(run_task(task), kind="count", token=options.cancel, on_done=self._show,
                           on_progress=lambda d, t, s, _i: self._on_progress(d, t, s),
                           on_failed=lambda msg: self.summary.setText(f"error: {display_name(msg)}"))

    def _on_progress(self, done: int, total: int, _stage: str) -> None:
        self.progress.setMaximum(max(1, total))
        self.progress.setValue(done)

    def _show(self, result) -> None:
        stats, report = result
        self.stats = stats
        self.summary.setText(f"{stats.images} images, {stats.instances} instances, {len(stats.per_class)} classes"
                             + (f", {stats.ignored} __ignore__ regions" if stats.ignored else "")
                             + f" · {stats.checked} of {stats.images} images checked (reviewed)")
        self.chart.set_bars(list(stats.per_class.items()))
        self.image_chart.set_bars([(f"{k} instances", n) for k, n in stats.histogram()])
        self._fill(self.class_table, [(c, n, stats.images_per_class.get(c, 0)) for c, n in stats.per_class.items()])
        self._fill(self.image_table, [(display_name(k), n) for k, n in stats.per_image.items()])
        self.warnings.setPlainText(display_name("\n".join(str(w) for w in report.warnings)))
        self.warnings.setVisible(bool(report.warnings))

    @staticmethod
    def _fill(table: QtWidgets.QTableWidget, rows: List[tuple]) -> None:
        table.setSortingEnabled(False)
        table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                item = QtWidgets.QTableWidgetItem()
                item.setData(QtCore.Qt.DisplayRole, value)  # numbers sort as numbers
                table.setItem(r, c, item)
        table.setSortingEnabled(True)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.worker.busy:
            self._options.cancel.set()
            self.worker.shutdown(timeout=None)
        super().closeEvent(event)


def open_stats_dialog(parent: Optional[QtWidgets.QWidget] = None, folder: Optional[str] = None) -> StatsDialog:
    """Show the statistics of ``folder`` (counted in the background); returns the dialog."""
    dialog = StatsDialog(parent, folder)
    dialog.setAttribute(QtCore.Qt.WA_DeleteOnClose, parent is not None)
    dialog.show()
    dialog.refresh()
    return dialog


class StatsFeature:
    """File → Statistics of the window (the ``"stats"`` feature)."""

    name = "stats"

    def __init__(self, host: "FeatureHost") -> None:
        self.host = host
        self.dialog: Optional[StatsDialog] = None

    def open(self) -> Optional[StatsDialog]:
        """The statistics of the annotation folder (unsaved changes saved or left out first)."""
        if not self.host.maybe_leave():
            return None
        self.dialog = open_stats_dialog(self.host.widget(), self.host.annotation_folder())
        return self.dialog

    def close(self) -> None:
        dialog, self.dialog = self.dialog, None
        try:
            if dialog is not None:
                dialog.worker.shutdown(timeout=None)
        except RuntimeError:  # the dialog (deleted on close) is gone already: so is its worker
            log.debug("statistics dialog already deleted")


def attach(host: "FeatureHost") -> StatsFeature:
    """The statistics feature (File → Statistics calls :meth:`StatsFeature.open`)."""
    return StatsFeature(host)
