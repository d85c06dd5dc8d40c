"""Brush (W) and eraser (E) on the canvas: round strokes on the AI preview or on the selected shape.

The stroke itself is the session's (:class:`~anylabel.session.brush.Brush`: begin / extend / end, one undo
step, exact pixels); this tool only forwards the mouse and shows the stroke while it is drawn:

* **what is painted**: while an object is prompted (a preview or prompts), the preview; else the one
  selected shape with an area (it becomes an exact ``mask`` shape when the stroke ends); else a new object
  from an empty mask (F then labels it like a model's answer). Right-drag does the opposite (the brush
  erases, the eraser paints).
* **fast at any image size**: the working mask is shown as one full-size ARGB overlay made once per stroke
  (Qt converts the mask in C++); each mouse move rewrites only the pixels of the segment just painted
  (the session returns them as a :class:`~anylabel.editing.brush.MaskPatch`) and repaints only their
  screen rectangle, so a move costs the same on a 1 MP and a 12 MP image (``benchmarks/gui_brush.py``).
* **the cursor** is a circle of the brush radius in image pixels (``session.view.brush_radius``, [ and ]),
  drawn at the zoom.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Tuple

import numpy as np
from PyQt5 import QtCore, QtGui
from PyQt5.QtCore import Qt

from anylabel.editing.convert import has_area
from anylabel.errors import AnylabelError
from anylabel.gui.canvas.paint import PREVIEW, mask_image, pen
from anylabel.gui.canvas.tools import Tool

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.editing.brush import MaskPatch
    from anylabel.gui.canvas.widget import Canvas


class StrokeOverlay:
    """The stroke's working mask as a full-size ARGB32-premultiplied image, updated patch by patch.

    Args:
        mask: the bool HxW working mask (the session's; read, never written).
        colour, alpha: the fill the mask is shown with.
    """

    def __init__(self, mask: np.ndarray, colour: QtGui.QColor, alpha: float) -> None:
        self.image = mask_image(mask, colour, alpha)  # one C++ conversion of the whole mask
        h, w = mask.shape
        ptr = self.image.bits()
        ptr.setsize(self.image.byteCount())
        self.pixels = np.frombuffer(ptr, dtype=np.uint32).reshape(h, self.image.bytesPerLine() // 4)[:, :w]
        one = mask_image(np.ones((1, 1), dtype=bool), colour, alpha)
        raw = one.bits()
        raw.setsize(4)
        self.value = np.frombuffer(raw, dtype=np.uint32)[0]  # the premultiplied pixel of "inside"

    def apply(self, patch: "MaskPatch") -> None:
        """Show the pixels ``patch`` changed (only its box is written)."""
        x1, y1, x2, y2 = patch.box
        self.pixels[y1:y2, x1:x2] = np.where(patch.after, self.value, np.uint32(0))


class BrushTool(Tool):
    """Paint (``erase`` False) or erase round strokes; see the module docstring."""

    cursor = Qt.BlankCursor  # the brush circle is the cursor

    def __init__(self, canvas: "Canvas", erase: bool = False) -> None:
        super().__init__(canvas)
        self.erase = erase
        self.hint = (("drag: erase  ·  right-drag: paint" if erase else "drag: paint  ·  right-drag: erase")
                     + "  ·  [ ] radius  ·  on the AI preview, else the selected shape  ·  Ctrl+Z undoes a stroke")
        self.pos: Optional[QtCore.QPointF] = None  # the cursor, widget coordinates
        self.overlay: Optional[StrokeOverlay] = None
        self.target_index: Optional[int] = None  # the shape painted on (hidden while the stroke is drawn)
        self._stashed_preview = None  # the preview, hidden while a preview stroke is drawn
        self._version = 0

    # ------------------------------------------------------------------------------ the session
    @property
    def session(self):
        """The canvas's session (None when the canvas is bound to a bare ViewState)."""
        view = self.canvas.view
        return view if hasattr(view, "brush") else None

    @property
    def radius(self) -> float:
        s = self.session
        return float(s.view.brush_radius) if s is not None else 10.0

    @property
    def stroking(self) -> bool:
        return self.overlay is not None

    def _choose_target(self, x: float, y: float) -> Tuple[bool, Optional[int]]:
        """(ok, target shape id or None for the preview); ok False when the selection does not fit (said)."""
        s = self.session
        if s.prompts or s.preview is not None:
            if s.waiting:
                self.canvas.toolMessage.emit("The model is still answering: brush once the preview shows")
                return False, None
            return True, None
        selected = s.indices(s.selected)
        if not selected:
            return True, None
        if len(selected) > 1:
            under = self.canvas.shape_index_at(x, y, among=lambda i: i in selected)
            if under is None:
                self.canvas.toolMessage.emit("Several shapes are selected: start the stroke inside the one to edit")
                return False, None
            selected = [under]
        shape = s.shapes[selected[0]]
        if not has_area(shape):
            self.canvas.toolMessage.emit(f"A {shape.shape_type} has no area to paint: select a polygon, box, "
                                         "circle or mask")
            return False, None
        return True, shape.id

    # ------------------------------------------------------------------------------ mouse
    def press(self, ev, x, y):
        s = self.session
        if s is None or ev.button() not in (Qt.LeftButton, Qt.RightButton) or self.stroking:
            return
        ok, target = self._choose_target(x, y)
        if not ok:
            return
        erase = self.erase != (ev.button() == Qt.RightButton)
        frame = self.canvas.logit_frame() if target is None else None
        try:
            s.brush.begin_stroke(target, erase=erase, frame=frame)
        except AnylabelError as e:
            self.canvas.toolMessage.emit(str(e))
            return
        c = self.canvas
        if target is None:
            colour, alpha = PREVIEW, c.fill_alpha
            self._stashed_preview, self._version = c.preview, s.prompts.version
            c.preview = None
            self.target_index = None
        else:
            shape = s.shape(target)
            colour, alpha = c.colors(shape.label), min(1.0, c.fill_alpha * 0.9)
            self.target_index = s.indices([target])[0]
        self.overlay = StrokeOverlay(s.brush.stroke.mask, colour, alpha)
        c.suppressed = {self.target_index} if self.target_index is not None else set()
        self.pos = ev.localPos()
        self._paint_to(x, y)
        c.update()

    def move(self, ev, x, y):
        old = self.pos
        self.pos = ev.localPos()
        dirty = self._cursor_rect(old) | self._cursor_rect(self.pos)
        if self.stroking:
            dirty |= self._paint_to(x, y)
        self.canvas.update(dirty)

    def release(self, ev, x, y):
        if not self.stroking or ev.button() not in (Qt.LeftButton, Qt.RightButton):
            return
        s, c = self.session, self.canvas
        self.overlay = None
        c.suppressed = set()
        try:
            ids = s.brush.end_stroke()
        except AnylabelError as e:
            c.toolMessage.emit(str(e))
            ids = []
        if self.target_index is None and s.prompts.version == self._version:
            c.preview = self._stashed_preview  # nothing changed: the old preview again
        elif self.target_index is not None and not ids:
            c.toolMessage.emit("Erased to nothing: the shape was deleted (Ctrl+Z brings it back)")
        self._stashed_preview, self.target_index = None, None
        c.update()

    def _paint_to(self, x: float, y: float) -> QtCore.QRect:
        """Extend the stroke to image point (x, y); returns the screen rectangle to repaint."""
        patch = self.session.brush.extend_stroke([(x, y)])
        if patch is None:
            return QtCore.QRect()
        self.overlay.apply(patch)
        x1, y1, x2, y2 = patch.box
        t = self.canvas.transform()
        return t.mapRect(QtCore.QRectF(x1, y1, x2 - x1, y2 - y1)).toAlignedRect().adjusted(-2, -2, 2, 2)

    def _cursor_rect(self, pos: Optional[QtCore.QPointF]) -> QtCore.QRect:
        if pos is None:
            return QtCore.QRect()
        r = self.radius * self.canvas.scale + 4
        return QtCore.QRectF(pos.x() - r, pos.y() - r, 2 * r, 2 * r).toAlignedRect()

    def hover_at(self, pos: QtCore.QPointF) -> None:
        """The cursor is at widget point ``pos`` (the mode was chosen with the mouse over the canvas)."""
        self.pos = QtCore.QPointF(pos)
        self.canvas.update(self._cursor_rect(self.pos))

    def leave(self):
        old, self.pos = self.pos, None
        self.canvas.update(self._cursor_rect(old))

    def cancel(self):
        s = self.session
        if self.stroking and s is not None:
            s.brush.cancel_stroke()
            if self.target_index is None:
                self.canvas.preview = self._stashed_preview
        self.overlay, self.target_index, self._stashed_preview = None, None, None
        self.canvas.suppressed = set()
        self.canvas.update()

    def has_pending(self):
        return self.stroking

    def undo_last(self):
        had = self.stroking
        self.cancel()
        return had

    # ------------------------------------------------------------------------------ painting
    def paint(self, p: QtGui.QPainter) -> None:
        c = self.canvas
        if self.overlay is not None:
            p.setTransform(c.transform())
            # nearest-neighbour while the stroke is drawn: a smooth downscale of a 12 MP overlay costs tens of ms
            p.setRenderHint(QtGui.QPainter.SmoothPixmapTransform, False)
            p.drawImage(QtCore.QPointF(0, 0), self.overlay.image)
            p.resetTransform()
        if self.pos is None:
            return
        r = self.radius * c.scale
        p.setBrush(Qt.NoBrush)
        p.setPen(pen(QtGui.QColor(0, 0, 0, 200), 3.0))
        p.drawEllipse(self.pos, r, r)
        p.setPen(pen(QtGui.QColor(255, 90, 90) if self.erase else QtGui.QColor(255, 255, 255), 1.5,
                     Qt.DashLine if self.erase else Qt.SolidLine))
        p.drawEllipse(self.pos, r, r)
        p.setPen(pen(QtGui.QColor(255, 255, 255), 1.0))
        p.drawLine(self.pos + QtCore.QPointF(-3, 0), self.pos + QtCore.QPointF(3, 0))
        p.drawLine(self.pos + QtCore.QPointF(0, -3), self.pos + QtCore.QPointF(0, 3))
