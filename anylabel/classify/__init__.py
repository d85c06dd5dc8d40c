"""Open-vocabulary labels: CLIP zero-shot classification of masks (Qt-free; torch imported lazily).

One classifier, three uses:

1. vocabulary labelling: ``MaskClassifier.classify(image, masks, vocabulary)`` -> one ``Vote`` per mask;
2. text prompts: ``TextFinder`` / ``segment_by_text`` pick the masks that match "red car";
3. SSA-engine filter: ``ssa_filter`` ranks each mask's semantic vote ∪ vocabulary with CLIP.

Map: ``crops`` (what CLIP sees of a mask), ``model`` (the towers), ``loader`` (registry + safe loading,
incl. OpenAI's TorchScript files via ``torchscript``), ``vocab`` (names, templates, text-embedding cache),
``classifier``, ``find``, ``ssa_filter``.

Quick start::

    from anylabel.classify import MaskClassifier, load_clip, parse_vocabulary
    clf = MaskClassifier(load_clip("clip_vit_b32"))
    votes = clf.classify(image, masks, parse_vocabulary("car, person, dog"), top_k=3)
"""
from anylabel.classify.classifier import MaskClassifier, MaskEmbeddings
from anylabel.classify.crops import CropWindow, crop_window, mask_box, mask_crop
from anylabel.classify.find import MaskMatch, TextFinder, rank_masks, segment_by_text
from anylabel.classify.loader import load_clip, load_clip_file, read_clip_weights
from anylabel.classify.model import CLIP_MEAN, CLIP_STD, ClipModel, OpenClipModel
from anylabel.classify.ssa_filter import filter_candidates, ssa_filter, vote_candidates
from anylabel.classify.vocab import DEFAULT_TEMPLATES, TextEmbeddingCache, parse_vocabulary

__all__ = [
    "CLIP_MEAN",
    "CLIP_STD",
    "ClipModel",
    "CropWindow",
    "DEFAULT_TEMPLATES",
    "MaskClassifier",
    "MaskEmbeddings",
    "MaskMatch",
    "OpenClipModel",
    "TextEmbeddingCache",
    "TextFinder",
    "crop_window",
    "filter_candidates",
    "load_clip",
    "load_clip_file",
    "mask_box",
    "mask_crop",
    "parse_vocabulary",
    "rank_masks",
    "read_clip_weights",
    "segment_by_text",
    "ssa_filter",
    "vote_candidates",
]
