"""ONNX Runtime execution providers for a device name: TensorRT, then CUDA, then the CPU, as this install offers.

``onnxruntime.get_available_providers()`` says what the installed build can run. For a CUDA device the list
is TensorRT's provider (only where TensorRT itself is installed: ``onnxruntime-gpu`` lists it always, and
without ``libnvinfer`` every session would first fail to create it), then CUDA's, then the CPU's as the
fallback ONNX Runtime uses for operators the GPU providers do not take. TensorRT builds an engine per graph
on first use (minutes for SAM's encoder); it is cached beside the ONNX export, so that happens once.

One install trap has its own message: ``onnxruntime`` (CPU) and ``onnxruntime-gpu`` are two distributions of
one ``onnxruntime`` module, and whichever was installed last wins. A package that depends on the CPU one
(labelme did, through the dev extra) silently takes the GPU away; asked for CUDA, this module then says so
and gives the command that repairs it.
"""
from __future__ import annotations

import ctypes.util
import importlib.metadata
import importlib.util
import os
from pathlib import Path
from typing import Any, List, Optional, Tuple

from anylabel.devices import DeviceError, cuda_count, resolve_device, torch_has_cuda

CPU, CUDA, TENSORRT = "CPUExecutionProvider", "CUDAExecutionProvider", "TensorrtExecutionProvider"
#: the command that leaves only the GPU build installed
FIX_COMMAND = "pip uninstall -y onnxruntime onnxruntime-gpu && pip install onnxruntime-gpu"


def available_providers() -> List[str]:
    import onnxruntime as ort

    return list(ort.get_available_providers())


def _installed(dist: str) -> Optional[str]:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def tensorrt_installed() -> bool:
    """TensorRT's runtime is importable (``tensorrt`` wheel or ``libnvinfer``); ``ANYLABEL_TENSORRT=0`` says no."""
    if os.environ.get("ANYLABEL_TENSORRT", "1") == "0":
        return False
    return importlib.util.find_spec("tensorrt") is not None or ctypes.util.find_library("nvinfer") is not None


def why_no_cuda_provider(providers: List[str]) -> str:
    """Why this onnxruntime has no CUDA provider, and the fix."""
    cpu, gpu = _installed("onnxruntime"), _installed("onnxruntime-gpu")
    have = ", ".join(p for p in providers if p != "AzureExecutionProvider") or "none"
    if cpu and gpu:
        return (f"both onnxruntime {cpu} (CPU) and onnxruntime-gpu {gpu} are installed and the CPU build's module "
                f"shadows the GPU one (providers: {have}); fix: {FIX_COMMAND}")
    if gpu:
        return f"onnxruntime-gpu {gpu} offers only {have} (CUDA runtime or driver not found)"
    return f"onnxruntime {cpu or '?'} is the CPU build (providers: {have}); for the GPU: {FIX_COMMAND}"


def no_cuda_provider_message(name: str, providers: List[str]) -> str:
    """``name`` is not available to ONNX Runtime here, why, and the fix."""
    return f"{name} is not available to ONNX Runtime here: {why_no_cuda_provider(providers)}; available: cpu"


def resolve_onnx_device(name: str) -> Tuple[str, str]:
    """(device, note) for a device name (``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``) under ONNX Runtime.

    ``auto``: ``cuda:0`` when this onnxruntime has the CUDA provider and there is a GPU (as torch sees it:
    ``onnxruntime-gpu`` lists its provider on machines without one), else ``cpu`` (with a note when there is a
    GPU that ONNX Runtime cannot use). ``mps``: ONNX Runtime has no Metal provider; refused.

    Raises:
        DeviceError: the device, or the provider it needs, is not available (the message names the fix).
    """
    providers = available_providers()
    has_cuda = CUDA in providers
    if name == "cpu":
        return "cpu", ""
    if name == "auto":
        if has_cuda and cuda_count():
            return "cuda:0", ""
        # torch sees a GPU that ONNX Runtime cannot use: run, but say why it is the CPU
        return "cpu", (f"GPU unused: {why_no_cuda_provider(providers)}" if cuda_count() else "")
    if name == "mps":
        raise DeviceError("mps is not available to ONNX Runtime (it has no Metal provider); use the torch SAM "
                          "model (sam_vit_b) on mps, or --device cpu")
    if not has_cuda:
        raise DeviceError(no_cuda_provider_message(name, providers))
    index = int(name.split(":")[1]) if ":" in name else 0
    count = cuda_count()
    if count == 0 and torch_has_cuda():  # onnxruntime-gpu lists its provider without a GPU; torch knows better
        resolve_device(name)  # raises the same DeviceError as every other model
    # count 0 with a CPU-only torch: torch cannot tell, ONNX Runtime finds out itself (fell_back_to_cpu)
    if count and index >= count:
        raise DeviceError(f"{name} is not available here ({count} CUDA device(s): cuda:0 to cuda:{count - 1}); "
                          "available: " + ", ".join([f"cuda:{i}" for i in range(count)] + ["cpu"]))
    return f"cuda:{index}", ""


def providers_for(device: str, cache_dir: Optional[Path] = None) -> List[Any]:
    """The ``providers`` argument of ``onnxruntime.InferenceSession`` for a resolved ``device``: TensorRT
    (where installed; engines cached in ``cache_dir``), CUDA, CPU for ``cuda:N``; CPU alone for ``cpu``."""
    if not device.startswith("cuda"):
        return [CPU]
    index = int(device.split(":")[1]) if ":" in device else 0
    out: List[Any] = []
    if TENSORRT in available_providers() and tensorrt_installed():
        options = {"device_id": index}
        if cache_dir is not None:
            options.update(trt_engine_cache_enable=True, trt_engine_cache_path=str(cache_dir))
        out.append((TENSORRT, options))
    out.append((CUDA, {"device_id": index}))
    return out + [CPU]


def fell_back_to_cpu(device: str, session: Any) -> bool:
    """True when a session asked for a GPU runs on the CPU provider: onnxruntime could not start the GPU
    providers (it logs why and retries with the CPU, e.g. for missing CUDA / cuDNN libraries)."""
    return device.startswith("cuda") and (session.get_providers() or [CPU])[0] == CPU


def runtime_note(session: Any) -> str:
    """Which provider a session really runs on first (``CUDAExecutionProvider`` -> ``onnxruntime CUDA``)."""
    first = (session.get_providers() or [CPU])[0]
    return "onnxruntime " + first.replace("ExecutionProvider", "")
