"""Edit mode on the canvas: select (click, Ctrl/Shift+click to add, drag on empty space for a rubber
band; a click on one of several selected shapes selects only it, a drag moves them all), move shapes, drag
vertices, click an edge's "+" to add a vertex, right-click a vertex to delete it,
arrow keys nudge (Shift: 10 px), double-click edits the label. Edits are emitted as whole replaced shapes
when the mouse is released, so one drag is one undo step.

A single selected rotated rectangle has a **turn handle**: a knob beyond the middle of its p0 -> p1 edge (the
side its angle is measured on, so the knob also shows which way the box faces); dragging it turns the box
around its centre, Shift snaps the angle to 15°. Z / X turn it a degree at a time.
"""
from __future__ import annotations

import math
from typing import Dict, Optional, Tuple

import numpy as np
from PyQt5 import QtCore, QtGui
from PyQt5.QtCore import Qt

from anylabel.document import Shape
from anylabel.geometry import rotated
from anylabel.geometry.rotated import drag_corner
from anylabel.gui.canvas.hit import segment_distances
from anylabel.gui.canvas.paint import pen
from anylabel.gui.canvas.tools import DRAG_PX, GRAB_PX, Tool
from anylabel.session.shapes import translated


class EditTool(Tool):
    cursor = Qt.ArrowCursor
    hint = "drag shapes and vertices  ·  + on an edge adds a vertex  ·  right-click deletes it  ·  Del deletes shapes"

    def __init__(self, canvas):
        super().__init__(canvas)
        self.hover_vertex: Optional[Tuple[int, int]] = None  # (shape index, vertex index)
        self.hover_edge: Optional[Tuple[int, int, Tuple[float, float]]] = None  # (shape, edge, point)
        self.drag: Optional[str] = None  # "vertex", "move", "band", "turn"
        self.hover_turn = False  # the cursor is on the turn handle of the selected rotated rectangle
        self.click_only: Optional[int] = None  # pressed on one of several selected shapes (see press)
        self.drag_from: Tuple[float, float] = (0.0, 0.0)
        self.originals: Dict[int, Shape] = {}
        self.band: Optional[Tuple[QtCore.QPointF, QtCore.QPointF]] = None
        self.moved = False

    # ------------------------------------------------------------------ hover
    def _find_vertex(self, x: float, y: float) -> Optional[Tuple[int, int]]:
        tol = GRAB_PX / self.canvas.scale
        order = sorted(self.canvas.visible_indices(), key=lambda i: (i in self.canvas.selected, i), reverse=True)
        for i in order:
            shape = self.canvas.shape_at(i)
            if shape.shape_type == "mask":
                continue
            geo = self.canvas.geometry_cache.get(shape)
            x1, y1, x2, y2 = geo.box
            if not len(geo.points) or x < x1 - tol or x > x2 + tol or y < y1 - tol or y > y2 + tol:
                continue
            d = np.hypot(geo.points[:, 0] - x, geo.points[:, 1] - y)
            k = int(d.argmin())
            if d[k] <= tol:
                return (i, k)
        return None

    def _find_edge(self, x: float, y: float) -> Optional[Tuple[int, int, Tuple[float, float]]]:
        tol = GRAB_PX / self.canvas.scale
        for i in sorted(self.canvas.selected, reverse=True) or []:
            shape = self.canvas.shape_at(i)
            if shape.shape_type not in ("polygon", "line", "linestrip") or i in self.canvas.hidden:
                continue
            pts = self.canvas.geometry_cache.get(shape).points
            if len(pts) < 2:
                continue
            dist, t = segment_distances(pts, x, y, closed=shape.shape_type == "polygon")
            e = int(dist.argmin())
            if dist[e] <= tol:
                a, b = pts[e], pts[(e + 1) % len(pts)]
                return (i, e, (float(a[0] + t[e] * (b[0] - a[0])), float(a[1] + t[e] * (b[1] - a[1]))))
        return None

    def turn_handle(self) -> Optional[Tuple[int, QtCore.QPointF, QtCore.QPointF]]:
        """(shape index, the middle of its p0 -> p1 edge, the knob), widget coordinates, for the one selected
        rotated rectangle; None otherwise."""
        c = self.canvas
        if len(c.selected) != 1:
            return None
        (i,) = c.selected
        if i in c.hidden or i >= len(c.shapes):
            return None
        shape = c.live.get(i) or c.shapes[i]
        if shape.shape_type != "rotation" or len(shape.points) != 4:
            return None
        r = rotated.rotation_params(shape.points)
        (x0, y0), (x1, y1) = shape.points[0], shape.points[1]
        mid = c.to_widget((x0 + x1) / 2, (y0 + y1) / 2)
        centre = c.to_widget(r.cx, r.cy)
        d = mid - centre
        n = math.hypot(d.x(), d.y())
        if n < 1e-6:  # a box of no height: the knob goes along the edge's normal
            d, n = QtCore.QPointF(-math.sin(r.angle), math.cos(r.angle)) * -1, 1.0
        return i, mid, mid + d * (TURN_PX / n)

    def _on_turn_handle(self, pos: QtCore.QPointF) -> bool:
        handle = self.turn_handle()
        if handle is None:
            return False
        knob = handle[2]
        return math.hypot(pos.x() - knob.x(), pos.y() - knob.y()) <= GRAB_PX + 2

    def _update_hover(self, x: float, y: float, pos: Optional[QtCore.QPointF] = None) -> None:
        self.hover_turn = pos is not None and self._on_turn_handle(pos)
        self.hover_vertex = None if self.hover_turn else self._find_vertex(x, y)
        self.hover_edge = None if self.hover_vertex or self.hover_turn else self._find_edge(x, y)
        hovered = self.hover_vertex[0] if self.hover_vertex else self.canvas.shape_index_at(x, y)
        self.canvas.hovered = hovered
        cursor = Qt.SizeAllCursor if self.hover_turn else Qt.PointingHandCursor if (
            self.hover_vertex or self.hover_edge) else (Qt.OpenHandCursor if hovered is not None else Qt.ArrowCursor)
        self.canvas.setCursor(cursor)
        self.canvas.update()

    # ------------------------------------------------------------------ mouse
    def press(self, ev, x, y):
        c = self.canvas
        self._update_hover(x, y, ev.localPos())
        additive = bool(ev.modifiers() & (Qt.ControlModifier | Qt.ShiftModifier))
        if ev.button() == Qt.RightButton:
            if self.hover_vertex is not None:
                self.delete_vertex(*self.hover_vertex)
            return
        if ev.button() != Qt.LeftButton:
            return
        self.drag_from, self.moved, self.click_only = (x, y), False, None
        if self.hover_turn:
            (i,) = c.selected
            self.originals, self.drag = {i: c.shapes[i]}, "turn"
        elif self.hover_vertex is not None:
            i, k = self.hover_vertex
            c.set_selection({i} | (c.selected if additive else set()))
            self.originals, self.drag = {i: c.shapes[i]}, "vertex"
        elif self.hover_edge is not None:
            i, e, (px, py) = self.hover_edge
            shape = c.shapes[i].copy()
            shape.points.insert(e + 1, (px, py))
            c.live[i] = shape
            self.originals, self.drag = {i: c.shapes[i]}, "vertex"
            self.hover_vertex, self.hover_edge, self.moved = (i, e + 1), None, True
        elif c.hovered is not None:
            i = c.hovered
            if additive:
                c.set_selection(c.selected ^ {i})
            elif i not in c.selected:
                c.set_selection({i})
            else:  # one of several selected: a drag moves them all, a click without one selects only it
                self.click_only = i
            self.originals = {j: c.shapes[j] for j in c.selected}
            self.drag = "move" if self.originals else None
        else:
            if not additive:
                c.set_selection(set())
            self.drag, self.band = "band", (ev.localPos(), ev.localPos())

    def move(self, ev, x, y):
        c = self.canvas
        if self.drag is None:
            self._update_hover(x, y, ev.localPos())
            return
        if self.drag == "band":
            self.band = (self.band[0], ev.localPos())
            c.update()
            return
        x, y = c.clamp_to_image(x, y)
        dx, dy = x - self.drag_from[0], y - self.drag_from[1]
        if self.drag == "turn":
            ((i, orig),) = self.originals.items()
            c.live[i] = turned(orig, self.drag_from, (x, y), snap=bool(ev.modifiers() & Qt.ShiftModifier))
        elif self.drag == "vertex":
            i, k = self.hover_vertex
            shape = (c.live.get(i) or self.originals[i]).copy()
            shape.points[k] = (x, y)
            if shape.shape_type == "rotation":  # a corner drag keeps the angle and the opposite corner
                shape.points = drag_corner(self.originals[i].points, k, (x, y))
            elif shape.shape_type == "rectangle":
                shape.points = [tuple(p) for p in shape.points]
            c.live[i] = shape
        else:
            for i, orig in self.originals.items():
                c.live[i] = translated(orig, dx, dy)
        self.moved = True
        c.update()

    def release(self, ev, x, y):
        c = self.canvas
        if self.drag == "band" and self.band is not None:
            rect = QtCore.QRectF(*self.band).normalized()
            if rect.width() + rect.height() > DRAG_PX:
                a, b = c.to_image(rect.topLeft()), c.to_image(rect.bottomRight())
                inside = {i for i in c.visible_indices()
                          if _box_inside(c.geometry_cache.get(c.shape_at(i)).box, a, b)}
                c.set_selection(c.selected | inside)
        elif self.drag == "move" and not self.moved and self.click_only is not None:
            c.set_selection({self.click_only})
        elif self.drag in ("vertex", "move", "turn") and self.moved and c.live:
            edits = {i: s for i, s in c.live.items()}
            c.shapesEdited.emit(edits, {"vertex": "move vertex", "turn": "rotate"}.get(self.drag, "move shapes"))
        c.live.clear()
        self.drag, self.band, self.originals = None, None, {}
        self._update_hover(x, y, ev.localPos())

    def double_click(self, ev, x, y):
        i = self.canvas.shape_index_at(x, y)
        if i is not None:
            self.canvas.editLabelRequested.emit(i)

    def key_press(self, ev):
        c = self.canvas
        step = {Qt.Key_Left: (-1, 0), Qt.Key_Right: (1, 0), Qt.Key_Up: (0, -1), Qt.Key_Down: (0, 1)}.get(ev.key())
        if step and c.selected:
            k = 10.0 if ev.modifiers() & Qt.ShiftModifier else 1.0
            c.shapesEdited.emit({i: translated(c.shapes[i], step[0] * k, step[1] * k) for i in c.selected}, "nudge")
            return True
        return False

    def delete_vertex(self, i: int, k: int) -> bool:
        """Remove vertex ``k`` of shape ``i`` when the shape keeps enough vertices."""
        shape = self.canvas.shapes[i]
        minimum = {"polygon": 3, "linestrip": 2, "points": 1}.get(shape.shape_type)
        if minimum is None or len(shape.points) <= minimum:
            return False
        new = shape.copy()
        del new.points[k]
        self.hover_vertex = None
        self.canvas.shapesEdited.emit({i: new}, "delete vertex")
        return True

    def leave(self):
        self.hover_vertex = self.hover_edge = None
        self.hover_turn = False
        self.canvas.hovered = None
        self.canvas.update()

    def cancel(self):
        self.canvas.live.clear()
        self.drag, self.band, self.originals = None, None, {}
        self.hover_vertex = self.hover_edge = None

    def paint(self, p):
        handle = self.turn_handle()
        if handle is not None:
            _, mid, knob = handle
            p.setPen(pen(QtGui.QColor(0, 0, 0, 160), 3.0))
            p.drawLine(mid, knob)
            p.setPen(pen(QtGui.QColor(255, 255, 255), 1.5))
            p.drawLine(mid, knob)
            p.setPen(pen(QtGui.QColor(0, 0, 0), 1.0))
            active = self.hover_turn or self.drag == "turn"
            p.setBrush(QtGui.QColor(255, 220, 0) if active else QtGui.QColor(255, 255, 255))
            p.drawEllipse(knob, 6.0, 6.0)
        if self.band is not None:
            p.setPen(pen(QtGui.QColor(255, 255, 255), 1.0, Qt.DashLine))
            p.setBrush(QtGui.QColor(255, 255, 255, 25))
            p.drawRect(QtCore.QRectF(*self.band).normalized())
        if self.hover_edge is not None:
            c = self.canvas.to_widget(*self.hover_edge[2])
            p.setPen(pen(QtGui.QColor(0, 0, 0), 1.0))
            p.setBrush(QtGui.QColor(255, 220, 0))
            p.drawEllipse(c, 5.5, 5.5)
            p.setPen(pen(QtGui.QColor(0, 0, 0), 1.5))
            p.drawLine(c + QtCore.QPointF(-3, 0), c + QtCore.QPointF(3, 0))
            p.drawLine(c + QtCore.QPointF(0, -3), c + QtCore.QPointF(0, 3))


TURN_PX = 28.0  # the turn handle's distance from the rotated rectangle's edge, screen pixels
SNAP = math.radians(15.0)  # Shift+drag of the turn handle: the angle in steps of this


def turned(shape: Shape, start: Tuple[float, float], to: Tuple[float, float], snap: bool = False) -> Shape:
    """``shape`` (a rotated rectangle) turned around its centre by the angle between ``start`` and ``to`` as
    seen from the centre (image coordinates); ``snap``: the resulting angle rounded to 15°."""
    r = rotated.rotation_params(shape.points)
    theta = math.atan2(to[1] - r.cy, to[0] - r.cx) - math.atan2(start[1] - r.cy, start[0] - r.cx)
    if snap:
        theta = round((r.angle + theta) / SNAP) * SNAP - r.angle
    out = shape.copy()
    out.points = rotated.rotate(shape.points, theta)
    return out


def _box_inside(box, a, b) -> bool:
    return (box[0] >= min(a[0], b[0]) and box[2] <= max(a[0], b[0])
            and box[1] >= min(a[1], b[1]) and box[3] <= max(a[1], b[1]))
