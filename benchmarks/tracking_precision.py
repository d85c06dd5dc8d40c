"""Benchmark: SAM2 video tracking in float32 and under bfloat16 autocast (anylabel/backends/precision.py).

Usage::

    .venv/bin/python benchmarks/tracking_precision.py [--models FULL/models.yaml] [--frames 6] [--threads 2]

One ``TrackingSession`` per precision, the same full-size random-weight SAM2.1 hiera tiny
(``tools/random_checkpoints.py --full --only sam2``; written to the cache when ``--models`` is omitted),
the same prompts on frame 0 of sam2's bedroom video (960x540): seconds per tracked frame (the prompt frame
included), and per frame how closely the bfloat16 masks agree with the float32 ones (IoU where either is
non-empty; random weights give arbitrary masks, so this is numerical agreement, not quality; the object-score
head's bias is raised so that the random model keeps its objects visible). The matmul
throughput of both dtypes is measured in the same run.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Dict, List

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

#: (object id, point, box) on frame 0: a click and two boxes
PROMPTS = [(1, (210.0, 350.0), None), (2, None, (420.0, 100.0, 700.0, 420.0)), (3, None, (40.0, 40.0, 300.0, 300.0))]


def track(predictor, video: Path, precision: str, frames: int) -> Dict[str, object]:
    from anylabel.backends.prompt import Prompt
    from anylabel.imaging.video import open_frames
    from anylabel.tracking import TrackingSession

    session = TrackingSession(predictor, open_frames(video), precision=precision)
    t0 = time.perf_counter()
    for obj, point, box in PROMPTS:
        session.add_prompt(0, obj, Prompt.from_clicks([point] if point else [], box=box))
    masks: List[Dict[int, np.ndarray]] = []
    scores: List[Dict[int, float]] = []
    for result in session.propagate(0, frames - 1):
        masks.append(result.masks)
        scores.append(result.scores)
    return {"s_per_frame": (time.perf_counter() - t0) / frames, "masks": masks, "scores": scores}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=Path, help="models.yaml of --full random checkpoints")
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's)")
    args = ap.parse_args()
    import tempfile

    import torch
    from click_latency import full_models_file, matmul_gflops
    from tracking import bedroom_frames

    from anylabel.tracking.model import load_video_predictor

    if args.threads:
        torch.set_num_threads(args.threads)
    models = full_models_file(args.models)
    predictor = load_video_predictor("sam2.1_hiera_tiny", [models])
    # random weights put the "object visible" probability near 0.5 and masks vanish at random; as in
    # tests/tracking/conftest.py, the object-score head's last bias is raised so that masks stay
    with torch.no_grad():
        predictor.sam_mask_decoder.pred_obj_score_head.layers[-1].bias.fill_(5.0)
    video = bedroom_frames(args.frames, Path(tempfile.mkdtemp(prefix="bedroom-")))
    gf = {p: matmul_gflops(dtype=p) for p in ("float32", "bfloat16")}
    print(f"SAM2.1 hiera tiny (full size, random weights), {args.frames} bedroom frames, {len(PROMPTS)} objects, "
          f"torch threads {torch.get_num_threads()}; matmul {gf['float32']:.0f} GFLOP/s float32, "
          f"{gf['bfloat16']:.0f} GFLOP/s bfloat16\n")
    runs = {p: track(predictor, video, p, args.frames) for p in ("float32", "bfloat16")}
    for p, r in runs.items():
        print(f"{p:9s} {r['s_per_frame']:6.2f} s/frame")
    print(f"speed-up  {runs['float32']['s_per_frame'] / runs['bfloat16']['s_per_frame']:6.2f}x\n")
    ious, empty = [], 0
    for a, b in zip(runs["float32"]["masks"], runs["bfloat16"]["masks"]):
        for obj in a:
            x, y = a[obj], b.get(obj, np.zeros_like(a[obj]))
            union = (x | y).sum()
            if union == 0:
                empty += 1
            else:
                ious.append((x & y).sum() / union)
    diffs = [abs(a[o] - b[o]) for a, b in zip(runs["float32"]["scores"], runs["bfloat16"]["scores"]) for o in a]
    print(f"visibility probability, bfloat16 vs float32: max difference {max(diffs):.4f} over {len(diffs)} "
          "object-frames")
    if ious:
        print(f"mask IoU bfloat16 vs float32 over {len(ious)} object-frames: min {min(ious):.4f} "
              f"median {np.median(ious):.4f} ({empty} empty in both; random weights: numerical agreement only)")
    else:
        print(f"every mask empty in both precisions ({empty} object-frames)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
