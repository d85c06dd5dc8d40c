"""The window's mask and shape edits (issue 15): boolean edits, conversions, turning, re-prompting, the brush
radius. Each is one session call (:class:`~anylabel.session.editing.ShapeEdits`, ``session.assist``,
``session.view.brush_radius``); this object only checks that the selection fits and says in the status bar
what happened or why nothing did (``window.shape_edits``).

Order of the selection: subtract cuts the shape selected *second* out of the one selected *first* (select
the shape to keep, then Ctrl+click the one to cut away). The session's selection is a set, so the order in
which ids joined it is followed here (:attr:`ShapeEditing.order`); shapes selected together (a rubber band)
count in drawing order.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, FrozenSet, List, Optional

from anylabel.editing.convert import has_area
from anylabel.errors import AnylabelError
from anylabel.geometry import rotated
from anylabel.session import AnnotationSession

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.main_window import MainWindow

BRUSH_RADII = (1.0, 500.0)  # smallest and largest brush radius, image pixels
BRUSH_STEP = 1.25  # [ and ] divide / multiply the radius by this
ROTATE_STEP = math.radians(1.0)  # Z / X


class ShapeEditing:
    """Boolean edits, conversions, turning and re-prompting of the selected shapes (see the module docstring)."""

    def __init__(self, window: "MainWindow", session: AnnotationSession) -> None:
        self.window = window
        self.session = session
        self.order: List[int] = []  # the selected ids, in the order they were selected
        session.selection_changed.connect(self._on_selection)
        window.canvas.logit_frame = self.logit_frame

    def _status(self, text: str, ms: int = 5000) -> None:
        self.window.statusBar().showMessage(text, ms)

    def _on_selection(self, ids: FrozenSet[int]) -> None:
        kept = [i for i in self.order if i in ids]
        positions = {s.id: k for k, s in enumerate(self.session.shapes)}
        self.order = kept + sorted(set(ids) - set(kept), key=lambda i: positions.get(i, 0))

    def ordered_selection(self) -> List[int]:
        """The selected shape ids, first selected first."""
        selected = self.session.selected
        return [i for i in self.order if i in selected] + sorted(selected - set(self.order))

    def logit_frame(self) -> Optional[object]:
        """The model's :class:`~anylabel.editing.reprompt.LogitFrame` for the current image, when the worker's
        segmenter has an image of this size set (the frame depends only on the size); else None (the mask's
        box is then the prompt, see :func:`anylabel.editing.reprompt.reprompt`)."""
        from anylabel.editing.reprompt import LogitFrame

        worker, image = self.window.worker, self.session.image
        seg = worker.segmenter if worker is not None else None
        current = getattr(seg, "current_embedding", None)
        if current is None or image is None:
            return None
        try:
            if tuple(current().orig_hw) != tuple(image.shape[:2]):
                return None
        except ValueError:  # no image set yet
            return None
        return LogitFrame.of(seg)

    # ------------------------------------------------------------------------------ boolean edits
    def combine(self, operation: str) -> List[int]:
        """Union / subtract / intersect of the selected shapes (one undo step); returns the result's ids."""
        s = self.session
        ids = self.ordered_selection()
        name = operation.capitalize()
        if operation == "subtract" and len(ids) != 2:
            self._status(f"Subtract needs exactly two selected shapes, {len(ids)} are: select the shape to keep, "
                         "then Ctrl+click the one to cut out of it")
            return []
        if len(ids) < 2:
            self._status(f"{name} needs at least two selected shapes, {len(ids)} {'is' if len(ids) == 1 else 'are'}"
                         ": Ctrl+click adds a shape to the selection (edit mode, Ctrl+J)")
            return []
        flat = [s.shape(i) for i in ids if not has_area(s.shape(i))]
        if flat:
            self._status(f"{name}: a {flat[0].shape_type} ({flat[0].label or 'no label'}) has no area; boolean "
                         "edits work on polygons, rectangles, circles, rotated rectangles and masks")
            return []
        try:
            new = s.edit.combine(ids, operation)
        except AnylabelError as e:
            self._status(f"{name} failed: {e}")
            return []
        if not new:
            self._status(f"{name}: nothing is left (the shapes do not overlap); Ctrl+Z brings them back")
            return []
        kinds = sorted({s.shape(i).shape_type for i in new})
        holes = " (holes kept)" if kinds == ["mask"] else ""
        self._status(f"{name} of {len(ids)} shapes: {len(new)} {'/'.join(kinds)} shape(s){holes}")
        return new

    def union(self) -> List[int]:
        return self.combine("union")

    def subtract(self) -> List[int]:
        return self.combine("subtract")

    def intersect(self) -> List[int]:
        return self.combine("intersect")

    # ------------------------------------------------------------------------------ conversions
    def _need_selection(self) -> List[int]:
        ids = self.ordered_selection()
        if not ids:
            self._status("Select shapes first (edit mode, Ctrl+J, then click)")
        return ids

    def to_mask(self) -> List[int]:
        """The selected shapes with an area become exact mask shapes (one undo step)."""
        s = self.session
        ids = self._need_selection()
        usable = [i for i in ids if has_area(s.shape(i)) and s.shape(i).shape_type != "mask"]
        if ids and not usable:
            self._status("Nothing to turn into a mask: the selected shapes are masks already or have no area")
            return []
        try:
            done = s.edit.to_mask(usable) if usable else []
        except AnylabelError as e:
            self._status(f"To mask failed: {e}")
            return []
        if done:
            self._status(f"{len(done)} shape(s) are mask shapes now (the brush and the eraser edit them exactly)")
        return done

    def to_polygons(self) -> List[int]:
        """Each selected shape with an area traced into polygons (one undo step per shape)."""
        s = self.session
        ids = [i for i in self._need_selection() if has_area(s.shape(i))]
        made: List[int] = []
        for i in ids:
            try:
                made += s.edit.to_polygons(i)
            except AnylabelError as e:
                self._status(f"To polygons failed: {e}")
                return made
        if made:
            s.select(made)
            self._status(f"{len(made)} polygon(s) (holes are not kept by polygons; Ctrl+Z goes back)")
        elif self.session.selected:
            self._status("Nothing to trace: the selected shapes have no area")
        return made

    # ------------------------------------------------------------------------------ turning
    def rotate(self, clockwise: bool) -> List[int]:
        """Z / X: turn the selected shapes by one degree around their centres (one undo step)."""
        s = self.session
        ids = self._need_selection()
        if not ids:
            return []
        turned = s.edit.rotate_shapes(ids, ROTATE_STEP if clockwise else -ROTATE_STEP)
        if not turned:
            self._status("Circles and masks are not turned (select a rotated rectangle, a rectangle or a polygon)")
        elif len(turned) == 1 and s.shape(turned[0]).shape_type == "rotation":
            degrees = math.degrees(rotated.direction(s.shape(turned[0]).points))
            self._status(f"Rotated rectangle at {degrees:.0f}°", 2000)
        return turned

    # ------------------------------------------------------------------------------ re-prompt
    def reprompt(self) -> Optional[int]:
        """Ctrl+R: the selected shape becomes the AI object: clicks and boxes refine it, F replaces it."""
        s = self.session
        ids = self.ordered_selection()
        if len(ids) != 1:
            self._status(f"Select one shape to refine ({len(ids)} selected): edit mode (Ctrl+J), click it, Ctrl+R")
            return None
        shape = s.shape(ids[0])
        if not has_area(shape):
            self._status(f"A {shape.shape_type} has no mask for the model to refine")
            return None
        try:
            s.assist.reprompt_shape(ids[0], self.logit_frame())
        except AnylabelError as e:
            self._status(f"Cannot refine: {e}")
            return None
        self.window.set_mode("ai")
        self._status(f"Refining {shape.label or 'the shape'}: click or drag a box to refine it, F replaces it, "
                     "Esc or B cancels", 10000)
        return ids[0]

    # ------------------------------------------------------------------------------ brush radius
    def change_brush_radius(self, larger: bool) -> float:
        """[ / ]: the brush and eraser radius (image pixels) times / over :data:`BRUSH_STEP`."""
        view = self.session.view
        r = view.brush_radius * BRUSH_STEP if larger else view.brush_radius / BRUSH_STEP
        r = float(round(min(max(r, BRUSH_RADII[0]), BRUSH_RADII[1]), 1))
        if r == view.brush_radius:  # at a bound the rounding can hold it: step by a pixel
            r = min(max(r + (1 if larger else -1), BRUSH_RADII[0]), BRUSH_RADII[1])
        view.brush_radius = r
        self.window.canvas.update()
        self._status(f"Brush radius {r:g} px", 2000)
        return r
