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
* Exports (``check_images``) use only images inside the folder read: an ``imagePath`` that is absolute
  or climbs out with ``../`` (after symlinks are resolved) is not followed (``outside_input``; the file
  name next to the JSON is still tried) unless ``Options.allow_outside``. A JSON from someone else
  cannot make an export copy a private file into the dataset.
* With ``check_images`` (exports) the image's size is read from its header *before* the shapes are
  decoded: a file claiming another size (a 673-byte JSON saying 30000 x 30000 with a mask) is skipped
  at the cost of a header read, not of decoding a 900-megapixel mask.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path, PureWindowsPath
from typing import List, Optional, Sequence, Tuple

from anylabel.errors import AnylabelError, FormatError
from anylabel.fileio import read_json
from anylabel.formats.base import FormatWarning, Item, Options, PathLike, Report
from anylabel.formats.images import embedded_size, header_size
from anylabel.formats.instances import AREA_TYPES, MAX_VERTICES
from anylabel.formats.labelme import labelme_from_dict
from anylabel.formats.parallel import map_files
from anylabel.formats.prepare import Placement, Precomputed, PrepareSpec, prepare_item

# The LabelMe loader raises FormatError for what it checks; a value of an unexpected type it does not check
# (flags as a list, frame_index = 1e999) surfaces as one of the others. Either way: a warning naming the file.
_LOADER_ERRORS = (FormatError, TypeError, ValueError, AttributeError, ArithmeticError)


def find_json_files(root: PathLike, exclude: Optional[Path] = None) -> List[Path]:
    """All ``*.json`` files under ``root`` (a folder) or ``[root]`` (a file), sorted by relative path;
    ``exclude`` is a folder not to descend into (an export written inside the folder read)."""
    return [path for path, _ in _json_files(Path(root), exclude)]


def _json_files(root: Path, exclude: Optional[Path] = None) -> List[Tuple[Path, str]]:
    """:func:`find_json_files` with each file's name relative to the folder (``/`` separators), from the
    walk's own strings (pathlib per file costs more than reading the file list: exports list 100,000s)."""
    if root.is_file():
        return [(root, root.name)]
    if not root.is_dir():
        raise AnylabelError("no such folder", root)
    found = []
    skip = os.path.abspath(exclude) if exclude is not None else None
    top = os.fspath(root)
    for folder, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and os.path.abspath(os.path.join(folder, d)) != skip)
        rel = os.path.relpath(folder, top).replace(os.sep, "/")
        prefix = "" if rel == "." else rel + "/"
        found += [(prefix + f, os.path.join(folder, f)) for f in files
                  if f.lower().endswith(".json") and not f.startswith(".")]
    found.sort()
    return [(Path(path), name) for name, path in found]


def is_inside(path: Path, root: Path) -> bool:
    """True when ``path`` (symlinks resolved) lies inside the folder ``root`` (symlinks resolved)."""
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


def _allowed(path: Path, roots: Optional[Sequence[Path]]) -> bool:
    """``path`` may be read: no restriction (``roots`` None), or it lies inside one of ``roots``."""
    return roots is None or any(is_inside(path, r) for r in roots)


def resolve_image(json_path: Path, image_path: str, roots: Optional[Sequence[Path]] = None, name: str = "",
                  report: Optional[Report] = None) -> Optional[Path]:
    """The image file an annotation refers to, or ``None`` when it cannot be found.

    With ``roots``, a file outside those folders is not used (a warning naming the JSON and the path goes to
    ``report``); the file name next to the JSON is tried instead.
    """
    if not image_path:
        return None
    candidate = json_path.parent / image_path
    if candidate.is_file():
        if _allowed(candidate, roots):
            return candidate
        if report is not None:
            report.warn(name, None, "outside_input", f"imagePath {image_path!r} leads outside the input folder "
                        f"(to {os.path.realpath(candidate)}): not followed (--images "
                        f"{os.path.dirname(os.path.realpath(candidate))} allows that folder, --allow-outside "
                        "any)")
    pure = PureWindowsPath(image_path)
    file_name = pure.name  # handles both / and \\ separators
    fallback = json_path.parent / file_name
    if file_name and fallback.is_file() and _allowed(fallback, roots):
        return fallback
    return None


def _claimed_size_problem(data: dict, image: Optional[Path]) -> str:
    """Why the size the JSON claims cannot be right (checked on the image header), or ""."""
    h, w = data.get("imageHeight"), data.get("imageWidth")
    if not (isinstance(h, int) and isinstance(w, int)):
        return ""  # the loader reports it, or reads the size itself
    try:
        if image is not None:
            real = header_size(image)
        elif isinstance(data.get("imageData"), str) and data["imageData"]:
            real = embedded_size(data["imageData"])
        else:
            return "" if h * w <= 100_000_000 else f"image not found, and {w}x{h} cannot be checked: skipped"
    except (AnylabelError, ValueError, OSError):
        return ""  # the writer names the bad image
    if real != (h, w):
        return (f"image is {real[1]}x{real[0]} but the annotation says {w}x{h}: coordinates cannot be "
                "trusted, skipped")
    return ""


def read_labelme_file(path: Path, name: str, report: Report, roots: Optional[Sequence[Path]] = None,
                      check_images: bool = False) -> Optional[Item]:
    """One LabelMe file as an item, or ``None`` (with a warning) when it is not a readable annotation.

    ``roots``: images outside these folders are not used; ``check_images``: see the module docstring."""
    try:
        data = read_json(path)
    except FormatError as e:
        kind = "unreadable" if e.reason.startswith("cannot read") else "not_labelme"
        report.warn(name, None, kind, f"{e.reason}: skipped")
        return None
    if not isinstance(data, dict) or "shapes" not in data or "imagePath" not in data:
        report.warn(name, None, "not_labelme", "not a LabelMe annotation (no 'shapes' and 'imagePath'): skipped")
        return None
    image = resolve_image(path, data["imagePath"], roots, name, report) if isinstance(data["imagePath"], str) else None
    if check_images:
        problem = _claimed_size_problem(data, image)
        if problem:
            report.warn(name, None, "size_mismatch" if "but the" in problem else "missing_image", problem)
            return None
    shape_ids: Optional[List[int]] = None
    original_ids = None
    if check_images:
        data, original_ids = _without_huge_shapes(data, name, report)
    try:
        ann = labelme_from_dict(data, path)
        shape_ids = original_ids
    except _LOADER_ERRORS:
        ann, shape_ids = _salvage(data, path, name, report, original_ids)
        if ann is None:
            return None
    if not (ann.image_height > 0 and ann.image_width > 0):
        report.warn(name, None, "not_labelme", f"invalid image size {ann.image_width}x{ann.image_height}: skipped")
        return None
    if ann.image_path != data["imagePath"]:  # the loader normalised it
        image = resolve_image(path, ann.image_path, roots, name, report)
    return Item(ann, image, path, name, shape_ids)


def _without_huge_shapes(data: dict, name: str, report: Report) -> tuple:
    """``data`` without the shapes of more than MAX_VERTICES points (warned before they cost any decoding),
    and the original index of each remaining shape (``None`` when none was left out)."""
    shapes = data.get("shapes")
    if not isinstance(shapes, list):
        return data, None
    huge = {i for i, s in enumerate(shapes) if isinstance(s, dict) and isinstance(s.get("points"), list)
            and len(s["points"]) > MAX_VERTICES}
    for i in sorted(huge):
        report.warn(name, i, "too_many_vertices", f"shape {shapes[i].get('label')!r} has {len(shapes[i]['points']):,} "
                    f"vertices (more than {MAX_VERTICES:,}): left out")
    if not huge:
        return data, None
    keep = [i for i in range(len(shapes)) if i not in huge]
    return {**data, "shapes": [shapes[i] for i in keep]}, keep


def _salvage(data: dict, path: Path, name: str, report: Report, original_ids: Optional[List[int]] = None) -> tuple:
    """Parse shape by shape to keep the good ones; ``(None, None)`` when the file itself is broken.
    ``original_ids[i]`` is the index in the file of ``data["shapes"][i]`` (when some were left out)."""
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
    for pos, s in enumerate(shapes):
        i = original_ids[pos] if original_ids is not None else pos
        try:
            kept += labelme_from_dict({**data, "shapes": [s]}, path).shapes
            ids.append(i)
        except _LOADER_ERRORS as e:
            reason = getattr(e, "reason", str(e)).removeprefix("shape 0: ")
            report.warn(name, i, "bad_shape", f"{reason}: left out")
    ann.shapes = kept
    return ann, ids


def read_labelme_folder(root: PathLike, options: Optional[Options] = None,
                        report: Optional[Report] = None, exclude: Optional[Path] = None,
                        check_images: bool = False, prepare: Optional[PrepareSpec] = None,
                        placement: Optional[Placement] = None) -> List[Item]:
    """Every readable LabelMe annotation under ``root`` (see the module docstring).

    Args:
        root: a folder (searched recursively) or one JSON file.
        options: progress, cancel and ``allow_outside``; ``None`` for defaults.
        report: receives the warnings (a throw-away one when ``None``); files left out count as
            ``skipped_images``.
        exclude: a sub-folder to leave out (see :func:`find_json_files`).
        check_images: check the claimed image size on the image header before decoding shapes, and (unless
            ``options.allow_outside``) use only images inside ``root`` and ``options.image_roots`` (what an
            export reads).
        prepare: also do the writer's per-image work in the reading worker (an export whose writer's work
            does not depend on the other files, COCO's); the items then come back without their shapes
            and with ``Item.prepared`` set, which saves shipping every point twice between processes.
        placement: with ``prepare``, the reading worker also copies the image into the staging folder
            (:class:`~anylabel.formats.prepare.Placement`).
    """
    options = options or Options()
    report = report if report is not None else Report()
    root = Path(root)
    files = _json_files(root, exclude)
    base = root if root.is_dir() else root.parent
    roots = None if not check_images or options.allow_outside else (base, *options.image_roots)
    mode = placement.mode if placement is not None else "copy"
    jobs = [_ReadJob(path, name, roots, check_images, prepare,
                     placement.target(k) if placement is not None and prepare is not None else None, mode)
            for k, (path, name) in enumerate(files)]
    items: List[Item] = []
    for item, warnings in map_files(_read_job, jobs, options, "reading"):
        report.warnings += warnings
        if item is not None:
            items.append(item)
        else:
            report.skipped_images += 1
    options.tick(len(files), len(files), "reading")
    return items


@dataclass(frozen=True)
class _ReadJob:
    path: Path
    name: str
    roots: Optional[Tuple[Path, ...]]
    check_images: bool
    prepare: Optional[PrepareSpec] = None
    place_as: Optional[Path] = None
    mode: str = "copy"


def _read_job(job: _ReadJob) -> Tuple[Optional[Item], List[FormatWarning]]:
    """One file read in a worker: the item (or ``None``) and its warnings."""
    report = Report()
    item = read_labelme_file(job.path, job.name, report, job.roots, job.check_images)
    if item is not None and job.prepare is not None:
        result = prepare_item(item, job.prepare, job.place_as, job.mode)
        ann = item.annotation
        labels = sorted({s.label for s in ann.shapes if s.shape_type in AREA_TYPES})
        item = replace(item, annotation=replace(ann, shapes=[]), shape_ids=None,
                       prepared=Precomputed(job.prepare, result, labels))
    return item, report.warnings

