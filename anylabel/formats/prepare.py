"""The per-image half of a writer, on every core: check the image, collect its instances, compute the output.

Every per-image dataset writer (COCO, VOC, masks, OBB, CVAT) does the same three steps for each image:
check the image file (:func:`~anylabel.formats.images.check_image`), validate and merge its shapes
(:func:`~anylabel.formats.instances.collect_instances`) and turn the instances into the format's records
(polygon lists, PNG bytes, text rows). Those are pure CPU work and run in worker processes
(:mod:`anylabel.formats.parallel`); what must stay in order runs here in this process, as the results
come back in input order: the unique output name (:class:`~anylabel.formats.images.NamePool`), placing
the image, writing the files, numbering. Warnings keep the order they had when all of it ran in one loop:
the image check's, then the name's, then the shapes'.

Copying the image is done by the worker too when the writer asks for it (:class:`Placement`): creating a
file is the slowest system call of an export on a busy disk, and in a worker it overlaps with the other
workers' rasterising. The worker cannot know the image's final name (that depends on the files before it),
so it copies to ``staging/.anylabel-incoming/JOB.ext``; the writer renames it into place
(:meth:`Prepared.place`, a rename in one folder tree), and the incoming folder is gone before the commit.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple

from anylabel.errors import CancelledError
from anylabel.formats.base import FormatWarning, Item, Options, Report
from anylabel.formats.images import ImageSource, NamePool, check_image, place_image
from anylabel.formats.instances import Instance, collect_instances
from anylabel.formats.labels import LabelMap, label_map_from_list

#: compute(item, instances, context, report) -> payload: a module-level function (it runs in a worker);
#: warnings go to ``report``; the payload must be picklable and small (bytes, lists, not full-size masks)
Compute = Callable[[Item, List[Instance], Any, Report], Any]

#: the folder of the staging folder where workers put the images they copied (see the module docstring)
INCOMING = ".anylabel-incoming"


@dataclass(frozen=True)
class Placement:
    """Workers copy (``mode``: copy / hardlink / symlink) each checked image to ``folder/JOB.ext``."""

    folder: Path
    mode: str

    def target(self, job: int) -> Path:
        return self.folder / str(job)


@dataclass
class Prepared:
    """One image ready to be written: its source, unique output stem and the format's payload; ``placed``:
    where a worker already copied the image (``None``: not copied yet)."""

    item: Item
    src: ImageSource
    stem: str
    payload: Any
    placed: Optional[Path] = None

    def place(self, dest: Path, mode: str) -> None:
        """Put the image at ``dest``: a rename of the worker's copy, else a copy (link) made now."""
        if self.placed is None:
            place_image(self.src, dest, mode)
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.rename(self.placed, dest)  # names are unique (NamePool): nothing is replaced
        self.placed = None


@dataclass(frozen=True)
class PrepareSpec:
    """What the per-image work depends on; a result computed under an equal spec can be reused.

    ``labels``: the labels file's classes (labels outside them are left out), ``None`` without one."""

    compute: Compute
    context: Any
    labels: Optional[tuple]
    keep_corrupt: bool
    key: str = "group"


@dataclass
class _Result:
    src: Optional[ImageSource]
    check_warnings: List[FormatWarning]
    warnings: List[FormatWarning]
    payload: Any
    placed: Optional[Path] = None


@dataclass
class Precomputed:
    """The per-image work done while reading (``Item.prepared``): the spec, the result and the labels of
    the item's area shapes (for the class list, since the shapes themselves were not shipped)."""

    spec: PrepareSpec
    result: _Result
    area_labels: List[str]


def prepare_item(item: Item, spec: PrepareSpec, place_as: Optional[Path] = None, mode: str = "copy") -> _Result:
    """Check the image, collect the instances and compute the payload of one item (in a worker); with
    ``place_as``, also copy (``mode``) the checked image to ``place_as`` + its suffix."""
    report = Report()
    src = check_image(item, item.label, report, Options(keep_corrupt=spec.keep_corrupt))
    checked, report.warnings = report.warnings, []
    if src is None:
        return _Result(None, checked, [], None)
    label_map = label_map_from_list(spec.labels) if spec.labels is not None else None
    instances = collect_instances(item.annotation, item.label, report, label_map, item.shape_ids, spec.key)
    payload = spec.compute(item, instances, spec.context, report)
    placed = None
    if place_as is not None:
        placed = place_as.with_name(place_as.name + src.suffix)
        place_image(src, placed, mode)
    return _Result(src, checked, report.warnings, payload, placed)


def _prepare(job: Tuple[Item, PrepareSpec, Optional[Path], str]) -> _Result:
    return prepare_item(*job)


def drop_incoming(folder: Path) -> None:
    """Remove the (empty) incoming folder of :class:`Placement` before the commit lists the files."""
    try:
        os.rmdir(folder)
    except FileNotFoundError:
        return  # nothing was copied ahead


def prepared_images(items: Sequence[Item], options: Options, report: Report, compute: Compute, context: Any = None,
                    label_map: Optional[LabelMap] = None, key: str = "group",
                    pool: Optional[NamePool] = None, placement: Optional[Placement] = None) -> Iterator[Prepared]:
    """The exportable items of ``items``, in order, with their payloads (see the module docstring).

    Images left out (missing, corrupt, of another size, exported twice) are warned about in ``report`` and
    counted in ``report.skipped_images``.

    Args:
        compute: turns one image's instances into the format's payload (runs in a worker process).
        context: passed to ``compute`` (the class list, format options); picklable.
        label_map: a labels file's classes: other labels are left out with a warning.
        key: how shapes form instances (``"group"`` or ``"track"``, see ``collect_instances``).
        pool: the output names already taken (a new pool when ``None``).
        placement: copy the images in the workers (see the module docstring); the writer must then call
            :meth:`Prepared.place` for each prepared image.
    """
    from anylabel.formats.parallel import map_files

    pool = pool or NamePool()
    spec = PrepareSpec(compute, context, tuple(options.labels) if label_map is not None else None,
                       options.keep_corrupt, key)
    if any(it.prepared is not None and it.prepared.spec != spec for it in items):
        # its shapes were not shipped from the reader: computing anything else from it would be wrong
        raise RuntimeError("an item prepared for another writer reached this one")
    todo = [i for i, it in enumerate(items) if it.prepared is None]
    mode = placement.mode if placement is not None else "copy"
    jobs = [(items[i], spec, placement.target(i) if placement is not None else None, mode) for i in todo]
    done = map_files(_prepare, jobs, options, "writing") if todo else []
    results = {i: r for i, r in zip(todo, done)}
    for i, item in enumerate(items):
        result = results[i] if i in results else item.prepared.result
        if not todo:  # the work was done while reading: this loop (names, files) is the writing stage
            options.tick(i, len(items), "writing")
        elif options.cancel.is_set():  # the files are written in this loop: stop here too
            raise CancelledError("cancelled by the user")
        report.warnings += result.check_warnings
        stem = pool.claim(result.src, item.label, report) if result.src is not None else None
        if stem is None:
            report.skipped_images += 1
            if result.placed is not None:
                os.unlink(result.placed)  # the same image again: the worker's copy is not needed
            continue
        report.warnings += result.warnings
        yield Prepared(item, result.src, stem, result.payload, result.placed)
    for folder in {r.placed.parent for r in [*results.values(), *(it.prepared.result for it in items
                                                                    if it.prepared is not None)] if r.placed}:
        drop_incoming(folder)
    options.tick(len(items), len(items), "writing")
