"""The image list dock: a lazy list model over :class:`ImageFolder` (10,000 rows cost nothing until shown)."""
from __future__ import annotations

from typing import Callable, Optional

from PyQt5 import QtCore, QtGui, QtWidgets
from PyQt5.QtCore import Qt

from anylabel.session.folder import ImageFolder, display_name


def _check_icon(colour: QtGui.QColor) -> QtGui.QIcon:
    """A check mark: the image is reviewed (``checked``)."""
    pix = QtGui.QPixmap(12, 12)
    pix.fill(Qt.transparent)
    p = QtGui.QPainter(pix)
    p.setRenderHint(QtGui.QPainter.Antialiasing)
    tick = QtGui.QPolygonF([QtCore.QPointF(2, 6.5), QtCore.QPointF(5, 9.5), QtCore.QPointF(10.5, 2.5)])
    for c, width in ((QtGui.QColor(255, 255, 255), 4.2), (colour, 2.2)):  # a white halo: readable on a selected row
        pen = QtGui.QPen(c, width)
        pen.setCapStyle(Qt.RoundCap)
        pen.setJoinStyle(Qt.RoundJoin)
        p.setPen(pen)
        p.drawPolyline(tick)
    p.end()
    return QtGui.QIcon(pix)


def _dot_icon(colour: QtGui.QColor, hollow: bool = False) -> QtGui.QIcon:
    pix = QtGui.QPixmap(12, 12)
    pix.fill(Qt.transparent)
    p = QtGui.QPainter(pix)
    p.setRenderHint(QtGui.QPainter.Antialiasing)
    p.setPen(QtGui.QPen(colour, 1.5))
    p.setBrush(Qt.NoBrush if hollow else colour)
    p.drawEllipse(QtCore.QRectF(2, 2, 8, 8))
    p.end()
    return QtGui.QIcon(pix)


class FileListModel(QtCore.QAbstractListModel):
    """Rows are the folder's images; the data of a row is computed only when the view asks for it.

    ``checked(row) -> bool`` (the session's review state, ``session.review.is_checked``) marks reviewed
    images with a check mark."""

    def __init__(self, parent: Optional[QtCore.QObject] = None) -> None:
        super().__init__(parent)
        self.folder: Optional[ImageFolder] = None
        self.dirty_row: Optional[int] = None
        self.checked: Optional[Callable[[int], bool]] = None
        self._checked = _check_icon(QtGui.QColor(46, 204, 113))
        self._checked_dirty = _check_icon(QtGui.QColor(255, 170, 0))  # checked, not saved yet
        self._done = _dot_icon(QtGui.QColor(46, 204, 113))
        self._todo = _dot_icon(QtGui.QColor(140, 140, 140), hollow=True)
        self._dirty = _dot_icon(QtGui.QColor(255, 170, 0))

    def set_folder(self, folder: Optional[ImageFolder]) -> None:
        self.beginResetModel()
        self.folder = folder
        self.dirty_row = None
        self.endResetModel()

    def rowCount(self, parent: QtCore.QModelIndex = QtCore.QModelIndex()) -> int:
        return 0 if parent.isValid() or self.folder is None else len(self.folder)

    def data(self, index: QtCore.QModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid() or self.folder is None:
            return None
        row = index.row()
        if role == Qt.DisplayRole:
            return display_name(self.folder.names[row])
        if role == Qt.DecorationRole:
            if self.is_checked(row):
                return self._checked_dirty if row == self.dirty_row else self._checked
            if row == self.dirty_row:
                return self._dirty
            return self._done if self.folder.is_annotated(row) else self._todo
        if role == Qt.ToolTipRole:
            state = "unsaved changes" if row == self.dirty_row else (
                "annotated" if self.folder.is_annotated(row) else "not annotated")
            review = "checked (reviewed)" if self.is_checked(row) else "not checked"
            return f"{display_name(self.folder.image_path(row))}\n{state}, {review}"
        return None

    def is_checked(self, row: int) -> bool:
        return self.checked is not None and self.checked(row)

    def refresh_row(self, row: Optional[int]) -> None:
        if row is not None and self.folder is not None and 0 <= row < len(self.folder):
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.DecorationRole, Qt.ToolTipRole])

    def set_dirty(self, row: Optional[int]) -> None:
        old, self.dirty_row = self.dirty_row, row
        self.refresh_row(old)
        self.refresh_row(row)


class FileListWidget(QtWidgets.QWidget):
    """A filter box, the image list and a progress line ("12 / 340 annotated")."""

    rowActivated = QtCore.pyqtSignal(int)  # the user picked an image (source-model row)

    def __init__(self, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.model = FileListModel(self)
        self.proxy = QtCore.QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseInsensitive)
        self.filter = QtWidgets.QLineEdit()
        self.filter.setPlaceholderText("Filter file names…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.view = QtWidgets.QListView()
        self.view.setModel(self.proxy)
        self.view.setUniformItemSizes(True)  # no per-row size query: instant with 10,000 rows
        self.view.setLayoutMode(QtWidgets.QListView.Batched)
        self.view.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.view.activated.connect(self._activated)
        self.view.clicked.connect(self._activated)
        self.progress = QtWidgets.QLabel()
        self.progress.setStyleSheet("color: palette(mid); padding: 2px;")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.filter)
        layout.addWidget(self.view)
        layout.addWidget(self.progress)

    def set_folder(self, folder: Optional[ImageFolder]) -> None:
        self.model.set_folder(folder)

    def select_row(self, row: int) -> None:
        idx = self.proxy.mapFromSource(self.model.index(row))
        if idx.isValid():
            self.view.blockSignals(True)
            self.view.setCurrentIndex(idx)
            self.view.blockSignals(False)
            self.view.scrollTo(idx, QtWidgets.QAbstractItemView.EnsureVisible)

    def update_progress(self, current: int, annotated: int) -> None:
        n = self.model.rowCount()
        self.progress.setText(f"image {current + 1} / {n}" + (f" · {annotated} annotated" if annotated >= 0 else ""))

    def _activated(self, idx: QtCore.QModelIndex) -> None:
        src = self.proxy.mapToSource(idx)
        if src.isValid():
            self.rowActivated.emit(src.row())
