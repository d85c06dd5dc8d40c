"""AI assistance on top of the prompts (``session.assist``): re-prompt a finished shape, polygon detail of the
preview, and "segment everything" candidates a click keeps.

* :meth:`Assist.reprompt_shape`: the shape's mask becomes the base of the prompt set (a
  :class:`~anylabel.session.prompts.MaskPrompt`: the model's mask input, or its box for models without one);
  clicks refine it; ``session.finish()`` replaces the shape in one undo step, keeping its details
  (:func:`anylabel.editing.convert.take_details`); ``clear_prompts()`` cancels.
* :meth:`Assist.detail`: the preview's :class:`~anylabel.editing.detail.PolygonDetail` (cached per
  candidate), :meth:`Assist.set_polygon_tolerance` (what finish uses), :meth:`Assist.vertex_count`.
* :meth:`Assist.set_everything` holds a segmenter's automatic masks as candidates; :meth:`Assist.keep_candidate_at`
  adds the one under a click (:func:`anylabel.editing.hit.pick_candidate`), labelled by :attr:`Assist.suggest_label`
  (the SSA / CLIP hook: ``fn(candidate) -> label or None``) or the last label.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, List, Optional

from anylabel.backends.prompt import MaskCandidate
from anylabel.document.history import Callbacks
from anylabel.editing.convert import has_area, shape_mask, take_details
from anylabel.editing.detail import PolygonDetail
from anylabel.editing.hit import pick_candidate
from anylabel.errors import GeometryError
from anylabel.session.editing import image_size
from anylabel.session.prompts import MaskPrompt

if TYPE_CHECKING:
    from anylabel.session.session import AnnotationSession


class Assist:
    """``session.assist`` (see the module docstring). ``candidates_changed()`` fires when the everything
    candidates change."""

    def __init__(self, session: "AnnotationSession") -> None:
        self.session = session
        self.candidates: List[MaskCandidate] = []  # the everything masks shown, largest first
        self.suggest_label: Optional[Callable[[MaskCandidate], Optional[str]]] = None
        self.candidates_changed = Callbacks()
        self._detail: Optional[tuple] = None  # (candidate, PolygonDetail)
        session.image_changed.connect(self.clear_candidates)

    # ------------------------------------------------------------------------------ re-prompt
    def reprompt_shape(self, shape_id: int, frame: Optional[object] = None) -> int:
        """Start refining finished shape ``shape_id`` (any shape with an area): the prompts start afresh from
        its mask, which is the preview until the first click. ``frame``: the model's
        :class:`~anylabel.editing.reprompt.LogitFrame` (``LogitFrame.of(segmenter)``). Returns the prompt
        version."""
        s = self.session
        shape = s.shape(shape_id)
        if not has_area(shape):
            raise GeometryError(f"a {shape.shape_type} shape has no mask to refine")
        mask = shape_mask(shape, image_size(s))
        s.prompts.clear()
        s.select([shape_id])
        return s.add_mask(MaskPrompt(mask, frame, shape_id))

    @property
    def reprompting(self) -> Optional[int]:
        """The id of the shape being re-prompted, or None (also when that shape was deleted meanwhile: finish
        then adds a new object)."""
        base, history = self.session.prompts.base, self.session.history
        if base is None or base.shape_id is None or history is None or history.index_of(base.shape_id) is None:
            return None
        return base.shape_id

    def replace_reprompted(self, shape_id: int, candidate: MaskCandidate, label: str = "") -> List[int]:
        """``candidate``'s shapes in place of shape ``shape_id`` with its details (``label`` if given), as one
        undo step (``session.finish`` calls this while a shape is re-prompted)."""
        from anylabel.backends.shapes import candidate_to_shapes
        from anylabel.session.session import NothingToFinish

        s = self.session
        old = s.shape(shape_id)
        others = [x for x in s.shapes if x.id != shape_id]
        shapes = candidate_to_shapes(candidate, old.label, as_mask=s.mask_output or old.shape_type == "mask",
                                     group_id=old.group_id, tolerance=s.tolerance, min_area=s.min_area,
                                     existing=others)  # a mask shape stays a mask shape
        if not shapes:
            raise NothingToFinish("the refined mask is empty: add a positive point")
        for part in shapes:
            take_details(part, old, group_id=old.group_id if len(shapes) == 1 else part.group_id)
            if label:
                part.label = label
        return s.edit.swap([shape_id], shapes, f"refine {old.label}")

    # ------------------------------------------------------------------------------ polygon detail
    def detail(self) -> Optional[PolygonDetail]:
        """The preview's polygon detail (traced once per candidate), or None without a preview."""
        candidate = self.session.preview
        if candidate is None:
            return None
        if self._detail is None or self._detail[0] is not candidate:
            self._detail = (candidate, PolygonDetail(candidate.mask, candidate.box, self.session.min_area))
        return self._detail[1]

    def set_polygon_tolerance(self, tolerance: float) -> None:
        """The simplification tolerance (pixels, >= 0) finish uses for polygons from now on."""
        if not tolerance >= 0:
            raise ValueError(f"the polygon tolerance must be >= 0 pixels, got {tolerance}")
        self.session.tolerance = float(tolerance)

    def vertex_count(self, tolerance: Optional[float] = None) -> int:
        """The preview's vertex count at ``tolerance`` (default: the session's); 0 without a preview."""
        detail = self.detail()
        return 0 if detail is None else detail.vertex_count(self.session.tolerance if tolerance is None else tolerance)

    # ------------------------------------------------------------------------------ segment everything
    def set_everything(self, candidates: List[MaskCandidate]) -> None:
        """Show ``candidates`` (a segmenter's ``everything()`` on this image, run in the background)."""
        self.candidates = list(candidates)
        self.candidates_changed.emit()

    def run_everything(self, segmenter, progress: Optional[Callable[[int, int], bool]] = None) -> int:
        """Run ``segmenter.everything()`` on the session's image (synchronously: the GUI calls it from its
        worker; ``progress(done, total)`` returning False cancels with CancelledError) and show the masks as
        candidates. Returns how many."""
        image_size(self.session)
        masks = segmenter.everything(self.session.image, key=self.session.image_key, progress=progress)
        self.set_everything(masks)
        return len(masks)

    def clear_candidates(self) -> None:
        if self.candidates:
            self.candidates = []
            self.candidates_changed.emit()

    def candidate_at(self, x: float, y: float) -> Optional[int]:
        """The position in :attr:`candidates` of the one a click at (x, y) keeps (the smallest holding it)."""
        return pick_candidate([c.mask for c in self.candidates], x, y)

    def keep_candidate_at(self, x: float, y: float, label: Optional[str] = None, group_id: Optional[int] = None,
                          description: str = "", **details) -> Optional[int]:
        """Add the candidate under (x, y) as a shape (one undo step) and take it out of the candidates;
        labelled ``label``, else :attr:`suggest_label`'s answer, else the last label; ``details``: ``flags``,
        ``attributes``, ``difficult`` (:meth:`LabelDetails.describe <anylabel.session.details.LabelDetails.describe>`).
        Returns the new shape's id (the first part's for several polygons), or None when no candidate holds
        the point."""
        k = self.candidate_at(x, y)
        if k is None:
            return None
        s = self.session
        candidate = self.candidates[k]
        if label is None and self.suggest_label is not None:
            label = self.suggest_label(candidate)
        label = label or s.last_label
        shapes = s.details.describe(s.shapes_for(candidate, label, group_id, description), **details)
        ids = s.add_shapes(shapes, f"keep {label}")
        if not ids:
            return None
        s.last_label = label or s.last_label
        del self.candidates[k]
        self.candidates_changed.emit()
        return ids[0]
