"""The format registry: one reader / writer pair per dataset format, looked up by name.

The CLI (``anylabel export`` / ``import``) and the GUI's File → Export / Import both go through
:func:`export_folder` and :func:`import_dataset`, so they behave identically.

* ``write(items, out, options) -> Report``
* ``read(path, options, report) -> list[Item]`` (an :class:`~anylabel.formats.base.Item` unpacks as
  ``(annotation, image)``); warnings go to ``report``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from anylabel.errors import AnylabelError
from anylabel.formats.base import Item, NothingWrittenError, Options, PathLike, Report
from anylabel.formats.coco import read_coco, write_coco
from anylabel.formats.folder import read_labelme_folder
from anylabel.formats.labelme_folder import write_labelme_folder
from anylabel.formats.mot import read_mot, write_mot
from anylabel.formats.output import OutputTransaction, check_separate
from anylabel.formats.yolo import write_yolo_det, write_yolo_seg
from anylabel.formats.yolo_read import read_yolo_det, read_yolo_seg

Reader = Callable[[PathLike, Optional[Options], Optional[Report]], List[Item]]
Writer = Callable[[Sequence[Item], PathLike, Options], Report]


@dataclass(frozen=True)
class DatasetFormat:
    """A named format and its reader / writer; ``layout`` describes the files (for help texts)."""

    name: str
    description: str
    layout: str
    read: Reader
    write: Writer


_FORMATS: Dict[str, DatasetFormat] = {}


def register(fmt: DatasetFormat) -> None:
    """Add (or replace) a format."""
    _FORMATS[fmt.name] = fmt


def get_format(name: str) -> DatasetFormat:
    """The format called ``name``.

    Raises:
        AnylabelError: listing the known formats when ``name`` is not one.
    """
    try:
        return _FORMATS[name]
    except KeyError:
        raise AnylabelError(f"unknown format {name!r}; known formats: {', '.join(format_names())}") from None


def format_names() -> List[str]:
    """The registered format names, in registration order."""
    return list(_FORMATS)


register(DatasetFormat("labelme", "LabelMe JSON files, one per image", "OUT/NAME.json (+ images)",
                       read_labelme_folder, write_labelme_folder))
register(DatasetFormat("coco", "COCO instances (polygons, RLE masks)", "OUT/annotations.json, OUT/images/",
                       read_coco, write_coco))
register(DatasetFormat("yolo-seg", "YOLO segmentation (ultralytics)", "OUT/data.yaml, OUT/images/{train,val}/, "
                       "OUT/labels/{train,val}/", read_yolo_seg, write_yolo_seg))
register(DatasetFormat("yolo-det", "YOLO detection (ultralytics)", "OUT/data.yaml, OUT/images/{train,val}/, "
                       "OUT/labels/{train,val}/", read_yolo_det, write_yolo_det))
register(DatasetFormat("mot", "MOT Challenge tracks (video frames with track ids)",
                       "OUT/SEQ/gt/gt.txt, OUT/SEQ/gt/labels.csv, OUT/SEQ/seqinfo.ini, OUT/SEQ/img1/",
                       read_mot, write_mot))

#: formats ``anylabel import`` accepts (the issue's list; mot and labelme can be read too)
IMPORT_FORMATS = ("coco", "yolo-seg", "yolo-det")


def read_dataset(name: str, path: PathLike, options: Optional[Options] = None) -> Tuple[List[Item], Report]:
    """Read ``path`` as format ``name``: the items and a report of the warnings."""
    fmt = get_format(name)
    report = Report(format=name)
    items = fmt.read(Path(path), options or Options(), report)
    report.images = len(items)
    return items, report


def write_dataset(name: str, items: Sequence[Item], out: PathLike, options: Optional[Options] = None,
                  read: Optional[Report] = None, inputs: Sequence[Path] = ()) -> Report:
    """Write ``items`` to the folder ``out`` in format ``name``, as one transaction.

    The writer fills a staging folder beside ``out`` that replaces ``out`` only once everything is written
    (see :mod:`anylabel.formats.output`): a failure, a cancel or Ctrl+C leaves ``out`` as it was.

    Args:
        read: the report of the reading step; its warnings come first in the result.
        inputs: folders ``out`` must stay out of (the folder read, the images' folder).

    Raises:
        NothingWrittenError: there was input (items, or files the reader left out) but nothing was written;
            ``out`` is not touched.
        AnylabelError: ``out`` is not usable (see :class:`~anylabel.formats.output.OutputTransaction`).
    """
    options = options or Options()
    fmt = get_format(name)
    out = Path(out)
    check_separate(out, inputs)
    with OutputTransaction(out, name, options) as tx:
        report = fmt.write(items, tx.staging, options)
        if read is not None:
            report.warnings = read.warnings + report.warnings
            report.skipped_images += read.skipped_images
        if report.images == 0 and (items or report.skipped_images):
            raise NothingWrittenError(report, out)
        tx.commit(report)
    return report


def export_folder(src: PathLike, name: str, out: PathLike, options: Optional[Options] = None,
                  nested_ok: bool = False) -> Report:
    """Read the LabelMe folder ``src`` and write it to ``out`` as format ``name``; one report for both.

    ``out`` may neither contain ``src`` nor lie inside it (:func:`~anylabel.formats.output.check_separate`),
    except with ``nested_ok`` (a folder we made for ourselves, such as ``track``'s ``OUT/mot``): ``out`` is
    then left out of the reading, so a previous export is never read as input.
    """
    options = options or Options()
    get_format(name)  # fail on a bad name before reading thousands of files
    src, out = Path(src), Path(out)
    folder = src if src.is_dir() else src.parent
    check_separate(out, [folder], inside_ok=nested_ok)
    read = Report(format="labelme")
    items = read_labelme_folder(src, options, read, exclude=out if nested_ok else None, check_images=True)
    if not items and not read.warnings:
        raise AnylabelError("no LabelMe annotation files (*.json) found", src)
    return write_dataset(name, items, out, options, read, [folder] if not nested_ok else [])


def import_dataset(path: PathLike, name: str, out: PathLike, options: Optional[Options] = None) -> Report:
    """Read ``path`` as format ``name`` and write LabelMe JSON files into ``out``.

    ``out`` may not contain the dataset's folder or its images' folder, nor lie inside the images' folder.
    """
    options = options or Options()
    path = Path(path)
    dataset = path if path.is_dir() else path.parent
    check_separate(out, [dataset], "dataset's folder", inside_ok=True)
    if options.images_dir is not None:
        check_separate(out, [options.images_dir], "images folder")
    items, read = read_dataset(name, path, options)
    if not items and not read.skipped_images:
        raise AnylabelError("the dataset holds no images", path)
    return write_dataset("labelme", items, out, options, read)
