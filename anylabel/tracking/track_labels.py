"""One label per track: the per-frame votes of a track (SSA's semantic vote, CLIP's) combined into one label
with a confidence, and tracks whose frames disagree flagged for review.

Rule: each frame's vote counts with the weight ``area x score`` (the track's mask area on that frame, in
pixels, times the tracker's visibility probability: a small or barely visible mask of a frame where the
object is leaving says less than a large clear one). The track's distribution is the weighted mean of the
frames' proposal shares; its top class is the track's label and its share the confidence. Where both a
semantic vote and a classifier (CLIP) vote were recorded, the classifier's decides, as for a single image
(:class:`~anylabel.semantic.proposers.Labeler`); the other is kept beside it.

Review: a track is flagged when its confidence is below ``review_below`` or more than ``max_disagreement`` of
its weight comes from frames whose own top label is another class (e.g. "girl" on 180 frames and "dog" on
22 where a noisy mask slipped onto the dog).

What is written (:func:`apply_track_labels`): every shape of the track gets the label, and the key
:data:`TRACK_LABEL` (``{"label", "confidence", "proposals", "frames", "disagreeing_frames", "review"}``) in
the place labelme keeps as other data; the per-frame votes stay where autolabel wrote them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from anylabel.document.shape import ImageAnnotation, Shape
from anylabel.formats.stats import shape_area as stats_shape_area
from anylabel.geometry import polygon_area
from anylabel.semantic import Proposal, Vote

PathLike = Union[str, Path]

#: the shape key holding the track's label decision
TRACK_LABEL = "track_label"

#: the shape keys where autolabel records each proposer's vote (anylabel.semantic.autolabel)
VOTE_KEYS = ("classifier", "semantic")


@dataclass(frozen=True)
class FrameVote:
    """One frame's vote for a track, with its weight's parts."""

    frame: int
    vote: Vote
    area: float = 1.0
    score: float = 1.0

    @property
    def weight(self) -> float:
        return max(0.0, float(self.area)) * max(0.0, float(self.score))


@dataclass(frozen=True)
class TrackLabel:
    """The label decided for one track.

    Attributes:
        track_id: the track.
        label: the winning class, ``None`` when no frame voted.
        confidence: the winner's share of the weighted votes, 0..1.
        proposals: the top classes with their weighted shares, best first.
        frames: the frames that voted.
        disagreeing_frames: frames whose own top label is not ``label``.
        disagreement: the share of the weight coming from those frames, 0..1.
        review: True when a person should look at the track (see the module docstring).
        source: ``"classifier"`` or ``"semantic"``: whose votes decided.
    """

    track_id: int
    label: Optional[str]
    confidence: float = 0.0
    proposals: Tuple[Proposal, ...] = ()
    frames: Tuple[int, ...] = ()
    disagreeing_frames: Tuple[int, ...] = ()
    disagreement: float = 0.0
    review: bool = False
    source: str = "semantic"

    def to_dict(self) -> dict:
        return {"label": self.label, "confidence": round(self.confidence, 6),
                "proposals": [{"label": p.label, "score": round(p.score, 6)} for p in self.proposals],
                "frames": len(self.frames), "disagreeing_frames": list(self.disagreeing_frames),
                "disagreement": round(self.disagreement, 6), "review": self.review, "source": self.source}


def vote_track(track_id: int, votes: Sequence[FrameVote], top_k: int = 3, review_below: float = 0.6,
               max_disagreement: float = 0.2, source: str = "semantic") -> TrackLabel:
    """Combine the frames' votes of one track (see the module docstring for the rule)."""
    scores: Dict[str, float] = {}
    total = 0.0
    used = [v for v in votes if v.vote.voted and v.weight > 0]
    for v in used:
        proposals = v.vote.proposals or (Proposal(v.vote.label, v.vote.class_id, v.vote.confidence),)
        share = sum(p.score for p in proposals)
        for p in proposals:  # shares renormalised over the proposals kept (top-k), so every frame sums to 1
            scores[p.label] = scores.get(p.label, 0.0) + v.weight * (p.score / share if share > 0 else 0.0)
        total += v.weight
    if not used or total <= 0:
        return TrackLabel(int(track_id), None, review=bool(votes), source=source)
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    proposals = tuple(Proposal(label, -1, s / total) for label, s in ranked[: max(1, top_k)])
    best = proposals[0]
    off = [v for v in used if v.vote.label != best.label]
    disagreement = sum(v.weight for v in off) / total
    return TrackLabel(int(track_id), best.label, best.score, proposals, tuple(v.frame for v in used),
                      tuple(sorted(v.frame for v in off)), disagreement,
                      review=best.score < review_below or disagreement > max_disagreement, source=source)


def vote_from_dict(data: object) -> Optional[Vote]:
    """A :class:`Vote` from its recorded form (``Vote.to_dict``), or None when it is not one."""
    if not isinstance(data, dict) or not isinstance(data.get("label"), str):
        return None
    props = tuple(Proposal(str(p["label"]), -1, float(p.get("score", 0.0)))
                  for p in data.get("proposals") or () if isinstance(p, dict) and isinstance(p.get("label"), str))
    return Vote(label=data["label"], confidence=float(data.get("confidence") or 0.0), proposals=props,
                pixels=int(data.get("pixels") or 0), source=str(data.get("source") or "semantic"))


def shape_area(shape: Shape) -> float:
    """The area of a shape in pixels: ``anylabel stats``' rule (:func:`anylabel.formats.stats.shape_area`),
    and rotated boxes by their corners."""
    if shape.shape_type == "rotation" and len(shape.points) >= 3:
        return polygon_area(shape.points_array())
    return stats_shape_area(shape)


def frame_votes(annotations: Dict[int, ImageAnnotation], key: str) -> Dict[int, List[FrameVote]]:
    """Per track, one :class:`FrameVote` per frame from the votes recorded under ``key`` in its shapes (the
    parts of one frame share a vote: their areas add up; the score is the tracker's, ``mask_score``)."""
    out: Dict[int, List[FrameVote]] = {}
    for f, ann in sorted(annotations.items()):
        parts: Dict[int, List[Shape]] = {}
        for s in ann.shapes:
            if s.track_id is not None:
                parts.setdefault(int(s.track_id), []).append(s)
        for tid, shapes in parts.items():
            vote = next((v for v in (vote_from_dict(s.extra.get(key)) for s in shapes) if v is not None), None)
            if vote is None:
                continue
            score = next((s.extra["mask_score"] for s in shapes if isinstance(s.extra.get("mask_score"), (int, float))),
                         1.0)
            out.setdefault(tid, []).append(FrameVote(f, vote, sum(shape_area(s) for s in shapes), float(score)))
    return out


@dataclass
class TrackLabeling:
    """The decisions for every track of a set of frames."""

    tracks: Dict[int, TrackLabel] = field(default_factory=dict)

    @property
    def flagged(self) -> List[int]:
        return sorted(t for t, d in self.tracks.items() if d.review)


def label_tracks(annotations: Dict[int, ImageAnnotation], track_ids: Optional[Iterable[int]] = None,
                 **options: float) -> TrackLabeling:
    """Decide one label per track from the votes recorded in the frames' shapes (classifier first, else
    semantic). ``options``: :func:`vote_track`'s ``top_k``, ``review_below``, ``max_disagreement``."""
    per_key = {key: frame_votes(annotations, key) for key in VOTE_KEYS}
    wanted = set(per_key["classifier"]) | set(per_key["semantic"])
    if track_ids is not None:
        wanted &= {int(t) for t in track_ids}
    result = TrackLabeling()
    for tid in sorted(wanted):
        key = "classifier" if per_key["classifier"].get(tid) else "semantic"
        result.tracks[tid] = vote_track(tid, per_key[key][tid], source=key, **options)
    return result


def apply_track_labels(annotation: ImageAnnotation, labeling: TrackLabeling) -> int:
    """Give every shape of a decided track (with a label) its track's label and :data:`TRACK_LABEL`
    record, in place; returns the shapes changed."""
    n = 0
    for s in annotation.shapes:
        decision = labeling.tracks.get(s.track_id) if s.track_id is not None else None
        if decision is None or decision.label is None:
            continue
        record = decision.to_dict()
        if s.label != decision.label or s.extra.get(TRACK_LABEL) != record:
            s.label = decision.label
            s.extra[TRACK_LABEL] = record
            n += 1
    return n


def label_track_folder(folder: PathLike, **options: float) -> Tuple[TrackLabeling, List[Path]]:
    """:func:`label_tracks` over the LabelMe files of ``folder`` (frames keyed by their ``frame_index``, else
    by name order), then each changed file rewritten atomically under its lock; the file as it is on disk
    then is what gets the labels, so a concurrent edit of another shape is kept. Returns the decisions and
    the files written. Raises FormatError naming a file that cannot be read (before anything is written)."""
    from anylabel.filelock import locked
    from anylabel.formats.labelme import load_labelme, save_labelme

    files = sorted(Path(folder).glob("*.json"))
    annotations: Dict[int, ImageAnnotation] = {}
    paths: Dict[int, Path] = {}
    for i, path in enumerate(files):
        ann = load_labelme(path)
        key = ann.frame_index if ann.frame_index is not None and ann.frame_index not in annotations else -1 - i
        annotations[key], paths[key] = ann, path
    labeling = label_tracks(annotations, **options)
    written = []
    for key, path in paths.items():
        if not any(s.track_id in labeling.tracks for s in annotations[key].shapes):
            continue
        with locked(path):
            ann = load_labelme(path)
            if apply_track_labels(ann, labeling):
                save_labelme(ann, path)
                written.append(path)
    return labeling, written
