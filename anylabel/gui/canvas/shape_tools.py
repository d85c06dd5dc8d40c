"""Drawing labelme's other shape types: point, line, line strip, circle, and the rotated rectangle.

* :class:`PointTool` (Shift+P): a click is a ``point``.
* :class:`LineTool` (L): drag, or click both ends: a ``line`` of two points.
* :class:`LinestripTool` (Shift+L): click vertices, double-click or Enter ends: a ``linestrip`` (open).
* :class:`CircleTool` (Shift+O): drag from the centre, or click the centre then a point of the edge: a
  ``circle`` [centre, point on the edge], labelme's convention.
* :class:`RotationTool` (Shift+R): drag a box: a ``rotation`` shape at angle 0 (corners p0..p3, see
  :mod:`anylabel.geometry.rotated`); Z / X then turn the selected one.

Like the polygon and rectangle tools, these only emit ``canvas.shapeDrawn`` with an unlabeled Shape; the
window asks for the label and adds it through the session (one undo step).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Dict

from PyQt5 import QtCore, QtGui
from PyQt5.QtCore import Qt

from anylabel.document import Shape
from anylabel.geometry.rotated import from_box
from anylabel.gui.canvas.paint import pen
from anylabel.gui.canvas.tools import PolygonTool, Tool, TwoPointTool

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.canvas.widget import Canvas


class PointTool(Tool):
    cursor = Qt.CrossCursor
    hint = "click to place a point"

    def release(self, ev, x, y):
        h, w = self.canvas.image_size
        if ev.button() == Qt.LeftButton and 0 <= x <= w - 1 and 0 <= y <= h - 1:  # not beside the image
            self.canvas.shapeDrawn.emit(Shape("", [(float(x), float(y))], "point"))


class LineTool(TwoPointTool):
    hint = "drag (or click both ends) to draw a line  ·  Esc cancels"

    def make(self, a, b):
        if math.hypot(b[0] - a[0], b[1] - a[1]) < 1:
            return None
        return Shape("", [a, b], "line")

    def paint_between(self, p, a, b):
        p.drawLine(a, b)


class LinestripTool(PolygonTool):
    hint = "click vertices  ·  double-click or Enter ends the line strip  ·  Backspace undoes a vertex"
    kind, min_points, closed = "linestrip", 2, False


class CircleTool(TwoPointTool):
    hint = "drag from the centre (or click the centre, then the edge) to draw a circle  ·  Esc cancels"

    def make(self, a, b):
        if math.hypot(b[0] - a[0], b[1] - a[1]) < 1:
            return None
        return Shape("", [a, b], "circle")

    def paint_between(self, p, a, b):
        r = math.hypot(b.x() - a.x(), b.y() - a.y())
        p.drawEllipse(a, r, r)
        p.drawLine(a, b)


class RotationTool(TwoPointTool):
    hint = "drag a box to draw a rotated rectangle  ·  then Z / X turn the selected one"

    def make(self, a, b):
        if abs(b[0] - a[0]) < 1 or abs(b[1] - a[1]) < 1:
            return None
        return Shape("", from_box(a[0], a[1], b[0], b[1]), "rotation")

    def paint_between(self, p, a, b):
        super().paint_between(p, a, b)
        top = QtCore.QPointF((a.x() + b.x()) / 2, min(a.y(), b.y()))  # the width edge p0 -> p1: its direction
        p.setPen(pen(QtGui.QColor(255, 220, 0), 2.0))
        p.drawLine(top, top + QtCore.QPointF(0, -12))


def make_tools(canvas: "Canvas") -> Dict[str, Tool]:
    """The tools of this module by canvas mode name."""
    return {"point": PointTool(canvas), "line": LineTool(canvas), "linestrip": LinestripTool(canvas),
            "circle": CircleTool(canvas), "rotation": RotationTool(canvas)}
