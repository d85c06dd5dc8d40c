"""Reading YOLO detection / segmentation datasets back into annotations.

``path`` is a ``data.yaml`` (or a folder holding one): its ``train`` / ``val`` / ``test`` entries (folders
or ``.txt`` lists of images) give the images, and ultralytics' rule gives each label file (the last
``/images/`` of the image path replaced by ``/labels/``, the suffix by ``.txt``). Without a ``data.yaml``,
``path`` is a folder of label files and ``options.images_dir`` the folder of images (matched by relative
path); the class names then come from ``options.labels`` or are the class ids themselves.

* A 5-column row is a box, a longer row a polygon; a polygon whose parts were joined by zero-width bridges
  is split back into its parts (:func:`~anylabel.formats.yolo_geometry.split_bridged`), which share a new
  ``group_id``. The ``yolo-det`` reader turns every row into a rectangle (polygons into their box), as
  ultralytics' detection loader does.
* Normalised coordinates are scaled by the image size read from the image's header (EXIF applied, as
  ultralytics does); a missing image cannot be scaled and is skipped with a warning.
* Broken rows (odd counts, non-numbers, class ids out of range) are warnings naming the label file and
  the line; coordinates slightly outside [0, 1] are clipped with a warning.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
import yaml

from anylabel.document import ImageAnnotation, Shape
from anylabel.errors import FormatError, ImageLoadError
from anylabel.formats.base import Item, Options, PathLike, Report, display_path
from anylabel.formats.instances import shoelace
from anylabel.formats.rotated import rotation_shape
from anylabel.formats.yolo import load_names
from anylabel.formats.yolo_geometry import split_bridged
from anylabel.imaging.loader import image_size, is_image_file


def _find_yaml(path: Path) -> Optional[Path]:
    if path.is_file() and path.suffix.lower() in (".yaml", ".yml"):
        return path
    for name in ("data.yaml", "data.yml", "dataset.yaml"):
        if (path / name).is_file():
            return path / name
    return None


def _images_under(entry: Path, root: Path) -> List[Path]:
    if entry.is_dir():
        return sorted(p for p in entry.rglob("*") if p.is_file() and is_image_file(p))
    if entry.is_file() and entry.suffix.lower() == ".txt":  # a list of image paths, one per line
        lines = entry.read_text(encoding="utf-8-sig").splitlines()
        paths = [Path(ln.strip()) for ln in lines if ln.strip()]
        return [p if p.is_absolute() else (root / p) for p in paths]
    return []


def label_path_for(image: Path) -> Path:
    """ultralytics' ``img2label_paths``: the last ``/images/`` becomes ``/labels/``, the suffix ``.txt``."""
    parts = list(image.parts)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            return Path(*parts).with_suffix(".txt")
    return image.with_suffix(".txt")


def _dataset_pairs(path: Path, options: Options, report: Report) -> Tuple[List[Tuple[Path, Path]], Optional[List[str]]]:
    """(image, label file) pairs and class names."""
    yaml_file = _find_yaml(path)
    if yaml_file is not None:
        try:
            data = yaml.safe_load(yaml_file.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
            raise FormatError(f"not a readable data.yaml: {e}", yaml_file) from e
        if not isinstance(data, dict):
            raise FormatError("not a YOLO data.yaml (the top level is not a mapping)", yaml_file)
        names = load_names(data.get("names"))
        if names is None and isinstance(data.get("nc"), int) and 0 < data["nc"] <= 100_000:
            names = [str(i) for i in range(data["nc"])]
        if names is None:
            raise FormatError("data.yaml has no usable 'names' (a list or a mapping 0..n-1)", yaml_file)
        root = yaml_file.parent
        if isinstance(data.get("path"), str) and (root / data["path"]).is_dir():
            root = (root / data["path"]).resolve()
        images: List[Path] = []
        for key in ("train", "val", "test"):
            entries = data.get(key)
            for e in entries if isinstance(entries, list) else ([entries] if isinstance(entries, str) else []):
                images += _images_under(root / e, root)
        unique = list(dict.fromkeys(p.resolve() for p in images))  # val often repeats train
        return [(p, label_path_for(p)) for p in unique], names
    if not path.is_dir():
        raise FormatError("not a YOLO dataset (no data.yaml, and not a folder of label files)", path)
    if options.images_dir is None:
        raise FormatError("a folder of YOLO label files without data.yaml needs the images folder (--images)", path)
    imgs = sorted(p for p in Path(options.images_dir).rglob("*") if p.is_file() and is_image_file(p))
    pairs = [(p, path / p.relative_to(options.images_dir).with_suffix(".txt")) for p in imgs]
    return pairs, list(options.labels) if options.labels is not None else None


def _parse_row(line: str) -> Tuple[Optional[int], Optional[np.ndarray], str]:
    """(class id, values, problem)."""
    parts = line.split()
    try:
        cls_f = float(parts[0])
        vals = np.asarray([float(v) for v in parts[1:]], dtype=np.float64)
    except ValueError:
        return None, None, "is not numbers"
    if not np.isfinite(cls_f) or cls_f < 0 or cls_f % 1:
        return None, None, f"class {parts[0]!r} is not a non-negative integer"
    if not np.isfinite(vals).all():
        return None, None, "has non-finite coordinates"
    if len(vals) != 4 and (len(vals) < 6 or len(vals) % 2):
        return None, None, f"has {len(vals)} coordinates (4 for a box, an even number >= 6 for a polygon)"
    return int(cls_f), vals, ""


def _shapes_from_labels(text: str, size: Tuple[int, int], names: Optional[List[str]], task: str, name: str,
                        report: Report) -> List[Shape]:
    h, w = size
    shapes: List[Shape] = []
    next_group = 1
    for ln, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        cls, vals, problem = _parse_row(line)
        if problem:
            report.warn(name, ln, "bad_row", f"line {ln + 1} {problem}: left out")
            continue
        if names is not None and cls >= len(names):
            report.warn(name, ln, "unknown_class", f"line {ln + 1}: class {cls} is not in the {len(names)} names: "
                        "left out")
            continue
        label = names[cls] if names is not None else str(cls)
        if task == "obb" and len(vals) == 8:
            if vals.min() < 0 or vals.max() > 1:
                report.warn(name, ln, "clipped", f"line {ln + 1}: coordinates outside [0, 1] clipped")
            corners = np.clip(vals.reshape(4, 2), 0, 1) * [w, h]
            if shoelace(corners) <= 1e-9:
                report.warn(name, ln, "zero_area", f"line {ln + 1}: the rotated box has zero area: left out")
                continue
            shapes.append(rotation_shape(label, corners))
            continue
        if len(vals) == 4:
            cx, cy, bw, bh = vals
            corners = np.array([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2])
            box = np.clip(corners, 0, 1) * [w, h, w, h]
            if box[2] <= box[0] or box[3] <= box[1]:
                report.warn(name, ln, "zero_area", f"line {ln + 1}: the box has zero area inside the image: left out")
                continue
            if corners.min() < 0 or corners.max() > 1:
                report.warn(name, ln, "clipped", f"line {ln + 1}: the box reaches outside [0, 1]: clipped")
            shapes.append(Shape(label, [(box[0], box[1]), (box[2], box[3])], "rectangle"))
            continue
        if vals.min() < 0 or vals.max() > 1:
            report.warn(name, ln, "clipped", f"line {ln + 1}: coordinates outside [0, 1] clipped")
        pts = np.clip(vals.reshape(-1, 2), 0, 1) * [w, h]
        if task == "detect":
            (x1, y1), (x2, y2) = pts.min(axis=0), pts.max(axis=0)
            shapes.append(Shape(label, [(x1, y1), (x2, y2)], "rectangle"))
            continue
        parts = split_bridged(pts)
        if not parts:
            report.warn(name, ln, "too_few_points", f"line {ln + 1}: fewer than 3 distinct points: left out")
            continue
        group = None
        if len(parts) > 1:
            group, next_group = next_group, next_group + 1
        shapes += [Shape(label, [tuple(p) for p in part], "polygon", group_id=group) for part in parts]
    return shapes


def read_yolo(path: PathLike, options: Optional[Options] = None, report: Optional[Report] = None,
              task: str = "segment") -> List[Item]:
    """Read a YOLO dataset (see the module docstring) into one item per image.

    Raises:
        FormatError: ``path`` is not a YOLO dataset (no data.yaml and no images folder given).
    """
    options = options or Options()
    report = report if report is not None else Report(format=f"yolo-{ {'segment': 'seg'}.get(task, task[:3]) }")
    path = Path(path)
    pairs, names = _dataset_pairs(path, options, report)
    if names is None and pairs:
        report.warn(display_path(path), None, "no_names", "no class names (no data.yaml, no --labels): labels are "
                    "the class ids")
    base = path.parent if path.is_file() else path
    items: List[Item] = []
    for k, (image, label_file) in enumerate(pairs):
        options.tick(k, len(pairs), "reading")
        name = display_path(label_file, base)
        if not image.is_file():
            report.warn(name, None, "missing_image", f"image {image.name} not found: skipped")
            report.skipped_images += 1
            continue
        try:
            h, w = image_size(image)
        except ImageLoadError as e:
            report.warn(name, None, "bad_image", f"image {image.name}: {e.reason}: skipped")
            report.skipped_images += 1
            continue
        text = ""
        if label_file.is_file():
            try:
                text = label_file.read_bytes().decode("utf-8-sig")
            except (OSError, UnicodeDecodeError) as e:
                report.warn(name, None, "unreadable", f"cannot read the label file ({e}): skipped")
                report.skipped_images += 1
                continue
        shapes = _shapes_from_labels(text, (h, w), names, task, name, report)
        ann = ImageAnnotation(image_path=image.name, image_height=h, image_width=w, shapes=shapes)
        items.append(Item(ann, image, label_file, name))
    options.tick(len(pairs), len(pairs), "reading")
    return items


def read_yolo_seg(path: PathLike, options: Optional[Options] = None, report: Optional[Report] = None) -> List[Item]:
    """YOLO segmentation reader (see :func:`read_yolo`)."""
    return read_yolo(path, options, report, "segment")


def read_yolo_obb(path: PathLike, options: Optional[Options] = None, report: Optional[Report] = None) -> List[Item]:
    """YOLO OBB reader: 8-value rows become ``rotation`` shapes (see :func:`read_yolo`)."""
    return read_yolo(path, options, report, "obb")


def read_yolo_det(path: PathLike, options: Optional[Options] = None, report: Optional[Report] = None) -> List[Item]:
    """YOLO detection reader (see :func:`read_yolo`)."""
    return read_yolo(path, options, report, "detect")
