"""The per-image half of a writer, on every core: check the image, collect its instances, compute the output.

Every per-image dataset writer (COCO, VOC, masks, OBB, CVAT) does the same three steps for each image:
check the image file (:func:`~anylabel.formats.images.check_image`), validate and merge its shapes
(:func:`~anylabel.formats.instances.collect_instances`) and turn the instances into the format's records
(polygon lists, PNG bytes, text rows). Those are pure CPU work and run in worker processes
(:mod:`anylabel.formats.parallel`); what must stay in order runs here in this process, as the results
come back in input order: the unique output name (:class:`~anylabel.formats.images.NamePool`), placing
the image, writing the files, numbering. Warnings keep the order they had when all of it ran in one loop:
the image check's, then the name's, then the shapes'.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, List, Optional, Sequence

from anylabel.errors import CancelledError
from anylabel.formats.base import FormatWarning, Item, Options, Report
from anylabel.formats.images import ImageSource, NamePool, check_image
from anylabel.formats.instances import Instance, collect_instances
from anylabel.formats.labels import LabelMap

#: compute(item, instances, context, report) -> payload: a module-level function (it runs in a worker);
#: warnings go to ``report``; the payload must be picklable and small (bytes, lists, not full-size masks)
Compute = Callable[[Item, List[Instance], Any, Report], Any]


@dataclass
class Prepared:
    """One image ready to be written: its source, unique output stem and the format's payload."""

    item: Item
    src: ImageSource
    stem: str
    payload: Any


@dataclass(frozen=True)
class _Job:
    item: Item
    compute: Compute
    context: Any
    label_map: Optional[LabelMap]
    keep_corrupt: bool
    key: str


@dataclass
class _Result:
    src: Optional[ImageSource]
    check_warnings: List[FormatWarning]
    warnings: List[FormatWarning]
    payload: Any


def _prepare(job: _Job) -> _Result:
    report = Report()
    item = job.item
    src = check_image(item, item.label, report, Options(keep_corrupt=job.keep_corrupt))
    checked, report.warnings = report.warnings, []
    if src is None:
        return _Result(None, checked, [], None)
    instances = collect_instances(item.annotation, item.label, report, job.label_map, item.shape_ids, job.key)
    payload = job.compute(item, instances, job.context, report)
    return _Result(src, checked, report.warnings, payload)


def prepared_images(items: Sequence[Item], options: Options, report: Report, compute: Compute, context: Any = None,
                    label_map: Optional[LabelMap] = None, key: str = "group",
                    pool: Optional[NamePool] = None) -> Iterator[Prepared]:
    """The exportable items of ``items``, in order, with their payloads (see the module docstring).

    Images left out (missing, corrupt, of another size, exported twice) are warned about in ``report`` and
    counted in ``report.skipped_images``.

    Args:
        compute: turns one image's instances into the format's payload (runs in a worker process).
        context: passed to ``compute`` (the class list, format options); picklable.
        label_map: a labels file's classes: other labels are left out with a warning.
        key: how shapes form instances (``"group"`` or ``"track"``, see ``collect_instances``).
        pool: the output names already taken (a new pool when ``None``).
    """
    from anylabel.formats.parallel import map_files

    pool = pool or NamePool()
    jobs = [_Job(it, compute, context, label_map, options.keep_corrupt, key) for it in items]
    for item, result in zip(items, map_files(_prepare, jobs, options, "writing")):
        if options.cancel.is_set():  # the files are written in this loop: stop here too
            raise CancelledError("cancelled by the user")
        report.warnings += result.check_warnings
        stem = pool.claim(result.src, item.label, report) if result.src is not None else None
        if stem is None:
            report.skipped_images += 1
            continue
        report.warnings += result.warnings
        yield Prepared(item, result.src, stem, result.payload)
    options.tick(len(items), len(items), "writing")
