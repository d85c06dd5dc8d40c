"""Oriented boxes: DOTA's ``labelTxt`` files, and the registry's entry points for YOLO-OBB.

DOTA: ``OUT/images/NAME.ext``, ``OUT/labelTxt/NAME.txt`` and ``OUT/classes.txt``. Each line of a label
file is ``x1 y1 x2 y2 x3 y3 x4 y4 category difficult``: the four corners in image pixels, clockwise on
screen, the class name (spaces replaced by ``-``, since the line is split on white space) and 0 / 1
(a ``difficult`` flag, attribute or extra key of the shape). No ``imagesource:`` / ``gsd:`` header lines
(DOTA's readers skip lines of fewer than 9 fields; ours does too). The rotated boxes are
:mod:`.rotated`'s (``rotation`` shapes; others' minimum-area rectangles with ``min_area_rect``).

YOLO-OBB (ultralytics' ``cls x1 y1 ... x4 y4``, normalised) is written by :mod:`.yolo` and read by
:mod:`.yolo_read` with the ``obb`` task; both read back as ``rotation`` shapes.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

from anylabel.document import ImageAnnotation
from anylabel.errors import FormatError, ImageLoadError
from anylabel.formats.base import Item, Options, PathLike, Report
from anylabel.formats.common import NonAsciiNotes, resolve_label_map
from anylabel.formats.instances import Instance, shoelace
from anylabel.formats.prepare import INCOMING, Placement, prepared_images
from anylabel.formats.rotated import instance_corners, rotation_shape
from anylabel.formats.staged import write_new_text
from anylabel.formats.yolo import write_yolo_obb
from anylabel.formats.yolo_read import read_yolo_obb
from anylabel.imaging.loader import image_size, is_image_file

__all__ = ["read_dota", "read_yolo_obb", "write_dota", "write_yolo_obb"]


def dota_category(label: str) -> str:
    """A class name as one DOTA field (white space would split the line)."""
    return "-".join(label.split()) or "-"


def _dota_rows(item: Item, instances: List[Instance], min_area_rect: bool, report: Report) -> List[tuple]:
    rows = []
    for inst in instances:
        corners = instance_corners(inst, item.annotation, min_area_rect, item.label, report)
        if corners is not None:
            coords = " ".join(f"{v:.2f}".rstrip("0").rstrip(".") for v in corners.ravel())
            rows.append((inst.label, inst.shape_indices[0], f"{coords} {dota_category(inst.label)} "
                         f"{int(inst.difficult)}"))
    return rows


def write_dota(items: Sequence[Item], out: PathLike, options: Options) -> Report:
    """Export ``items`` as DOTA label files into the staging folder ``out``."""
    out = Path(out)
    report = Report(format="dota")
    label_map = resolve_label_map(items, options)
    notes = NonAsciiNotes(report)
    files: List[str] = []
    placement = Placement(out / INCOMING, options.image_mode)  # the workers copy the images
    for prep in prepared_images(items, options, report, _dota_rows, options.min_area_rect,
                                label_map if label_map.from_file else None, placement=placement):
        stem = prep.stem
        notes.path(stem + prep.src.suffix, prep.item.label)
        prep.place(out / "images" / f"{stem}{prep.src.suffix}", options.image_mode)
        for label, index, _ in prep.payload:
            notes.label(label, prep.item.label, index)
        write_new_text(out / "labelTxt" / f"{stem}.txt", "".join(row + "\n" for _, _, row in prep.payload))
        report.instances += len(prep.payload)
        files += [f"images/{stem}{prep.src.suffix}", f"labelTxt/{stem}.txt"]
    write_new_text(out / "classes.txt", "".join(dota_category(n) + "\n" for n in label_map.names))
    report.images, report.classes = len(files) // 2, list(label_map.names)
    report.files = ["classes.txt"] + files
    return report


def _parse_dota(text: str, size: tuple, name: str, report: Report, wanted: Optional[set]) -> list:
    h, w = size
    shapes = []
    for ln, line in enumerate(text.splitlines()):
        parts = line.split()
        if len(parts) < 9:
            if line.strip() and not line.startswith(("imagesource:", "gsd:")):
                report.warn(name, ln, "bad_row", f"line {ln + 1} has {len(parts)} fields (needs 8 coordinates and a "
                            "category): left out")
            continue
        try:
            corners = np.asarray([float(v) for v in parts[:8]], dtype=np.float64).reshape(4, 2)
        except ValueError:
            report.warn(name, ln, "bad_row", f"line {ln + 1}: the coordinates are not numbers: left out")
            continue
        if not np.isfinite(corners).all():
            report.warn(name, ln, "bad_row", f"line {ln + 1} has non-finite coordinates: left out")
            continue
        label = parts[8]
        if wanted is not None and label not in wanted:
            report.warn(name, ln, "unknown_label", f"line {ln + 1}: {label!r} is not in the labels file: left out")
            continue
        if corners.min() < 0 or corners[:, 0].max() > w or corners[:, 1].max() > h:
            report.warn(name, ln, "clipped", f"line {ln + 1}: corners outside the {w}x{h} image clipped")
            corners = np.clip(corners, 0, [w, h])
        if shoelace(corners) <= 1e-9:
            report.warn(name, ln, "zero_area", f"line {ln + 1}: the box has zero area: left out")
            continue
        shapes.append(rotation_shape(label, corners, difficult=len(parts) > 9 and parts[9] == "1"))
    return shapes


def read_dota(path: PathLike, options: Optional[Options] = None, report: Optional[Report] = None) -> List[Item]:
    """Read a DOTA folder (``labelTxt/*.txt`` and ``images/``) into ``rotation`` shapes."""
    options = options or Options()
    report = report if report is not None else Report(format="dota")
    root = Path(path)
    root = root.parent.parent if root.is_file() else root
    labels_dir = root / "labelTxt"
    if not labels_dir.is_dir():
        raise FormatError("not a DOTA folder (no labelTxt/)", root)
    images_dir = options.images_dir or root / "images"
    images = {p.stem: p for p in sorted(images_dir.glob("*")) if is_image_file(p)} if images_dir.is_dir() else {}
    wanted = set(options.labels) if options.labels is not None else None
    files = sorted(labels_dir.glob("*.txt"))
    items = []
    for k, f in enumerate(files):
        options.tick(k, len(files), "reading")
        name = f"labelTxt/{f.name}"
        image = images.get(f.stem)
        if image is None:
            report.warn(name, None, "missing_image", f"no image {f.stem}.* in {images_dir.name}/: skipped")
            report.skipped_images += 1
            continue
        try:
            h, w = image_size(image)
            text = f.read_bytes().decode("utf-8-sig")
        except ImageLoadError as e:
            report.warn(name, None, "bad_image", f"image {image.name}: {e.reason}: skipped")
            report.skipped_images += 1
            continue
        except (OSError, UnicodeDecodeError) as e:
            report.warn(name, None, "unreadable", f"cannot read the label file ({e}): skipped")
            report.skipped_images += 1
            continue
        shapes = _parse_dota(text, (h, w), name, report, wanted)
        items.append(Item(ImageAnnotation(image.name, h, w, shapes), image, f, name))
    options.tick(len(files), len(files), "reading")
    return items
