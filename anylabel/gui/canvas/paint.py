"""Painting the canvas, and the per-shape geometry cache that keeps painting fast.

Each shape's Qt geometry (a ``QPolygonF`` built straight from a numpy buffer, its box, a mask shape's
coloured overlay) is built once per Shape object and reused until the document replaces that object
(edits always replace shapes, see :mod:`anylabel.document.history`). Painting 1,000 polygons of 200
vertices is then one C++ ``drawPolygon`` call per shape; see ``benchmarks/canvas.py``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Optional, Tuple

import numpy as np
from PyQt5 import QtCore, QtGui
from PyQt5.QtCore import Qt

from anylabel.backends.masks import tight_box
from anylabel.document import Shape
from anylabel.geometry import rle_decode
from anylabel.tracking.interpolate import MARK, is_interpolated

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.canvas.widget import Canvas

BACKGROUND = QtGui.QColor(38, 40, 44)
POSITIVE = QtGui.QColor(46, 204, 113)
NEGATIVE = QtGui.QColor(231, 76, 60)
PREVIEW = QtGui.QColor(0, 200, 255)
VERTEX_PX = 7.0


def polygon_from_array(points: np.ndarray) -> QtGui.QPolygonF:
    """A QPolygonF from an Nx2 float64 (x, y) array, filled through its memory (no Python loop)."""
    points = np.ascontiguousarray(points, dtype=np.float64).reshape(-1, 2)
    poly = QtGui.QPolygonF(len(points))
    if len(points):
        ptr = poly.data()
        ptr.setsize(points.nbytes)
        np.frombuffer(ptr, dtype=np.float64).reshape(-1, 2)[:] = points
    return poly


MASK_OUTLINE_MAX = 20000  # vertices: an unselected mask shape's outline is drawn up to this size


class Geometry:
    """Cached drawing data of one Shape object (image coordinates)."""

    __slots__ = ("shape", "points", "polygon", "box", "mask", "overlay_key", "overlay", "anchor", "_outline")

    def __init__(self, shape: Shape) -> None:
        self.shape = shape  # kept so that id(shape) is not reused while the entry lives
        self.points = shape.points_array()
        self.polygon = polygon_from_array(self.points)
        self.mask: Optional[np.ndarray] = None  # crop of a mask shape, bool, at (box[0], box[1])
        if shape.shape_type == "mask" and shape.mask is not None:
            full = rle_decode(shape.mask)
            tight = tight_box(full)  # 2 ms for 12 MP, where np.nonzero takes 250-550 ms
            if tight is not None:
                x1, y1, x2, y2 = tight
                self.mask = full[y1:y2, x1:x2].copy()
                self.box = (float(x1), float(y1), float(x2 - 1), float(y2 - 1))
            else:
                self.box = (0.0, 0.0, 0.0, 0.0)
        elif len(self.points):
            self.box = shape.bbox()
        else:
            self.box = (0.0, 0.0, 0.0, 0.0)
        self.overlay_key: Optional[Tuple] = None
        self.overlay: Optional[QtGui.QImage] = None
        self._outline: Optional[list] = None
        # where the label tag sits: the topmost vertex, so it stays on the object (a box corner may not)
        if len(self.points) and shape.shape_type not in ("mask", "circle", "rectangle"):
            top = int(np.lexsort((self.points[:, 0], self.points[:, 1]))[0])
            self.anchor = (float(self.points[top, 0]), float(self.points[top, 1]))
        else:
            self.anchor = (self.box[0], self.box[1])

    def mask_outline(self) -> list:
        """A mask shape's boundaries, holes included (QPolygonF, pixel centres), traced when first drawn."""
        if self._outline is None:
            import cv2

            found = cv2.findContours(self.mask.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)[0]
            offset = np.array(self.box[:2])
            self._outline = [polygon_from_array(c.reshape(-1, 2) + offset) for c in found]
        return self._outline

    def outline_size(self) -> int:
        """How many vertices a mask shape's outline has (traced if needed)."""
        return sum(poly.size() for poly in self.mask_outline())

    def mask_overlay(self, colour: QtGui.QColor, alpha: float) -> Optional[QtGui.QImage]:
        if self.mask is None:
            return None
        key = (colour.rgb(), round(alpha, 3))
        if key != self.overlay_key:
            self.overlay = mask_image(self.mask, colour, alpha)
            self.overlay_key = key
        return self.overlay


class GeometryCache:
    """Shape object -> :class:`Geometry`, dropping entries of shapes no longer shown."""

    def __init__(self) -> None:
        self._entries: Dict[int, Geometry] = {}

    def get(self, shape: Shape) -> Geometry:
        entry = self._entries.get(id(shape))
        if entry is None or entry.shape is not shape:
            entry = Geometry(shape)
            self._entries[id(shape)] = entry
            if len(self._entries) > 4096:  # long sessions: forget shapes that were replaced long ago
                self._entries = {id(shape): entry}
        return entry

    def clear(self) -> None:
        self._entries.clear()


def mask_image(mask: np.ndarray, colour: QtGui.QColor, alpha: float) -> QtGui.QImage:
    """A bool HxW mask as an ARGB32-premultiplied image: ``colour`` at ``alpha`` where True."""
    mask = np.ascontiguousarray(mask, dtype=np.uint8)
    h, w = mask.shape
    img = QtGui.QImage(mask.data, w, h, w, QtGui.QImage.Format_Indexed8)
    c = QtGui.QColor(colour)
    c.setAlphaF(alpha)
    img.setColorTable([0, c.rgba()])
    return img.convertToFormat(QtGui.QImage.Format_ARGB32_Premultiplied)  # copies: owns its pixels


# ----------------------------------------------------------------------------------------- painting
class DisplayPixmap:
    """The image scaled down to the current zoom, for painting zoomed out.

    Drawing a 12 MP pixmap scaled takes ~6 ms a paint (every hover, click marker and preview); drawing a
    copy already at the zoom's size takes ~0.6 ms, and Qt's smooth scaling also filters better than the
    painter's bilinear sampling. The copy (~9 ms for 12 MP) is made on the second paint at a zoom, so that
    zooming with the wheel (one paint per step) does not pay for copies it throws away.
    """

    def __init__(self) -> None:
        self._source: Optional[QtGui.QPixmap] = None
        self._scale = 0.0
        self._seen = 0.0  # the zoom of the last paint that drew directly
        self._pixmap: Optional[QtGui.QPixmap] = None

    def get(self, source: QtGui.QPixmap, scale: float) -> Optional[QtGui.QPixmap]:
        """The scaled copy for ``scale`` (< 1), or None: draw ``source`` directly this time."""
        if scale >= 1.0:
            return None
        if self._pixmap is not None and self._source is source and self._scale == scale:
            return self._pixmap
        if self._seen != scale or self._source is not source:
            self._source, self._seen, self._pixmap = source, scale, None
            return None
        size = QtCore.QSize(max(1, round(source.width() * scale)), max(1, round(source.height() * scale)))
        self._pixmap = source.scaled(size, Qt.IgnoreAspectRatio, Qt.SmoothTransformation)
        self._scale = scale
        return self._pixmap


def paint(canvas: "Canvas", p: QtGui.QPainter) -> None:
    p.fillRect(canvas.rect(), BACKGROUND)
    if canvas.pixmap is None:
        p.setPen(QtGui.QColor(170, 170, 170))
        p.drawText(canvas.rect(), Qt.AlignCenter,
                   "Open an image or a folder\n(File → Open, Ctrl+O / Ctrl+U, or drop it here)")
        return
    h, w = canvas.image_size
    pixel_t = canvas.transform()
    shape_t = QtGui.QTransform.fromTranslate(0.5, 0.5) * pixel_t  # points sit at pixel centres
    p.setTransform(pixel_t)
    # Zoomed in, show pixels as sharp squares (annotators need to see the real boundary); zoomed out,
    # filter so that the image does not alias.
    p.setRenderHint(QtGui.QPainter.SmoothPixmapTransform, canvas.scale < 2.0)
    small = canvas.display_pixmap.get(canvas.pixmap, canvas.scale)
    if small is not None:  # zoomed out: the image pre-scaled to this zoom, drawn 1:1
        p.resetTransform()
        p.drawPixmap(pixel_t.map(QtCore.QPointF(0, 0)).toPoint(), small)  # whole pixels: a plain copy
        p.setTransform(pixel_t)
    else:
        inv, _ = pixel_t.inverted()
        visible = inv.mapRect(QtCore.QRectF(canvas.rect())).intersected(QtCore.QRectF(0, 0, w, h))
        visible = QtCore.QRectF(visible.toAlignedRect()).intersected(QtCore.QRectF(0, 0, w, h))
        if not visible.isEmpty():
            p.drawPixmap(visible, canvas.pixmap, visible)
    p.setRenderHint(QtGui.QPainter.Antialiasing, True)
    _paint_shapes(canvas, p, pixel_t, shape_t)
    _paint_preview(canvas, p, pixel_t, shape_t)
    for layer in getattr(canvas, "layers", ()):  # extra layers (gui/canvas/candidates.py add_layer)
        layer.paint(p, pixel_t)
    p.resetTransform()
    _paint_prompts(canvas, p)
    canvas.tool.paint(p)
    if canvas.busy_text:
        _paint_badge(canvas, p, canvas.busy_text)
    hint = canvas.tool.hint
    if hint and canvas.show_hints:
        _paint_hint(canvas, p, hint)


def pen(colour: QtGui.QColor, width: float, style=Qt.SolidLine) -> QtGui.QPen:
    """A cosmetic pen (``width`` in screen pixels whatever the zoom), the canvas's one pen style."""
    out = QtGui.QPen(colour, width, style)
    out.setCosmetic(True)  # width in screen pixels whatever the zoom: crisp outlines
    out.setJoinStyle(Qt.RoundJoin if width > 1 else Qt.BevelJoin)
    return out


def _paint_shapes(canvas: "Canvas", p: QtGui.QPainter, pixel_t: QtGui.QTransform, shape_t: QtGui.QTransform) -> None:
    indices = canvas.visible_indices()
    if not indices:
        return
    alpha = canvas.fill_alpha
    handles = []
    # Level of detail: with many shapes, unselected outlines are 1-pixel hairlines, which Qt rasterises
    # directly; wider pens go through the stroker and cost 5-10x more (see benchmarks/canvas.py).
    many = len(indices) > 150
    inv, _ = shape_t.inverted()
    view = inv.mapRect(QtCore.QRectF(canvas.rect()))
    vx1, vy1, vx2, vy2 = view.left(), view.top(), view.right(), view.bottom()
    margin = 8.0 / canvas.scale  # pen width and handles reach a few pixels beyond the box
    styles: Dict[Tuple[str, int, bool], Tuple[QtGui.QPen, QtGui.QColor]] = {}
    current_t = None
    for i in indices:
        shape = canvas.shape_at(i)
        geo = canvas.geometry_cache.get(shape)
        bx1, by1, bx2, by2 = geo.box
        if bx2 < vx1 - margin or bx1 > vx2 + margin or by2 < vy1 - margin or by1 > vy2 + margin:
            continue  # off screen (zoomed in): nothing to draw
        colour = canvas.colors(shape.label)
        selected, hovered = i in canvas.selected, i == canvas.hovered
        state = 2 if selected else 1 if hovered else 0
        # an interpolated shape nobody edited yet is dashed (the mark alone is a dict lookup; the digest only
        # runs for marked shapes)
        dashed = MARK in shape.extra and is_interpolated(shape)
        style = styles.get((shape.label, state, dashed))
        if style is None:  # one pen and brush per label, state and dash, not per shape
            fill = QtGui.QColor(colour)
            fill.setAlphaF(min(1.0, alpha * (0.5, 0.7, 0.9)[state]))  # the image stays visible
            width = 3.0 if selected else 2.0 if hovered or not many else 1.0
            style = styles[(shape.label, state, dashed)] = (
                pen(colour.lighter(130) if state else colour, width, Qt.DashLine if dashed else Qt.SolidLine), fill)
        p.setPen(style[0])
        p.setBrush(style[1])
        fill = style[1]
        kind = shape.shape_type
        if kind == "mask":
            p.setTransform(pixel_t)
            current_t = pixel_t
            overlay = geo.mask_overlay(colour, fill.alphaF())
            if overlay is not None:
                p.drawImage(QtCore.QPointF(geo.box[0], geo.box[1]), overlay)
                # its outline shows where it ends (traced once, then cached); a speckled mask's thousands of
                # rings only when selected or hovered (each repaint would stroke them all)
                if state or (not many and geo.outline_size() <= MASK_OUTLINE_MAX):
                    p.setTransform(shape_t)
                    current_t = shape_t
                    p.setBrush(Qt.NoBrush)
                    for outline in geo.mask_outline():
                        p.drawPolygon(outline)
            continue
        if current_t is not shape_t:
            p.setTransform(shape_t)
            current_t = shape_t
        if kind in ("polygon", "rotation"):
            p.drawPolygon(geo.polygon)
        elif kind == "rectangle" and len(geo.points) == 2:
            p.drawRect(QtCore.QRectF(QtCore.QPointF(*geo.points[0]), QtCore.QPointF(*geo.points[1])).normalized())
        elif kind == "circle" and len(geo.points) == 2:
            (cx, cy), (px, py) = geo.points
            r = float(np.hypot(px - cx, py - cy))
            p.drawEllipse(QtCore.QPointF(cx, cy), r, r)
        elif kind in ("line", "linestrip"):
            p.setBrush(Qt.NoBrush)
            p.drawPolyline(geo.polygon)
        if selected or hovered or kind in ("point", "points") or not many:
            handles.append((i, geo, colour, selected))
    p.resetTransform()
    for i, geo, colour, selected in handles:
        _paint_vertices(canvas, p, i, geo, colour, selected)
    if len(indices) <= 60 or canvas.selected:
        for i in indices:
            if len(indices) <= 60 or i in canvas.selected:
                _paint_tag(canvas, p, canvas.shape_at(i), canvas.geometry_cache.get(canvas.shape_at(i)))


def _paint_vertices(canvas: "Canvas", p: QtGui.QPainter, index: int, geo: Geometry, colour: QtGui.QColor,
                    selected: bool) -> None:
    if not len(geo.points) or geo.shape.shape_type == "mask":
        return
    s, ox, oy = canvas.scale, canvas.offset.x(), canvas.offset.y()
    wpts = (geo.points + 0.5) * s + (ox, oy)
    size = VERTEX_PX if selected or geo.shape.shape_type in ("point", "points") else VERTEX_PX - 2
    if not selected and len(wpts) > 1 and s * 2 < size:  # vertices closer than the handles: noise
        return
    p.setPen(pen(QtGui.QColor(255, 255, 255), 1.0))
    p.setBrush(colour if selected else colour.darker(110))
    half = size / 2
    hv = getattr(canvas.tool, "hover_vertex", None)
    for k, (x, y) in enumerate(wpts):
        if hv is not None and hv == (index, k):
            p.drawEllipse(QtCore.QPointF(x, y), half + 2, half + 2)
        else:
            p.drawRect(QtCore.QRectF(x - half, y - half, size, size))


def _paint_tag(canvas: "Canvas", p: QtGui.QPainter, shape: Shape, geo: Geometry) -> None:
    text = shape.label or "(no label)"
    if shape.group_id is not None:
        text += f"  #{shape.group_id}"
    pos = canvas.to_widget(*geo.anchor)
    fm = p.fontMetrics()
    width, height = fm.horizontalAdvance(text) + 10, fm.height() + 4
    x = min(max(pos.x() - width / 2, 2.0), canvas.width() - width - 2)
    y = min(max(pos.y() - height - 6, 2.0), canvas.height() - height - 2)
    rect = QtCore.QRectF(x, y, width, height)
    colour = canvas.colors(shape.label)
    p.setPen(Qt.NoPen)
    p.setBrush(colour.darker(160))
    p.drawRoundedRect(rect, 3, 3)
    p.setPen(QtGui.QColor(255, 255, 255))
    p.drawText(rect, Qt.AlignCenter, text)


def _paint_preview(canvas: "Canvas", p: QtGui.QPainter, pixel_t: QtGui.QTransform, shape_t: QtGui.QTransform) -> None:
    pv = canvas.preview
    if pv is None:
        return
    if pv.overlay is not None:
        p.setTransform(pixel_t)
        p.drawImage(QtCore.QPointF(pv.x0, pv.y0), pv.overlay)
    p.setTransform(shape_t)
    p.setBrush(Qt.NoBrush)
    for poly in pv.polygons:
        qpoly = polygon_from_array(poly)
        p.setPen(pen(QtGui.QColor(0, 0, 0, 160), 3.5))
        p.drawPolygon(qpoly)
        p.setPen(pen(QtGui.QColor(255, 255, 255), 1.5, Qt.DashLine))
        p.drawPolygon(qpoly)


def _paint_prompts(canvas: "Canvas", p: QtGui.QPainter) -> None:
    for box in canvas.prompt_boxes:  # BoxPrompt
        x1, y1, x2, y2, negative = box.x1, box.y1, box.x2, box.y2, box.negative
        colour = NEGATIVE if negative else POSITIVE
        rect = QtCore.QRectF(canvas.to_widget(x1, y1), canvas.to_widget(x2, y2)).normalized()
        shade = QtGui.QColor(colour)
        shade.setAlpha(40 if negative else 0)
        p.setBrush(shade)
        p.setPen(pen(colour, 2.0, Qt.DashLine))
        p.drawRect(rect)
    for point in canvas.prompt_points:  # PointPrompt
        positive = point.positive
        c = canvas.to_widget(point.x, point.y)
        p.setPen(pen(QtGui.QColor(255, 255, 255), 2.0))
        p.setBrush(POSITIVE if positive else NEGATIVE)
        p.drawEllipse(c, 6.5, 6.5)
        p.setPen(pen(QtGui.QColor(255, 255, 255), 2.0))
        p.drawLine(c + QtCore.QPointF(-3, 0), c + QtCore.QPointF(3, 0))
        if positive:
            p.drawLine(c + QtCore.QPointF(0, -3), c + QtCore.QPointF(0, 3))


def _paint_badge(canvas: "Canvas", p: QtGui.QPainter, text: str) -> None:
    fm = p.fontMetrics()
    rect = QtCore.QRectF(10, 10, fm.horizontalAdvance(text) + 20, fm.height() + 10)
    p.setPen(Qt.NoPen)
    p.setBrush(QtGui.QColor(0, 0, 0, 170))
    p.drawRoundedRect(rect, 6, 6)
    p.setPen(QtGui.QColor(255, 255, 255))
    p.drawText(rect, Qt.AlignCenter, text)


def _paint_hint(canvas: "Canvas", p: QtGui.QPainter, text: str) -> None:
    """A one-line reminder of the current tool's gestures, bottom left, out of the way."""
    fm = p.fontMetrics()
    rect = QtCore.QRectF(8, canvas.height() - fm.height() - 16, fm.horizontalAdvance(text) + 16, fm.height() + 8)
    p.setPen(Qt.NoPen)
    p.setBrush(QtGui.QColor(0, 0, 0, 120))
    p.drawRoundedRect(rect, 5, 5)
    p.setPen(QtGui.QColor(235, 235, 235))
    p.drawText(rect, Qt.AlignCenter, text)
