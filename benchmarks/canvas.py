"""Canvas benchmark: paint time with many polygons, and the time to open a 10,000-image folder.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/canvas.py [--shapes 1000] [--vertices 200]
        [--images 10000] [--repeat 20]

1. Paint: a 4000x3000 image with N polygons of V vertices each, painted into a 1600x1000 canvas (the
   real ``Canvas`` and its painting code, rendered into an offscreen image): the first paint (geometry
   cache cold: every QPolygonF built), then warm paints at fit-to-window, zoomed in 4x and with one
   shape selected (vertex handles drawn).
2. Open: a folder of ``--images`` JPEG files (hard links of one photo, so the folder costs no disk),
   from ``window.open_path(folder)`` to the first image painted on the canvas, through the real window.
   The folder listing alone (``ImageFolder``: scandir + natural sort) is timed separately.

Prints a table; numbers depend on the machine (this one: 2 shared CPU cores).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "data" / "sam2-demo" / "truck.jpg"


def _polygons(n: int, vertices: int, w: int, h: int, seed: int = 0):
    import numpy as np

    from anylabel.document import Shape

    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    shapes = []
    for i in range(n):
        cx, cy = rng.uniform(100, w - 100), rng.uniform(100, h - 100)
        r = rng.uniform(20, 90) * (1 + 0.15 * np.sin(5 * t + i))  # wobbly: no two edges collinear
        pts = np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)
        shapes.append(Shape(f"class{i % 12}", [tuple(p) for p in pts]))
    return shapes


def bench_paint(n: int, vertices: int, repeat: int):
    import numpy as np
    from PyQt5 import QtGui, QtWidgets

    from anylabel.gui.canvas import paint as canvas_paint
    from anylabel.gui.canvas.widget import Canvas

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    w, h = 4000, 3000
    rng = np.random.default_rng(1)
    pixels = np.ascontiguousarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
    image = QtGui.QImage(pixels.data, w, h, 3 * w, QtGui.QImage.Format_RGB888)
    canvas = Canvas()
    canvas.resize(1600, 1000)
    canvas.set_image(image)
    canvas.set_shapes(_polygons(n, vertices, w, h))
    target = QtGui.QImage(1600, 1000, QtGui.QImage.Format_ARGB32_Premultiplied)

    def paint_once() -> float:
        p = QtGui.QPainter(target)
        t0 = time.perf_counter()
        canvas_paint.paint(canvas, p)
        dt = time.perf_counter() - t0
        p.end()
        return dt

    rows = [("first paint (cache cold)", [paint_once()])]
    rows.append(("fit to window", [paint_once() for _ in range(repeat)]))
    canvas.set_selection({n // 2})
    rows.append(("one shape selected", [paint_once() for _ in range(repeat)]))
    canvas.set_selection(set())
    canvas.zoom_at(4.0)
    rows.append(("zoomed in 4x", [paint_once() for _ in range(repeat)]))
    app.processEvents()
    return rows


def bench_open(count: int):
    from PyQt5 import QtWidgets

    from anylabel.config import Config
    from anylabel.gui.main_window import MainWindow
    from anylabel.models import ModelRegistry, ModelSpec
    from anylabel.session.folder import ImageFolder

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix="anylabel-bench-"))
    try:
        folder = tmp / "images"
        folder.mkdir()
        for i in range(count):
            dest = folder / f"img_{i}.jpg"  # unpadded numbers: natural sort has real work to do
            try:
                os.link(SAMPLE, dest)
            except OSError:
                shutil.copy(SAMPLE, dest)
        t0 = time.perf_counter()
        listing = ImageFolder(folder)
        scan = time.perf_counter() - t0
        assert len(listing) == count and listing.names[1] == "img_1.jpg"
        registry = ModelRegistry([ModelSpec("classical", "classical", "Classical")])
        window = MainWindow(config=Config(prefetch=0), registry=registry, model="classical")
        window.resize(1600, 1000)
        window.show()
        app.processEvents()
        t0 = time.perf_counter()
        window.open_path(str(folder))
        window.canvas.repaint()  # synchronous paint: the first image is on screen
        app.processEvents()
        shown = time.perf_counter() - t0
        assert window.file_list.model.rowCount() == count and window.canvas.pixmap is not None
        window.close()
        return scan, shown
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", type=int, default=1000)
    ap.add_argument("--vertices", type=int, default=200)
    ap.add_argument("--images", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    rows = bench_paint(args.shapes, args.vertices, args.repeat)
    print(f"Canvas paint, {args.shapes} polygons x {args.vertices} vertices, 4000x3000 image, 1600x1000 canvas")
    print(f"{'case':<28}{'median ms':>11}{'p90 ms':>9}{'runs':>6}")
    for name, times in rows:
        ms = sorted(t * 1000 for t in times)
        p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
        print(f"{name:<28}{statistics.median(ms):>11.1f}{p90:>9.1f}{len(ms):>6}")
    scan, shown = bench_open(args.images)
    print()
    print(f"Open a folder of {args.images:,} images (truck.jpg, 1800x1200)")
    print(f"{'step':<40}{'ms':>9}")
    print(f"{'list + natural sort (ImageFolder)':<40}{scan * 1000:>9.1f}")
    print(f"{'open_path -> first image painted':<40}{shown * 1000:>9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
