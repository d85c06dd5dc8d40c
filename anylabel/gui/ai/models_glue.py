"""How the GUI finds its models: the registry, the start-up model, and the segmenter factory."""
from __future__ import annotations

import logging
from typing import Callable, Optional

from anylabel.backends import Segmenter
from anylabel.errors import AnylabelError
from anylabel.models import ModelRegistry

log = logging.getLogger(__name__)

#: families in the order a model is preferred when the user has not chosen one (quality first)
PREFERENCE = ("sam2", "sam", "fastsam", "classical")


def load_registry(warn: Callable[[str], None]) -> ModelRegistry:
    """The shipped models file plus ``$ANYLABEL_MODELS``; on a broken file, warn and use the shipped one."""
    try:
        return ModelRegistry.load()
    except AnylabelError as e:
        warn(f"The models file could not be read, using the shipped models only:\n{e}")
        try:
            return ModelRegistry.load(include_env=False)
        except AnylabelError as e2:
            warn(f"The shipped models file could not be read either:\n{e2}")
            return ModelRegistry()


def initial_model(registry: ModelRegistry, preferred: Optional[str]) -> Optional[str]:
    """``preferred`` when it is known, else the best model whose file is present (classical on a fresh
    machine)."""
    if preferred and preferred in registry:
        return preferred
    try:  # the backends' own choice, when the factory offers one
        from anylabel.backends import factory

        best = getattr(factory, "best_available", None)
        if best is not None:
            spec = best(registry)
            return getattr(spec, "name", spec)
    except ImportError:
        pass
    specs = [s for s in registry.specs() if s.family in PREFERENCE and registry.is_available(s)]
    specs.sort(key=lambda s: PREFERENCE.index(s.family))
    return specs[0].name if specs else None


def default_segmenter_factory(registry: ModelRegistry, precision: Optional[str] = None,
                              device: Callable[[], Optional[str]] = lambda: None) -> Callable[[str], Segmenter]:
    """``fn(name) -> Segmenter`` through the backends' factory (runs on the worker thread); ``precision``
    is the settings' ``precision`` (None: ``$ANYLABEL_PRECISION`` or auto); ``device()`` the settings' device
    at the time of the load (the Device menu changes it), see :func:`gui_device`."""

    def make(name: str) -> Segmenter:
        from anylabel.backends.factory import load_segmenter

        return load_segmenter(name, registry=registry, precision=precision, device=gui_device(device()))

    return make


def gui_device(setting: Optional[str]) -> str:
    """The device name the GUI's models use: the settings' ``device`` (which the Device menu sets) when it is
    explicit; for ``auto``, ``$ANYLABEL_DEVICE`` if set, else auto (as on the command line)."""
    from anylabel.devices import requested_device

    return requested_device(setting if setting and setting != "auto" else None)
