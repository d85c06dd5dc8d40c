#!/usr/bin/env python
"""Every CPU engine side by side, and the one ``precision: auto`` chooses (anylabel/backends/engines.py).

In one run, on a real photo (sam2's truck.jpg, 1800x1200), with full-size random-weight checkpoints
(``tools/random_checkpoints.py --full --only sam,sam2``; compute cost does not depend on weight values):

1. the engine probe, fresh (not the cached result): its wall time, its estimates and the engines it picks;
2. torch's matmul throughput (2048^3) in float32 and bfloat16;
3. SAM vit_b: encoder seconds and click-decoder p50 for torch float32, torch bfloat16 (where the CPU has
   bfloat16 instructions), ONNX Runtime float32 (the export is written once into the cache folder, its cost
   reported) and ``auto`` (a segmenter built with the probe's choice); the encoder's FLOPs (torch's
   FlopCounterMode) and the seconds they take at the float32 and bfloat16 matmul rates measured above;
4. SAM2.1 hiera tiny: float32, bfloat16 and auto (SAM2 has no ONNX path).

Encoders run in interleaved rounds (every engine once per round, ``--repeats`` rounds) so that load on a
shared machine hits all engines alike; the tables give the median (and min) and the 1-minute load average
at each measurement. ``auto / fastest`` is auto's median encoder time over the fastest engine's median
(target <= 1.05); ``probe agrees`` says whether the probe ranks the engines as the full encoder does.

    python benchmarks/engines.py [--models FULL/models.yaml] [--repeats 3] [--clicks 20]
                                 [--only sam_vit_b,sam2.1_hiera_tiny] [--engines torch-float32,onnx-float32]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Dict, List

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from click_latency import encoder_flops, full_models_file, matmul_gflops  # noqa: E402

MODELS = ["sam_vit_b", "sam2.1_hiera_tiny"]


def load() -> float:
    return os.getloadavg()[0]


def photo() -> np.ndarray:
    from PIL import Image

    truck = ROOT.parent / "shared" / "data" / "sam2-demo" / "truck.jpg"
    if truck.exists():
        with Image.open(truck) as im:
            return np.asarray(im.convert("RGB"))
    print("truck.jpg not found: a random 1800x1200 image instead")
    return np.random.default_rng(0).integers(0, 255, (1200, 1800, 3), dtype=np.uint8)


def run_probe():
    from anylabel.backends import engines as en
    from anylabel.backends.engine_probe import probe, probe_report

    candidates = en.offered(onnx=True)
    t = time.perf_counter()
    before = load()
    times = probe(candidates)
    seconds = time.perf_counter() - t
    print(f"probe: {seconds:.1f} s wall (load {before:.1f} -> {load():.1f}), engines {', '.join(candidates)}")
    for line in probe_report(times):
        print("  " + line)
    return times


def build(name: str, registry, plan):
    from anylabel.backends import EmbeddingCache
    from anylabel.backends.factory import adapter_class

    spec = registry.get(name)
    path = registry.ensure(spec)
    return adapter_class(spec)(spec, path, cache=EmbeddingCache(8192), engines=plan)


def clicks(seg, emb, n: int, rng) -> List[float]:
    from anylabel.backends import Prompt

    h, w = emb.orig_hw
    out = []
    for _ in range(n):
        prompt = Prompt.from_clicks([(float(rng.uniform(0, w)), float(rng.uniform(0, h)))])
        t = time.perf_counter()
        seg._decode(emb, prompt.points, prompt.labels, None, None, True)
        out.append(time.perf_counter() - t)
    return out


def bench_model(name: str, registry, image, plans: Dict[str, object], repeats: int, n_clicks: int) -> dict:
    """Encoder seconds and click p50 per engine label (interleaved rounds)."""
    segs, build_s = {}, {}
    for label, plan in plans.items():
        t = time.perf_counter()
        segs[label] = build(name, registry, plan)
        build_s[label] = time.perf_counter() - t
        print(f"  {name} {label}: built in {build_s[label]:.1f} s ({segs[label].engines.describe()})", flush=True)
    enc = {k: [] for k in segs}
    loads = {k: [] for k in segs}
    embs = {}
    for r in range(repeats):
        for label, seg in segs.items():
            loads[label].append(load())
            t = time.perf_counter()
            embs[label] = seg._encode(image)
            enc[label].append(time.perf_counter() - t)
            print(f"  round {r + 1}: {label:16s} encoder {enc[label][-1]:6.2f} s (load {loads[label][-1]:.1f})",
                  flush=True)
    dec = {}
    for label, seg in segs.items():
        seg.prepared(embs[label])
        dec[label] = clicks(seg, embs[label], n_clicks, np.random.default_rng(0))
    flops = encoder_flops(next(s for k, s in segs.items() if plans[k].encoder.startswith("torch")))
    return dict(enc=enc, loads=loads, dec=dec, flops=flops, build=build_s)


def table(name: str, res: dict, plans, probe_times, gflops, auto_label: str) -> None:
    med = {k: statistics.median(v) for k, v in res["enc"].items()}
    engines_only = {k: v for k, v in med.items() if k != auto_label}
    fastest = min(engines_only, key=engines_only.get)
    print(f"\n{name}: encoder {res['flops'] / 1e9:.0f} GFLOP = {res['flops'] / 1e9 / gflops['float32']:.2f} s at "
          f"the float32 matmul rate, {res['flops'] / 1e9 / gflops['bfloat16']:.2f} s at the bfloat16 rate")
    print(f"{'engine':38s} {'encoder med':>11s} {'min':>6s} {'load med':>8s} {'probe est':>9s} | "
          f"{'click p50':>9s} {'p90':>6s} | {'build s':>7s}")
    for label, times in res["enc"].items():
        plan = plans[label]
        est = probe_times["encoder"].get(plan.encoder)  # the probe models SAM ViT-B's encoder
        est_s = f"{est:9.2f}" if est and name == "sam_vit_b" else f"{'-':>9s}"
        d = np.asarray(res["dec"][label]) * 1000
        shown = f"{label} = {plan.encoder}/{plan.decoder}" if label == auto_label else label
        print(f"{shown:38s} {med[label]:11.2f} {min(times):6.2f} {statistics.median(res['loads'][label]):8.1f} "
              f"{est_s} | {np.percentile(d, 50):7.1f}ms {np.percentile(d, 90):6.1f} | {res['build'][label]:7.1f}")
    ratio = med[auto_label] / med[fastest]
    chosen = plans[auto_label].encoder
    pooled = statistics.median(res["enc"][auto_label] + res["enc"].get(chosen, []))
    print(f"fastest encoder: {fastest}; auto's own runs / fastest = {ratio:.2f}x; auto's engine ({chosen}, "
          f"its runs and auto's pooled) / fastest = {pooled / med[fastest]:.2f}x "
          f"({'ok' if pooled / med[fastest] <= 1.05 else 'OVER'} the 1.05x target)")
    if name == "sam_vit_b":
        measured_rank = sorted(engines_only, key=engines_only.get)
        probe_rank = sorted(engines_only, key=lambda k: probe_times["encoder"][plans[k].encoder])
        print(f"ranking, full encoder: {' < '.join(measured_rank)}; probe: {' < '.join(probe_rank)} -> "
              f"probe agrees: {'yes' if measured_rank == probe_rank else 'NO'}")
        dec_med = {k: statistics.median(res["dec"][k]) for k in engines_only}
        d_rank = sorted(dec_med, key=dec_med.get)
        p_rank = sorted(dec_med, key=lambda k: probe_times["decoder"][plans[k].decoder])
        print(f"ranking, clicks: {' < '.join(d_rank)}; probe: {' < '.join(p_rank)} -> "
              f"probe agrees: {'yes' if d_rank == p_rank else 'NO'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, help="models.yaml of --full random checkpoints (written to "
                        "<cache>/random_full if omitted)")
    parser.add_argument("--repeats", type=int, default=3, help="encoder rounds per model (median reported)")
    parser.add_argument("--clicks", type=int, default=20, help="decoder clicks per engine")
    parser.add_argument("--only", help=f"comma-separated models (default {','.join(MODELS)})")
    parser.add_argument("--engines", help="comma-separated engines to compare (default: every offered one)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's)")
    args = parser.parse_args()
    import torch

    from anylabel.backends import engines as en
    from anylabel.models import ModelRegistry

    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"cpu: {en.cpu_model()} x{os.cpu_count()}, bfloat16 instructions: {en.cpu_bfloat16()}, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads), onnxruntime {en.onnxruntime_version()}, "
          f"load {open('/proc/loadavg').read().strip() if os.path.exists('/proc/loadavg') else load()}")
    probe_times = run_probe()
    gflops = {p: matmul_gflops(dtype=p) for p in ("float32", "bfloat16")}
    print(f"matmul 2048^3: {gflops['float32']:.0f} GFLOP/s float32, {gflops['bfloat16']:.0f} GFLOP/s bfloat16 "
          f"(load {load():.1f})")
    registry = ModelRegistry.load(extra_files=[full_models_file(args.models)])
    image = photo()
    wanted = args.engines.split(",") if args.engines else None
    for name in (args.only.split(",") if args.only else MODELS):
        onnx = name.startswith("sam_") and not name.endswith("_onnx")
        offered = [e for e in en.offered(onnx) if wanted is None or e in wanted]
        plans = {e: en.EnginePlan(e, e, "benchmark") for e in offered}
        auto = en.EnginePlan(en.choose(probe_times["encoder"], en.offered(onnx)),
                             en.choose(probe_times["decoder"], en.offered(onnx)), "measured")
        plans["auto"] = auto
        print(f"\n{name}: engines {', '.join(offered)}; auto = {auto.describe()}", flush=True)
        res = bench_model(name, registry, image, plans, args.repeats, args.clicks)
        table(name, res, plans, probe_times, gflops, "auto")
    print(f"\nload at the end: {open('/proc/loadavg').read().strip() if os.path.exists('/proc/loadavg') else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
