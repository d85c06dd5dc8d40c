"""Benchmark: a 10,000-frame video opened and scrubbed through anylabel's lazy frames (target: open < 1 s).

Usage::

    python benchmarks/video_open.py [--frames 10000] [--size 320x240] [--seeks 200] [--video FILE]

Generates (once, cached in the temp folder) a video of ``--frames`` frames with ``cv2.VideoWriter`` (mp4v;
moving shapes and noise, so frames differ), then measures, beside raw ``cv2.VideoCapture`` doing the same in
the same run:

* **open**: ``open_frames(path)`` (frame count, size, first frame) vs ``VideoCapture`` + first ``read``;
  plus the window's index of a 10,000-frame annotation folder (frame names, which frames have a file);
* **random seek**: frames at random positions (cache missed) vs ``set(CAP_PROP_POS_FRAMES)`` + ``read``;
* **sequential**: frame after frame vs ``read`` in a loop;
* **scrub**: a slider dragged across the video (a jump every ~1/60 s of user time) through
  ``FrameReader.request`` (newest request wins) vs decoding every position; and Next / Prev through
  ``FrameReader.get`` (neighbours decoded ahead);
* **old window path**: what the window did per shown frame before issue 16 (extract the frame to a JPEG
  file with fsync, then decode that file; ``video_window.py`` measures the window itself) vs
  ``FrameReader.get``.

Prints one table with p50 / p90 in ms and the ratio to raw OpenCV; the load average is printed beside it.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, List

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from anylabel.imaging.loader import load_image  # noqa: E402
from anylabel.imaging.video import FrameReader, open_frames  # noqa: E402
from anylabel.tracking.output import FrameAnnotations  # noqa: E402


def make_video(path: Path, frames: int, w: int, h: int) -> Path:
    if path.is_file() and int(cv2.VideoCapture(str(path)).get(cv2.CAP_PROP_FRAME_COUNT)) == frames:
        return path
    tmp = path.with_suffix(".part.mp4")
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (w, h))
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 40, size=(h, w, 3), dtype=np.uint8)
    for i in range(frames):
        img = noise.copy()
        cv2.circle(img, (int(w / 2 + w / 3 * np.sin(i / 40)), h // 2), h // 6, (40, 200, 90), -1)
        cv2.rectangle(img, ((i * 3) % w, 10), ((i * 3) % w + 30, 50), (220, 60, 60), -1)
        cv2.putText(img, str(i), (10, h - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
        writer.write(img)
    writer.release()
    os.replace(tmp, path)
    return path


def timed(fn: Callable[[], object], repeat: int = 1) -> List[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def row(name: str, ours: List[float], raw: List[float] = None) -> str:
    p50, p90 = statistics.median(ours), float(np.percentile(ours, 90))
    ref = ""
    if raw:
        r50 = statistics.median(raw)
        ref = f"{r50:9.2f} {float(np.percentile(raw, 90)):9.2f}   {p50 / r50 if r50 else float('nan'):6.2f}x"
    return f"{name:<44} {p50:9.2f} {p90:9.2f}   {ref}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=10_000)
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--seeks", type=int, default=200)
    ap.add_argument("--sequential", type=int, default=500)
    ap.add_argument("--video", type=Path, default=None, help="measure this video instead of a generated one")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    video = args.video or make_video(Path(tempfile.gettempdir()) / f"anylabel-bench-{args.frames}-{w}x{h}.mp4",
                                     args.frames, w, h)
    rng = np.random.default_rng(1)
    print(f"video: {video} | load average {open('/proc/loadavg').read().split()[:3]}")

    def our_open():
        src = open_frames(video)
        assert len(src) > 0 and src.size
        src.close()

    def raw_open():
        cap = cv2.VideoCapture(str(video))
        cap.get(cv2.CAP_PROP_FRAME_COUNT)
        cap.read()
        cap.release()

    open_ours, open_raw = timed(our_open, 7), timed(raw_open, 7)
    src = open_frames(video, cache_size=8)
    n = len(src)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        files = FrameAnnotations(src, out)
        for i in range(0, n, 2):  # half the frames annotated already
            (out / f"{src.frame_name(i)}.json").write_text("{}")

        def index():
            names = [f"{src.frame_name(i)}.jpg" for i in range(n)]
            stems = {p.stem for p in out.glob("*.json")}
            return names, {i for i in range(n) if src.frame_name(i) in stems}

        index_ms = timed(index, 3)

        positions = [int(p) for p in rng.integers(0, n, args.seeks)]
        seek_ours = []
        for p in positions:
            src._cache.clear()  # a cache miss every time
            seek_ours += timed(lambda: src.frame(p))
        cap = cv2.VideoCapture(str(video))
        seek_raw = []
        for p in positions:
            seek_raw += timed(lambda: (cap.set(cv2.CAP_PROP_POS_FRAMES, p), cap.read()))

        start = n // 3
        src._cache.clear()
        src.frame(start)
        seq_ours = [timed(lambda: src.frame(i))[0] for i in range(start + 1, start + 1 + args.sequential)]
        cap.set(cv2.CAP_PROP_POS_FRAMES, start + 1)
        seq_raw = [timed(lambda: cap.read())[0] for _ in range(args.sequential)]

        # scrub: the slider moves 25 frames per event, one event every 16 ms of user time; newest wins
        reader = FrameReader(src)
        src._cache.clear()
        decoded0, t0 = src.decoded, time.perf_counter()
        events = 120
        for k in range(events):
            fut = reader.request((start + 25 * k) % n)
            time.sleep(0.016)
        t_release = time.perf_counter()
        fut.result()
        final_ms = (time.perf_counter() - t_release) * 1000
        scrub_s, scrub_decodes = time.perf_counter() - t0, src.decoded - decoded0
        every = timed(lambda: [src.frame((start + 25 * k) % n) for k in range(events)])[0]
        # Next / Prev at a reading pace (100 ms per frame), neighbours decoded ahead
        src._cache.clear()
        reader.get(start)
        step = []
        for k in range(1, 40):
            time.sleep(0.1)
            step += timed(lambda: reader.get(start + k))
        reader.close()

        def old_path(i):  # what the window did before: extract a JPEG (fsync), then decode the file
            files.image_path(i)
            load_image(out / f"{src.frame_name(i)}.jpg")

        old = []
        for p in positions[:40]:
            src._cache.clear()
            old += timed(lambda: old_path(p))
        new = []
        for p in positions[:40]:
            src._cache.clear()
            new += timed(lambda: src.frame(p))
    print(f"{n} frames, {w}x{h}, {args.seeks} random seeks, {args.sequential} sequential frames")
    print(f"{'':44} {'ours p50':>9} {'p90':>9}   {'cv2 p50':>9} {'p90':>9}   ratio")
    print(row("open (count, size, first frame), ms", open_ours, open_raw))
    print(row(f"index of {n} frame files (names, annotated), ms", index_ms))
    print(row("random seek (cache miss), ms", seek_ours, seek_raw))
    print(row("sequential frame, ms", seq_ours, seq_raw))
    print(row("Next at 10 frames/s, neighbours ahead, ms", step))
    print(row("old window path per frame (JPEG + fsync), ms", old))
    print(row("the frame decoded directly (same frames), ms", new))
    print(f"scrub: {events} slider events over {scrub_s:.2f} s: {scrub_decodes} decodes (newest wins), the final "
          f"position painted {final_ms:.1f} ms after release; decoding every position: {every:.0f} ms")
    print(f"load average after: {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    main()
