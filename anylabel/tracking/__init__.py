"""Video tracking: a SAM2 memory-bank tracking session over lazily decoded frames, with bounded memory.

Data flow: a :class:`~anylabel.imaging.video.FrameSource` → :class:`TrackingSession` (prompts, corrections,
propagation yielding :class:`FrameResult` per frame) → :mod:`anylabel.tracking.output` (LabelMe JSON per
frame, MOT track file).
"""
from typing import Any

from anylabel.tracking.propagation import DIRECTIONS, Propagation


def __getattr__(name: str) -> Any:
    """The session (and torch, sam2 with it) is imported on first use, not by the window's start-up or by
    the Qt-free modules that only need the propagation rules and the output files."""
    if name in ("FrameResult", "TrackingSession"):
        from anylabel.tracking import session

        return getattr(session, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DIRECTIONS", "FrameResult", "Propagation", "TrackingSession"]
