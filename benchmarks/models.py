#!/usr/bin/env python
"""Encoder seconds and click p50 of every SAM-design family on this CPU, each beside its upstream predictor in
the same run, with full-size random-weight checkpoints (compute cost does not depend on weight values; nothing
here says anything about mask quality).

Per model: ours = the anylabel segmenter (``load_segmenter``: registry path, cache, fast decoder, box-cropped
upsampling); upstream = the package's own predictor on the *same* model object (``SamPredictor`` of
segment_anything / mobile_sam / segment_anything_hq, sam2's ``SAM2ImagePredictor``): ``set_image`` timed as
the encoder, ``predict(point, multimask_output=True)`` (its full-size masks) as a click. Ours: ``set_image``
on a new key (the encoder runs), ``predict(Prompt.from_clicks([point]))`` (the best candidate's full-size
mask). Rounds interleave ours and upstream so load on a shared machine hits both alike; the table gives the
median encoder seconds over ``--repeats`` rounds, the click p50 over ``--clicks`` clicks, and the 1-minute
load average. ``--precision`` is ours (default float32, upstream's precision; ``auto`` = what the engine probe
picks on this CPU).

    python benchmarks/models.py [--models FULL/models.yaml] [--repeats 2] [--clicks 10]
                                [--only mobile_sam,sam_hq_vit_b] [--precision float32]
"""
from __future__ import annotations

import argparse
import importlib
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from click_latency import full_models_file  # noqa: E402
from engines import photo  # noqa: E402

#: registry name -> family written by tools/random_checkpoints.py --full
MODELS = {"mobile_sam": "mobile_sam", "sam2.1_hiera_tiny": "sam2", "sam_vit_b": "sam", "sam_hq_vit_b": "sam_hq"}
UPSTREAM = {"sam": "segment_anything", "mobile_sam": "mobile_sam", "sam_hq": "segment_anything_hq"}


def cpu_kind() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return platform.processor() or "unknown CPU"
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return f"{fields.get('Model name', '?').strip()}, {fields.get('CPU(s)', '?').strip()} CPUs"


def upstream_predictor(seg, family: str):
    if family == "sam2":
        from sam2.sam2_image_predictor import SAM2ImagePredictor

        return SAM2ImagePredictor(seg.model)
    return importlib.import_module(UPSTREAM[family]).SamPredictor(seg.model)


def bench(name: str, family: str, registry, image: np.ndarray, repeats: int, clicks: int,
          precision: str) -> Dict[str, float]:
    import torch

    from anylabel.backends import Prompt, load_segmenter

    seg = load_segmenter(name, registry=registry, precision=precision, device="cpu")
    predictor = upstream_predictor(seg, family)
    ours_enc, up_enc, loads = [], [], [os.getloadavg()[0]]
    for r in range(repeats):
        t = time.perf_counter()
        seg.set_image(image, key=f"bench-{name}-{r}")
        ours_enc.append(time.perf_counter() - t)
        t = time.perf_counter()
        with torch.inference_mode():
            predictor.set_image(image)
        up_enc.append(time.perf_counter() - t)
        loads.append(os.getloadavg()[0])
    h, w = image.shape[:2]
    rng = np.random.default_rng(0)
    points = np.stack([rng.uniform(0.2 * w, 0.8 * w, clicks), rng.uniform(0.2 * h, 0.8 * h, clicks)], 1)
    ours_click, up_click = [], []
    for x, y in points:
        t = time.perf_counter()
        seg.predict(Prompt.from_clicks([(float(x), float(y))]))
        ours_click.append(time.perf_counter() - t)
        t = time.perf_counter()
        with torch.inference_mode():
            predictor.predict(point_coords=np.array([[x, y]]), point_labels=np.array([1]), multimask_output=True)
        up_click.append(time.perf_counter() - t)
    loads.append(os.getloadavg()[0])
    seg.close()
    return {"enc": statistics.median(ours_enc), "enc_up": statistics.median(up_enc),
            "click": 1e3 * statistics.median(ours_click), "click_up": 1e3 * statistics.median(up_click),
            "load_min": min(loads), "load_max": max(loads), "engines": seg.runs_on()}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, help="models file of full-size random checkpoints (default: "
                                                    "written once into the cache folder)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--clicks", type=int, default=10)
    parser.add_argument("--only", help=f"comma-separated among {','.join(MODELS)}")
    parser.add_argument("--precision", default="float32", help="ours: float32 (upstream's), bfloat16 or auto")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",")] if args.only else list(MODELS)
    from anylabel.models import ModelRegistry

    models_file = full_models_file(args.models, sorted({MODELS[n] for n in names}), "random_full_families")
    registry = ModelRegistry.load(extra_files=[models_file])
    image = photo()
    import torch

    print(f"CPU: {cpu_kind()}; torch {torch.__version__}, {torch.get_num_threads()} threads; image "
          f"{image.shape[1]}x{image.shape[0]}; load {os.getloadavg()[0]:.2f}; ours in {args.precision}", flush=True)
    rows = []
    for name in names:
        r = bench(name, MODELS[name], registry, image, args.repeats, args.clicks, args.precision)
        rows.append((name, r))
        print(f"  {name}: done ({r['engines']})", flush=True)
    print(f"\n{'model':20s} {'encoder s ours':>14s} {'upstream':>9s} {'click p50 ms ours':>18s} {'upstream':>9s}"
          f" {'load':>10s}")
    for name, r in rows:
        print(f"{name:20s} {r['enc']:14.2f} {r['enc_up']:9.2f} {r['click']:18.1f} {r['click_up']:9.1f}"
              f" {r['load_min']:4.1f}-{r['load_max']:<4.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
