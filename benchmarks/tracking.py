"""Benchmark: anylabel's TrackingSession against sam2's raw video predictor, speed and memory.

Usage::

    .venv/bin/python benchmarks/tracking.py [--frames 12] [--objects 1] [--repeats 2]
        [--long-frames 200] [--threads 1] [--skip-long] [--skip-speed]

Both trackers use the same model object built the same way (``anylabel.tracking.model``), and the same
prompts on frame 0. "raw" is sam2's own ``init_state`` (decodes, resizes and keeps every frame) +
``propagate_in_video``; "ours" is ``TrackingSession`` (lazy frames, our propagation loop, release of
outputs outside the memory window) + ``propagate``. Each frame's masks are turned into numpy bool by both.

1. **Same frames, full-size model.** Random-weight SAM2.1 hiera tiny at its real size
   (``tools/random_checkpoints.py --full``, sam2's packaged config) on the first ``--frames`` frames of
   sam2's bedroom video (960x540).
   * Speed, *paired*: one child process advances raw's generator and ours in turn, frame by frame,
     alternating which goes first, so both see the same machine at the same moment. Wall and CPU time
     (``time.process_time``) per frame; the overhead is computed on CPU time, the work each tracker
     does: this 2-core machine is shared, and wall times of identical work differed by +-40 % between
     neighbouring frames. Reported: load + prompt time, seconds per tracked frame, CPU seconds per frame
     including loading, and our overhead (ratio of the CPU totals including loading, median of the
     per-frame CPU ratios, and the same median on wall time). ``--repeats`` paired runs, medians.
   * Peak RSS: each tracker alone in its own child process (20 ms RSS sampling), and the increase over
     the process's RSS once the model is built.
2. **Long run, RSS over frames.** A synthetic ``--long-frames``-frame 960x540 JPEG video (textured
   background, a moving disc), 1 object, the small random SAM2.1 of ``random_checkpoints.py`` at sam2's
   real input size 1024 (the state sam2 keeps per frame, 3x1024x1024 float32 frames and 64x64x64 memory
   features, has the full-size model's size; the narrow encoder only makes a frame cheaper so that more
   frames fit the time). RSS after every frame, printed at checkpoints, with the slope over the second
   half. Both loops call glibc's ``malloc_trim`` before each sample, so RSS shows what is held rather
   than freed memory the allocator has not returned yet (the session also trims every 8 frames by itself).

Random weights: speed and memory only, nothing about mask quality.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Dict, List

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROMPTS = [((210.0, 350.0), None), (None, (420.0, 100.0, 700.0, 420.0)), ((800.0, 300.0), None)]


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 1e6


class PeakSampler(threading.Thread):
    """Samples the process RSS every 20 ms and keeps the maximum."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = _rss_mb()
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(0.02):
            self.peak = max(self.peak, _rss_mb())

    def stop(self) -> float:
        self._halt.set()
        self.join()
        return max(self.peak, _rss_mb())


# ------------------------------------------------------------------------------------------- worker
def worker(args: argparse.Namespace) -> Dict[str, Any]:
    """One measurement in this (child) process; returns what the parent prints."""
    import torch

    torch.set_num_threads(args.threads)
    from anylabel.tracking.memory import trim_heap
    from anylabel.tracking.model import build_video_predictor

    predictor = build_video_predictor(args.config, args.ckpt)
    trim_heap()
    base = _rss_mb()
    sampler = PeakSampler()
    sampler.start()
    t0 = time.perf_counter()
    frame_s: List[float] = []
    rss: List[float] = []
    if args.worker == "raw":
        state = predictor.init_state(args.video)
        for obj in range(args.objects):
            point, box = PROMPTS[obj]
            predictor.add_new_points_or_box(state, 0, obj + 1, points=[point] if point else None,
                                            labels=[1] if point else None, box=box)
        t_prompt = time.perf_counter()
        last = t_prompt
        for _, _, masks in predictor.propagate_in_video(state):
            _ = (masks[:, 0] > 0).cpu().numpy()
            now = time.perf_counter()
            frame_s.append(now - last)
            last = now
            trim_heap()  # so that RSS shows what is held, not allocator slack (see the docstring)
            rss.append(_rss_mb())
            last = time.perf_counter()
    else:
        from anylabel.backends.prompt import Prompt
        from anylabel.imaging.video import open_frames
        from anylabel.tracking import TrackingSession

        session = TrackingSession(predictor, open_frames(args.video), precision="float32")  # as raw sam2
        for obj in range(args.objects):
            point, box = PROMPTS[obj]
            session.add_prompt(0, obj + 1, Prompt.from_clicks([point] if point else [], box=box))
        t_prompt = time.perf_counter()
        last = t_prompt
        for result in session.propagate():
            _ = result.masks  # already numpy bool
            now = time.perf_counter()
            frame_s.append(now - last)
            trim_heap()
            rss.append(_rss_mb())
            last = time.perf_counter()
    peak = sampler.stop()
    return {"tracker": args.worker, "load_prompt_s": t_prompt - t0, "frame_s": frame_s, "rss": rss,
            "rss_base": base, "rss_peak": peak, "frames": len(frame_s)}


def paired(args: argparse.Namespace) -> Dict[str, Any]:
    """Speed, paired: sam2's generator and ours advanced in turn in one process (same model, same load on
    the machine at the same moment), alternating which goes first; times per frame for each."""
    import torch

    torch.set_num_threads(args.threads)
    from anylabel.backends.prompt import Prompt
    from anylabel.imaging.video import open_frames
    from anylabel.tracking import TrackingSession
    from anylabel.tracking.model import build_video_predictor

    predictor = build_video_predictor(args.config, args.ckpt)
    t0, c0 = time.perf_counter(), time.process_time()
    state = predictor.init_state(args.video)
    for obj in range(args.objects):
        point, box = PROMPTS[obj]
        predictor.add_new_points_or_box(state, 0, obj + 1, points=[point] if point else None,
                                        labels=[1] if point else None, box=box)
    raw_load, raw_load_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    session = TrackingSession(predictor, open_frames(args.video), precision="float32")  # as raw sam2
    for obj in range(args.objects):
        point, box = PROMPTS[obj]
        session.add_prompt(0, obj + 1, Prompt.from_clicks([point] if point else [], box=box))
    ours_load, ours_load_cpu = time.perf_counter() - t0, time.process_time() - c0
    raw_gen, ours_gen = predictor.propagate_in_video(state), session.propagate()
    raw_s: List[float] = []
    ours_s: List[float] = []
    raw_cpu: List[float] = []
    ours_cpu: List[float] = []

    def step_raw() -> None:
        t, c = time.perf_counter(), time.process_time()
        _, _, masks = next(raw_gen)
        _ = (masks[:, 0] > 0).cpu().numpy()
        raw_s.append(time.perf_counter() - t)
        raw_cpu.append(time.process_time() - c)

    def step_ours() -> None:
        t, c = time.perf_counter(), time.process_time()
        _ = next(ours_gen).masks
        ours_s.append(time.perf_counter() - t)
        ours_cpu.append(time.process_time() - c)

    for i in range(state["num_frames"]):
        for step in ((step_raw, step_ours) if i % 2 == 0 else (step_ours, step_raw)):
            step()
    return {"raw_load": raw_load, "ours_load": ours_load, "raw_s": raw_s, "ours_s": ours_s,
            "raw_load_cpu": raw_load_cpu, "ours_load_cpu": ours_load_cpu, "raw_cpu": raw_cpu, "ours_cpu": ours_cpu}


def run_worker(kind: str, config: str, ckpt: str, video: Path, objects: int, threads: int) -> Dict[str, Any]:
    """Run ``worker`` (``raw`` / ``ours``) or ``paired`` in a child process; its JSON result."""
    cmd = [sys.executable, __file__, "--worker", kind, "--config", config, "--ckpt", ckpt, "--video", str(video),
           "--objects", str(objects), "--threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, TQDM_DISABLE="1"))
    if out.returncode != 0:
        raise RuntimeError(f"worker {kind} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------- data
def bedroom_frames(n: int, out: Path) -> Path:
    import shutil

    src = ROOT.parent / "shared" / "data" / "sam2-demo" / "bedroom"
    if not src.is_dir():
        src = ROOT / "tests" / "fixtures" / "sam2-demo" / "bedroom"
    files = sorted(src.glob("*.jpg"))
    if len(files) < n:
        raise SystemExit(f"only {len(files)} bedroom frames in {src}, asked for {n}")
    out.mkdir(parents=True, exist_ok=True)
    for f in files[:n]:
        shutil.copy(f, out / f.name)
    return out


def synthetic_video(n: int, out: Path, size=(540, 960)) -> Path:
    """``n`` JPEG frames named 00000.jpg..., as sam2's folder loader wants: a disc moving over texture."""
    import cv2

    out.mkdir(parents=True, exist_ok=True)
    h, w = size
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), (0, 0), 3)
    for i in range(n):
        img = texture.copy()
        cx = int(w * (0.2 + 0.6 * (0.5 + 0.5 * np.sin(i / 15.0))))
        cv2.circle(img, (cx, h // 2), 60, (30, 60, 220), -1)
        cv2.imwrite(str(out / f"{i:05d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return out


def resized_config(config: str, size: int, out: Path) -> str:
    """The config file with input size ``size`` (the weights do not depend on it); unchanged for 1024."""
    if size == 1024:
        return config
    import yaml

    cfg = yaml.safe_load(Path(config).read_text(encoding="utf-8"))
    cfg["model"]["image_size"] = size
    for attn in ("self_attention", "cross_attention"):
        cfg["model"]["memory_attention"]["layer"][attn]["feat_sizes"] = [size // 16, size // 16]
    path = out / f"input{size}.yaml"
    path.write_text("# @package _global_\n" + yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return str(path)


# ------------------------------------------------------------------------------------------- report
def speed_table(pairs: List[Dict[str, Any]], mem: Dict[str, Dict[str, Any]]) -> str:
    """Per-frame wall and CPU seconds from the paired runs (medians over runs), peak RSS from the separate
    runs, and our overhead on CPU time (the work done; wall time on a shared CPU mostly measures the
    neighbours): ratio of totals including loading, and the median of the per-frame ratios."""

    def med(key: str, fn) -> float:
        return statistics.median([fn(p) for p in pairs]) if pairs else float("nan")

    rows = []
    for kind, name in (("raw", "sam2 raw (init_state + propagate_in_video)"), ("ours", "anylabel TrackingSession")):
        m = mem[kind]
        rows.append(
            f"| {name} | {med(kind, lambda p: p[f'{kind}_load']):.1f} | "
            f"{med(kind, lambda p: statistics.mean(p[f'{kind}_s'])):.2f} | "
            f"{med(kind, lambda p: statistics.mean(p[f'{kind}_cpu'])):.2f} | "
            f"{med(kind, lambda p: (p[f'{kind}_load_cpu'] + sum(p[f'{kind}_cpu'])) / len(p[f'{kind}_cpu'])):.2f} | "
            f"{m['rss_peak']:.0f} | {m['rss_peak'] - m['rss_base']:.0f} |")
    total = {k: med(k, lambda p, k=k: p[f"{k}_load_cpu"] + sum(p[f"{k}_cpu"])) for k in ("raw", "ours")}
    ratios = [o / r for p in pairs for o, r in zip(p["ours_cpu"][1:], p["raw_cpu"][1:])]  # frame 0: prompt output
    wall = [o / r for p in pairs for o, r in zip(p["ours_s"][1:], p["raw_s"][1:])]
    head = ("| tracker | load + prompt, wall (s) | s/frame wall | s/frame CPU | s/frame CPU incl. load | "
            "peak RSS (MB) | peak over model (MB) |\n|---|---:|---:|---:|---:|---:|---:|")
    wall_ratio = 100 * (statistics.median(wall) - 1)
    over = (f"| overhead of ours (CPU time) | | wall, median per-frame ratio {wall_ratio:+.1f} % | "
            f"median per-frame ratio {100 * (statistics.median(ratios) - 1):+.1f} % | "
            f"total {100 * (total['ours'] / total['raw'] - 1):+.1f} % | | |")
    return "\n".join([head, *rows, over])


def long_table(raw: Dict[str, Any], ours: Dict[str, Any]) -> str:
    n = min(raw["frames"], ours["frames"])
    marks = sorted({0, 15, 25, 50, 100, 200, 300, 400, 500, n // 2, n - 1} & set(range(n)))
    head = "| frame | " + " | ".join(str(m) for m in marks) + " | slope, 2nd half (MB/frame) |"
    sep = "|---|" + "---:|" * (len(marks) + 1)
    lines = [head, sep]
    for name, r in (("sam2 raw RSS (MB)", raw), ("anylabel RSS (MB)", ours)):
        half = np.arange(n // 2, n)
        slope = float(np.polyfit(half, np.asarray(r["rss"][n // 2:n]), 1)[0]) if len(half) > 2 else float("nan")
        lines.append(f"| {name} | " + " | ".join(f"{r['rss'][m]:.0f}" for m in marks) + f" | {slope:+.2f} |")
    lines.append(f"| model-only RSS before the video (MB) | raw {raw['rss_base']:.0f}, ours {ours['rss_base']:.0f} |")
    return "\n".join(lines)


def main(argv: List[str] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=12, help="bedroom frames of the speed comparison")
    ap.add_argument("--objects", type=int, default=1, help="objects tracked (1..3)")
    ap.add_argument("--repeats", type=int, default=2, help="paired runs of the speed part")
    ap.add_argument("--long-frames", type=int, default=200, help="frames of the synthetic long run")
    ap.add_argument("--long-input", type=int, default=1024, choices=(256, 512, 1024),
                    help="model input size of the long run (256: the tests' size, many frames fast)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-long", action="store_true")
    ap.add_argument("--worker", choices=["raw", "ours", "paired"], help=argparse.SUPPRESS)
    ap.add_argument("--config", help=argparse.SUPPRESS)
    ap.add_argument("--ckpt", help=argparse.SUPPRESS)
    ap.add_argument("--video", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(paired(args) if args.worker == "paired" else worker(args)))
        return 0

    import importlib.util

    spec = importlib.util.spec_from_file_location("random_checkpoints", ROOT / "tools" / "random_checkpoints.py")
    rc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rc)
    with tempfile.TemporaryDirectory(prefix="anylabel_bench_tracking_") as tmp:
        tmp = Path(tmp)
        print(f"# tracking benchmark: {os.cpu_count()} CPUs, torch threads per worker {args.threads}")
        if not args.skip_speed:
            full = next(e for e in rc.write_sam2(tmp / "full", full=True) if e["name"] == "sam2.1_hiera_tiny")
            video = bedroom_frames(args.frames, tmp / "bedroom")
            cfg, ckpt = full["settings"]["config"], full["path"]
            pairs = []
            for i in range(args.repeats):
                r = run_worker("paired", cfg, ckpt, video, args.objects, args.threads)
                pairs.append(r)
                print("  paired run %d, CPU s/frame: raw %s | ours %s" % (
                    i + 1, ", ".join(f"{v:.2f}" for v in r["raw_cpu"]), ", ".join(f"{v:.2f}" for v in r["ours_cpu"])),
                    flush=True)
            mem = {k: run_worker(k, cfg, ckpt, video, args.objects, args.threads) for k in ("raw", "ours")}
            for k, r in mem.items():
                print(f"  {k} alone: peak {r['rss_peak']:.0f} MB, model {r['rss_base']:.0f} MB", flush=True)
            print(f"\n## Same frames: full-size random SAM2.1 hiera tiny, {args.frames} bedroom frames "
                  f"(960x540), {args.objects} object(s), {args.threads} torch thread(s)\n")
            print(speed_table(pairs, mem), flush=True)
        if not args.skip_long:
            small = next(e for e in rc.write_sam2(tmp / "small") if e["name"] == "sam2.1_hiera_tiny")
            config = resized_config(small["settings"]["config"], args.long_input, tmp / "small")
            video = synthetic_video(args.long_frames, tmp / "synthetic")
            raw = run_worker("raw", config, small["path"], video, 1, args.threads)
            ours = run_worker("ours", config, small["path"], video, 1, args.threads)
            print(f"\n## Long run: {args.long_frames} synthetic frames, small random SAM2.1 at input "
                  f"{args.long_input}, 1 object"
                  f" (s/frame: raw {statistics.median(raw['frame_s']):.2f}, ours "
                  f"{statistics.median(ours['frame_s']):.2f})\n")
            print(long_table(raw, ours))
    return 0


if __name__ == "__main__":
    sys.exit(main())
