"""Batch auto-labelling of a folder (SSA-engine applied to any folder): masks -> votes -> LabelMe JSON.

Two sources of masks:

* ``masks="model"``: the segmenter's "everything" masks of each image in ``input_dir`` (jpg, png, ...).
  Each labelled mask becomes one polygon per connected part (parts share a ``group_id``), or one
  ``mask`` shape (exact RLE) with ``output="mask"``. Masks without a vote (all their pixels abstain),
  smaller than ``min_area`` or voted into ``drop_labels`` are left out.
* ``masks="existing"``: the shapes already in each annotation file of ``input_dir`` (``*.json``: LabelMe,
  or SA-1B's per-image JSON, read directly). Polygons, rectangles, circles and masks vote; points and
  lines have no area and are left as they are. Shapes with the same ``(label, group_id)`` are one
  instance (labelme's convention) and get one vote over their union. Only unlabeled shapes receive the
  vote unless ``overwrite_labels``; no shape is ever removed.

What a labelled shape records (LabelMe keeps unknown shape keys, so labelme round-trips them):

* ``label``: the final vote (the classifier's when one ran and voted, else the semantic vote);
* ``score``: the confidence of that label (its share of the mask's voting pixels, or CLIP's
  probability); a score the shape had before (the mask model's predicted IoU) moves to ``mask_score``;
* ``description``: the proposals for people, e.g. ``"person 0.93 | sofa 0.05"`` (only if it was empty);
* ``semantic`` / ``classifier``: each proposer's vote as JSON (``label``, ``confidence``, ``proposals``
  with scores, voting ``pixels``, ``source``).

Each image is written to ``output_dir/<stem>.json`` atomically; an image whose output exists is skipped,
so an interrupted run resumes. A failing image is recorded (:class:`ItemResult`) and the batch goes on.
The same :class:`AutolabelPipeline` runs in every engine (:mod:`anylabel.semantic.engines`), so local
and Ray runs write identical files.
"""
from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from anylabel.backends.shapes import candidate_to_shapes
from anylabel.document import ImageAnnotation, Shape
from anylabel.errors import AnylabelError, FormatError
from anylabel.fileio import read_json
from anylabel.formats.labelme import labelme_from_dict, save_labelme
from anylabel.formats.sa1b import is_sa1b_dict, sa1b_from_dict
from anylabel.geometry import rle_decode, shape_to_mask
from anylabel.imaging import is_image_file, load_image
from anylabel.semantic.proposers import LabeledMask, Labeler, SemanticVoter, parse_classifier_spec
from anylabel.semantic.spec import parse_semantic_spec, split_spec

log = logging.getLogger(__name__)

MASK_SOURCES = ("model", "existing")
OUTPUTS = ("polygon", "mask")
#: shape types that cover an area and can therefore vote
AREA_TYPES = ("polygon", "rectangle", "circle", "mask")


@dataclass(frozen=True)
class AutolabelConfig:
    """Everything a worker needs to build the pipeline; plain values, so it pickles to Ray actors."""

    input_dir: str
    output_dir: str
    masks: str = "model"
    model: Optional[str] = None
    models_files: Tuple[str, ...] = ()
    semantic: Optional[str] = None
    names_file: Optional[str] = None
    classifier: Optional[str] = None
    vocab: Optional[str] = None
    ignore_ids: Tuple[int, ...] = ()
    ignore_label: Optional[str] = None
    top_k: int = 3
    overwrite_labels: bool = False
    output: str = "polygon"
    tolerance: float = 1.0
    min_area: int = 0
    drop_labels: Tuple[str, ...] = ()
    #: where the models run (a name of anylabel.devices, resolved in each worker: auto = its first GPU)
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.masks not in MASK_SOURCES:
            raise AnylabelError(f"--masks must be one of {MASK_SOURCES}, got {self.masks!r}")
        if self.output not in OUTPUTS:
            raise AnylabelError(f"--output-type must be one of {OUTPUTS}, got {self.output!r}")
        if not self.semantic and not self.classifier:
            raise AnylabelError("give a semantic branch (--semantic SPEC) and/or a classifier (--classifier SPEC)")
        if self.semantic:
            split_spec(self.semantic)  # a typo fails now, not after planning (models load lazily)
        if self.masks == "existing" and Path(self.input_dir).resolve() == Path(self.output_dir).resolve():
            raise AnylabelError("with --masks existing the output folder must differ from the input folder "
                                "(the input annotations are never overwritten)", self.output_dir)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Task:
    """One image to label: the file masks come from (image or annotation JSON) and the output file."""

    source: str
    output: str


@dataclass
class ItemResult:
    """What happened to one task: ``status`` is ``"done"``, ``"skipped"`` or ``"failed"`` (with ``error``)."""

    source: str
    output: str
    status: str
    error: str = ""
    shapes: int = 0
    labeled: int = 0


@dataclass
class Plan:
    """The tasks of a run: ``todo`` and ``skipped`` (their output exists already)."""

    todo: List[Task] = field(default_factory=list)
    skipped: List[Task] = field(default_factory=list)


def plan_tasks(config: AutolabelConfig) -> Plan:
    """List the inputs of ``config.input_dir`` (sorted by name) and split them into to-do and done."""
    folder = Path(config.input_dir)
    if not folder.is_dir():
        raise AnylabelError("input folder not found", folder)
    out = Path(config.output_dir)
    if config.masks == "model":
        sources = [p for p in folder.iterdir() if p.is_file() and is_image_file(p)]
    else:
        sources = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".json"]
    plan = Plan()
    used: Dict[str, int] = {}
    for src in sorted(sources, key=lambda p: p.name):
        name = f"{src.stem}.json"
        if name in used:  # a.jpg and a.png: the second keeps its extension so neither is overwritten
            name = f"{src.name}.json"
        used[name] = 1
        task = Task(source=str(src.resolve()), output=str((out / name).resolve()))
        (plan.skipped if Path(task.output).exists() else plan.todo).append(task)
    return plan


def preflight(config: AutolabelConfig) -> None:
    """Cheap checks before workers start (a Ray cluster spends seconds before an actor fails): the model
    is in the registry, and a label-map folder / model file / model folder named by ``--semantic`` exists."""
    if config.masks == "model" and config.model and config.model != "classical":
        from anylabel.models import ModelRegistry

        ModelRegistry.load(extra_files=list(config.models_files) or None).get(config.model)
    if config.semantic:
        kind, arg = split_spec(config.semantic)
        path = Path(arg).expanduser()
        if kind == "labelmap":
            from anylabel.semantic.labelmap import LabelMapBranch

            LabelMapBranch(path, names_file=config.names_file)  # checks the folder and reads the names
        elif kind == "hf" and not (path / "config.json").is_file():
            raise AnylabelError("not a transformers model folder (no config.json)", path)
        elif kind == "yolo" and (path.suffix or "/" in arg or "\\" in arg) and not path.is_file():
            raise AnylabelError("YOLO segmentation model not found", path)


class AutolabelPipeline:
    """Builds the models once (:meth:`open`) and labels one task at a time (:meth:`process`)."""

    def __init__(self, config: AutolabelConfig) -> None:
        self.config = config
        self.labeler: Optional[Labeler] = None
        self.segmenter = None

    def open(self) -> "AutolabelPipeline":
        """Load the models; errors here (a missing model or label folder) stop the run before it starts."""
        cfg = self.config
        voter = None
        if cfg.semantic:
            branch = parse_semantic_spec(cfg.semantic, names_file=cfg.names_file, models_files=cfg.models_files,
                                         device=cfg.device)
            voter = SemanticVoter(branch, ignore_ids=cfg.ignore_ids, ignore_label=cfg.ignore_label, top_k=cfg.top_k)
        classifier = None
        if cfg.classifier:
            classifier = parse_classifier_spec(cfg.classifier, cfg.vocab, cfg.models_files, cfg.top_k,
                                               device=cfg.device)
        self.labeler = Labeler(voter, classifier)
        if cfg.masks == "model":
            self.segmenter = _load_segmenter(cfg.model, cfg.models_files, cfg.device)
        return self

    def close(self) -> None:
        if self.labeler is not None:
            self.labeler.close()
        if self.segmenter is not None:
            self.segmenter.close()

    def process(self, task: Task) -> ItemResult:
        """Label one task and write its file; any failure becomes a ``"failed"`` result, never a raise."""
        if self.labeler is None:
            self.open()
        try:
            if self.config.masks == "model":
                ann, n_labeled = self._from_model(Path(task.source), Path(task.output))
            else:
                ann, n_labeled = self._from_existing(Path(task.source), Path(task.output))
            save_labelme(ann, task.output)
        except AnylabelError as e:
            log.warning("autolabel: %s", e)
            return ItemResult(task.source, task.output, "failed", str(e))
        except Exception as e:  # a model crashing on one image must not stop a batch of thousands
            log.exception("autolabel: unexpected error on %s", task.source)
            return ItemResult(task.source, task.output, "failed", f"{task.source}: {type(e).__name__}: {e}")
        return ItemResult(task.source, task.output, "done", shapes=len(ann.shapes), labeled=n_labeled)

    # ------------------------------------------------------------------ model masks
    def _from_model(self, image_path: Path, out_path: Path) -> Tuple[ImageAnnotation, int]:
        cfg = self.config
        image = load_image(image_path)
        h, w = image.shape[:2]
        candidates = [c for c in self.segmenter.everything(image) if c.area >= max(1, cfg.min_area)]
        masks = [c.mask for c in candidates]
        labeled = self.labeler.label(masks, image, image_path, boxes=[getattr(c, "box", None) for c in candidates])
        shapes: List[Shape] = []
        for cand, result in zip(candidates, labeled):
            vote = result.vote
            if vote is None or not vote.voted or vote.label in cfg.drop_labels:
                continue
            # the backends' own conversion: polygons per part sharing a group_id, or one RLE mask shape
            new = candidate_to_shapes(cand, vote.label, as_mask=cfg.output == "mask",
                                      existing=shapes, tolerance=cfg.tolerance,
                                      min_area=max(1.0, float(cfg.min_area)))
            for s in new:
                _record(s, result)  # the mask's own score moves to mask_score
            shapes.extend(new)
        ann = ImageAnnotation(image_path=_relative(image_path, out_path.parent), image_height=h, image_width=w,
                              shapes=shapes)
        return ann, len(shapes)

    # ------------------------------------------------------------------ existing shapes
    def _from_existing(self, json_path: Path, out_path: Path) -> Tuple[ImageAnnotation, int]:
        cfg = self.config
        ann = read_annotation(json_path)
        image_path = (json_path.parent / ann.image_path).resolve()
        size = (ann.image_height, ann.image_width)
        image = load_image(image_path) if self.labeler.needs_image else None
        if image is not None and image.shape[:2] != size:
            raise FormatError(f"the annotation says {size[0]}x{size[1]} but the image is "
                              f"{image.shape[0]}x{image.shape[1]}", json_path)
        # "object_<track id>" is the tracker's name for an object nobody labelled (anylabel.tracking.output)
        targets = [i for i, s in enumerate(ann.shapes) if s.shape_type in AREA_TYPES and (
            cfg.overwrite_labels or not s.label or (s.track_id is not None and s.label == f"object_{s.track_id}"))]
        masks = _ShapeMasks([ann.shapes[i] for i in targets], size, json_path)
        groups = [(ann.shapes[i].label, ann.shapes[i].group_id) if ann.shapes[i].group_id is not None else None
                  for i in targets]
        labeled = self.labeler.label(masks, image, image_path, groups=groups) if targets else []
        n = 0
        for i, result in zip(targets, labeled):
            if result.vote is not None and result.vote.voted:
                shape = ann.shapes[i]
                shape.label = result.vote.label
                _record(shape, result)
                n += 1
        ann.image_path = _relative(image_path, out_path.parent)
        return ann, n


def read_annotation(path: Path) -> ImageAnnotation:
    """A LabelMe JSON or an SA-1B per-image JSON, told apart by their keys."""
    data = read_json(path)
    if is_sa1b_dict(data):
        return sa1b_from_dict(data, path)
    return labelme_from_dict(data, path)


class _ShapeMasks(Sequence):
    """Shapes as bool masks, rasterised on access: a batch of SA-1B masks never sits decoded in memory."""

    def __init__(self, shapes: List[Shape], size: Tuple[int, int], path: Path) -> None:
        self.shapes, self.size, self.path = shapes, size, path

    def __len__(self) -> int:
        return len(self.shapes)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        s = self.shapes[i]
        try:
            if s.shape_type == "mask":
                if s.mask is None:
                    return np.zeros(self.size, dtype=bool)
                return rle_decode(s.mask)
            return shape_to_mask(s.shape_type, s.points, self.size)
        except AnylabelError as e:
            raise FormatError(f"shape {i} ({s.shape_type}): {e.reason}", self.path) from e


def _record(shape: Shape, result: LabeledMask) -> None:
    """Write the vote into the shape (see the module docstring for the keys)."""
    vote = result.vote
    if shape.score is not None and "mask_score" not in shape.extra:
        shape.extra["mask_score"] = round(float(shape.score), 6)
    shape.score = round(float(vote.confidence), 6)
    if not shape.description:
        shape.description = " | ".join(f"{p.label} {p.score:.2f}" for p in vote.proposals)
    if result.semantic is not None:
        shape.extra["semantic"] = result.semantic.to_dict()
    if result.classifier is not None:
        shape.extra["classifier"] = result.classifier.to_dict()


def _relative(target: Path, folder: Path) -> str:
    """``target`` relative to ``folder`` with ``/`` separators (labelme's ``imagePath``)."""
    return Path(os.path.relpath(Path(target).resolve(), Path(folder).resolve())).as_posix()


def _load_segmenter(model: Optional[str], models_files: Sequence[str], device: Optional[str] = None):
    """The backend that makes the "everything" masks (the best available one when ``model`` is None)."""
    from anylabel.backends.factory import load_segmenter
    from anylabel.models import ModelRegistry

    return load_segmenter(model, registry=ModelRegistry.load(extra_files=list(models_files) or None),
                          device=device)
