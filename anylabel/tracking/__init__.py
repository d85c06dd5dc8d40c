"""Video tracking: a SAM2 memory-bank tracking session over lazily decoded frames, with bounded memory.

Data flow: a :class:`~anylabel.imaging.video.FrameSource` → :class:`TrackingSession` (prompts, corrections,
propagation yielding :class:`FrameResult` per frame) → :mod:`anylabel.tracking.output` (LabelMe JSON per
frame, MOT track file).

The names are loaded on first use (PEP 562): ``anylabel.tracking.session`` imports torch (about 2 s), and
commands that only need ``anylabel.tracking.output`` or ``.propagation`` (``anylabel export``, whose CLI
discovery imports ``cli/track.py``) must not pay for it.
"""
from __future__ import annotations

import importlib
from typing import Any

_WHERE = {"DIRECTIONS": "propagation", "Propagation": "propagation", "FrameResult": "state",
          "TrackingSession": "session"}

__all__ = ["DIRECTIONS", "FrameResult", "Propagation", "TrackingSession"]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{where}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list:
    return sorted(list(globals()) + __all__)
