"""SA-1B's per-image annotation JSON (the Segment Anything 1-Billion dataset), read directly.

Each image ``sa_N.jpg`` of an SA-1B shard comes with ``sa_N.json``::

    {"image": {"image_id": 1, "width": 1500, "height": 2250, "file_name": "sa_1.jpg"},
     "annotations": [{"id": 7, "segmentation": {"size": [2250, 1500], "counts": "..."},
                      "bbox": [x, y, w, h], "area": 1234, "predicted_iou": 0.93,
                      "stability_score": 0.97, "point_coords": [[x, y]], "crop_box": [x, y, w, h]}]}

Masks are COCO RLE at the image size (``size`` is [height, width]). SA-1B masks carry no class: each
becomes an unlabeled ``mask`` shape (full-size RLE, kept compressed) whose ``points`` are its inclusive
box, ``score`` is SA-1B's ``predicted_iou``, and ``extra`` keeps ``sa1b_id`` and ``stability_score``.
Reading checks the structure and sizes but does not decode the masks (a shard has ~100 per image);
corrupt counts are caught by pycocotools when a mask is decoded (a ``GeometryError``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Union

from anylabel.document import ImageAnnotation, Shape
from anylabel.errors import FormatError
from anylabel.fileio import read_json

PathLike = Union[str, Path]


def is_sa1b_dict(data: Any) -> bool:
    """True when a parsed JSON looks like an SA-1B per-image file (``image`` + ``annotations``)."""
    return isinstance(data, dict) and isinstance(data.get("image"), dict) and "annotations" in data \
        and "shapes" not in data


def load_sa1b(path: PathLike) -> ImageAnnotation:
    """Read an SA-1B per-image JSON as an :class:`ImageAnnotation` of unlabeled mask shapes.

    Raises:
        FormatError: naming the file (and the annotation index), for unreadable JSON, missing keys,
            a corrupt RLE or one whose size differs from the image's.
    """
    path = Path(path)
    return sa1b_from_dict(read_json(path), path)


def sa1b_from_dict(data: Any, path: PathLike) -> ImageAnnotation:
    """Build the annotation from a parsed SA-1B dict; ``path`` names the file in errors."""
    path = Path(path)
    if not is_sa1b_dict(data):
        raise FormatError("not an SA-1B annotation: expected keys 'image' and 'annotations'", path)
    image = data["image"]
    try:
        height, width = int(image["height"]), int(image["width"])
        file_name = str(image["file_name"])
    except (KeyError, TypeError, ValueError) as e:
        raise FormatError(f"'image' needs height, width and file_name ({e})", path) from e
    if height <= 0 or width <= 0:
        raise FormatError(f"invalid image size {height}x{width}", path)
    if not isinstance(data["annotations"], list):
        raise FormatError("'annotations' must be a list", path)
    shapes = [_shape(a, i, (height, width), path) for i, a in enumerate(data["annotations"])]
    return ImageAnnotation(image_path=file_name, image_height=height, image_width=width, shapes=shapes,
                           extra={"sa1b_image_id": image.get("image_id")})


def _shape(ann: Any, index: int, size: tuple, path: Path) -> Shape:
    where = f"annotation {index}"
    if not isinstance(ann, dict) or not isinstance(ann.get("segmentation"), dict):
        raise FormatError(f"{where}: needs a 'segmentation' RLE object", path)
    rle: Dict[str, Any] = dict(ann["segmentation"])
    try:
        rle_size = [int(v) for v in rle["size"]]
        if not isinstance(rle.get("counts"), (str, list)):
            raise ValueError("'counts' must be a string or a list")
    except (KeyError, TypeError, ValueError) as e:
        raise FormatError(f"{where}: corrupt RLE segmentation ({e})", path) from e
    if rle_size != list(size):
        raise FormatError(f"{where}: RLE size {rle_size} differs from the image size {list(size)}", path)
    bbox = ann.get("bbox") or [0, 0, 0, 0]
    try:
        x, y, w, h = (float(v) for v in bbox)
    except (TypeError, ValueError) as e:
        raise FormatError(f"{where}: bbox must be [x, y, w, h] ({e})", path) from e
    # SA-1B boxes are (x, y, w, h) with an exclusive end; mask shape points are the inclusive box.
    points = [(x, y), (max(x, x + w - 1), max(y, y + h - 1))]
    extra: Dict[str, Any] = {"sa1b_id": ann.get("id")}
    if "stability_score" in ann:
        extra["stability_score"] = ann["stability_score"]
    score = ann.get("predicted_iou")
    return Shape(label="", points=points, shape_type="mask", mask=rle,
                 score=float(score) if isinstance(score, (int, float)) else None, extra=extra)


def sa1b_annotations(annotation: ImageAnnotation) -> List[Dict[str, Any]]:
    """The RLE masks of an annotation read by :func:`load_sa1b`, in file order (for writers/tests)."""
    return [s.mask for s in annotation.shapes if s.shape_type == "mask" and s.mask is not None]
