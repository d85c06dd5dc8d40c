"""Which engine runs a SAM / SAM2 image encoder and its click decoder on a CPU: chosen by measuring.

The engines: ``torch-float32`` (upstream's modules, exact), ``torch-bfloat16`` (the same modules under
bfloat16 autocast / bfloat16 products, see :mod:`anylabel.backends.precision`; offered only where the CPU has
bfloat16 instructions, AMX or AVX512-BF16) and ``onnx-float32`` (the graph :mod:`anylabel.backends.sam_onnx`
exports, run by ONNX Runtime; SAM only, and only where ``onnxruntime`` imports).

Why measure: which one is fastest depends on the CPU, not on its name. On this project's Xeon with AMX,
bfloat16 is ~2x faster than float32 for the whole encoder; on an AMD EPYC with AVX512-BF16 and no AMX (the
issue's report) bfloat16 is ~2.7x and ONNX Runtime ~2x faster than torch float32; on a laptop without
bfloat16 instructions ONNX Runtime float32 is the candidate. So ``precision: auto`` runs a short probe once
(:mod:`anylabel.backends.engine_probe`: one upstream ViT-B block and one global-attention head at SAM's
real token and channel sizes, and one real click of SAM's decoder, in every offered engine) and picks, per
role, the fastest; on a near tie (within :data:`TOLERANCE`) the more exact engine (float32 before bfloat16,
torch before ONNX Runtime). The result is cached in ``<cache root>/engines.json`` per (CPU model, number of
CPUs, torch version, onnxruntime version); a probe taken while other processes held the cores is used, but
measured again by the next process (at most :data:`CONTENDED_RETRIES` times).

An explicit ``precision`` (``float32`` / ``bfloat16``; setting, ``--precision``, ``$ANYLABEL_PRECISION``) or
an ``*_onnx`` model entry always wins; on a GPU ``auto`` is :func:`anylabel.backends.precision.resolve_precision`'s.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence

from anylabel.devices import cpu_model

log = logging.getLogger(__name__)

TORCH_FP32, TORCH_BF16, ONNX_FP32 = "torch-float32", "torch-bfloat16", "onnx-float32"
#: preference on a near tie, most exact first
ENGINES = (TORCH_FP32, ONNX_FP32, TORCH_BF16)
ROLES = ("encoder", "decoder")
#: an engine less exact than another is chosen only when it is faster than TOLERANCE x the fastest's time
TOLERANCE = 1.03
CONTENDED_RETRIES = 3
CACHE_FILE = "engines.json"
#: bumped when the probe's workloads change, so older measurements are not reused
PROBE_VERSION = 1

Times = Dict[str, Dict[str, float]]  # role -> engine -> seconds (probe's estimate)


@dataclass(frozen=True)
class EnginePlan:
    """The engines of one model: ``encoder`` and ``decoder`` are names of :data:`ENGINES`; ``source`` is
    ``requested`` (an explicit precision), ``measured`` (the probe), ``device`` (a GPU's rule) or
    ``fallback`` (the measured choice was not possible, e.g. no ONNX export)."""

    encoder: str
    decoder: str
    source: str = "requested"

    @property
    def encoder_precision(self) -> str:
        return precision_of(self.encoder)

    @property
    def decoder_precision(self) -> str:
        return precision_of(self.decoder)

    @property
    def uses_onnx(self) -> bool:
        return ONNX_FP32 in (self.encoder, self.decoder)

    def describe(self) -> str:
        """e.g. ``encoder torch-bfloat16, clicks torch-bfloat16 (measured)``."""
        return f"encoder {self.encoder}, clicks {self.decoder} ({self.source})"


def precision_of(engine: str) -> str:
    return engine.rsplit("-", 1)[1]


def torch_engine(precision: str) -> str:
    return TORCH_BF16 if precision == "bfloat16" else TORCH_FP32


# ------------------------------------------------------------------------------------------ the machine
def cpu_flags() -> Optional[set]:
    """The CPU's feature flags from ``/proc/cpuinfo`` (Linux), None where unknown."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        return None
    return None


def cpu_bfloat16() -> bool:
    """True when the CPU has bfloat16 arithmetic instructions: AMX (``amx_bf16``) or AVX512-BF16.

    Linux: the kernel's flags. Elsewhere torch's own CPU probes (private in torch 2.x; absent means no)."""
    flags = cpu_flags()
    if flags is not None:
        return bool(flags & {"amx_bf16", "avx512_bf16", "avx512bf16"})
    import torch

    for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        probe = getattr(torch.cpu, name, None) or getattr(getattr(torch._C, "_cpu", None), name, None)
        try:
            if probe is not None and probe():
                return True
        except RuntimeError:
            continue
    return False


def onnxruntime_version() -> Optional[str]:
    """onnxruntime's version, None when it does not import."""
    try:
        import onnxruntime
    except ImportError:
        return None
    return str(getattr(onnxruntime, "__version__", "unknown"))


def cache_key() -> str:
    """What a measurement depends on: CPU model and count, torch and onnxruntime versions, probe version."""
    import torch

    from anylabel.backends.cpu import cores

    return (f"{cpu_model()} x{cores()} | torch {torch.__version__} | onnxruntime {onnxruntime_version()} | "
            f"probe v{PROBE_VERSION}")


def offered(onnx: bool = True) -> List[str]:
    """The engines this machine offers (ONNX Runtime only when ``onnx``: the model has an ONNX path)."""
    out = [TORCH_FP32]
    if onnx and onnxruntime_version() is not None:
        out.append(ONNX_FP32)
    if cpu_bfloat16():
        out.append(TORCH_BF16)
    return out


def choose(times: Dict[str, float], candidates: Sequence[str]) -> str:
    """The fastest of ``candidates`` by ``times``; on a near tie (:data:`TOLERANCE`) the most exact one.
    Candidates without a time are not chosen (torch float32 when none has one)."""
    timed = [e for e in ENGINES if e in candidates and times.get(e, 0) > 0]
    if not timed:
        return TORCH_FP32
    fastest = min(times[e] for e in timed)
    return next(e for e in timed if times[e] <= fastest * TOLERANCE)


# ------------------------------------------------------------------------------------------ notices
_listeners: List[Callable[[str], None]] = []


@contextmanager
def notices(listener: Callable[[str], None]) -> Iterator[None]:
    """Call ``listener(message)`` for the one-time work of this module (the probe, an ONNX export) while
    the block runs (the GUI's status bar, the CLI's stderr); messages are logged at INFO too."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def notice(message: str) -> None:
    log.info("%s", message)
    for listener in list(_listeners):
        listener(message)


# ------------------------------------------------------------------------------------------ measurements
_lock = threading.Lock()
_memo: Dict[str, Times] = {}
#: the probe; replaced in tests to force results: fn(candidates) -> Times
probe_fn: Optional[Callable[[Sequence[str]], Times]] = None


def cache_path() -> Path:
    from anylabel.models import cache_root

    return cache_root() / CACHE_FILE


def _read_cache(path: Path) -> dict:
    """The cache file's entries; {} when missing or unreadable (it is then measured again and rewritten)."""
    import json

    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        log.warning("engine measurements %s unreadable (%s): measuring again", path, e)
        return {}
    return data if isinstance(data, dict) else {}


def _valid(entry: object, candidates: Sequence[str]) -> bool:
    if not isinstance(entry, dict) or not isinstance(entry.get("times"), dict):
        return False
    times = entry["times"]
    try:
        ok = all(float(times[r][e]) > 0 for r in ROLES for e in candidates)
    except (KeyError, TypeError, ValueError):
        return False
    return ok and not (entry.get("contended") and int(entry.get("attempts", 0)) < CONTENDED_RETRIES)


def _run_probe(candidates: Sequence[str]) -> Times:
    if probe_fn is not None:
        return probe_fn(candidates)
    from anylabel.backends.engine_probe import probe

    return probe(candidates)


def measured_times() -> Times:
    """Per role, the probe's seconds for every offered engine: from the cache file, or measured now (once
    per process; ~1-3 s) and saved atomically."""
    key = cache_key()
    candidates = offered(onnx=True)
    with _lock:
        if key in _memo:
            return _memo[key]
        path = cache_path()
        entries = _read_cache(path)
        entry = entries.get(key)
        if not _valid(entry, candidates):
            from anylabel.backends.cpu import idle_cores

            busy = idle_cores() < _cores()
            notice(f"measuring this CPU's engines once ({', '.join(candidates)}; a few seconds)")
            t = time.perf_counter()
            times = _run_probe(candidates)
            attempts = int(entry.get("attempts", 0)) + 1 if isinstance(entry, dict) else 1
            entry = {"times": times, "contended": busy, "attempts": attempts, "seconds": time.perf_counter() - t,
                     "measured": time.strftime("%Y-%m-%dT%H:%M:%S"), "loadavg": _loadavg()}
            entries = _read_cache(path)  # another process may have written meanwhile
            entries[key] = entry
            _save(path, entries)
            notice(f"engine probe took {entry['seconds']:.1f} s: " + "; ".join(
                f"{r} {choose(times[r], candidates)}" for r in ROLES))
        _memo[key] = entry["times"]
        return _memo[key]


def _cores() -> int:
    from anylabel.backends.cpu import cores

    return cores()


def _loadavg() -> Optional[float]:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def _save(path: Path, entries: dict) -> None:
    from anylabel.errors import AnylabelError
    from anylabel.fileio import atomic_write_json

    try:
        atomic_write_json(path, entries)
    except AnylabelError as e:  # a read-only cache folder: the measurement is kept for this process only
        log.warning("cannot save the engine measurements: %s", e)


def forget() -> None:
    """Drop this process's memo of the measurements (tests; the cache file is left alone)."""
    with _lock:
        _memo.clear()


# ------------------------------------------------------------------------------------------ the choice
def plan_engines(requested: Optional[str] = None, device: str = "cpu", onnx: bool = False,
                 gpu_auto: str = "float32") -> EnginePlan:
    """The engines of a model's encoder and click decoder.

    ``requested``: ``auto`` / ``float32`` / ``bfloat16`` (None: ``$ANYLABEL_PRECISION``, else ``auto``);
    ``onnx``: the model can run in ONNX Runtime (torch SAM); ``gpu_auto``: the family's ``auto`` on a GPU
    (:data:`anylabel.backends.precision.GPU_AUTO`). Raises ValueError for an unknown name.
    """
    from anylabel.backends.precision import requested_precision

    value = requested_precision(requested)
    if value != "auto":
        return EnginePlan(torch_engine(value), torch_engine(value), "requested")
    if device != "cpu":
        from anylabel.backends.precision import resolve_precision

        engine = torch_engine(resolve_precision("auto", device, gpu_auto=gpu_auto))
        return EnginePlan(engine, engine, "device")
    times = measured_times()
    candidates = offered(onnx)
    return EnginePlan(choose(times["encoder"], candidates), choose(times["decoder"], candidates), "measured")


def auto_torch_precision() -> str:
    """``float32`` or ``bfloat16``: the faster torch encoder on this CPU by the probe (SAM2 video tracking,
    :func:`anylabel.backends.precision.resolve_precision`)."""
    return precision_of(choose(measured_times()["encoder"], offered(onnx=False)))
