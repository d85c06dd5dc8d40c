"""The timing pieces of benchmarks/gpu.py: synchronised timers, the test image and clicks, upstream's autocast,
the CUDA memory peak, and the CLIP and SAM2-tracking benchmarks (ours beside upstream). See gpu.py."""
from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


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
        track: Optional[float] = None, enc_unit: str = "s", peak: Optional[float] = None) -> Dict[str, Any]:
    return {"model": model, "impl": impl, "how": how, "enc": enc, "enc_unit": enc_unit, "click": click,
            "track": track, "peak": peak}


def autocast(device: str, precision: str) -> Any:
    """Upstream's way to run in ``precision``: ``torch.autocast`` of the device type (nothing for float32)."""
    import torch

    if precision == "float32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=getattr(torch, precision))


@contextlib.contextmanager
def peak_memory(device: str, into: Dict[str, Any]):
    """``into["peak"]``: the CUDA memory peak (MB) of the body, weights included; None off CUDA."""
    import torch

    cuda = device.startswith("cuda")
    if cuda:
        sync(device)
        torch.cuda.reset_peak_memory_stats(device)
    yield
    into["peak"] = torch.cuda.max_memory_allocated(device) / 1e6 if cuda else None


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
def bench_tracking(name: str, registry, precision: str, args: argparse.Namespace) -> List[float]:
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

    session = TrackingSession(predictor, open_frames(folder), precision=precision)
    for obj, (point, box) in enumerate(prompts, 1):
        session.add_prompt(0, obj, Prompt.from_clicks([point] if point else [], box=box))
    sync(args.device)
    t = time.perf_counter()
    n = sum(1 for _ in session.propagate())
    sync(args.device)
    ours = (time.perf_counter() - t) / max(1, n)

    with torch.inference_mode(), autocast(args.device, precision):  # sam2's README: bfloat16 autocast
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
