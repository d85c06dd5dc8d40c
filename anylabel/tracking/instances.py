"""Counting objects, not polygons: the numbers a labels list shows for an image, a video frame or a video.

An *instance* is one object:

* a **track** (shapes sharing a ``track_id``) is one instance however many frames and parts it has: across a
  video it counts once, under the label most of its frames give it (ties: the first in name order);
* otherwise shapes sharing ``(label, group_id)`` in one image are one instance (labelme's rule, the one the
  exports and ``anylabel stats`` use), and a shape without either is an instance of its own.

So a noisy mask of one girl traced as 202 polygons (parts share ``group_id = track_id``) counts as
"girl 1", not "girl 202"; ``shapes`` keeps the polygon count beside it.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Dict, Hashable, Iterable, List, Union

from anylabel.document.shape import ImageAnnotation, Shape


@dataclass(frozen=True)
class LabelCount:
    """One label's counts.

    Attributes:
        label: the class name.
        instances: objects of that label (tracks plus untracked instances).
        tracks: how many of those are tracks.
        shapes: the shapes (polygons, boxes, ...) of that label.
    """

    label: str
    instances: int
    tracks: int
    shapes: int


def instance_key(shape: Shape, index: Hashable) -> Hashable:
    """What makes ``shape`` one object with others: its track, else its (label, group), else itself
    (``index``: any value unique to the shape, e.g. (frame, position))."""
    if shape.track_id is not None:
        return ("track", int(shape.track_id))
    if shape.group_id is not None:
        return ("group", shape.label, shape.group_id)
    return ("shape", index)


def count_instances(annotations: Union[ImageAnnotation, Iterable[ImageAnnotation]]) -> List[LabelCount]:
    """Instances per label over one annotation or several (the frames of a video), most first, then by
    name. See the module docstring for the rules."""
    if isinstance(annotations, ImageAnnotation):
        annotations = [annotations]
    track_labels: Dict[int, Counter] = {}
    untracked: Counter = Counter()
    shapes: Counter = Counter()
    for f, ann in enumerate(annotations):
        seen = set()
        for i, s in enumerate(ann.shapes):
            shapes[s.label] += 1
            key = instance_key(s, (f, i))
            if key[0] == "track":
                track_labels.setdefault(key[1], Counter())
                if (key, s.label) not in seen:  # once per frame, however many parts
                    track_labels[key[1]][s.label] += 1
            elif key not in seen:
                untracked[s.label] += 1
            seen.add((key, s.label) if key[0] == "track" else key)
    tracks: Counter = Counter()
    for votes in track_labels.values():
        tracks[min(votes.items(), key=lambda kv: (-kv[1], kv[0]))[0]] += 1
    labels = set(shapes)
    out = [LabelCount(label, untracked[label] + tracks[label], tracks[label], shapes[label]) for label in labels]
    return sorted(out, key=lambda c: (-c.instances, c.label))


def label_instances(shapes: Iterable[Shape]) -> Dict[str, int]:
    """Label -> instances among one image's (or frame's) ``shapes``: :func:`count_instances`' rule, for a
    labels list (a track's 202 polygons are one instance)."""
    ann = ImageAnnotation(image_path="", image_height=0, image_width=0, shapes=list(shapes))
    return {c.label: c.instances for c in count_instances(ann)}
