"""LabelMe JSON, read and written compatibly with labelme's own ``LabelFile`` in both directions.

* Keys anylabel does not use, at the top level and in each shape, are kept and written back.
* anylabel's own additions live in keys labelme keeps as "other data": ``track_id`` and ``score`` in a
  shape, ``frame_index`` at the top level.
* Label details use X-AnyLabeling's keys, which labelme also keeps as "other data": per shape
  ``attributes`` (name -> value) and ``difficult`` (written only when set), per file ``tags`` (a list of
  strings) and ``checked`` (the review state, written only when true). Per-shape and image ``flags`` are
  labelme's own.
* ``rotation`` shapes (rotated rectangles, see :mod:`anylabel.document.shape`) are four corners; the writer
  adds X-AnyLabeling's ``direction`` (the angle of the edge p0 -> p1 in radians, in [0, 2 pi)), the reader
  takes the angle from the points. X-AnyLabeling's four-corner ``rectangle`` is read as labelme's two
  corners (its box).
* Mask shapes are written the way labelme writes them (``mask``: a base64 PNG of the mask cropped to
  ``points`` = its inclusive box), so labelme opens them; in memory they are full-size COCO RLE. A
  ``mask`` given as a COCO RLE dict is read too.
* Writes are atomic (see :mod:`anylabel.fileio`) and hold the file's lock (:mod:`anylabel.filelock`), so
  two programs saving one file serialise; a read-modify-write is ``with locked(path): load ... save``.
* File names that are not UTF-8 (``caf\\xe9.jpg`` on Linux) reach Python as strings with surrogate
  escapes (PEP 383, ``'caf\\udce9.jpg'``). In the JSON such a character is written as the escape
  ``\\udce9`` (the file stays ASCII / UTF-8 and valid JSON); labelme and anylabel read it back to the same
  string, which the operating system maps back to the same bytes, so ``imagePath`` finds the same file.
  Tools that reject lone surrogates (strict JSON parsers outside Python) see an odd name, never a broken file.
* Reading costs in proportion to the file, not to the image size it claims: mask shapes become RLE without
  a full-size raster (:func:`anylabel.geometry.rle.rle_from_crop`). Absurd image sizes and vertex counts
  give an :class:`~anylabel.errors.AnylabelWarning` naming the file.
"""
from __future__ import annotations

import base64
import binascii
import io
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import numpy as np
from PIL import Image

from anylabel.document import SHAPE_TYPES, ImageAnnotation, Shape
from anylabel.errors import AnylabelError, AnylabelWarning, FormatError, GeometryError
from anylabel.fileio import atomic_write_text, json_text, read_json
from anylabel.filelock import locked
from anylabel.geometry.rle import rle_area, rle_decode, rle_from_crop
from anylabel.imaging.loader import MAX_PIXELS, pillow_open

PathLike = Union[str, Path]

_TOP_KEYS = {"version", "flags", "shapes", "imagePath", "imageData", "imageHeight", "imageWidth", "frame_index",
             "checked", "tags"}
_SHAPE_KEYS = {"label", "points", "group_id", "shape_type", "flags", "description", "mask", "track_id", "score",
               "attributes", "difficult"}
#: above these a file is read (in time proportional to its size) but a warning names it
LARGE_IMAGE_PIXELS = 250_000_000  # e.g. 16,000 x 16,000: every full-size mask of it costs 250 MB
LARGE_VERTEX_COUNT = 100_000  # vertices in one shape; labelme's GUI slows to a crawl long before
#: RLE masks up to this size are decoded once to check that their counts cover the whole mask
RLE_CHECK_PIXELS = 25_000_000
_IMAGE_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning)


def load_labelme(path: PathLike) -> ImageAnnotation:
    """Read a LabelMe JSON file.

    Raises:
        FormatError: naming the file, when it is missing, not JSON, or not a LabelMe annotation.
    """
    path = Path(path)
    return labelme_from_dict(read_json(path), path)


def labelme_from_dict(data: Any, path: PathLike) -> ImageAnnotation:
    """Build an :class:`ImageAnnotation` from a parsed LabelMe dict; ``path`` is used in errors and to
    find the image when the size is missing."""
    path = Path(path)
    if not isinstance(data, dict):
        raise FormatError(f"not a LabelMe annotation: the top level is a {type(data).__name__}, not an object", path)
    missing = [k for k in ("shapes", "imagePath") if k not in data]
    if missing:
        raise FormatError(f"not a LabelMe annotation: missing key(s) {', '.join(map(repr, missing))}", path)
    if not isinstance(data["shapes"], list):
        raise FormatError("'shapes' must be a list", path)
    if not isinstance(data["imagePath"], str):
        raise FormatError("'imagePath' must be a string", path)
    height, width = _image_size(data, path)
    if height * width > LARGE_IMAGE_PIXELS:
        _warn(path, f"the image size {width}x{height} ({height * width / 1e6:.0f} MP) is unusually large: "
              "exports that rasterise its shapes need that many bytes per mask")
    shapes = [_shape_from_dict(s, i, (height, width), path) for i, s in enumerate(data["shapes"])]
    flags = data.get("flags") or {}
    if not isinstance(flags, dict):
        raise FormatError("'flags' must be an object", path)
    if not all(isinstance(k, str) and isinstance(v, bool) for k, v in flags.items()):
        raise FormatError("'flags' must map names to true/false", path)
    image_data = data.get("imageData")
    if image_data is not None and not isinstance(image_data, str):
        raise FormatError("'imageData' must be a base64 string or null", path)
    frame = data.get("frame_index")
    if frame is not None and not (isinstance(frame, int) and not isinstance(frame, bool) and frame >= 0):
        raise FormatError(f"'frame_index' must be a non-negative integer, got {frame!r}", path)
    tags, checked = data.get("tags") or [], data.get("checked", False)
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise FormatError("'tags' must be a list of strings", path)
    if not isinstance(checked, bool):
        raise FormatError(f"'checked' must be true or false, got {checked!r}", path)
    return ImageAnnotation(
        image_path=data["imagePath"].replace("\\", "/"),
        image_height=height,
        image_width=width,
        shapes=shapes,
        flags=dict(flags),
        image_data=image_data,
        version=str(data.get("version", "5.5.0")),
        extra={k: v for k, v in data.items() if k not in _TOP_KEYS},
        frame_index=frame,
        tags=list(tags),
        checked=checked,
    )


def labelme_to_dict(annotation: ImageAnnotation) -> Dict[str, Any]:
    """The LabelMe dict for ``annotation``, in labelme's key order, unknown keys kept."""
    data: Dict[str, Any] = {
        "version": annotation.version,
        "flags": dict(annotation.flags),
        "shapes": [_shape_to_dict(s) for s in annotation.shapes],
        "imagePath": annotation.image_path,
        "imageData": annotation.image_data,
        "imageHeight": int(annotation.image_height),
        "imageWidth": int(annotation.image_width),
    }
    if annotation.frame_index is not None:
        data["frame_index"] = int(annotation.frame_index)
    if annotation.tags:
        data["tags"] = list(annotation.tags)
    if annotation.checked:
        data["checked"] = True
    for k, v in annotation.extra.items():
        data.setdefault(k, v)
    return data


def labelme_text(annotation: ImageAnnotation, path: PathLike) -> str:
    """The LabelMe JSON text of ``annotation``; raises :class:`AnylabelError` naming ``path`` when a value
    cannot be written as JSON."""
    try:
        return json_text(labelme_to_dict(annotation))
    except (TypeError, ValueError) as e:
        raise AnylabelError(f"cannot serialise to JSON: {e}", path) from e


def save_labelme(annotation: ImageAnnotation, path: PathLike, timeout: Optional[float] = 30.0) -> None:
    """Write ``annotation`` to ``path`` atomically, holding the file's lock (:func:`anylabel.filelock.locked`,
    waiting up to ``timeout`` seconds for another writer). An existing file is replaced only once the new one
    is complete on disk.

    Raises:
        AnylabelError: naming the file: cannot be serialised or written.
        anylabel.filelock.LockTimeout: another writer held the file for ``timeout`` seconds.
    """
    text = labelme_text(annotation, path)  # serialised first: a failure never touches the file
    with locked(path, timeout=timeout):
        atomic_write_text(path, text)


def _warn(path: Path, message: str) -> None:
    warnings.warn(AnylabelWarning(f"{path}: {message}"), stacklevel=3)


def _image_size(data: Dict[str, Any], path: Path) -> tuple:
    h, w = data.get("imageHeight"), data.get("imageWidth")
    if isinstance(h, int) and isinstance(w, int) and not isinstance(h, bool) and h > 0 and w > 0:
        if h * w > MAX_PIXELS:
            raise FormatError(f"image size {h} x {w} is larger than anylabel supports ({MAX_PIXELS:,} pixels)", path)
        return h, w
    if h is not None or w is not None:
        raise FormatError(f"invalid image size imageHeight={h!r}, imageWidth={w!r}", path)
    # Old labelme files omit the size: take it from the embedded data or the image file's header.
    if data.get("imageData"):
        try:
            with pillow_open(io.BytesIO(base64.b64decode(data["imageData"]))) as img:
                return img.height, img.width
        except (binascii.Error, TypeError, *_IMAGE_ERRORS) as e:
            raise FormatError("no imageHeight/imageWidth, and imageData is not a base64-encoded image", path) from e
    image = path.parent / data["imagePath"]
    try:
        with pillow_open(image) as img:
            return img.height, img.width
    except FileNotFoundError as e:
        raise FormatError(f"no imageHeight/imageWidth, and the image {image} does not exist", path) from e
    except _IMAGE_ERRORS as e:  # includes UnidentifiedImageError (an OSError)
        raise FormatError(f"no imageHeight/imageWidth, and {image} is not a readable image", path) from e


def _shape_from_dict(s: Any, index: int, size: tuple, path: Path) -> Shape:
    where = f"shape {index}"
    if not isinstance(s, dict):
        raise FormatError(f"{where}: not an object", path)
    shape_type = s.get("shape_type") or "polygon"
    if shape_type not in SHAPE_TYPES:
        raise FormatError(f"{where}: unknown shape_type {shape_type!r}", path)
    points = s.get("points", [])
    try:  # one conversion and one shape check for all points (an export reads millions of them)
        arr = np.asarray(points, dtype=np.float64)
        if not isinstance(points, (list, tuple)) or not (arr.shape == (0,) or (arr.ndim == 2 and arr.shape[1] == 2)):
            raise ValueError("each point must be [x, y]")
    except (TypeError, ValueError, OverflowError) as e:
        raise FormatError(f"{where}: points must be a list of [x, y] numbers ({e})", path) from e
    label = s.get("label", "")
    if not isinstance(label, str):
        raise FormatError(f"{where}: label must be a string, got {type(label).__name__}", path)
    group_id, track_id = s.get("group_id"), s.get("track_id")
    if group_id is not None and (not isinstance(group_id, int) or isinstance(group_id, bool)):
        raise FormatError(f"{where}: group_id must be an integer or null", path)
    if track_id is not None and (not isinstance(track_id, int) or isinstance(track_id, bool)):
        raise FormatError(f"{where}: track_id must be an integer or null", path)
    flags = s.get("flags") or {}
    if not isinstance(flags, dict) or not all(isinstance(k, str) and isinstance(v, bool) for k, v in flags.items()):
        raise FormatError(f"{where}: flags must map names to true/false", path)
    description = s.get("description") or ""
    if not isinstance(description, str):
        raise FormatError(f"{where}: description must be a string", path)
    if not np.isfinite(arr).all():
        raise FormatError(f"{where}: points must be finite numbers", path)
    pts = list(map(tuple, arr.tolist()))
    if len(pts) > LARGE_VERTEX_COUNT:
        _warn(path, f"{where} ({label!r}) has {len(pts):,} vertices, unusually many: simplify it for speed")
    mask = None
    if shape_type == "mask":
        mask = _mask_from_labelme(s.get("mask"), pts, size, f"{where}", path)
    pts = _corners(shape_type, pts, where, path)
    attributes, difficult = s.get("attributes") or {}, s.get("difficult", False)
    if not isinstance(attributes, dict):
        raise FormatError(f"{where}: attributes must be an object (name -> value)", path)
    if difficult in (0, 1) and not isinstance(difficult, float):  # VOC-style 0 / 1 read as false / true
        difficult = bool(difficult)
    if not isinstance(difficult, bool):
        raise FormatError(f"{where}: difficult must be true or false, got {difficult!r}", path)
    score = s.get("score")
    extra = {k: v for k, v in s.items() if k not in _SHAPE_KEYS}
    if shape_type == "rotation":  # its direction is written again from the points; elsewhere it is not ours
        extra.pop("direction", None)
    return Shape(
        label=label,
        points=pts,
        shape_type=shape_type,
        group_id=group_id,
        track_id=track_id,
        flags=dict(flags),
        description=description,
        score=float(score) if isinstance(score, (int, float)) else None,
        mask=mask,
        extra=extra,
        attributes=dict(attributes),
        difficult=difficult,
    )


def _corners(shape_type: str, pts: List[tuple], where: str, path: Path) -> List[tuple]:
    """Rectangles as labelme's two corners (X-AnyLabeling writes four: their box), rotations as four corners
    (two given: the axis-aligned rectangle they span)."""
    if shape_type == "rectangle" and len(pts) > 2:
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        return [(min(xs), min(ys)), (max(xs), max(ys))]
    if shape_type == "rotation":
        if len(pts) == 2:
            (x1, y1), (x2, y2) = pts
            return [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]
        if len(pts) != 4:
            raise FormatError(f"{where}: a rotation (rotated rectangle) needs 4 corners, got {len(pts)} points",
                              path)
    return pts


def _shape_to_dict(shape: Shape) -> Dict[str, Any]:
    d: Dict[str, Any] = {
        "label": shape.label,
        "points": [[x, y] for x, y in shape.points],
        "group_id": shape.group_id,
        "description": shape.description,
        "shape_type": shape.shape_type,
        "flags": dict(shape.flags),
        "mask": None,
    }
    if shape.shape_type == "mask" and shape.mask is not None:
        d["points"], d["mask"] = _mask_to_labelme(shape.mask)
    if shape.track_id is not None:
        d["track_id"] = shape.track_id
    if shape.score is not None:
        d["score"] = round(float(shape.score), 6)
    if shape.attributes:
        d["attributes"] = dict(shape.attributes)
    if shape.difficult:
        d["difficult"] = True
    if shape.shape_type == "rotation" and len(shape.points) >= 2:
        from anylabel.geometry.rotated import direction

        d["direction"] = direction(shape.points)
    for k, v in shape.extra.items():
        d.setdefault(k, v)
    return d


def _mask_from_labelme(value: Any, pts: List[tuple], size: tuple, where: str, path: Path) -> Optional[Dict]:
    """A mask shape's full-size COCO RLE, built without a full-size raster (see the module docstring)."""
    if value is None:
        return None
    if isinstance(value, dict):  # already a COCO RLE
        return _checked_rle(value, size, where, path)
    if not isinstance(value, str):
        raise FormatError(f"{where}: mask must be a base64-encoded PNG, got {type(value).__name__}", path)
    if len(pts) < 1:
        raise FormatError(f"{where}: a mask needs its top-left point", path)
    try:
        with pillow_open(io.BytesIO(base64.b64decode(value))) as img:
            crop = np.asarray(img.convert("L")) > 0
    except (binascii.Error, *_IMAGE_ERRORS) as e:
        raise FormatError(f"{where}: mask is not a base64-encoded PNG", path) from e
    x1, y1 = int(np.floor(min(p[0] for p in pts))), int(np.floor(min(p[1] for p in pts)))
    h, w = crop.shape
    if x1 >= size[1] or y1 >= size[0] or x1 + w <= 0 or y1 + h <= 0:
        raise FormatError(f"{where}: the mask ({w}x{h} at {x1}, {y1}) lies outside the {size[1]}x{size[0]} "
                          "image", path)
    return rle_from_crop(crop, x1, y1, size)  # the part inside the image (a negative origin is cut off)


def _checked_rle(value: Dict[str, Any], size: tuple, where: str, path: Path) -> Dict[str, Any]:
    """A COCO RLE dict checked against the image size, as ``{"size", "counts": str}``. Small masks are
    decoded once to check that their counts cover the mask; large ones only structurally (cost bound)."""
    try:
        if [int(v) for v in value.get("size", ())] != list(size):
            raise FormatError(f"{where}: RLE size {value.get('size')} differs from the image size {list(size)}", path)
        rle_area(value)  # structure, counts type, sum of uncompressed counts
        if size[0] * size[1] <= RLE_CHECK_PIXELS:
            rle_decode(value)
    except GeometryError as e:
        raise FormatError(f"{where}: {e.reason}", path) from e
    except (TypeError, ValueError) as e:
        raise FormatError(f"{where}: not a COCO RLE mask ({type(e).__name__})", path) from e
    counts = value["counts"]
    if isinstance(counts, list):  # uncompressed: compress once, as the writers expect
        from pycocotools import mask as mask_utils

        counts = mask_utils.frPyObjects({"size": list(size), "counts": counts}, *size)["counts"].decode("ascii")
    return {"size": [int(size[0]), int(size[1])], "counts": counts}


def _mask_to_labelme(rle: Dict[str, Any]) -> tuple:
    mask = rle_decode(rle)
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return [[0.0, 0.0], [0.0, 0.0]], None
    y1, y2, x1, x2 = int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])
    buf = io.BytesIO()
    Image.fromarray(mask[y1 : y2 + 1, x1 : x2 + 1].astype(np.uint8) * 255).convert("1").save(buf, format="PNG")
    return [[float(x1), float(y1)], [float(x2), float(y2)]], base64.b64encode(buf.getvalue()).decode("ascii")
