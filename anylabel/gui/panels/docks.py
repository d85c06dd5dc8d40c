"""The label list (colours, counts, hide a whole label) and the shape list (visibility, selection)."""
from __future__ import annotations

import math
from typing import Iterable, List, Optional, Set

from PyQt5 import QtCore, QtWidgets
from PyQt5.QtCore import Qt

from anylabel.document import Shape
from anylabel.geometry import rotated
from anylabel.gui.canvas.colors import LabelColors
from anylabel.tracking.instances import label_instances
from anylabel.tracking.interpolate import MARK, is_interpolated


class LabelListWidget(QtWidgets.QListWidget):
    """Every known label with its colour and how many shapes of the image carry it.

    Unchecking a label hides its shapes; double-clicking selects them.
    """

    visibilityChanged = QtCore.pyqtSignal(object)  # set of hidden labels
    labelActivated = QtCore.pyqtSignal(str)

    def __init__(self, colors: LabelColors, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.colors = colors
        self.known: List[str] = []
        self.hidden_labels: Set[str] = set()
        #: ``fn(shapes) -> {label: count}``; None counts shapes (video mode counts instances: tracks)
        self._updating = False
        self.itemChanged.connect(self._item_changed)
        self.itemDoubleClicked.connect(lambda it: self.labelActivated.emit(it.data(Qt.UserRole)))
        self.setToolTip("Uncheck a label to hide its shapes; double-click to select them")

    def add_known(self, labels: Iterable[str]) -> None:
        for label in labels:
            if label and label not in self.known:
                self.known.append(label)

    def refresh(self, shapes: List[Shape]) -> None:
        counts = label_instances(shapes)  # instances, not polygons: a tracked or grouped object counts once
        self.add_known(counts)
        self._updating = True
        self.clear()
        for label in sorted(self.known, key=lambda name: (-counts.get(name, 0), name.lower())):
            n = counts.get(label, 0)
            item = QtWidgets.QListWidgetItem(self.colors.icon(label), f"{label}   {n}" if n else label)
            item.setData(Qt.UserRole, label)
            item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Unchecked if label in self.hidden_labels else Qt.Checked)
            if not n:
                item.setForeground(self.palette().brush(self.palette().Disabled, self.palette().Text))
            self.addItem(item)
        self._updating = False

    def _item_changed(self, item: QtWidgets.QListWidgetItem) -> None:
        if self._updating:
            return
        label = item.data(Qt.UserRole)
        if item.checkState() == Qt.Checked:
            self.hidden_labels.discard(label)
        else:
            self.hidden_labels.add(label)
        self.visibilityChanged.emit(set(self.hidden_labels))


class ShapeListWidget(QtWidgets.QListWidget):
    """One row per shape of the image: colour, label, type; the check box is its visibility."""

    visibilityChanged = QtCore.pyqtSignal(object)  # set of hidden shape indices
    selectionChangedByUser = QtCore.pyqtSignal(object)  # sorted list of indices
    editRequested = QtCore.pyqtSignal(int)

    def __init__(self, colors: LabelColors, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.colors = colors
        self._updating = False
        self.setSelectionMode(QtWidgets.QAbstractItemView.ExtendedSelection)
        self.itemChanged.connect(self._item_changed)
        self.itemSelectionChanged.connect(self._selection_changed)
        self.itemDoubleClicked.connect(lambda it: self.editRequested.emit(self.row(it)))
        self.setToolTip("Check box: visibility · double-click: change the label")

    def refresh(self, shapes: List[Shape], hidden: Set[int], selected: Set[int]) -> None:
        self._updating = True
        self.setUpdatesEnabled(False)
        self.clear()
        for i, s in enumerate(shapes):
            item = QtWidgets.QListWidgetItem(self.colors.icon(s.label), describe(s))
            if s.score is not None:
                item.setToolTip(f"model score {s.score:.3f}")
            item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Unchecked if i in hidden else Qt.Checked)
            self.addItem(item)
            item.setSelected(i in selected)
        self.setUpdatesEnabled(True)
        self._updating = False

    def select(self, indices: Iterable[int]) -> None:
        self._updating = True
        wanted = set(indices)
        for i in range(self.count()):
            self.item(i).setSelected(i in wanted)
        if wanted:
            self.scrollToItem(self.item(max(wanted)))
        self._updating = False

    def hidden(self) -> Set[int]:
        return {i for i in range(self.count()) if self.item(i).checkState() != Qt.Checked}

    def _item_changed(self, item: QtWidgets.QListWidgetItem) -> None:
        if not self._updating:
            self.visibilityChanged.emit(self.hidden())

    def _selection_changed(self) -> None:
        if not self._updating:
            self.selectionChangedByUser.emit(sorted(self.row(it) for it in self.selectedItems()))


def describe(shape: Shape) -> str:
    """One line for a shape: label, group (unless it is the track's own: the parts of a tracked mask), track,
    its own type and size, and "interpolated" while it is an interpolated shape nobody edited."""
    label = shape.label or "(no label)"
    own = shape.track_id is not None and shape.group_id == shape.track_id
    group = f" #{shape.group_id}" if shape.group_id is not None and not own else ""
    track = f" track {shape.track_id}" if shape.track_id is not None else ""
    mark = "   interpolated" if MARK in shape.extra and is_interpolated(shape) else ""
    return f"{label}{group}{track}   {shape_kind(shape)}{mark}"


def shape_kind(shape: Shape) -> str:
    """The shape's type in words with its size: ``line strip, 4 pts``, ``rectangle 40×60``, ``circle r 25``."""
    t, pts = shape.shape_type, shape.points
    if t in ("polygon", "linestrip"):
        return f"{'polygon' if t == 'polygon' else 'line strip'}, {len(pts)} pts"
    if t == "points":
        return f"points, {len(pts)}"
    if t == "line" and len(pts) == 2:
        return f"line {math.dist(pts[0], pts[1]):.0f} px"
    if t == "circle" and len(pts) == 2:
        return f"circle r {math.dist(pts[0], pts[1]):.0f}"
    if t == "rectangle" and len(pts) == 2:
        return f"rectangle {abs(pts[1][0] - pts[0][0]):.0f}×{abs(pts[1][1] - pts[0][1]):.0f}"
    if t == "mask" and len(pts) == 2:  # the box's corners are pixels (inclusive), as labelme writes them
        return f"mask {abs(pts[1][0] - pts[0][0]) + 1:.0f}×{abs(pts[1][1] - pts[0][1]) + 1:.0f}"
    if t == "rotation" and len(pts) == 4:
        r = rotated.rotation_params(pts)
        return f"rotated rectangle {r.width:.0f}×{r.height:.0f}, {math.degrees(rotated.direction(pts)):.0f}°"
    return {"linestrip": "line strip", "rotation": "rotated rectangle"}.get(t, t)  # odd point counts
