"""Benchmark: the Qt-free editing operations at the sizes a GUI drives them (a 4-megapixel image).

Usage::

    .venv/bin/python benchmarks/editing.py [--height 1632] [--width 2448] [--repeat 15] [--files 2000]

Prints, as medians of ``--repeat`` runs, wall milliseconds of:

* the polygon-detail slider on an object mask (a blob over ~20 % of the image with a noisy boundary, the worst
  case for vertex counts): ``PolygonDetail`` built once (one trace), then one slider position (a new tolerance:
  simplification only), beside the reference of re-running ``mask_to_polygons`` at every position;
* a brush stroke (one mouse move = one segment, radius 15 px; a whole 30-point stroke), beside the cost of
  one copy of the full-size mask (what a copy-per-move design would pay at least);
* the mask prompt of a re-prompt (``mask_logits``, full-size mask -> 1x256x256);
* boolean edits: union of two 400-vertex polygons (shapely), subtraction with a full-size mask operand (pixels);
* hit-testing the pointer against 1,000 polygons of 200 vertices (a mouse move over a busy image), with a
  ``HitIndex`` (boxes once) and with the plain function;
* "next unchecked" over ``--files`` LabelMe files, first scan (reads every file) and again (cached).

The load average is printed with the table: the machine is shared.
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from anylabel.document import ImageAnnotation, Shape  # noqa: E402
from anylabel.editing.boolean import combine  # noqa: E402
from anylabel.editing.brush import paint_stroke  # noqa: E402
from anylabel.editing.detail import PolygonDetail  # noqa: E402
from anylabel.editing.hit import HitIndex, hit_test  # noqa: E402
from anylabel.editing.reprompt import LogitFrame, mask_logits  # noqa: E402
from anylabel.editing.review import ReviewIndex, next_unchecked  # noqa: E402
from anylabel.formats.labelme import save_labelme  # noqa: E402
from anylabel.geometry import mask_to_polygons, rle_encode  # noqa: E402


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def object_mask(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx = h / 2, w / 2
    angle = np.arctan2(ys - cy, xs - cx)
    radius = min(h, w) * (0.28 + 0.04 * np.sin(5 * angle) + 0.02 * np.sin(17 * angle))
    return np.hypot(ys - cy, xs - cx) + rng.normal(0, 2.0, (h, w)).astype(np.float32) < radius


def polygon(cx: float, cy: float, r: float, n: int) -> list:
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    return [(cx + r * (1 + 0.1 * math.sin(7 * a)) * math.cos(a), cy + r * math.sin(a)) for a in t]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--height", type=int, default=1632)
    ap.add_argument("--width", type=int, default=2448)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--files", type=int, default=2000)
    args = ap.parse_args()
    h, w, n = args.height, args.width, args.repeat
    rng = np.random.default_rng(0)
    mask = object_mask(h, w, rng)
    rows = []

    detail_build = timed(lambda: PolygonDetail(mask, min_area=25), n)
    tolerances = iter(np.linspace(0.5, 10, 10_000))
    detail = PolygonDetail(mask, min_area=25)
    slider = timed(lambda: detail.vertex_count(float(next(tolerances))), n)
    reference = timed(lambda: mask_to_polygons(mask, tolerance=float(next(tolerances)), min_area=25), n)
    counts = {t: detail.vertex_count(t) for t in (0.5, 1.0, 2.0, 5.0)}
    rows.append(("polygon detail: build (trace once)", detail_build, ""))
    rows.append(("polygon detail: one slider position", slider,
                 f"re-trace per position {reference:.1f} ms ({reference / slider:.0f}x); vertices at tolerance "
                 + ", ".join(f"{t:g}: {c}" for t, c in counts.items())))

    work = mask.copy()
    segment = timed(lambda: paint_stroke(work, [(1000, 800), (1008, 805)], 15), n)
    stroke = [(600 + 20 * i, 700 + 10 * math.sin(i)) for i in range(30)]
    whole = timed(lambda: paint_stroke(work, stroke, 15), n)
    copy = timed(lambda: mask.copy(), n)
    rows.append(("brush: one mouse move (segment, r = 15)", segment, f"one full-mask copy {copy:.2f} ms"))
    rows.append(("brush: a 30-point stroke (r = 15)", whole, ""))

    from segment_anything.utils.transforms import ResizeLongestSide

    newh, neww = ResizeLongestSide.get_preprocess_shape(h, w, 1024)
    frame = LogitFrame(valid_hw=(newh / 4, neww / 4), pre_scale=4)
    rows.append(("re-prompt: mask -> 1x256x256 logits", timed(lambda: mask_logits(mask, frame), n), ""))

    a = Shape("a", polygon(1000, 800, 300, 400))
    b = Shape("b", polygon(1200, 800, 300, 400))
    rows.append(("boolean: union of two 400-gons (shapely)", timed(lambda: combine([a, b], "union", (h, w)), n), ""))
    m = Shape("m", [(0, 0), (w - 1, h - 1)], shape_type="mask", mask=rle_encode(mask))
    rows.append(("boolean: 400-gon minus a 4 MP mask (pixels)",
                 timed(lambda: combine([a, m], "subtract", (h, w)), max(3, n // 3)), ""))

    shapes = [Shape(str(i), polygon(rng.uniform(0, w), rng.uniform(0, h), 40, 200)) for i in range(1000)]
    index = HitIndex(shapes)
    qx, qy = shapes[500].points_array().mean(axis=0)  # inside a shape: at least one exact test per query
    assert index.hit_test(qx, qy) is not None
    plain = timed(lambda: hit_test(shapes, qx, qy), max(3, n // 3))
    rows.append(("hit-test: 1,000 polygons x 200 vertices (HitIndex)", timed(lambda: index.hit_test(qx, qy), n),
                 f"building the index {timed(lambda: HitIndex(shapes), 3):.1f} ms once; without it {plain:.0f} ms"))

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(args.files):
            p = Path(tmp) / f"{i:05d}.json"
            ann = ImageAnnotation(f"{i:05d}.jpg", h, w, checked=i < args.files - 1,
                                  shapes=[Shape("x", polygon(500, 500, 100, 200)) for _ in range(5)])
            save_labelme(ann, p)
            paths.append(p)
        index = ReviewIndex()
        t = time.perf_counter()
        assert next_unchecked(paths, 0, index) == args.files - 1
        cold = (time.perf_counter() - t) * 1000
        hot = timed(lambda: next_unchecked(paths, 0, index), n)
        rows.append((f"next unchecked over {args.files} files: first scan", cold,
                     f"{cold / args.files * 1000:.0f} us per file"))
        rows.append((f"next unchecked over {args.files} files: cached", hot, ""))

    print(f"{w}x{h} mask ({h * w / 1e6:.1f} MP), {mask.mean() * 100:.0f} % foreground; load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    width = max(len(r[0]) for r in rows)
    for name, ms, note in rows:
        print(f"{name:<{width}}  {ms:>9.2f} ms  {note}")


if __name__ == "__main__":
    main()
