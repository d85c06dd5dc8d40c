"""Video-mode operations on one frame's annotation and the propagation settings a window keeps. Qt-free.

* :class:`ReplaceTrack`: an object's shapes on the shown frame replaced by new ones, one undo step, keyed on
  the shapes' stable ids (:attr:`Shape.id <anylabel.document.shape.Shape.id>`), never on list positions that
  another edit may have moved.
* :func:`as_track`: the shapes F makes for a tracked object carry its ``track_id``, and the parts of a
  multi-part mask share ``group_id = track_id`` as the tracker writes them
  (:func:`anylabel.tracking.output.mask_shapes`), so a correction on a later frame reads "track 1" like the
  tracked frames, not "#2 track 1" (an automatic group id).
* :func:`update_outside`: deleting every shape of a track on a frame marks it "outside" there (interpolation
  leaves the frame empty); undo takes the mark back.
* :class:`SetShapes`: the whole frame replaced by what its file now holds (after interpolation wrote it),
  undoable.
* :class:`PropagationSettings`: the Video dock's direction, range and keep / replace choice turned into the
  core's :class:`~anylabel.tracking.propagation.Propagation` for the frame shown.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from anylabel.document.history import Command
from anylabel.document.shape import ImageAnnotation, Shape
from anylabel.tracking.output import EXISTING
from anylabel.tracking.propagation import DIRECTIONS, Propagation


class ReplaceTrack(Command):
    """Remove the shapes with ids ``old_ids`` and append ``new`` (one undo step; undo puts the old shapes back
    where they were)."""

    def __init__(self, old_ids: Sequence[int], new: Sequence[Shape], text: str) -> None:
        self.old_ids = [int(i) for i in old_ids]
        self.new, self.text = list(new), text
        self._removed: List[Tuple[int, Shape]] = []

    def apply(self, ann: ImageAnnotation) -> Tuple[int, ...]:
        wanted = set(self.old_ids)
        self._removed = [(i, s) for i, s in enumerate(ann.shapes) if s.id is not None and s.id in wanted]
        for i, _ in reversed(self._removed):
            del ann.shapes[i]
        start = len(ann.shapes)
        ann.shapes.extend(self.new)
        return tuple(range(start, start + len(self.new)))

    def revert(self, ann: ImageAnnotation) -> Tuple[int, ...]:
        mine = {id(s) for s in self.new}
        ann.shapes[:] = [s for s in ann.shapes if id(s) not in mine]
        for i, s in self._removed:
            ann.shapes.insert(i, s)
        return tuple(i for i, _ in self._removed)


class SetShapes(Command):
    """Replace every shape of the annotation by ``shapes`` (one undo step)."""

    def __init__(self, shapes: Sequence[Shape], text: str) -> None:
        self.shapes, self.text = list(shapes), text
        self._old: List[Shape] = []

    def apply(self, ann: ImageAnnotation) -> Tuple[int, ...]:
        self._old = list(ann.shapes)
        ann.shapes[:] = self.shapes
        return tuple(range(len(self.shapes)))

    def revert(self, ann: ImageAnnotation) -> Tuple[int, ...]:
        ann.shapes[:] = self._old
        return tuple(range(len(self._old)))


def track_shape_ids(annotation: ImageAnnotation, track_id: int) -> List[int]:
    """The stable ids of ``track_id``'s shapes in ``annotation`` (shapes a history has seen)."""
    return [s.id for s in annotation.shapes if s.track_id == int(track_id) and s.id is not None]


def as_track(shapes: Sequence[Shape], track_id: int, group_id: Optional[int] = None) -> List[Shape]:
    """``shapes`` (the parts of one object) as parts of track ``track_id``: ``track_id`` set, and several parts
    share ``group_id`` (the person's choice) or else the track id; one part has none unless chosen."""
    out = list(shapes)
    group = group_id if group_id is not None else (int(track_id) if len(out) > 1 else None)
    for s in out:
        s.track_id = int(track_id)
        s.group_id = group
    return out


def start_frame(direction: str, shown: int, pending: Sequence[int]) -> Optional[int]:
    """Where a run of the window starts: forward from the frame shown, or from an earlier frame where an
    object has a prompt not propagated yet (the lowest); backward the same the other way; both ways from the
    objects' own prompts (None: the core's rule, :func:`~anylabel.tracking.propagation.plan_passes`)."""
    if direction == "forward":
        return min([int(shown), *pending])
    if direction == "backward":
        return max([int(shown), *pending])
    return None


def record_votes(shapes: Sequence[Shape], votes: Mapping[str, Sequence[Tuple[str, float]]]) -> None:
    """Record label proposals for the mask of ``shapes`` (one object on one frame) in each shape, as
    ``anylabel autolabel`` does: ``votes`` maps the key (``semantic``, ``classifier``) to ``(label, score)``
    pairs, best first. The object list's one label per track (:mod:`anylabel.tracking.track_labels`) weighs
    them over the track's frames; an empty list records nothing."""
    from anylabel.semantic import Proposal, Vote

    for key, items in votes.items():
        ranked = sorted(((str(label), float(score)) for label, score in items), key=lambda p: -p[1])
        if not ranked:
            continue
        vote = Vote(label=ranked[0][0], confidence=ranked[0][1],
                    proposals=tuple(Proposal(label, -1, score) for label, score in ranked[:3]),
                    source=key).to_dict()
        for s in shapes:
            s.extra[key] = dict(vote)


def update_outside(annotation: ImageAnnotation, before: Set[int], mark: bool = True) -> Set[int]:
    """After a person's edit of a frame: a track whose every shape was deleted there (it was in ``before``, the
    frame's tracks before the edit) is marked as not visible on the frame (CVAT's "outside", the key
    :data:`~anylabel.tracking.interpolate.OUTSIDE`), so interpolation never puts it back; a track that is
    back (undo, a new prompt) is visible again. ``mark=False`` (an undo: a removal that takes back an
    addition) only clears marks. The shapes list is not touched. Returns the frame's tracks now."""
    from anylabel.tracking.interpolate import OUTSIDE, outside_tracks

    now = {int(s.track_id) for s in annotation.shapes if s.track_id is not None}
    hidden = outside_tracks(annotation) - now
    if mark:
        hidden |= set(before) - now
    if hidden:
        annotation.extra[OUTSIDE] = sorted(hidden)
    else:
        annotation.extra.pop(OUTSIDE, None)
    return now


#: how far a propagation goes: to the video's end (frame 0 backwards), N frames, or to a chosen frame
RANGES = ("end", "count", "frame")


@dataclass
class PropagationSettings:
    """The Video dock's choices (remembered between sessions as a dict: :meth:`to_dict` / :meth:`from_dict`).

    Attributes:
        direction: one of :data:`~anylabel.tracking.propagation.DIRECTIONS` (Ctrl+M, Ctrl+Shift+M, Ctrl+Alt+M
            choose it for one run).
        range: one of :data:`RANGES`.
        count: frames past the starting frame (``range == "count"``).
        to_frame: the frame to stop at (``range == "frame"``): the last frame forwards, the first backwards;
            both ways it bounds the side it lies on.
        existing: ``replace`` or ``keep`` an object's earlier annotations on a frame.
    """

    direction: str = "forward"
    range: str = "end"
    count: int = 50
    to_frame: int = 0
    existing: str = "replace"

    def plan(self, shown: int, num_frames: int, direction: Optional[str] = None) -> Propagation:
        """The :class:`Propagation` for a run from the frame ``shown`` (``direction`` overrides the
        setting). Forward and backward runs start at the frame shown, or earlier / later at an object's
        newer prompt (the core's rule); both ways start from each object's prompts."""
        d = direction or self.direction
        last = num_frames - 1
        first_f: Optional[int] = None
        last_f: Optional[int] = None
        count: Optional[int] = None
        if self.range == "count":
            count = max(0, int(self.count))
        elif self.range == "frame":
            target = max(0, min(last, int(self.to_frame)))
            if d == "forward":
                last_f = max(target, shown)
            elif d == "backward":
                first_f = min(target, shown)
            elif target >= shown:
                last_f = target
            else:
                first_f = target
        return Propagation(d, count=count, first=first_f, last=last_f)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> "PropagationSettings":
        """Settings from a remembered dict; unknown keys and bad values fall back to the defaults."""
        out = cls()
        if not isinstance(data, dict):
            return out
        names = {f.name for f in fields(cls)}
        for key, value in data.items():
            if key in names and isinstance(value, type(getattr(out, key))) and not isinstance(value, bool):
                setattr(out, key, value)
        if out.direction not in DIRECTIONS:
            out.direction = "forward"
        if out.range not in RANGES:
            out.range = "end"
        if out.existing not in EXISTING:
            out.existing = "replace"
        return out
