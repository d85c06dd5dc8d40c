"""Numeric precision of the SAM / SAM2 torch adapters: float32, or bfloat16 products where the CPU has them.

Why: CPUs with Intel AMX (Xeon 4th generation and later, like this project's test machine) multiply
bfloat16 matrices about 5x faster than float32 ones (measured here: 1240 vs 240 GFLOP/s on 2048^3). The
SAM / SAM2 image encoders and the mask decoder's large products are matrix multiplications, so with
bfloat16:

* the image encoder runs under ``torch.autocast("cpu", dtype=torch.bfloat16)``: upstream's own modules, in
  the precision sam2's own examples use on GPUs (SAM vit_b, 1024x1024: 12.4 s -> 6.5 s here); the
  embedding is stored as float32;
* the click decoder (:class:`~anylabel.backends.fast_decoder.FastMaskDecoder`) computes its products with
  the 4096 image tokens and its upscaling in bfloat16; softmax, layer-norm statistics, residual sums and the
  small token-side layers stay float32 (decoder ~21 -> ~17 ms per click here);
* a video :class:`~anylabel.tracking.TrackingSession` runs sam2's video predictor under the same autocast
  (hiera tiny: 8.8 -> 2.9 s per frame here, ``benchmarks/tracking_precision.py``).

bfloat16 keeps float32's range but only 8 bits of mantissa, so results are close to, not equal to,
float32's: measured with random weights on a photo (``python benchmarks/click_latency.py``), the
low-resolution masks agree with float32's at IoU ~0.996 and the logits within ~1 % of their range; tracked
masks at IoU ~0.98 (``benchmarks/tracking_precision.py``).
Random weights say nothing about mask *quality*; the float32 path stays exact (within 1e-4 of upstream)
and is one setting away.

``precision`` is ``"auto"`` (on a CPU: the engine a one-time measurement finds fastest, see
:mod:`anylabel.backends.engines`), ``"float32"`` or ``"bfloat16"``;
the value comes from the caller (``load_segmenter(precision=...)``, ``TrackingSession(precision=...)``, the
settings file's ``precision``, ``--precision`` of ``anylabel segment / everything / track``) or the
``ANYLABEL_PRECISION`` environment variable.
"""
from __future__ import annotations

import contextlib
import os
from typing import Any, ContextManager, Optional

from anylabel.config import PRECISIONS  # the names live with the setting


def fast_bfloat16() -> bool:
    """True when this CPU has bfloat16 instructions (AMX or AVX512-BF16; see :mod:`anylabel.backends.engines`)."""
    from anylabel.backends.engines import cpu_bfloat16

    return cpu_bfloat16()


def requested_precision(requested: Optional[str] = None) -> str:
    """The precision asked for: ``requested``, else ``$ANYLABEL_PRECISION``, else ``"auto"`` (normalised).

    Raises:
        ValueError: an unknown precision name.
    """
    value = (requested or os.environ.get("ANYLABEL_PRECISION") or "auto").strip().lower()
    if value not in PRECISIONS:
        raise ValueError(f"unknown precision {value!r} (choose one of {', '.join(PRECISIONS)})")
    return value


def resolve_precision(requested: Optional[str] = None, device: str = "cpu", gpu_auto: str = "float32") -> str:
    """``"float32"`` or ``"bfloat16"`` for ``requested`` (None: ``$ANYLABEL_PRECISION``, else ``"auto"``).

    ``device``: a torch device string (``cpu``, ``cuda:0``, ``mps``). On a GPU, ``auto`` is what the model's
    upstream project runs there (``gpu_auto``, see :func:`gpu_auto_precision`). ``auto`` on a CPU: the faster
    torch encoder by the engines' one-time measurement (:func:`anylabel.backends.engines.auto_torch_precision`;
    bfloat16 only where the CPU has bfloat16 instructions). The adapters that can also run ONNX Runtime, or
    choose the click decoder's engine apart, use :func:`anylabel.backends.engines.plan_engines`.

    Raises:
        ValueError: an unknown precision name.
    """
    value = requested_precision(requested)
    if value == "auto" and device != "cpu":
        return gpu_auto_precision(device, gpu_auto)
    if value == "auto":
        from anylabel.backends.engines import auto_torch_precision

        return auto_torch_precision()
    return value


#: ``gpu_auto`` of each torch model family: what upstream runs on a CUDA GPU. sam2's predictor examples and
#: notebooks wrap everything in ``torch.autocast("cuda", dtype=torch.bfloat16)`` (with TF32 matmuls on Ampere
#: and later); segment-anything's ``SamPredictor`` / notebooks run float32 on CUDA.
GPU_AUTO = {"sam": "float32", "sam2": "bfloat16"}


def gpu_auto_precision(device: str, preferred: str = "float32") -> str:
    """``auto`` on a GPU: ``preferred`` where the GPU has fast bfloat16 (CUDA compute capability 8.0+, as
    ``torch.cuda.is_bf16_supported()`` reports), else float32 (older CUDA GPUs emulate bfloat16; ``mps``:
    sam2's own notes call its support preliminary and run float32 there)."""
    if preferred != "bfloat16" or not str(device).startswith("cuda"):
        return "float32"
    import torch

    try:
        with torch.cuda.device(device):
            return "bfloat16" if torch.cuda.is_bf16_supported(including_emulation=False) else "float32"
    except (RuntimeError, AssertionError, TypeError):
        return "float32"


def cuda_matmul_setup(device: str) -> None:
    """On CUDA GPUs of compute capability 8.0+ allow TF32 matmuls / convolutions for the float32 operations
    outside autocast, as sam2's examples do (``torch.backends.cuda.matmul.allow_tf32 = True``). Process-wide."""
    if not str(device).startswith("cuda"):
        return
    import torch

    if torch.cuda.get_device_properties(device).major >= 8:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def torch_dtype(precision: str) -> Any:
    """The torch dtype of a resolved precision."""
    import torch

    return torch.bfloat16 if precision == "bfloat16" else torch.float32


def encoder_autocast(precision: str, device: str = "cpu") -> ContextManager[Any]:
    """The context an image encoder runs in: bfloat16 autocast, or nothing for float32 (``device``: a torch
    device string or type)."""
    if precision != "bfloat16":
        return contextlib.nullcontext()
    import torch

    return torch.autocast(device_type=str(device).split(":")[0], dtype=torch.bfloat16)
