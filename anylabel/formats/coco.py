"""COCO instances: ``OUT/annotations.json`` plus the images in ``OUT/images/``.

Writing follows labelme's ``labelme2coco.py`` so our file matches labelme's own export:

* one instance per ``(label, group_id)`` (see :mod:`anylabel.formats.instances`); its ``segmentation`` is
  the list of its polygons (a multi-polygon instance for grouped parts), or, when any part is a mask shape,
  the compressed RLE of the union (pycocotools' encoding);
* ``area`` and ``bbox`` are measured on the instance's pixels as labelme rasterises them (PIL polygon
  fill with outline, the same as ``labelme.utils.shape_to_mask``), ``bbox`` through the same rule as
  ``pycocotools.mask.toBbox``: ``[x, y, w, h]`` of the pixel extent;
* rectangles are written as their 4 corners (labelme's script overwrites them with the 2 raw corners,
  which pycocotools then misreads as a box) and circles as labelme's polygon;
* categories from the labels file with labelme's ids (see :mod:`anylabel.formats.labels`); ``iscrowd`` is
  0 unless the source shape came from a crowd annotation. Image and annotation ids start at 1.
* ``file_name`` is the bare image name: the image root is ``OUT/images``.
* a shape's ``track_id`` and ``score`` are kept as extra annotation keys (pycocotools ignores them).
"""
from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from anylabel import __version__
from anylabel.document import ImageAnnotation, Shape
from anylabel.errors import FormatError, GeometryError
from anylabel.fileio import read_json
from anylabel.formats.base import Item, Options, PathLike, Report
from anylabel.formats.common import NonAsciiNotes, resolve_label_map
from anylabel.formats.folder import is_inside
from anylabel.formats.instances import Instance
from anylabel.formats.prepare import INCOMING, Placement, prepared_images
from anylabel.formats.staged import write_new_text
from anylabel.geometry.rle import rle_decode, rle_encode


def coco_annotation(inst: Instance, size: Tuple[int, int], ann_id: int, image_id: int, cat_id: int) -> Dict:
    """The COCO annotation dict of one instance (see the module docstring for the conventions)."""
    area, extent = inst.pixel_extent(size)
    if extent is not None:
        bbox = [float(v) for v in extent]
    else:  # a sliver thinner than a pixel that PIL did not light: fall back to its geometric box
        x1, y1, x2, y2 = inst.box()
        bbox = [x1, y1, x2 - x1, y2 - y1]
    if inst.masks:
        seg: Any = rle_encode(inst.full_mask(size))
    else:
        seg = [p.ravel().tolist() for p in inst.polygons]
    d = {"id": ann_id, "image_id": image_id, "category_id": cat_id, "segmentation": seg,
         "area": float(area), "bbox": bbox, "iscrowd": int(inst.iscrowd)}
    if isinstance(inst.track_id, int) and not isinstance(inst.track_id, bool):
        d["track_id"] = inst.track_id
    if inst.score is not None and np.isfinite(inst.score):  # NaN is not JSON
        d["score"] = float(inst.score)
    return d


#: one encoder for every annotation (json.dumps with options builds a new one per call)
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _coco_records(item: Item, instances: List[Instance], _context: None, report: Report) -> List[tuple]:
    """(label, first shape index, the annotation's JSON without its ids) of each instance (runs in a worker:
    the encoding too; it depends on no other file, so the reading worker can do it, see ``prepare``)."""
    ann = item.annotation
    size = (ann.image_height, ann.image_width)
    out = []
    for inst in instances:
        record = coco_annotation(inst, size, 0, 0, 0)
        for key in ("id", "image_id", "category_id"):
            del record[key]
        out.append((inst.label, inst.shape_indices[0], _ENCODE(record)))
    return out


#: the per-image work of a COCO export, for the registry (done while reading, on every core)
COCO_COMPUTE = _coco_records


def write_coco(items: Sequence[Item], out: PathLike, options: Options) -> Report:
    """Export ``items`` as COCO instances into the new, empty folder ``out`` (the registry's staging folder).

    The images' checks, the instances' rasterisation and their JSON run on every core (:mod:`.prepare`);
    ids, names and files are assigned here in input order, so the output does not depend on the number of
    workers.

    Raises:
        AnylabelError: a file cannot be written.
        CancelledError: ``options.cancel`` was set; ``annotations.json`` is then not written.
    """
    out = Path(out)
    report = Report(format="coco")
    label_map = resolve_label_map(items, options)
    filter_map = label_map if label_map.from_file else None
    notes = NonAsciiNotes(report)
    images: List[Dict] = []
    annotations: List[str] = []
    placement = Placement(out / INCOMING, options.image_mode)
    for prep in prepared_images(items, options, report, _coco_records, None, filter_map, placement=placement):
        ann, name = prep.item.annotation, prep.item.label
        file_name = prep.stem + prep.src.suffix
        notes.path(file_name, name)
        prep.place(out / "images" / file_name, options.image_mode)
        image_id = len(images) + 1
        entry = {"id": image_id, "file_name": file_name, "height": ann.image_height, "width": ann.image_width}
        if ann.frame_index is not None:
            entry["frame_index"] = ann.frame_index
        images.append(entry)
        for label, index, body in prep.payload:
            notes.label(label, name, index)
            annotations.append(f'{{"id":{len(annotations) + 1},"image_id":{image_id},'
                               f'"category_id":{label_map.coco_id(label)},{body[1:]}')
    data = {
        "info": {"description": "exported by anylabel", "version": __version__,
                 "date_created": datetime.datetime.now().isoformat(timespec="seconds")},
        "licenses": [],
        "images": images,
    }
    head = json.dumps(data, ensure_ascii=False, separators=(",", ":"))[:-1]
    categories = json.dumps(label_map.coco_categories(), ensure_ascii=False, separators=(",", ":"))
    write_new_text(out / "annotations.json",
                      f'{head},"annotations":[{",".join(annotations)}],"categories":{categories}}}')
    report.images, report.instances, report.classes = len(images), len(annotations), list(label_map.names)
    report.files = ["annotations.json"] + [f"images/{im['file_name']}" for im in images]
    return report


def find_coco_file(path: PathLike) -> Path:
    """``path`` itself, or ``path/annotations.json``, or the only ``*.json`` in the folder ``path``."""
    path = Path(path)
    if path.is_file():
        return path
    if (path / "annotations.json").is_file():
        return path / "annotations.json"
    found = sorted(path.glob("*.json")) if path.is_dir() else []
    if len(found) == 1:
        return found[0]
    raise FormatError("no COCO annotations file (expected a .json file or a folder with annotations.json)", path)


def _find_image(file_name: str, coco_dir: Path, options: Options) -> Tuple[Optional[Path], bool]:
    """The image of ``file_name`` in ``options.images_dir``, ``images/`` beside the COCO file or beside it,
    and whether a match outside those folders (absolute, ``../``) was refused."""
    rel = Path(file_name.replace("\\", "/"))
    roots = ([options.images_dir] if options.images_dir else []) + [coco_dir / "images", coco_dir]
    refused = False
    for root in roots:
        for p in (rel, Path(rel.name)):
            candidate = root / p
            if not candidate.is_file():
                continue
            if options.allow_outside or is_inside(candidate, root):
                return candidate, refused
            refused = True
    return None, refused


def read_coco(path: PathLike, options: Optional[Options] = None, report: Optional[Report] = None) -> List[Item]:
    """Read a COCO instances file into one item per image (polygons, RLE masks, or boxes as rectangles).

    * A multi-polygon instance becomes polygons sharing a new ``group_id``; an RLE (compressed or
      uncompressed ``counts``, as crowd annotations use) becomes a ``mask`` shape; an annotation without
      segmentation becomes a rectangle from its ``bbox``. ``iscrowd`` is kept in the shape's extra keys.
    * Broken entries become warnings naming ``annotations.json`` and the annotation's index.
    * Images are looked for in ``options.images_dir``, then ``images/`` beside the file, then beside it.

    Raises:
        FormatError: the file is not JSON or not a COCO instances file.
    """
    options = options or Options()
    report = report if report is not None else Report(format="coco")
    file = find_coco_file(path)
    data = read_json(file)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) or not isinstance(
            data.get("annotations", []), list):
        raise FormatError("not a COCO instances file (needs 'images' and 'annotations' lists)", file)
    fname = file.name
    cats: Dict[Any, str] = {}
    categories = data.get("categories")
    if not isinstance(categories, list):
        report.warn(fname, None, "bad_categories", "no 'categories' list: every annotation's category is unknown")
        categories = []
    for c in categories:
        if isinstance(c, dict) and isinstance(c.get("name"), str) and _id(c.get("id")) is not None:
            cats[_id(c["id"])] = c["name"]
    images: Dict[Any, Tuple[Dict, List[Shape]]] = {}
    for i, im in enumerate(data["images"]):
        problem = _bad_image_entry(im)
        if problem:
            report.warn(fname, None, "bad_image_entry", f"images[{i}]: {problem}: skipped")
            report.skipped_images += 1
        elif _id(im["id"]) in images:
            report.warn(fname, None, "duplicate_image", f"images[{i}]: image id {im['id']} repeats: skipped")
        else:
            images[_id(im["id"])] = (im, [])
    for j, a in enumerate(data.get("annotations", [])):
        if not isinstance(a, dict) or _id(a.get("image_id")) not in images:
            report.warn(fname, j, "bad_annotation", "annotation without a known image_id: left out")
            continue
        im, shapes = images[_id(a["image_id"])]
        next_group = 1 + max((s.group_id for s in shapes if s.group_id is not None), default=0)
        shapes += _shapes_from_annotation(a, j, (im["height"], im["width"]), cats, fname, report, next_group)
    items: List[Item] = []
    for k, (im, shapes) in enumerate(images.values()):
        options.tick(k, len(images), "reading")
        image, refused = _find_image(im["file_name"], file.parent, options)
        if refused and image is None:
            report.warn(fname, None, "outside_input", f"file_name {im['file_name']!r} leads outside the images "
                        "folder: not followed (--allow-outside follows it)")
        frame = im.get("frame_index")
        ann = ImageAnnotation(image_path=im["file_name"].replace("\\", "/"), image_height=int(im["height"]),
                              image_width=int(im["width"]), shapes=shapes,
                              frame_index=frame if isinstance(frame, int) else None)
        items.append(Item(ann, image, file, f"{fname}: {im['file_name']}"))
    options.tick(len(images), len(images), "reading")
    return items


def _id(value: Any) -> Any:
    """A COCO id (an integer, or a string as some tools write) usable as a key, else ``None``."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    return value


def _bad_image_entry(im: Any) -> str:
    if not isinstance(im, dict):
        return "not an object"
    if not isinstance(im.get("file_name"), str) or not im["file_name"].strip():
        return "no file_name"
    if _id(im.get("id")) is None:
        return "no usable id (an integer or a string)"
    for k in ("height", "width"):
        v = im.get(k)
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            return f"{k} must be a positive integer, got {v!r}"
    return ""


def _shapes_from_annotation(a: Dict, j: int, size: Tuple[int, int], cats: Dict, fname: str, report: Report,
                            next_group: int) -> List[Shape]:
    cat = _id(a.get("category_id"))
    if cat not in cats:
        report.warn(fname, j, "unknown_category", f"category_id {cat!r} is not in 'categories': left out")
        return []
    label = cats[cat]
    extra = {"iscrowd": 1} if a.get("iscrowd") else {}
    track = a.get("track_id") if isinstance(a.get("track_id"), int) else None
    score = a.get("score") if isinstance(a.get("score"), (int, float)) else None
    seg = a.get("segmentation")

    def make(points, shape_type="polygon", group=None, mask=None) -> Shape:
        return Shape(label=label, points=points, shape_type=shape_type, group_id=group, track_id=track,
                     score=score, mask=mask, extra=dict(extra))

    if isinstance(seg, list) and seg:
        polys = [seg] if all(isinstance(v, (int, float)) for v in seg) else seg  # an unnested single polygon
        good = []
        for p in polys:
            arr = _polygon_array(p)
            if arr is None:
                report.warn(fname, j, "too_few_points", "a polygon with fewer than 3 points or odd or non-numeric "
                            "coordinates: left out")
            else:
                good.append(arr)
        group = next_group if len(good) > 1 else None  # the parts of one instance
        return [make(p, group=group) for p in good]
    if isinstance(seg, dict):
        if seg.get("size") != [size[0], size[1]]:  # checked before decoding: a hostile size could be huge
            report.warn(fname, j, "bad_mask", f"RLE size {seg.get('size')!r} differs from the image's "
                        f"{list(size)}: left out")
            return []
        problem = _rle_problem(seg, size)
        if problem:
            report.warn(fname, j, "bad_mask", f"{problem}: left out")
            return []
        mask = rle_decode(seg)
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        if rows.size == 0:
            report.warn(fname, j, "zero_area", "the RLE mask is empty: left out")
            return []
        box = [(float(cols[0]), float(rows[0])), (float(cols[-1]), float(rows[-1]))]
        return [make(box, "mask", mask=rle_encode(mask))]
    box = a.get("bbox")
    if (isinstance(box, list) and len(box) == 4 and all(isinstance(v, (int, float)) for v in box)
            and np.isfinite(box).all() and box[2] > 0 and box[3] > 0):
        x, y, w, h = (float(v) for v in box)
        return [make([(x, y), (x + w, y + h)], "rectangle")]
    report.warn(fname, j, "bad_annotation", "no usable segmentation or bbox: left out")
    return []


def _rle_problem(seg: Dict, size: Tuple[int, int]) -> str:
    """Why an RLE cannot be trusted, or "".

    pycocotools decodes counts that do not cover the whole h x w image without complaint, filling the rest
    from uninitialised memory (a different mask on every run). Uncompressed counts must be non-negative
    integers summing to h * w; compressed counts must survive decode → encode unchanged (pycocotools'
    encoding is canonical, and a truncated string never re-encodes to itself).
    """
    counts, n = seg.get("counts"), size[0] * size[1]
    if isinstance(counts, list):
        if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
            return "uncompressed RLE counts must be non-negative integers"
        return "" if sum(counts) == n else f"RLE counts cover {sum(counts)} pixels, the image has {n}"
    if not isinstance(counts, str):
        return "RLE counts must be a string or a list of integers"
    try:
        mask = rle_decode(seg)
    except GeometryError as e:
        return e.reason
    if rle_encode(mask)["counts"] != counts:
        return f"RLE counts do not describe exactly the {size[1]}x{size[0]} image (truncated or corrupt)"
    return ""


def _polygon_array(p: Any) -> Optional[np.ndarray]:
    if not isinstance(p, list) or len(p) < 6 or len(p) % 2:
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p):
        return None
    arr = np.asarray(p, dtype=np.float64).reshape(-1, 2)
    return arr if np.isfinite(arr).all() else None
