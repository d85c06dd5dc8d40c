"""Video mode's objects: which object the clicks are for, the tracker's click target, and F (confirm).

:class:`VideoObjects` is the part of :class:`anylabel.gui.video.panel.VideoPanel` that deals with tracked
objects; the attributes it reads are declared below and set by the panel. Everything of the window is
reached through the feature host (:mod:`anylabel.gui.features`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

import numpy as np

from anylabel.gui.ai.worker import SegmentRequest
from anylabel.gui.suggestions.clip import SOURCE as CLIP_SOURCE
from anylabel.gui.suggestions.semantic import SOURCE as SSA_SOURCE
from anylabel.gui.video.dock import VideoDock
from anylabel.gui.video.frames import VideoFrameFolder, shape_mask
from anylabel.gui.video.worker import Target, TrackerWorker
from anylabel.session.video import ReplaceTrack, as_track, record_votes, track_shape_ids

#: the label-suggestion sources whose proposals are recorded in a confirmed object's shapes, and under which
#: key (the keys ``anylabel autolabel`` writes, read by :mod:`anylabel.tracking.track_labels`)
VOTE_KEYS_BY_SOURCE = {SSA_SOURCE: "semantic", CLIP_SOURCE: "classifier"}

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.gui.features import FeatureHost


class VideoObjects:
    """Objects of the open video (mixed into the panel)."""

    host: "FeatureHost"
    folder: Optional[VideoFrameFolder]
    worker: TrackerWorker
    dock_widget: VideoDock
    objects: Dict[int, str]  # confirmed object id -> label
    current_obj: int  # the object the next clicks are for
    max_track_id: int  # highest track id in the video's files or confirmed: new ids go above it
    show_objects: Callable[[], None]  # VideoTracks: refill the object list and chooser
    known_objects: Callable[[], Dict[int, str]]  # VideoTracks: every object of the video, id -> label

    @property
    def active(self) -> bool:
        """True while the window shows the open video."""
        return self.folder is not None and self.host.documents.folder is self.folder

    def _status(self, text: str) -> None:
        raise NotImplementedError

    def _check_active(self) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------------------ choosing
    def set_object(self, obj_id: int) -> None:
        """The next clicks are for object ``obj_id`` (a tracked one: a correction)."""
        if obj_id != self.current_obj:
            self.host.prompting.clear()
        self.current_obj = int(obj_id)
        self.show_objects()

    def new_object(self) -> None:
        """The next clicks start a new object, with a fresh id."""
        self.set_object(max([self.max_track_id, *self.known_objects()]) + 1)

    def _on_selection(self, indices: List[int]) -> None:
        """Selecting a tracked object's shape (canvas or shape list) makes the next clicks correct that object,
        unless an object is being prompted (its clicks are kept: finish or clear it first)."""
        ann = self.host.documents.annotation
        if not self.active or not indices or ann is None:
            return
        ids = {ann.shapes[i].track_id for i in indices if i < len(ann.shapes)}
        if len(ids) != 1 or None in ids:
            return
        obj = int(ids.pop())
        if obj == self.current_obj:
            return
        if self.host.prompting.has_prompts():
            self._status(f"Finish (F) or clear (B) the object being prompted to correct object {obj}")
            return
        self.set_object(obj)
        label = self.known_objects().get(obj)
        self._status(f"Clicks now correct object {obj}" + (f" ({label})" if label else ""))

    def _target(self, request: SegmentRequest) -> Target:
        """Where the tracker puts a click: (frame, object, the object's current mask on the frame)."""
        if not self.active:
            self._check_active()
            return None
        docs = self.host.documents
        ann = docs.annotation
        previous = None
        if ann is not None:
            size = (ann.image_height, ann.image_width)
            parts = [shape_mask(s, size) for s in ann.shapes if s.track_id == self.current_obj]
            parts = [m for m in parts if m is not None]
            previous = np.logical_or.reduce(parts) if parts else None
        return docs.row, self.current_obj, previous

    # ------------------------------------------------------------------------------ F
    def _on_finish(self, mask: np.ndarray, polygons: list) -> bool:
        """F (``host.intercept_finish``): in video mode, confirm the current object on this frame and return
        True; otherwise False (the window finishes the object)."""
        if not self.active:
            return False
        docs, obj = self.host.documents, self.current_obj
        sources = self.host.suggestion_sources(mask)
        choice = self._choose_label(obj, sources)
        shapes = docs.finished_shapes(mask, polygons, choice)
        if shapes is None:
            return True
        corrected = obj in self.known_objects()  # before the push: the object list learns of it then
        shapes = as_track(shapes, obj, choice.group_id)  # its parts: group = track, as the tracker writes them
        # what the SSA vote / CLIP said about this frame's mask: the object list's one label per track
        record_votes(shapes, {key: sources.get(name, []) for name, key in VOTE_KEYS_BY_SOURCE.items()})
        old = track_shape_ids(docs.annotation, obj)
        indices = docs.push(ReplaceTrack(old, shapes, f"object {obj}: {choice.label}"))
        docs.object_finished(choice.label, indices)
        self.objects[obj] = choice.label
        self.max_track_id = max(self.max_track_id, obj)
        self.worker.set_label(obj, choice.label)
        self._status(f"Object {obj} ({choice.label}) {'corrected' if corrected else 'confirmed'} on frame "
                     f"{docs.row}: Ctrl+M propagates it" + ("; clicks still correct it (New object for another)"
                                                            if corrected else ""))
        if corrected:
            self.show_objects()
        else:
            self.new_object()
        return True

    def _choose_label(self, obj: int, sources: Dict[str, list]) -> Any:
        """The label of a confirmed object: its own label pre-filled for a correction; for a new object the
        suggestions (SSA vote, CLIP: ``sources``), accepted without asking above
        ``config.auto_accept_confidence``, as the window does for images."""
        host = self.host
        merged = sorted((s for items in sources.values() for s in items), key=lambda s: -s[1])
        threshold = host.config.auto_accept_confidence
        if obj not in self.known_objects() and merged and threshold is not None and merged[0][1] >= threshold:
            from anylabel.gui.dialogs.label import LabelChoice

            host.status(f"Accepted {merged[0][0]} ({merged[0][1]:.0%}) without asking", 4000)
            return LabelChoice(merged[0][0])
        default = self.known_objects().get(obj) or (merged[0][0] if merged else host.last_label)
        return host.ask_label(default, sources)
