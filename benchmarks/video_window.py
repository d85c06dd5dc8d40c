"""Benchmark: a long video in the real window (offscreen): open, then step and jump through its frames.

Usage::

    QT_QPA_PLATFORM=offscreen python benchmarks/video_window.py [--frames 10000] [--size 320x240]
        [--annotated 10000] [--steps 60] [--jumps 30]

The video is ``benchmarks/video_open.py``'s generated one (mp4v, cached in the temp folder); its annotation
folder (``clip.anylabel/`` beside it, as the window makes it) holds ``--annotated`` LabelMe files with one
tracked shape each, as after a long propagation. The window is the real main window (1600x1000), the image
model a stand-in that is never called (no model work is measured). Timed:

* **open**: ``open_path(video)`` until it returns with frame 0 shown, then its first paint (``repaint``);
  and, for reference in the same run, the scan of every frame file for the highest track id that the window
  did on its GUI thread before (``max_track_id``: a text scan of each file), which now runs on the tracker's
  thread (the time until its answer arrives is printed too);
* **Next**: the frame slider moved one frame at a time (``slider.setValue``, as the dock's buttons and the
  slider do), 50 ms of idle event loop between steps (the neighbours decode ahead), then the repaint;
* **jump**: the slider set to random frames (a cache miss: a seek), then the repaint.

Reference per frame in the same run: ``cv2.VideoCapture`` seek + read of the same random frames. Prints
p50 / p90 in ms and the load average.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import List

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from video_open import make_video  # noqa: E402

_TRACK_ID = re.compile(r'"track_id"\s*:\s*(-?\d+)')


def old_max_track_id(folder: Path) -> int:
    """The scan the window ran on its GUI thread at every video open before (gui/video/frames.max_track_id)."""
    best = 0
    for path in folder.glob("*.json"):
        ids = [int(m) for m in _TRACK_ID.findall(path.read_text(encoding="utf-8", errors="replace"))]
        best = max([best, *ids])
    return best


def annotate(folder: Path, video: Path, frames: int, w: int, h: int) -> None:
    """``frames`` LabelMe files (one tracked polygon each) in the video's annotation folder, made once."""
    folder.mkdir(exist_ok=True)
    (folder / ".anylabel-video").write_text(json.dumps({"video": video.name}), encoding="utf-8")
    have = sum(1 for p in folder.iterdir() if p.suffix == ".json")
    if have == frames:
        return
    for i in range(frames):
        x = 10 + i % (w - 60)
        shape = {"label": "car", "points": [[x, 20], [x + 40, 20], [x + 40, 60], [x, 60]], "group_id": None,
                 "description": "", "shape_type": "polygon", "flags": {}, "mask": None, "track_id": 1 + i % 5}
        doc = {"version": "5.5.0", "flags": {}, "shapes": [shape], "imagePath": f"{video.stem}_{i:06d}.jpg",
               "imageData": None, "imageHeight": h, "imageWidth": w, "frame_index": i}
        (folder / f"{video.stem}_{i:06d}.json").write_text(json.dumps(doc), encoding="utf-8")


def ms(values: List[float]) -> str:
    return f"{statistics.median(values):9.2f} {float(np.percentile(values, 90)):9.2f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=10_000)
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--annotated", type=int, default=None, help="LabelMe files beside it (default: every frame)")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--jumps", type=int, default=30)
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    base = Path(tempfile.gettempdir()) / f"anylabel-bench-window-{args.frames}-{w}x{h}"
    base.mkdir(exist_ok=True)
    video = make_video(base / "clip.mp4", args.frames, w, h)
    out = base / "clip.anylabel"
    annotate(out, video, args.frames if args.annotated is None else args.annotated, w, h)
    for jpg in out.glob("*.jpg"):  # frames extracted by an earlier run: every run starts from none
        jpg.unlink()
    load = [os.getloadavg()[0]]

    from PyQt5 import QtCore, QtWidgets

    from anylabel.backends import MaskCandidate, Segmenter
    from anylabel.config import Config
    from anylabel.gui.app import create_window
    from anylabel.models import ModelRegistry, ModelSpec

    class Unused(Segmenter):
        name = "unused"

        def set_image(self, image, key=None) -> None:
            raise AssertionError("the benchmark measures no model")

        def predict(self, prompt):
            return [MaskCandidate(np.zeros((2, 2), bool), 0.0)]

        def everything(self, image=None, key=None, progress=None):
            return []

    registry = ModelRegistry([ModelSpec("unused", "classical", "unused")])
    window = create_window(None, config=Config(), registry=registry, segmenter_factory=lambda name: Unused(),
                           model="unused")
    window.resize(1600, 1000)
    app = QtWidgets.QApplication.instance()
    for _ in range(5):
        app.processEvents()
    panel = window.features["video"]
    found: List[float] = []
    signal = getattr(panel.worker, "trackIdsFound", None)  # absent before the scan moved off the GUI thread
    if signal is not None:
        signal.connect(lambda *a: found.append(time.perf_counter()))

    t0 = time.perf_counter()
    assert window.open_path(str(video))
    t_open = time.perf_counter()
    window.canvas.repaint()
    t_paint = time.perf_counter()
    while signal is not None and not found and time.perf_counter() - t0 < 60:
        app.processEvents(QtCore.QEventLoop.AllEvents, 20)
    scan_answer = (found[0] - t0) * 1000 if found else float("nan")
    t = time.perf_counter()
    highest = old_max_track_id(out)
    old_scan_ms = (time.perf_counter() - t) * 1000
    slider = panel.dock_widget.slider

    def show(frame: int) -> float:
        t = time.perf_counter()
        slider.setValue(frame)
        window.canvas.repaint()
        assert window.row == frame, (window.row, frame)
        return (time.perf_counter() - t) * 1000

    def idle(seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            app.processEvents(QtCore.QEventLoop.AllEvents, 5)
            time.sleep(0.002)

    start = args.frames // 3
    show(start)
    idle(0.2)
    steps = []
    for k in range(1, args.steps + 1):
        steps.append(show(start + k))
        idle(0.05)
    rng = np.random.default_rng(3)
    positions = [int(p) for p in rng.integers(0, args.frames, args.jumps)]
    jumps = []
    for p in positions:
        jumps.append(show(p))
        idle(0.02)
    cap = cv2.VideoCapture(str(video))
    raw = []
    for p in positions:
        t = time.perf_counter()
        cap.set(cv2.CAP_PROP_POS_FRAMES, p)
        cap.read()
        raw.append((time.perf_counter() - t) * 1000)
    extracted = sum(1 for _ in out.glob("*.jpg"))
    load.append(os.getloadavg()[0])
    if window.history is not None:
        window.history.mark_saved()
    panel.shutdown()
    window.close()

    print(f"{args.frames} frames {w}x{h}, {sum(1 for _ in out.glob('*.json'))} LabelMe files beside it; "
          f"load average {min(load):.2f}-{max(load):.2f}")
    print(f"open → frame 0 shown {(t_open - t0) * 1000:.0f} ms, + first paint {(t_paint - t_open) * 1000:.0f} ms; "
          f"track id scan answered (tracker thread) {scan_answer:.0f} ms after the open; the old GUI-thread scan "
          f"alone {old_scan_ms:.0f} ms (highest id {highest}; the window: {panel.max_track_id})")
    print(f"{'':36} {'p50 ms':>9} {'p90 ms':>9}")
    print(f"{'Next (slider +1), shown + painted':36} {ms(steps)}")
    print(f"{'jump (random frame), shown + painted':36} {ms(jumps)}")
    print(f"{'cv2 seek + read, same frames':36} {ms(raw)}")
    print(f"frames extracted to JPEG by showing {len(steps) + len(jumps) + 2} frames: {extracted}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
