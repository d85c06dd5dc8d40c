#!/usr/bin/env python
"""The classical backend (GrabCut) on labelme's VOC example: IoU against every object mask.

Prompt per object, as a user would give it: the object's bounding box plus one positive click at its
centroid (the mean of its pixels), taken from ``data_dataset_voc/SegmentationObject``. Also reports the
points-only prompt (centroid alone) and the time per click.

    python benchmarks/classical_voc.py [--data ../shared/data/labelme-voc] [--work-size 256]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from anylabel.backends import EmbeddingCache, Prompt  # noqa: E402
from anylabel.backends.classical import ClassicalSegmenter  # noqa: E402
from anylabel.geometry import mask_iou  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "labelme-voc")
    parser.add_argument("--work-size", type=int, default=None, help="GrabCut working size (default: backend's)")
    args = parser.parse_args()
    names = [n.strip() for n in (args.data / "data_dataset_voc" / "class_names.txt").read_text().splitlines()]
    seg = ClassicalSegmenter(cache=EmbeddingCache(200))
    if args.work_size:
        seg.work_size = args.work_size
    rows = []
    for png in sorted((args.data / "data_dataset_voc" / "SegmentationObject").glob("*.png")):
        objects = np.asarray(Image.open(png))
        classes = np.asarray(Image.open(args.data / "data_dataset_voc" / "SegmentationClass" / png.name))
        seg.set_image_path(args.data / "data_annotated" / f"{png.stem}.jpg")
        for oid in np.unique(objects):
            if oid in (0, 255):
                continue
            obj = objects == oid
            ys, xs = np.nonzero(obj)
            box = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
            centroid = (float(xs.mean()), float(ys.mean()))
            t = time.perf_counter()
            both = seg.predict(Prompt.from_clicks([centroid], box=box))[0]
            dt = time.perf_counter() - t
            point = seg.predict(Prompt.from_clicks([centroid]))[0]
            cls = names[int(np.bincount(classes[obj]).argmax())]
            rows.append((png.stem, int(oid), cls, int(obj.sum()), mask_iou(both.mask, obj),
                         mask_iou(point.mask, obj), dt * 1000))
    print(f"{'image':12s} {'obj':>3s} {'class':12s} {'pixels':>7s} {'IoU box+pt':>10s} {'IoU pt':>7s} {'ms':>6s}")
    for r in rows:
        print(f"{r[0]:12s} {r[1]:3d} {r[2]:12s} {r[3]:7d} {r[4]:10.3f} {r[5]:7.3f} {r[6]:6.0f}")
    box_iou = np.array([r[4] for r in rows])
    pt_iou = np.array([r[5] for r in rows])
    ms = np.array([r[6] for r in rows])
    print(f"\n{len(rows)} objects  mean IoU box+centroid {box_iou.mean():.3f} (median {np.median(box_iou):.3f})"
          f"  centroid only {pt_iou.mean():.3f}  click p50 {np.median(ms):.0f} ms  work_size {seg.work_size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
