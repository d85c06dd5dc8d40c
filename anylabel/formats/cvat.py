"""CVAT for images 1.1 and CVAT for video 1.1 (XML), as CVAT's ``dataset_manager/formats/cvat.py`` reads them.

``OUT/annotations.xml`` and ``OUT/images/``. Shapes map one to one (CVAT is per shape, not per instance):

=================  ==========================================================================================
anylabel           CVAT
=================  ==========================================================================================
polygon            ``<polygon points="x,y;x,y;...">``
rectangle          ``<box xtl ytl xbr ybr>``
rotation           ``<box ... rotation="deg">``: the unrotated box about the centre, turned clockwise on screen
                   by the angle of edge p0 -> p1 (degrees in [0, 360))
circle             ``<ellipse cx cy rx ry>`` (rx = ry = the radius)
point / points     ``<points points="...">``
line / linestrip   ``<polyline points="...">``
mask               ``<mask rle left top width height>``: CVAT's RLE, row-major over the mask's pixel box,
                   starting with a run of 0s, counts joined by ``", "``
=================  ==========================================================================================

Coordinates use CVAT's ``{:.2f}``. ``group_id`` becomes CVAT's ``group_id`` (CVAT's 0 means none, so our
group 0 becomes the next free number); flags and attributes (a shape's ``attributes``, or LabelMe's
``attributes`` key as X-AnyLabeling writes it) become ``<attribute name=...>`` children (flags as
``true`` / ``false``), ``occluded`` and ``z_order`` are read from them. ``<meta>`` lists the labels (with
their attribute names) so CVAT can create them.

CVAT for video: one ``<track id label>`` per ``track_id``, its shapes with ``frame``, ``keyframe="1"`` and
``outside="0"``, and an ``outside="1"`` copy on the frame after each run of frames (CVAT's own way to end
a track; it would interpolate across a gap otherwise). Shapes without a track id become one-frame tracks
the same way. Frames are the items' ``frame_index`` (their order when absent); the images are written as
``images/frame_NNNNNN.ext``, the names CVAT's video dataset export uses. Two items claiming one frame:
the later one is left out (``duplicate_frame``).

Reading takes both layouts (``<image>`` or ``<track>`` elements) back to the same shapes; anything the
XML cannot tell us (a shape type CVAT has and we do not: cuboid, skeleton) is a warning naming the element.
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections import OrderedDict
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from anylabel.document import Shape
from anylabel.formats.base import Item, Options, PathLike, Report
from anylabel.formats.common import NonAsciiNotes
from anylabel.formats.images import NamePool, place_image
from anylabel.formats.labels import build_label_map
from anylabel.formats.rotated import clockwise
from anylabel.formats.staged import write_new_bytes
from anylabel.geometry.rle import rle_decode
from anylabel.geometry.rotated import angle as rotation_angle

_POINT_TAGS = {"polygon": "polygon", "point": "points", "points": "points", "line": "polyline",
               "linestrip": "polyline"}
_MIN_POINTS = {"polygon": 3, "points": 1, "polyline": 2}


def _f(v: float) -> str:
    return f"{v:.2f}"


def _attributes(shape: Shape) -> Dict[str, str]:
    attrs = dict(shape.attributes)
    out = {str(k): ("true" if v is True else "false" if v is False else str(v)) for k, v in
           (attrs.items() if isinstance(attrs, dict) else [])}
    for k, v in shape.flags.items():
        out.setdefault(k, "true" if v else "false")
    return out


def cvat_rle(mask: np.ndarray) -> Tuple[List[int], int, int, int, int]:
    """(counts, left, top, width, height): CVAT's RLE of a bool mask, over its pixel box."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    top, left = int(rows[0]), int(cols[0])
    crop = mask[top : rows[-1] + 1, left : cols[-1] + 1].ravel()
    change = np.flatnonzero(np.diff(crop.astype(np.int8))) + 1
    bounds = np.concatenate([[0], change, [crop.size]])
    counts = np.diff(bounds).tolist()
    if crop[0]:
        counts = [0] + counts
    return counts, left, top, int(cols[-1] - left + 1), int(rows[-1] - top + 1)


def mask_from_cvat_rle(counts: Sequence[int], left: int, top: int, width: int, height: int,
                       size: Tuple[int, int]) -> np.ndarray:
    """The full-size bool mask of a CVAT RLE (counts must cover width x height exactly)."""
    flat = np.repeat(np.arange(len(counts)) % 2 == 1, counts)
    full = np.zeros(size, dtype=bool)
    crop = flat.reshape(height, width)
    full[top : top + height, left : left + width] = crop[: size[0] - top, : size[1] - left]
    return full


def _shape_element(shape: Shape, index: int, file: str, report: Report, groups: Dict[int, int]) -> Optional[tuple]:
    """(tag, attributes) of one shape, or ``None`` (with a warning) when CVAT cannot hold it."""
    pts = shape.points_array()
    if not shape.label.strip():
        report.warn(file, index, "empty_label", f"{shape.shape_type} has an empty label: left out")
        return None
    if not np.isfinite(pts).all():
        report.warn(file, index, "bad_coordinates", f"{shape.shape_type} {shape.label!r} has non-finite coordinates: "
                    "left out")
        return None
    attrs = _attributes(shape)
    d: "OrderedDict[str, str]" = OrderedDict(label=shape.label, source="manual",
                                             occluded="1" if attrs.pop("occluded", "false") == "true" else "0")
    t = shape.shape_type
    if t in ("rectangle", "rotation") and len(pts) == (2 if t == "rectangle" else 4):
        if t == "rectangle":
            (x1, y1), (x2, y2) = pts.min(axis=0), pts.max(axis=0)
            rot = 0.0
        else:
            c = clockwise(pts)
            w, h = float(np.hypot(*(c[1] - c[0]))), float(np.hypot(*(c[2] - c[1])))
            cx, cy = c.mean(axis=0)
            x1, y1, x2, y2 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
            rot = math.degrees(rotation_angle(c)) % 360.0
        if x2 <= x1 or y2 <= y1:
            report.warn(file, index, "zero_area", f"{t} {shape.label!r} has zero area: left out")
            return None
        d.update(xtl=_f(x1), ytl=_f(y1), xbr=_f(x2), ybr=_f(y2))
        if round(rot, 2) % 360:
            d["rotation"] = _f(rot)
        tag = "box"
    elif t == "circle" and len(pts) == 2:
        r = float(np.hypot(*(pts[1] - pts[0])))
        d.update(cx=_f(pts[0][0]), cy=_f(pts[0][1]), rx=_f(r), ry=_f(r))
        tag = "ellipse"
    elif t == "mask" and shape.mask is not None:
        mask = rle_decode(shape.mask)
        if not mask.any():
            report.warn(file, index, "zero_area", f"mask {shape.label!r} is empty: left out")
            return None
        counts, left, top, w, h = cvat_rle(mask)
        d.update(rle=", ".join(map(str, counts)), left=str(left), top=str(top), width=str(w), height=str(h))
        tag = "mask"
    elif t in _POINT_TAGS and len(pts) >= _MIN_POINTS[_POINT_TAGS[t]]:
        tag = _POINT_TAGS[t]
        d["points"] = ";".join(f"{_f(x)},{_f(y)}" for x, y in pts)
    else:
        report.warn(file, index, "too_few_points", f"{t} {shape.label!r} has {len(pts)} points: left out")
        return None
    d["z_order"] = attrs.pop("z_order", "0")
    if shape.group_id is not None:
        d["group_id"] = str(groups.setdefault(shape.group_id, shape.group_id if shape.group_id > 0 else
                                              max([0, *groups.values(), *groups.keys()]) + 1))
    return tag, d, attrs


def _add(parent: ET.Element, tag: str, attrib: Dict[str, str], attrs: Dict[str, str]) -> ET.Element:
    el = ET.SubElement(parent, tag, attrib)
    for k, v in attrs.items():
        ET.SubElement(el, "attribute", {"name": k}).text = v
    return el


def _meta(labels: Dict[str, set], mode: str, size: int, extra: Dict[str, str]) -> ET.Element:
    meta = ET.Element("meta")
    task = ET.SubElement(meta, "task")
    for k, v in (("name", "anylabel export"), ("size", str(size)), ("mode", mode), *extra.items()):
        ET.SubElement(task, k).text = v
    els = ET.SubElement(task, "labels")
    for name in sorted(labels):
        lab = ET.SubElement(els, "label")
        ET.SubElement(lab, "name").text = name
        ET.SubElement(lab, "type").text = "any"
        attrs = ET.SubElement(lab, "attributes")
        for a in sorted(labels[name]):
            at = ET.SubElement(attrs, "attribute")
            ET.SubElement(at, "name").text = a
            ET.SubElement(at, "mutable").text = "False"
            ET.SubElement(at, "input_type").text = "text"
    return meta


def _finish(root: ET.Element, out: Path) -> None:
    ET.indent(root)
    write_new_bytes(out / "annotations.xml", b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root))


def write_cvat(items: Sequence[Item], out: PathLike, options: Options) -> Report:
    """Export ``items`` as CVAT for images 1.1 into the staging folder ``out``."""
    return _write(items, Path(out), options, video=False)


def write_cvat_video(items: Sequence[Item], out: PathLike, options: Options) -> Report:
    """Export ``items`` (video frames) as CVAT for video 1.1, one track per track id."""
    return _write(items, Path(out), options, video=True)


def _write(items: Sequence[Item], out: Path, options: Options, video: bool) -> Report:
    report = Report(format="cvat-video" if video else "cvat")
    wanted = build_label_map(options.labels, []) if options.labels is not None else None
    pool, notes = NamePool(), NonAsciiNotes(report)
    labels: Dict[str, set] = {}
    images: List[Tuple[int, Item, str, list]] = []  # (frame, item, file name, [(tag, attrib, attrs, shape)])
    frames_taken: set = set()
    order = sorted(range(len(items)), key=lambda i: (items[i].annotation.frame_index is None,
                                                     items[i].annotation.frame_index or 0, i)) if video else \
        range(len(items))
    for k, i in enumerate(order):
        options.tick(k, len(items), "writing")
        item = items[i]
        frame = item.annotation.frame_index if video and item.annotation.frame_index is not None else len(images)
        if video and frame in frames_taken:
            report.warn(item.label, None, "duplicate_frame", f"frame {frame} is already exported from another file: "
                        "skipped")
            report.skipped_images += 1
            continue
        claimed = pool.claim_item(item, report, options)
        if claimed is None:
            continue
        src, stem = claimed
        file_name = f"frame_{frame:06d}{src.suffix}" if video else stem + src.suffix
        notes.path(file_name, item.label)
        place_image(src, out / "images" / file_name, options.image_mode)
        groups: Dict[int, int] = {}
        elements = []
        for j, shape in enumerate(item.annotation.shapes):
            index = item.shape_ids[j] if item.shape_ids is not None else j
            if wanted is not None and shape.label not in wanted:
                report.warn(item.label, index, "unknown_label", f"label {shape.label!r} is not in the labels file: "
                            "left out")
                continue
            el = _shape_element(shape, index, item.label, report, groups)
            if el is not None:
                notes.label(shape.label, item.label, index)
                labels.setdefault(shape.label, set()).update(el[2])
                elements.append((*el, shape))
        frames_taken.add(frame)
        images.append((frame, item, file_name, elements))
        report.instances += len(elements)
    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = "1.1"
    if video:
        _write_tracks(root, images, labels)
    else:
        root.append(_meta(labels, "annotation", len(images), {}))
        for frame, item, file_name, elements in images:
            ann = item.annotation
            im = ET.SubElement(root, "image", OrderedDict(id=str(frame), name=file_name, width=str(ann.image_width),
                                                          height=str(ann.image_height)))
            for tag, attrib, attrs, _ in elements:
                _add(im, tag, attrib, attrs)
    _finish(root, out)
    report.images, report.classes = len(images), sorted(labels)
    report.files = ["annotations.xml"] + [f"images/{name}" for _, _, name, _ in images]
    return report


def _write_tracks(root: ET.Element, images: list, labels: Dict[str, set]) -> None:
    frames = sorted(f for f, *_ in images)
    size = images[0][1].annotation if images else None
    extra = {"start_frame": str(frames[0] if frames else 0), "stop_frame": str(frames[-1] if frames else 0)}
    meta = _meta(labels, "interpolation", len(images), extra)
    if size is not None:
        orig = ET.SubElement(meta.find("task"), "original_size")
        ET.SubElement(orig, "width").text = str(size.image_width)
        ET.SubElement(orig, "height").text = str(size.image_height)
    root.append(meta)
    tracks: "OrderedDict[object, list]" = OrderedDict()
    for frame, _, _, elements in sorted(images, key=lambda e: e[0]):
        for n, (tag, attrib, attrs, shape) in enumerate(elements):
            tid = shape.track_id if isinstance(shape.track_id, int) and not isinstance(shape.track_id, bool) else None
            key = ("track", tid, tag) if tid is not None else ("single", frame, n)
            tracks.setdefault(key, []).append((frame, tag, attrib, attrs))
    present = set(frames)
    for number, (key, runs) in enumerate(tracks.items()):
        first = runs[0][2]
        t_attrib = OrderedDict(id=str(number), label=first["label"], source="manual")
        if "group_id" in first:
            t_attrib["group_id"] = first["group_id"]
        track = ET.SubElement(root, "track", t_attrib)
        for pos, (frame, tag, attrib, attrs) in enumerate(runs):
            body = OrderedDict(frame=str(frame), keyframe="1", outside="0")
            body.update((k, v) for k, v in attrib.items() if k not in ("label", "source", "group_id"))
            _add(track, tag, body, attrs)
            nxt = runs[pos + 1][0] if pos + 1 < len(runs) else None
            if nxt != frame + 1 and (frame + 1 in present or nxt is not None or key[0] == "single"):
                body = OrderedDict(body, frame=str(frame + 1), outside="1")
                _add(track, tag, body, attrs)
