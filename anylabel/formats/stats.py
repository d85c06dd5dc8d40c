"""Dataset statistics: instances per class and per image, the numbers ``anylabel stats`` prints and the
GUI's statistics view draws (both call :func:`dataset_stats`).

An instance is counted the way the exports count it: shapes sharing ``(label, group_id)`` in one image are
one instance. Every shape type counts (points and lines too: the stats describe the folder, not one export
format); ``__ignore__`` regions are counted separately, not as a class.

Areas come from the geometry, never from a raster, so the cost follows the file, not the image size it
claims: polygons by the shoelace formula, rectangles and circles from their points, masks from their RLE
counts (pycocotools' area, no decoding); points and lines have none. An instance's area is the sum of its
shapes' (overlapping parts of one instance count twice; exports that rasterise count them once).
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from anylabel.document import Shape
from anylabel.formats.base import Item, Options, PathLike, Report
from anylabel.formats.folder import read_labelme_folder
from anylabel.formats.labels import IGNORE

UNLABELED = "(no label)"


@dataclass
class DatasetStats:
    """Counts over a set of annotated images.

    Attributes:
        images: annotated images read.
        per_class: instances per class name, most frequent first (ties by name).
        per_image: instances per image, keyed by the annotation's name, in reading order.
        shape_types: shapes per shape type.
        ignored: ``__ignore__`` regions.
        images_per_class: how many images hold at least one instance of each class.
        area_per_class: total area in pixels of each class's shapes (see the module docstring).
        checked: images marked checked (reviewed; ``ImageAnnotation.checked``).
    """

    images: int = 0
    per_class: Dict[str, int] = field(default_factory=dict)
    per_image: Dict[str, int] = field(default_factory=dict)
    shape_types: Dict[str, int] = field(default_factory=dict)
    ignored: int = 0
    images_per_class: Dict[str, int] = field(default_factory=dict)
    area_per_class: Dict[str, float] = field(default_factory=dict)
    checked: int = 0

    @property
    def instances(self) -> int:
        return sum(self.per_class.values())

    def images_without_instances(self) -> List[str]:
        return [k for k, v in self.per_image.items() if v == 0]

    def histogram(self) -> List[Tuple[int, int]]:
        """(instances in an image, number of images with that many), sorted by the first."""
        return sorted(Counter(self.per_image.values()).items())

    def table(self, top: Optional[int] = None) -> str:
        """The text ``anylabel stats`` prints."""
        n = max(1, self.images)
        lines = [f"{self.images} images, {self.instances} instances, {len(self.per_class)} classes"
                 + (f", {self.ignored} __ignore__ regions" if self.ignored else "")
                 + f", {self.checked} checked"]
        width = max([len("class")] + [len(c) for c in self.per_class])
        lines += ["", f"{'class':<{width}}  instances  images  per image  mean area"]
        for cls, count in list(self.per_class.items())[:top]:
            area = self.area_per_class.get(cls, 0.0) / max(1, count)
            lines.append(f"{cls:<{width}}  {count:>9}  {self.images_per_class.get(cls, 0):>6}  {count / n:>9.2f}"
                         f"  {area:>9.0f}")
        lines += ["", "instances per image: min {}, max {}, mean {:.2f}".format(
            min(self.per_image.values(), default=0), max(self.per_image.values(), default=0), self.instances / n)]
        lines.append("histogram: " + ", ".join(f"{k} instances: {v} images" for k, v in self.histogram()))
        lines.append("shape types: " + ", ".join(f"{k} {v}" for k, v in sorted(self.shape_types.items())))
        return "\n".join(lines)

def shape_area(shape: Shape) -> float:
    """The area in pixels of one shape from its geometry (see the module docstring)."""
    pts = shape.points
    if shape.shape_type == "mask":
        if not shape.mask:
            return 0.0
        from anylabel.geometry.rle import rle_area

        return float(rle_area(shape.mask))
    if shape.shape_type == "rectangle" and len(pts) >= 2:
        return abs((pts[1][0] - pts[0][0]) * (pts[1][1] - pts[0][1]))
    if shape.shape_type == "circle" and len(pts) >= 2:
        return math.pi * ((pts[1][0] - pts[0][0]) ** 2 + (pts[1][1] - pts[0][1]) ** 2)
    if shape.shape_type in ("polygon", "rotation") and len(pts) >= 3:  # a rotation: its 4 corners' polygon
        xy = shape.points_array()
        x, y = xy[:, 0], xy[:, 1]
        return 0.5 * abs(float(x @ np.roll(y, -1) - y @ np.roll(x, -1)))  # shoelace
    return 0.0


def dataset_stats(items: Sequence[Item]) -> DatasetStats:
    """Count instances per class and per image over ``items``; areas from the geometry."""
    areas: Counter = Counter()
    per_class: Counter = Counter()
    images_with: Counter = Counter()
    shape_types: Counter = Counter()
    stats = DatasetStats()
    for item in items:
        keys = set()
        for i, s in enumerate(item.annotation.shapes):
            shape_types[s.shape_type] += 1
            if s.label == IGNORE:
                stats.ignored += 1
                continue
            label = s.label if s.label.strip() else UNLABELED
            areas[label] += shape_area(s)
            keys.add((label, s.group_id) if s.group_id is not None else (label, ("single", i)))
        counts = Counter(label for label, _ in keys)
        per_class.update(counts)
        images_with.update(counts.keys())
        stats.per_image[item.label] = len(keys)
        stats.images += 1
        stats.checked += bool(item.annotation.checked)
    stats.per_class = dict(sorted(per_class.items(), key=lambda kv: (-kv[1], kv[0])))
    stats.shape_types = dict(shape_types)
    stats.images_per_class = dict(images_with)
    stats.area_per_class = {label: float(areas[label]) for label in stats.per_class}
    return stats


def folder_stats(folder: PathLike, options: Optional[Options] = None) -> Tuple[DatasetStats, Report]:
    """Read every LabelMe file under ``folder`` and count; the report holds the reading warnings."""
    report = Report(format="stats")
    items = read_labelme_folder(Path(folder), options, report)
    stats = dataset_stats(items)
    report.images, report.instances, report.classes = stats.images, stats.instances, list(stats.per_class)
    return stats, report
