"""Benchmark: SAM 3's video tracker on this machine, anylabel's Sam3TrackingSession beside sam3's own
``propagate_in_video`` on the same model object, the same frames and the same click.

Usage::

    ANYLABEL_MODELS=/tmp/rand/models.yaml .venv/bin/python benchmarks/track_sam3.py [--frames 4] [--device cpu]

(``tools/random_checkpoints.py --out /tmp/rand --only sam3`` writes a random full-size ``sam3.pt``, 3.4 GB.)
The model is loaded once through the registry (``load_video_predictor("sam3")``: sam3's ``build_tracker`` with
its backbone, sam3.pt's tracker and vision-backbone weights). "upstream" is ``init_state`` + ``add_new_points_or_box``
+ ``propagate_in_video`` on one state whose ``images`` are the session's lazily prepared frames (so both decode
alike); "ours" is ``add_prompt`` + ``run``. The two generators are advanced in turn, frame by frame, so both see
the machine at the same moment (it is shared). Reported: load, the click, wall and CPU seconds per tracked frame
(frame 0 is the prompt's own output and is not counted), and the ratio ours / upstream in the same run.

Random weights: speed only, nothing about mask quality.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=4, help="frames of sam2's bedroom video (default 4)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default="sam3")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--precision", choices=("float32", "bfloat16"), default="float32",
                        help="both trackers' arithmetic (bfloat16: CPU autocast, as the session's --precision)")
    args = parser.parse_args()

    import torch

    from anylabel.backends.precision import encoder_autocast
    from anylabel.backends.prompt import Prompt
    from anylabel.backends.sam3_device import on_device
    from anylabel.imaging.video import open_frames
    from anylabel.tracking.model import load_video_predictor, open_session

    if args.threads:
        torch.set_num_threads(args.threads)
    bedroom = ROOT / "tests" / "fixtures" / "sam2-demo" / "bedroom"
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"track_sam3_{args.frames}"
    folder.mkdir(exist_ok=True)
    for src in sorted(bedroom.glob("*.jpg"))[: args.frames]:
        if not (folder / src.name).exists():
            (folder / src.name).write_bytes(src.read_bytes())
    t0 = time.perf_counter()
    predictor = load_video_predictor(args.model, device=args.device)
    load_s = time.perf_counter() - t0
    frames = open_frames(str(folder))
    h, w = frames.size
    click = Prompt(points=np.array([[420.0, 300.0]]), labels=np.array([1]))

    session = open_session(predictor, frames, precision=args.precision)
    t0 = time.perf_counter()
    session.add_prompt(0, 1, click)
    ours_click = time.perf_counter() - t0
    autocast = encoder_autocast(args.precision, torch.device(args.device).type)
    with on_device(args.device), torch.inference_mode(), autocast:
        state = predictor.init_state(video_height=h, video_width=w, num_frames=len(frames))
        state["images"] = session.images
        state["storage_device"] = state["device"]
        t0 = time.perf_counter()
        predictor.add_new_points_or_box(state, frame_idx=0, obj_id=1, points=click.points.astype(np.float32) / [w, h],
                                        labels=click.labels.astype(np.int32))
        up_click = time.perf_counter() - t0
    ours_gen = session.run()
    up_gen = predictor.propagate_in_video(state, 0, None, False, tqdm_disable=True, propagate_preflight=True)
    times = {"ours": [], "upstream": []}
    for i in range(len(frames)):
        order = [("ours", ours_gen), ("upstream", up_gen)]
        for name, gen in (order if i % 2 == 0 else order[::-1]):
            w0, c0 = time.perf_counter(), time.process_time()
            if name == "upstream":
                with on_device(args.device), encoder_autocast(args.precision, torch.device(args.device).type):
                    next(gen)
            else:
                next(gen)
            if i:  # frame 0 is the prompt's output
                times[name].append((time.perf_counter() - w0, time.process_time() - c0))
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    print(f"SAM 3 tracker ({args.model}), {len(frames)} bedroom frames {w}x{h}, 1 object, {args.device}, "
          f"{args.precision}, {torch.get_num_threads()} torch threads; {cpu}, {os.cpu_count()} CPUs, "
          f"load {' '.join(load)}")
    print(f"model load {load_s:.1f} s; click: ours {ours_click:.2f} s, upstream {up_click:.2f} s")
    print("| tracker | s / frame (wall, median) | CPU s / frame (median) | frames |")
    print("| --- | --- | --- | --- |")
    med = {k: (statistics.median(a for a, _ in v), statistics.median(b for _, b in v)) for k, v in times.items()}
    for k in ("ours", "upstream"):
        print(f"| {k} | {med[k][0]:.2f} | {med[k][1]:.2f} | {len(times[k])} |")
    print(f"ratio ours / upstream: wall {med['ours'][0] / med['upstream'][0]:.3f}, "
          f"CPU {med['ours'][1] / med['upstream'][1]:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
