"""Undo / redo for one :class:`ImageAnnotation`: a stack of reversible commands. Qt-free.

Every change of the shapes goes through a :class:`History`, which applies a command, records it and can
revert it. Listeners are plain callables (napari-style): ``history.changed.connect(fn)``; ``fn`` receives a
:class:`HistoryEvent` after every do / undo / redo / save mark, so the GUI repaints and updates its lists
without the document knowing about Qt.

Commands store only the shapes they touch (with their indices), not snapshots of the whole document, so
an edit of one polygon in an image with 1,000 polygons costs one shape copy.

Stable ids: every shape the history holds has an ``id`` (:attr:`Shape.id`, never written to files) that
does not change when other shapes are added, removed or reordered. The history gives ids to the shapes of
the annotation it starts with and, after every command, to shapes that have none or that repeat the id of a
shape already there (a paste or a duplicate: the shape that was there keeps its id). An edited copy
(:meth:`Shape.copy`) keeps its id, so a moved or relabeled shape is still the same shape; undo brings
removed shapes back with their old ids. Events report the touched shapes' ids, so views key on ids.

Dirty tracking: :meth:`History.mark_saved` remembers the current position; :attr:`History.dirty` is
true whenever the document differs from that position (also after undoing past a save).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from anylabel.document.shape import ImageAnnotation, Shape

_NEW_IDS = count(1)  # ids unique in the process, so a shape moved between images cannot meet its twin


class Callbacks:
    """A list of plain callbacks: ``connect(fn)``, ``disconnect(fn)``, ``emit(*args)``."""

    def __init__(self) -> None:
        self._fns: List[Callable] = []

    def connect(self, fn: Callable) -> Callable:
        if fn not in self._fns:
            self._fns.append(fn)
        return fn

    def disconnect(self, fn: Callable) -> None:
        if fn in self._fns:
            self._fns.remove(fn)

    def emit(self, *args) -> None:
        for fn in list(self._fns):
            fn(*args)


@dataclass
class HistoryEvent:
    """What just happened: ``kind`` is ``"do"``, ``"undo"``, ``"redo"``, ``"saved"`` or ``"reset"``;
    ``text`` names the command; ``indices`` are the shape indices it touched, after the change; ``ids`` the
    stable ids of those shapes; ``removed`` the ids of shapes the change took out of the annotation."""

    kind: str
    text: str = ""
    indices: Tuple[int, ...] = ()
    ids: Tuple[int, ...] = ()
    removed: Tuple[int, ...] = ()


class Command:
    """A reversible change of ``annotation.shapes``."""

    text = "edit"

    def apply(self, ann: ImageAnnotation) -> Tuple[int, ...]:
        """Make the change; return the touched indices after it."""
        raise NotImplementedError

    def revert(self, ann: ImageAnnotation) -> Tuple[int, ...]:
        """Undo the change; return the touched indices after it."""
        raise NotImplementedError


@dataclass
class AddShapes(Command):
    """Insert ``shapes`` at ``indices`` (ascending positions in the final list); ``None`` = append."""

    shapes: List[Shape]
    indices: Optional[List[int]] = None
    text: str = "add shapes"

    def apply(self, ann: ImageAnnotation) -> Tuple[int, ...]:
        if self.indices is None:
            start = len(ann.shapes)
            self.indices = list(range(start, start + len(self.shapes)))
        for i, s in sorted(zip(self.indices, self.shapes), key=lambda p: p[0]):
            ann.shapes.insert(i, s)
        return tuple(self.indices)

    def revert(self, ann: ImageAnnotation) -> Tuple[int, ...]:
        for i in sorted(self.indices or [], reverse=True):
            del ann.shapes[i]
        return ()


@dataclass
class RemoveShapes(Command):
    """Remove the shapes at ``indices``; undo puts them back at the same places."""

    indices: List[int]
    text: str = "delete shapes"
    _removed: List[Shape] = field(default_factory=list, repr=False)

    def apply(self, ann: ImageAnnotation) -> Tuple[int, ...]:
        self.indices, self._removed = _take_out(ann, self.indices)
        return ()

    def revert(self, ann: ImageAnnotation) -> Tuple[int, ...]:
        _put_back(ann, self.indices, self._removed)
        return tuple(self.indices)


def _take_out(ann: ImageAnnotation, indices: Sequence[int]) -> Tuple[List[int], List[Shape]]:
    """Remove the shapes at ``indices``; returns the indices sorted (without repeats) and the removed shapes."""
    ordered = sorted(set(indices))
    removed = [ann.shapes[i] for i in ordered]
    for i in reversed(ordered):
        del ann.shapes[i]
    return ordered, removed


def _put_back(ann: ImageAnnotation, indices: Sequence[int], removed: Sequence[Shape]) -> None:
    """Undo :func:`_take_out`: each shape back at its index (ascending)."""
    for i, s in zip(indices, removed):
        ann.shapes.insert(i, s)


@dataclass
class ReplaceShapes(Command):
    """Replace shapes in place (a move, a vertex edit, a new label): ``{index: new shape}``."""

    new: Dict[int, Shape]
    text: str = "edit shapes"
    _old: Dict[int, Shape] = field(default_factory=dict, repr=False)

    def apply(self, ann: ImageAnnotation) -> Tuple[int, ...]:
        self._old = {i: ann.shapes[i] for i in self.new}
        for i, s in self.new.items():
            if s.id is None:  # a new object for the same shape: it stays the same shape
                s.id = self._old[i].id
            ann.shapes[i] = s
        return tuple(sorted(self.new))

    def revert(self, ann: ImageAnnotation) -> Tuple[int, ...]:
        for i, s in self._old.items():
            ann.shapes[i] = s
        return tuple(sorted(self._old))


@dataclass
class ReorderShapes(Command):
    """Put the shapes in a new drawing order: ``order[k]`` is the index (before the change) of the shape
    that ends at position ``k`` (a permutation of ``range(len(shapes))``)."""

    order: List[int]
    text: str = "change order"

    def apply(self, ann: ImageAnnotation) -> Tuple[int, ...]:
        if sorted(self.order) != list(range(len(ann.shapes))):
            raise ValueError("the new order must name every shape once")
        ann.shapes[:] = [ann.shapes[i] for i in self.order]
        return tuple(k for k, i in enumerate(self.order) if k != i)

    def revert(self, ann: ImageAnnotation) -> Tuple[int, ...]:
        old: List[Optional[Shape]] = [None] * len(self.order)
        for k, i in enumerate(self.order):
            old[i] = ann.shapes[k]
        ann.shapes[:] = old
        return tuple(i for k, i in enumerate(self.order) if k != i)


@dataclass
class SwapShapes(Command):
    """Put ``shapes`` (any number, also none) in place of the shapes at ``indices``: they go where the first of
    those was (a boolean edit, a brushed shape traced into parts, a shape erased to nothing). Undo puts the old
    shapes back at their places."""

    indices: List[int]
    shapes: List[Shape]
    text: str = "replace shapes"
    _removed: List[Shape] = field(default_factory=list, repr=False)

    def apply(self, ann: ImageAnnotation) -> Tuple[int, ...]:
        self.indices, self._removed = _take_out(ann, self.indices)
        at = self.indices[0] if self.indices else len(ann.shapes)
        ann.shapes[at:at] = self.shapes
        return tuple(range(at, at + len(self.shapes)))

    def revert(self, ann: ImageAnnotation) -> Tuple[int, ...]:
        at = self.indices[0] if self.indices else len(ann.shapes) - len(self.shapes)
        del ann.shapes[at:at + len(self.shapes)]
        _put_back(ann, self.indices, self._removed)
        return tuple(self.indices)


@dataclass
class SetImageDetails(Command):
    """Replace the image-level details: labelme's ``flags``, the ``tags`` list, the ``checked`` mark; a detail
    given as None stays. No shape is touched (the event has no indices)."""

    flags: Optional[Dict[str, bool]] = None
    tags: Optional[List[str]] = None
    checked: Optional[bool] = None
    text: str = "edit image details"
    _old: Tuple = field(default=(), repr=False)

    def apply(self, ann: ImageAnnotation) -> Tuple[int, ...]:
        self._old = (dict(ann.flags), list(ann.tags), ann.checked)
        if self.flags is not None:
            ann.flags = dict(self.flags)
        if self.tags is not None:
            ann.tags = list(self.tags)
        if self.checked is not None:
            ann.checked = bool(self.checked)
        return ()

    def revert(self, ann: ImageAnnotation) -> Tuple[int, ...]:
        ann.flags, ann.tags, ann.checked = dict(self._old[0]), list(self._old[1]), self._old[2]
        return ()


def assign_ids(shapes: Sequence[Shape], keep: Sequence[Shape] = ()) -> None:
    """Give a fresh id to each shape without one or repeating an earlier id; shapes in ``keep`` (the objects
    that were there before a change) win a tie, so a pasted copy never takes its original's id."""
    kept = {id(s) for s in keep}
    owners: Dict[int, Shape] = {}
    for s in sorted(shapes, key=lambda s: id(s) not in kept):  # stable: the old shapes claim first
        if s.id is None or s.id in owners:
            s.id = next(_NEW_IDS)
        owners[s.id] = s


class History:
    """The undo stack of one annotation.

    Args:
        annotation: the document; its ``shapes`` list is changed in place by the commands.
        limit: how many commands are kept (the oldest are forgotten).
    """

    def __init__(self, annotation: ImageAnnotation, limit: int = 1000) -> None:
        self.annotation = annotation
        self.limit = limit
        self.changed = Callbacks()
        self._undo: List[Command] = []
        self._redo: List[Command] = []
        # position of the last save as (commands applied since creation); None = unreachable
        self._applied = 0
        self._saved_at: Optional[int] = 0
        assign_ids(annotation.shapes)

    # ------------------------------------------------------------------------------------ changes
    def push(self, command: Command) -> Tuple[int, ...]:
        """Apply ``command``, record it and drop the redo stack."""
        indices, ids, removed = self._run(command.apply)
        self._undo.append(command)
        if self._saved_at is not None and self._saved_at > self._applied:
            self._saved_at = None  # the saved state was on the redo branch we are dropping
        self._redo.clear()
        self._applied += 1
        if len(self._undo) > self.limit:
            del self._undo[0]
        self.changed.emit(HistoryEvent("do", command.text, indices, ids, removed))
        return indices

    def _run(self, step) -> Tuple[Tuple[int, ...], Tuple[int, ...], Tuple[int, ...]]:
        """``step(annotation)`` (a command's apply or revert), then ids: (indices, their ids, removed ids)."""
        shapes = self.annotation.shapes
        before = list(shapes)
        indices = step(self.annotation)
        assign_ids(shapes, before)
        present = {s.id for s in shapes}
        removed = tuple(sorted({s.id for s in before} - present))
        return tuple(indices), tuple(shapes[i].id for i in indices if 0 <= i < len(shapes)), removed

    @property
    def ids(self) -> List[int]:
        """The stable id of every shape, in drawing order."""
        return [s.id for s in self.annotation.shapes]

    def index_of(self, shape_id: int) -> Optional[int]:
        """The list position of the shape with id ``shape_id`` now, or None when it is not there."""
        for i, s in enumerate(self.annotation.shapes):
            if s.id == shape_id:
                return i
        return None

    def indices_of(self, ids) -> List[int]:
        """The positions of the shapes with these ids (ascending; ids not present are skipped)."""
        wanted = set(ids)
        return [i for i, s in enumerate(self.annotation.shapes) if s.id in wanted]

    def reorder(self, order: Sequence[int], text: str = "change order") -> Tuple[int, ...]:
        """New drawing order (see :class:`ReorderShapes`); nothing happens when it is the same order."""
        if list(order) == list(range(len(self.annotation.shapes))):
            return ()
        return self.push(ReorderShapes(list(order), text))

    def add(self, shapes: Sequence[Shape], text: str = "add shapes") -> Tuple[int, ...]:
        """Append ``shapes``; returns their indices."""
        return self.push(AddShapes(list(shapes), None, text))

    def remove(self, indices: Sequence[int], text: str = "delete shapes") -> None:
        if indices:
            self.push(RemoveShapes(list(indices), text))

    def replace(self, new: Dict[int, Shape], text: str = "edit shapes") -> Tuple[int, ...]:
        if not new:
            return ()
        return self.push(ReplaceShapes(dict(new), text))

    def swap(self, indices: Sequence[int], shapes: Sequence[Shape], text: str = "replace shapes") -> Tuple[int, ...]:
        """The shapes at ``indices`` give way to ``shapes`` (see :class:`SwapShapes`); returns their indices."""
        return self.push(SwapShapes(list(indices), list(shapes), text))

    # ---------------------------------------------------------------------------------- undo/redo
    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_text(self) -> str:
        return self._undo[-1].text if self._undo else ""

    @property
    def redo_text(self) -> str:
        return self._redo[-1].text if self._redo else ""

    def undo(self) -> bool:
        """Revert the last command; False when there is none."""
        if not self._undo:
            return False
        command = self._undo.pop()
        indices, ids, removed = self._run(command.revert)
        self._redo.append(command)
        self._applied -= 1
        self.changed.emit(HistoryEvent("undo", command.text, indices, ids, removed))
        return True

    def redo(self) -> bool:
        """Re-apply the last undone command; False when there is none."""
        if not self._redo:
            return False
        command = self._redo.pop()
        indices, ids, removed = self._run(command.apply)
        self._undo.append(command)
        self._applied += 1
        self.changed.emit(HistoryEvent("redo", command.text, indices, ids, removed))
        return True

    # -------------------------------------------------------------------------------------- saving
    @property
    def dirty(self) -> bool:
        """True when the shapes differ from the last :meth:`mark_saved` (or from the loaded state)."""
        return self._saved_at != self._applied

    def mark_saved(self) -> None:
        """Record that the current state is what is on disk."""
        self._saved_at = self._applied
        self.changed.emit(HistoryEvent("saved"))

    def mark_unsaved(self) -> None:
        """Force :attr:`dirty` (for example when the file on disk was deleted)."""
        self._saved_at = None
        self.changed.emit(HistoryEvent("saved"))

    def reset(self, annotation: Optional[ImageAnnotation] = None) -> None:
        """Forget every command (and optionally switch to another annotation); the state counts as saved."""
        if annotation is not None:
            self.annotation = annotation
        assign_ids(self.annotation.shapes)
        self._undo.clear()
        self._redo.clear()
        self._applied = 0
        self._saved_at = 0
        self.changed.emit(HistoryEvent("reset"))
