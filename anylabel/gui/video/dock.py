"""The video panel's widgets: frame slider, previous / next, jump to a frame, the object being prompted,
propagate (with its range, a progress bar and cancel) and reset tracker. No logic: signals only; the
controller is :class:`anylabel.gui.video.panel.VideoPanel`."""
from __future__ import annotations

from typing import Dict, Optional

from PyQt5 import QtCore, QtWidgets
from PyQt5.QtCore import Qt


class VideoDock(QtWidgets.QWidget):
    """Controls of the open video.

    Signals:
        frameRequested(int): the user moved the slider, pressed previous / next, or jumped.
        objectChosen(int): the object the next clicks are for (an existing id, or a new one).
        newObjectRequested(): "New object".
        propagateRequested(), cancelRequested(), resetRequested(): the buttons.
    """

    frameRequested = QtCore.pyqtSignal(int)
    objectChosen = QtCore.pyqtSignal(int)
    newObjectRequested = QtCore.pyqtSignal()
    propagateRequested = QtCore.pyqtSignal()
    cancelRequested = QtCore.pyqtSignal()
    resetRequested = QtCore.pyqtSignal()

    def __init__(self, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.prev_button = QtWidgets.QPushButton("◀")
        self.prev_button.setToolTip("Previous frame")
        self.next_button = QtWidgets.QPushButton("▶")
        self.next_button.setToolTip("Next frame")
        self.slider = QtWidgets.QSlider(Qt.Horizontal)
        self.slider.setTracking(False)  # one frame load on release, not one per pixel dragged
        self.frame_box = QtWidgets.QSpinBox()
        self.frame_box.setToolTip("Jump to a frame (Enter)")
        self.frame_box.setKeyboardTracking(False)
        self.count_label = QtWidgets.QLabel("/ 0")
        self.object_box = QtWidgets.QComboBox()
        self.object_box.setToolTip("The object the clicks are for: a new one, or a tracked one to correct")
        self.new_object_button = QtWidgets.QPushButton("New object")
        self.end_box = QtWidgets.QSpinBox()
        self.end_box.setToolTip("Propagate up to this frame (inclusive)")
        self.propagate_button = QtWidgets.QPushButton("Propagate")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.reset_button = QtWidgets.QPushButton("Reset tracker")
        self.follow_box = QtWidgets.QCheckBox("Follow")
        self.follow_box.setToolTip("Show each frame as the tracker finishes it")
        self.follow_box.setChecked(True)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setVisible(False)
        self.status = QtWidgets.QLabel("")

        nav = QtWidgets.QHBoxLayout()
        for w in (self.prev_button, self.slider, self.next_button, QtWidgets.QLabel("Frame"), self.frame_box,
                  self.count_label):
            nav.addWidget(w)
        nav.setStretch(1, 1)
        track = QtWidgets.QHBoxLayout()
        for w in (QtWidgets.QLabel("Object"), self.object_box, self.new_object_button, QtWidgets.QLabel("to frame"),
                  self.end_box, self.propagate_button, self.cancel_button, self.progress, self.follow_box,
                  self.reset_button):
            track.addWidget(w)
        track.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(nav)
        layout.addLayout(track)
        layout.addWidget(self.status)

        self.prev_button.clicked.connect(lambda: self.frameRequested.emit(self.slider.value() - 1))
        self.next_button.clicked.connect(lambda: self.frameRequested.emit(self.slider.value() + 1))
        self.slider.valueChanged.connect(self.frameRequested.emit)
        self.frame_box.valueChanged.connect(self.frameRequested.emit)
        self.object_box.activated.connect(lambda i: self.objectChosen.emit(int(self.object_box.itemData(i))))
        self.new_object_button.clicked.connect(self.newObjectRequested.emit)
        self.propagate_button.clicked.connect(self.propagateRequested.emit)
        self.cancel_button.clicked.connect(self.cancelRequested.emit)
        self.reset_button.clicked.connect(self.resetRequested.emit)

    def set_frame_count(self, n: int) -> None:
        for w in (self.slider, self.frame_box, self.end_box):
            w.blockSignals(True)
            w.setRange(0, max(0, n - 1))
            w.blockSignals(False)
        self.end_box.setValue(max(0, n - 1))
        self.count_label.setText(f"/ {max(0, n - 1)}")

    def show_frame(self, frame: int) -> None:
        """Reflect the shown frame without emitting ``frameRequested``."""
        for w in (self.slider, self.frame_box):
            w.blockSignals(True)
            w.setValue(frame)
            w.blockSignals(False)

    def set_objects(self, objects: Dict[int, str], current: int) -> None:
        """List the tracked objects (id -> label) and the current one (which may be new)."""
        self.object_box.clear()
        for obj_id in sorted(set(objects) | {current}):
            label = objects.get(obj_id)
            self.object_box.addItem(f"{obj_id}: {label}" if label else f"{obj_id} (new)", obj_id)
        self.object_box.setCurrentIndex(self.object_box.findData(current))

    def set_running(self, running: bool, total: int = 0) -> None:
        self.propagate_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.progress.setVisible(running)
        if running:
            self.progress.setRange(0, max(1, total))
            self.progress.setValue(0)
