"""The annotation state of the current image and every operation a user can do to it. Qt-free.

:class:`AnnotationSession` holds the image being annotated (pixels, path, key), its
:class:`~anylabel.document.ImageAnnotation` and :class:`~anylabel.document.history.History`, the prompts of
the object being segmented (:class:`~anylabel.session.prompts.PromptSet`), the model's current answer (the
preview, its candidates and the chosen one) and the view state (selected and hidden shapes, by stable
shape id, never by list position). Every change of the shapes goes through the history (undoable); every
change is announced by a plain callback (:class:`~anylabel.document.history.Callbacks`):

``image_changed()`` (another image, or none: everything below belongs to it), ``shapes_changed(event)`` (a
:class:`~anylabel.document.history.HistoryEvent`), ``selection_changed(ids)`` / ``visibility_changed(ids)``
(the selected / hidden shape ids, frozensets), ``prompts_changed(version)`` (submit :meth:`prompt` to the
model), ``preview_changed()`` (the shown answer or candidate), ``saved(path)``.

The GUI (``anylabel.gui``) renders this state and turns input into these calls; a script or a test drives
the same calls without a window (see ``tests/session``).
Editing operations live in small objects the session owns: ``edit``, ``brush``, ``assist``, ``details``,
``review`` (see :mod:`anylabel.session`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set

import numpy as np

from anylabel.backends.prompt import MaskCandidate, Prompt
from anylabel.backends.shapes import MIN_PART_AREA, candidate_to_shapes
from anylabel.config import Config
from anylabel.document import ImageAnnotation, Shape
from anylabel.document.history import Callbacks, History, HistoryEvent
from anylabel.errors import AnylabelError
from anylabel.imaging.loader import load_image
from anylabel.session.folder import ImageFolder
from anylabel.session.prompts import Answer, MaskPrompt, PlainAnswer, PromptPlan, PromptSet, is_current, logits_to_reuse
from anylabel.session.shapes import front_order, placed, relabeled, translated
from anylabel.session.view import ViewState

_KEEP = object()  # "leave this detail as it is" for relabel's group_id (None is a valid group id: none)


class NothingToFinish(AnylabelError):
    """finish() without a current answer, or with an empty mask; the message says which."""


class AnnotationSession:
    """The current image's annotation state and operations.

    Args:
        output_dir: folder for LabelMe files; None = next to the images.
        tolerance: polygon simplification (pixels) of finished objects; min_area: smallest part (pixels).
        mask_output: finish makes one RLE ``mask`` shape instead of polygons.
        image_loader: ``fn(path) -> HxWx3 uint8 RGB`` (the GUI passes its read-ahead cache).
        config: the settings (flags, attributes and their choices); default: the built-in defaults.
    """

    def __init__(self, output_dir: Optional[str] = None, tolerance: float = 1.0, min_area: float = MIN_PART_AREA,
                 mask_output: bool = False, image_loader: Callable[[Path], np.ndarray] = load_image,
                 config: Optional[Config] = None) -> None:
        from anylabel.session.assist import Assist
        from anylabel.session.brush import Brush
        from anylabel.session.details import LabelDetails
        from anylabel.session.editing import ShapeEdits
        from anylabel.session.review import Review

        self.config = config if config is not None else Config()
        self.output_dir = output_dir
        self.tolerance, self.min_area, self.mask_output = float(tolerance), float(min_area), bool(mask_output)
        self.image_loader = image_loader
        self.folder: Optional[ImageFolder] = None
        self.row: Optional[int] = None
        self.image: Optional[np.ndarray] = None  # HxWx3 uint8 RGB
        self.image_path: Optional[Path] = None
        self.image_key: Optional[str] = None  # the image's name in answers (its path as text)
        self.annotation: Optional[ImageAnnotation] = None
        self.history: Optional[History] = None
        self.prompts = PromptSet()
        self.answer: Optional[Answer] = None  # the answer shown (the newest accepted; maybe for older prompts)
        self.candidate = 0  # the chosen candidate of ``answer``
        self.view = ViewState(lambda: (s.id for s in self.shapes))  # selected / hidden shape ids
        self.clipboard: List[Shape] = []
        self.last_label = ""
        self.image_changed, self.shapes_changed, self.prompts_changed = Callbacks(), Callbacks(), Callbacks()
        self.preview_changed, self.saved = Callbacks(), Callbacks()
        self.selection_changed, self.visibility_changed = self.view.selection_changed, self.view.visibility_changed
        self.edit, self.brush, self.assist = ShapeEdits(self), Brush(self), Assist(self)
        self.details, self.review = LabelDetails(self), Review(self)

    # ---------------------------------------------------------------------------------- images
    def open(self, path) -> int:
        """Make the folder of ``path`` (an image, a folder or a LabelMe JSON) the image list; returns the row
        to show (load it with :meth:`load`). The current image is closed. Raises AnylabelError."""
        folder, row = ImageFolder.for_path(path, self.output_dir)
        self.close_image()
        self.folder = folder
        return row

    def load(self, row: int, image: Optional[np.ndarray] = None) -> List[str]:
        """Show image ``row`` of the folder: its pixels (``image`` when already decoded), its LabelMe file and a
        fresh history. Returns notes for the user (e.g. a size mismatch). Raises AnylabelError (a file that
        cannot be read is never replaced by an empty annotation)."""
        if self.folder is None or not 0 <= row < len(self.folder):
            raise AnylabelError(f"no image {row} in the list", self.folder.folder if self.folder else None)
        path = self.folder.image_path(row)
        # a video's frames are decoded from the video (VideoFrameFolder.pixels): no file to decode, none made
        frames = getattr(self.folder, "pixels", None)
        pixels = image if image is not None else frames(row) if frames is not None else self.image_loader(path)
        annotation, _ = self.folder.load(row)
        notes = []
        h, w = pixels.shape[:2]
        if (annotation.image_height, annotation.image_width) != (h, w):
            notes.append(f"The annotation said {annotation.image_width}x{annotation.image_height}; the image is "
                         f"{w}x{h} (EXIF rotation?): using the image's size")
            annotation.image_height, annotation.image_width = h, w
        self._show(row, path, pixels, annotation)
        return notes

    def close_image(self) -> None:
        """No image: nothing to annotate (the folder stays)."""
        self._show(None, None, None, None)

    def _show(self, row, path, pixels, annotation) -> None:
        if self.history is not None:
            self.history.changed.disconnect(self._on_history)
        self.row, self.image_path, self.image, self.annotation = row, path, pixels, annotation
        self.image_key = str(path) if path is not None else None
        self.history = History(annotation) if annotation is not None else None
        if self.history is not None:
            self.history.changed.connect(self._on_history)
        self.view.reset()
        self.prompts.clear()
        self.answer, self.candidate = None, 0
        self.image_changed.emit()

    # ---------------------------------------------------------------------------------- saving
    @property
    def dirty(self) -> bool:
        return self.history is not None and self.history.dirty

    def save(self, overwrite: bool = False) -> Path:
        """Write the LabelMe file atomically under its lock; returns its path. Raises
        :class:`~anylabel.session.folder.ChangedOnDiskError` when another program changed it since it was read
        here (unless ``overwrite``), AnylabelError when it cannot be written (the work stays here)."""
        self._need_image()
        path = self.folder.save(self.row, self.annotation, overwrite=overwrite)
        self.history.mark_saved()
        self.saved.emit(path)
        return path

    def save_copy(self, path) -> Path:
        """Write the annotation to another file (Save as); the image's own file is left alone."""
        self._need_image()
        out = self.folder.save_copy(self.row, self.annotation, path)
        self.history.mark_saved()  # the work is safe in the new file
        self.saved.emit(out)
        return out

    def discard_changes(self) -> None:
        """The user chose to drop the unsaved changes (e.g. before reloading the file)."""
        if self.history is not None:
            self.history.mark_saved()

    def _need_image(self) -> None:
        if self.folder is None or self.row is None or self.annotation is None:
            raise AnylabelError("no image is open")

    # ---------------------------------------------------------------------------------- shapes
    @property
    def shapes(self) -> List[Shape]:
        return self.annotation.shapes if self.annotation is not None else []

    def shape(self, shape_id: int) -> Shape:
        for s in self.shapes:
            if s.id == shape_id:
                return s
        raise KeyError(f"no shape with id {shape_id}")

    def indices(self, ids: Iterable[int]) -> List[int]:
        """List positions (ascending) of the shapes with these ids; unknown ids are skipped."""
        return self.history.indices_of(ids) if self.history is not None else []

    def ids_at(self, indices: Iterable[int]) -> Set[int]:
        shapes = self.shapes
        return {shapes[i].id for i in indices if 0 <= i < len(shapes)}

    def _ids(self, ids: Optional[Iterable[int]]) -> List[int]:
        return self.indices(self.selected if ids is None else ids)

    def add_shapes(self, shapes: Sequence[Shape], text: str = "add shapes", select: bool = True) -> List[int]:
        """Append ``shapes`` (one undo step); returns their ids (and selects them)."""
        if self.history is None or not shapes:
            return []
        indices = self.history.add(list(shapes), text)
        ids = [self.shapes[i].id for i in indices]
        if select:
            self.select(ids)
        return ids

    def delete(self, ids: Optional[Iterable[int]] = None) -> int:
        """Delete these shapes (default: the selected ones); returns how many."""
        indices = self._ids(ids)
        if indices:
            self.history.remove(indices, f"delete {len(indices)} shape{'s' * (len(indices) > 1)}")
        return len(indices)

    def replace(self, new: Dict[int, Shape], text: str = "edit shapes") -> None:
        """Replace shapes by edited versions ``{id: new shape}`` (moved points, a new vertex...): one undo step."""
        if self.history is None:
            return
        edits = {}
        for shape_id, shape in new.items():
            i = self.history.index_of(shape_id)
            if i is not None:
                shape.id = shape_id
                edits[i] = shape
        self.history.replace(edits, text)

    def set_points(self, shape_id: int, points: Sequence, text: str = "edit points") -> None:
        """Give shape ``shape_id`` new (x, y) points (image pixels)."""
        new = self.shape(shape_id).copy()
        new.points = [(float(x), float(y)) for x, y in points]
        self.replace({shape_id: new}, text)

    def move(self, dx: float, dy: float, ids: Optional[Iterable[int]] = None, text: str = "move shapes") -> None:
        """Move these shapes (default: the selected ones) by (dx, dy) image pixels."""
        self.replace({i: translated(self.shape(i), dx, dy) for i in self.ids_at(self._ids(ids))}, text)

    def relabel(self, ids: Optional[Iterable[int]] = None, label: Optional[str] = None, group_id=_KEEP,
                description: Optional[str] = None, flags: Optional[dict] = None) -> None:
        """Change label, group id (``None`` = no group), description or flags of these shapes; a detail not
        given is kept. One undo step."""
        chosen = self.ids_at(self._ids(ids))
        self.replace({i: relabeled(self.shape(i), label, None if group_id is _KEEP else group_id,
                                   group_id is not _KEEP, description, flags) for i in chosen},
                     f"label {label}" if label is not None else "edit label details")
        if label:
            self.last_label = label

    def duplicate(self, ids: Optional[Iterable[int]] = None, offset=(10.0, 10.0)) -> List[int]:
        """Copies of these shapes, moved by ``offset``, as new shapes (new ids, selected); returns their ids."""
        copies = [placed(translated(self.shapes[i], *offset), self.annotation.size) for i in self._ids(ids)]
        return self.add_shapes([c for c in copies if c is not None], f"duplicate {len(copies)} shape(s)")

    def copy(self, ids: Optional[Iterable[int]] = None) -> int:
        """Put copies of these shapes (default: the selected ones) on the clipboard; returns how many."""
        self.clipboard = [self.shapes[i].copy() for i in self._ids(ids)]
        return len(self.clipboard)

    def paste(self) -> List[int]:
        """Add the clipboard's shapes at the same place (handy on the next image or frame): points clamped to
        this image; a mask of another image size is skipped. Returns the new ids."""
        if self.annotation is None:
            return []
        shapes = [p for p in (placed(s, self.annotation.size) for s in self.clipboard) if p is not None]
        return self.add_shapes(shapes, f"paste {len(shapes)} shape(s)")

    def bring_to_front(self, ids: Optional[Iterable[int]] = None, to_front: bool = True) -> None:
        """Draw these shapes last (on top), or first (``to_front`` False): the drawing order changes."""
        indices = self._ids(ids)
        if indices:
            self.history.reorder(front_order(len(self.shapes), indices, to_front),
                                 "bring to front" if to_front else "send to back")

    def send_to_back(self, ids: Optional[Iterable[int]] = None) -> None:
        self.bring_to_front(ids, to_front=False)

    # ---------------------------------------------------------------------------------- view state
    selected = property(lambda self: self.view.selected, doc="the selected shape ids (a frozenset)")
    hidden = property(lambda self: self.view.hidden, doc="the hidden shape ids (a frozenset)")

    def select(self, ids: Iterable[int]) -> None:
        """Select exactly these shapes (ids not present are ignored)."""
        self.view.select(ids)

    def select_all(self) -> None:
        self.select(s.id for s in self.shapes if s.id not in self.hidden)

    def set_hidden(self, ids: Iterable[int]) -> None:
        """Hide exactly these shapes (the others are shown)."""
        self.view.set_hidden(ids)

    def hide(self, ids: Iterable[int]) -> None:
        self.view.hide(ids)

    def show(self, ids: Iterable[int]) -> None:
        self.view.show(ids)

    def _on_history(self, event: HistoryEvent) -> None:
        self.view.set_hidden(self.hidden)  # a removed shape is no longer hidden
        self.shapes_changed.emit(event)
        # what an undo / redo touched is selected; otherwise (also image details) the selection less removed shapes
        self.select(event.ids if event.kind in ("undo", "redo") and (event.ids or event.removed) else self.selected)

    # ---------------------------------------------------------------------------------- undo / redo
    def undo(self) -> bool:
        """The newest prompt change first (while an object is prompted), else the last shape change."""
        return self.undo_prompt() or self.undo_shapes()

    def redo(self) -> bool:
        return self.redo_prompt() or self.redo_shapes()

    def undo_shapes(self) -> bool:
        self.prompts.forget_redo()  # redo must bring this edit back, not jump back to older clicks
        return self.history is not None and self.history.undo()

    def redo_shapes(self) -> bool:
        return self.history is not None and self.history.redo()

    # ---------------------------------------------------------------------------------- prompts
    def add_point(self, x: float, y: float, positive: bool = True) -> int:
        """A click at image pixel (x, y); returns the new prompt version (submit :meth:`prompt` for it)."""
        self.prompts.add_point(x, y, positive)
        return self._prompts_changed()

    def add_box(self, box: Sequence[float], negative: bool = False) -> int:
        """A dragged box (x1, y1, x2, y2); a positive one replaces the object's positive box."""
        self.prompts.add_box(box, negative)
        return self._prompts_changed()

    def add_mask(self, mask: MaskPrompt) -> int:
        """A mask the object starts from (a brushed preview, a re-prompted shape); it is the preview."""
        self.prompts.add_mask(mask)
        return self._prompts_changed()

    def set_prompts(self, items: Sequence) -> int:
        """Make ``items`` (PointPrompt / BoxPrompt) the prompts, as one undoable change."""
        self.prompts.replace(items)
        return self._prompts_changed()

    def retarget_prompt(self, old, new) -> bool:
        """Swap one prompt for another without an undo step; the shown answer stays current (it is the
        answer the new prompt describes, e.g. the find box following the candidate shown)."""
        answer = self.answer
        if not self.prompts.retarget(old, new):
            return False
        if answer is not None and answer.version == self.prompts.version - 1:
            answer.version = self.prompts.version
        self.prompts_changed.emit(self.prompts.version)
        return True

    def undo_prompt(self) -> bool:
        return self.prompts.undo() and self._prompts_changed() > 0

    def redo_prompt(self) -> bool:
        return self.prompts.redo() and self._prompts_changed() > 0

    def clear_prompts(self) -> None:
        """B: no prompts, no preview."""
        self.prompts.clear()
        self._prompts_changed()

    def _prompts_changed(self) -> int:
        newest = self.prompts.items[-1] if self.prompts else None
        if isinstance(newest, MaskPrompt):  # a painted or re-prompted mask is its own preview: no model run
            self._set_answer(PlainAnswer(self.image_key, self.prompts.version, [newest.candidate()]))
        elif not self.prompts or self.prompt().is_empty():
            self._set_answer(None)  # nothing the model could answer: no preview
        self.prompts_changed.emit(self.prompts.version)
        return self.prompts.version

    def prompt(self) -> Prompt:
        """The backend prompt for the current prompts, with the logits of the shown answer when they may
        refine it (:func:`~anylabel.session.prompts.logits_to_reuse`)."""
        return self.prompts.to_prompt(logits_to_reuse(self.answer, self.candidate, self.prompts))

    def prompt_plan(self) -> Optional[PromptPlan]:
        """:meth:`prompt` to build where the model's logit grid is known (the GUI's worker), when the prompts
        start from a mask; else None (:class:`~anylabel.session.prompts.PromptPlan`)."""
        return self.prompts.plan(logits_to_reuse(self.answer, self.candidate, self.prompts))

    # ---------------------------------------------------------------------------------- answers
    def accept(self, answer: Answer) -> bool:
        """Show ``answer`` if it is for this image and the newest prompts; False (dropped) when stale."""
        if not is_current(answer, self.image_key, self.prompts):
            return False
        self._set_answer(answer)
        return True

    def _set_answer(self, answer: Optional[Answer]) -> None:
        changed = answer is not self.answer or self.candidate != 0
        self.answer, self.candidate = answer, 0
        if changed:
            self.preview_changed.emit()

    @property
    def waiting(self) -> bool:
        """True while the newest prompts have not been answered yet."""
        return bool(self.prompts) and (self.answer is None or self.answer.version != self.prompts.version)

    @property
    def preview(self) -> Optional[MaskCandidate]:
        """The chosen candidate of the shown answer, or None."""
        if self.answer is None or not self.answer.candidates:
            return None
        return self.answer.candidates[self.candidate]

    def cycle_candidate(self) -> int:
        """Show the next candidate (whole / part / subpart); returns its index (0 when there is one or none)."""
        n = len(self.answer.candidates) if self.answer is not None else 0
        if n > 1:
            self.candidate = (self.candidate + 1) % n
            self.preview_changed.emit()
        return self.candidate

    def forbid_refinement(self) -> None:
        """Another model answers from now on: its first prompt must not carry this model's logits."""
        self.prompts.forbid_refinement()

    # ---------------------------------------------------------------------------------- finishing
    def shapes_for(self, candidate: MaskCandidate, label: str, group_id: Optional[int] = None,
                   description: str = "", flags: Optional[dict] = None) -> List[Shape]:
        """The shapes finishing ``candidate`` would add (the core's one mask -> shape function)."""
        shapes = candidate_to_shapes(candidate, label, as_mask=self.mask_output, group_id=group_id,
                                     tolerance=self.tolerance, min_area=self.min_area, existing=self.shapes,
                                     description=description)
        for s in shapes:
            s.flags = dict(flags or {})
        return shapes

    def finish(self, label: str, group_id: Optional[int] = None, description: str = "",
               flags: Optional[dict] = None) -> List[int]:
        """F: the chosen candidate of the current answer becomes shapes labeled ``label`` (one undo step);
        the prompts are cleared and the new shapes selected. Returns their ids. Raises
        :class:`NothingToFinish` while the answer is pending or when its mask is empty."""
        if self.waiting:
            raise NothingToFinish("the model has not answered the newest prompts yet")
        candidate = self.preview
        if candidate is None:
            raise NothingToFinish("nothing to finish: click on an object first")
        return self.finish_candidate(candidate, label, group_id, description, flags)

    def finish_candidate(self, candidate: MaskCandidate, label: str, group_id: Optional[int] = None,
                         description: str = "", flags: Optional[dict] = None) -> List[int]:
        """Add ``candidate``'s shapes (e.g. a tracker's mask) as one undo step; see :meth:`finish`. While a
        shape is re-prompted (:meth:`Assist.reprompt_shape <anylabel.session.assist.Assist.reprompt_shape>`)
        they replace it, keeping its details."""
        target = self.assist.reprompting
        if target is not None:
            ids = self.assist.replace_reprompted(target, candidate, label)
        else:
            shapes = self.shapes_for(candidate, label, group_id, description, flags)
            if not shapes:
                raise NothingToFinish("the mask is empty: add a positive point or a box")
            ids = self.add_shapes(shapes, f"finish {label}")
        self.last_label = label or self.last_label
        self.clear_prompts()
        return ids
