"""``anylabel autolabel``: label a whole folder with "everything" masks (or existing shapes) + voting.

Examples::

    anylabel autolabel photos/ --model sam_vit_b --semantic yolo:yolov8n-seg.pt -o labels/
    anylabel autolabel sa1b_shard/ --masks existing --semantic hf:segformer-ade/ -o labels/ --engine ray
    anylabel autolabel voc/ --masks existing --semantic labelmap:voc/SegmentationClass -o out/

Exit code 0 when every image was labelled (or skipped as done), 1 when some failed (listed at the end
and in ``OUTDIR/autolabel_failures.log``), 2 for a usage or set-up error.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import List

from anylabel.cli._device import add_device_argument, cli_device
from anylabel.cli._segmenting import non_negative
from anylabel.devices import resolve_device

COMMAND = "autolabel"
HELP = "label a folder: everything masks (or existing shapes) + semantic voting -> LabelMe JSON"

FAILURES_LOG = "autolabel_failures.log"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", help="folder of images (--masks model) or of annotation JSON (--masks existing)")
    parser.add_argument("-o", "--output", required=True, help="folder for the LabelMe JSON files")
    parser.add_argument("--model", help="segmentation model for the everything masks (default: best available)")
    parser.add_argument("--models", action="append", default=[], metavar="FILE",
                        help="extra models file (like ANYLABEL_MODELS); repeatable")
    parser.add_argument("--semantic", metavar="SPEC", help="semantic branch: labelmap:DIR, yolo:MODEL or hf:MODEL_DIR")
    parser.add_argument("--names", metavar="FILE", help="class names for labelmap: (default DIR/class_names.txt)")
    parser.add_argument("--classifier", metavar="SPEC", help="open-vocabulary classifier, e.g. clip:clip_vit_b32")
    parser.add_argument("--vocab", metavar="FILE_OR_WORDS", help="classifier vocabulary: a file or 'car, dog, ...'")
    parser.add_argument("--masks", choices=("model", "existing"), default="model",
                        help="model: the segmenter's everything masks; existing: the shapes in each JSON "
                             "(LabelMe or SA-1B)")
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="local: this process; ray: Ray Data actors (pip install -e \".[ray]\")")
    parser.add_argument("--address", help="Ray cluster address (default: start a local Ray)")
    parser.add_argument("--actors", type=int, default=1, help="Ray actors (model copies) in parallel")
    parser.add_argument("--num-cpus", type=int, help="CPUs of the local Ray (default: --actors)")
    parser.add_argument("--ignore-id", type=int, action="append", default=[], metavar="ID",
                        help="class id that does not vote (repeatable; labelmap: 255 is ignored already)")
    parser.add_argument("--ignore-label", metavar="NAME",
                        help="label masks lying in ignore pixels NAME (e.g. labelme's __ignore__)")
    parser.add_argument("--top-k", type=int, default=3, help="proposals kept per shape")
    parser.add_argument("--overwrite-labels", action="store_true",
                        help="--masks existing: re-label shapes that already have a label")
    parser.add_argument("--output-type", choices=("polygon", "mask"), default="polygon",
                        help="--masks model: polygons (parts share a group_id) or exact mask shapes")
    parser.add_argument("--tolerance", type=non_negative(float), default=1.0,
                        help="polygon simplification in pixels")
    parser.add_argument("--min-area", type=non_negative(int), default=0,
                        help="--masks model: drop masks with fewer pixels")
    parser.add_argument("--drop-label", action="append", default=[], metavar="NAME",
                        help="--masks model: leave out masks voted NAME (e.g. background); repeatable")
    parser.add_argument("--no-track-labels", action="store_true",
                        help="--masks existing on tracked frames (shapes with track_id): keep one label per "
                        "frame instead of one per track")
    parser.add_argument("--review-below", type=non_negative(float), default=0.6, metavar="CONF",
                        help="flag a track for review when its label's confidence is below CONF (default 0.6) "
                        "or more than 20%% of its frames' weight voted otherwise")
    add_device_argument(parser, "the segmenter, the semantic branch and the classifier")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from anylabel.semantic.autolabel import AutolabelConfig, plan_tasks
    from anylabel.semantic.engines import run_engine

    device = cli_device(args)
    if args.engine != "ray" or not args.address:
        resolve_device(device)  # a device this machine lacks: exit 2 now (a cluster's workers resolve their own)
    config = AutolabelConfig(
        input_dir=str(Path(args.folder).resolve()), output_dir=str(Path(args.output).resolve()), masks=args.masks,
        model=args.model, models_files=tuple(str(Path(m).resolve()) for m in args.models), semantic=args.semantic,
        names_file=args.names, classifier=args.classifier, vocab=args.vocab, ignore_ids=tuple(args.ignore_id),
        ignore_label=args.ignore_label, top_k=args.top_k, overwrite_labels=args.overwrite_labels,
        output=args.output_type, tolerance=args.tolerance, min_area=args.min_area,
        drop_labels=tuple(args.drop_label), device=device)
    plan = plan_tasks(config)
    Path(config.output_dir).mkdir(parents=True, exist_ok=True)
    total = len(plan.todo) + len(plan.skipped)
    print(f"autolabel: {total} inputs in {args.folder}: {len(plan.todo)} to label, "
          f"{len(plan.skipped)} already done (skipped)")
    ray_options = {"address": args.address, "num_cpus": args.num_cpus, "actors": args.actors}
    results = run_engine(args.engine, config, plan.todo, **(ray_options if args.engine == "ray" else {}))
    done, failed = 0, []
    shapes = 0
    with tqdm(total=len(plan.todo), unit="img", desc="autolabel", disable=not plan.todo) as bar:
        for result in results:
            if result.status == "failed":
                failed.append(result)
                bar.write(f"failed: {result.error}")
            else:
                done += 1
                shapes += result.labeled
            bar.update(1)
    _write_failures(Path(config.output_dir), failed)
    if config.masks == "existing" and not args.no_track_labels:
        _label_tracks(Path(config.output_dir), args.review_below)
    print(f"autolabel: {done} labeled ({shapes} shapes), {len(plan.skipped)} skipped, {len(failed)} failed"
          + (f" -> {config.output_dir}" if done else ""))
    if failed:
        print(f"failed images (also in {Path(config.output_dir) / FAILURES_LOG}):")
        for r in failed:
            print(f"  {r.error}")
        return 1
    return 0


def _label_tracks(folder: Path, review_below: float) -> None:
    """One label per track over the frames written (see anylabel.tracking.track_labels)."""
    from anylabel.tracking.track_labels import label_track_folder

    labeling, written = label_track_folder(folder, review_below=review_below)
    if not labeling.tracks:
        return
    print(f"autolabel: {len(labeling.tracks)} track(s) got one label each ({len(written)} file(s) updated), "
          f"{len(labeling.flagged)} flagged for review")
    for tid, d in labeling.tracks.items():
        others = ", ".join(f"{p.label} {p.score:.2f}" for p in d.proposals[1:])
        note = f"  REVIEW: {len(d.disagreeing_frames)} of {len(d.frames)} frames voted otherwise" if d.review else ""
        print(f"  track {tid}: {d.label} {d.confidence:.2f}" + (f" (then {others})" if others else "") + note)


def _write_failures(folder: Path, failed: List) -> None:
    """The failures of this run, for batches whose console output scrolled away; removed when none."""
    from anylabel.fileio import atomic_write_text

    log = folder / FAILURES_LOG
    if failed:
        atomic_write_text(log, "".join(f"{r.source}\t{r.error}\n" for r in failed))
    elif log.exists():
        log.unlink()
