"""What the mouse does on the canvas, one class per mode.

* :class:`AiTool`: left click = positive point, right click or Shift+click = negative point, drag = box,
  Ctrl+drag = negative box.
* :class:`PolygonTool`: click vertices; click the first vertex, double-click or Enter closes; Backspace
  removes the last vertex; Esc cancels.
* :class:`RectangleTool`: drag (or click two corners); :class:`TwoPointTool` is its base, also of the line,
  circle and rotated-rectangle tools (:mod:`anylabel.gui.canvas.shape_tools`, with the point and line strip).
* :class:`~anylabel.gui.canvas.edit.EditTool` (its own module): select, move, reshape.

Tools emit the canvas's signals; none of them changes the document.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional, Tuple

import numpy as np
from PyQt5 import QtCore, QtGui
from PyQt5.QtCore import Qt

from anylabel.document import Shape
from anylabel.gui.canvas.paint import NEGATIVE, POSITIVE, pen

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.canvas.widget import Canvas

DRAG_PX = 5.0  # a press that moves less than this is a click
GRAB_PX = 7.0  # how close (screen pixels) the cursor must be to grab a vertex or an edge


class Tool:
    cursor = Qt.ArrowCursor
    hint = ""  # one line of gestures shown at the bottom of the canvas

    def __init__(self, canvas: "Canvas") -> None:
        self.canvas = canvas

    def press(self, ev: QtGui.QMouseEvent, x: float, y: float) -> None: ...
    def move(self, ev: QtGui.QMouseEvent, x: float, y: float) -> None: ...
    def release(self, ev: QtGui.QMouseEvent, x: float, y: float) -> None: ...
    def double_click(self, ev: QtGui.QMouseEvent, x: float, y: float) -> None: ...
    def paint(self, p: QtGui.QPainter) -> None: ...
    def leave(self) -> None: ...

    def key_press(self, ev: QtGui.QKeyEvent) -> bool:
        return False

    def cancel(self) -> None:
        """Drop any half-drawn state."""

    def has_pending(self) -> bool:
        """True while something is half-drawn (Backspace / Esc then act on it, not on shapes)."""
        return False

    def undo_last(self) -> bool:
        """Remove the last half-drawn step; False when there is none."""
        return False


class _DragTool(Tool):
    """Press / drag / release with a rubber-band box in widget coordinates."""

    def __init__(self, canvas: "Canvas") -> None:
        super().__init__(canvas)
        self.start: Optional[QtCore.QPointF] = None
        self.start_img: Tuple[float, float] = (0.0, 0.0)
        self.current: Optional[QtCore.QPointF] = None
        self.dragging = False

    def press(self, ev, x, y):
        self.start, self.current, self.dragging = ev.localPos(), ev.localPos(), False
        self.start_img = (x, y)

    def move(self, ev, x, y):
        if self.start is not None:  # pressed (our own state: synthetic moves may not carry buttons())
            self.current = ev.localPos()
            d = self.current - self.start
            if abs(d.x()) + abs(d.y()) > DRAG_PX:
                self.dragging = True
            self.canvas.update()

    def drag_box(self, x: float, y: float) -> Tuple[float, float, float, float]:
        (ax, ay), (bx, by) = self.canvas.clamp_to_image(*self.start_img), self.canvas.clamp_to_image(x, y)
        return (min(ax, bx), min(ay, by), max(ax, bx), max(ay, by))

    def cancel(self):
        self.start, self.current, self.dragging = None, None, False
        self.canvas.update()

    def paint_band(self, p: QtGui.QPainter, colour: QtGui.QColor) -> None:
        if self.dragging and self.start is not None and self.current is not None:
            p.setPen(pen(colour, 1.5, Qt.DashLine))
            fill = QtGui.QColor(colour)
            fill.setAlpha(30)
            p.setBrush(fill)
            p.drawRect(QtCore.QRectF(self.start, self.current).normalized())


class AiTool(_DragTool):
    cursor = Qt.CrossCursor
    HINT = "click: object  ·  right-click: not object  ·  drag: box  ·  F finish  ·  B clear  ·  C other mask"
    REFINING = "refining {}: click / right-click / drag a box refine it  ·  F replaces it  ·  Esc or B cancels"

    @property
    def hint(self) -> str:
        """The gestures; while a finished shape is re-prompted (Ctrl+R), what they do to it."""
        session = self.canvas.view
        assist = getattr(session, "assist", None)
        target = assist.reprompting if assist is not None else None
        if target is None:
            return self.HINT
        return self.REFINING.format(session.shape(target).label or "the shape")

    def release(self, ev, x, y):
        if self.start is None:
            return
        negative_click = ev.button() == Qt.RightButton or bool(ev.modifiers() & Qt.ShiftModifier)
        if self.dragging and ev.button() == Qt.LeftButton:
            box = self.drag_box(x, y)
            if box[2] - box[0] >= 1 and box[3] - box[1] >= 1:
                self.canvas.boxPrompt.emit(box, bool(ev.modifiers() & Qt.ControlModifier))
        elif not self.dragging and ev.button() in (Qt.LeftButton, Qt.RightButton):
            h, w = self.canvas.image_size
            sx, sy = self.start_img
            if 0 <= sx < w and 0 <= sy < h:  # clicks beside the image are not prompts
                self.canvas.pointPrompt.emit(float(sx), float(sy), not negative_click)
        self.cancel()

    def key_press(self, ev):
        session = self.canvas.view  # the AnnotationSession (a bare ViewState has no prompts)
        if ev.key() == Qt.Key_Escape and getattr(session, "prompts", None):
            refining = session.assist.reprompting is not None
            session.clear_prompts()  # Esc, like B: a re-prompted shape stays as it was
            self.canvas.toolMessage.emit("Refinement cancelled: the shape is unchanged" if refining
                                         else "Prompts cleared")
            return True
        return False

    def paint(self, p):
        ctrl = bool(QtGui.QGuiApplication.keyboardModifiers() & Qt.ControlModifier)
        self.paint_band(p, NEGATIVE if ctrl else POSITIVE)


class TwoPointTool(_DragTool):
    """A shape given by two points: drag from the first to the second, or click both. Subclasses say what
    the two points make (:meth:`make`) and how the half-drawn shape looks (:meth:`paint_between`)."""

    cursor = Qt.CrossCursor

    def __init__(self, canvas):
        super().__init__(canvas)
        self.first: Optional[Tuple[float, float]] = None  # click-click mode

    def make(self, a: Tuple[float, float], b: Tuple[float, float]) -> Optional[Shape]:
        """The shape from image point ``a`` to ``b`` (both inside the image), or None when too small."""
        raise NotImplementedError

    def paint_between(self, p: QtGui.QPainter, a: QtCore.QPointF, b: QtCore.QPointF) -> None:
        """Draw the half-drawn shape from widget point ``a`` to ``b``."""
        p.drawRect(QtCore.QRectF(a, b).normalized())

    def release(self, ev, x, y):
        if self.start is None or ev.button() != Qt.LeftButton:
            return
        if self.dragging:
            self._emit(self.canvas.clamp_to_image(*self.start_img), self.canvas.clamp_to_image(x, y))
        elif self.first is None:
            self.first = self.canvas.clamp_to_image(x, y)
        else:
            self._emit(self.first, self.canvas.clamp_to_image(x, y))
        self.start, self.dragging = None, False
        self.canvas.update()

    def move(self, ev, x, y):
        super().move(ev, x, y)
        if self.first is not None:
            self.current = ev.localPos()
            self.canvas.update()

    def _emit(self, a, b):
        self.first = None
        shape = self.make(a, b)
        if shape is not None:
            self.canvas.shapeDrawn.emit(shape)

    def paint(self, p):
        a = self.start if self.dragging else (self.canvas.to_widget(*self.first) if self.first is not None else None)
        if a is None or self.current is None:
            return
        p.setPen(pen(QtGui.QColor(255, 255, 255), 1.5, Qt.DashLine))
        p.setBrush(QtGui.QColor(255, 255, 255, 30))
        self.paint_between(p, a, self.current)

    def cancel(self):
        self.first = None
        super().cancel()

    def has_pending(self):
        return self.first is not None

    def undo_last(self):
        had = self.first is not None
        self.cancel()
        return had


class RectangleTool(TwoPointTool):
    hint = "drag (or click two corners) to draw a rectangle  ·  Esc cancels"

    def make(self, a, b):
        (ax, ay), (bx, by) = a, b
        if abs(bx - ax) < 1 or abs(by - ay) < 1:
            return None
        return Shape("", [(min(ax, bx), min(ay, by)), (max(ax, bx), max(ay, by))], "rectangle")


class PolygonTool(Tool):
    cursor = Qt.CrossCursor
    hint = "click vertices  ·  click the first one, double-click or Enter to close  ·  Backspace undoes a vertex"
    kind, min_points, closed = "polygon", 3, True  # the line strip tool is this one, open

    def __init__(self, canvas):
        super().__init__(canvas)
        self.points: List[Tuple[float, float]] = []
        self.cursor_pos: Optional[QtCore.QPointF] = None

    def _near_first(self, pos: QtCore.QPointF) -> bool:
        if not self.closed or len(self.points) < 3:
            return False
        d = self.canvas.to_widget(*self.points[0]) - pos
        return abs(d.x()) + abs(d.y()) <= GRAB_PX * 1.5

    def press(self, ev, x, y):
        if ev.button() != Qt.LeftButton:
            return
        if self._near_first(ev.localPos()):
            self.close()
            return
        self.points.append(self.canvas.clamp_to_image(x, y))
        self.canvas.update()

    def move(self, ev, x, y):
        self.cursor_pos = ev.localPos()
        if self.points:
            self.canvas.update()

    def double_click(self, ev, x, y):
        # the double-click's first press already added a vertex at the same place: drop the duplicate
        if len(self.points) >= 2 and np.allclose(self.points[-1], self.points[-2], atol=1e-6):
            self.points.pop()
        self.close()

    def key_press(self, ev):
        if ev.key() in (Qt.Key_Return, Qt.Key_Enter) and self.points:
            self.close()
            return True
        if ev.key() == Qt.Key_Escape and self.points:
            self.cancel()
            return True
        return False

    def close(self):
        pts = self.points
        self.points = []
        if len(pts) >= self.min_points:
            self.canvas.shapeDrawn.emit(Shape("", pts, self.kind))
        self.canvas.update()

    def cancel(self):
        self.points = []
        self.canvas.update()

    def has_pending(self):
        return bool(self.points)

    def undo_last(self):
        if not self.points:
            return False
        self.points.pop()
        self.canvas.update()
        return True

    def paint(self, p):
        if not self.points:
            return
        wpts = [self.canvas.to_widget(*pt) for pt in self.points]
        p.setBrush(Qt.NoBrush)
        p.setPen(pen(QtGui.QColor(255, 255, 255), 2.0))
        p.drawPolyline(QtGui.QPolygonF(wpts))
        if self.cursor_pos is not None:
            p.setPen(pen(QtGui.QColor(255, 255, 255), 1.5, Qt.DashLine))
            p.drawLine(wpts[-1], self.cursor_pos)
        p.setPen(pen(QtGui.QColor(0, 0, 0), 1.0))
        for k, w in enumerate(wpts):
            close_hint = k == 0 and self.cursor_pos is not None and self._near_first(self.cursor_pos)
            p.setBrush(QtGui.QColor(255, 220, 0) if close_hint else QtGui.QColor(255, 255, 255))
            r = 6.0 if close_hint else 3.5
            p.drawEllipse(w, r, r)
