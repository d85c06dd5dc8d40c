"""View adjustment (Ctrl+Shift+B) on a 4K image in the real window: one slider step, from the session call to
the repainted canvas.

    QT_QPA_PLATFORM=offscreen python benchmarks/view_adjust.py [--size 3840x2160] [--steps 30]

Prints per step (median, p90): the core's lookup table over a copy (``adjusted``), the window's re-display
(table + QImage -> QPixmap), the canvas repaint after it, and as the reference the same repaint path with
no adjustment (the pixmap made from the unchanged image), measured in the same run.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def pct(values, q):
    return float(np.percentile(values, q)) * 1000


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="3840x2160")
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args(argv)
    from PIL import Image
    from PyQt5 import QtGui, QtWidgets

    from anylabel.config import Config
    from anylabel.editing.view import ViewAdjustment, adjusted
    from anylabel.gui.main_window import MainWindow
    from anylabel.gui.view_adjust import rgb_qimage
    from anylabel.models import ModelRegistry

    w, h = (int(v) for v in args.size.split("x"))
    rng = np.random.default_rng(0)
    image = (rng.random((h // 8, w // 8, 3)) * 255).astype(np.uint8).repeat(8, 0).repeat(8, 1)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "4k.png"
        Image.fromarray(image).save(path)
        win = MainWindow(config=Config(), registry=ModelRegistry([]))
        win.resize(1600, 1000)
        win.show()
        app.processEvents()
        win.open_path(str(path))
        app.processEvents()
        core, display, paint, reference = [], [], [], []
        for k in range(args.steps):
            b = 0.01 * (k % 20 + 1)
            t0 = time.perf_counter()
            adjusted(win.image, ViewAdjustment(b, 1.1, 1.2))
            core.append(time.perf_counter() - t0)
            win.session.view.set_adjustment(b, 1.1, 1.2)
            display.append(win.view_adjust.last_seconds)
            t0 = time.perf_counter()
            win.canvas.repaint()
            paint.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            win.canvas.pixmap = QtGui.QPixmap.fromImage(rgb_qimage(win.image))
            win.canvas.repaint()
            reference.append(time.perf_counter() - t0)
        win.history.mark_saved() if win.history is not None else None
        win.close()
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"]
    print(f"image {w}x{h}, {args.steps} steps, load {' '.join(load)}")
    print(f"{'step':<44} {'median ms':>10} {'p90 ms':>8}")
    rows = [("core: lookup table over a copy (adjusted)", core),
            ("window: table + QImage -> QPixmap", display),
            ("canvas repaint after it", paint),
            ("one slider step (display + repaint)", [a + b for a, b in zip(display, paint)]),
            ("reference: unadjusted pixmap + repaint", reference)]
    for name, values in rows:
        print(f"{name:<44} {statistics.median(values) * 1000:>10.1f} {pct(values, 90):>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
