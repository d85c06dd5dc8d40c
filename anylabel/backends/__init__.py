"""Segmentation backends: one interface (:class:`Segmenter`), thin adapters over upstream packages."""
from anylabel.backends.base import Segmenter
from anylabel.backends.prompt import MaskCandidate, Prompt

__all__ = ["MaskCandidate", "Prompt", "Segmenter"]
