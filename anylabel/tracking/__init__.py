"""Video tracking: a SAM2 memory-bank tracking session over lazily decoded frames, with bounded memory.

Data flow: a :class:`~anylabel.imaging.video.FrameSource` → :class:`TrackingSession` (prompts, corrections,
propagation yielding :class:`FrameResult` per frame) → :mod:`anylabel.tracking.output` (LabelMe JSON per
frame, MOT track file).
"""
from anylabel.tracking.propagation import DIRECTIONS, Propagation
from anylabel.tracking.session import FrameResult, TrackingSession

__all__ = ["DIRECTIONS", "FrameResult", "Propagation", "TrackingSession"]
