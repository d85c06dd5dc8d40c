"""The Video dock's object list: one row per track of the video (from the files, so objects keep their ids
after Reset tracker), with its colour, id, one label and its confidence, frame range, and a review flag.
No logic: it shows :class:`anylabel.tracking.index.TrackRow` rows and says which one the user picked."""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence

from PyQt5 import QtCore, QtGui, QtWidgets
from PyQt5.QtCore import Qt

from anylabel.tracking.index import TrackRow

#: the flag shown for a track a person should review
REVIEW = "⚑ review"
COLUMNS = ("Object", "Label", "Frames", "Review")


def label_text(row: TrackRow) -> str:
    """The label cell: the track's label, with its vote's confidence when frames voted."""
    return row.label if row.confidence is None else f"{row.label} ({row.confidence:.0%})"


def frames_text(row: TrackRow) -> str:
    text = f"{row.first}–{row.last} ({row.frames})"
    return text + (f", {row.interpolated} interpolated" if row.interpolated else "")


class ObjectList(QtWidgets.QTreeWidget):
    """Signals: objectPicked(int) on a click (the clicks then correct that track), objectActivated(int) on a
    double-click (show its first frame)."""

    objectPicked = QtCore.pyqtSignal(int)
    objectActivated = QtCore.pyqtSignal(int)

    def __init__(self, icon: Callable[[str], QtGui.QIcon], parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.icon = icon
        self.rows: Dict[int, TrackRow] = {}
        self.setColumnCount(len(COLUMNS))
        self.setHeaderLabels(list(COLUMNS))
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SingleSelection)
        self.setToolTip("The video's tracks. Click: the clicks correct that object, Ctrl+Shift+J interpolates it; "
                        "double-click: its first frame")
        self.itemClicked.connect(lambda it, _c: self.objectPicked.emit(int(it.data(0, Qt.UserRole))))
        self.itemDoubleClicked.connect(lambda it, _c: self.objectActivated.emit(int(it.data(0, Qt.UserRole))))

    def set_rows(self, rows: Sequence[TrackRow], extra: Dict[int, str], current: Optional[int]) -> None:
        """Show ``rows`` and the objects in ``extra`` (id -> label: confirmed, not in a file yet); select
        ``current``."""
        self.rows = {r.track_id: r for r in rows}
        self.setUpdatesEnabled(False)
        self.clear()
        items: List[QtWidgets.QTreeWidgetItem] = []
        for tid in sorted(set(self.rows) | set(extra)):
            row = self.rows.get(tid)
            if row is None:
                item = QtWidgets.QTreeWidgetItem([str(tid), extra[tid], "this frame", ""])
                item.setIcon(0, self.icon(extra[tid]))
            else:
                item = QtWidgets.QTreeWidgetItem([str(tid), label_text(row), frames_text(row),
                                                  REVIEW if row.review else ""])
                item.setIcon(0, self.icon(row.label))
                if row.review:
                    why = ", ".join(map(str, row.disagreeing[:12])) + ("…" if len(row.disagreeing) > 12 else "")
                    item.setToolTip(3, f"frames that disagree: {why}" if why else "low confidence")
            item.setData(0, Qt.UserRole, tid)
            items.append(item)
        self.addTopLevelItems(items)
        for i in range(len(COLUMNS)):
            self.resizeColumnToContents(i)
        self.select(current)
        self.setUpdatesEnabled(True)

    def select(self, track_id: Optional[int]) -> None:
        self.blockSignals(True)
        self.clearSelection()
        for i in range(self.topLevelItemCount()):
            item = self.topLevelItem(i)
            if track_id is not None and int(item.data(0, Qt.UserRole)) == track_id:
                item.setSelected(True)
                self.scrollToItem(item)
        self.blockSignals(False)

    def selected_track(self) -> Optional[int]:
        items = self.selectedItems()
        return int(items[0].data(0, Qt.UserRole)) if items else None

    def row_texts(self) -> List[List[str]]:
        """What the list shows, row by row (for tests and screenshots)."""
        return [[self.topLevelItem(i).text(c) for c in range(len(COLUMNS))] for i in range(self.topLevelItemCount())]
