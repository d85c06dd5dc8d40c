"""Reading CVAT for images / video 1.1 XML back into LabelMe shapes (the mapping of :mod:`.cvat`, reversed).

* ``<image>`` elements give one item each; ``<track>`` elements give one shape per frame where the track is
  not ``outside``, with the track's ``id`` as ``track_id`` (+1 when CVAT's ids start at 0 would clash
  with nothing: ids are kept as they are) and the frame as ``frame_index``. Frame ``f``'s image is
  ``images/frame_NNNNNN.*`` (CVAT's video export), else the ``f``-th image of the images folder in name
  order.
* Attributes become the shape's ``attributes`` (X-AnyLabeling's key, kept in the LabelMe file);
  ``occluded="1"`` becomes the attribute ``occluded: true``; CVAT's ``group_id`` the shape's group.
* Elements we cannot use (a cuboid, a skeleton, bad numbers, an RLE that does not cover its box) are
  left out with a warning naming the element's position.
"""
from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from anylabel.document import ImageAnnotation, Shape
from anylabel.errors import FormatError, ImageLoadError
from anylabel.formats.base import Item, Options, PathLike, Report
from anylabel.formats.cvat import mask_from_cvat_rle
from anylabel.geometry.rle import rle_encode
from anylabel.geometry.rotated import rotation_corners
from anylabel.imaging.loader import image_size, is_image_file

_SHAPE_TAGS = ("box", "polygon", "polyline", "points", "ellipse", "mask")
_MAX_XML = 500_000_000


def _find_xml(path: Path) -> Path:
    if path.is_file():
        return path
    if (path / "annotations.xml").is_file():
        return path / "annotations.xml"
    found = sorted(path.glob("*.xml")) if path.is_dir() else []
    if len(found) == 1:
        return found[0]
    raise FormatError("no CVAT annotations.xml (a file, or a folder holding it)", path)


def _num(el: ET.Element, key: str) -> float:
    v = float(el.attrib[key])
    if not math.isfinite(v):
        raise ValueError(f"{key} is not finite")
    return v


def _points(text: str) -> List[Tuple[float, float]]:
    pts = [tuple(float(v) for v in p.split(",")) for p in text.strip().split(";") if p.strip()]
    if any(len(p) != 2 or not all(math.isfinite(v) for v in p) for p in pts):
        raise ValueError("points must be x,y pairs of finite numbers")
    return pts


def shape_from_element(el: ET.Element, label: str, size: Tuple[int, int]) -> Shape:
    """One CVAT shape element as a Shape (raises ValueError / KeyError when it is not usable)."""
    attrs = {a.attrib.get("name", ""): (a.text or "") for a in el.findall("attribute")}
    attrs = {k: (True if v == "true" else False if v == "false" else v) for k, v in attrs.items() if k}
    if el.attrib.get("occluded") == "1":
        attrs["occluded"] = True
    group = int(el.attrib["group_id"]) if el.attrib.get("group_id", "0") not in ("", "0") else None
    tag = el.tag
    if tag == "box":
        x1, y1, x2, y2 = (_num(el, k) for k in ("xtl", "ytl", "xbr", "ybr"))
        rot = float(el.attrib.get("rotation", 0) or 0)
        if not (x2 > x1 and y2 > y1 and math.isfinite(rot)):
            raise ValueError("the box has zero area")
        if rot % 360:
            corners = rotation_corners((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1, math.radians(rot))
            return Shape(label, [tuple(p) for p in corners], "rotation", group_id=group, attributes=attrs)
        return Shape(label, [(x1, y1), (x2, y2)], "rectangle", group_id=group, attributes=attrs)
    if tag == "ellipse":
        cx, cy, rx, ry = (_num(el, k) for k in ("cx", "cy", "rx", "ry"))
        if abs(rx - ry) > 1e-6 * max(rx, ry, 1):  # a true ellipse: its polygon (LabelMe has no ellipse)
            a = np.linspace(0, 2 * np.pi, 64, endpoint=False)
            return Shape(label, list(zip(cx + rx * np.cos(a), cy + ry * np.sin(a))), "polygon", group_id=group,
                         attributes=attrs)
        return Shape(label, [(cx, cy), (cx + rx, cy)], "circle", group_id=group, attributes=attrs)
    if tag == "mask":
        counts = [int(v) for v in re.split(r"[,\s]+", el.attrib["rle"].strip()) if v]
        left, top, w, h = (int(el.attrib[k]) for k in ("left", "top", "width", "height"))
        if min(counts, default=-1) < 0 or sum(counts) != w * h or w <= 0 or h <= 0 or left < 0 or top < 0 \
                or left >= size[1] or top >= size[0]:
            raise ValueError(f"the RLE does not cover its {w}x{h} box inside the image")
        mask = mask_from_cvat_rle(counts, left, top, w, h, size)
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        if not rows.size:
            raise ValueError("the mask is empty")
        box = [(float(cols[0]), float(rows[0])), (float(cols[-1]), float(rows[-1]))]
        return Shape(label, box, "mask", group_id=group, mask=rle_encode(mask), attributes=attrs)
    pts = _points(el.attrib["points"])
    if tag == "polygon":
        if len(pts) < 3:
            raise ValueError("a polygon needs 3 points")
        return Shape(label, pts, "polygon", group_id=group, attributes=attrs)
    if tag == "polyline":
        if len(pts) < 2:
            raise ValueError("a polyline needs 2 points")
        return Shape(label, pts, "line" if len(pts) == 2 else "linestrip", group_id=group, attributes=attrs)
    if not pts:
        raise ValueError("no points")
    return Shape(label, pts, "point" if len(pts) == 1 else "points", group_id=group, attributes=attrs)


def _frame_images(images_dir: Path) -> Tuple[Dict[str, Path], List[Path]]:
    files = sorted(p for p in images_dir.glob("*") if is_image_file(p)) if images_dir.is_dir() else []
    return {p.name: p for p in files}, files


def read_cvat(path: PathLike, options: Optional[Options] = None, report: Optional[Report] = None) -> List[Item]:
    """Read CVAT for images or for video 1.1 XML (see the module docstring)."""
    options = options or Options()
    report = report if report is not None else Report(format="cvat")
    file = _find_xml(Path(path))
    try:
        if file.stat().st_size > _MAX_XML:
            raise FormatError("larger than 500 MB: not read", file)
        root = ET.parse(file).getroot()  # expat >= 2.4 refuses entity bombs; ElementTree loads no external entity
    except (ET.ParseError, OSError) as e:
        raise FormatError(f"not readable XML ({e})", file) from e
    if root.tag != "annotations":
        raise FormatError(f"not a CVAT annotations file (the root element is <{root.tag}>)", file)
    by_name, ordered = _frame_images(options.images_dir or file.parent / "images")
    fname = file.name
    wanted = set(options.labels) if options.labels is not None else None
    frames: Dict[int, Tuple[str, int, int, List[Shape]]] = {}
    task = root.find("meta/task")
    task = task if task is not None else root.find("meta/job")
    orig = task.find("original_size") if task is not None else None

    def keep(label: str, where: str) -> bool:
        if wanted is not None and label not in wanted:
            report.warn(fname, None, "unknown_label", f"{where}: label {label!r} is not in the labels file: left out")
            return False
        return True

    for i, im in enumerate(root.iter("image")):
        try:
            frame, w, h = int(im.attrib.get("id", i)), int(im.attrib["width"]), int(im.attrib["height"])
            name = im.attrib["name"]
            if not (0 < w <= 100_000 and 0 < h <= 100_000):
                raise ValueError("bad size")
        except (KeyError, ValueError):
            report.warn(fname, None, "bad_image_entry", f"image[{i}]: needs id, name, width and height: skipped")
            report.skipped_images += 1
            continue
        shapes = []
        for j, el in enumerate(e for e in im if e.tag in _SHAPE_TAGS or e.tag in ("cuboid", "skeleton")):
            where = f"image {name!r} <{el.tag}> {j}"
            if el.tag not in _SHAPE_TAGS:
                report.warn(fname, j, "unsupported_shape", f"{where}: CVAT's {el.tag} has no LabelMe shape: left out")
                continue
            label = el.attrib.get("label", "")
            if not keep(label, where):
                continue
            try:
                shapes.append(shape_from_element(el, label, (h, w)))
            except (KeyError, ValueError) as e:
                report.warn(fname, j, "bad_annotation", f"{where}: {e}: left out")
        frames[frame] = (name, w, h, shapes)
    video = root.find("track") is not None
    if video:
        if orig is None:
            raise FormatError("CVAT for video without meta/task/original_size: the frame size is unknown", file)
        try:
            w, h = int(orig.findtext("width")), int(orig.findtext("height"))
        except (TypeError, ValueError) as e:
            raise FormatError("meta/task/original_size has no usable width / height", file) from e
        for t, track in enumerate(root.iter("track")):
            label = track.attrib.get("label", "")
            try:
                tid = int(track.attrib.get("id", t))
            except ValueError:
                tid = t
            group = track.attrib.get("group_id")
            if not keep(label, f"track {tid}"):
                continue
            for j, el in enumerate(track):
                if el.tag not in _SHAPE_TAGS or el.attrib.get("outside") == "1":
                    continue
                try:
                    frame = int(el.attrib["frame"])
                    if group and "group_id" not in el.attrib:
                        el.attrib["group_id"] = group
                    shape = shape_from_element(el, label, (h, w))
                except (KeyError, ValueError) as e:
                    report.warn(fname, j, "bad_annotation", f"track {tid} <{el.tag}> {j}: {e}: left out")
                    continue
                shape.track_id = tid
                name = f"frame_{frame:06d}"
                match = next((p.name for p in ordered if p.stem == name), None)
                if match is None and 0 <= frame < len(ordered):
                    match = ordered[frame].name
                frames.setdefault(frame, (match or f"{name}.png", w, h, []))[3].append(shape)
    items = []
    for k, frame in enumerate(sorted(frames)):
        options.tick(k, len(frames), "reading")
        name, w, h, shapes = frames[frame]
        image = by_name.get(Path(name.replace("\\", "/")).name)
        if image is not None:
            try:
                if image_size(image) != (h, w):
                    report.warn(fname, None, "size_mismatch", f"image {image.name} is not {w}x{h}: skipped")
                    report.skipped_images += 1
                    continue
            except ImageLoadError as e:
                report.warn(fname, None, "bad_image", f"image {image.name}: {e.reason}: skipped")
                report.skipped_images += 1
                continue
        ann = ImageAnnotation(image_path=Path(name.replace("\\", "/")).name, image_height=h, image_width=w,
                              shapes=shapes, frame_index=frame if video else None)
        items.append(Item(ann, image, file, f"{fname}: {name}"))
    options.tick(len(frames), len(frames), "reading")
    return items


def read_cvat_video(path: PathLike, options: Optional[Options] = None, report: Optional[Report] = None) -> List[Item]:
    """CVAT for video 1.1 (the same reader: it takes both layouts)."""
    return read_cvat(path, options, report if report is not None else Report(format="cvat-video"))
