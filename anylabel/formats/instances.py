"""From the shapes of one image to clean instances, the unit every dataset format writes.

Rules (each dropped or changed shape gets a warning naming the file and the shape index):

* Instances: shapes with the same ``(label, group_id)`` in one image are one instance (labelme's
  ``labelme2coco`` rule); a shape without group_id is an instance of its own. For MOT the key is the
  track id instead. A group whose shapes carry different labels is split by label (``group_mixed_labels``).
* Area shapes become polygons: a polygon as drawn, a rectangle as its 4 corners, a rotated rectangle
  (``rotation``) as its 4 corners in drawing order, a circle as labelme's
  polygon of ``max(int(pi / arccos(1 - 1/r)), 12)`` vertices; a mask shape keeps its RLE.
  Points and lines have no area and are left out (``not_an_area``).
* ``__ignore__`` shapes are left out quietly (labelme's convention); ``_background_`` and empty labels,
  and labels missing from an explicit labels file, are left out with a warning.
* A polygon needs 3 vertices (``too_few_points``) and a non-zero area (``zero_area``; a self-intersecting
  polygon whose shoelace area cancels out is measured after ``shapely.make_valid``). Non-finite
  coordinates are rejected (``bad_coordinates``).
* A shape with more than :data:`MAX_VERTICES` vertices is left out (``too_many_vertices``): no drawn or
  traced outline needs that many, and rasterising one costs time in proportion to rows x vertices (a
  random 1,000,000-vertex polygon took 211 s in a COCO export).
* Coordinates outside the image ``[0, w] x [0, h]`` are clipped (``clipped``): the polygon is intersected
  with the image rectangle by shapely, so a polygon leaving and re-entering the image becomes several parts
  of the same instance; a polygon entirely outside is dropped (``outside_image``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import shapely
from PIL import Image, ImageDraw

from anylabel.document import ImageAnnotation, Shape
from anylabel.errors import GeometryError
from anylabel.formats.base import Report
from anylabel.formats.labels import BACKGROUND, IGNORE, LabelMap
from anylabel.geometry.rle import rle_decode

AREA_TYPES = ("polygon", "rectangle", "circle", "mask", "rotation")
#: vertices per shape beyond which a shape is left out as hostile (see the module docstring)
MAX_VERTICES = 50_000


@dataclass
class Instance:
    """One object of one image, clean and inside the image.

    Attributes:
        label: its class name.
        polygons: Kx2 float64 (x, y) pixel rings, K >= 3, non-zero area, inside [0, w] x [0, h].
        masks: bool HxW full-size masks (from mask shapes).
        shape_indices: indices of the source shapes, for warnings.
        group_id, track_id, score: from the source shapes (the first one that has them).
        iscrowd: True when a source shape says so (``iscrowd`` kept by the COCO reader).
    """

    label: str
    polygons: List[np.ndarray] = field(default_factory=list)
    masks: List[np.ndarray] = field(default_factory=list)
    shape_indices: List[int] = field(default_factory=list)
    group_id: Optional[int] = None
    track_id: Optional[int] = None
    score: Optional[float] = None
    iscrowd: bool = False
    difficult: bool = False
    #: the source shape of each entry of ``polygons`` / ``masks`` (painters keep the file's drawing order)
    polygon_shapes: List[int] = field(default_factory=list)
    mask_shapes: List[int] = field(default_factory=list)
    #: (x1, y1, x2, y2) of each entry of ``polygons`` when the collector measured it already (else empty)
    polygon_bounds: List[Tuple[float, float, float, float]] = field(default_factory=list, repr=False)

    def box(self) -> Tuple[float, float, float, float]:
        """(x1, y1, x2, y2) in continuous pixel coordinates: polygon extents and mask pixel extents
        (a mask pixel (c, r) covers [c, c+1) x [r, r+1))."""
        boxes = []
        if self.polygons and len(self.polygon_bounds) == len(self.polygons):  # measured by the collector
            b = self.polygon_bounds
            boxes.append(b[0] if len(b) == 1 else (min(v[0] for v in b), min(v[1] for v in b),
                                                   max(v[2] for v in b), max(v[3] for v in b)))
        elif self.polygons:
            pts = self.polygons[0] if len(self.polygons) == 1 else np.concatenate(self.polygons)
            lo, hi = pts.min(axis=0), pts.max(axis=0)
            boxes.append((lo[0], lo[1], hi[0], hi[1]))
        for m in self.masks:
            rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
            boxes.append((cols[0], rows[0], cols[-1] + 1, rows[-1] + 1))
        if len(boxes) == 1:
            return tuple(float(v) for v in boxes[0])
        b = np.asarray(boxes, dtype=np.float64)
        return (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max()))

    def _crop(self, size: Tuple[int, int]) -> Tuple[int, int, int, int]:
        """(x0, y0, xe, ye): the pixels the box touches, inside the image."""
        h, w = size
        x1, y1, x2, y2 = self.box()
        return (max(0, math.floor(x1)), max(0, math.floor(y1)), min(w, math.ceil(x2) + 1), min(h, math.ceil(y2) + 1))

    def _canvas(self, size: Tuple[int, int]) -> Tuple[Image.Image, int, int, int, int]:
        """The polygons drawn (PIL fill with outline) on a canvas cropped to the box: (canvas, x0, y0, xe, ye)."""
        x0, y0, xe, ye = self._crop(size)
        canvas = Image.new("L", (max(1, xe - x0), max(1, ye - y0)), 0)
        draw = ImageDraw.Draw(canvas)
        for p in self.polygons:
            draw.polygon((p - (x0, y0)).ravel().tolist(), outline=1, fill=1)
        return canvas, x0, y0, xe, ye

    def pixel_extent(self, size: Tuple[int, int]) -> Tuple[int, Optional[Tuple[int, int, int, int]]]:
        """(pixel count, (x, y, w, h) of the lit pixels or ``None``) of :meth:`raster`'s pixels.

        For polygons alone PIL counts and bounds the pixels itself (``histogram``, ``getbbox``), without
        converting the canvas to an array: the same numbers at a fraction of the cost (COCO's area / bbox).
        """
        if self.masks:
            crop, x0, y0 = self.raster(size)
            rows, cols = np.flatnonzero(crop.any(axis=1)), np.flatnonzero(crop.any(axis=0))
            if not rows.size:
                return 0, None
            return int(crop.sum()), (x0 + int(cols[0]), y0 + int(rows[0]), int(cols[-1] - cols[0] + 1),
                                     int(rows[-1] - rows[0] + 1))
        x0, y0, xe, ye = self._crop(size)
        if xe <= x0 or ye <= y0:
            return 0, None
        # PIL's core objects directly: the same single draw_polygon(xy, 1, fill=1) call that
        # ImageDraw.polygon(outline=1, fill=1) makes, without its wrappers (this runs once per instance)
        canvas = Image.core.fill("L", (xe - x0, ye - y0), 0)
        draw = Image.core.draw(canvas, 0)
        for p in self.polygons:
            draw.draw_polygon((p - (x0, y0)).ravel().tolist(), 1, 1)
        box = canvas.getbbox(False)
        if box is None:
            return 0, None
        return canvas.histogram()[1], (x0 + box[0], y0 + box[1], box[2] - box[0], box[3] - box[1])

    def raster(self, size: Tuple[int, int]) -> Tuple[np.ndarray, int, int]:
        """The instance's pixels as labelme rasterises them (PIL polygon with outline), cropped to its box.

        Returns:
            (crop bool hxw, x0, y0): the crop and the image column/row of its top-left pixel. Drawing in a
            crop shifted by whole pixels gives exactly the pixels of a full-size drawing, much faster.
        """
        canvas, x0, y0, xe, ye = self._canvas(size)
        crop = np.asarray(canvas, dtype=bool)[: ye - y0, : xe - x0]
        for m in self.masks:
            crop = crop | m[y0:ye, x0:xe]
        return crop, x0, y0

    def full_mask(self, size: Tuple[int, int]) -> np.ndarray:
        """The instance's bool HxW mask at full image size."""
        crop, x0, y0 = self.raster(size)
        full = np.zeros(size, dtype=bool)
        full[y0 : y0 + crop.shape[0], x0 : x0 + crop.shape[1]] = crop
        return full


def circle_polygon(center: Sequence[float], edge: Sequence[float]) -> np.ndarray:
    """labelme's polygon for a circle: vertices no further than 1 px from the arc, at least 12."""
    (cx, cy), (px, py) = center, edge
    r = float(np.hypot(px - cx, py - cy))
    n = max(int(np.pi / np.arccos(1 - 1 / r)), 12) if r > 1 else 12
    a = 2 * np.pi / n * np.arange(n)
    return np.stack([cx + r * np.sin(a), cy + r * np.cos(a)], axis=1)


def shape_polygon(shape: Shape, pts: Optional[np.ndarray] = None) -> np.ndarray:
    """The polygon of an area shape (polygon, rectangle, circle) as Nx2 (x, y) float64 (``pts``: the shape's
    points as an array, when the caller has them already)."""
    pts = shape.points_array() if pts is None else pts
    if shape.shape_type == "rectangle" and len(pts) >= 2:
        x1, y1 = pts.min(axis=0)
        x2, y2 = pts.max(axis=0)
        return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=np.float64)
    if shape.shape_type == "circle" and len(pts) == 2:
        return circle_polygon(pts[0], pts[1])
    return pts


def shoelace(pts: np.ndarray) -> float:
    """Unsigned shoelace area of an Nx2 ring (no np.roll: this runs for every exported polygon)."""
    x, y = pts[:, 0], pts[:, 1]
    return abs(float(x[:-1] @ y[1:] - x[1:] @ y[:-1] + x[-1] * y[0] - x[0] * y[-1])) / 2.0


def _area(pts: np.ndarray) -> float:
    a = shoelace(pts)
    if a > 1e-9:
        return a
    # a bow-tie's two lobes cancel in the shoelace sum: measure the repaired geometry instead
    return float(shapely.make_valid(shapely.Polygon(pts)).area) if len(pts) >= 4 else 0.0


def clip_polygon(pts: np.ndarray, width: int, height: int) -> List[np.ndarray]:
    """Intersect a polygon with the image rectangle [0, w] x [0, h].

    Returns the outer rings of the parts with non-zero area (holes cannot be expressed in a LabelMe or YOLO
    polygon and are rare after clipping); an empty list when the polygon lies outside the image.
    """
    poly = shapely.Polygon(pts)
    if not poly.is_valid:
        poly = shapely.make_valid(poly)
    clipped = poly.intersection(shapely.box(0, 0, width, height))
    parts = [g for g in getattr(clipped, "geoms", [clipped]) if isinstance(g, shapely.Polygon) and g.area > 0]
    return [np.asarray(g.exterior.coords, dtype=np.float64)[:-1] for g in parts]


def _polygons_of(shape: Shape, index: int, size: Tuple[int, int], file: str, report: Report,
                 points: Optional[np.ndarray] = None, bounds: Optional[list] = None) -> List[np.ndarray]:
    """The shape's clean polygon parts (see the module docstring); ``bounds`` receives the (x1, y1, x2, y2)
    of an unclipped part (a clipped shape's parts are not measured: the caller then drops its bounds)."""
    h, w = size
    if len(shape.points) > MAX_VERTICES:
        report.warn(file, index, "too_many_vertices", f"{shape.shape_type} {shape.label!r} has {len(shape.points):,} "
                    f"vertices (more than {MAX_VERTICES:,}): left out")
        return []
    pts = shape_polygon(shape, points)
    if shape.shape_type == "polygon" and len(pts) < 3:
        report.warn(file, index, "too_few_points", f"polygon {shape.label!r} has {len(pts)} points (needs 3): left out")
        return []
    if shape.shape_type == "rotation" and len(pts) != 4:
        report.warn(file, index, "too_few_points",
                    f"rotation {shape.label!r} needs 4 corners, has {len(pts)}: left out")
        return []
    if shape.shape_type in ("rectangle", "circle") and len(shape.points) != 2:
        report.warn(file, index, "too_few_points",
                    f"{shape.shape_type} {shape.label!r} needs 2 points, has {len(shape.points)}: left out")
        return []
    if _area(pts) <= 1e-9:
        report.warn(file, index, "zero_area", f"{shape.shape_type} {shape.label!r} has zero area: left out")
        return []
    lo, hi = pts.min(axis=0), pts.max(axis=0)  # two reductions, not four: this runs for every shape exported
    if lo[0] >= 0 and lo[1] >= 0 and hi[0] <= w and hi[1] <= h:
        if bounds is not None:
            bounds.append((float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])))
        return [pts]
    parts = clip_polygon(pts, w, h)
    if not parts:
        report.warn(file, index, "outside_image", f"{shape.shape_type} {shape.label!r} lies outside the "
                    f"{w}x{h} image: left out")
        return []
    report.warn(file, index, "clipped", f"{shape.shape_type} {shape.label!r} reaches outside the {w}x{h} image: "
                f"clipped to it" + (f" ({len(parts)} parts)" if len(parts) > 1 else ""))
    return parts


def _mask_of(shape: Shape, index: int, size: Tuple[int, int], file: str, report: Report) -> Optional[np.ndarray]:
    if shape.mask is None:
        report.warn(file, index, "zero_area", f"mask {shape.label!r} has no mask data: left out")
        return None
    try:
        mask = rle_decode(shape.mask)
    except GeometryError as e:
        report.warn(file, index, "bad_mask", f"mask {shape.label!r}: {e.reason}: left out")
        return None
    if mask.shape != tuple(size):
        report.warn(file, index, "bad_mask", f"mask {shape.label!r} is {mask.shape[1]}x{mask.shape[0]}, the image "
                    f"{size[1]}x{size[0]}: left out")
        return None
    if not mask.any():
        report.warn(file, index, "zero_area", f"mask {shape.label!r} is empty: left out")
        return None
    return mask


def _accept_label(shape: Shape, index: int, label_map: Optional[LabelMap], file: str, report: Report) -> bool:
    label = shape.label
    if label == IGNORE:
        return False  # labelme's ignore regions: never an instance, by convention (no warning)
    if not label.strip():
        report.warn(file, index, "empty_label", f"{shape.shape_type} has an empty label: left out")
        return False
    if label == BACKGROUND:
        report.warn(file, index, "background_label", f"{shape.shape_type} labelled {BACKGROUND!r}: left out")
        return False
    if label_map is not None and label not in label_map:
        report.warn(file, index, "unknown_label", f"label {label!r} is not in the labels file: left out")
        return False
    return True


def collect_instances(
    annotation: ImageAnnotation,
    file: str,
    report: Report,
    label_map: Optional[LabelMap] = None,
    shape_ids: Optional[Sequence[int]] = None,
    key: str = "group",
) -> List[Instance]:
    """Validate the shapes of ``annotation`` and merge them into instances (see the module docstring).

    Args:
        annotation: the image's document; its size bounds the coordinates.
        file: the name used in warnings.
        report: receives the warnings.
        label_map: when given (a labels file), labels outside it are left out with a warning.
        shape_ids: the original index of each shape in its file (when the reader dropped broken shapes).
        key: ``"group"`` merges by (label, group_id); ``"track"`` by (track_id) and drops untracked shapes.
    """
    size = (annotation.image_height, annotation.image_width)
    instances: Dict[tuple, Instance] = {}
    group_labels: Dict[object, str] = {}
    for pos, shape in enumerate(annotation.shapes):
        index = shape_ids[pos] if shape_ids is not None else pos
        if not _accept_label(shape, index, label_map, file, report):
            continue
        if shape.shape_type not in AREA_TYPES:
            report.warn(file, index, "not_an_area", f"{shape.shape_type} {shape.label!r} has no area: left out")
            continue
        points = shape.points_array()  # once: the check and the polygon share it
        if not np.isfinite(points).all():
            report.warn(file, index, "bad_coordinates", f"{shape.shape_type} {shape.label!r} has non-finite "
                        "coordinates: left out")
            continue
        if key == "track":
            if not isinstance(shape.track_id, int) or isinstance(shape.track_id, bool):
                report.warn(file, index, "no_track_id", f"{shape.shape_type} {shape.label!r} has no integer "
                            f"track id ({shape.track_id!r}): left out")
                continue
            k: tuple = ("track", shape.track_id)
        elif shape.group_id is None:
            k = ("single", pos)
        else:
            k = ("group", shape.label, shape.group_id)
            first = group_labels.setdefault(shape.group_id, shape.label)
            if first != shape.label:
                report.warn(file, index, "group_mixed_labels", f"group_id {shape.group_id} holds labels {first!r} "
                            f"and {shape.label!r}: exported as one instance per label")
        bounds: list = []
        if shape.shape_type == "mask":
            mask = _mask_of(shape, index, size, file, report)
            parts, masks = [], ([mask] if mask is not None else [])
        else:
            parts, masks = _polygons_of(shape, index, size, file, report, points, bounds), []
        if not parts and not masks:
            continue
        inst = instances.get(k)
        if inst is None:
            inst = instances[k] = Instance(label=shape.label, group_id=shape.group_id, track_id=shape.track_id)
        elif key == "track" and inst.label != shape.label:
            report.warn(file, index, "track_mixed_labels", f"track {shape.track_id} is labelled {inst.label!r} "
                        f"and {shape.label!r} in one frame: kept as {inst.label!r}")
        if len(inst.polygon_bounds) == len(inst.polygons) and len(bounds) == len(parts):
            inst.polygon_bounds += bounds  # every part measured so far: box() needs no reduction
        inst.polygons += parts
        inst.masks += masks
        inst.polygon_shapes += [pos] * len(parts)
        inst.mask_shapes += [pos] * len(masks)
        inst.shape_indices.append(index)
        if inst.score is None and shape.score is not None:
            inst.score = shape.score
        inst.iscrowd = inst.iscrowd or bool(shape.extra.get("iscrowd"))
        inst.difficult = inst.difficult or is_difficult(shape)
    return list(instances.values())


def is_difficult(shape: Shape) -> bool:
    """VOC's / DOTA's ``difficult``: a ``difficult`` flag, attribute or extra key that is true."""
    if not (shape.flags or shape.extra or shape.attributes):
        return bool(shape.difficult)  # the common case, without three look-ups
    for where in (shape.flags, shape.extra, shape.attributes):
        if isinstance(where, dict) and where.get("difficult") in (True, 1, "1", "true"):
            return True
    return bool(shape.difficult)


def ignore_regions(annotation: ImageAnnotation) -> List[Tuple[int, List[np.ndarray], Optional[np.ndarray]]]:
    """labelme's ``__ignore__`` area shapes as (position in ``annotation.shapes``, polygons clipped to the
    image, full-size mask or ``None``); unusable ones are skipped silently (they are not instances)."""
    size = (annotation.image_height, annotation.image_width)
    scratch = Report()
    out = []
    for pos, shape in enumerate(annotation.shapes):
        if shape.label != IGNORE or shape.shape_type not in AREA_TYPES:
            continue
        if not np.isfinite(shape.points_array()).all():
            continue
        if shape.shape_type == "mask":
            mask = _mask_of(shape, pos, size, "", scratch)
            if mask is not None:
                out.append((pos, [], mask))
        else:
            parts = _polygons_of(shape, pos, size, "", scratch)
            if parts:
                out.append((pos, parts, None))
    return out
