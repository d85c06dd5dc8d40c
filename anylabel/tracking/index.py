"""What a window's object list shows about a video's tracks, kept up to date frame by frame. Qt-free.

:class:`VideoIndex` holds, per annotated frame, a compact record of its shapes (label, track, group, whether
interpolated) and the votes recorded in them (:func:`anylabel.tracking.track_labels.frame_votes`), not the
shapes themselves: 10,000 frames of polygons stay small. From that it gives

* :meth:`VideoIndex.tracks`: one :class:`TrackRow` per track (its frame range, frames, interpolated frames,
  its one label with the confidence of :func:`~anylabel.tracking.track_labels.vote_track` when frames carry
  votes, and the review flag where its frames disagree: by vote, or by the labels a person gave them);
* :meth:`VideoIndex.label_tracks`: how many tracks each label has across the video.

It is fed from three places that may run on different threads (so every call takes a lock): reading the
frame files when a video is opened (:meth:`VideoIndex.read`, on a worker; a frame updated meanwhile keeps its
newer record), the tracker writing a frame, and the window's edits of the shown frame.
"""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Tuple

from anylabel.document.shape import ImageAnnotation
from anylabel.tracking.interpolate import is_interpolated
from anylabel.tracking.track_labels import VOTE_KEYS, FrameVote, frame_votes, vote_track


@dataclass(frozen=True)
class PartRecord:
    """One shape of a frame, as the index keeps it."""

    label: str
    track_id: Optional[int]
    group_id: Optional[int]
    interpolated: bool


@dataclass(frozen=True)
class FrameRecord:
    """One frame: its shapes' records and, per (track, vote key), the frame's vote for the track."""

    parts: Tuple[PartRecord, ...]
    votes: Dict[Tuple[int, str], FrameVote]


@dataclass(frozen=True)
class TrackRow:
    """One track as the object list shows it.

    Attributes:
        track_id: the track.
        label: the track's one label: the vote's winner when its frames carry votes, else the label most of
            its frames give it (ties: first in name order).
        first, last: its first and last frame with shapes; frames: how many frames have its shapes.
        interpolated: frames holding only interpolated shapes of it.
        confidence: the winner's share of the weighted votes (None: no frame voted).
        review: a person should look at it: the vote flags it, or its frames carry different labels.
        disagreeing: frames whose own vote (or label) is not ``label``.
    """

    track_id: int
    label: str
    first: int
    last: int
    frames: int
    interpolated: int = 0
    confidence: Optional[float] = None
    review: bool = False
    disagreeing: Tuple[int, ...] = ()


def record(annotation: ImageAnnotation, frame: int) -> FrameRecord:
    """The index's record of one frame's annotation."""
    parts = tuple(PartRecord(s.label, None if s.track_id is None else int(s.track_id), s.group_id,
                             is_interpolated(s)) for s in annotation.shapes)
    votes: Dict[Tuple[int, str], FrameVote] = {}
    for key in VOTE_KEYS:
        for tid, frame_list in frame_votes({frame: annotation}, key).items():
            votes[(tid, key)] = frame_list[0]
    return FrameRecord(parts, votes)


class VideoIndex:
    """The tracks of one video's frames (see the module docstring)."""

    def __init__(self) -> None:
        self._frames: Dict[int, FrameRecord] = {}
        self._stamp: Dict[int, int] = {}  # frame -> the update counter when it was last recorded
        self._counter = 0
        self._version = 0  # every change: tracks() is cached until the next one
        self._rows: Optional[List[TrackRow]] = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------ feeding
    def update(self, frame: int, annotation: Optional[ImageAnnotation]) -> None:
        """Frame ``frame`` now holds ``annotation`` (None or no shapes: nothing)."""
        rec = record(annotation, frame) if annotation is not None and annotation.shapes else None
        with self._lock:
            self._counter += 1
            self._version += 1
            self._rows = None
            self._stamp[int(frame)] = self._counter
            if rec is None:
                self._frames.pop(int(frame), None)
            else:
                self._frames[int(frame)] = rec

    def read(self, frames: Iterable[Tuple[int, Path]], load: Callable[[Path], ImageAnnotation],
             progress: Optional[Callable[[int, int], None]] = None, cancelled: Callable[[], bool] = lambda: False,
             total: int = 0) -> int:
        """Record the frames' files (``(frame, path)``; ``load(path)`` parses one, raising FormatError), except
        frames updated after this call began (their record is newer). Returns the frames read. A file that
        does not parse stops the read with its error (the window says which file)."""
        with self._lock:
            since = self._counter
        n = 0
        for frame, path in frames:
            if cancelled():
                break
            rec = record(load(path), frame)
            with self._lock:
                if self._stamp.get(frame, -1) <= since:
                    self._rows, self._version = None, self._version + 1
                    if rec.parts:
                        self._frames[frame] = rec
                    else:
                        self._frames.pop(frame, None)
            n += 1
            if progress is not None and (n % 50 == 0 or n == total):
                progress(n, total)
        return n

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()
            self._stamp.clear()
            self._rows, self._version = None, self._version + 1

    # ------------------------------------------------------------------------------ queries
    def track_ids(self) -> List[int]:
        with self._lock:
            return sorted({p.track_id for r in self._frames.values() for p in r.parts if p.track_id is not None})

    def tracks(self) -> List[TrackRow]:
        """Every track, by id."""
        with self._lock:
            if self._rows is not None:
                return list(self._rows)
            version, frames = self._version, dict(self._frames)
        rows = self._compute(frames)
        with self._lock:
            if self._version == version:
                self._rows = rows
        return list(rows)

    @staticmethod
    def _compute(frames: Dict[int, FrameRecord]) -> List[TrackRow]:
        labels: Dict[int, Dict[int, str]] = {}  # track -> frame -> the label of its first part there
        interp: Dict[int, Dict[int, bool]] = {}
        votes: Dict[Tuple[int, str], List[FrameVote]] = {}
        for f, rec in sorted(frames.items()):
            for p in rec.parts:
                if p.track_id is None:
                    continue
                labels.setdefault(p.track_id, {}).setdefault(f, p.label)
                seen = interp.setdefault(p.track_id, {})
                seen[f] = seen.get(f, True) and p.interpolated
            for key, vote in rec.votes.items():
                votes.setdefault(key, []).append(vote)
        rows = []
        for tid in sorted(labels):
            per_frame = labels[tid]
            counts = Counter(per_frame.values())
            label = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
            confidence, review = None, len(counts) > 1
            disagreeing = tuple(f for f, lab in per_frame.items() if lab != label)
            key = "classifier" if votes.get((tid, "classifier")) else "semantic"
            if votes.get((tid, key)):
                decision = vote_track(tid, votes[(tid, key)], source=key)
                if decision.label is not None:
                    label, confidence = decision.label, decision.confidence
                    review = review or decision.review
                    disagreeing = tuple(sorted(set(disagreeing) | set(decision.disagreeing_frames)))
            rows.append(TrackRow(tid, label, min(per_frame), max(per_frame), len(per_frame),
                                 sum(1 for v in interp[tid].values() if v), confidence, review, disagreeing))
        return rows

    def label_tracks(self) -> Dict[str, int]:
        """Label -> how many tracks carry it (each track once, under its :class:`TrackRow` label)."""
        return dict(Counter(row.label for row in self.tracks()))
