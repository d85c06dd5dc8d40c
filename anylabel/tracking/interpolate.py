"""Keyframe interpolation of tracks, as CVAT has it: between two keyframes of one track, the frames between
get shapes whose geometry moves linearly from the first keyframe's to the second's.

* **Keyframes** of a track are the frames where it has shapes that are not interpolated: drawn or corrected
  by a person, or tracked by SAM2. Interpolation fills the frames strictly between two consecutive keyframes
  and never touches a keyframe's shapes.
* **Interpolated shapes** carry the key :data:`MARK` in the shape (kept in the LabelMe file, in the place
  labelme keeps as other data): ``{"keyframes": [a, b], "digest": ...}``. The digest covers the label and the
  points written; a shape whose label or points no longer match it was edited by a person (with or without
  the GUI calling :func:`mark_edited`) and is a keyframe from then on. A re-run replaces only shapes still
  carrying an intact mark, so it never overwrites a person's work.
* **Geometry**, per shape type (``t`` = (frame - a) / (b - a)):
  rectangle, circle, point, line: every point linearly; rotation (a rotated box, four corners, see
  :mod:`anylabel.document.shape`): centre, width and height linearly, the angle along the shorter way round;
  polygon, linestrip and points: both resampled to one vertex count by arc length (the larger of the two),
  then vertex i moves to vertex i. For closed polygons the correspondence starts from a consistent vertex:
  both rings in one orientation, the second ring's start chosen as the cyclic shift that best matches the
  first ring after aligning the centroids (so a polygon that only moved maps to itself, not rotated by a few
  vertices). Masks are not interpolated.
* **Outside**: a frame's file may list tracks a person marked as not visible there (:data:`OUTSIDE`, set by
  :func:`mark_outside` when a person deletes a track's shape on a frame); such a frame is a keyframe without
  a shape, as CVAT's "outside" keyframes: nothing is put back on it, the frames before it keep the previous
  keyframe's shape, and the frames after it stay empty up to the next visible keyframe.
* **Parts**: a track whose keyframes hold several parts (a multi-part mask, ``group_id``) pairs the parts
  largest first; parts without a partner are not interpolated.

Coordinates: float image pixels (x, y), as everywhere in the core.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

import numpy as np

from anylabel.document.shape import Shape
from anylabel.geometry import polygon_area

if TYPE_CHECKING:
    from anylabel.document.shape import ImageAnnotation
    from anylabel.tracking.folder import TrackedFolder

#: the shape key that marks an interpolated shape
MARK = "interpolated"

#: shape types interpolated point by point (same number of points by construction)
POINTWISE = ("rectangle", "circle", "point", "line")
#: shape types resampled by arc length to one vertex count
RESAMPLED = ("polygon", "linestrip", "points")
INTERPOLATED_TYPES = POINTWISE + RESAMPLED + ("rotation",)


def digest(shape: Shape) -> str:
    """A short hash of a shape's label, type and points (rounded to 1/1000 pixel, as written)."""
    payload = json.dumps([shape.label, shape.shape_type, [[round(x, 3), round(y, 3)] for x, y in shape.points]])
    return hashlib.sha1(payload.encode("utf-8")).hexdigest()[:16]


def is_interpolated(shape: Shape) -> bool:
    """True for a shape written by interpolation and not edited since (its mark's digest still matches)."""
    mark = shape.extra.get(MARK)
    return isinstance(mark, dict) and mark.get("digest") == digest(shape)


def mark_edited(shape: Shape) -> Shape:
    """Turn an interpolated shape into a keyframe (a person edited or confirmed it): the mark is removed."""
    shape.extra.pop(MARK, None)
    return shape


#: the annotation key (top level of a frame's file) listing the tracks a person marked as not visible there
OUTSIDE = "outside_tracks"


def outside_tracks(annotation: "ImageAnnotation") -> Set[int]:
    """The tracks marked as not visible on this frame (CVAT's "outside" keyframes)."""
    value = annotation.extra.get(OUTSIDE)
    if not isinstance(value, list):
        return set()
    return {int(t) for t in value if isinstance(t, int) and not isinstance(t, bool)}


def mark_outside(annotation: "ImageAnnotation", track_id: int, outside: bool = True) -> None:
    """Say that track ``track_id`` is (not) visible on this frame; its shapes there are removed when it is
    not. Call it when a person deletes a track's shape on a frame: interpolation then never puts one back,
    and treats the frame as a keyframe without a shape."""
    tracks = outside_tracks(annotation)
    tracks = tracks | {int(track_id)} if outside else tracks - {int(track_id)}
    if outside:
        annotation.shapes = [s for s in annotation.shapes if s.track_id != int(track_id)]
    if tracks:
        annotation.extra[OUTSIDE] = sorted(tracks)
    else:
        annotation.extra.pop(OUTSIDE, None)


# ------------------------------------------------------------------------------------------ geometry
def resample(points: np.ndarray, n: int, closed: bool) -> np.ndarray:
    """``n`` points evenly spaced by arc length along the polyline (ring when ``closed``), starting at
    ``points[0]``. Nx2 float64."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    if len(pts) == 1 or n == 1:
        return np.repeat(pts[:1], n, axis=0)
    ring = np.vstack([pts, pts[:1]]) if closed else pts
    seg = np.hypot(*np.diff(ring, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    total = cum[-1]
    if total <= 0:
        return np.repeat(pts[:1], n, axis=0)
    at = np.linspace(0.0, total, n, endpoint=not closed)
    return np.column_stack([np.interp(at, cum, ring[:, 0]), np.interp(at, cum, ring[:, 1])])


def _signed_area(pts: np.ndarray) -> float:
    x, y = pts[:, 0], pts[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def corresponding_rings(a: np.ndarray, b: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Two closed polygons resampled to one vertex count with vertex i of one matching vertex i of the other
    (see the module docstring). Returns (A, B), each Nx2."""
    a = np.asarray(a, np.float64).reshape(-1, 2)
    b = np.asarray(b, np.float64).reshape(-1, 2)
    if _signed_area(a) < 0:
        a = a[::-1]
    if _signed_area(b) < 0:
        b = b[::-1]
    n = max(len(a), len(b), 3)
    ra, rb = resample(a, n, True), resample(b, n, True)
    ca, cb = ra - ra.mean(axis=0), rb - rb.mean(axis=0)
    # cost of every cyclic shift of B against A, centroids aligned: one N x N table
    shifts = np.stack([np.roll(cb, -k, axis=0) for k in range(n)])
    best = int(np.argmin(((shifts - ca[None]) ** 2).sum(axis=(1, 2))))
    return ra, np.roll(rb, -best, axis=0)


def _rotated(points: Sequence[Tuple[float, float]]) -> Tuple[np.ndarray, float, float, float, float]:
    """Centre, width (p0->p1), height (p1->p2), angle of p0->p1, and the turn's sign of a rotated box."""
    p = np.asarray(points, np.float64).reshape(4, 2)
    e1, e2 = p[1] - p[0], p[2] - p[1]
    sign = 1.0 if e1[0] * e2[1] - e1[1] * e2[0] >= 0 else -1.0
    return p.mean(axis=0), float(np.hypot(*e1)), float(np.hypot(*e2)), math.atan2(e1[1], e1[0]), sign


def _rotated_corners(c: np.ndarray, w: float, h: float, angle: float, sign: float) -> np.ndarray:
    u = np.array([math.cos(angle), math.sin(angle)])
    v = sign * np.array([-u[1], u[0]])
    p0 = c - u * w / 2 - v * h / 2
    return np.array([p0, p0 + u * w, p0 + u * w + v * h, p0 + v * h])


def interpolate_points(a: Shape, b: Shape, t: float) -> Optional[np.ndarray]:
    """The points of the shape a fraction ``t`` (0..1) of the way from ``a`` to ``b`` (same shape type), or
    ``None`` when the two cannot be interpolated (different or unsupported types, point counts that differ
    for a point-wise type)."""
    if a.shape_type != b.shape_type or a.shape_type not in INTERPOLATED_TYPES:
        return None
    pa, pb = a.points_array(), b.points_array()
    if not len(pa) or not len(pb):
        return None
    kind = a.shape_type
    if kind in POINTWISE:
        if len(pa) != len(pb):
            return None
        return (1 - t) * pa + t * pb
    if kind == "rotation":
        if len(pa) != 4 or len(pb) != 4:
            return None
        ca, wa, ha, aa, sa = _rotated(pa)
        cb, wb, hb, ab, _ = _rotated(pb)
        turn = (ab - aa + math.pi) % (2 * math.pi) - math.pi  # the shorter way round
        return _rotated_corners((1 - t) * ca + t * cb, (1 - t) * wa + t * wb, (1 - t) * ha + t * hb,
                                aa + t * turn, sa)
    if kind == "polygon" and len(pa) >= 3 and len(pb) >= 3:
        ra, rb = corresponding_rings(pa, pb)
    else:  # open polylines and point sets: from their first point, in their own order
        n = max(len(pa), len(pb))
        ra, rb = resample(pa, n, False), resample(pb, n, False)
    return (1 - t) * ra + t * rb


# ------------------------------------------------------------------------------------------- tracks
@dataclass
class TrackFill:
    """What interpolation made for one track.

    Attributes:
        track_id: the track.
        shapes: frame -> the interpolated shapes of this track on that frame.
        skipped: human-readable reasons for keyframe pairs that could not be interpolated.
    """

    track_id: int
    shapes: Dict[int, List[Shape]] = field(default_factory=dict)
    skipped: List[str] = field(default_factory=list)


def _size(shape: Shape) -> float:
    pts = shape.points_array()
    if shape.shape_type in ("polygon", "rotation") and len(pts) >= 3:
        return polygon_area(pts)
    x1, y1, x2, y2 = shape.bbox()
    return (x2 - x1) * (y2 - y1)


def keyframes(frames: Dict[int, List[Shape]]) -> Dict[int, List[Shape]]:
    """The frames of one track (frame -> its shapes there) where it has shapes that are not interpolated,
    with those shapes only, largest first."""
    out = {}
    for f, shapes in frames.items():
        keys = [s for s in shapes if not is_interpolated(s)]
        if keys:
            out[f] = sorted(keys, key=_size, reverse=True)
    return dict(sorted(out.items()))


def interpolate_track(track_id: int, frames: Dict[int, List[Shape]],
                      only: Optional[Tuple[int, int]] = None, outside: Iterable[int] = ()) -> TrackFill:
    """The interpolated shapes of one track for every frame between two consecutive keyframes.

    Args:
        track_id: the track.
        frames: frame -> the track's shapes on that frame (keyframes and earlier interpolated ones).
        only: (first, last) frames to fill, inclusive (None: every gap).
        outside: frames where a person said the object is not visible (:func:`mark_outside`): keyframes
            without a shape. As in CVAT, the frames from a visible keyframe up to an outside one keep the
            visible keyframe's shape, and the frames after an outside keyframe stay empty up to the next
            visible keyframe.
    """
    fill = TrackFill(int(track_id))
    keys = keyframes(frames)
    hidden = {int(f) for f in outside} - set(keys)
    order = sorted(set(keys) | hidden)
    for a, b in zip(order, order[1:]):
        if b - a < 2 or a in hidden:
            continue
        held = b in hidden  # up to an outside keyframe: the shape stays as it is on frame a
        pairs = [(s, s) for s in keys[a]] if held else list(zip(keys[a], keys[b]))
        if not held and len(keys[a]) != len(keys[b]):
            fill.skipped.append(f"track {track_id}: frames {a} and {b} hold {len(keys[a])} and {len(keys[b])} "
                                f"parts; the {len(pairs)} largest are interpolated")
        for f in range(a + 1, b):
            if only is not None and not only[0] <= f <= only[1]:
                continue
            t = 0.0 if held else (f - a) / (b - a)
            made = []
            for sa, sb in pairs:
                pts = interpolate_points(sa, sb, t)
                if pts is None:
                    if f == a + 1:
                        fill.skipped.append(f"track {track_id}: a {sa.shape_type} on frame {a} and a "
                                            f"{sb.shape_type} on frame {b} cannot be interpolated")
                    continue
                # 1/100 pixel: what any LabelMe writer keeps, so the mark's digest survives a round trip
                shape = Shape(label=sa.label, points=[(round(float(x), 2), round(float(y), 2)) for x, y in pts],
                              shape_type=sa.shape_type, group_id=sa.group_id, track_id=int(track_id),
                              flags=dict(sa.flags), description=sa.description)
                shape.extra[MARK] = {"keyframes": [a, b], "digest": digest(shape)}
                made.append(shape)
            if made:
                fill.shapes[f] = made
    return fill


def merge_fill(existing: List[Shape], track_id: int, new: List[Shape],
               outside: Iterable[int] = ()) -> Optional[List[Shape]]:
    """A frame's shapes with ``track_id``'s interpolated shapes replaced by ``new``; ``None`` when the frame
    has a keyframe shape of that track now (a person drew or corrected it meanwhile), or the track is
    marked outside there (``outside``: the frame's :func:`outside_tracks`): it is left alone."""
    if track_id in set(outside):
        return None
    mine = [s for s in existing if s.track_id == track_id]
    if any(not is_interpolated(s) for s in mine):
        return None
    return [s for s in existing if s.track_id != track_id] + list(new)


# ------------------------------------------------------------------------------------------- folders
@dataclass
class InterpolationReport:
    """What :func:`interpolate_folder` did.

    Attributes:
        tracks: the tracks that got interpolated shapes.
        frames_written: the frame files written.
        shapes: interpolated shapes written.
        kept: frames left alone because a person put a keyframe of the track there meanwhile.
        skipped: reasons for keyframe pairs that could not be interpolated.
        cancelled: the run stopped before writing every frame (the frames written are complete files).
    """

    tracks: List[int] = field(default_factory=list)
    frames_written: List[int] = field(default_factory=list)
    shapes: int = 0
    kept: List[str] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)
    cancelled: bool = False


def interpolate_folder(tracked: "TrackedFolder", track_ids: Optional[Sequence[int]] = None,
                       only: Optional[Tuple[int, int]] = None, dry_run: bool = False,
                       progress: Optional[Callable[[int, int], None]] = None,
                       cancelled: Callable[[], bool] = lambda: False) -> InterpolationReport:
    """Interpolate every track (or ``track_ids``) of a folder of per-frame LabelMe files between its
    keyframes, writing each changed frame file once, atomically and under its lock. A frame whose file now
    holds a keyframe shape of the track (written by someone else since it was read) is left alone.
    Interpolated shapes that no gap covers any more (a keyframe was removed) are removed. ``only``: the
    (first, last) frames to change; ``dry_run``: report what would be written, write nothing.
    ``progress(done, total)`` after each frame; ``cancelled()`` true stops before the next frame's file.

    Raises:
        FormatError: naming a file that cannot be read (nothing is written then).
        AnylabelError: a ``track_ids`` entry that is no track of the folder.
    """
    from anylabel.errors import AnylabelError
    from anylabel.tracking.folder import tracks_of

    annotations = tracked.read()
    tracks = tracks_of(annotations)
    hidden: Dict[int, Set[int]] = {}
    for f, ann in annotations.items():
        for tid in outside_tracks(ann):
            hidden.setdefault(tid, set()).add(f)
    wanted = sorted(tracks) if track_ids is None else [int(t) for t in track_ids]
    missing = [t for t in wanted if t not in tracks]
    if missing:
        raise AnylabelError(f"no track {missing} in the folder (tracks: {sorted(tracks) or 'none'})",
                            tracked.folder)
    report = InterpolationReport()
    per_frame: Dict[int, Dict[int, List[Shape]]] = {}
    for tid in wanted:
        fill = interpolate_track(tid, tracks[tid], only, outside=hidden.get(tid, ()))
        report.skipped += fill.skipped
        stale = {f for f, shapes in tracks[tid].items() if shapes and all(is_interpolated(s) for s in shapes)}
        for f in stale - set(fill.shapes):  # interpolated before, outside every gap now: removed
            if only is not None and not only[0] <= f <= only[1]:
                continue
            per_frame.setdefault(f, {})[tid] = []
        for f, shapes in fill.shapes.items():
            per_frame.setdefault(f, {})[tid] = shapes
        if fill.shapes:
            report.tracks.append(tid)
    total = len(per_frame)
    for n, f in enumerate(sorted(per_frame)):
        if cancelled():
            report.cancelled = True
            break
        if progress is not None:
            progress(n, total)
        if dry_run:
            report.frames_written.append(f)
            report.shapes += sum(len(v) for v in per_frame[f].values())
            continue

        def change(ann, f=f) -> bool:  # noqa: ANN001 - the frame's annotation as it is on disk now
            changed = False
            for tid, shapes in per_frame[f].items():
                merged = merge_fill(ann.shapes, tid, shapes, outside_tracks(ann))
                if merged is None:
                    report.kept.append(f"frame {f}: track {tid} has a keyframe there now")
                    continue
                ann.shapes = merged
                report.shapes += len(shapes)
                changed = True
            return changed

        if tracked.update(f, change):
            report.frames_written.append(f)
    if progress is not None and not report.cancelled:
        progress(total, total)
    return report
