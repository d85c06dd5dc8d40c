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
from anylabel.formats.coco import COCO_COMPUTE, read_coco, write_coco
from anylabel.formats.cvat import write_cvat, write_cvat_video
from anylabel.formats.cvat_read import read_cvat, read_cvat_video
from anylabel.formats.folder import read_labelme_folder
from anylabel.formats.labelme_folder import write_labelme_folder
from anylabel.formats.masks import read_masks, write_masks
from anylabel.formats.mot import read_mot, write_mot
from anylabel.formats.obb import read_dota, read_yolo_obb, write_dota, write_yolo_obb
from anylabel.formats.output import OutputTransaction, check_separate
from anylabel.formats.prepare import INCOMING, Compute, Placement, PrepareSpec
from anylabel.formats.voc import read_voc, write_voc
from anylabel.formats.yolo import write_yolo_det, write_yolo_seg
from anylabel.formats.yolo_read import read_yolo_det, read_yolo_seg

Reader = Callable[[PathLike, Optional[Options], Optional[Report]], List[Item]]
Writer = Callable[[Sequence[Item], PathLike, Options], Report]


@dataclass(frozen=True)
class ExportOption:
    """A yes/no export option that only some formats use. One entry is both ``anylabel export``'s flag and
    the export dialog's checkbox (enabled while one of its formats is chosen); it sets ``Options.<field>``."""

    field: str
    flag: str
    label: str
    help: str


MIN_AREA_RECT = ExportOption(
    "min_area_rect", "--min-area-rect", "polygons as their minimum-area rotated rectangles",
    "also export polygons, rectangles, circles and masks, as their minimum-area rotated rectangles (default: "
    "only rotated rectangles, shape_type 'rotation')")


@dataclass(frozen=True)
class DatasetFormat:
    """A named format and its reader / writer; ``layout`` describes the files (for help texts).

    ``importable``: ``anylabel import`` and the GUI's import dialog offer it (a reader exists for every
    format, for tests and round trips, but MOT's tracks and LabelMe itself are not imports).
    """

    name: str
    description: str
    layout: str
    read: Reader
    write: Writer
    importable: bool = True
    #: the writer's per-image work when it depends on no other file (see ``prepare``): an export then does
    #: it in the reading workers
    compute: Optional[Compute] = None
    #: the format-specific options it reads (see ExportOption)
    export_options: Tuple[ExportOption, ...] = ()


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
                       read_labelme_folder, write_labelme_folder, importable=False))
register(DatasetFormat("coco", "COCO instances (polygons, RLE masks)", "OUT/annotations.json, OUT/images/",
                       read_coco, write_coco, compute=COCO_COMPUTE))
register(DatasetFormat("yolo-seg", "YOLO segmentation (ultralytics)", "OUT/data.yaml, OUT/images/{train,val}/, "
                       "OUT/labels/{train,val}/", read_yolo_seg, write_yolo_seg))
register(DatasetFormat("yolo-det", "YOLO detection (ultralytics)", "OUT/data.yaml, OUT/images/{train,val}/, "
                       "OUT/labels/{train,val}/", read_yolo_det, write_yolo_det))
register(DatasetFormat("mot", "MOT Challenge tracks (video frames with track ids)",
                       "OUT/SEQ/gt/gt.txt, OUT/SEQ/gt/labels.csv, OUT/SEQ/seqinfo.ini, OUT/SEQ/img1/",
                       read_mot, write_mot, importable=False))
register(DatasetFormat("voc", "Pascal VOC instance segmentation (labelme2voc.py's layout, XML boxes)",
                       "OUT/JPEGImages/, OUT/Annotations/*.xml, OUT/SegmentationClass/, OUT/SegmentationObject/, "
                       "OUT/class_names.txt", read_voc, write_voc))
register(DatasetFormat("masks", "semantic and instance mask PNGs per image (segmentation training)",
                       "OUT/images/, OUT/semantic/*.png (palette), OUT/instances/*.png (16-bit), OUT/classes.txt",
                       read_masks, write_masks))
register(DatasetFormat("yolo-obb", "YOLO oriented boxes (ultralytics OBB)", "OUT/data.yaml, OUT/images/{train,val}/, "
                       "OUT/labels/{train,val}/", read_yolo_obb, write_yolo_obb, export_options=(MIN_AREA_RECT,)))
register(DatasetFormat("dota", "DOTA oriented boxes", "OUT/images/, OUT/labelTxt/*.txt, OUT/classes.txt",
                       read_dota, write_dota, export_options=(MIN_AREA_RECT,)))
register(DatasetFormat("cvat", "CVAT for images 1.1 XML (polygons, boxes, rotated boxes, points, lines, masks)",
                       "OUT/annotations.xml, OUT/images/", read_cvat, write_cvat))
register(DatasetFormat("cvat-video", "CVAT for video 1.1 XML (tracks by track_id)",
                       "OUT/annotations.xml, OUT/images/", read_cvat_video, write_cvat_video))


def export_format_names() -> List[str]:
    """The formats ``anylabel export`` and the GUI's export dialog offer: all of them, LabelMe (a copy of
    the input) last, so the dialog starts on a dataset format."""
    return sorted(format_names(), key=lambda n: n == "labelme")


def export_options() -> List[ExportOption]:
    """Every format-specific export option of the table, once each, in registration order."""
    seen: Dict[str, ExportOption] = {}
    for fmt in _FORMATS.values():
        for opt in fmt.export_options:
            seen.setdefault(opt.field, opt)
    return list(seen.values())


def formats_with(option: ExportOption) -> List[str]:
    """The export formats that read ``option``."""
    return [n for n in export_format_names() if option in _FORMATS[n].export_options]


def import_format_names() -> List[str]:
    """The formats ``anylabel import`` and the GUI's import dialog offer."""
    return [n for n, f in _FORMATS.items() if f.importable]


#: formats ``anylabel import`` accepts (kept for callers of the old constant; see import_format_names)
IMPORT_FORMATS = tuple(import_format_names())


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
    out = Path(out)
    check_separate(out, inputs)
    with OutputTransaction(out, name, options) as tx:
        return _write_in(tx, name, items, options, read)


def _write_in(tx: OutputTransaction, name: str, items: Sequence[Item], options: Options,
              read: Optional[Report]) -> Report:
    """The writer of ``name`` into the open transaction ``tx``, then its commit (see write_dataset)."""
    report = get_format(name).write(items, tx.staging, options)
    if read is not None:
        report.warnings = read.warnings + report.warnings
        report.skipped_images += read.skipped_images
    if report.images == 0 and (items or report.skipped_images):
        raise NothingWrittenError(report, tx.out)
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
    fmt = get_format(name)  # fail on a bad name before reading thousands of files
    src, out = Path(src), Path(out)
    folder = src if src.is_dir() else src.parent
    check_separate(out, [folder], inside_ok=nested_ok)
    read = Report(format="labelme")
    if fmt.compute is None:
        items = read_labelme_folder(src, options, read, exclude=out if nested_ok else None, check_images=True)
        if not items and not read.warnings:
            raise AnylabelError("no LabelMe annotation files (*.json) found", src)
        return write_dataset(name, items, out, options, read, [folder] if not nested_ok else [])
    # the writer's per-image work and the image copies are done in the reading workers, into the staging
    # folder: the transaction (lock, checks of OUT) starts before the reading
    spec = PrepareSpec(fmt.compute, None, tuple(options.labels) if options.labels is not None else None,
                       options.keep_corrupt)
    with OutputTransaction(out, name, options) as tx:
        placement = Placement(tx.staging / INCOMING, options.image_mode)
        items = read_labelme_folder(src, options, read, exclude=out if nested_ok else None, check_images=True,
                                    prepare=spec, placement=placement)
        if not items and not read.warnings:
            raise AnylabelError("no LabelMe annotation files (*.json) found", src)
        return _write_in(tx, name, items, options, read)


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
