"""The annotation session: the state of the image being annotated and every operation on it, Qt-free.

See :mod:`anylabel.session.session` (:class:`AnnotationSession`), :mod:`anylabel.session.prompts` (typed
prompts, their version, the rules for stale answers and logits reuse) and :mod:`anylabel.session.folder`
(the image list and safe saves).

Editing operations (issue 15) are grouped in small objects the session owns, one module each, so
``session.py`` stays the state and the core operations; each object takes the session and changes it only
through its public methods and its :class:`~anylabel.document.history.History` (every change one undo step):

* ``session.edit`` (:mod:`~anylabel.session.editing`): ``to_mask``, ``to_polygons``, ``to_rotation``,
  ``combine`` / ``union`` / ``subtract`` / ``intersect``, ``add_rotation``, ``rotate_shape``,
  ``drag_rotation_corner``, ``resize_rotation``, ``hit_index``, ``shape_at``;
* ``session.brush`` (:mod:`~anylabel.session.brush`): ``begin_stroke``, ``extend_stroke``, ``end_stroke``,
  ``cancel_stroke`` (on a shape or on the AI preview);
* ``session.assist`` (:mod:`~anylabel.session.assist`): ``reprompt_shape``, ``detail``,
  ``set_polygon_tolerance``, ``vertex_count``, ``set_everything``, ``keep_candidate_at``, ``suggest_label``;
* ``session.details`` (:mod:`~anylabel.session.details`): ``set_shape_flags``, ``set_attributes``,
  ``set_difficult``, ``set_image_flags``, ``set_tags``, ``set_checked``, ``toggle_checked``; ``describe`` (new
  shapes), ``edit_shapes`` (label and details in one step), ``check_attributes``;
* ``session.review`` (:mod:`~anylabel.session.review`): ``next_unchecked``, ``count_checked``;
* ``session.view`` (:mod:`~anylabel.session.view`, not undoable, never saved): selection, hidden shapes,
  ``brush_radius``, ``adjustment`` / ``set_adjustment`` / ``display_image``.
"""
from anylabel.session.folder import ChangedOnDiskError, ImageFolder
from anylabel.session.prompts import (
                                      BoxPrompt,
                                      MaskPrompt,
                                      PlainAnswer,
                                      PointPrompt,
                                      PromptSet,
                                      is_current,
                                      logits_to_reuse,
)
from anylabel.session.session import AnnotationSession, NothingToFinish

__all__ = ["AnnotationSession", "BoxPrompt", "ChangedOnDiskError", "ImageFolder", "MaskPrompt", "NothingToFinish",
           "PlainAnswer", "PointPrompt", "PromptSet", "is_current", "logits_to_reuse"]
