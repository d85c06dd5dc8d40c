#!/usr/bin/env python
"""GPU benchmark: every model family on a CUDA GPU beside its upstream predictor, same GPU, same run, one table.

Per model and precision, two rows: "anylabel" (``load_segmenter(device=..., precision=...)`` /
``TrackingSession`` / ``load_clip``) and "upstream" (the project's own predictor on the *same* model object,
under ``torch.autocast(device, dtype)`` for bfloat16 / float16, as the upstream examples run on a GPU):

====================  =================================================================================
sam_vit_b / _l / _h   segment_anything ``SamPredictor``
sam_vit_b_onnx        ours in ONNX Runtime (TensorRT / CUDA providers; float32 only); upstream: ``SamPredictor``
mobile_sam            mobile_sam ``SamPredictor`` (TinyViT encoder)
sam_hq_vit_b / _l     segment_anything_hq ``SamPredictor`` (its HQ token)
sam2.1_hiera_tiny     sam2 ``SAM2ImagePredictor``; tracking: ``SAM2VideoPredictor`` ``init_state`` +
                      ``propagate_in_video`` (sam2's README: bfloat16 autocast)
fastsam_s             ultralytics ``FastSAM`` (everything pass; click = ``predictor.prompt(points=...)``)
sam3                  (when the sam3 package is installed) ``Sam3Processor.set_image`` + ``predict_inst``
clip_vit_b32          open_clip ``create_model("ViT-B-32")`` + its ``image_transform``, same state dict
====================  =================================================================================

Columns: ``encoder s``: one image encode (median of ``--encodes`` new images; FastSAM: its everything pass;
CLIP: ms per mask crop in batches of 32); ``click p50 / p90 ms``: one positive click -> candidates -> the best
mask's polygon on a 4000x3000 image with the embedding cached (upstream: ``predict`` returns full-size masks,
then the same polygon function); ``peak MB``: ``torch.cuda.max_memory_allocated`` over the row (weights
included); ``track s/frame``: sam2 video tracking of 2 objects over ``--frames`` frames. Every timed step ends
with ``torch.cuda.synchronize()``. Before timing, a device check: every parameter of the model and every
tensor of the cached embedding must be on the device asked for (the run stops otherwise), so a model that
silently fell back to the CPU cannot pass as a GPU number.

Precisions (``--precisions``, default ``float32,bfloat16,float16``): ours runs the precisions its setting
offers (``float32``, ``bfloat16``; SAM in ONNX Runtime and FastSAM float32 only); ``float16`` is measured for
upstream only (autocast), the row of ours says "not offered". Random weights (``tools/random_checkpoints.py
--full``, written to ``<cache>/random_full_gpu`` when ``--models`` is not given; SAM vit_l / vit_h and SAM-HQ
vit_l too, and SAM 3 if installed): speed only, never quality.

    python benchmarks/gpu.py [--models DIR/models.yaml] [--device cuda:0] [--clicks 30] [--frames 16]
                             [--precisions float32,bfloat16,float16] [--only sam_vit_b,fastsam_s]
    python benchmarks/gpu.py --device cpu --quick     # smoke test of every code path, small random models
    python benchmarks/gpu.py --dry-run                # the plan (models x precisions), nothing loaded

Without a CUDA GPU (and without ``--device cpu``) it says so and exits 0.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from gpu_timing import (  # noqa: E402
    autocast,
    bench_clip,
    bench_tracking,
    clicks,
    peak_memory,
    polygon_of,
    row,
    test_image,
    timed,
)

#: model -> family (the adapter and the upstream predictor beside it)
FAMILY = {"sam_vit_b": "sam", "sam_vit_l": "sam", "sam_vit_h": "sam", "sam_vit_b_onnx": "sam_onnx",
          "mobile_sam": "mobile_sam", "sam_hq_vit_b": "sam_hq", "sam_hq_vit_l": "sam_hq",
          "sam2.1_hiera_tiny": "sam2", "fastsam_s": "fastsam", "sam3": "sam3", "clip_vit_b32": "clip"}
MODELS = list(FAMILY)
#: the precisions each of our adapters offers (the setting's names); others are upstream-only rows
OURS = {"sam_onnx": ("float32",), "fastsam": ("float32",), "clip": ("float32",)}
SAM_PACKAGES = {"sam": "segment_anything", "sam_onnx": "segment_anything", "mobile_sam": "mobile_sam",
                "sam_hq": "segment_anything_hq"}


def has_sam3() -> bool:
    return importlib.util.find_spec("sam3") is not None


def models_file(args: argparse.Namespace, names: List[str]) -> Path:
    """``--models``, or random checkpoints (full size; small with ``--quick``) written once to the cache (again
    when a model of ``names`` is not in it: a folder an older version of this script wrote)."""
    if args.models:
        return args.models
    import yaml

    from anylabel.models import cache_root

    out = cache_root() / ("random_small_gpu" if args.quick else "random_full_gpu")
    have = set()
    if (out / "models.yaml").exists():
        have = {e["name"] for e in yaml.safe_load((out / "models.yaml").read_text())["models"]}
    if not set(names) <= have:
        sys.path.insert(0, str(ROOT / "tools"))
        import random_checkpoints as rc

        print(f"writing {'small' if args.quick else 'full-size'} random checkpoints to {out} ...", flush=True)
        rc.write_all(out, full=not args.quick, only=["sam2", "fastsam", "clip", "mobile_sam"])
        entries = yaml.safe_load((out / "models.yaml").read_text())["models"]
        sizes = None if args.quick else ["vit_b", "vit_l", "vit_h"]
        entries += rc.write_sam(out, full=not args.quick, variants=sizes)
        entries += rc.write_sam_hq(out, full=not args.quick, variants=None if args.quick else ["vit_b", "vit_l"])
        if has_sam3() and ("sam3" in names or not args.quick):  # full size only (3.4 GB)
            entries += rc.write_sam3(out)
        (out / "models.yaml").write_text(yaml.safe_dump({"models": entries}, sort_keys=False))
    return out / "models.yaml"


def tensors(value: Any):
    """Every torch tensor inside ``value`` (dicts, lists, tuples, objects' ``__dict__``, depth-limited)."""
    import torch

    stack, seen = [(value, 0)], set()
    while stack:
        v, depth = stack.pop()
        if isinstance(v, torch.Tensor):
            yield v
        elif depth < 6 and id(v) not in seen:
            seen.add(id(v))
            items = v.values() if isinstance(v, dict) else v if isinstance(v, (list, tuple)) else \
                vars(v).values() if hasattr(v, "__dict__") and not isinstance(v, type) else ()
            stack += [(x, depth + 1) for x in items]


def torch_module(seg: Any) -> Any:
    """The torch module behind a segmenter (ultralytics wraps its own), or None (ONNX Runtime, classical)."""
    import torch

    model = getattr(seg, "model", None)
    if isinstance(model, torch.nn.Module):
        return model
    inner = getattr(model, "model", None)
    return inner if isinstance(inner, torch.nn.Module) else None


def device_check(seg: Any, device: str) -> str:
    """Stop unless the model's parameters and the cached embedding's tensors are all on ``device``."""
    import torch

    want = torch.device(device)
    if FAMILY.get(seg.name) == "sam_onnx":
        if want.type == "cuda" and "CUDA" not in seg.runs_on() and "TensorRT" not in seg.runs_on():
            raise SystemExit(f"{seg.name}: asked for {device}, ONNX Runtime runs {seg.runs_on()}")
        return "providers " + seg.runs_on()
    module = torch_module(seg)
    off = [n for n, p in module.named_parameters() if p.device.type != want.type
           or (want.index is not None and p.device.index != want.index)] if module is not None else []
    emb = seg._state()[0] if hasattr(seg, "_state") else None
    feats = [t for t in tensors(emb.features if emb is not None else None) if t.device.type != want.type]
    if off or feats:
        raise SystemExit(f"{seg.name}: not all on {device}: {len(off)} parameters ({off[:3]}) and "
                         f"{len(feats)} embedding tensors elsewhere")
    return f"all on {device}"


# ------------------------------------------------------------------------------------------ image models
def load(name: str, registry, precision: str, args: argparse.Namespace) -> Any:
    from anylabel.backends import EmbeddingCache, load_segmenter

    return load_segmenter(name, registry=registry, device=args.device, precision=precision,
                          cache=EmbeddingCache(8192, 8192))


def bench_ours(seg: Any, image: np.ndarray, args: argparse.Namespace) -> Dict[str, Any]:
    from anylabel.backends import Prompt

    mem: Dict[str, Any] = {}
    with peak_memory(args.device, mem):
        encodes = [timed(lambda i=i: seg.set_image(test_image(image.shape[:2], seed=i + 1), key=f"warm{i}"),
                         args.device) for i in range(args.encodes + 1)][1:]  # the first run warms up (cuDNN, TRT)
        seg.set_image(image, key="bench")
        checked = device_check(seg, args.device)
        times = []

        def click(xy):
            cands = seg.predict(Prompt.from_clicks([xy]))
            if cands:  # FastSAM answers nothing where no mask of its everything pass contains the point
                polygon_of(cands[0].mask)

        for xy in [clicks(image.shape, 1)[0]] + clicks(image.shape, args.clicks):  # one warm-up click
            times.append(timed(lambda xy=xy: click(xy), args.device))
    how = f"{seg.runs_on()}; {checked}"
    return row(seg.name, "anylabel", how, float(np.median(encodes)), times[1:], peak=mem["peak"])


class Upstream:
    """The upstream predictor of a family on our segmenter's model: ``encode(image)`` and ``click(xy)``
    (the best mask's polygon included)."""

    def __init__(self, seg: Any, family: str, model: Any = None) -> None:
        self.seg, self.family, self.state = seg, family, None
        if family in SAM_PACKAGES:
            model = model if model is not None else seg.model
            self.predictor = importlib.import_module(SAM_PACKAGES[family]).SamPredictor(model)
            self.how = f"{SAM_PACKAGES[family]} SamPredictor"
        elif family == "sam2":
            from sam2.sam2_image_predictor import SAM2ImagePredictor

            self.predictor, self.how = SAM2ImagePredictor(seg.model), "SAM2ImagePredictor"
        elif family == "fastsam":
            self.how = "ultralytics FastSAM"
        elif family == "sam3":
            self.how = "Sam3Processor + predict_inst"

    def encode(self, image: np.ndarray) -> None:
        import torch

        if self.family == "fastsam":
            from anylabel.backends.fastsam import _work_size

            s = self.seg
            hw = _work_size(image.shape[0], image.shape[1], s.imgsz)
            self.state = s.model(np.ascontiguousarray(image[..., ::-1]), device=s.device, imgsz=hw, conf=s.conf,
                                 iou=s.iou, max_det=s.max_det, retina_masks=True, verbose=False)
        elif self.family == "sam3":
            from PIL import Image

            from anylabel.backends.sam3_device import on_device

            with torch.inference_mode(), on_device(self.seg.device):
                self.state = self.seg.processor.set_image(Image.fromarray(image))
        else:
            with torch.inference_mode():
                self.predictor.set_image(image)

    def click(self, xy) -> None:
        import torch

        if self.family == "fastsam":
            prompted = self.seg.model.predictor.prompt(self.state, points=[list(xy)], labels=[1])[0]
            if prompted.masks is not None and len(prompted.masks.data):
                polygon_of(prompted.masks.data[0].cpu().numpy() > 0.5)
            return
        with torch.inference_mode():
            if self.family == "sam3":
                from anylabel.backends.sam3_device import on_device

                with on_device(self.seg.device):
                    masks, scores, _ = self.seg.model.predict_inst(
                        self.state, point_coords=np.array([xy], np.float32), point_labels=np.array([1]),
                        multimask_output=True)
            elif self.family in SAM_PACKAGES:  # predict() minus its numpy conversion, which refuses bfloat16
                p = self.predictor
                coords = torch.as_tensor(p.transform.apply_coords(np.array([xy], np.float32), p.original_size),
                                         dtype=torch.float32, device=p.device)[None]
                labels = torch.ones((1, 1), dtype=torch.int, device=p.device)
                masks, scores, _ = p.predict_torch(coords, labels, multimask_output=True)
                masks, scores = masks[0].cpu().numpy(), scores[0].float().cpu().numpy()
            else:
                masks, scores, _ = self.predictor.predict(np.array([xy]), np.array([1]), multimask_output=True)
        polygon_of(np.asarray(masks[int(np.argmax(scores))]) > 0)


def bench_upstream(name: str, seg: Any, registry, image: np.ndarray, precision: str, args: argparse.Namespace):
    model = None
    if FAMILY[name] == "sam_onnx":  # ours is ONNX Runtime: upstream is segment_anything on the same checkpoint
        from anylabel.backends.sam import build_sam_model

        spec = registry.get(name.replace("_onnx", ""))
        model = build_sam_model(spec.settings, registry.ensure(spec)).to(args.device)
    up = Upstream(seg, FAMILY[name], model)
    mem: Dict[str, Any] = {}
    with peak_memory(args.device, mem), autocast(args.device, precision):
        encodes = [timed(lambda i=i: up.encode(test_image(image.shape[:2], seed=i + 1)), args.device)
                   for i in range(args.encodes + 1)][1:]  # the first run warms up
        up.encode(image)
        times = [timed(lambda xy=xy: up.click(xy), args.device)
                 for xy in [clicks(image.shape, 1)[0]] + clicks(image.shape, args.clicks)]
    how = f"{up.how}, {args.device}, {precision}" + (" autocast" if precision != "float32" else "")
    return row(name, "upstream", how, float(np.median(encodes)), times[1:], peak=mem["peak"])


def plan(names: List[str], precisions: List[str]) -> List[tuple]:
    """(model, precision, ours runs it) for every row pair of the table."""
    out = []
    for name in names:
        family = FAMILY[name]
        for precision in (["float32"] if family in ("clip", "sam_onnx") else precisions):
            out.append((name, precision, precision in OURS.get(family, ("float32", "bfloat16"))))
    return out


# ------------------------------------------------------------------------------------------ report
def table(rows: List[Dict[str, Any]]) -> str:
    def ms(values, q):
        return f"{np.percentile(np.asarray(values) * 1000, q):.1f}" if values else "-"

    lines = ["| model | impl | device, precision, check | encoder | click p50 ms | click p90 ms | peak MB | "
             "track s/frame |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        enc = "-" if r["enc"] is None else (f"{r['enc']:.3f} s" if r["enc_unit"] == "s" else f"{r['enc']:.2f} ms/crop")
        track = "-" if r["track"] is None else f"{r['track']:.3f}"
        peak = "-" if r.get("peak") is None else f"{r['peak']:.0f}"
        lines.append(f"| {r['model']} | {r['impl']} | {r['how']} | {enc} | {ms(r['click'], 50)} | "
                     f"{ms(r['click'], 90)} | {peak} | {track} |")
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
    parser.add_argument("--precisions", default="float32,bfloat16,float16",
                        help="comma-separated among float32, bfloat16, float16 (ours: the first two)")
    parser.add_argument("--clicks", type=int, default=30)
    parser.add_argument("--encodes", type=int, default=5)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", default="4000x3000", help="WxH of the click image")
    parser.add_argument("--only", help=f"comma-separated models among {', '.join(MODELS)} (default: all; sam3 "
                                       "when the sam3 package is installed)")
    parser.add_argument("--quick", action="store_true", help="small random models, few clicks and frames, "
                        "800x600: checks that every path runs (with --device cpu on a machine without a GPU)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan (models x precisions) and stop")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else [n for n in MODELS if n != "sam3" or has_sam3()]
    if args.quick and not args.only:
        names = [n for n in names if n != "sam3"]  # SAM 3 has only its full size (3.4 GB)
    precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
    bad = [n for n in names if n not in FAMILY] + [p for p in precisions if p not in ("float32", "bfloat16",
                                                                                        "float16")]
    if bad:
        parser.error(f"unknown models / precisions: {bad}")
    rows_planned = plan(names, precisions)
    if args.dry_run:
        for name, precision, ours in rows_planned:
            print(f"{name:20s} {precision:9s} anylabel {'yes' if ours else 'not offered'}; upstream yes")
        return 0
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
    registry = ModelRegistry.load(extra_files=[models_file(args, names)])
    w, h = (int(v) for v in args.size.lower().split("x"))
    image = test_image((h, w))
    print(f"{machine(args.device)}; image {w}x{h}, {args.clicks} clicks, {args.frames} frames\n", flush=True)
    rows: List[Dict[str, Any]] = []
    for name, precision, ours_runs in rows_planned:
        print(f"... {name} {precision}", file=sys.stderr, flush=True)
        if FAMILY[name] == "clip":
            rows += bench_clip(name, registry, image, args)
            continue
        # the model, loaded by ours (in float32 where ours does not offer the precision: upstream autocasts it)
        seg = load(name, registry, precision if ours_runs else "float32", args)
        if ours_runs:
            ours = bench_ours(seg, image, args)
        else:
            offered = OURS.get(FAMILY[name], ("float32", "bfloat16"))
            ours = row(name, "anylabel", f"{precision}: not offered (ours: {', '.join(offered)})")
        theirs = bench_upstream(name, seg, registry, image, precision, args)
        if FAMILY[name] == "sam2" and ours_runs:
            ours["track"], theirs["track"] = bench_tracking(name, registry, precision, args)
        seg.close()
        rows += [ours, theirs]
        if args.device.startswith("cuda"):
            torch.cuda.empty_cache()
    print(table(rows))
    print("\nencoder: one image (median); CLIP: ms per 300x400 mask crop, batches of 32, preprocessing included. "
          "click: one positive click -> best mask's polygon\n(ours: predict + polygons; upstream: predict's "
          "full-size masks + the same polygon function). peak MB: CUDA allocations, weights included. Random "
          "weights: speed only.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
