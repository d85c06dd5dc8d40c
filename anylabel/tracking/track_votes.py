"""The SSA vote and CLIP run over every frame of a video's tracks, for one label per track
(:mod:`anylabel.tracking.track_labels` weighs the votes by mask area and score).

On each frame a track's mask is the union of its shapes there (polygons, rectangles, circles, masks); the
:class:`~anylabel.semantic.proposers.Labeler` votes for it and the votes are recorded in the track's shapes
under the keys ``anylabel autolabel`` writes (``semantic``, ``classifier``), without changing their labels:
the decision is shown (the window's object list, ``anylabel autolabel``'s summary) and a person applies it.
Each frame file is rewritten once, atomically under its lock, from what it holds at that moment (the window
saving a frame meanwhile loses nothing). Qt-free; the window runs it on its worker.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence

import numpy as np

from anylabel.document.shape import ImageAnnotation, Shape
from anylabel.geometry import rle_decode, shape_to_mask

if TYPE_CHECKING:  # pragma: no cover
    from anylabel.semantic.proposers import Labeler
    from anylabel.tracking.folder import TrackedFolder

#: the shape types whose area votes
AREA_TYPES = ("polygon", "rectangle", "circle", "mask", "rotation")


@dataclass
class VoteReport:
    """What :func:`vote_tracks` did: the frames whose file got votes, the (track, frame) pairs voted, and
    whether it was cancelled."""

    frames_written: List[int] = field(default_factory=list)
    votes: int = 0
    cancelled: bool = False


def track_mask(shapes: Sequence[Shape], size: tuple) -> Optional[np.ndarray]:
    """The union of the area shapes of one track on a frame (bool HxW), or None when none has an area."""
    out = None
    for s in shapes:
        if s.shape_type not in AREA_TYPES:
            continue
        if s.shape_type == "mask":
            if s.mask is None:
                continue
            m = rle_decode(s.mask).astype(bool)
        else:
            m = shape_to_mask("polygon" if s.shape_type == "rotation" else s.shape_type, s.points, size)
        out = m if out is None else out | m
    return out


def vote_tracks(tracked: "TrackedFolder", labeler: "Labeler", track_ids: Optional[Sequence[int]] = None,
                progress: Optional[Callable[[int, int], None]] = None,
                cancelled: Callable[[], bool] = lambda: False) -> VoteReport:
    """Vote for every track (or ``track_ids``) on every frame it has shapes on (see the module docstring).
    ``progress(done, total)`` per frame; ``cancelled()`` stops before the next frame."""
    wanted = None if track_ids is None else {int(t) for t in track_ids}
    frames = tracked.annotated()
    report = VoteReport()
    for n, f in enumerate(frames):
        if cancelled():
            report.cancelled = True
            break
        if progress is not None:
            progress(n, len(frames))
        ann = tracked.files.load(f)
        votes = _frame_votes(tracked, f, ann, labeler, wanted)
        if not votes:
            continue

        def change(current: ImageAnnotation, votes=votes) -> bool:  # noqa: ANN001 - the file as it is now
            touched = False
            for s in current.shapes:
                if s.track_id is not None and int(s.track_id) in votes:
                    s.extra.update(votes[int(s.track_id)])
                    touched = True
            return touched

        if tracked.update(f, change):
            report.frames_written.append(f)
            report.votes += len(votes)
    if progress is not None and not report.cancelled:
        progress(len(frames), len(frames))
    return report


def _frame_votes(tracked: "TrackedFolder", frame: int, ann: ImageAnnotation, labeler: "Labeler",
                 wanted: Optional[set]) -> Dict[int, dict]:
    """Track id -> the vote keys to record in its shapes on this frame."""
    parts: Dict[int, List[Shape]] = {}
    for s in ann.shapes:
        if s.track_id is not None and (wanted is None or int(s.track_id) in wanted):
            parts.setdefault(int(s.track_id), []).append(s)
    size = (ann.image_height, ann.image_width)
    masks = {tid: track_mask(shapes, size) for tid, shapes in parts.items()}
    masks = {tid: m for tid, m in masks.items() if m is not None and m.any()}
    if not masks:
        return {}
    image = tracked.source[frame] if labeler.needs_image else None
    image_path = Path(tracked.folder) / tracked.files.image_path(frame)
    results = labeler.label(list(masks.values()), image, image_path)
    out: Dict[int, dict] = {}
    for tid, result in zip(masks, results):
        keys = {}
        if result.semantic is not None and result.semantic.voted:
            keys["semantic"] = result.semantic.to_dict()
        if result.classifier is not None and result.classifier.voted:
            keys["classifier"] = result.classifier.to_dict()
        if keys:
            out[tid] = keys
    return out


def labeler_from_settings(semantic: Optional[str], clip_model: Optional[str], vocabulary: Optional[str] = None,
                          device: Optional[str] = None) -> "Labeler":
    """The :class:`~anylabel.semantic.proposers.Labeler` of the window's settings: the SSA branch
    ``semantic`` (a spec: ``labelmap:DIR``, ``hf:DIR``, ``yolo:NAME``) and / or CLIP ``clip_model`` over
    ``vocabulary`` (a file or comma-separated words). Raises AnylabelError naming a bad spec or file."""
    from anylabel.errors import AnylabelError
    from anylabel.semantic.proposers import Labeler, SemanticVoter, parse_classifier_spec
    from anylabel.semantic.spec import parse_semantic_spec

    if not semantic and not clip_model:
        raise AnylabelError("no semantic branch (SSA) and no CLIP model is set: choose one in the AI menu first")
    voter = SemanticVoter(parse_semantic_spec(semantic, device=device)) if semantic else None
    classifier = parse_classifier_spec(f"clip:{clip_model}", vocabulary, (), 3, device=device) if clip_model else None
    return Labeler(voter, classifier)
