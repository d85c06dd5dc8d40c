"""MobileSAM (TinyViT image encoder, SAM's prompt encoder and mask decoder) through its ``mobile_sam`` package
(PyPI ``mobilesam-mirror``, a packaging of github.com/ChaoningZhang/MobileSAM).

``mobile_sam`` has segment-anything's layout (``sam_model_registry["vit_t"]``, ``SamPredictor``,
``SamAutomaticMaskGenerator``, ``utils.transforms``) and the same decoder, so the adapter is
:class:`~anylabel.backends.sam.SamSegmenter` with another package: the same embedding cache, prefetch, devices,
engines (torch float32 / bfloat16; no ONNX export), fast click decoder and mask-to-shape. The checkpoint is
a plain ``Sam`` state dict (``mobile_sam.pt``), loaded with ``weights_only=True``.
"""
from __future__ import annotations

from anylabel.backends.sam import SamSegmenter


class MobileSamSegmenter(SamSegmenter):
    """MobileSAM on torch, on any torch device (CPU by default)."""

    package = "mobile_sam"
    gpu_family = "mobile_sam"  # float32 on a GPU, as MobileSAM's predictor
    onnx_export = False  # the ONNX engine exports segment-anything's ViT; MobileSAM runs in torch
