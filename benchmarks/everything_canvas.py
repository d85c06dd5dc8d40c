"""Segment everything's candidates on the canvas, 4K image: building the picture (worker thread), keeping one
(GUI thread), and a canvas repaint with them shown vs without, in the same run.

    QT_QPA_PLATFORM=offscreen python benchmarks/everything_canvas.py [--size 3840x2160] [--masks 150]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="3840x2160")
    parser.add_argument("--masks", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    from PyQt5 import QtGui, QtWidgets

    from anylabel.backends import MaskCandidate
    from anylabel.gui.canvas.candidates import CandidateLayer, CandidateRender
    from anylabel.gui.canvas.widget import Canvas

    w, h = (int(v) for v in args.size.split("x"))
    rng = np.random.default_rng(0)
    yy, xx = np.ogrid[0:h, 0:w]
    masks = []
    for _ in range(args.masks):  # ellipses of many sizes, overlapping like SAM's automatic masks
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        rx, ry = rng.uniform(20, w / 6), rng.uniform(20, h / 6)
        x0, x1 = max(0, int(cx - rx)), min(w, int(cx + rx) + 1)
        y0, y1 = max(0, int(cy - ry)), min(h, int(cy + ry) + 1)
        m = np.zeros((h, w), bool)
        m[y0:y1, x0:x1] = ((xx[:, x0:x1] - cx) / rx) ** 2 + ((yy[y0:y1] - cy) / ry) ** 2 <= 1
        masks.append(MaskCandidate(m, 0.9, None, (x0, y0, x1, y1)))
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv)
    t0 = time.perf_counter()
    render = CandidateRender.build(masks, (h, w))
    build = time.perf_counter() - t0
    keep = []
    for k in range(10):
        t0 = time.perf_counter()
        render.remove(k)
        keep.append(time.perf_counter() - t0)
    canvas = Canvas()
    canvas.resize(1400, 850)
    canvas.show()
    canvas.set_image(QtGui.QImage(w, h, QtGui.QImage.Format_RGB888))
    app.processEvents()
    layer = CandidateLayer(canvas)

    def paints():
        out = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            canvas.repaint()
            out.append(time.perf_counter() - t0)
        return statistics.median(out) * 1000

    without = paints()
    layer.show(render)
    shown = paints()
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"image {w}x{h}, {args.masks} candidates, load {' '.join(load)}")
    print(f"build the picture (worker thread)     {build * 1000:8.1f} ms")
    print(f"keep one (its box redone, GUI thread) {statistics.median(keep) * 1000:8.1f} ms median of 10")
    print(f"canvas repaint, fit to window: without candidates {without:.1f} ms, with {shown:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
