"""AI → Polygon detail: the simplification tolerance of AI polygons (a slider and a spin box in the bottom tool
bar, Alt+= finer, Alt+- coarser), with the preview's vertex count shown live beside the control and on the
canvas next to the preview.

The tolerance is the session's (``session.assist.set_polygon_tolerance``: what F and new clicks use); the
count and the outline drawn come from ``session.assist.detail()`` (the preview traced once, then simplified
per position in well under a millisecond: ``benchmarks/editing.py``), so what the preview shows is what F
saves.
"""
from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Optional

from PyQt5 import QtCore, QtGui, QtWidgets
from PyQt5.QtCore import Qt

from anylabel.gui.canvas.candidates import add_layer
from anylabel.gui.canvas.widget import Preview

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.main_window import MainWindow
    from anylabel.session import AnnotationSession

#: the slider's positions (pixels): fine steps where the eye sees a difference, coarse ones beyond
STEPS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0, 10.0, 15.0, 20.0, 30.0, 50.0)


class PolygonDetail(QtWidgets.QWidget):
    """``window.polygon_detail``: the control, the vertex count, and the preview's outline at the tolerance."""

    def __init__(self, window: "MainWindow", session: "AnnotationSession") -> None:
        super().__init__(window)
        self.window, self.session, self.canvas = window, session, window.canvas
        self.slider = QtWidgets.QSlider(Qt.Horizontal)
        self.slider.setRange(0, len(STEPS) - 1)
        self.slider.setFixedWidth(150)
        self.slider.setToolTip("Polygon detail of AI objects: left = more vertices (finer), right = fewer")
        self.spin = QtWidgets.QDoubleSpinBox()
        self.spin.setRange(0.0, 50.0)
        self.spin.setDecimals(2)
        self.spin.setSingleStep(0.25)
        self.spin.setSuffix(" px")
        self.spin.setToolTip("Simplification tolerance: how far (pixels) a polygon may leave the mask's boundary")
        self.spin.setFixedWidth(90)
        self.count = QtWidgets.QLabel("")
        self.count.setMinimumWidth(150)
        self.setSizePolicy(QtWidgets.QSizePolicy.Fixed, QtWidgets.QSizePolicy.Fixed)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(QtWidgets.QLabel("Polygon detail"))
        layout.addWidget(self.slider)
        layout.addWidget(self.spin)
        layout.addWidget(self.count)
        self.slider.valueChanged.connect(lambda k: self.set_tolerance(STEPS[k]))
        self.spin.valueChanged.connect(self.set_tolerance)
        window.ai.previewChanged.connect(self._on_preview)
        add_layer(self.canvas, self)
        # the tolerance is a setting (``polygon_tolerance``): kept in the settings file, once the slider rests
        self._save_timer = QtCore.QTimer(self, singleShot=True, interval=1000, timeout=self._save_setting)
        self._show(session.tolerance)

    @property
    def tolerance(self) -> float:
        return self.session.tolerance

    def set_tolerance(self, tolerance: float) -> None:
        """Use ``tolerance`` pixels for AI polygons from now on; the preview's outline follows at once."""
        tolerance = max(0.0, min(50.0, float(tolerance)))
        if tolerance != self.session.tolerance:
            self.session.assist.set_polygon_tolerance(tolerance)
        if tolerance != self.window.config.polygon_tolerance:
            self.window.config.polygon_tolerance = tolerance
            self._save_timer.start()
        self._show(tolerance)
        self._on_preview()

    def _save_setting(self) -> None:
        config = self.window.config
        if config.path is None:
            return  # settings that did not come from a file (tests, scripts) are not written
        from anylabel.config import save_config
        from anylabel.errors import AnylabelError

        try:
            save_config(config)
        except (AnylabelError, OSError) as e:
            self.window.statusBar().showMessage(f"Polygon detail is used, but the settings file was not written: "
                                                f"{e}", 8000)

    def finer(self) -> None:
        """Alt+=: the next smaller step (more vertices)."""
        k = bisect.bisect_left(STEPS, self.tolerance) - 1
        self.set_tolerance(STEPS[max(0, k)])

    def coarser(self) -> None:
        """Alt+-: the next larger step (fewer vertices)."""
        k = bisect.bisect_right(STEPS, self.tolerance)
        self.set_tolerance(STEPS[min(len(STEPS) - 1, k)])

    def _show(self, tolerance: float) -> None:
        for w in (self.slider, self.spin):
            w.blockSignals(True)
        self.slider.setValue(min(range(len(STEPS)), key=lambda k: abs(STEPS[k] - tolerance)))
        self.spin.setValue(tolerance)
        for w in (self.slider, self.spin):
            w.blockSignals(False)

    def text(self) -> str:
        """``812 vertices · 2 parts`` for the preview, or "" without one."""
        detail = self.session.assist.detail()
        if detail is None:
            return ""
        if self.session.mask_output:
            return "mask output (O): no polygon"
        n, parts = self.session.assist.vertex_count(), detail.parts
        return f"{n} vertices" + (f" · {parts} parts" if parts > 1 else "")

    def _on_preview(self) -> None:
        """The shown preview's outline at the session's tolerance (the worker drew it at the request's)."""
        text = self.text()
        self.count.setText(text or "no AI preview")
        pv, detail = self.canvas.preview, self.session.assist.detail()
        if pv is not None and detail is not None and not self.session.mask_output:
            polygons = detail.polygons(self.session.tolerance)
            if len(polygons) != len(pv.polygons) or any(len(a) != len(b) or (a != b).any()
                                                       for a, b in zip(polygons, pv.polygons)):
                self.canvas.preview = Preview(pv.overlay, pv.x0, pv.y0, polygons)
        self.canvas.update()

    def paint(self, p: QtGui.QPainter, pixel_t: QtGui.QTransform) -> None:
        """The vertex count beside the preview's box (a canvas layer)."""
        detail = self.session.assist.detail() if self.canvas.preview is not None else None
        if detail is None or detail.box is None or self.session.mask_output:
            return
        text = self.text()
        x0, y0, x1, _y1 = detail.box
        p.save()
        p.resetTransform()
        corner = pixel_t.map(QtCore.QPointF(x1, y0))
        fm = p.fontMetrics()
        rect = QtCore.QRectF(0, 0, fm.horizontalAdvance(text) + 12, fm.height() + 6)
        rect.moveBottomRight(corner + QtCore.QPointF(0, -4))
        rect.moveLeft(min(max(rect.left(), 2.0), self.canvas.width() - rect.width() - 2))
        rect.moveTop(min(max(rect.top(), 2.0), self.canvas.height() - rect.height() - 2))
        p.setPen(Qt.NoPen)
        p.setBrush(QtGui.QColor(0, 0, 0, 170))
        p.drawRoundedRect(rect, 4, 4)
        p.setPen(QtGui.QColor(0, 220, 255))
        p.drawText(rect, Qt.AlignCenter, text)
        p.restore()


def detail_toolbar(window: "MainWindow", detail: Optional[PolygonDetail], actions) -> QtWidgets.QToolBar:
    """The bottom tool bar: review (checked, next / previous unchecked), polygon detail, everything, view."""
    tb = QtWidgets.QToolBar("Review and detail", window)
    tb.setObjectName("review_detail")
    tb.setToolButtonStyle(Qt.ToolButtonTextOnly)
    for name in ("toggle_checked", "prev_unchecked", "next_unchecked"):
        tb.addAction(actions[name])
    tb.addSeparator()
    if detail is not None:
        tb.addWidget(detail)
    tb.addSeparator()
    for name in ("everything", "view_adjust"):
        tb.addAction(actions[name])
    window.addToolBar(Qt.BottomToolBarArea, tb)
    return tb
