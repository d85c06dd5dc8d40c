#!/usr/bin/env python
"""Click latency on a 4000x3000 image with the embedding cached: click -> candidates -> finished polygon.

Models: full-size random-weight SAM vit_b (torch and ONNX Runtime) and SAM2.1 hiera tiny, written by
``tools/random_checkpoints.py --full`` (the real architectures; latency does not depend on the weights'
values, mask *quality* is not measured here). The torch models run in float32 and in bfloat16 products
(``--precisions``; see anylabel/backends/precision.py), and a last table gives how closely the bfloat16 masks
agree with the float32 ones for the same clicks. Per model:

* click: ``predict``'s decoder (prompt encoder + mask decoder, 3 candidates) plus the 3 candidates upsampled
  to 4000x3000 on their box and ``polygons()`` of the best one, p50 / p90 over N random clicks, split into
  decoder and post-processing; ``refine``: the decoder for a second click that also passes the first
  answer's logits (the GUI's refinement clicks); ``upstream dec``: the same clicks through upstream's own
  ``mask_decoder`` forward (what SamPredictor / SAM2ImagePredictor run), in the same process, for
  comparison. ``thr``: intra-op threads the clicks used (torch's setting, reduced to the idle cores at
  each click: see anylabel/backends/cpu.py). ``load``: 1-minute load average while the model was measured.
* encoder: seconds per image (set_image of an uncached image), next to the encoder's FLOPs (counted with
  torch's FlopCounterMode) and this CPU's measured float32 matmul throughput, i.e. the time the FLOPs would
  take at matmul speed;
* the same post-processing for an object-like mask (a smooth blob covering ~4% of the image), since a
  random-weight decoder answers with noise masks whose contours are not what a trained model gives, and
  the upstream predictors' full-resolution post-processing of that blob.

    python benchmarks/click_latency.py [--models DIR/models.yaml] [--clicks 30] [--threads 2]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODELS = ["sam_vit_b", "sam_vit_b_onnx", "sam2.1_hiera_tiny"]
_FLOPS: dict = {}


def matmul_gflops(n: int = 2048, reps: int = 5, dtype: str = "float32") -> float:
    import torch

    a, b = torch.randn(n, n, dtype=getattr(torch, dtype)), torch.randn(n, n, dtype=getattr(torch, dtype))
    torch.mm(a, b)
    t = time.perf_counter()
    for _ in range(reps):
        torch.mm(a, b)
    return 2 * n ** 3 * reps / (time.perf_counter() - t) / 1e9


def encoder_flops(seg) -> float:
    """FLOPs of one encoder forward at 1024x1024 (torch models; the ONNX graph is the same network)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.randn(1, 3, 1024, 1024)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        if hasattr(seg.model, "forward_image"):  # SAM2: trunk + FPN neck
            seg.model.forward_image(x)
        else:
            seg.model.image_encoder(x)
    return float(counter.get_total_flops())


def test_image(hw) -> np.ndarray:
    from PIL import Image

    truck = ROOT.parent / "shared" / "data" / "sam2-demo" / "truck.jpg"
    if truck.exists():
        with Image.open(truck) as im:
            return np.asarray(im.convert("RGB").resize((hw[1], hw[0]), Image.BILINEAR))
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (hw[0], hw[1], 3), dtype=np.uint8)


def blob_logits(hw_logit) -> np.ndarray:
    """Smooth logits of an ellipse covering ~4% of the image (an object-like mask)."""
    h, w = hw_logit
    yy, xx = np.mgrid[0:256, 0:256].astype(np.float32)
    cy, cx, ry, rx = h * 0.45, w * 0.55, h * 0.14, w * 0.09
    return (8.0 * (1.0 - ((yy - cy) / ry) ** 2 - ((xx - cx) / rx) ** 2)).astype(np.float32)


def pct(values, q) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


def bench_model(name, registry, image, clicks, precision):
    import torch

    from anylabel.backends import EmbeddingCache, Prompt, load_segmenter
    from anylabel.backends.cpu import idle_cores

    rng = np.random.default_rng(0)  # the same clicks for every model and precision
    t = time.perf_counter()
    seg = load_segmenter(name, registry=registry, cache=EmbeddingCache(4096), precision=precision)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    seg.set_image(image, key="bench")
    enc_s = time.perf_counter() - t
    emb, _ = seg._state()
    H, W = image.shape[:2]
    load = [os.getloadavg()[0]]
    totals, decs, posts, nverts, refines, upstream, threads, lowres = [], [], [], [], [], [], [], []
    for _ in range(clicks):
        xy = (float(rng.uniform(0, W)), float(rng.uniform(0, H)))
        prompt = Prompt.from_clicks([xy])
        threads.append(min(torch.get_num_threads(), idle_cores()))  # what click_threads() will pick
        t0 = time.perf_counter()
        logits, scores = seg._decode(emb, prompt.points, prompt.labels, None, None, True)
        t1 = time.perf_counter()
        cands = seg._candidates(emb, logits, scores, prompt)
        polys = cands[0].polygons()
        t2 = time.perf_counter()
        decs.append(t1 - t0)
        posts.append(t2 - t1)
        totals.append(t2 - t0)
        nverts.append(sum(len(p) for p in polys))
        lowres.append(logits > 0)
        # a refinement click: a second point plus the previous answer's logits
        second = Prompt.from_clicks([xy, (float(rng.uniform(0, W)), float(rng.uniform(0, H)))])
        t0 = time.perf_counter()
        seg._decode(emb, second.points, second.labels, None, cands[0].logits, True)
        refines.append(time.perf_counter() - t0)
        if hasattr(seg, "model"):
            t0 = time.perf_counter()
            upstream_decode(seg, emb, prompt)
            upstream.append(time.perf_counter() - t0)
    load.append(os.getloadavg()[0])
    # the public path once, to make sure the split above is the real thing
    t = time.perf_counter()
    seg.predict(Prompt.from_clicks([(W / 2, H / 2)]))[0].polygons()
    public_ms = (time.perf_counter() - t) * 1000
    blob_posts = []
    blob = blob_logits(emb.logit_hw)[None].repeat(3, axis=0)
    for _ in range(clicks):
        t = time.perf_counter()
        cands = seg._candidates(emb, blob, np.array([0.9, 0.8, 0.7]), Prompt.from_clicks([(W / 2, H / 2)]))
        cands[0].polygons()
        blob_posts.append(time.perf_counter() - t)
    upstream_posts = []
    for _ in range(max(3, clicks // 5)):
        t = time.perf_counter()
        upstream_post(emb, blob)
        upstream_posts.append(time.perf_counter() - t)
    if name not in _FLOPS:  # the same network in every precision: counted once
        _FLOPS[name] = encoder_flops(seg if hasattr(seg, "model") else _torch_twin(seg, registry))
    flops = _FLOPS[name]
    label = name if not hasattr(seg, "model") else f"{name} {seg.precision[:1]}{seg.precision[-2:]}"
    return dict(upstream_posts=upstream_posts, name=label, model=name, precision=getattr(seg, "precision", ""),
                lowres=lowres, load_s=load_s, enc_s=enc_s, flops=flops,
                totals=totals, decs=decs, posts=posts, refines=refines, upstream=upstream, load=max(load),
                threads=threads, blob_posts=blob_posts, verts=int(np.median(nverts)), public_ms=public_ms,
                blob_total=[d + p for d, p in zip(decs, blob_posts)])


def upstream_decode(seg, emb, prompt) -> None:
    """The click's prompt encoder + upstream's own mask decoder forward (as the upstream predictors call it)."""
    import torch

    from anylabel.backends.cpu import click_threads

    with click_threads(), torch.inference_mode():
        if hasattr(seg.model, "sam_mask_decoder"):  # SAM2: as SAM2ImagePredictor._predict
            f = emb.features
            c = seg._predictor()._transforms.transform_coords(torch.as_tensor(prompt.points, dtype=torch.float),
                                                              normalize=True, orig_hw=emb.orig_hw)
            pts = (c[None], torch.as_tensor(prompt.labels, dtype=torch.int)[None])
            sparse, dense = seg.model.sam_prompt_encoder(points=pts, boxes=None, masks=None)
            seg.model.sam_mask_decoder(image_embeddings=f["image_embed"],
                                       image_pe=seg.model.sam_prompt_encoder.get_dense_pe(),
                                       sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                       multimask_output=True, repeat_image=False,
                                       high_res_features=list(f["high_res_feats"]))
        else:  # SAM: as SamPredictor.predict_torch
            c = seg.transform.apply_coords(prompt.points, emb.orig_hw)
            pts = (torch.as_tensor(c, dtype=torch.float)[None], torch.as_tensor(prompt.labels, dtype=torch.int)[None])
            sparse, dense = seg.model.prompt_encoder(points=pts, boxes=None, masks=None)
            seg.model.mask_decoder(image_embeddings=emb.features, image_pe=seg.model.prompt_encoder.get_dense_pe(),
                                   sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                   multimask_output=True)


def upstream_post(emb, blob) -> None:
    """What the upstream predictors do after the decoder: every candidate's logits interpolated to the full
    image (SAM: 256 -> 1024, crop, -> HxW; SAM2: 256 -> HxW), thresholded; then contours of the full mask."""
    import torch
    import torch.nn.functional as F

    from anylabel.geometry import mask_to_polygons

    x = torch.from_numpy(blob)[None]
    with torch.inference_mode():
        if emb.pre_scale != 1:
            x = F.interpolate(x, (1024, 1024), mode="bilinear", align_corners=False)
            x = x[..., : int(emb.logit_hw[0] * 4), : int(emb.logit_hw[1] * 4)]
        masks = F.interpolate(x, emb.orig_hw, mode="bilinear", align_corners=False) > 0
    mask_to_polygons(masks[0, 0].numpy())


def full_models_file(models_file: Optional[Path], families: Sequence[str] = ("sam", "sam2"),
                     folder: str = "random_full") -> Path:
    """``models_file``, or the models file of full-size random checkpoints of ``families`` in the cache folder
    ``folder``, written by ``tools/random_checkpoints.py`` the first time."""
    if models_file is not None:
        return models_file
    from anylabel.models import cache_root

    out = cache_root() / folder
    if not (out / "models.yaml").exists():
        sys.path.insert(0, str(ROOT / "tools"))
        import random_checkpoints

        print(f"writing full-size random checkpoints ({', '.join(families)}) to {out} ...", flush=True)
        random_checkpoints.write_all(out, full=True, only=list(families))
    return out / "models.yaml"


def agreement(results) -> None:
    """Per model run in both precisions: IoU of the low-resolution masks (logits > 0, all 3 candidates) of the
    same clicks, bfloat16 vs float32, end to end (each precision's own encoder run and decoder)."""
    by = {(r["model"], r["precision"]): r for r in results}
    rows = [(m, by[(m, "float32")], by[(m, "bfloat16")]) for m, p in by if p == "bfloat16" and (m, "float32") in by]
    if not rows:
        return
    print(f"\n{'bfloat16 vs float32':18s} | low-res mask IoU per click: {'min':>6s} {'median':>6s}  (random weights: "
          "numerical agreement, not mask quality)")
    for model, a, b in rows:
        ious = [float((x & y).sum() / max(1, (x | y).sum())) for x, y in zip(a["lowres"], b["lowres"])]
        print(f"{model:18s} | {'':27s} {min(ious):6.4f} {np.median(ious):6.4f}")


def _torch_twin(seg, registry):
    from anylabel.backends import load_segmenter

    return load_segmenter(seg.name.replace("_onnx", ""), registry=registry, precision="float32")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, help="models.yaml of --full random checkpoints (written to "
                        "<cache>/random_full if omitted)")
    parser.add_argument("--clicks", type=int, default=30)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's)")
    parser.add_argument("--size", default="4000x3000", help="WxH of the test image")
    parser.add_argument("--only", help="comma-separated model names")
    parser.add_argument("--precisions", default="float32,bfloat16",
                        help="precisions of the torch models (anylabel.backends.precision)")
    args = parser.parse_args()
    import torch

    from anylabel.models import ModelRegistry

    if args.threads:
        torch.set_num_threads(args.threads)
    registry = ModelRegistry.load(extra_files=[full_models_file(args.models)])
    w, h = (int(v) for v in args.size.lower().split("x"))
    image = test_image((h, w))
    gflops = {p: matmul_gflops(dtype=p) for p in ("float32", "bfloat16")}
    names = args.only.split(",") if args.only else MODELS
    precisions = args.precisions.split(",")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"image {w}x{h}, torch threads {torch.get_num_threads()}, cpu cores {os.cpu_count()}, "
          f"load avg {load:.1f}, matmul (2048^3) {gflops['float32']:.1f} GFLOP/s float32, "
          f"{gflops['bfloat16']:.1f} GFLOP/s bfloat16\n")
    results = []
    for n in names:
        for p in (["float32"] if n.endswith("_onnx") else precisions):
            results.append(bench_model(n, registry, image, args.clicks, p))
    print(f"{'model':18s} {'thr':>3s} {'load':>4s} | {'click p50':>9s} {'p90':>6s} {'decoder p50':>11s} "
          f"{'post p50':>8s} {'refine p50':>10s} {'upstream dec p50':>16s} {'verts':>6s}")
    for r in results:
        up = f"{pct(r['upstream'], 50):14.1f}ms" if r["upstream"] else f"{'-':>16s}"
        print(f"{r['name']:18s} {int(np.median(r['threads'])):3d} {r['load']:4.1f} | "
              f"{pct(r['totals'], 50):7.1f}ms {pct(r['totals'], 90):6.1f} {pct(r['decs'], 50):9.1f}ms "
              f"{pct(r['posts'], 50):6.1f}ms {pct(r['refines'], 50):8.1f}ms {up} {r['verts']:6d}")
    print(f"\n{'model':18s} {'encoder s':>9s} {'GFLOP':>7s} {'@matmul s':>9s} | {'object-like click p50':>21s} "
          f"{'p90':>6s} {'post p50':>8s} {'upstream post':>13s}")
    for r in results:
        at = r["flops"] / 1e9 / gflops[r["precision"] or "float32"]
        print(f"{r['name']:18s} {r['enc_s']:9.2f} {r['flops'] / 1e9:7.0f} {at:9.2f} | "
              f"{pct(r['blob_total'], 50):19.1f}ms {pct(r['blob_total'], 90):6.1f} {pct(r['blob_posts'], 50):6.1f}ms "
              f"{pct(r['upstream_posts'], 50):11.1f}ms")
    agreement(results)
    print("\nclick = decoder (3 candidates) + upsampling of the 3 candidates to full size on their boxes + "
          "polygon of the best; refine = the decoder for a\nsecond click with the first answer's logits as mask "
          "input; upstream dec = the same clicks through upstream's mask_decoder forward; object-like = the\n"
          "same decoder time + post-processing of a ~4% blob mask; upstream post = the predictors' own "
          "full-resolution upsampling of the 3 candidates\n+ contours of the full mask, for the same blob.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
