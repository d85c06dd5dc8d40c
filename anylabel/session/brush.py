"""Brush and eraser strokes of the session (``session.brush``): one undo step per stroke.

A stroke paints (or erases) a round brush into a working copy of a mask while the mouse moves
(:meth:`Brush.extend_stroke`, exact, only the stroke's box touched: :mod:`anylabel.editing.brush`) and is
committed by :meth:`Brush.end_stroke`:

* on the AI preview (``target`` None): the painted mask becomes a
  :class:`~anylabel.session.prompts.MaskPrompt`, a prompt step (Ctrl+Z undoes the stroke like a click), and
  is the preview itself; the next click refines what was painted (its logits are the model's mask input,
  :func:`anylabel.editing.reprompt.candidate_from_mask`). With no preview the stroke starts from an empty mask.
* on a finished shape: the shape becomes one exact ``mask`` shape (same id and details,
  :func:`anylabel.editing.convert.mask_to_shapes`), a history step; erased to nothing, it is deleted.

The radius is view state (``session.view.brush_radius``), never saved.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, List, Optional, Sequence

import numpy as np

from anylabel.editing.brush import MaskPatch, paint_stroke
from anylabel.editing.convert import mask_to_shapes, shape_mask
from anylabel.errors import AnylabelError
from anylabel.session.editing import image_size
from anylabel.session.prompts import MaskPrompt

if TYPE_CHECKING:
    from anylabel.session.session import AnnotationSession


@dataclass
class Stroke:
    """The stroke in progress: its target (a shape id, None = the preview), brush, working mask and patches."""

    target: Optional[int]
    radius: float
    erase: bool
    mask: np.ndarray
    frame: Optional[object] = None
    patches: List[MaskPatch] = field(default_factory=list)
    last: Optional[tuple] = None  # the previous point: the next segment starts there


class Brush:
    """``session.brush``: begin / extend / end a stroke (see the module docstring)."""

    def __init__(self, session: "AnnotationSession") -> None:
        self.session = session
        self.stroke: Optional[Stroke] = None
        session.image_changed.connect(self.cancel_stroke)

    def begin_stroke(self, target: Optional[int] = None, radius: Optional[float] = None, erase: bool = False,
                     frame: Optional[object] = None) -> None:
        """Start a stroke on shape ``target`` (an id with an area) or on the AI preview (None).

        Args:
            radius: pixels; default ``session.view.brush_radius`` (a given radius becomes the new default).
            frame: the model's :class:`~anylabel.editing.reprompt.LogitFrame` (preview strokes only), so the next
                click refines the painted mask; None for models without mask prompts.
        """
        s = self.session
        hw = image_size(s)
        if radius is not None:
            s.view.brush_radius = float(radius)
        if target is None:
            preview = s.preview
            mask = preview.mask.copy() if preview is not None else np.zeros(hw, dtype=bool)
            base = s.prompts.base
            frame = frame if frame is not None else (base.frame if base is not None else None)
        else:
            mask = shape_mask(s.shape(target), hw).copy()
        self.stroke = Stroke(target, s.view.brush_radius, bool(erase), mask, frame)

    def extend_stroke(self, points: Sequence[Sequence[float]]) -> Optional[MaskPatch]:
        """Paint the stroke on through ``points`` ((x, y) image pixels, continuing from the previous point);
        returns the change (for the canvas to repaint its box), None when it fell outside the image."""
        st = self._need_stroke()
        pts = [tuple(map(float, p)) for p in points]
        if not pts:
            return None
        path = ([st.last] if st.last is not None else []) + pts
        st.last = pts[-1]
        patch = paint_stroke(st.mask, path, st.radius, st.erase)
        if patch is not None:
            st.patches.append(patch)
        return patch

    def end_stroke(self) -> List[int]:
        """Commit the stroke as one undo step; returns the ids of the shapes it made ([] for the preview, or
        a shape erased to nothing)."""
        st = self._need_stroke()
        self.stroke = None
        s = self.session
        if not any(p.changed for p in st.patches):
            return [st.target] if st.target is not None else []
        if st.target is None:
            base = s.prompts.base
            s.add_mask(MaskPrompt(st.mask, st.frame, base.shape_id if base is not None else None))
            return []
        shape = s.shape(st.target)
        parts = mask_to_shapes(st.mask, shape, as_mask=True)
        return s.edit.swap([st.target], parts, "erase" if st.erase else "brush")

    def cancel_stroke(self) -> None:
        """Drop the stroke in progress (Escape, another image): nothing changes."""
        self.stroke = None

    def _need_stroke(self) -> Stroke:
        if self.stroke is None:
            raise AnylabelError("no brush stroke in progress: begin_stroke first")
        return self.stroke
