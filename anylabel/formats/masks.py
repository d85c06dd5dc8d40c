"""Mask PNGs for segmentation training: a semantic map and an instance map per image, and the class list.

``OUT/images/NAME.ext``, ``OUT/semantic/NAME.png``, ``OUT/instances/NAME.png``, ``OUT/classes.txt``.

* ``semantic/NAME.png``: an 8-bit palette PNG (VOC colours, so it is viewable) whose values are class ids:
  0 background, ``classes.txt`` line ``i`` (0-based, line 0 ``_background_``) is class ``i``, 255 the
  ``__ignore__`` regions (the usual ``ignore_index=255`` of segmentation losses). Up to 254 classes.
* ``instances/NAME.png``: a 16-bit grayscale PNG, 0 background (and ignore regions), 1..N the image's
  instances in the order they first appear in the file (up to 65,535).
* The pixel rules are :mod:`.label_maps`'s (labelme's); classes come from the labels file or the sorted
  labels, with labelme's ids.

Reading gives one mask shape per instance, labelled by the class most of its pixels have.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from anylabel.document import ImageAnnotation
from anylabel.errors import FormatError
from anylabel.formats.base import Item, Options, PathLike, Report
from anylabel.formats.common import NonAsciiNotes, resolve_label_map
from anylabel.formats.instances import Instance
from anylabel.formats.label_maps import gray16_png, paint_maps, palette_png, read_png_values, shapes_from_maps
from anylabel.formats.labels import BACKGROUND
from anylabel.formats.prepare import INCOMING, Placement, prepared_images
from anylabel.formats.staged import write_new_bytes, write_new_text

MAX_CLASSES = 254
MAX_INSTANCES = 65_535


def _masks_payload(item: Item, instances: List[Instance], ids: Dict[str, int], report: Report) -> dict:
    if len(instances) > MAX_INSTANCES:
        report.warn(item.label, instances[MAX_INSTANCES].shape_indices[0], "too_many_instances",
                    f"{len(instances)} instances: a 16-bit map holds {MAX_INSTANCES}; the rest are left out")
        instances = instances[:MAX_INSTANCES]
    cls, ins = paint_maps(item.annotation, instances, ids.__getitem__, dtype=np.uint16)
    return {"semantic": palette_png(cls.astype(np.uint8)), "instances": gray16_png(ins),
            "labels": [(i.label, i.shape_indices[0]) for i in instances]}


def write_masks(items: Sequence[Item], out: PathLike, options: Options) -> Report:
    """Export ``items`` as semantic + instance mask PNGs into the staging folder ``out``."""
    out = Path(out)
    report = Report(format="masks")
    label_map = resolve_label_map(items, options)
    ids = {n: label_map.coco_id(n) for n in label_map.names}
    if max(ids.values(), default=0) > MAX_CLASSES:
        raise FormatError(f"{len(ids)} classes: an 8-bit semantic map holds {MAX_CLASSES} (255 is ignore)")
    notes = NonAsciiNotes(report)
    files: List[str] = []
    placement = Placement(out / INCOMING, options.image_mode)  # the workers copy the images
    for prep in prepared_images(items, options, report, _masks_payload, ids,
                                label_map if label_map.from_file else None, placement=placement):
        stem, payload = prep.stem, prep.payload
        notes.path(stem + prep.src.suffix, prep.item.label)
        prep.place(out / "images" / f"{stem}{prep.src.suffix}", options.image_mode)
        write_new_bytes(out / "semantic" / f"{stem}.png", payload["semantic"])
        write_new_bytes(out / "instances" / f"{stem}.png", payload["instances"])
        for label, index in payload["labels"]:
            notes.label(label, prep.item.label, index)
        report.instances += len(payload["labels"])
        files += [f"images/{stem}{prep.src.suffix}", f"semantic/{stem}.png", f"instances/{stem}.png"]
    names = [BACKGROUND] + [""] * max(ids.values(), default=0)
    for n, i in ids.items():
        names[i] = n
    write_new_text(out / "classes.txt", "\n".join(names) + "\n")
    report.images, report.classes = len(files) // 3, list(label_map.names)
    report.files = ["classes.txt"] + files
    return report


def read_masks(path: PathLike, options: Optional[Options] = None, report: Optional[Report] = None) -> List[Item]:
    """Read a masks dataset (the layout above): one mask shape per instance of each image."""
    options = options or Options()
    report = report if report is not None else Report(format="masks")
    root = Path(path)
    root = root.parent if root.is_file() else root
    if not (root / "instances").is_dir() or not (root / "semantic").is_dir():
        raise FormatError("not a masks dataset (needs semantic/ and instances/ folders)", root)
    if options.labels is not None:
        names = [n for n in options.labels if n != "__ignore__"]
    elif (root / "classes.txt").is_file():
        try:
            names = (root / "classes.txt").read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise FormatError(f"cannot read classes.txt: {e}", root / "classes.txt") from e
    else:
        raise FormatError("no classes.txt (or --labels): the class values have no names", root)
    images = {p.stem: p for p in sorted((options.images_dir or root / "images").glob("*")) if p.is_file()}
    files = sorted((root / "instances").glob("*.png"))
    items = []
    for k, ins_f in enumerate(files):
        options.tick(k, len(files), "reading")
        name = f"instances/{ins_f.name}"
        sem_f = root / "semantic" / ins_f.name
        try:
            ins, cls = read_png_values(ins_f), read_png_values(sem_f)
        except (OSError, ValueError) as e:
            report.warn(name, None, "bad_mask", f"unreadable mask PNG ({e}): skipped")
            report.skipped_images += 1
            continue
        if ins.shape != cls.shape:
            report.warn(name, None, "bad_mask", f"semantic/{ins_f.name} is not the size of the instance map: skipped")
            report.skipped_images += 1
            continue
        shapes = shapes_from_maps(cls, ins, lambda v, _k: names[v] if 0 <= v < len(names) else None, name, report)
        image = images.get(ins_f.stem)
        h, w = ins.shape
        ann = ImageAnnotation(image_path=image.name if image else f"{ins_f.stem}.png", image_height=h,
                              image_width=w, shapes=shapes)
        items.append(Item(ann, image, ins_f, name))
    options.tick(len(files), len(files), "reading")
    return items
