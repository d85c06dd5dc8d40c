"""Per-pixel class and instance maps (VOC's SegmentationClass / SegmentationObject, the masks format).

The rules follow labelme's ``shapes_to_label`` (``examples/utils.py``), which its ``labelme2voc.py`` uses:

* shapes are painted in the order of the file, a later shape over an earlier one; a polygon is PIL's
  polygon fill with outline (the same pixels as labelme's ``shape_to_mask``); a mask shape its pixels;
* the class map holds the class id, 0 for background; ``__ignore__`` regions hold :data:`IGNORE_VALUE`
  (labelme's -1 written as uint8) in the class map and 0 in the instance map;
* the instance map holds 1..N in the order the instances first appear in the file.

Where we differ from labelme: instance ids are contiguous (labelme gives an ``__ignore__`` shape an id
too and then erases it, leaving a gap), so instance ``k`` is the ``k``-th object of the VOC XML, as in the
real VOC dataset; rectangles are filled as 4-corner polygons and circles as labelme's COCO polygon
(labelme's VOC script uses PIL's rectangle and ellipse, which can differ by a pixel row at the edge);
shapes reaching outside the image are painted as drawn (PIL keeps the pixels inside, as labelme's), while
the XML box is that of the part inside; labels missing from the labels file are left out with a warning
(labelme's script stops).
"""
from __future__ import annotations

import io
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
from PIL import Image, ImageDraw

from anylabel.document import ImageAnnotation, Shape
from anylabel.formats.base import Report
from anylabel.formats.instances import Instance, ignore_regions, shape_polygon

IGNORE_VALUE = 255


def voc_colormap(n: int = 256) -> np.ndarray:
    """The Pascal VOC palette, n x 3 uint8 (class k's colour from the bits of k, spread over R, G, B)."""
    k = np.arange(n)
    cmap = np.zeros((n, 3), dtype=np.uint8)
    for shift in range(8):
        for ch in range(3):
            cmap[:, ch] |= (((k >> ch) & 1) << (7 - shift)).astype(np.uint8)
        k = k >> 3
    return cmap


def paint_maps(annotation: ImageAnnotation, instances: List[Instance], class_of: Callable[[str], int],
               dtype=np.uint8) -> Tuple[np.ndarray, np.ndarray]:
    """(class map, instance map), each H x W of ``dtype``, by the rules of the module docstring.

    ``class_of(label)`` is the class value of a label; instance ``k`` (1-based) is ``instances[k - 1]``.
    """
    h, w = annotation.image_height, annotation.image_width
    strokes = []  # (position in the file, class value, instance value, polygons, mask)
    for k, inst in enumerate(instances, start=1):
        cls = class_of(inst.label)
        for pos in dict.fromkeys(inst.polygon_shapes):  # the shape as drawn: PIL clips it to the image as
            strokes.append((pos, cls, k, [shape_polygon(annotation.shapes[pos])], None))  # labelme's does
        for pos, mask in zip(inst.mask_shapes, inst.masks):
            strokes.append((pos, cls, k, [], mask))
    for pos, polys, mask in ignore_regions(annotation):
        polys = [shape_polygon(annotation.shapes[pos])] if polys else []
        strokes.append((pos, IGNORE_VALUE, 0, polys, mask))
    strokes.sort(key=lambda s: s[0])  # stable: parts of one shape keep their order
    cls_map = np.zeros((h, w), dtype=dtype)
    ins_map = np.zeros((h, w), dtype=dtype)
    for _, cls, k, polys, mask in strokes:
        if polys:
            canvas = Image.new("L", (w, h), 0)
            draw = ImageDraw.Draw(canvas)
            for p in polys:
                draw.polygon(p.ravel().tolist(), outline=1, fill=1)
            region = np.asarray(canvas, dtype=bool)
        else:
            region = mask
        cls_map[region] = cls
        ins_map[region] = k
    return cls_map, ins_map


def palette_png(values: np.ndarray) -> bytes:
    """``values`` (H x W uint8) as a palette PNG with the VOC colours (what labelme's ``lblsave`` writes)."""
    img = Image.fromarray(values.astype(np.uint8), mode="P")
    img.putpalette(voc_colormap().ravel().tolist())
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def gray16_png(values: np.ndarray) -> bytes:
    """``values`` (H x W, < 65536) as a 16-bit grayscale PNG (instance ids beyond 255)."""
    buf = io.BytesIO()
    Image.fromarray(values.astype(np.uint16)).save(buf, format="PNG")
    return buf.getvalue()


def read_png_values(data_or_path) -> np.ndarray:
    """The stored values of a palette / grayscale PNG (palette indices, not colours), H x W int64."""
    with Image.open(data_or_path) as img:
        if img.mode not in ("P", "L", "I;16", "I", "1"):
            raise ValueError(f"a label PNG must hold values (palette or grayscale), not {img.mode} colours")
        values = np.asarray(img)
        return values.astype(np.uint8) if img.mode in ("P", "L", "1") else values.astype(np.int64)


def shapes_from_maps(cls: np.ndarray, ins: np.ndarray, name_of: Callable[[int, int], Optional[str]], file: str,
                     report: Report, extras: Optional[Dict[int, dict]] = None) -> List[Shape]:
    """One mask shape per instance value ``k`` of ``ins`` (0 and 255 in an 8-bit map are not instances),
    labelled ``name_of(class value, k)`` where the class value is the most frequent one of ``cls`` under it;
    an instance whose class has no name is left out with a warning naming ``file`` and ``k``; ``extras[k]``
    are more Shape fields for instance ``k`` (e.g. ``{"difficult": True}``)."""
    from anylabel.geometry.rle import rle_encode

    shapes = []
    values = np.unique(ins)
    for k in (int(v) for v in values if v > 0 and not (ins.dtype == np.uint8 and v == IGNORE_VALUE)):
        mask = ins == k
        under, counts = np.unique(cls[mask], return_counts=True)
        value = int(under[np.argmax(counts)])
        label = name_of(value, k) if value not in (0, IGNORE_VALUE) else None
        if not label:
            report.warn(file, k, "unknown_category", f"instance {k} has class value {value} without a name: left out")
            continue
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        box = [(float(cols[0]), float(rows[0])), (float(cols[-1]), float(rows[-1]))]
        shapes.append(Shape(label, box, "mask", mask=rle_encode(mask), **(extras or {}).get(k, {})))
    return shapes
