"""Read a folder of LabelMe JSON files without letting one bad file stop the batch.

* Every ``*.json`` under the folder (recursively, sorted by relative path, hidden files and folders
  skipped) is read with :func:`anylabel.formats.labelme.labelme_from_dict`.
* A file that is not JSON or not a LabelMe annotation (a COCO file lying in the folder, a settings file)
  becomes a ``not_labelme`` warning and is skipped.
* A file with one broken shape keeps its other shapes: the broken one becomes a ``bad_shape`` warning
  naming its index, and :attr:`Item.shape_ids` keeps the original indices for later warnings.
* The image is ``imagePath`` relative to the JSON; an absolute path (labelme on another machine) that does
  not exist falls back to its file name next to the JSON. A missing image is not an error here (stats need
  none); writers warn about it.
"""
from __future__ import annotations

import os
from pathlib import Path, PureWindowsPath
from typing import List, Optional

from anylabel.errors import AnylabelError, FormatError
from anylabel.fileio import read_json
from anylabel.formats.base import Item, Options, PathLike, Report, display_path
from anylabel.formats.labelme import labelme_from_dict

# The LabelMe loader raises FormatError for what it checks; a value of an unexpected type it does not check
# (flags as a list, frame_index = 1e999) surfaces as one of the others. Either way: a warning naming the file.
_LOADER_ERRORS = (FormatError, TypeError, ValueError, AttributeError, ArithmeticError)


def find_json_files(root: PathLike, exclude: Optional[Path] = None) -> List[Path]:
    """All ``*.json`` files under ``root`` (a folder) or ``[root]`` (a file), sorted by relative path;
    ``exclude`` is a folder not to descend into (an export written inside the folder read)."""
    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise AnylabelError("no such folder", root)
    found = []
    skip = os.path.abspath(exclude) if exclude is not None else None
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and os.path.abspath(os.path.join(folder, d)) != skip)
        found += [Path(folder) / f for f in files if f.lower().endswith(".json") and not f.startswith(".")]
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def resolve_image(json_path: Path, image_path: str) -> Optional[Path]:
    """The image file an annotation refers to, or ``None`` when it cannot be found."""
    if not image_path:
        return None
    candidate = json_path.parent / image_path
    if candidate.is_file():
        return candidate
    name = PureWindowsPath(image_path).name  # handles both / and \\ separators
    fallback = json_path.parent / name
    return fallback if name and fallback.is_file() else None


def read_labelme_file(path: Path, name: str, report: Report) -> Optional[Item]:
    """One LabelMe file as an item, or ``None`` (with a warning) when it is not a readable annotation."""
    try:
        data = read_json(path)
    except FormatError as e:
        kind = "unreadable" if e.reason.startswith("cannot read") else "not_labelme"
        report.warn(name, None, kind, f"{e.reason}: skipped")
        return None
    if not isinstance(data, dict) or "shapes" not in data or "imagePath" not in data:
        report.warn(name, None, "not_labelme", "not a LabelMe annotation (no 'shapes' and 'imagePath'): skipped")
        return None
    shape_ids: Optional[List[int]] = None
    try:
        ann = labelme_from_dict(data, path)
    except _LOADER_ERRORS:
        ann, shape_ids = _salvage(data, path, name, report)
        if ann is None:
            return None
    if not (ann.image_height > 0 and ann.image_width > 0):
        report.warn(name, None, "not_labelme", f"invalid image size {ann.image_width}x{ann.image_height}: skipped")
        return None
    return Item(ann, resolve_image(path, ann.image_path), path, name, shape_ids)


def _salvage(data: dict, path: Path, name: str, report: Report) -> tuple:
    """Parse shape by shape to keep the good ones; ``(None, None)`` when the file itself is broken."""
    shapes = data.get("shapes")
    try:
        ann = labelme_from_dict({**data, "shapes": []}, path)
    except _LOADER_ERRORS as e:
        report.warn(name, None, "not_labelme", f"{getattr(e, 'reason', e)}: skipped")
        return None, None
    if not isinstance(shapes, list):
        report.warn(name, None, "not_labelme", "'shapes' is not a list: skipped")
        return None, None
    kept, ids = [], []
    for i, s in enumerate(shapes):
        try:
            kept += labelme_from_dict({**data, "shapes": [s]}, path).shapes
            ids.append(i)
        except _LOADER_ERRORS as e:
            reason = getattr(e, "reason", str(e)).removeprefix("shape 0: ")
            report.warn(name, i, "bad_shape", f"{reason}: left out")
    ann.shapes = kept
    return ann, ids


def read_labelme_folder(root: PathLike, options: Optional[Options] = None,
                        report: Optional[Report] = None, exclude: Optional[Path] = None) -> List[Item]:
    """Every readable LabelMe annotation under ``root`` (see the module docstring).

    Args:
        root: a folder (searched recursively) or one JSON file.
        options: progress and cancel; ``None`` for neither.
        report: receives the warnings (a throw-away one when ``None``).
        exclude: a sub-folder to leave out (see :func:`find_json_files`).
    """
    options = options or Options()
    report = report if report is not None else Report()
    root = Path(root)
    files = find_json_files(root, exclude)
    base = root if root.is_dir() else root.parent
    items: List[Item] = []
    for k, path in enumerate(files):
        options.tick(k, len(files), "reading")
        item = read_labelme_file(path, display_path(path, base), report)
        if item is not None:
            items.append(item)
    options.tick(len(files), len(files), "reading")
    return items

