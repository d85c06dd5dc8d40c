#!/usr/bin/env python
"""GPU benchmark: every model on a CUDA GPU beside its upstream predictor, same GPU, same run, one table.

Per model, two rows, "anylabel" (``load_segmenter(device=...)`` / ``TrackingSession`` / ``load_clip``) and
"upstream" (the project's own predictor on the same weights, run as its examples run it on a GPU):

==================  ===================================================================================
sam_vit_b           segment_anything ``SamPredictor`` (float32)
sam_vit_b_onnx      ours in ONNX Runtime (TensorRT / CUDA providers); upstream: ``SamPredictor`` again
sam2.1_hiera_tiny   sam2 ``SAM2ImagePredictor`` under ``torch.autocast("cuda", torch.bfloat16)`` (sam2's
                    README); tracking: ``SAM2VideoPredictor`` ``init_state`` + ``propagate_in_video``
fastsam_s           ultralytics ``FastSAM`` (everything pass; click = ``predictor.prompt(points=...)``)
clip_vit_b32        open_clip ``create_model("ViT-B-32")`` + its ``image_transform``, same state dict
==================  ===================================================================================

Columns: ``encoder s``: one image encode (median of ``--encodes`` new images; FastSAM: its everything pass;
CLIP: ms per mask crop in batches of 32); ``click p50 / p90 ms``: one positive click -> candidates -> the best
mask's polygon on a 4000x3000 image with the embedding cached (upstream: ``predict`` returns full-size masks,
then the same polygon function); ``track s/frame``: sam2 video tracking of 2 objects over ``--frames``
frames. Every timed step ends with ``torch.cuda.synchronize()``. Random weights (``tools/random_checkpoints.py
--full``, written to ``<cache>/random_full_gpu`` when ``--models`` is not given): speed only, never quality.

    python benchmarks/gpu.py [--models DIR/models.yaml] [--device cuda:0] [--clicks 30] [--frames 16]
    python benchmarks/gpu.py --device cpu --quick     # smoke test of every code path, small random models

Without a CUDA GPU (and without ``--device cpu``) it says so and exits 0.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODELS = ["sam_vit_b", "sam_vit_b_onnx", "sam2.1_hiera_tiny", "fastsam_s", "clip_vit_b32"]


# ------------------------------------------------------------------------------------------ helpers
def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], Any], device: str) -> float:
    sync(device)
    t = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - t


def test_image(hw, seed: int = 0) -> np.ndarray:
    """A photo (sam2's truck, if the shared data is there) resized to ``hw``, else smooth random texture."""
    import cv2

    truck = ROOT.parent / "shared" / "data" / "sam2-demo" / "truck.jpg"
    if truck.exists() and seed == 0:
        return cv2.resize(cv2.imread(str(truck))[..., ::-1], (hw[1], hw[0]), interpolation=cv2.INTER_LINEAR)
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (hw[0] // 16 + 1, hw[1] // 16 + 1, 3), dtype=np.uint8)
    return np.ascontiguousarray(cv2.resize(small, (hw[1], hw[0]), interpolation=cv2.INTER_CUBIC))


def clicks(hw, n: int) -> List[tuple]:
    rng = np.random.default_rng(1)  # the same clicks for every model and implementation
    return [(float(rng.uniform(0.2, 0.8) * hw[1]), float(rng.uniform(0.2, 0.8) * hw[0])) for _ in range(n)]


def polygon_of(mask: np.ndarray) -> int:
    from anylabel.geometry import mask_to_polygons

    return sum(len(p) for p in mask_to_polygons(np.asarray(mask, bool)))


def row(model: str, impl: str, how: str, enc: Optional[float] = None, click: Optional[List[float]] = None,
        track: Optional[float] = None, enc_unit: str = "s") -> Dict[str, Any]:
    return {"model": model, "impl": impl, "how": how, "enc": enc, "enc_unit": enc_unit, "click": click,
            "track": track}


def models_file(args: argparse.Namespace) -> Path:
    """``--models``, or random checkpoints (full size; small with ``--quick``) written once to the cache."""
    if args.models:
        return args.models
    from anylabel.models import cache_root

    out = cache_root() / ("random_small_gpu" if args.quick else "random_full_gpu")
    if not (out / "models.yaml").exists():
        sys.path.insert(0, str(ROOT / "tools"))
        import random_checkpoints

        print(f"writing {'small' if args.quick else 'full-size'} random checkpoints to {out} ...", flush=True)
        random_checkpoints.write_all(out, full=not args.quick, only=["sam", "sam2", "fastsam", "clip"])
    return out / "models.yaml"


def upstream_autocast(device: str) -> Any:
    """sam2's GPU recipe (README / notebooks): bfloat16 autocast on CUDA; nothing elsewhere."""
    import torch

    return torch.autocast("cuda", dtype=torch.bfloat16) if device.startswith("cuda") else contextlib.nullcontext()


# ------------------------------------------------------------------------------------------ image models
def bench_ours(name: str, registry, image: np.ndarray, args: argparse.Namespace) -> Dict[str, Any]:
    from anylabel.backends import EmbeddingCache, Prompt, load_segmenter

    seg = load_segmenter(name, registry=registry, device=args.device, precision=args.precision,
                         cache=EmbeddingCache(8192, 8192))
    encodes = [timed(lambda i=i: seg.set_image(test_image(image.shape[:2], seed=i + 1), key=f"warm{i}"),
                     args.device) for i in range(args.encodes + 1)][1:]  # the first run warms up (cuDNN, TRT)
    seg.set_image(image, key="bench")
    times = []
    def click(xy):
        cands = seg.predict(Prompt.from_clicks([xy]))
        if cands:  # FastSAM answers nothing where no mask of its everything pass contains the point
            polygon_of(cands[0].mask)

    for xy in [clicks(image.shape, 1)[0]] + clicks(image.shape, args.clicks):  # one warm-up click
        times.append(timed(lambda xy=xy: click(xy), args.device))
    out = row(name, "anylabel", seg.runs_on(), float(np.median(encodes)), times[1:])
    seg.close()
    return out


def predictor_timings(p: Any, image: np.ndarray, args: argparse.Namespace, as_mask: Callable[[Any], Any]):
    """(encoder s median, click times) of an upstream predictor with ``set_image`` / ``predict`` (SamPredictor,
    SAM2ImagePredictor): a click is ``predict`` (full-size masks) + the best mask's polygon."""
    encodes = [timed(lambda i=i: p.set_image(test_image(image.shape[:2], seed=i + 1)), args.device)
               for i in range(args.encodes + 1)][1:]  # the first run warms up
    p.set_image(image)
    times = []
    for xy in [clicks(image.shape, 1)[0]] + clicks(image.shape, args.clicks):
        def click(xy=xy):
            masks, scores, _ = p.predict(np.array([xy]), np.array([1]), multimask_output=True)
            polygon_of(as_mask(masks[int(np.argmax(scores))]))
        times.append(timed(click, args.device))
    return float(np.median(encodes)), times[1:]


def bench_sam_upstream(name: str, registry, image: np.ndarray, args: argparse.Namespace) -> Dict[str, Any]:
    import torch
    from segment_anything import SamPredictor

    from anylabel.backends.sam import build_sam_model  # segment_anything's builder + the checkpoint

    spec = registry.get(name.replace("_onnx", ""))
    model = build_sam_model(spec.settings, registry.ensure(spec)).to(args.device)
    with torch.inference_mode():
        enc, times = predictor_timings(SamPredictor(model), image, args, lambda m: m)
    return row(name, "upstream", f"SamPredictor, {args.device}, float32", enc, times)


def bench_sam2_upstream(name: str, registry, image: np.ndarray, args: argparse.Namespace) -> Dict[str, Any]:
    import torch
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    from anylabel.backends.sam2_build import build_sam2_model  # sam2's build_sam2 (+ config files on disk)

    spec = registry.get(name)
    model = build_sam2_model(str(spec.settings["config"]), registry.ensure(spec), video=False, device=args.device)
    with torch.inference_mode(), upstream_autocast(args.device):
        enc, times = predictor_timings(SAM2ImagePredictor(model), image, args, lambda m: m > 0)
    how = "SAM2ImagePredictor, " + (f"{args.device}, bfloat16 autocast" if args.device != "cpu" else "cpu, float32")
    return row(name, "upstream", how, enc, times)


def bench_fastsam_upstream(name: str, registry, image: np.ndarray, args: argparse.Namespace) -> Dict[str, Any]:
    from anylabel.backends.fastsam import _work_size, ultralytics_offline

    ultralytics_offline()
    from ultralytics import FastSAM

    spec = registry.get(name)
    model = FastSAM(str(registry.ensure(spec)))
    st = spec.settings
    hw = _work_size(image.shape[0], image.shape[1], int(st.get("imgsz", 1024)))
    opts = dict(device=args.device, imgsz=hw, conf=float(st.get("conf", 0.4)), iou=float(st.get("iou", 0.9)),
                retina_masks=True, verbose=False)
    bgr = np.ascontiguousarray(image[..., ::-1])
    encodes = [timed(lambda i=i: model(np.ascontiguousarray(test_image(image.shape[:2], i + 1)[..., ::-1]), **opts),
                     args.device) for i in range(args.encodes + 1)][1:]
    results = model(bgr, **opts)
    times = []
    for xy in [clicks(image.shape, 1)[0]] + clicks(image.shape, args.clicks):
        def click(xy=xy):
            prompted = model.predictor.prompt(results, points=[list(xy)], labels=[1])[0]
            if prompted.masks is not None and len(prompted.masks.data):
                polygon_of(prompted.masks.data[0].cpu().numpy() > 0.5)
        times.append(timed(click, args.device))
    return row(name, "upstream", f"ultralytics FastSAM, {args.device}, float32", float(np.median(encodes)),
               times[1:])


# ------------------------------------------------------------------------------------------ CLIP
def bench_clip(name: str, registry, image: np.ndarray, args: argparse.Namespace) -> List[Dict[str, Any]]:
    """ms per mask crop (preprocess + image tower, batches of 32), ours vs open_clip's own model and transform."""
    import open_clip
    import torch
    from PIL import Image

    from anylabel.classify import load_clip

    ours = load_clip(name, registry=registry, device=args.device)
    rng = np.random.default_rng(2)
    crops = [image[y:y + 300, x:x + 400] for x, y in zip(rng.integers(0, image.shape[1] - 400, 32),
                                                           rng.integers(0, image.shape[0] - 300, 32))]
    batches = max(2, args.clicks // 8)
    t_ours = [timed(lambda: ours.encode_images(ours.preprocess(crops)), args.device) for _ in range(batches + 1)][1:]
    settings = registry.get(name).settings
    arch = settings.get("model_name") or "ViT-B-32"
    if settings.get("model_config"):  # the small random architecture of --quick: open_clip's CLIP class
        up, arch = open_clip.model.CLIP(**settings["model_config"]), "CLIP (small config)"
    else:
        up = open_clip.create_model(arch, pretrained=None)
    up.load_state_dict(ours.model.state_dict())
    rows = [row(name, "anylabel", f"{ours.device}, {ours.precision}", 1000 * float(np.median(t_ours)) / 32,
                enc_unit="ms/crop")]
    up = up.eval().to(args.device)
    transform = open_clip.image_transform(up.visual.image_size, is_train=False)

    def upstream_batch():
        with torch.inference_mode():
            x = torch.stack([transform(Image.fromarray(np.ascontiguousarray(c))) for c in crops]).to(args.device)
            torch.nn.functional.normalize(up.encode_image(x).float(), dim=-1).cpu()

    t_up = [timed(upstream_batch, args.device) for _ in range(batches + 1)][1:]
    return rows + [row(name, "upstream", f"open_clip {arch}, {args.device}, float32",
                       1000 * float(np.median(t_up)) / 32, enc_unit="ms/crop")]


# ------------------------------------------------------------------------------------------ tracking
def bench_tracking(name: str, registry, args: argparse.Namespace) -> List[float]:
    """s/frame: [ours, upstream] on the same synthetic 960x540 frames with the same two prompts on frame 0."""
    import cv2
    import torch

    from anylabel.backends.prompt import Prompt
    from anylabel.imaging.video import open_frames
    from anylabel.tracking import TrackingSession
    from anylabel.tracking.model import load_video_predictor

    folder = Path(tempfile.mkdtemp(prefix="gpu-bench-frames-"))
    base = test_image((540, 960), seed=7)
    for i in range(args.frames):
        frame = base.copy()
        cv2.circle(frame, (200 + 20 * i, 270), 60, (220, 60, 30), -1)
        cv2.imwrite(str(folder / f"{i:05d}.jpg"), frame[..., ::-1])
    prompts = [((200.0, 270.0), None), (None, (500.0, 100.0, 800.0, 420.0))]
    predictor = load_video_predictor(name, registry=registry, device=args.device)

    session = TrackingSession(predictor, open_frames(folder), precision=args.precision)
    for obj, (point, box) in enumerate(prompts, 1):
        session.add_prompt(0, obj, Prompt.from_clicks([point] if point else [], box=box))
    sync(args.device)
    t = time.perf_counter()
    n = sum(1 for _ in session.propagate())
    sync(args.device)
    ours = (time.perf_counter() - t) / max(1, n)

    with torch.inference_mode(), upstream_autocast(args.device):  # sam2's README recipe for video
        state = predictor.init_state(str(folder))
        for obj, (point, box) in enumerate(prompts, 1):
            predictor.add_new_points_or_box(state, 0, obj, points=[point] if point else None,
                                            labels=[1] if point else None, box=box)
        sync(args.device)
        t = time.perf_counter()
        m = 0
        for _, _, masks in predictor.propagate_in_video(state):
            _ = (masks[:, 0] > 0).cpu().numpy()
            m += 1
        sync(args.device)
    return [ours, (time.perf_counter() - t) / max(1, m)]


# ------------------------------------------------------------------------------------------ report
def table(rows: List[Dict[str, Any]]) -> str:
    def ms(values, q):
        return f"{np.percentile(np.asarray(values) * 1000, q):.1f}" if values else "-"

    lines = ["| model | impl | device, precision | encoder | click p50 ms | click p90 ms | track s/frame |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        enc = "-" if r["enc"] is None else (f"{r['enc']:.3f} s" if r["enc_unit"] == "s" else f"{r['enc']:.2f} ms/crop")
        track = "-" if r["track"] is None else f"{r['track']:.3f}"
        lines.append(f"| {r['model']} | {r['impl']} | {r['how']} | {enc} | {ms(r['click'], 50)} | "
                     f"{ms(r['click'], 90)} | {track} |")
    return "\n".join(lines)


def machine(device: str) -> str:
    import torch

    from anylabel.devices import describe_device

    gpu = describe_device(device)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    try:
        import onnxruntime as ort

        ort_info = f"onnxruntime {ort.__version__} ({', '.join(ort.get_available_providers())})"
    except ImportError:
        ort_info = "no onnxruntime"
    return (f"{gpu}; torch {torch.__version__} (CUDA {torch.version.cuda}); {ort_info}; "
            f"{os.cpu_count()} CPU cores, load {load:.1f}")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, help="models.yaml of --full random (or real) checkpoints")
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N (default cuda), or cpu for a smoke run")
    parser.add_argument("--precision", default=None, help="our adapters' precision (default auto: bfloat16 "
                        "autocast for SAM2 on Ampere+ GPUs, float32 for SAM, as upstream)")
    parser.add_argument("--clicks", type=int, default=30)
    parser.add_argument("--encodes", type=int, default=5)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", default="4000x3000", help="WxH of the click image")
    parser.add_argument("--only", help="comma-separated models (default: all five)")
    parser.add_argument("--quick", action="store_true", help="small random models, few clicks and frames, "
                        "800x600: checks that every path runs (with --device cpu on a machine without a GPU)")
    args = parser.parse_args(argv)
    import torch

    if args.device != "cpu" and not torch.cuda.is_available():
        print(f"no CUDA GPU here (torch {torch.__version__}, built with CUDA {torch.version.cuda}, "
              f"{torch.cuda.device_count()} devices): nothing to measure. Run this on a machine with an NVIDIA "
              "GPU (or `--device cpu --quick` to check that the script runs).")
        return 0
    from anylabel.devices import resolve_device
    from anylabel.models import ModelRegistry

    args.device = resolve_device(args.device)
    if args.quick:
        args.clicks, args.encodes, args.frames = min(args.clicks, 3), 1, min(args.frames, 3)
        args.size = "800x600" if args.size == "4000x3000" else args.size
    registry = ModelRegistry.load(extra_files=[models_file(args)])
    w, h = (int(v) for v in args.size.lower().split("x"))
    image = test_image((h, w))
    print(f"{machine(args.device)}; image {w}x{h}, {args.clicks} clicks, {args.frames} frames\n", flush=True)
    upstream = {"sam_vit_b": bench_sam_upstream, "sam_vit_b_onnx": bench_sam_upstream,
                "sam2.1_hiera_tiny": bench_sam2_upstream, "fastsam_s": bench_fastsam_upstream}
    rows: List[Dict[str, Any]] = []
    sam_reference: Optional[Dict[str, Any]] = None
    for name in (args.only.split(",") if args.only else MODELS):
        print(f"... {name}", file=sys.stderr, flush=True)
        if name.startswith("clip"):
            rows += bench_clip(name, registry, image, args)
            continue
        ours = bench_ours(name, registry, image, args)
        if name == "sam_vit_b_onnx" and sam_reference is not None:  # the same SamPredictor: measured once
            theirs = dict(sam_reference, model=name)
        else:
            theirs = upstream[name](name, registry, image, args)
            sam_reference = theirs if name == "sam_vit_b" else sam_reference
        if name.startswith("sam2"):
            ours["track"], theirs["track"] = bench_tracking(name, registry, args)
        rows += [ours, theirs]
        if args.device.startswith("cuda"):
            torch.cuda.empty_cache()
    print(table(rows))
    print("\nencoder: one image (median); CLIP: ms per 300x400 mask crop, batches of 32, preprocessing included. "
          "click: one positive click -> best mask's polygon\n(ours: predict + polygons; upstream: predict's "
          "full-size masks + the same polygon function). Random weights: speed only.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
