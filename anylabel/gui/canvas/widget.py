"""The canvas: the image, the shapes, the AI prompts and the mask preview, with zoom and pan.

Coordinates: shapes and prompts are in image pixel coordinates of the core (pixel column x, row y; see
:mod:`anylabel.document.shape`). On screen a point (x, y) is drawn at the centre of its pixel, so the
image -> widget map is ``w = (x + 0.5) * scale + offset``; the image itself is drawn with the same scale
so that pixel (c, r) covers ``[c, c + 1) x [r, r + 1)`` before scaling.

Crisp at any zoom: shapes are vector paths drawn through the view transform with cosmetic (screen-width)
pens; nothing is a scaled bitmap except the image and the mask overlays, which are pixel data anyway.
Painting is in :mod:`anylabel.gui.canvas.paint`, mouse and keyboard tools in :mod:`anylabel.gui.canvas.tools`.

View state: which shapes are selected or hidden is the session's (:class:`~anylabel.session.AnnotationSession`,
by stable shape id; :meth:`Canvas.bind`); :attr:`Canvas.selected` / :attr:`Canvas.hidden` are the list
positions of those shapes *now*, recomputed when the shapes or the sets change, so deleting a shape in front of
a hidden one never hides its neighbour. Shapes are also hidden by label (:attr:`Canvas.hidden_labels`, the
label list's check boxes).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

import numpy as np
from PyQt5 import QtCore, QtGui, QtWidgets
from PyQt5.QtCore import Qt

from anylabel.document import Shape
from anylabel.document.history import assign_ids
from anylabel.gui.canvas import brush as canvas_brush
from anylabel.gui.canvas import edit as canvas_edit
from anylabel.gui.canvas import hit as canvas_hit
from anylabel.gui.canvas import paint as canvas_paint
from anylabel.gui.canvas import shape_tools as canvas_shape_tools
from anylabel.gui.canvas import tools as canvas_tools
from anylabel.gui.canvas.colors import LabelColors
from anylabel.session.prompts import BoxPrompt, PointPrompt, PromptItem
from anylabel.session.view import ViewState

MIN_SCALE, MAX_SCALE = 0.01, 64.0


@dataclass
class Preview:
    """The model's current answer, drawn over the image.

    Attributes:
        overlay: ARGB32 premultiplied image of the mask's bounding-box crop, already coloured.
        x0, y0: image pixel position of the crop's top-left corner.
        polygons: the outlines F will save (Kx2 float64 (x, y) arrays), drawn crisp on top.
    """

    overlay: Optional[QtGui.QImage]
    x0: int = 0
    y0: int = 0
    polygons: List[np.ndarray] = field(default_factory=list)


class Canvas(QtWidgets.QWidget):
    """Shows one image and its shapes; turns mouse input into prompts, new shapes and edits.

    The canvas never changes the document itself: it emits signals and the main window applies them
    through the undo history, then calls :meth:`shapes_changed`.
    """

    pointPrompt = QtCore.pyqtSignal(float, float, bool)  # x, y, positive
    boxPrompt = QtCore.pyqtSignal(object, bool)  # (x1, y1, x2, y2), negative
    shapeDrawn = QtCore.pyqtSignal(object)  # a new unlabeled Shape (polygon / rectangle tools)
    shapesEdited = QtCore.pyqtSignal(object, str)  # {index: new Shape}, description
    selectionChanged = QtCore.pyqtSignal(object)  # sorted list of selected indices (after a view change)
    cursorMoved = QtCore.pyqtSignal(float, float)
    zoomChanged = QtCore.pyqtSignal(float)
    editLabelRequested = QtCore.pyqtSignal(int)  # double-click on a shape in edit mode
    toolMessage = QtCore.pyqtSignal(str)  # a tool refused an input and says why (the status bar shows it)

    def __init__(self, colors: Optional[LabelColors] = None, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.colors = colors or LabelColors()
        self.setFocusPolicy(Qt.StrongFocus)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WA_OpaquePaintEvent)
        self.setMinimumSize(200, 150)
        self.pixmap: Optional[QtGui.QPixmap] = None
        self.display_pixmap = canvas_paint.DisplayPixmap()  # the image at the zoom, when zoomed out
        self.image_size: Tuple[int, int] = (0, 0)  # (h, w)
        self.shapes: List[Shape] = []
        self.hidden_labels: Set[str] = set()
        self.view = None  # the session (or a ViewState): selected / hidden shape ids
        self._positions: Optional[Tuple[Set[int], Set[int]]] = None  # (selected, hidden) list positions
        self.bind(ViewState())
        self.hovered: Optional[int] = None
        self.live: Dict[int, Shape] = {}  # shapes being dragged, shown instead of the document's
        self.suppressed: Set[int] = set()  # positions a tool draws itself meanwhile (a brushed shape)
        self.logit_frame: Callable[[], Optional[object]] = lambda: None  # the model's LogitFrame (brush)
        self.show_shapes = True
        self.fill_alpha = 0.45
        self.prompt_points: List[PointPrompt] = []
        self.prompt_boxes: List[BoxPrompt] = []
        self.preview: Optional[Preview] = None
        self.busy_text = ""  # drawn in a corner while the model works
        self.show_hints = True  # the current tool's gestures, bottom left
        self.scale = 1.0
        self.offset = QtCore.QPointF(0, 0)
        self._fit = True  # keep fitting on resize until the user zooms or pans
        self._pan_from: Optional[QtCore.QPointF] = None
        self._space = False
        self.geometry_cache = canvas_paint.GeometryCache()
        self.tools: Dict[str, canvas_tools.Tool] = {
            "ai": canvas_tools.AiTool(self),
            "polygon": canvas_tools.PolygonTool(self),
            "rectangle": canvas_tools.RectangleTool(self),
            "edit": canvas_edit.EditTool(self),
            "brush": canvas_brush.BrushTool(self, erase=False),
            "eraser": canvas_brush.BrushTool(self, erase=True),
            **canvas_shape_tools.make_tools(self),  # point, line, linestrip, circle, rotation
        }
        self.mode = "ai"

    # ---------------------------------------------------------------------------------- content
    def set_image(self, image: Optional[QtGui.QImage]) -> None:
        """Show ``image`` (or nothing) and fit it to the window."""
        self.pixmap = QtGui.QPixmap.fromImage(image) if image is not None else None
        self.image_size = (image.height(), image.width()) if image is not None else (0, 0)
        self.preview = None
        self.prompt_points, self.prompt_boxes = [], []
        self.live.clear()
        self.geometry_cache.clear()
        self.tool.cancel()
        self.fit_to_window()

    def bind(self, view) -> None:
        """Read selected / hidden shape ids from ``view`` (an AnnotationSession) and follow its changes."""
        if self.view is not None:
            self.view.selection_changed.disconnect(self._on_view_selection)
            self.view.visibility_changed.disconnect(self._on_view_visibility)
        self.view = view
        view.selection_changed.connect(self._on_view_selection)
        view.visibility_changed.connect(self._on_view_visibility)
        self._positions = None

    def set_shapes(self, shapes: List[Shape]) -> None:
        """Show ``shapes`` (the document's list itself; the canvas only reads it)."""
        self.shapes = shapes
        if isinstance(self.view, ViewState):  # no session gives ids: the canvas does
            assign_ids(shapes)
            self.view.select(())
        self.shapes_changed()

    def shapes_changed(self) -> None:
        """Call after the document's shapes changed (the cache notices replaced Shape objects by identity)."""
        self._positions = None
        if self.hovered is not None and self.hovered >= len(self.shapes):
            self.hovered = None
        self.live.clear()
        self.update()

    def _view_positions(self) -> Tuple[Set[int], Set[int]]:
        if self._positions is None:
            selected_ids, hidden_ids, labels = self.view.selected, self.view.hidden, self.hidden_labels
            selected, hidden = set(), set()
            for i, s in enumerate(self.shapes):
                if s.id in selected_ids:
                    selected.add(i)
                if s.id in hidden_ids or s.label in labels:
                    hidden.add(i)
            self._positions = (selected, hidden)
        return self._positions

    @property
    def selected(self) -> Set[int]:
        """List positions of the selected shapes (the view's ids, now)."""
        return self._view_positions()[0]

    @property
    def hidden(self) -> Set[int]:
        """List positions of the hidden shapes: hidden one by one (by id) or by their label."""
        return self._view_positions()[1]

    def hidden_by_label(self) -> Set[int]:
        return {i for i, s in enumerate(self.shapes) if s.label in self.hidden_labels}

    def set_hidden_labels(self, labels: Iterable[str]) -> None:
        self.hidden_labels = set(labels)
        self._positions = None
        self.update()

    def set_hidden(self, indices: Iterable[int]) -> None:
        """Hide the shapes at these positions (their ids are what the view keeps)."""
        self.view.set_hidden(self.shapes[i].id for i in indices if 0 <= i < len(self.shapes))

    def _on_view_selection(self, _ids) -> None:
        self._positions = None
        self.selectionChanged.emit(sorted(self.selected))
        self.update()

    def _on_view_visibility(self, _ids) -> None:
        self._positions = None
        self.update()

    def shape_at(self, index: int) -> Shape:
        """The shape as currently displayed (a live drag copy wins over the document's)."""
        return self.live.get(index) or self.shapes[index]

    def visible_indices(self) -> List[int]:
        if not self.show_shapes:
            return []
        hidden = self.hidden | self.suppressed
        return [i for i in range(len(self.shapes)) if i not in hidden]

    def set_selection(self, indices: Iterable[int]) -> None:
        """Select the shapes at these positions (the view keeps their ids)."""
        self.view.select(self.shapes[i].id for i in set(indices) if 0 <= i < len(self.shapes))
        self.update()

    def set_prompts(self, prompts: Sequence[PromptItem]) -> None:
        """Draw these prompts (PointPrompt / BoxPrompt, image pixels)."""
        self.prompt_points = [a for a in prompts if isinstance(a, PointPrompt)]
        self.prompt_boxes = [a for a in prompts if isinstance(a, BoxPrompt)]
        self.update()

    def set_preview(self, preview: Optional[Preview]) -> None:
        self.preview = preview
        self.update()

    def set_busy(self, text: str) -> None:
        if text != self.busy_text:
            self.busy_text = text
            self.update()

    # ------------------------------------------------------------------------------------- tools
    @property
    def tool(self) -> "canvas_tools.Tool":
        return self.tools[self.mode]

    def set_mode(self, mode: str) -> None:
        """A key of :attr:`tools`: ``"ai"``, ``"polygon"``, ``"rectangle"``, ``"edit"``, ``"brush"``,
        ``"eraser"``, ``"point"``, ``"line"``, ``"linestrip"``, ``"circle"`` or ``"rotation"``."""
        if mode not in self.tools:
            raise ValueError(f"unknown canvas mode {mode!r}")
        if mode != getattr(self, "_mode", None):
            if hasattr(self, "_mode"):
                self.tool.cancel()
            self._mode = mode
            self.setCursor(self.tool.cursor)
            here = QtCore.QPointF(self.mapFromGlobal(QtGui.QCursor.pos()))
            if hasattr(self.tool, "hover_at") and self.rect().contains(here.toPoint()):
                self.tool.hover_at(here)  # the brush circle shows at once, not at the next mouse move
            self.update()

    mode = property(lambda self: self._mode, set_mode)

    # --------------------------------------------------------------------------------- transform
    def transform(self) -> QtGui.QTransform:
        """Image pixel-area coordinates -> widget coordinates."""
        return QtGui.QTransform(self.scale, 0, 0, self.scale, self.offset.x(), self.offset.y())

    def to_widget(self, x: float, y: float) -> QtCore.QPointF:
        return QtCore.QPointF((x + 0.5) * self.scale + self.offset.x(), (y + 0.5) * self.scale + self.offset.y())

    def to_image(self, pos: QtCore.QPointF) -> Tuple[float, float]:
        return ((pos.x() - self.offset.x()) / self.scale - 0.5, (pos.y() - self.offset.y()) / self.scale - 0.5)

    def clamp_to_image(self, x: float, y: float) -> Tuple[float, float]:
        h, w = self.image_size
        return (min(max(x, 0.0), max(w - 1.0, 0.0)), min(max(y, 0.0), max(h - 1.0, 0.0)))

    def fit_to_window(self) -> None:
        h, w = self.image_size
        if not w or not h:
            self.scale, self.offset = 1.0, QtCore.QPointF(0, 0)
        else:
            self.scale = max(MIN_SCALE, min(self.width() / w, self.height() / h))
            self.offset = QtCore.QPointF((self.width() - w * self.scale) / 2, (self.height() - h * self.scale) / 2)
        self._fit = True
        self.zoomChanged.emit(self.scale)
        self.update()

    def zoom_at(self, factor: float, anchor: Optional[QtCore.QPointF] = None) -> None:
        """Multiply the zoom by ``factor`` keeping the image point under ``anchor`` (widget) fixed."""
        if anchor is None:
            anchor = QtCore.QPointF(self.width() / 2, self.height() / 2)
        new = min(MAX_SCALE, max(MIN_SCALE, self.scale * factor))
        ratio = new / self.scale
        self.offset = QtCore.QPointF(anchor.x() - (anchor.x() - self.offset.x()) * ratio,
                                     anchor.y() - (anchor.y() - self.offset.y()) * ratio)
        self.scale = new
        self._fit = False
        self.zoomChanged.emit(self.scale)
        self.update()

    def set_zoom(self, scale: float) -> None:
        self.zoom_at(scale / self.scale)

    def pan(self, dx: float, dy: float) -> None:
        self.offset += QtCore.QPointF(dx, dy)
        self._fit = False
        self.update()

    # ------------------------------------------------------------------------------------ events
    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        try:
            canvas_paint.paint(self, painter)
        finally:
            painter.end()

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        if self._fit:
            self.fit_to_window()
        super().resizeEvent(event)

    def wheelEvent(self, event: QtGui.QWheelEvent) -> None:
        delta = event.angleDelta()
        if event.modifiers() & Qt.ShiftModifier or (delta.x() and not delta.y()):
            self.pan(delta.y() / 2 if not delta.x() else delta.x() / 2, 0)  # horizontal scroll
        elif event.modifiers() & Qt.AltModifier:
            self.pan(0, delta.y() / 2)
        else:
            self.zoom_at(1.0015 ** delta.y(), event.posF())
        event.accept()

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        self.setFocus()
        if event.button() == Qt.MiddleButton or (event.button() == Qt.LeftButton and self._space):
            self._pan_from = event.localPos()
            self.setCursor(Qt.ClosedHandCursor)
            return
        if self.pixmap is not None:
            self.tool.press(event, *self.to_image(event.localPos()))

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:
        pos = event.localPos()
        if self._pan_from is not None:
            d = pos - self._pan_from
            self._pan_from = pos
            self.pan(d.x(), d.y())
            return
        x, y = self.to_image(pos)
        self.cursorMoved.emit(x, y)
        if self.pixmap is not None:
            self.tool.move(event, x, y)

    def mouseReleaseEvent(self, event: QtGui.QMouseEvent) -> None:
        if self._pan_from is not None and event.button() in (Qt.MiddleButton, Qt.LeftButton):
            self._pan_from = None
            self.setCursor(Qt.OpenHandCursor if self._space else self.tool.cursor)
            return
        if self.pixmap is not None:
            self.tool.release(event, *self.to_image(event.localPos()))

    def mouseDoubleClickEvent(self, event: QtGui.QMouseEvent) -> None:
        if self.pixmap is not None and event.button() == Qt.LeftButton:
            self.tool.double_click(event, *self.to_image(event.localPos()))

    def event(self, event: QtCore.QEvent) -> bool:
        # a half-drawn shape owns Enter (close / end it) and Esc (cancel), even where the settings bind an
        # action to them (e.g. finish_object: Return): Qt then delivers the key here, not to the shortcut
        if (event.type() == QtCore.QEvent.ShortcutOverride and self.tool.has_pending()
                and event.key() in (Qt.Key_Return, Qt.Key_Enter, Qt.Key_Escape)):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.setCursor(Qt.OpenHandCursor)
            return
        if self.tool.key_press(event):
            return
        if event.key() == Qt.Key_Escape and self.tool.has_pending():
            self.tool.cancel()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QtGui.QKeyEvent) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.setCursor(self.tool.cursor)
            return
        super().keyReleaseEvent(event)

    def leaveEvent(self, event: QtCore.QEvent) -> None:
        self.tool.leave()
        super().leaveEvent(event)

    # ------------------------------------------------------------------------------- hit testing
    def shape_index_at(self, x: float, y: float, radius_px: float = 4.0,
                       among: Optional[Callable[[int], bool]] = None) -> Optional[int]:
        """The topmost visible shape containing image point (x, y) or within ``radius_px`` of its outline."""
        return canvas_hit.hit_shape(self, x, y, radius_px / self.scale, among)
