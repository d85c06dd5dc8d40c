"""From a registry name to a ready :class:`Segmenter`: verified file, right adapter, shared embedding cache.

Adapters are looked up in one table, keyed by the entry's family (and ``settings.runtime`` when it is not
the family's default, e.g. ``sam:onnx``). Modules are imported only when their adapter is used, so the
classical backend never imports torch.
"""
from __future__ import annotations

import importlib
import inspect
from typing import Callable, Dict, List, Optional

from anylabel.backends.base import Segmenter
from anylabel.backends.cache import EmbeddingCache
from anylabel.devices import requested_device
from anylabel.errors import ModelError
from anylabel.models import ModelRegistry, ModelSpec

#: adapter key -> "module:Class"; the key is the family, or "family:runtime" for a non-default runtime.
ADAPTERS: Dict[str, str] = {
    "sam": "anylabel.backends.sam:SamSegmenter",
    "sam:onnx": "anylabel.backends.sam_onnx:SamOnnxSegmenter",
    "mobile_sam": "anylabel.backends.mobile_sam:MobileSamSegmenter",
    "sam_hq": "anylabel.backends.sam_hq:SamHqSegmenter",
    "sam2": "anylabel.backends.sam2:Sam2Segmenter",
    "sam3": "anylabel.backends.sam3:Sam3Segmenter",
    "fastsam": "anylabel.backends.fastsam:FastSamSegmenter",
    "classical": "anylabel.backends.classical:ClassicalSegmenter",
}
#: families preferred for "the best available model", best first; classical is the fallback.
PREFERENCE = ("sam2", "sam", "fastsam")
CLASSICAL = ModelSpec(name="classical", family="classical", display_name="Classical (GrabCut, no download)")


def adapter_key(spec: ModelSpec) -> str:
    runtime = spec.settings.get("runtime")
    return f"{spec.family}:{runtime}" if runtime and runtime != "torch" else spec.family


def adapter_class(spec: ModelSpec) -> type:
    """The adapter class for ``spec`` (ModelError when no adapter handles its family/runtime)."""
    key = adapter_key(spec)
    target = ADAPTERS.get(key)
    if target is None:
        raise ModelError(f"model {spec.name!r}: no segmentation backend for {key!r} "
                         f"(known: {', '.join(sorted(ADAPTERS))})")
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


def segmenter_specs(registry: ModelRegistry) -> List[ModelSpec]:
    """Every registry entry a segmenter can be built from (CLIP and other non-segmenters left out),
    with the classical backend first when the registry does not declare it."""
    specs = [s for s in registry.specs() if adapter_key(s) in ADAPTERS]
    if not any(s.family == "classical" for s in specs):
        specs.insert(0, CLASSICAL)
    return specs


def best_available(registry: ModelRegistry) -> ModelSpec:
    """The model to use when none is named: the first available one of the preferred families (in
    registry order), else the classical backend, which needs no file."""
    specs = segmenter_specs(registry)
    for family in PREFERENCE:
        for spec in specs:
            if spec.family == family and adapter_key(spec) in ADAPTERS and registry.is_available(spec):
                return spec
    return next(s for s in specs if s.family == "classical")


def load_segmenter(name: Optional[str] = None, registry: Optional[ModelRegistry] = None,
                   progress: Optional[Callable[[int, int], None]] = None, cancel: object = None,
                   cache: Optional[EmbeddingCache] = None, precision: Optional[str] = None,
                   device: Optional[str] = None) -> Segmenter:
    """Build the segmenter of registry model ``name`` (or the best available one when ``name`` is None).

    The model file is verified (and downloaded if needed) by ``registry.ensure`` first, reporting
    ``progress(done_bytes, total_bytes)``; ``cancel`` is a flag object the download checks.
    ``precision``: ``auto`` / ``float32`` / ``bfloat16`` for the adapters that have a choice (SAM, SAM2 in
    torch; see :mod:`anylabel.backends.precision`), None for ``$ANYLABEL_PRECISION`` or ``auto``.
    ``device``: ``auto`` / ``cpu`` / ``cuda`` / ``cuda:N`` / ``mps`` (see :mod:`anylabel.devices`), None for
    ``$ANYLABEL_DEVICE`` or ``auto``; checked against the hardware before any download.

    Raises:
        ModelError: unknown name, missing/corrupt file, wrong architecture; DownloadError when offline.
        DeviceError: unknown device name, or a device this machine (or the model's runtime) lacks.
    """
    registry = registry if registry is not None else ModelRegistry.load()
    if name is None:
        spec = best_available(registry)
    elif name == "classical" and "classical" not in registry:
        spec = CLASSICAL
    else:
        spec = registry.get(name)
    cls = adapter_class(spec)
    options = {}
    if precision is not None:
        check_precision(precision)
        if "precision" in inspect.signature(cls).parameters:
            options["precision"] = precision
    if "device" in inspect.signature(cls).parameters:
        options["device"] = cls.resolve_device(requested_device(device))
    path = registry.ensure(spec, progress=progress, cancel=cancel) if spec.needs_file else None
    return cls(spec, path, cache=cache, **options)


def check_precision(precision: str) -> str:
    """``precision`` if it is a known name (ModelError otherwise)."""
    from anylabel.backends.precision import PRECISIONS

    if precision not in PRECISIONS:
        raise ModelError(f"unknown precision {precision!r} (choose one of {', '.join(PRECISIONS)})")
    return precision
