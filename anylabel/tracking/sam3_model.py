"""SAM 3's video tracker for a tracking session: built by sam3 itself, weights from the official ``sam3.pt``.

SAM 3's video model (``build_sam3_video_model``) is a detector (text / exemplar prompts, run on every frame)
plus a tracker. Clicks and boxes on one object are the tracker's job: ``Sam3TrackerPredictor``
(``sam3.model.sam3_tracking_predictor``), SAM2's memory-bank design on SAM 3's vision backbone, with
``init_state`` / ``add_new_points_or_box`` / ``propagate_in_video_preflight`` / ``propagate_in_video``. That
is what Ctrl+M and ``anylabel track --model sam3`` use, built by sam3's own ``build_tracker(...,
with_backbone=True)`` (the tracker with its own vision backbone, as the detector's is shared in the video
model), and loaded from ``sam3.pt``: the ``tracker.*`` weights, and the vision backbone from
``detector.backbone.vision_backbone.*``: 1.9 of the file's 3.45 GB (the text encoder and detector are not loaded).

``settings.memory_selection`` (default true, as ``build_sam3_video_model``'s
``apply_temporal_disambiguation``): the tracker's memory keeps only frames where the object was seen
confidently (SAM2Long's frame filter, ``Sam3TrackerBase.frame_filter``); false = SAM2's fixed window.

Frames are prepared as SAM 3's video model prepares them (``sam3.model.io_utils``: a PIL resize to 1008 x
1008, ``(x - 0.5) / 0.5``), not with the ImageNet statistics that ``Sam3TrackerPredictor.init_state``'s own
loader would use: SAM 3's backbone was trained on the former, and its video model feeds them to the tracker.
"""
from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any, Dict, Optional, Set

from anylabel.errors import ModelError

#: SAM 3's input normalisation (``Sam3VideoInference(image_mean=..., image_std=...)``, ``Sam3Processor``)
SAM3_MEAN = (0.5, 0.5, 0.5)
SAM3_STD = (0.5, 0.5, 0.5)

_BACKBONE = "detector.backbone.vision_backbone."


def tracker_weights(checkpoint: Path) -> Dict[str, Any]:
    """The tracker's ``state_dict`` out of ``sam3.pt`` (read with ``mmap``: the other 1.5 GB are never read)."""
    import torch

    try:
        ckpt = torch.load(str(checkpoint), map_location="cpu", weights_only=True, mmap=True)
    except (RuntimeError, OSError, EOFError, ValueError) as e:
        raise ModelError(f"cannot read this SAM 3 checkpoint: {str(e).splitlines()[0][:200]}", checkpoint) from e
    if isinstance(ckpt, dict) and isinstance(ckpt.get("model"), dict):
        ckpt = ckpt["model"]
    if not isinstance(ckpt, dict):
        raise ModelError("this file is not a SAM 3 checkpoint (sam3.pt): no state_dict in it", checkpoint)
    out = {k[len("tracker."):]: v for k, v in ckpt.items() if k.startswith("tracker.")}
    out.update({"backbone.vision_backbone." + k[len(_BACKBONE):]: v for k, v in ckpt.items()
                if k.startswith(_BACKBONE)})
    return out


def build_sam3_tracker(checkpoint: Optional[Path], device: str = "cpu", memory_selection: bool = True) -> Any:
    """sam3's ``Sam3TrackerPredictor`` with its vision backbone, in eval mode on ``device``, set up for tracking.

    Args:
        checkpoint: ``sam3.pt`` (the official layout), or None for random weights (tests of the architecture).
        device: a torch device; sam3's hard-coded ``"cuda"`` is redirected (``anylabel.backends.sam3_device``).
        memory_selection: the tracker's frame filter (see the module).

    Raises:
        ModelError: sam3 is not installed, or the file is not ``sam3.pt`` (every tracker weight must be in it:
            sam3's own loaders would keep random weights for what is missing).
    """
    try:
        from sam3.model_builder import build_tracker
    except ImportError as e:
        raise ModelError(f"SAM 3 needs Meta's sam3 package (pip install \"anylabel[sam3]\"): {e}") from e
    from anylabel.backends.sam3_device import on_device

    weights = None
    if checkpoint is not None:  # read first: a wrong file is refused before 1.8 GB of model are built
        weights = tracker_weights(Path(checkpoint))
        if not any(k.startswith("backbone.") for k in weights) or all(k.startswith("backbone.") for k in weights):
            raise ModelError("this file is not a SAM 3 checkpoint (sam3.pt): it has no tracker.* and "
                             "detector.backbone.vision_backbone.* weights", checkpoint)
    with on_device("cpu"), contextlib.redirect_stdout(io.StringIO()):
        model = build_tracker(apply_temporal_disambiguation=bool(memory_selection), with_backbone=True)
    if weights is not None:
        expected = set(model.state_dict())
        missing = sorted(expected - set(weights))
        if missing:
            raise ModelError(f"this file is not a SAM 3 checkpoint (sam3.pt): {len(missing)} of the tracker's "
                             f"{len(expected)} weights are not in it (e.g. {missing[0]})", checkpoint)
        try:
            model.load_state_dict({k: weights[k] for k in expected}, strict=True)
        except RuntimeError as e:
            raise ModelError(f"cannot load SAM 3's tracker from this file: {str(e).splitlines()[0][:200]}",
                             checkpoint) from e
    return prepare_sam3_for_tracking(model, device)


def prepare_sam3_for_tracking(model: Any, device: str = "cpu") -> Any:
    """Eval mode on ``device``, corrections as conditioning frames (sam3's default, said again here)."""
    from anylabel.backends.sam3_device import on_device

    with on_device(device):
        model = model.to(device).eval()
    model.add_all_frames_to_correct_as_cond = True
    return model


def is_sam3_tracker(predictor: Any) -> bool:
    """True for sam3's ``Sam3TrackerPredictor`` (and subclasses), without importing sam3."""
    return any(c.__module__.startswith("sam3.") and c.__name__ == "Sam3TrackerPredictor"
               for c in type(predictor).__mro__)


def sam3_frames_read(model: Any, output_dict: Dict[str, Any], frame: int, reverse: bool, num_frames: int) -> Set[int]:
    """The non-conditioning frames whose outputs ``Sam3TrackerBase._prepare_memory_conditioned_features``
    reads from ``output_dict`` when it tracks ``frame``.

    With memory selection, what upstream's own ``frame_filter`` returns for that call (the latest
    ``max_obj_ptrs_in_encoder - 1`` frames where the object was seen, and the frame next to it); a later frame
    reads a subset of these plus the frames tracked since. Without it, SAM2's window: the memory bank
    (``num_maskmem - 1`` frames on the ``memory_temporal_stride_for_eval`` grid) and the object pointers of
    the ``max_obj_ptrs_in_encoder - 1`` nearest frames (SAM 3 always uses object pointers).
    """
    from anylabel.tracking.memory import frames_read

    r = int(model.memory_temporal_stride_for_eval)
    if model.use_memory_selection:
        needed = set(model.frame_filter(output_dict, reverse, frame, num_frames, r))
    else:
        needed = frames_read(model, frame, reverse, num_frames)
    return {t for t in needed if 0 <= t < num_frames}


def first_seen_after(model: Any, output_dict: Dict[str, Any], frame: int, reverse: bool) -> Set[int]:
    """The frames past ``frame`` (in the direction of ``reverse``) that a pass starting *towards* ``frame``
    from the other side reads first: with memory selection, the nearest ``max_obj_ptrs_in_encoder - 1``
    tracked frames where the object was seen (``eff_iou_score`` above ``mf_threshold``) and the frame next to
    ``frame``; without it, the memory and pointer window next to ``frame``."""
    num = int(model.max_obj_ptrs_in_encoder)
    step = -1 if reverse else 1
    if not model.use_memory_selection:
        reach = int(model.num_maskmem) * int(model.memory_temporal_stride_for_eval) + num + 2
        return {frame + step * k for k in range(1, reach + 1)}
    non_cond = output_dict["non_cond_frame_outputs"]
    seen = sorted((t for t in non_cond if (t < frame if reverse else t > frame)), reverse=reverse)
    keep = [t for t in seen if "eff_iou_score" in non_cond[t]
            and float(non_cond[t]["eff_iou_score"]) > float(model.mf_threshold)][: num - 1]
    return set(keep) | {frame + step}
