"""Brush / eraser responsiveness in the real window: the cost of one mouse move during a stroke.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_brush.py [--size 1920x1080] [--moves 200]
        [--radius 15]

The real main window (offscreen, 1600x1000, the image fitted), a photo-like image of ``--size``. Each timed
mouse move goes the way a user's does: a QMouseEvent to the canvas -> the brush tool -> the session's
stroke (``session.brush.extend_stroke``: the exact disc sweep of the segment) -> the overlay's changed pixels
-> ``canvas.update(rect)`` -> the paint of that rectangle (``processEvents``, synchronous here). Scenarios:
``preview``: brushing the AI preview of a new object; ``eraser``: erasing across a finished mask shape
covering a third of the image; ``zoomed``: the same at 400 % (a bigger screen rectangle per move).

In the same run, the reference: what one move costs when the whole overlay is rebuilt and the whole
canvas repainted (the obvious implementation: mask copy -> coloured QImage -> full repaint).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _image(size, path: Path) -> None:
    import cv2
    import numpy as np

    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(0)
    img = np.stack([(xx * 255 // w), (yy * 255 // h), ((xx + yy) * 127 // (w + h))], -1).astype(np.uint8)
    img = np.clip(img.astype(np.int16) + rng.integers(-20, 20, img.shape), 0, 255).astype(np.uint8)
    cv2.imwrite(str(path), img)


def _stroke_moves(canvas, points, app):
    """Press at the first point, time each move over the others, release. Returns ms per move."""
    from PyQt5 import QtCore, QtGui, QtWidgets
    from PyQt5.QtCore import Qt

    def send(kind, xy, buttons):
        ev = QtGui.QMouseEvent(kind, canvas.to_widget(*xy), Qt.LeftButton, buttons, Qt.NoModifier)
        QtWidgets.QApplication.sendEvent(canvas, ev)

    t0 = time.perf_counter()
    send(QtCore.QEvent.MouseButtonPress, points[0], Qt.LeftButton)
    app.processEvents()
    start = (time.perf_counter() - t0) * 1000
    times = []
    for xy in points[1:]:
        t0 = time.perf_counter()
        send(QtCore.QEvent.MouseMove, xy, Qt.LeftButton)
        app.processEvents()  # the update() -> paint of the dirty rectangle
        times.append((time.perf_counter() - t0) * 1000)
    send(QtCore.QEvent.MouseButtonRelease, points[-1], Qt.NoButton)
    t0 = time.perf_counter()
    app.processEvents()
    end = (time.perf_counter() - t0) * 1000
    return times, start, end


def _reference_moves(canvas, mask, points, radius, app):
    """The obvious implementation, per move: paint the segment, rebuild the whole coloured overlay, repaint
    the whole canvas."""
    from anylabel.editing.brush import paint_stroke
    from anylabel.gui.canvas.paint import PREVIEW, mask_image
    from anylabel.gui.canvas.widget import Preview

    times = []
    for a, b in zip(points[:-1], points[1:]):
        t0 = time.perf_counter()
        paint_stroke(mask, [a, b], radius)
        canvas.preview = Preview(mask_image(mask.copy(), PREVIEW, 0.45), 0, 0, [])
        canvas.repaint()
        app.processEvents()
        times.append((time.perf_counter() - t0) * 1000)
    canvas.preview = None
    return times


def _row(name, times, extra=""):
    times = sorted(times)
    p90 = times[int(0.9 * (len(times) - 1))]
    print(f"| {name} | {statistics.median(times):.2f} | {p90:.2f} | {max(times):.2f} | {extra} |")
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--moves", type=int, default=200)
    ap.add_argument("--radius", type=float, default=15.0)
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))

    import numpy as np
    from PyQt5 import QtWidgets

    from anylabel.config import Config
    from anylabel.document import Shape
    from anylabel.geometry import rle_encode
    from anylabel.gui.main_window import MainWindow
    from anylabel.models import ModelRegistry

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv)
    tmp = Path(tempfile.mkdtemp(prefix="anylabel-brush-"))
    _image((w, h), tmp / "photo.png")
    win = MainWindow(config=Config(), registry=ModelRegistry([]), model=None, features=[])
    win.resize(1600, 1000)
    win.show()
    app.processEvents()
    win.open_path(str(tmp / "photo.png"))
    c = win.canvas
    c.fit_to_window()
    app.processEvents()
    s = win.session
    s.view.brush_radius = args.radius
    n = args.moves
    # a diagonal stroke across the whole image, one move every few pixels, as a fast mouse gives
    xs = np.linspace(0.05 * w, 0.95 * w, n + 1)
    ys = np.linspace(0.1 * h, 0.9 * h, n + 1) + 30 * np.sin(np.linspace(0, 12, n + 1))
    points = [(float(x), float(y)) for x, y in zip(xs, ys)]
    step = float(np.hypot(np.diff(xs), np.diff(ys)).mean())
    load = open("/proc/loadavg").read().split()[:3]
    print(f"image {w}x{h}, canvas {c.width()}x{c.height()} at {c.scale * 100:.0f} %, radius {args.radius:g} px, "
          f"{n} moves of {step:.1f} px, load {' '.join(load)}")
    print("| per mouse move | p50 ms | p90 ms | max ms | notes |\n| --- | --- | --- | --- | --- |")

    from anylabel.gui.canvas import paint as canvas_paint

    painted = {"n": 0}
    real_paint = canvas_paint.paint

    def counting_paint(canvas, p):
        painted["n"] += 1
        real_paint(canvas, p)

    canvas_paint.paint = counting_paint  # checks that every timed move was painted, not only queued
    win.set_mode("brush")
    times, start, end = _stroke_moves(c, points, app)
    if painted["n"] < n:
        raise SystemExit(f"only {painted['n']} paints for {n} moves: the timing would not include the paint")
    p50 = _row("brush on the AI preview (new object)", times,
               f"stroke start {start:.1f} ms, end (mask prompt, preview) {end:.1f} ms")
    s.clear_prompts()

    yy, xx = np.mgrid[0:h, 0:w]
    blob = ((xx - w / 2) / (0.35 * w)) ** 2 + ((yy - h / 2) / (0.4 * h)) ** 2 <= 1
    sid = s.add_shapes([Shape("blob", [], "mask", mask=rle_encode(blob))])[0]
    s.select([sid])
    win.set_mode("eraser")
    app.processEvents()
    times, start, end = _stroke_moves(c, points, app)
    _row("eraser across a mask shape (1/3 of the image)", times, f"stroke start {start:.1f} ms, end (mask shape, "
         f"one undo step) {end:.1f} ms")

    s.select([])
    c.set_zoom(4.0)
    win.set_mode("brush")
    centre = (w / 2, h / 2)
    zoomed = [(centre[0] + 100 * np.cos(t), centre[1] + 60 * np.sin(t)) for t in np.linspace(0, 6, n + 1)]
    times, _, _ = _stroke_moves(c, zoomed, app)
    _row("brush at 400 % zoom", times)
    s.clear_prompts()

    c.fit_to_window()
    app.processEvents()
    ref = _reference_moves(c, np.zeros((h, w), dtype=bool), points, args.radius, app)
    r50 = _row("reference: whole overlay rebuilt + whole canvas repainted", ref)
    print(f"\nincremental vs reference: {r50 / p50:.1f}x less per move")
    win.history.mark_saved()
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
