#!/usr/bin/env python
"""Encoder seconds and click p50 of every model family on this CPU, each beside its upstream predictor in the
same run, with full-size random-weight checkpoints (compute cost does not depend on weight values; nothing
here says anything about mask quality).

Per model: ours = the anylabel segmenter (``load_segmenter``: registry path, cache, fast decoder, box-cropped
upsampling); upstream = the package's own predictor on the *same* model object, its image step timed as the
encoder and its prompt step as a click:

* SAM, MobileSAM, SAM-HQ: the package's ``SamPredictor`` (segment_anything / mobile_sam / segment_anything_hq),
  ``set_image`` and ``predict(point, multimask_output=True)`` (its full-size masks);
* SAM2: sam2's ``SAM2ImagePredictor``, the same two calls;
* FastSAM: ultralytics' own pipeline, ``FastSAM.predict(image, retina_masks=True, imgsz=1024, ...)`` (the
  everything pass) and ``FastSAMPredictor.prompt(results, points=..., labels=...)`` (a click selects masks);
* SAM 3 (when the sam3 package is installed): ``Sam3Processor.set_image`` and ``model.predict_inst`` (its
  SAM-1-task click), under the same ``sam3_device.on_device`` our adapter uses to run it off CUDA.

Ours: ``set_image`` on a new key (the encoder runs), ``predict(Prompt.from_clicks([point]))`` (the best
candidate's full-size mask). Rounds interleave ours and upstream so load on a shared machine hits both alike;
the table gives the median encoder seconds over ``--repeats`` rounds, the click p50 over ``--clicks`` clicks,
and the 1-minute load average. ``--precision`` is ours (default float32, upstream's precision; ``auto`` = what
the engine probe picks on this CPU).

    python benchmarks/models.py [--models FULL/models.yaml] [--repeats 2] [--clicks 10]
                                [--only mobile_sam,sam_hq_vit_b,fastsam_s] [--precision float32]
    python benchmarks/models.py --smoke    # the small random models, 1 round, 3 clicks: checks the script only

Without ``--models``, each family's full-size checkpoints are written once into the cache folder
(``random_full_<family>``; SAM 3's is 3.4 GB).
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
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
MODELS = {"mobile_sam": "mobile_sam", "fastsam_s": "fastsam", "sam2.1_hiera_tiny": "sam2", "sam_vit_b": "sam",
          "sam_hq_vit_b": "sam_hq", "sam3": "sam3"}
UPSTREAM = {"sam": "segment_anything", "mobile_sam": "mobile_sam", "sam_hq": "segment_anything_hq"}


def cpu_kind() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return platform.processor() or "unknown CPU"
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return f"{fields.get('Model name', '?').strip()}, {fields.get('CPU(s)', '?').strip()} CPUs"


def has_sam3() -> bool:
    return importlib.util.find_spec("sam3") is not None


class Upstream:
    """The upstream predictor of one family on our segmenter's model: ``encode(image)``, ``click(x, y)``."""

    def __init__(self, seg, family: str) -> None:
        self.seg, self.family = seg, family
        if family == "sam2":
            from sam2.sam2_image_predictor import SAM2ImagePredictor

            self.predictor = SAM2ImagePredictor(seg.model)
        elif family in UPSTREAM:
            self.predictor = importlib.import_module(UPSTREAM[family]).SamPredictor(seg.model)
        self.state = None

    def encode(self, image: np.ndarray) -> None:
        import torch

        if self.family == "fastsam":  # ultralytics' own pipeline: BGR in, its letterbox, full-size masks out
            s = self.seg
            self.state = s.model.predict(np.ascontiguousarray(image[..., ::-1]), device=s.device, imgsz=s.imgsz,
                                         conf=s.conf, iou=s.iou, max_det=s.max_det, retina_masks=True,
                                         verbose=False)
            return
        if self.family == "sam3":
            from PIL import Image

            from anylabel.backends.sam3_device import on_device

            with torch.inference_mode(), on_device(self.seg.device):
                self.state = self.seg.processor.set_image(Image.fromarray(image))
            return
        with torch.inference_mode():
            self.predictor.set_image(image)

    def click(self, x: float, y: float) -> None:
        import torch

        point, label = np.array([[x, y]]), np.array([1])
        if self.family == "fastsam":
            self.seg.model.predictor.prompt(self.state, points=point.tolist(), labels=label.tolist())
            return
        if self.family == "sam3":
            from anylabel.backends.sam3_device import on_device

            with torch.inference_mode(), on_device(self.seg.device):
                self.seg.model.predict_inst(self.state, point_coords=point.astype(np.float32), point_labels=label,
                                            multimask_output=True)
            return
        with torch.inference_mode():
            self.predictor.predict(point_coords=point, point_labels=label, multimask_output=True)


def bench(name: str, family: str, registry, image: np.ndarray, repeats: int, clicks: int,
          precision: str) -> Dict[str, float]:
    from anylabel.backends import Prompt, load_segmenter

    # the factory passes precision only to the adapters that have a choice (FastSAM: float32, as ultralytics)
    seg = load_segmenter(name, registry=registry, device="cpu", precision=precision)
    upstream = Upstream(seg, family)
    ours_enc, up_enc, loads = [], [], [os.getloadavg()[0]]
    for r in range(repeats):
        t = time.perf_counter()
        seg.set_image(image, key=f"bench-{name}-{r}")
        ours_enc.append(time.perf_counter() - t)
        t = time.perf_counter()
        upstream.encode(image)
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
        upstream.click(float(x), float(y))
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
    parser.add_argument("--smoke", action="store_true",
                        help="the small random models of the tests, 1 round, 3 clicks: a check of the script, "
                             "no numbers to quote")
    args = parser.parse_args(argv)
    # SAM 3 when its package is here (not in --smoke: it has only the 3.4 GB size)
    names = [n.strip() for n in args.only.split(",")] if args.only else \
        [n for n in MODELS if MODELS[n] != "sam3" or (has_sam3() and not args.smoke)]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        parser.error(f"unknown models {unknown}; known: {', '.join(MODELS)}")
    from anylabel.models import ModelRegistry

    families = sorted({MODELS[n] for n in names})
    if args.smoke:
        import tempfile

        sys.path.insert(0, str(ROOT / "tools"))
        import random_checkpoints

        args.repeats, args.clicks = 1, 3
        files = [random_checkpoints.write_all(Path(tempfile.mkdtemp(prefix="bench-models-")), only=families)]
    elif args.models is not None:
        files = [args.models]
    else:  # one cache folder per family, so that a family added later gets its checkpoints written too
        files = [full_models_file(None, [f], f"random_full_{f}") for f in families]
    registry = ModelRegistry.load(extra_files=files)
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
