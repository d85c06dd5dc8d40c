"""Segmentation backends: one interface (:class:`Segmenter`), thin adapters over upstream packages.

Layout: ``base`` (the interface), ``prompt`` (Prompt, MaskCandidate), ``promptable`` (what adapters share:
embedding cache use, prompt assembly, candidates), ``cache`` (LRU embedding cache bounded in MB),
``prefetch`` (background encoding), ``masks`` (logits to full-size masks on the mask's box, negative boxes,
polygons), ``shapes`` (candidates to document shapes), ``factory`` (registry name to segmenter), and one
adapter module per family: ``sam``, ``sam_onnx``, ``sam2`` (+ ``sam2_build``), ``fastsam``, ``classical``.
Adapter modules import torch / ultralytics / onnxruntime; nothing here imports them at package import.
"""
from anylabel.backends.base import Segmenter
from anylabel.backends.cache import EmbeddingCache, shared_cache
from anylabel.backends.factory import best_available, load_segmenter, segmenter_specs
from anylabel.backends.prefetch import Prefetcher
from anylabel.backends.prompt import MaskCandidate, Prompt
from anylabel.backends.shapes import candidate_to_shapes, next_group_id

__all__ = [
    "EmbeddingCache", "MaskCandidate", "Prefetcher", "Prompt", "Segmenter", "best_available",
    "candidate_to_shapes", "load_segmenter", "next_group_id", "segmenter_specs", "shared_cache",
]
