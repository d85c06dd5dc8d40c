"""Pascal VOC for instance segmentation, as labelme's ``labelme2voc.py`` writes it, plus the XML boxes.

``OUT/JPEGImages/NAME.jpg``, ``OUT/Annotations/NAME.xml``, ``OUT/SegmentationClass/NAME.png``,
``OUT/SegmentationObject/NAME.png``, ``OUT/class_names.txt`` and ``OUT/ImageSets/Segmentation/default.txt``.

* Class ids: from the labels file in labelme's convention (``__ignore__`` first, then ``_background_`` =
  0, then the classes 1, 2, ...); without one, ``_background_`` then the sorted labels. ``class_names.txt``
  lists ``_background_`` and the classes in id order (labelme's file).
* The PNGs are palette images with the VOC colours; the pixel rules are :mod:`.label_maps`'s (labelme's,
  ``__ignore__`` = 255 in SegmentationClass).
* ``Annotations/NAME.xml``: one ``<object>`` per instance, in instance-id order (object ``k`` is value
  ``k`` of SegmentationObject), with ``<bndbox>`` the instance's box in pixels (floats, as labelme's
  ``bbox_detection/labelme2voc.py`` writes them) and ``<difficult>`` from the shapes' ``difficult`` flag.
  ``pose`` / ``truncated`` are filled (``Unspecified`` / 0): readers that ``int()`` them do not fail.
* JPEG images are copied (or linked); other formats are converted to JPEG (quality 95) because VOC
  readers open ``JPEGImages/NAME.jpg``.
* More than 254 instances in one image cannot be stored in an 8-bit object PNG: the rest are left out
  of it and of the XML with a warning (``too_many_instances``); use ``--format masks`` (16-bit) for those.

Reading (``anylabel import --format voc``): with SegmentationObject and SegmentationClass PNGs, each
instance becomes a mask shape labelled by its pixels' class (names from ``class_names.txt`` or the
labels file); without them, each XML object becomes a rectangle.
"""
from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from anylabel.document import ImageAnnotation, Shape
from anylabel.errors import FormatError
from anylabel.formats.base import Item, Options, PathLike, Report
from anylabel.formats.common import NonAsciiNotes, resolve_label_map
from anylabel.formats.images import place_image
from anylabel.formats.instances import Instance
from anylabel.formats.label_maps import paint_maps, palette_png, read_png_values, shapes_from_maps
from anylabel.formats.labels import BACKGROUND, LabelMap
from anylabel.formats.prepare import prepared_images
from anylabel.formats.staged import write_new_bytes, write_new_text

MAX_OBJECTS = 254
_JPEG = (".jpg", ".jpeg")


def _voc_ids(label_map: LabelMap) -> Dict[str, int]:
    """Class value of each name: labelme's ids (``_background_`` = 0, the classes 1..N in file order)."""
    return {n: label_map.coco_id(n) for n in label_map.names}


def _xml(stem: str, size: Tuple[int, int], instances: List[Instance]) -> bytes:
    h, w = size
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "JPEGImages"
    ET.SubElement(root, "filename").text = f"{stem}.jpg"
    sz = ET.SubElement(root, "size")
    for key, value in (("width", w), ("height", h), ("depth", 3)):
        ET.SubElement(sz, key).text = str(value)
    ET.SubElement(root, "segmented").text = "1"
    for inst in instances:
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = inst.label
        ET.SubElement(obj, "pose").text = "Unspecified"
        ET.SubElement(obj, "truncated").text = "0"
        ET.SubElement(obj, "difficult").text = "1" if inst.difficult else "0"
        box = ET.SubElement(obj, "bndbox")
        for key, value in zip(("xmin", "ymin", "xmax", "ymax"), inst.box()):
            ET.SubElement(box, key).text = repr(round(float(value), 3))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=False) + b"\n"


def _voc_payload(item: Item, instances: List[Instance], ids: Dict[str, int], report: Report) -> dict:
    """The PNG bytes and the kept instances of one image (runs in a worker)."""
    ann = item.annotation
    if len(instances) > MAX_OBJECTS:
        report.warn(item.label, instances[MAX_OBJECTS].shape_indices[0], "too_many_instances",
                    f"{len(instances)} instances: an 8-bit SegmentationObject holds {MAX_OBJECTS}; the rest are "
                    "left out (--format masks writes 16-bit instance maps)")
        instances = instances[:MAX_OBJECTS]
    cls, ins = paint_maps(ann, instances, ids.__getitem__)
    return {"class_png": palette_png(cls), "object_png": palette_png(ins), "instances": instances}


def _jpeg_bytes(item: Item, src) -> bytes:
    data = src.data if src.data is not None else src.path.read_bytes()
    with Image.open(io.BytesIO(data)) as img:
        buf = io.BytesIO()
        img.convert("RGB").save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def write_voc(items: Sequence[Item], out: PathLike, options: Options) -> Report:
    """Export ``items`` as a VOC instance-segmentation dataset into the staging folder ``out``."""
    out = Path(out)
    report = Report(format="voc")
    label_map = resolve_label_map(items, options)
    ids = _voc_ids(label_map)
    notes = NonAsciiNotes(report)
    stems: List[str] = []
    for prep in prepared_images(items, options, report, _voc_payload, ids,
                                label_map if label_map.from_file else None):
        stem, src, payload = prep.stem, prep.src, prep.payload
        ann = prep.item.annotation
        notes.path(stem + ".jpg", prep.item.label)
        if src.path is not None and src.suffix.lower() in _JPEG:
            place_image(src, out / "JPEGImages" / f"{stem}.jpg", options.image_mode)
        else:
            write_new_bytes(out / "JPEGImages" / f"{stem}.jpg", _jpeg_bytes(prep.item, src))
        write_new_bytes(out / "SegmentationClass" / f"{stem}.png", payload["class_png"])
        write_new_bytes(out / "SegmentationObject" / f"{stem}.png", payload["object_png"])
        for inst in payload["instances"]:
            notes.label(inst.label, prep.item.label, inst.shape_indices[0])
        write_new_bytes(out / "Annotations" / f"{stem}.xml",
                           _xml(stem, (ann.image_height, ann.image_width), payload["instances"]))
        report.instances += len(payload["instances"])
        stems.append(stem)
    names = [BACKGROUND] + sorted(ids, key=ids.__getitem__)
    write_new_text(out / "class_names.txt", "\n".join(names) + "\n")
    write_new_text(out / "ImageSets" / "Segmentation" / "default.txt", "".join(s + "\n" for s in stems))
    report.images, report.classes = len(stems), list(label_map.names)
    report.files = ["class_names.txt", "ImageSets/Segmentation/default.txt"] + [
        f"{d}/{s}{ext}" for s in stems for d, ext in (("JPEGImages", ".jpg"), ("Annotations", ".xml"),
                                                       ("SegmentationClass", ".png"), ("SegmentationObject", ".png"))]
    return report


# --- reading ------------------------------------------------------------------------------------------------
def _root(path: Path) -> Path:
    if path.is_file():
        return path.parent.parent if path.parent.name == "Annotations" else path.parent
    if not path.is_dir():
        raise FormatError("no such VOC folder", path)
    return path


def _class_names(root: Path, options: Options) -> Optional[List[str]]:
    if options.labels is not None:
        return [n for n in options.labels if n != "__ignore__"]
    f = root / "class_names.txt"
    if f.is_file():
        try:
            return [ln.strip() for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()]
        except (OSError, UnicodeDecodeError) as e:
            raise FormatError(f"cannot read class_names.txt: {e}", f) from e
    return None


def _parse_xml(path: Path, name: str, report: Report) -> Optional[ET.Element]:
    try:
        if path.stat().st_size > 50_000_000:
            report.warn(name, None, "bad_xml", "larger than 50 MB: skipped")
            return None
        return ET.parse(path).getroot()  # expat >= 2.4 refuses entity expansion bombs; no external entities
    except (ET.ParseError, OSError, ValueError) as e:
        report.warn(name, None, "bad_xml", f"not readable XML ({e}): skipped")
        return None


def _box_of(obj: ET.Element) -> Optional[Tuple[float, float, float, float]]:
    try:
        vals = [float(obj.find("bndbox").find(k).text) for k in ("xmin", "ymin", "xmax", "ymax")]
    except (AttributeError, TypeError, ValueError):
        return None
    x1, y1, x2, y2 = vals
    return (x1, y1, x2, y2) if np.isfinite(vals).all() and x2 > x1 and y2 > y1 else None


def _mask_shapes(root: Path, stem: str, size: Tuple[int, int], names: Optional[List[str]], objects: list,
                 name: str, report: Report) -> Optional[List[Shape]]:
    """Instances from the two PNGs, or ``None`` when they are absent or unusable (then the XML boxes)."""
    cls_f, obj_f = root / "SegmentationClass" / f"{stem}.png", root / "SegmentationObject" / f"{stem}.png"
    if not (cls_f.is_file() and obj_f.is_file()):
        return None
    try:
        cls, ins = read_png_values(cls_f), read_png_values(obj_f)
    except (OSError, ValueError) as e:
        report.warn(name, None, "bad_mask", f"segmentation PNG unreadable ({e}): the XML boxes are used")
        return None
    if cls.shape != size or ins.shape != size:
        report.warn(name, None, "bad_mask", f"segmentation PNGs are not {size[1]}x{size[0]}: the XML boxes are used")
        return None
    def name_of(value: int, k: int) -> Optional[str]:
        if names is not None:
            return names[value] if 0 <= value < len(names) else None
        return objects[k - 1].findtext("name") if k - 1 < len(objects) else None

    extras = {k + 1: {"difficult": True} for k, o in enumerate(objects) if o.findtext("difficult") == "1"}
    return shapes_from_maps(cls, ins, name_of, name, report, extras)


def read_voc(path: PathLike, options: Optional[Options] = None, report: Optional[Report] = None) -> List[Item]:
    """Read a VOC folder (``Annotations/*.xml``, ``JPEGImages/``, the segmentation PNGs when present)."""
    options = options or Options()
    report = report if report is not None else Report(format="voc")
    root = _root(Path(path))
    names = _class_names(root, options)
    xmls = sorted((root / "Annotations").glob("*.xml"))
    if not xmls:
        raise FormatError("no Annotations/*.xml files (not a VOC folder)", root)
    images_dir = options.images_dir or root / "JPEGImages"
    items = []
    for k, xml_path in enumerate(xmls):
        options.tick(k, len(xmls), "reading")
        name = f"Annotations/{xml_path.name}"
        tree = _parse_xml(xml_path, name, report)
        if tree is None:
            report.skipped_images += 1
            continue
        try:
            w, h = int(tree.find("size").findtext("width")), int(tree.find("size").findtext("height"))
        except (AttributeError, TypeError, ValueError):
            w = h = 0
        if not (0 < w <= 100_000 and 0 < h <= 100_000):
            report.warn(name, None, "bad_image_entry", "no usable <size> width / height: skipped")
            report.skipped_images += 1
            continue
        file_name = Path((tree.findtext("filename") or f"{xml_path.stem}.jpg").replace("\\", "/")).name
        image = images_dir / file_name
        objects = tree.findall("object")
        shapes = _mask_shapes(root, xml_path.stem, (h, w), names, objects, name, report)
        if shapes is None:
            shapes = []
            for j, obj in enumerate(objects):
                label, box = (obj.findtext("name") or "").strip(), _box_of(obj)
                if not label or box is None:
                    report.warn(name, j, "bad_annotation", "an <object> without a name or a usable <bndbox>: left out")
                    continue
                if names is not None and options.labels is not None and label not in names:
                    report.warn(name, j, "unknown_label", f"label {label!r} is not in the labels file: left out")
                    continue
                difficult = obj.findtext("difficult") == "1"
                shapes.append(Shape(label, [box[:2], box[2:]], "rectangle", difficult=difficult))
        ann = ImageAnnotation(image_path=file_name, image_height=h, image_width=w, shapes=shapes)
        items.append(Item(ann, image if image.is_file() else None, xml_path, name))
    options.tick(len(xmls), len(xmls), "reading")
    return items
