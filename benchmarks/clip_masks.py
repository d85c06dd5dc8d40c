"""Benchmark: CLIP classification of 100 masks of one image with full-size (random-weight) ViT-B/32.

Usage::

    .venv/bin/python benchmarks/clip_masks.py [--image PATH] [--masks 100] [--vocab 20]
        [--batch-sizes 1,8,32] [--threads N] [--repeat 3]

What runs: open_clip's ViT-B-32 architecture (QuickGELU, as OpenAI's weights) with random weights, built in
memory (``--models FILE --model NAME`` loads a registry entry instead, e.g. the ``--full`` output of
tools/random_checkpoints.py). The image is sam2's ``truck.jpg`` (1800x1200); the masks are synthetic,
SAM-"everything"-like filled ellipses whose areas are log-uniform between 0.05 % and 25 % of the image.
Random weights: speed only, nothing about accuracy.

Printed, in one run on this CPU:

* masks/second for ``MaskClassifier.classify`` (crops + CLIP preprocessing + image tower + softmax over a
  ``--vocab``-name vocabulary whose text embeddings are cached, as in a batch job after the first image),
  per batch size, with the time split into crop/preprocess and image tower;
* the first-call text cost (vocabulary x 3 templates through the text tower);
* the image tower's FLOPs per crop (``torch.utils.flop_counter.FlopCounterMode``: 2 FLOPs per MAC of
  every matmul / conv / attention), and the measured float32 matmul throughput of this CPU (GFLOP/s of a
  2048^3 ``torch.mm``, best of several) with the same thread count, so the tower's share of the machine's
  peak can be read off. The CPU is shared with other work, so the matmul peak is measured again around
  each row and the row's percentage uses the better of those two measurements.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from anylabel.classify import MaskClassifier, OpenClipModel, load_clip  # noqa: E402
from anylabel.classify.vocab import DEFAULT_TEMPLATES  # noqa: E402

VOCAB = ["car", "truck", "person", "tree", "road", "building", "sky", "wheel", "window", "dog", "bicycle",
         "traffic light", "sign", "grass", "bus", "motorcycle", "fence", "pole", "sidewalk", "cloud"]


def make_masks(n: int, h: int, w: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    masks = []
    for area in np.exp(rng.uniform(np.log(0.0005), np.log(0.25), n)) * h * w:
        ratio = rng.uniform(0.5, 2.0)
        a = np.sqrt(area / np.pi * ratio)
        m = np.zeros((h, w), np.uint8)
        cv2.ellipse(m, (int(rng.uniform(0, w)), int(rng.uniform(0, h))), (int(a), int(area / np.pi / a)),
                    float(rng.uniform(0, 180)), 0, 360, 1, -1)
        masks.append(m.astype(bool))
    return masks


def matmul_gflops(n: int = 2048, repeat: int = 5) -> float:
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)  # warm-up
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t)
    return 2.0 * n ** 3 / best / 1e9


def tower_flops(model: OpenClipModel) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros(1, 3, model.image_size, model.image_size)
    # With grad enabled: in inference mode nn.MultiheadAttention takes its fused fast path
    # (_native_multi_head_attention), whose q/k/v and output projections FlopCounterMode does not see.
    with torch.enable_grad(), FlopCounterMode(display=False) as counter:
        model.model.encode_image(x)
    return float(counter.get_total_flops())


def analytic_flops(width: int = 768, layers: int = 12, tokens: int = 50, patch: int = 32, out: int = 512) -> float:
    """ViT-B/32 by hand: 2 FLOPs per MAC of patch embedding, qkv, attention, projection, MLP, head."""
    per_layer = tokens * width * 3 * width + 2 * tokens * tokens * width + tokens * width * width \
        + 2 * tokens * width * 4 * width
    return 2.0 * (3 * patch * patch * width * (tokens - 1) + layers * per_layer + width * out)


def build_model(args: argparse.Namespace) -> OpenClipModel:
    if args.models:
        from anylabel.models import ModelRegistry

        return load_clip(args.model, registry=ModelRegistry.load(extra_files=[args.models]))
    import torch

    from anylabel.classify.loader import build_clip

    torch.manual_seed(0)
    return OpenClipModel(build_clip({"arch": "ViT-B-32"}, quick_gelu=True).eval(), name="ViT-B-32-random")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", type=Path, default=ROOT.parent / "shared" / "data" / "sam2-demo" / "truck.jpg")
    parser.add_argument("--masks", type=int, default=100)
    parser.add_argument("--vocab", type=int, default=20)
    parser.add_argument("--batch-sizes", default="1,8,32")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--models", help="a models file; load --model from it instead of building in memory")
    parser.add_argument("--model", default="clip_vit_b32")
    args = parser.parse_args(argv)

    import torch

    from anylabel.imaging.loader import load_image

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.image.exists():
        image = load_image(args.image)
    else:
        image = (np.random.default_rng(0).integers(0, 255, (1200, 1800, 3))).astype(np.uint8)
    h, w = image.shape[:2]
    masks = make_masks(args.masks, h, w)
    vocab = (VOCAB * (args.vocab // len(VOCAB) + 1))[: args.vocab] if args.vocab <= len(VOCAB) else \
        VOCAB + [f"class {i}" for i in range(args.vocab - len(VOCAB))]
    model = build_model(args)
    threads = torch.get_num_threads()

    gflops = matmul_gflops()
    flops = tower_flops(model)
    clf = MaskClassifier(model)
    t = time.perf_counter()
    clf.embed_texts(vocab)
    text_s = time.perf_counter() - t

    # Crop + CLIP preprocessing alone (no tower), to split the time.
    t = time.perf_counter()
    for m in masks:
        c = clf.crop(image, m)
        if c is not None:
            model.preprocess([c])
    prep_s = time.perf_counter() - t

    print(f"image {w}x{h} ({args.image.name if args.image.exists() else 'random'}), {len(masks)} masks, "
          f"vocabulary {len(vocab)} names x {len(DEFAULT_TEMPLATES)} templates, torch threads {threads}")
    print(f"CPU float32 matmul (2048^3 mm, best of 5): {gflops:.1f} GFLOP/s")
    print(f"ViT-B/32 image tower: {flops / 1e9:.2f} GFLOP per crop ({model.image_size}x{model.image_size}; "
          f"FlopCounterMode; by hand {analytic_flops() / 1e9:.2f})")
    print(f"text tower, first call: {text_s * 1000:.0f} ms for {len(vocab) * len(DEFAULT_TEMPLATES)} sentences "
          f"(then cached)")
    print(f"crop + preprocess: {prep_s / len(masks) * 1000:.1f} ms per mask", flush=True)
    print()
    header = (f"{'batch':>5} | {'masks/s':>8} | {'ms/mask':>8} | {'tower ms/mask':>13} | {'tower GFLOP/s':>13} | "
              f"{'matmul GFLOP/s':>14} | {'% of matmul':>11}")
    print(header)
    print("-" * len(header))
    for bs in [int(b) for b in args.batch_sizes.split(",")]:
        clf.batch_size = bs
        clf.classify(image, masks[: min(bs, len(masks))], vocab)  # warm-up at this batch size
        before = matmul_gflops(repeat=3)
        runs = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            votes = clf.classify(image, masks, vocab, top_k=3)
            runs.append(time.perf_counter() - t)
        assert len(votes) == len(masks) and all(v.label in vocab for v in votes if v.label)
        # The CPU is shared: measure the matmul peak again right after this row, and compare with the
        # better of the two measurements around it.
        local = max(before, matmul_gflops(repeat=3))
        total = statistics.median(runs)
        tower = max(total - prep_s, 1e-9) / len(masks)
        achieved = flops / tower / 1e9
        print(f"{bs:>5} | {len(masks) / total:>8.1f} | {total / len(masks) * 1000:>8.1f} | {tower * 1000:>13.1f} | "
              f"{achieved:>13.1f} | {local:>14.1f} | {100 * achieved / local:>10.0f}%", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
