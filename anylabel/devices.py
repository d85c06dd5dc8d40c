"""Where models run: one device setting for every model, resolved once, with errors a user can act on.

Names (the settings file's ``device``, ``$ANYLABEL_DEVICE``, ``--device`` of every command that runs a model,
the GUI's AI > Device menu):

* ``auto``: the first available GPU (CUDA device 0, else Apple's ``mps``), else the CPU;
* ``cpu``; ``cuda`` (= ``cuda:0``); ``cuda:N``; ``mps``.

:func:`resolve_device` turns a name into a torch device string (``"cpu"``, ``"cuda:0"``, ``"mps"``) or raises
:class:`DeviceError` naming what was asked and what this machine offers, e.g. ``cuda is not available here
(torch 2.14.1 built with CUDA 13.0, no GPU found); available: cpu``. The CLI turns that into exit status 2
without a traceback (it is an :class:`~anylabel.errors.AnylabelError`).

Which backend honours it how: torch models (SAM, SAM2, tracking, CLIP, the semantic branches) are moved to
the device; FastSAM and the YOLO branch get ultralytics' ``device`` argument; SAM in ONNX Runtime chooses its
execution providers from the device (:func:`anylabel.backends.onnx_providers.providers_for`); the classical
backend (OpenCV) runs on the CPU whatever is asked (a GPU request is noted, not refused: it is the fallback
that must always work). torch is imported only when a name has to be checked against the hardware.
"""
from __future__ import annotations

import os
import platform
import re
from typing import Any, List, Optional

from anylabel.errors import AnylabelError

#: the environment variable read when no device is given (below an explicit ``--device`` / setting)
ENV_DEVICE = "ANYLABEL_DEVICE"
#: the fixed names; ``cuda:N`` (N = 0, 1, ...) is accepted too
DEVICE_NAMES = ("auto", "cpu", "cuda", "mps")
_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


class DeviceError(AnylabelError):
    """An unknown device name, or a device this machine does not have."""


def check_device_name(value: Any) -> str:
    """``value`` normalised (stripped, lower case) if it is a device name; DeviceError otherwise.

    Only the spelling is checked here (no torch import): the settings file and argparse use it.
    """
    name = str(value).strip().lower() if isinstance(value, str) else None
    if name is None or not _PATTERN.fullmatch(name):
        raise DeviceError(f"unknown device {value!r} (choose auto, cpu, cuda, cuda:N or mps)")
    return name


def requested_device(requested: Optional[str] = None, setting: Optional[str] = None) -> str:
    """The device name that applies: ``requested`` (``--device``, the GUI's menu), else ``$ANYLABEL_DEVICE``,
    else ``setting`` (the settings file), else ``auto``. Checked for spelling."""
    for value in (requested, os.environ.get(ENV_DEVICE), setting):
        if value is not None and str(value).strip():
            return check_device_name(value)
    return "auto"


def _torch() -> Any:
    import torch

    return torch


def cuda_count() -> int:
    """CUDA devices torch can use (0 for a CPU-only build or no GPU / no driver)."""
    torch = _torch()
    try:
        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except (RuntimeError, AssertionError):  # a broken driver install: treat as no GPU
        return 0


def torch_has_cuda() -> bool:
    """True for a torch built with CUDA (whether or not a GPU is present)."""
    return bool(getattr(_torch().version, "cuda", None))


def mps_available() -> bool:
    """True on a Mac whose torch can use the Metal (mps) backend."""
    mps = getattr(_torch().backends, "mps", None)
    try:
        return bool(mps is not None and mps.is_available())
    except (RuntimeError, AttributeError):
        return False


def available_devices() -> List[str]:
    """Concrete devices of this machine, GPUs first: ``["cuda:0", ..., "mps", "cpu"]``."""
    out = [f"cuda:{i}" for i in range(cuda_count())]
    if mps_available():
        out.append("mps")
    return out + ["cpu"]


def _cuda_situation() -> str:
    """Why CUDA is missing, in words: the torch build and whether a GPU was found."""
    torch = _torch()
    built = getattr(torch.version, "cuda", None)
    how = f"built with CUDA {built}" if built else "a CPU-only build"
    count = cuda_count()
    gpus = "no GPU found" if count == 0 else f"{count} GPU{'s' if count > 1 else ''} found"
    return f"torch {torch.__version__.split('+')[0]} {how}, {gpus}"


def resolve_device(requested: Optional[str] = None, setting: Optional[str] = None) -> str:
    """The torch device string to run on (``"cpu"``, ``"cuda:N"``, ``"mps"``) for a device name (see
    :func:`requested_device` for where the name comes from).

    Raises:
        DeviceError: unknown name, or a device this machine does not have (the message says what it has).
    """
    name = requested_device(requested, setting)
    if name == "cpu":
        return "cpu"
    if name == "auto":
        return available_devices()[0]
    available = available_devices()
    if name == "mps":
        if "mps" in available:
            return "mps"
        raise DeviceError(f"mps is not available here (Apple's Metal backend needs macOS 12.3+ on Apple silicon "
                          f"or an AMD GPU); available: {', '.join(available)}")
    index = int(name.split(":")[1]) if ":" in name else 0
    if cuda_count() == 0:
        raise DeviceError(f"{name} is not available here ({_cuda_situation()}); available: {', '.join(available)}")
    if index >= cuda_count():
        raise DeviceError(f"{name} is not available here ({_cuda_situation()}: cuda:0 to cuda:{cuda_count() - 1}); "
                          f"available: {', '.join(available)}")
    return f"cuda:{index}"


def device_type(device: str) -> str:
    """``"cpu"``, ``"cuda"`` or ``"mps"`` of a torch device string (what ``torch.autocast`` takes)."""
    return str(device).split(":")[0]


def describe_device(device: str) -> str:
    """A short description for the status bar: ``cpu``, ``cuda:0 (NVIDIA GeForce RTX 4070)``, ``mps``."""
    if device_type(device) != "cuda":
        return str(device)
    try:
        return f"{device} ({_torch().cuda.get_device_name(device)})"
    except (RuntimeError, AssertionError, ValueError):
        return str(device)


def cores() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``, else what :mod:`platform` says)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown cpu"
