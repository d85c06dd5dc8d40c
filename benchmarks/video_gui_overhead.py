"""Benchmark: propagation in the window vs ``anylabel track``'s core, per frame, same model, same run.

Usage::

    QT_QPA_PLATFORM=offscreen python benchmarks/video_gui_overhead.py [--models FULL/models.yaml]
        [--model sam2.1_hiera_tiny] [--frames 12] [--rounds 2] [--precision float32] [--video FILE]
        [--profile OUT.prof]

One process, one predictor (a full-size random-weight SAM2.1 from ``tools/random_checkpoints.py --full``,
written to the cache when ``--models`` is omitted), the first ``--frames`` frames of sam2's bedroom video
(``bedroom.mp4``, 960x540; ``data/sam2-demo`` of the project, else ``../shared``), one object prompted on
frame 0, tracked forward to frame ``--frames - 1``, alternating in ``--rounds`` rounds:

* **cli**: what ``anylabel track`` runs (``TrackingSession.run`` + ``FrameAnnotations.write`` per frame:
  mask -> polygons, the frame's JPEG extracted, the LabelMe file written);
* **gui**: the real main window (offscreen, 1600x1000) opened on the video, a click on the canvas (routed to
  the real :class:`~anylabel.gui.video.worker.TrackerWorker`), F (``ai.finish``, the label answered), then
  the panel's propagate (Ctrl+M), "Follow" on as by default: the worker thread tracks and writes, the GUI
  thread shows each frame as it arrives; the event loop idles between signals, as in the app.

Random weights give noise masks (tens of thousands of polygon vertices) that no trained model answers; both
paths therefore run the model for real, then have each tracked mask replaced by an object-like one (a filled
ellipse over ~5 % of the frame, moving a little per frame), so polygons, files and painting see an object's
size. Both use the same replacement.

Printed: seconds per tracked frame (wall, whole propagation / frames; and the median interval between
frames), process CPU seconds per frame, the model's and the file writes' share, the GUI thread's CPU per
frame (``time.thread_time``: the signals, showing the frame, painting), and the ratios gui / cli (median of
the rounds' ratios: the two runs of a round ran back to back); with the load average. On a shared machine
the wall ratio swings with other processes' load; the CPU ratio is the steadier one. ``--profile`` writes
a cProfile of the GUI thread during the gui rounds (the worker thread is not in it).
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
from typing import Any, Dict, List

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402

from anylabel.config import PRECISIONS  # noqa: E402
from anylabel.session.video import PropagationSettings  # noqa: E402


def demo_video() -> Path:
    for base in (ROOT / "data" / "sam2-demo", ROOT.parent / "shared" / "data" / "sam2-demo",
                 ROOT / "tests" / "fixtures" / "sam2-demo"):
        if (base / "bedroom.mp4").is_file():
            return base / "bedroom.mp4"
    raise SystemExit("bedroom.mp4 not found (data/sam2-demo or ../shared/data/sam2-demo); give --video")


def ellipse(h: int, w: int, frame: int) -> np.ndarray:
    """The object-like mask of ``frame``: a filled ellipse, ~5 % of the frame, drifting right."""
    import cv2

    m = np.zeros((h, w), np.uint8)
    cv2.ellipse(m, (int(w * 0.3) + 4 * frame, int(h * 0.55)), (int(w * 0.12), int(h * 0.2)), 15, 0, 360, 1, -1)
    return m.astype(bool)


def object_like_masks() -> None:
    """Patch TrackingSession so that, after the model's real work, every mask it hands out is ``ellipse``."""
    from anylabel.tracking.session import TrackingSession

    real_track, real_prompt = TrackingSession._track_frame, TrackingSession.add_prompt

    def track(self, t, *a, **k):
        result = real_track(self, t, *a, **k)
        h, w = self.frames.size
        for o in result.masks:
            result.masks[o] = ellipse(h, w, t)
            result.scores[o] = 0.99
        return result

    def prompt(self, frame, *a, **k):
        real_prompt(self, frame, *a, **k)
        h, w = self.frames.size
        return ellipse(h, w, int(frame))

    TrackingSession._track_frame, TrackingSession.add_prompt = track, prompt


#: seconds spent per stage in the current round ("track": the model's frame, "write": FrameAnnotations.write)
STAGES: Dict[str, float] = {}


def timed_stages() -> None:
    """Add the time of each tracked frame and each file write to :data:`STAGES` (both paths, any thread)."""
    from anylabel.tracking.output import FrameAnnotations
    from anylabel.tracking.session import TrackingSession

    def wrap(cls: Any, name: str, stage: str) -> None:
        real = getattr(cls, name)

        def timed(*a, **k):
            t = time.perf_counter()
            try:
                return real(*a, **k)
            finally:
                STAGES[stage] = STAGES.get(stage, 0.0) + time.perf_counter() - t

        setattr(cls, name, timed)

    wrap(TrackingSession, "_track_frame", "track")
    wrap(FrameAnnotations, "write", "write")


def pump(app: Any, condition, timeout: float = 900.0, signal: Any = None, poll_ms: int = 20) -> None:
    """Run the Qt event loop (idle between events, as in the app) until ``condition()`` holds, re-checked
    when ``signal`` fires and every ``poll_ms`` (during a propagation: rarely, so that the check itself
    does not wake the GUI thread 50 times a second, which the app does not do)."""
    from PyQt5 import QtCore

    loop = QtCore.QEventLoop()
    timer = QtCore.QTimer()
    timer.timeout.connect(loop.quit)
    timer.start(poll_ms)
    if signal is not None:
        signal.connect(loop.quit)
    end = time.monotonic() + timeout
    try:
        while not condition():
            if time.monotonic() > end:
                raise TimeoutError("no answer in time")
            loop.exec_()
    finally:
        timer.stop()
        if signal is not None:
            signal.disconnect(loop.quit)


def run_cli(predictor: Any, video: Path, frames: int, precision: str, out: Path) -> Dict[str, Any]:
    from anylabel.backends.prompt import Prompt
    from anylabel.imaging.video import open_frames
    from anylabel.tracking import Propagation, TrackingSession
    from anylabel.tracking.output import FrameAnnotations

    source = open_frames(video)
    h, w = source.size
    session = TrackingSession(predictor, source, precision=precision)
    session.add_prompt(0, 1, Prompt.from_clicks([(w * 0.3, h * 0.55)], []), label="object")
    files = FrameAnnotations(source, out)
    stamps: List[float] = []
    STAGES.clear()
    t0, c0 = time.perf_counter(), time.process_time()
    for result in session.run(Propagation("forward", last=frames - 1)):
        files.write(result)
        stamps.append(time.perf_counter())
    return _numbers(t0, c0, stamps)


def _numbers(t0: float, c0: float, stamps: List[float]) -> Dict[str, Any]:
    n = len(stamps)
    gaps = np.diff([t0] + stamps)
    stages = {k: v / n for k, v in STAGES.items()}
    STAGES.clear()
    return {**stages, "frames": n, "wall": (stamps[-1] - t0) / n, "cpu": (time.process_time() - c0) / n,
            "median": float(statistics.median(gaps)), "first": float(gaps[0])}


class Gui:
    """The real window, opened on the video once per round."""

    def __init__(self, registry: Any, model: str, precision: str, predictor: Any) -> None:
        from PyQt5 import QtCore

        from anylabel.config import Config
        from anylabel.gui.app import create_window
        from anylabel.gui.dialogs.label import LabelChoice

        self.window = w = create_window(None, config=Config(precision=precision), registry=registry, model=model)
        self.app = QtCore.QCoreApplication.instance()
        w.resize(1600, 1000)
        w.ask_unsaved = lambda *a: "discard"
        w.ask_label = lambda *a, **k: LabelChoice("object")
        self.panel = w.features["video"]
        self.panel.worker._load = lambda name: predictor  # the CLI rounds' predictor object
        real = self.panel._on_frame_tracked

        def on_frame(frame: int, done: int, total: int) -> None:
            real(frame, done, total)
            self.stamps.append(time.perf_counter())

        self.panel.worker.frameTracked.disconnect()
        self.panel.worker.frameTracked.connect(on_frame)
        self.stamps: List[float] = []

    def run(self, video: Path, frames: int, out: Path, profile: Any = None) -> Dict[str, Any]:
        from PyQt5 import QtCore, QtTest

        w, panel, app = self.window, self.panel, self.app
        if w.history is not None:
            w.history.mark_saved()
        w.output_dir = str(out)
        assert w.open_path(str(video)), "the window opened the video"
        pump(app, lambda: panel.tracking == "ready" and panel.worker.session is not None)
        h, wd = w.canvas.image_size
        w.canvas.fit_to_window()
        p = w.canvas.to_widget(wd * 0.3, h * 0.55)
        QtTest.QTest.mouseClick(w.canvas, QtCore.Qt.LeftButton, QtCore.Qt.NoModifier,
                                QtCore.QPoint(round(p.x()), round(p.y())))
        pump(app, lambda: w.ai.result is not None and w.ai.result.version == w.ai.version)
        w.ai.finish()
        pump(app, lambda: panel.worker.confirmed)
        # the dock's range "to frame", as a user sets it (its default, "to the end", would track the whole video)
        panel.dock_widget.set_settings(PropagationSettings(range="frame", to_frame=frames - 1))
        self.stamps = []
        finished: List[int] = []
        slot = lambda n, cancelled: finished.append(n)  # noqa: E731
        panel.worker.propagationFinished.connect(slot)
        if profile is not None:
            profile.enable()
        STAGES.clear()
        t0, c0, g0 = time.perf_counter(), time.process_time(), time.thread_time()
        panel.propagate()
        pump(app, lambda: bool(finished), signal=panel.worker.propagationFinished, poll_ms=2000)
        app.processEvents()
        gui_thread = time.thread_time() - g0  # the GUI thread's CPU: signals, loading, painting, idling
        if profile is not None:
            profile.disable()
        panel.worker.propagationFinished.disconnect(slot)
        out_numbers = _numbers(t0, c0, self.stamps)
        out_numbers["gui_thread"] = gui_thread / max(1, len(self.stamps))
        return out_numbers

    def close(self) -> None:
        if self.window.history is not None:
            self.window.history.mark_saved()
        self.panel.shutdown()
        self.window.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=Path, help="models.yaml of --full random checkpoints")
    ap.add_argument("--model", default="sam2.1_hiera_tiny")
    ap.add_argument("--precision", default="float32", choices=[p for p in PRECISIONS if p != "auto"])
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--video", type=Path, default=None)
    ap.add_argument("--masks", choices=("object", "model"), default="object",
                    help="object: object-like ellipses after the model's work (default); model: random weights' own")
    ap.add_argument("--profile", type=Path, default=None, help="cProfile of the GUI thread in the gui rounds")
    args = ap.parse_args()

    import torch
    from click_latency import full_models_file

    from anylabel.models import ModelRegistry
    from anylabel.tracking.model import load_video_predictor

    if args.threads:
        torch.set_num_threads(args.threads)
    video = args.video or demo_video()
    registry = ModelRegistry.load(extra_files=[full_models_file(args.models, ("sam2",), "random_full_sam2")])
    predictor = load_video_predictor(args.model, registry=registry, device="cpu")
    if args.masks == "object":
        object_like_masks()
    timed_stages()
    gui = Gui(registry, args.model, args.precision, predictor)
    profile = None
    if args.profile:
        import cProfile

        profile = cProfile.Profile()
    tmp = Path(tempfile.mkdtemp(prefix="video-gui-overhead-"))
    load = [os.getloadavg()[0]]
    results: Dict[str, List[Dict[str, Any]]] = {"cli": [], "gui": []}
    try:
        for r in range(args.rounds):
            order = ("cli", "gui") if r % 2 == 0 else ("gui", "cli")
            for kind in order:
                out = tmp / f"{kind}-{r}"
                if kind == "cli":
                    results[kind].append(run_cli(predictor, video, args.frames, args.precision, out))
                else:
                    results[kind].append(gui.run(video, args.frames, out, profile))
                load.append(os.getloadavg()[0])
                print(f"round {r} {kind}: {results[kind][-1]['wall']:.3f} s/frame", flush=True)
    finally:
        gui.close()
        shutil.rmtree(tmp, ignore_errors=True)
    if profile is not None:
        profile.dump_stats(str(args.profile))

    def med(kind: str, key: str) -> float:
        return float(statistics.median(x[key] for x in results[kind]))

    print(f"\n{args.model}, {args.precision}, {torch.get_num_threads()} torch threads, {video.name} first "
          f"{args.frames} frames, {args.rounds} rounds; load average {min(load):.2f}-{max(load):.2f}")
    print(f"{'path':6s} | {'s/frame wall':>12s} {'median gap':>10s} {'CPU s/frame':>11s} | {'model':>7s} "
          f"{'write':>7s} {'GUI thread':>10s}  (per frame)")
    for kind in ("cli", "gui"):
        gt = f"{med(kind, 'gui_thread') * 1000:8.1f}ms" if kind == "gui" else f"{'':10s}"
        print(f"{kind:6s} | {med(kind, 'wall'):12.3f} {med(kind, 'median'):10.3f} {med(kind, 'cpu'):11.3f} | "
              f"{med(kind, 'track'):7.3f} {med(kind, 'write'):7.3f} {gt}")
    pairs = list(zip(results["gui"], results["cli"]))  # one round's two runs ran back to back
    wall = statistics.median(g["wall"] / c["wall"] for g, c in pairs)
    cpu = statistics.median(g["cpu"] / c["cpu"] for g, c in pairs)
    per_round = ", ".join(f"{g['wall'] / c['wall']:.2f}" for g, c in pairs)
    print(f"gui / cli, median of the rounds' ratios: wall {wall:.3f}x, CPU {cpu:.3f}x (target <= 1.10x); "
          f"per round, wall: {per_round}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
