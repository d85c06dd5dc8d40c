"""YOLO detection and segmentation datasets, in the layout ultralytics reads.

``OUT/data.yaml``, ``OUT/images/{train,val}/NAME.ext`` and ``OUT/labels/{train,val}/NAME.txt``: ultralytics
finds a label file by replacing the last ``/images/`` of the image path with ``/labels/``.

* ``data.yaml`` holds ``names`` (id: name), ``nc``, and ``train`` / ``val`` relative to the yaml's folder.
  It has no ``path`` key on purpose: ultralytics then resolves against the yaml's own folder, so the
  dataset can be moved; a relative ``path`` would be resolved against the current directory.
* Without a split every image is in ``train`` and ``val`` points at the same images (ultralytics requires
  a ``val`` entry); ``split=0.8, seed=N`` sends a reproducible 80 % to train (see
  :func:`anylabel.formats.common.split_subsets`).
* Detection rows: ``cls cx cy w h`` of the instance's box (the union of its parts), normalised.
* OBB rows: ``cls x1 y1 x2 y2 x3 y3 x4 y4``, the instance's rotated box corners, normalised
  (:mod:`.rotated`: rotated rectangles, and other shapes' minimum-area rectangles with ``min_area_rect``).
* Segmentation rows: ``cls x1 y1 x2 y2 ...``; rectangles become 4 corners, circles labelme's polygon,
  masks their outline; several parts are joined by zero-width bridges (:mod:`.yolo_geometry`).
* Rows that would repeat another row of the same file are left out with a warning (ultralytics would
  drop them with its own warning).
* Class ids are 0-based in the order of the labels file (``__ignore__`` / ``_background_`` are not
  classes) or of the sorted discovered labels.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import yaml

from anylabel.formats.base import Item, Options, PathLike, Report
from anylabel.formats.common import NonAsciiNotes, resolve_label_map, split_subsets
from anylabel.formats.instances import Instance
from anylabel.formats.labels import LabelMap
from anylabel.formats.prepare import INCOMING, Placement, prepared_images
from anylabel.formats.rotated import instance_corners
from anylabel.formats.staged import write_new_text
from anylabel.formats.yolo_geometry import bridge_parts, format_row, instance_outline, normalise

TASKS = ("segment", "detect", "obb")


def _rows(instances: List[Instance], item: Item, label_map: LabelMap, task: str, options: Options,
          report: Report) -> List[tuple]:
    """(row text, instance) for each instance (OBB: those that have a rotated box)."""
    ann = item.annotation
    size = h, w = ann.image_height, ann.image_width
    rows = []
    for inst in instances:
        cls = label_map.yolo_id(inst.label)
        if task == "obb":
            corners = instance_corners(inst, ann, options.min_area_rect, item.label, report)
            if corners is None:
                continue
            vals = np.clip(corners / (w, h), 0.0, 1.0).ravel()
        elif task == "detect":
            x1, y1, x2, y2 = inst.box()
            x1, x2 = np.clip([x1, x2], 0, w)
            y1, y2 = np.clip([y1, y2], 0, h)
            vals = np.array([(x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h])
        else:
            vals = normalise(bridge_parts(instance_outline(inst, size)), size)
        rows.append((format_row(cls, vals), inst))
    return rows


def data_yaml(names: Sequence[str], has_val: bool) -> str:
    """The text of ``data.yaml`` (UTF-8, names as an id: name mapping)."""
    body = {
        "train": "images/train",
        "val": "images/val" if has_val else "images/train",
        "nc": len(names),
        "names": {i: n for i, n in enumerate(names)},
    }
    head = ("# written by anylabel; no 'path' key: ultralytics resolves train/val against this file's folder\n")
    return head + yaml.safe_dump(body, allow_unicode=True, sort_keys=False)


@dataclass(frozen=True)
class _YoloContext:
    label_map: LabelMap
    task: str
    min_area_rect: bool


def _yolo_payload(item: Item, instances: List[Instance], ctx: _YoloContext, report: Report) -> List[tuple]:
    """(row, label, first shape index) of each instance, repeated rows left out (runs in a worker)."""
    options = Options(min_area_rect=ctx.min_area_rect)
    out, seen = [], set()
    for row, inst in _rows(instances, item, ctx.label_map, ctx.task, options, report):
        if row in seen:
            report.warn(item.label, inst.shape_indices[0], "duplicate_instance", f"{inst.label!r} repeats another "
                        "instance of this image exactly: left out")
            continue
        seen.add(row)
        out.append((row, inst.label, inst.shape_indices[0]))
    return out


def write_yolo(items: Sequence[Item], out: PathLike, options: Options, task: str = "segment") -> Report:
    """Export ``items`` as a YOLO ``task`` dataset ("segment" or "detect") into the new, empty folder ``out``
    (the registry's staging folder). The instances, their rows and the image copies are made in the workers
    (:mod:`.prepare`); names, files and the split are decided here, in input order.

    Raises:
        AnylabelError: a file cannot be written.
        CancelledError: ``options.cancel`` was set; ``data.yaml`` is then not written.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    out = Path(out)
    report = Report(format={"segment": "yolo-seg", "detect": "yolo-det", "obb": "yolo-obb"}[task])
    label_map = resolve_label_map(items, options)
    filter_map = label_map if label_map.from_file else None
    subsets = {id(item): subset for item, subset in zip(items, split_subsets(items, options.split, options.seed))}
    notes, written = NonAsciiNotes(report), set()
    counts: Dict[str, int] = {"train": 0, "val": 0}
    context = _YoloContext(label_map, task, options.min_area_rect)
    placement = Placement(out / INCOMING, options.image_mode)
    for prep in prepared_images(items, options, report, _yolo_payload, context, filter_map, placement=placement):
        name, src, stem, subset = prep.item.label, prep.src, prep.stem, subsets[id(prep.item)]
        notes.path(stem + src.suffix, name)
        for _, label, index in prep.payload:
            notes.label(label, name, index)
        label_file = out / "labels" / subset / f"{stem}.txt"
        write_new_text(label_file, "".join(row + "\n" for row, _, _ in prep.payload))
        image_file = out / "images" / subset / f"{stem}{src.suffix}"
        prep.place(image_file, options.image_mode)
        written.update((label_file, image_file))
        counts[subset] += 1
        report.instances += len(prep.payload)
    for subset in ("train", "val"):  # ultralytics expects both folders to exist
        (out / "images" / subset).mkdir(parents=True, exist_ok=True)
        (out / "labels" / subset).mkdir(parents=True, exist_ok=True)
    write_new_text(out / "data.yaml", data_yaml(label_map.names, counts["val"] > 0))
    report.images = counts["train"] + counts["val"]
    report.classes = list(label_map.names)
    report.files = ["data.yaml"] + sorted(p.relative_to(out).as_posix() for p in written)
    if options.split is not None and options.split < 1.0 and counts["val"] == 0:
        report.warn("data.yaml", None, "empty_val", "the val subset is empty (fewer than 2 images): val points "
                    "at train")
    return report


def write_yolo_seg(items: Sequence[Item], out: PathLike, options: Options) -> Report:
    """YOLO segmentation export (see :func:`write_yolo`)."""
    return write_yolo(items, out, options, "segment")


def write_yolo_obb(items: Sequence[Item], out: PathLike, options: Options) -> Report:
    """YOLO oriented-box export, ultralytics' OBB rows ``cls x1 y1 ... x4 y4`` (see :func:`write_yolo` and
    :mod:`anylabel.formats.rotated`)."""
    return write_yolo(items, out, options, "obb")


def write_yolo_det(items: Sequence[Item], out: PathLike, options: Options) -> Report:
    """YOLO detection export (see :func:`write_yolo`)."""
    return write_yolo(items, out, options, "detect")


def load_names(value: object) -> Optional[List[str]]:
    """ultralytics' ``names`` (a list, or a mapping id: name with ids 0..n-1) as a list, else ``None``."""
    if isinstance(value, list) and all(isinstance(n, (str, int, float)) for n in value):
        return [str(n) for n in value]
    if isinstance(value, dict):
        try:
            ids = sorted(int(k) for k in value)
        except (TypeError, ValueError):
            return None
        if ids == list(range(len(ids))):
            by_id = {int(k): str(v) for k, v in value.items()}
            return [by_id[i] for i in ids]
    return None
