"""The video panel's widgets: frame slider, previous / next, jump to a frame, the object being prompted,
propagate (direction, range: to the end / N frames / to a frame, keep or replace earlier annotations; a
progress bar and cancel), interpolate, reset tracker, and the object list (:class:`ObjectList`). No logic:
signals only; the controller is :class:`anylabel.gui.video.panel.VideoPanel`."""
from __future__ import annotations

from typing import Callable, Dict, Optional

from PyQt5 import QtCore, QtGui, QtWidgets
from PyQt5.QtCore import Qt

from anylabel.gui.video.object_list import ObjectList
from anylabel.session.video import PropagationSettings

#: (value, text) of the dock's choices
DIRECTION_ITEMS = (("forward", "Forward ▶"), ("backward", "◀ Backward"), ("both", "◀ Both ways ▶"))
RANGE_ITEMS = (("end", "to the end"), ("count", "N frames"), ("frame", "to frame"))
EXISTING_ITEMS = (("replace", "replace earlier"), ("keep", "keep earlier"))


class VideoDock(QtWidgets.QWidget):
    """Controls of the open video.

    Signals:
        frameRequested(int): the user moved the slider, pressed previous / next, or jumped.
        objectChosen(int): the object the next clicks are for (an existing id, or a new one).
        newObjectRequested(): "New object".
        propagateRequested(), cancelRequested(), resetRequested(), interpolateRequested(), voteRequested():
            the buttons.
        settingsChanged(): a propagation setting changed (direction, range, N, keep / replace).
    """

    frameRequested = QtCore.pyqtSignal(int)
    objectChosen = QtCore.pyqtSignal(int)
    newObjectRequested = QtCore.pyqtSignal()
    propagateRequested = QtCore.pyqtSignal()
    cancelRequested = QtCore.pyqtSignal()
    resetRequested = QtCore.pyqtSignal()
    interpolateRequested = QtCore.pyqtSignal()
    voteRequested = QtCore.pyqtSignal()
    settingsChanged = QtCore.pyqtSignal()

    def __init__(self, icon: Callable[[str], QtGui.QIcon] = lambda _label: QtGui.QIcon(),
                 parent: Optional[QtWidgets.QWidget] = None) -> None:
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
        self.direction_box = _combo(DIRECTION_ITEMS, "Direction of the Propagate button (Ctrl+M forward, "
                                    "Ctrl+Shift+M backward, Ctrl+Alt+M both ways)")
        self.range_box = _combo(RANGE_ITEMS, "How far a propagation goes")
        self.count_box = QtWidgets.QSpinBox()
        self.count_box.setRange(0, 10_000_000)
        self.count_box.setSuffix(" frames")
        self.count_box.setToolTip("Frames past the starting frame, in each direction")
        self.end_box = QtWidgets.QSpinBox()
        self.end_box.setToolTip("Propagate up to this frame (inclusive; backwards: down to it)")
        self.existing_box = _combo(EXISTING_ITEMS, "An object's shapes already on a frame (a correction, an "
                                   "earlier run): replace them, or keep them and fill only the frames without")
        self.propagate_button = QtWidgets.QPushButton("Propagate")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.reset_button = QtWidgets.QPushButton("Reset tracker")
        self.interpolate_button = QtWidgets.QPushButton("Interpolate")
        self.interpolate_button.setToolTip("Fill the frames between keyframes of the selected track, or of every "
                                           "track when none is selected (Ctrl+Shift+J)")
        self.vote_button = QtWidgets.QPushButton("Vote labels")
        self.vote_button.setToolTip("The SSA vote / CLIP over every frame of the selected track (or of every track): "
                                    "one label per track with its confidence, ⚑ where frames disagree")
        self.object_list = ObjectList(icon)
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
        for w in (QtWidgets.QLabel("Object"), self.object_box, self.new_object_button, self.reset_button):
            track.addWidget(w)
        track.addStretch(1)
        run = QtWidgets.QHBoxLayout()
        for w in (self.direction_box, self.range_box, self.count_box, self.end_box, self.existing_box,
                  self.propagate_button, self.cancel_button, self.progress, self.follow_box, self.interpolate_button,
                  self.vote_button):
            run.addWidget(w)
        run.addStretch(1)
        controls = QtWidgets.QVBoxLayout()
        controls.addLayout(nav)
        controls.addLayout(track)
        controls.addLayout(run)
        controls.addWidget(self.status)
        controls.addStretch(1)
        layout = QtWidgets.QHBoxLayout(self)
        layout.addLayout(controls, 3)
        layout.addWidget(self.object_list, 2)

        self.prev_button.clicked.connect(lambda: self.frameRequested.emit(self.slider.value() - 1))
        self.next_button.clicked.connect(lambda: self.frameRequested.emit(self.slider.value() + 1))
        self.slider.valueChanged.connect(self.frameRequested.emit)
        self.frame_box.valueChanged.connect(self.frameRequested.emit)
        self.object_box.activated.connect(lambda i: self.objectChosen.emit(int(self.object_box.itemData(i))))
        self.new_object_button.clicked.connect(self.newObjectRequested.emit)
        self.propagate_button.clicked.connect(self.propagateRequested.emit)
        self.cancel_button.clicked.connect(self.cancelRequested.emit)
        self.reset_button.clicked.connect(self.resetRequested.emit)
        self.interpolate_button.clicked.connect(self.interpolateRequested.emit)
        self.vote_button.clicked.connect(self.voteRequested.emit)
        for box in (self.direction_box, self.range_box, self.existing_box):
            box.activated.connect(lambda _i: self._settings_changed())
        for spin in (self.count_box, self.end_box):
            spin.valueChanged.connect(lambda _v: self._settings_changed())
        self._show_range()

    # ------------------------------------------------------------------------------ settings
    def settings(self) -> PropagationSettings:
        """The propagation settings as the widgets show them."""
        return PropagationSettings(direction=self.direction_box.currentData(), range=self.range_box.currentData(),
                                   count=self.count_box.value(), to_frame=self.end_box.value(),
                                   existing=self.existing_box.currentData())

    def set_settings(self, settings: PropagationSettings) -> None:
        """Show ``settings`` (without emitting ``settingsChanged``); ``to_frame`` is clamped to the video."""
        for box, value in ((self.direction_box, settings.direction), (self.range_box, settings.range),
                           (self.existing_box, settings.existing)):
            box.setCurrentIndex(max(0, box.findData(value)))
        for spin, value in ((self.count_box, settings.count), (self.end_box, settings.to_frame)):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)
        self._show_range()

    def _settings_changed(self) -> None:
        self._show_range()
        self.settingsChanged.emit()

    def _show_range(self) -> None:
        mode = self.range_box.currentData()
        self.count_box.setVisible(mode == "count")
        self.end_box.setVisible(mode == "frame")

    def set_frame_count(self, n: int) -> None:
        for w in (self.slider, self.frame_box, self.end_box):
            w.blockSignals(True)
            w.setRange(0, max(0, n - 1))
            w.blockSignals(False)
        self.end_box.blockSignals(True)
        self.end_box.setValue(max(0, n - 1))
        self.end_box.blockSignals(False)
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
        self.interpolate_button.setEnabled(not running)
        self.vote_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.progress.setVisible(running)
        if running:
            self.progress.setRange(0, max(1, total))
            self.progress.setValue(0)


def _combo(items, tip: str) -> QtWidgets.QComboBox:
    box = QtWidgets.QComboBox()
    for value, text in items:
        box.addItem(text, value)
    box.setToolTip(tip)
    return box
