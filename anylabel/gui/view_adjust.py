"""View → Adjust image (Ctrl+Shift+B): brightness, contrast and gamma of the display only.

The adjustment is the session's (``session.view.set_adjustment``, not undoable, never saved): the canvas
shows ``session.view.display_image(image)`` (one uint8 lookup table over a copy,
:func:`anylabel.editing.view.adjusted`), while the models, the label suggestions and the files keep seeing
the image itself. It stays while moving between images (a dark dataset stays readable) until Reset.
Slider moves are coalesced: a drag repaints at most once per event-loop turn, with the newest values.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Tuple

import numpy as np
from PyQt5 import QtCore, QtGui, QtWidgets
from PyQt5.QtCore import Qt

from anylabel.editing.view import ViewAdjustment

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.main_window import MainWindow
    from anylabel.session import AnnotationSession

#: slider name -> (minimum, maximum, neutral) in hundredths
RANGES = {"brightness": (-100, 100, 0), "contrast": (0, 300, 100), "gamma": (10, 400, 100)}


def rgb_qimage(image: np.ndarray) -> QtGui.QImage:
    """A QImage over ``image`` (HxWx3 uint8 RGB, C-contiguous; not copied: keep the array alive while used)."""
    h, w = image.shape[:2]
    return QtGui.QImage(image.data, w, h, 3 * w, QtGui.QImage.Format_RGB888)


class ViewAdjustDialog(QtWidgets.QDialog):
    """Three sliders and Reset; every change goes to ``session.view.set_adjustment``."""

    def __init__(self, session: "AnnotationSession", parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Adjust the view")
        self.setModal(False)
        self.session = session
        self.sliders = {}
        self.values = {}
        form = QtWidgets.QFormLayout()
        for name, (lo, hi, neutral) in RANGES.items():
            slider = QtWidgets.QSlider(Qt.Horizontal)
            slider.setRange(lo, hi)
            slider.setValue(neutral)
            slider.setMinimumWidth(260)
            value = QtWidgets.QLabel()
            value.setMinimumWidth(44)
            row = QtWidgets.QHBoxLayout()
            row.addWidget(slider, 1)
            row.addWidget(value)
            form.addRow(name.capitalize(), row)
            slider.valueChanged.connect(self._changed)
            self.sliders[name], self.values[name] = slider, value
        note = QtWidgets.QLabel("For your eyes only: the model, the suggestions and the saved files see the "
                                "original image.")
        note.setWordWrap(True)
        note.setStyleSheet("color: palette(mid);")
        self.reset_button = QtWidgets.QPushButton("Reset")
        self.reset_button.clicked.connect(self.reset)
        close = QtWidgets.QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.reset_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addLayout(buttons)
        self._pending = QtCore.QTimer(self, singleShot=True, interval=0, timeout=self._apply)
        self.show_adjustment(session.view.adjustment)

    def show_adjustment(self, adj: ViewAdjustment) -> None:
        """Put the sliders where ``adj`` is (no change is sent back)."""
        for name, slider in self.sliders.items():
            slider.blockSignals(True)
            slider.setValue(int(round(getattr(adj, name) * 100)))
            slider.blockSignals(False)
        self._labels()

    def _labels(self) -> None:
        b, c, g = self.chosen()
        self.values["brightness"].setText(f"{b:+.2f}")
        self.values["contrast"].setText(f"{c:.2f}×")
        self.values["gamma"].setText(f"{g:.2f}")
        self.reset_button.setEnabled((b, c, g) != (0.0, 1.0, 1.0))

    def chosen(self) -> Tuple[float, float, float]:
        return tuple(self.sliders[n].value() / 100.0 for n in RANGES)  # type: ignore[return-value]

    def _changed(self, _value: int = 0) -> None:
        self._labels()
        self._pending.start()  # several slider events in one turn of the loop: one repaint

    def _apply(self) -> None:
        self.session.view.set_adjustment(*self.chosen())

    def reset(self) -> None:
        self.show_adjustment(ViewAdjustment())
        self._pending.stop()
        self.session.view.set_adjustment()


class ViewAdjust(QtCore.QObject):
    """``window.view_adjust``: the dialog, and the canvas showing the adjusted image."""

    def __init__(self, window: "MainWindow", session: "AnnotationSession") -> None:
        super().__init__(window)
        self.window, self.session = window, session
        self.dialog: Optional[ViewAdjustDialog] = None
        self.indicator = QtWidgets.QLabel("")
        self.indicator.setToolTip("The display is adjusted (brightness / contrast / gamma): View → Adjust image")
        window.statusBar().addPermanentWidget(self.indicator)
        self.last_seconds = 0.0  # how long the last re-display took (numpy table + pixmap), for the benchmark
        session.view.adjustment_changed.connect(self._on_adjustment)

    def open(self) -> ViewAdjustDialog:
        if self.dialog is None:
            self.dialog = ViewAdjustDialog(self.session, self.window)
        self.dialog.show_adjustment(self.session.view.adjustment)
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def display_qimage(self, image: np.ndarray) -> Tuple[QtGui.QImage, np.ndarray]:
        """The QImage the canvas shows for ``image`` and the array it reads (keep it until the pixmap is made)."""
        shown = image if self.session.view.adjustment.neutral else self.session.view.display_image(image)
        return rgb_qimage(np.ascontiguousarray(shown)), shown

    def _on_adjustment(self, adj: ViewAdjustment) -> None:
        import time

        t0 = time.perf_counter()
        self.indicator.setText("" if adj.neutral else
                               f"view: B {adj.brightness:+.2f} C {adj.contrast:.2f} γ {adj.gamma:.2f}")
        if self.dialog is not None:
            self.dialog.show_adjustment(adj)
        image = self.session.image
        canvas = self.window.canvas
        if image is None or canvas.pixmap is None:
            return
        qimage, _pixels = self.display_qimage(image)
        canvas.pixmap = QtGui.QPixmap.fromImage(qimage)  # same size: zoom, pan, prompts and tools stay
        canvas.update()
        self.last_seconds = time.perf_counter() - t0
