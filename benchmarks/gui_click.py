"""GUI click latency: from a click on the canvas to the preview painted, through the real window.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_click.py [--models FULL/models.yaml]
        [--model sam_vit_b] [--precision auto] [--clicks 20] [--size 4000x3000]

The real main window (offscreen, 1600x1000) with a full-size random-weight model from the registry
(``tools/random_checkpoints.py --full``; written to the cache when ``--models`` is omitted), a photo resized
to ``--size``, its embedding computed before the first timed click. Each click goes the way a user's does:
mouse press on the canvas -> AI controller -> segment worker thread (prompt encoder, mask decoder, the best
candidate's full-size mask, polygons and overlay) -> result signal back in the GUI thread -> preview set ->
canvas painted (``repaint()``, synchronous). Timed: click to preview set, and the paint after it.

Random weights answer noise masks whose polygons are ~50k vertices, which no trained model gives: as in
``click_latency.py``, the decoder runs for real and its logits are then replaced by those of an object-like
blob (~4 % of the image), so post-processing, overlay and painting see an object-sized mask. ``single``:
a new object each time (prompts cleared first); ``refine``: a second click on the same object (the first
answer's logits go back into the decoder).
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
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from video_gui_overhead import pump  # noqa: E402  (the event-loop wait both GUI benchmarks use)

from anylabel.config import PRECISIONS  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=Path, help="models.yaml of --full random checkpoints")
    ap.add_argument("--model", default="sam_vit_b")
    ap.add_argument("--precision", default="auto", choices=PRECISIONS)
    ap.add_argument("--clicks", type=int, default=20)
    ap.add_argument("--size", default="4000x3000")
    args = ap.parse_args()

    import numpy as np
    from click_latency import blob_logits, full_models_file, test_image
    from PIL import Image
    from PyQt5 import QtCore, QtTest

    from anylabel.config import Config
    from anylabel.gui.app import create_window
    from anylabel.models import ModelRegistry

    w, h = (int(v) for v in args.size.lower().split("x"))
    folder = Path(tempfile.mkdtemp(prefix="gui-click-"))
    Image.fromarray(test_image((h, w))).save(folder / "photo.jpg", quality=92)
    registry = ModelRegistry.load(extra_files=[full_models_file(args.models)])
    window = create_window(str(folder), config=Config(precision=args.precision), registry=registry,
                           model=args.model)
    app = QtCore.QCoreApplication.instance()
    window.resize(1600, 1000)
    window.canvas.fit_to_window()
    ai = window.ai

    def answered() -> bool:
        return ai.result is not None and ai.result.version == ai.version and window.canvas.preview is not None

    t0 = time.perf_counter()
    ai.add_point(w / 2, h / 2, True)  # loads the model and encodes the image
    pump(app, answered, timeout=600.0, signal=ai.previewChanged, poll_ms=50)
    setup_s = time.perf_counter() - t0
    seg = window.worker.segmenter
    real_decode = seg._decode
    emb, _ = seg._state()
    blob = blob_logits(emb.logit_hw)[None].repeat(3, axis=0)

    def object_like(*a, **k):  # the real decoder's work, then an object-sized answer
        _, scores = real_decode(*a, **k)
        return blob.copy(), scores

    seg._decode = object_like
    rng = np.random.default_rng(0)
    times = {"single": [], "refine": []}
    paints = []
    for _ in range(args.clicks):
        for kind in ("single", "refine"):
            if kind == "single":
                ai.clear()
                app.processEvents()
            x, y = float(rng.uniform(0.2, 0.8) * w), float(rng.uniform(0.2, 0.8) * h)
            p = window.canvas.to_widget(x, y)
            t = time.perf_counter()
            QtTest.QTest.mouseClick(window.canvas, QtCore.Qt.LeftButton, QtCore.Qt.NoModifier,
                                    QtCore.QPoint(round(p.x()), round(p.y())))
            pump(app, answered, timeout=600.0, signal=ai.previewChanged, poll_ms=50)
            t1 = time.perf_counter()
            window.canvas.repaint()
            t2 = time.perf_counter()
            times[kind].append(t1 - t)
            paints.append(t2 - t1)
    status = window.model_status.text()
    window.history.mark_saved()
    window.close()
    shutil.rmtree(folder, ignore_errors=True)

    def ms(v, q):
        return float(np.percentile(np.asarray(v) * 1000, q))

    print(f"{args.model}, precision {seg.precision}, image {w}x{h}, load avg {os.getloadavg()[0]:.1f}; model "
          f"load + first encode {setup_s:.1f} s; worker's last status: {status!r}\n")
    print(f"{'click':8s} | {'to preview p50':>14s} {'p90':>7s} | {'paint p50':>9s}")
    for kind, v in times.items():
        print(f"{kind:8s} | {ms(v, 50):12.1f}ms {ms(v, 90):7.1f} | {statistics.median(paints) * 1000:7.1f}ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
