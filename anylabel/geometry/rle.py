"""COCO run-length encoding, always through pycocotools (never hand-written).

An RLE here is the JSON-ready dict ``{"size": [h, w], "counts": str}`` (compressed counts decoded to
ASCII), which is what COCO files hold and what ``pycocotools.mask.decode`` accepts after re-encoding
``counts`` to bytes.
"""
from __future__ import annotations

from typing import Any, Dict

import numpy as np
from pycocotools import mask as mask_utils

from anylabel.errors import GeometryError

RLE = Dict[str, Any]


def rle_encode(mask: np.ndarray) -> RLE:
    """Encode a bool (or 0/1) HxW mask as a JSON-ready COCO RLE dict."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise GeometryError(f"a mask must be 2-D (HxW), got shape {mask.shape}")
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def _to_pycoco(rle: RLE) -> Dict[str, Any]:
    try:
        h, w = (int(v) for v in rle["size"])
        counts = rle["counts"]
    except (KeyError, TypeError, ValueError) as e:
        raise GeometryError(f"not a COCO RLE (needs 'size' [h, w] and 'counts'): {str(rle)[:80]}") from e
    if isinstance(counts, list):  # uncompressed RLE, as COCO uses for iscrowd
        return mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    if isinstance(counts, str):
        counts = counts.encode("ascii")
    return {"size": [h, w], "counts": counts}


def rle_decode(rle: RLE) -> np.ndarray:
    """Decode a COCO RLE (compressed string or uncompressed list counts) to a bool HxW mask."""
    try:
        return mask_utils.decode(_to_pycoco(rle)).astype(bool)
    except GeometryError:
        raise
    except Exception as e:  # pycocotools raises bare exceptions on bad counts
        raise GeometryError(f"corrupt RLE counts: {e}") from e


def rle_area(rle: RLE) -> int:
    """Number of foreground pixels of an RLE, without decoding it."""
    return int(mask_utils.area(_to_pycoco(rle)))


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two bool masks of the same size (1.0 when both are empty)."""
    a = np.asarray(a, dtype=bool)
    b = np.asarray(b, dtype=bool)
    if a.shape != b.shape:
        raise GeometryError(f"mask sizes differ: {a.shape} vs {b.shape}")
    union = np.logical_or(a, b).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(a, b).sum() / union)
