"""MOT Challenge tracks for video frames: ``OUT/<sequence>/gt/gt.txt`` and friends.

A sequence is a folder of frame annotations (the LabelMe JSON the tracker writes, one per frame, each with
``frame_index`` and shapes with ``track_id``). For each sequence we write:

* ``gt/gt.txt``: ``frame, id, x, y, w, h, conf, -1, -1, -1`` per object and frame, sorted by frame then id.
  ``frame`` is 1-based (``frame_index + 1``; without ``frame_index``, the position in file order, with a
  warning). ``id`` is the track id, shifted so the smallest is 1 when a track id is below 1 (MOT ids are
  positive). The box is the union of the object's shapes in that frame, in pixels, ``x, y`` its top-left
  corner (0-based pixel coordinates, as in COCO). ``conf`` is the shape's score, 1 for manual shapes.
* ``gt/labels.csv``: ``mot_id,track_id,label``, the label mapping (a track whose label changes between
  frames gets its most frequent one, with a warning).
* ``seqinfo.ini``: name, imDir, frameRate (from an annotation's ``fps`` key, else 30), seqLength, imWidth,
  imHeight, imExt, as MOT evaluation tools (TrackEval) read it.
* ``img1/000001.jpg`` ...: the frames, copied or linked (missing frames are warned about; the rows are
  still written, they do not depend on the pixels).

Shapes without an integer ``track_id`` are left out with a warning (``no_track_id``).
"""
from __future__ import annotations

import configparser
import csv
import io
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from anylabel.document import ImageAnnotation, Shape
from anylabel.errors import FormatError, ImageLoadError
from anylabel.formats.base import Item, Options, PathLike, Report
from anylabel.formats.common import resolve_label_map
from anylabel.formats.images import check_image, place_image
from anylabel.formats.instances import collect_instances
from anylabel.formats.staged import write_new_text
from anylabel.imaging.loader import image_size

#: frames per sequence we accept when reading (a hostile seqLength or frame number must not allocate)
MAX_FRAMES = 10_000_000


def _sequences(items: Sequence[Item]) -> Dict[str, List[Item]]:
    """Items grouped by their folder; names made unique (``seq``, ``seq_1``) when folders share a name."""
    by_folder: Dict[Path, List[Item]] = defaultdict(list)
    for it in items:
        by_folder[it.source.parent].append(it)
    out: Dict[str, List[Item]] = {}
    for folder in sorted(by_folder, key=lambda p: p.as_posix()):
        base = folder.resolve().name or "sequence"  # "." is named after the folder it stands for
        name, n = base, 0
        while name in out:
            n += 1
            name = f"{base}_{n}"
        out[name] = by_folder[folder]
    return out


def write_mot(items: Sequence[Item], out: PathLike, options: Options) -> Report:
    """Export the frames in ``items`` as MOT sequences into the folder ``out`` (see the module docstring)."""
    out = Path(out)
    report = Report(format="mot")
    seqs = _sequences(items)
    label_map = resolve_label_map(items, options)
    filter_map = label_map if label_map.from_file else None
    done = 0
    for seq, frames in seqs.items():
        if any(f.annotation.frame_index is None for f in frames):
            report.warn(frames[0].label, None, "no_frame_index", f"sequence {seq}: frames without frame_index are "
                        "numbered in file order")
        frames = sorted(enumerate(frames), key=lambda p: (p[1].annotation.frame_index is None,
                                                          p[1].annotation.frame_index or 0, p[0]))
        rows, labels, ext, size = [], defaultdict(Counter), ".jpg", None
        seen_frames: Dict[int, str] = {}
        for pos, (_, item) in enumerate(frames):
            options.tick(done, len(items), "writing")
            done += 1
            ann = item.annotation
            if ann.frame_index is not None and ann.frame_index < 0:
                report.warn(item.label, None, "bad_frame_index", f"frame_index {ann.frame_index} is negative: skipped")
                report.skipped_images += 1
                continue
            frame = ann.frame_index + 1 if ann.frame_index is not None else pos + 1
            if frame in seen_frames:
                report.warn(item.label, None, "duplicate_frame", f"frame {frame} is also annotated in "
                            f"{seen_frames[frame]}: skipped")
                report.skipped_images += 1
                continue
            seen_frames[frame] = item.label
            size = size or (ann.image_height, ann.image_width)
            for inst in collect_instances(ann, item.label, report, filter_map, item.shape_ids, key="track"):
                x1, y1, x2, y2 = inst.box()
                conf = inst.score if inst.score is not None else 1
                rows.append((frame, inst.track_id, x1, y1, x2 - x1, y2 - y1, conf))
                labels[inst.track_id][inst.label] += 1
            src = check_image(item, item.label, report, options)
            if src is not None:
                ext = src.suffix
                dest = out / seq / "img1" / f"{frame:06d}{src.suffix}"
                place_image(src, dest, options.image_mode)
            report.images += 1
        shift = 1 - min(labels) if labels and min(labels) < 1 else 0
        rows.sort(key=lambda r: (r[0], r[1]))
        text = "".join(f"{f},{t + shift},{x:.2f},{y:.2f},{w:.2f},{h:.2f},{c:g},-1,-1,-1\n"
                       for f, t, x, y, w, h, c in rows)
        write_new_text(out / seq / "gt" / "gt.txt", text)
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["mot_id", "track_id", "label"])
        for tid in sorted(labels):
            label, _ = labels[tid].most_common(1)[0]
            if len(labels[tid]) > 1:
                report.warn(seq, None, "track_mixed_labels", f"track {tid} is labelled {sorted(labels[tid])} in "
                            f"different frames: mapped to {label!r}")
            writer.writerow([tid + shift, tid, label])
        write_new_text(out / seq / "gt" / "labels.csv", buf.getvalue())
        fps = next((f[1].annotation.extra.get("fps") for f in frames if isinstance(
            f[1].annotation.extra.get("fps"), (int, float))), 30)
        h, w = size or (0, 0)
        ini = (f"[Sequence]\nname={seq}\nimDir=img1\nframeRate={fps:g}\nseqLength={max(seen_frames, default=0)}\n"
               f"imWidth={w}\nimHeight={h}\nimExt={ext}\n")
        write_new_text(out / seq / "seqinfo.ini", ini)
        report.instances += len(labels)  # MOT counts tracks
        report.files += [f"{seq}/gt/gt.txt", f"{seq}/gt/labels.csv", f"{seq}/seqinfo.ini"]
    options.tick(len(items), len(items), "writing")
    report.classes = list(label_map.names)
    return report


def read_mot(path: PathLike, options: Optional[Options] = None, report: Optional[Report] = None) -> List[Item]:
    """Read MOT sequences written by :func:`write_mot` (or any MOT ``gt.txt`` with ``seqinfo.ini``) into one
    item per frame, each object a rectangle with its ``track_id``. ``path`` is a sequence folder or a
    folder of sequences.

    Raises:
        FormatError: no ``gt/gt.txt`` under ``path``.
    """
    options = options or Options()
    report = report if report is not None else Report(format="mot")
    path = Path(path)
    seq_dirs = [path] if (path / "gt" / "gt.txt").is_file() else sorted(
        p for p in path.iterdir() if (p / "gt" / "gt.txt").is_file()) if path.is_dir() else []
    if not seq_dirs:
        raise FormatError("no MOT sequence (SEQ/gt/gt.txt) found", path)
    items: List[Item] = []
    for seq in seq_dirs:
        ini = configparser.ConfigParser()
        try:
            ini.read(seq / "seqinfo.ini", encoding="utf-8")
        except configparser.Error as e:
            raise FormatError(f"unreadable seqinfo.ini: {e}", seq / "seqinfo.ini") from e
        info = ini["Sequence"] if ini.has_section("Sequence") else {}
        try:
            w, h = int(info.get("imWidth", 0)), int(info.get("imHeight", 0))
            length = int(info.get("seqLength", 0))
        except ValueError as e:
            raise FormatError(f"seqinfo.ini has a non-integer size or length: {e}", seq / "seqinfo.ini") from e
        if not 0 <= length <= MAX_FRAMES:
            raise FormatError(f"seqinfo.ini: implausible seqLength {length}", seq / "seqinfo.ini")
        im_dir, ext = seq / info.get("imDir", "img1"), info.get("imExt", ".jpg")
        labels = _read_labels_csv(seq / "gt" / "labels.csv", f"{seq.name}/gt/labels.csv", report)
        frames: Dict[int, List[Shape]] = defaultdict(list)
        gt = seq / "gt" / "gt.txt"
        for ln, line in enumerate(gt.read_text(encoding="utf-8-sig").splitlines()):
            cols = [c.strip() for c in line.split(",")]
            if not line.strip():
                continue
            try:
                frame, mot_id = int(float(cols[0])), int(float(cols[1]))
                x, y, bw, bh = (float(c) for c in cols[2:6])
                conf = float(cols[6]) if len(cols) > 6 else 1.0
            except (ValueError, IndexError, OverflowError):
                report.warn(f"{seq.name}/gt/gt.txt", ln, "bad_row", f"line {ln + 1} is not a MOT row: left out")
                continue
            if not (1 <= frame <= (length or MAX_FRAMES)) or not np.isfinite([x, y, bw, bh, conf]).all():
                report.warn(f"{seq.name}/gt/gt.txt", ln, "bad_row", f"line {ln + 1}: frame {frame} outside 1.."
                            f"{length or MAX_FRAMES} or non-finite values: left out")
                continue
            track, label = labels.get(mot_id, (mot_id, str(mot_id)))
            frames[frame].append(Shape(label, [(x, y), (x + bw, y + bh)], "rectangle", track_id=track,
                                       score=None if conf == 1 else conf))
        for frame in sorted(set(range(1, length + 1)) | set(frames)):
            options.tick(frame - 1, max(length, 1), "reading")
            image = im_dir / f"{frame:06d}{ext}"
            fh, fw = h, w
            if (fh <= 0 or fw <= 0) and image.is_file():
                try:
                    fh, fw = image_size(image)
                except ImageLoadError as e:
                    report.warn(f"{seq.name}/{image.name}", None, "bad_image", f"{e.reason}: skipped")
                    continue
            if fh <= 0 or fw <= 0:
                report.warn(f"{seq.name}/gt/gt.txt", None, "missing_image", f"frame {frame}: no image and no "
                            "size in seqinfo.ini: skipped")
                continue
            ann = ImageAnnotation(image.name, fh, fw, frames.get(frame, []), frame_index=frame - 1)
            items.append(Item(ann, image if image.is_file() else None, gt, f"{seq.name}/{image.name}"))
    return items


def _read_labels_csv(path: Path, name: str, report: Report) -> Dict[int, tuple]:
    """mot_id -> (track_id, label) from ``labels.csv``; rows that do not parse are warnings."""
    if not path.is_file():
        return {}
    out = {}
    for i, row in enumerate(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))):
        try:
            out[int(row["mot_id"])] = (int(row["track_id"]), str(row["label"]))
        except (KeyError, TypeError, ValueError):
            report.warn(name, i, "bad_row", f"row {i + 2} is not mot_id,track_id,label: left out")
    return out
