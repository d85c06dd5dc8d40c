"""The ``labelme`` dataset format: a folder of LabelMe JSON files (through :mod:`anylabel.formats.labelme`).

Writing (the target of ``anylabel import`` and of ``anylabel export --format labelme``):

* one ``NAME.json`` per image, named after the image (unique, case-insensitively; see
  :class:`~anylabel.formats.images.NamePool`);
* ``image_mode="reference"`` leaves the images where they are and writes ``imagePath`` relative to the
  JSON; the other modes copy or link the image next to the JSON, so the folder is self-contained;
* an image whose size differs from the annotation's is skipped (its coordinates cannot be trusted); a
  missing image is written with a ``missing_image`` warning in reference mode (the shapes are kept, the
  user can fix the path) and skipped otherwise;
* with a labels file, shapes with other labels are left out (``unknown_label``); shapes with non-finite
  coordinates are left out (``bad_coordinates``). All shape types are kept, including points and lines.

Reading is :func:`anylabel.formats.folder.read_labelme_folder`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional, Sequence, Set

import numpy as np

from anylabel.document import Shape
from anylabel.formats.base import Item, Options, PathLike, Report
from anylabel.formats.common import NonAsciiNotes
from anylabel.formats.images import NamePool, check_image, place_image
from anylabel.formats.labelme import labelme_text
from anylabel.formats.labels import IGNORE, label_map_from_list
from anylabel.formats.staged import write_new_text


def _kept_shapes(item: Item, allowed: Optional[Set[str]], report: Report, notes: NonAsciiNotes) -> List[Shape]:
    kept = []
    for pos, shape in enumerate(item.annotation.shapes):
        index = item.shape_ids[pos] if item.shape_ids is not None else pos
        if allowed is not None and shape.label not in allowed:
            report.warn(item.label, index, "unknown_label",
                        f"label {shape.label!r} is not in the labels file: left out")
            continue
        if not np.isfinite(shape.points_array()).all():
            report.warn(item.label, index, "bad_coordinates", f"{shape.shape_type} {shape.label!r} has non-finite "
                        "coordinates: left out")
            continue
        notes.label(shape.label, item.label, index)
        kept.append(shape)
    return kept


def _instance_count(shapes: Sequence[Shape]) -> int:
    keys = {(s.label, s.group_id) if s.group_id is not None else ("single", i) for i, s in enumerate(shapes)}
    return len(keys)


def write_labelme_folder(items: Sequence[Item], out: PathLike, options: Options) -> Report:
    """Write ``items`` as LabelMe JSON files into the new, empty folder ``out`` (the registry's staging folder;
    see the module docstring).

    Raises:
        AnylabelError: a file cannot be written.
        CancelledError: ``options.cancel`` was set.
    """
    out = Path(out)
    report = Report(format="labelme")
    allowed = None
    if options.labels is not None:
        allowed = set(label_map_from_list(options.labels).names) | {IGNORE}
    pool, notes = NamePool(), NonAsciiNotes(report)
    classes: Set[str] = set()
    for k, item in enumerate(items):
        options.tick(k, len(items), "writing")
        ann = item.annotation.copy()
        name = item.label
        reference = options.image_mode == "reference"
        if reference and item.image is None and not ann.image_data:
            report.warn(name, None, "missing_image", f"image {ann.image_path!r} not found: written without it")
            src = None
            key, stem, suffix = None, Path(ann.image_path).stem or Path(name).stem, Path(ann.image_path).suffix
        else:
            src = check_image(item, name, report, options)
            if src is None:
                report.skipped_images += 1
                continue
            key = str(src.path.resolve()) if src.path is not None else None
            stem, suffix = src.stem, src.suffix
        stem = pool.claim_stem(key, stem, suffix, name, report)
        if stem is None:
            report.skipped_images += 1
            continue
        notes.path(stem + suffix, name)
        ann.shapes = _kept_shapes(item, allowed, report, notes)
        json_file = out / f"{stem}.json"
        if reference:
            target = item.image if item.image is not None else (options.images_dir or out) / ann.image_path
            ann.image_path = Path(os.path.relpath(Path(target).absolute(), out.absolute())).as_posix()
            if item.image is not None:
                ann.image_data = None
        else:
            place_image(src, out / f"{stem}{suffix}", options.image_mode)
            ann.image_path = f"{stem}{suffix}"
            ann.image_data = None
            report.files.append(f"{stem}{suffix}")
        write_new_text(json_file, labelme_text(ann, json_file))
        report.files.append(json_file.name)
        report.images += 1
        report.instances += _instance_count([s for s in ann.shapes if s.label != IGNORE])
        classes.update(s.label for s in ann.shapes if s.label != IGNORE)
    options.tick(len(items), len(items), "writing")
    report.classes = sorted(classes)
    return report
