"""Automatic ("everything") masks through the upstream generators, on an embedding that is already known.

segment-anything's ``SamAutomaticMaskGenerator`` and sam2's ``SAM2AutomaticMaskGenerator`` own a predictor
and call ``predictor.set_image(crop)`` for every crop, the first crop being the whole image: they would run
the image encoder (seconds on a CPU) even though the click path has the embedding in its cache. Here the
generator's predictor is given that embedding for the whole-image crop (the attributes its ``set_image``
would set, without the encoder call); smaller crops (``crop_n_layers`` > 0) are encoded as upstream does.
Everything else is the upstream generator unchanged, except the batch size (:func:`bounded_options`): both
generators upsample every candidate of a batch to the full image as float32 before thresholding, 3 per
point, so 64 points on a 4000x3000 image would allocate 9 GB; the batch is reduced to stay under a budget.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from anylabel.backends.base import Progress, report
from anylabel.backends.masks import tight_box
from anylabel.backends.prompt import MaskCandidate

#: bytes the generators' full-resolution float32 candidate masks of one batch may take
BATCH_BUDGET = 512 << 20


def bounded_options(options: Dict[str, Any], hw: Tuple[int, ...], per_point: int = 3) -> Dict[str, Any]:
    """``options`` with ``points_per_batch`` lowered so that one batch's full-size float32 candidates
    (``per_point`` x H x W x 4 bytes per point) fit :data:`BATCH_BUDGET`; never raised, at least 1. Batching
    does not change the masks, only the peak memory and the number of decoder calls."""
    per = per_point * int(hw[0]) * int(hw[1]) * 4
    batch = max(1, min(int(options.get("points_per_batch", 64)), BATCH_BUDGET // max(1, per)))
    return {**options, "points_per_batch": batch}


def sam_everything(model: Any, image: np.ndarray, options: Dict[str, Any],
                   features: Any = None, progress: Optional[Progress] = None, package: str = "segment_anything",
                   predictor_state: Optional[Dict[str, Any]] = None) -> List[MaskCandidate]:
    """SamAutomaticMaskGenerator(model, **options) on ``image`` (HxWx3 uint8 RGB), largest mask first.

    ``features``: the image's 1x256x64x64 SAM embedding (tensor or array, e.g. from the ONNX encoder), or None
    to let the generator encode the image. ``progress``: see :func:`_batches_reported`. ``package``: whose
    generator (segment-anything's layout: ``mobile_sam``, ``segment_anything_hq``); ``predictor_state``: more
    attributes its predictor's ``set_image`` sets (SAM-HQ: ``interm_features``).
    """
    import importlib

    import torch

    SamAutomaticMaskGenerator = importlib.import_module(package).SamAutomaticMaskGenerator

    def install(p: Any, hw: Tuple[int, int]) -> None:  # what SamPredictor.set_torch_image records
        p.reset_image()
        p.original_size = hw
        p.input_size = p.transform.get_preprocess_shape(hw[0], hw[1], p.transform.target_length)
        p.features = torch.as_tensor(features).to(p.device)
        for name, value in (predictor_state or {}).items():
            setattr(p, name, value)
        p.is_image_set = True

    generator = SamAutomaticMaskGenerator(model, **bounded_options(options, image.shape[:2]))
    return _generate(generator, image, install if features is not None else None, progress)


def sam2_everything(model: Any, image: np.ndarray, options: Dict[str, Any],
                    features: Optional[Dict[str, Any]] = None,
                    progress: Optional[Progress] = None) -> List[MaskCandidate]:
    """SAM2AutomaticMaskGenerator(model, **options) on ``image``, largest mask first.

    ``features``: the dict SAM2ImagePredictor.set_image computes (``image_embed``, ``high_res_feats``) for this
    image, or None to let the generator encode the image. ``progress``: see :func:`_batches_reported`.
    """
    from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator

    def install(p: Any, hw: Tuple[int, int]) -> None:  # what SAM2ImagePredictor.set_image records
        p.reset_predictor()
        p._orig_hw = [hw]
        p._features = features
        p._is_image_set = True

    generator = SAM2AutomaticMaskGenerator(model, **bounded_options(options, image.shape[:2]))
    return _generate(generator, image, install if features is not None else None, progress)


def _generate(generator: Any, image: np.ndarray, install: Optional[Callable[[Any, Tuple[int, int]], None]],
              progress: Optional[Progress]) -> List[MaskCandidate]:
    """Run an upstream generator on ``image``: the whole-image embedding from ``install`` (None: encoded by
    the generator), progress and cancel per point batch; candidates largest first."""
    import torch

    if install is not None:
        _reuse_embedding(generator.predictor, image.shape[:2], install)
    _batches_reported(generator, progress)
    with torch.inference_mode():
        records = generator.generate(image)
    report(progress, *generator._anylabel_batches)
    return records_to_candidates(records)


def _batches_reported(generator: Any, progress: Optional[Progress]) -> None:
    """Report ``progress(batches done, batches in all)`` before each point batch of the generator, which
    stops with CancelledError when ``progress`` answers False: a run of tens of seconds on a CPU can be
    cancelled between two batches. The total counts the whole-image crop's batches (upstream's default,
    ``crop_n_layers`` 0); with more crop layers it is 0 (unknown)."""
    grid = len(generator.point_grids[0])
    per_crop = -(-grid // max(1, int(generator.points_per_batch)))
    total = per_crop if int(generator.crop_n_layers) == 0 else 0
    generator._anylabel_batches = (0, total)
    process = generator._process_batch  # upstream's per-batch step (both generators have it)

    def counted(*args: Any, **kwargs: Any) -> Any:
        done = generator._anylabel_batches[0]
        report(progress, done, total)
        out = process(*args, **kwargs)
        generator._anylabel_batches = (done + 1, total)
        return out

    generator._process_batch = counted  # an instance attribute: this generator only


def _reuse_embedding(predictor: Any, hw: Tuple[int, ...], install: Callable[[Any, Tuple[int, int]], None]) -> None:
    """Make ``predictor.set_image(img)`` call ``install`` instead of encoding when ``img`` is the whole image."""
    encode = predictor.set_image
    whole = (int(hw[0]), int(hw[1]))

    def set_image(image: np.ndarray, *args: Any, **kwargs: Any) -> None:
        if tuple(np.shape(image)[:2]) == whole:
            install(predictor, whole)
        else:
            encode(image, *args, **kwargs)

    predictor.set_image = set_image  # an instance attribute: the generator's own predictor only


def records_to_candidates(records: List[Dict[str, Any]]) -> List[MaskCandidate]:
    """Automatic-mask-generator records (segment-anything / sam2 format) to candidates, largest first."""
    out = []
    for r in sorted(records, key=lambda r: -int(r["area"])):
        mask = np.asarray(r["segmentation"], dtype=bool)
        # the records' bbox is xywh with an inclusive corner; recompute the exclusive box from the pixels
        out.append(MaskCandidate(mask=mask, score=float(r["predicted_iou"]), logits=None, box=tight_box(mask)))
    return out
