"""The one-time engine probe of :mod:`anylabel.backends.engines`: SAM's real work, small enough for ~1-3 s.

What is timed, in every offered engine (torch float32, torch bfloat16 autocast / products, ONNX Runtime
float32 of graphs exported by :func:`anylabel.backends.sam_onnx.export_graph`), with random weights:

* **encoder**: segment-anything's own ``Block`` of ViT-B (768 channels, 12 heads, MLP 3072, relative
  positions) with 14x14 window attention on a 28x28 token grid (4 windows: the real window and channel sizes,
  784 of the encoder's 4900 windowed tokens), and one head of a global ``Attention`` at the real 64x64 = 4096
  tokens (head width 64: the 4096 x 4096 attention matrix, the relative-position terms and the softmax of
  SAM's 4 global blocks). The encoder's time is estimated as ``(8 * 4900 + 4 * 4096) / 784`` windowed-block
  runs plus ``4 * 12`` global heads (the patch embedding and the neck are a few percent and left out).
  Bare square matmuls mislead here: they leave out the attention's memory-bound softmax and the autocast's
  casts, and ONNX Runtime's fused kernels. ``benchmarks/engines.py`` prints this estimate beside the full
  encoder's time of each engine.
* **decoder**: one click (a point, 3 candidates) of SAM's real decoder (``PromptEncoder`` + ``MaskDecoder``,
  transformer width 256) on a 64x64 embedding: :class:`~anylabel.backends.fast_decoder.FastMaskDecoder` in
  float32 and in bfloat16 products, and the ONNX decoder graph of :mod:`anylabel.backends.sam_onnx`.

The engines run in turns (one round = every workload of every engine once) so that a burst of load hits
all of them alike, and the minimum per engine and workload is kept; after a warm-up round, rounds continue
while the whole stays within ``budget_s`` (at least one timed round).
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np

from anylabel.backends.engines import ONNX_FP32, TORCH_BF16, TORCH_FP32, Times

WINDOW_GRID = 28  # tokens per side of the windowed block's input (4 windows of 14x14)
#: the encoder estimate: windowed-block runs and global heads per ViT-B encoder pass
BLOCK_RUNS = (8 * 4900 + 4 * 4096) / WINDOW_GRID ** 2
HEAD_RUNS = 4 * 12

Workload = Callable[[], object]


def _encoder_modules() -> Tuple[object, object, object, object]:
    """(windowed ViT-B block, its input, one global-attention head, its input), random weights."""
    import torch
    from segment_anything.modeling.image_encoder import Attention, Block

    gen = torch.Generator().manual_seed(0)
    with torch.device("meta"):  # no init kernels (seconds for 7 M parameters): random values below
        block = Block(768, 12, use_rel_pos=True, window_size=14, input_size=(64, 64))
        head = Attention(64, num_heads=1, use_rel_pos=True, input_size=(64, 64))
    block, head = block.to_empty(device="cpu").eval(), head.to_empty(device="cpu").eval()
    with torch.no_grad():
        for module in (block, head):
            for name, p in module.named_parameters():
                if name.endswith("bias") or "norm" in name:
                    p.copy_(torch.ones_like(p) if "norm" in name and name.endswith("weight") else torch.zeros_like(p))
                else:
                    p.copy_(torch.randn(p.shape, generator=gen) * 0.02)
    return (block, torch.randn(1, WINDOW_GRID, WINDOW_GRID, 768, generator=gen),
            head, torch.randn(1, 64, 64, 64, generator=gen))


def _decoder_model() -> object:
    """A segment-anything ``Sam`` with the real prompt encoder and mask decoder (a 1-block, 16-wide image
    encoder: only its ``img_size`` is used)."""
    from segment_anything.build_sam import _build_sam

    return _build_sam(encoder_embed_dim=16, encoder_depth=1, encoder_num_heads=1,
                      encoder_global_attn_indexes=[0]).eval()


def _torch_workloads(precision: str, enc: tuple, sam: object) -> Dict[str, Workload]:
    import torch

    from anylabel.backends.fast_decoder import FastMaskDecoder
    from anylabel.backends.precision import encoder_autocast, torch_dtype

    block, xw, head, xg = enc
    with torch.inference_mode():
        fast = FastMaskDecoder(sam.mask_decoder, sam.prompt_encoder, torch_dtype(precision))
        state = fast.prepare(torch.randn(1, 256, 64, 64))
    points = (torch.tensor([[[300.0, 400.0]]]), torch.tensor([[1]], dtype=torch.int))

    def run(module: object, x: object) -> Workload:
        def go() -> object:
            with torch.inference_mode(), encoder_autocast(precision):
                return module(x)
        return go

    def click() -> object:
        with torch.inference_mode():
            sparse, _ = sam.prompt_encoder(points=points, boxes=None, masks=None)
            return fast(state, sparse, None, True)

    return {"block": run(block, xw), "head": run(head, xg), "click": click}


def _onnx_workloads(enc: tuple, sam: object, folder: Path, threads: int) -> Dict[str, Workload]:
    import onnxruntime as ort

    from anylabel.backends.sam_onnx import export_decoder, export_graph, session_options

    block, xw, head, xg = enc
    export_graph(block, (xw,), folder / "block.onnx", ["x"], ["y"])
    export_graph(head, (xg,), folder / "head.onnx", ["x"], ["y"])
    export_decoder(sam, folder / "decoder.onnx")
    providers = ["CPUExecutionProvider"]
    s_block = ort.InferenceSession(str(folder / "block.onnx"), session_options("encoder", threads),
                                   providers=providers)
    s_head = ort.InferenceSession(str(folder / "head.onnx"), session_options("encoder", threads),
                                  providers=providers)
    s_dec = ort.InferenceSession(str(folder / "decoder.onnx"), session_options("click", threads),
                                 providers=providers)
    xw_np, xg_np = xw.numpy(), xg.numpy()
    rng = np.random.default_rng(0)
    feeds = {"image_embeddings": rng.standard_normal((1, 256, 64, 64), dtype=np.float32),
             "point_coords": np.array([[[300.0, 400.0], [0.0, 0.0]]], np.float32),
             "point_labels": np.array([[1.0, -1.0]], np.float32),
             "mask_input": np.zeros((1, 1, 256, 256), np.float32),
             "has_mask_input": np.zeros(1, np.float32)}
    return {"block": lambda: s_block.run(None, {"x": xw_np}), "head": lambda: s_head.run(None, {"x": xg_np}),
            "click": lambda: s_dec.run(None, feeds)}


def time_rounds(engines: Dict[str, Dict[str, Workload]], budget_s: float,
                max_rounds: int = 6) -> Dict[str, Dict[str, float]]:
    """Minimum seconds per engine and workload over interleaved rounds: one warm-up round, then timed
    rounds while the whole (warm-up included) stays within ``budget_s`` (at least one timed round)."""
    best: Dict[str, Dict[str, float]] = {e: {} for e in engines}
    start = time.perf_counter()
    for r in range(max_rounds + 1):
        t_round = time.perf_counter()
        for engine, loads in engines.items():
            for name, fn in loads.items():
                t = time.perf_counter()
                fn()
                dt = time.perf_counter() - t
                if r > 0:
                    best[engine][name] = min(dt, best[engine].get(name, float("inf")))
        now = time.perf_counter()
        if r > 0 and now + (now - t_round) - start > budget_s:  # the next round would overrun
            break
    return best


def estimate(best: Dict[str, Dict[str, float]]) -> Times:
    """The probe's per-role estimates from the workloads' minimum times."""
    return {"encoder": {e: BLOCK_RUNS * t["block"] + HEAD_RUNS * t["head"] for e, t in best.items()},
            "decoder": {e: t["click"] for e, t in best.items()}}


def probe(candidates: Sequence[str], budget_s: float = 2.0) -> Times:
    """Seconds per role (``encoder``: estimated full ViT-B encoder; ``decoder``: one click) for every engine
    of ``candidates`` (names of :data:`anylabel.backends.engines.ENGINES`).

    Every engine gets the cores that are idle now, at most torch's thread setting: all of them on a quiet
    machine (as the encoder will), fewer while other processes run (a multi-threaded run that shares a core
    with another process stalls at every parallel region, which says nothing about the engine)."""
    import torch

    from anylabel.backends.cpu import idle_cores

    configured = torch.get_num_threads()
    threads = max(1, min(configured, idle_cores()))
    torch.set_num_threads(threads)
    try:
        enc = _encoder_modules()
        sam = _decoder_model()
        engines: Dict[str, Dict[str, Workload]] = {}
        for engine in candidates:
            if engine in (TORCH_FP32, TORCH_BF16):
                engines[engine] = _torch_workloads("bfloat16" if engine == TORCH_BF16 else "float32", enc, sam)
        with tempfile.TemporaryDirectory(prefix="anylabel-probe-") as tmp:
            if ONNX_FP32 in candidates:
                engines[ONNX_FP32] = _onnx_workloads(enc, sam, Path(tmp), threads)
            return estimate(time_rounds(engines, budget_s))
    finally:
        torch.set_num_threads(configured)


def probe_report(times: Times) -> List[str]:
    """Lines describing a probe's result (the benchmark prints them)."""
    return [f"{role:8s} " + "  ".join(f"{e} {s * 1000 if role == 'decoder' else s:.2f}"
                                       f"{'ms' if role == 'decoder' else 's'}" for e, s in sorted(t.items()))
            for role, t in times.items()]
