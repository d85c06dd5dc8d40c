"""Which per-frame outputs sam2's memory reads, and releasing the rest.

sam2's video predictor keeps, per object, the output of every frame it ever tracked
(``output_dict_per_obj[obj]["non_cond_frame_outputs"][t]``: the memory features, about 0.5 MB at
1024², the low-resolution mask logits, 0.25 MB, and the object pointer), for the whole session. Yet
tracking frame ``t`` reads only

* the *conditioning* frames (those with prompts; never released here, they are the user's input),
* the memory bank: the ``num_maskmem - 1`` (6) previous non-conditioning frames, every
  ``memory_temporal_stride_for_eval``-th one (``sam2_base._prepare_memory_conditioned_features``),
* the object pointers of the ``max_obj_ptrs_in_encoder - 1`` (15) previous frames.

:func:`frames_read` mirrors that index arithmetic; :func:`release_outside` drops every other
non-conditioning output. Tracking results are unchanged (the dropped entries are never read again while
the propagation moves on), and memory stays flat over any number of frames. What it costs is written in
:data:`COSTS`.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys
from typing import Any, Dict, Iterable, Optional, Set

COSTS = """\
Releasing per-frame outputs outside the memory window costs nothing while a propagation moves on, and
these things afterwards:
* re-propagating over frames already released (a reverse pass over frames tracked forward, or running
  a propagation again from an earlier frame) recomputes them from the conditioning frames, with no old
  memory, so the masks can differ slightly from the first pass;
* a correction click on a frame whose neighbours were released is decoded with the conditioning
  frames' memory only (sam2 itself clears that neighbourhood when clear_non_cond_mem_around_input is
  set), and the click cannot refine the old low-resolution logits unless the caller passes the frame's
  current mask (TrackingSession.add_prompt(previous_mask=...));
* masks of earlier frames are not kept by the tracker: they live in the annotation files written as the
  propagation goes (the GUI and the CLI write every frame's shapes as it arrives).
"""


def frames_read(model: Any, frame: int, reverse: bool, num_frames: int) -> Set[int]:
    """The non-conditioning frames whose outputs sam2 reads when it tracks ``frame``.

    Mirrors ``SAM2Base._prepare_memory_conditioned_features``: the memory bank (``num_maskmem - 1``
    frames, the nearest one always, the others on a ``memory_temporal_stride_for_eval`` grid) and the
    object pointers of up to ``max_obj_ptrs_in_encoder - 1`` frames before ``frame`` (after it when
    tracking in reverse).

    Args:
        model: a ``SAM2VideoPredictor`` (or ``SAM2Base``) instance.
        frame: the frame about to be tracked.
        reverse: the tracking direction.
        num_frames: the video's length (pointers are clipped to it, as sam2 does).
    """
    r = int(getattr(model, "memory_temporal_stride_for_eval", 1))
    needed: Set[int] = set()
    for t_pos in range(1, int(model.num_maskmem)):
        t_rel = model.num_maskmem - t_pos
        if t_rel == 1:
            prev = frame + 1 if reverse else frame - 1
        elif not reverse:
            prev = ((frame - 2) // r) * r - (t_rel - 2) * r
        else:
            prev = -(-(frame + 2) // r) * r + (t_rel - 2) * r
        needed.add(prev)
    if getattr(model, "use_obj_ptrs_in_encoder", True):  # SAM 3's tracker has no switch: always on
        max_ptrs = min(num_frames, int(model.max_obj_ptrs_in_encoder))
        for t_diff in range(1, max_ptrs):
            needed.add(frame + t_diff if reverse else frame - t_diff)
    return {t for t in needed if 0 <= t < num_frames}


def release_outside(
    model: Any, inference_state: Dict[str, Any], next_frame: int, reverse: bool, obj_indices: Iterable[int],
    keep: Optional[Set[int]] = None,
) -> int:
    """Drop the non-conditioning outputs of ``obj_indices`` that tracking ``next_frame`` does not read.

    (sam2 already keeps the image features of one frame only, so they need no release.) ``keep``: frames
    never released here (those a following pass in the other direction will read).

    Returns:
        the number of per-object frame outputs released.
    """
    keep = frames_read(model, next_frame, reverse, inference_state["num_frames"]) | set(keep or ())
    released = 0
    for obj_idx in obj_indices:
        non_cond = inference_state["output_dict_per_obj"][obj_idx]["non_cond_frame_outputs"]
        for t in [t for t in non_cond if t not in keep]:
            del non_cond[t]
            released += 1
    return released


_LIBC: Optional[Any] = None


def trim_heap() -> bool:
    """Return freed heap memory to the operating system (glibc ``malloc_trim``); False where unavailable.

    Why: released outputs are freed, but glibc keeps freed blocks in its heap when they sit below
    live ones, so the process's RSS creeps up by a fraction of a frame's outputs per frame (measured:
    +0.5 MB/frame at 1024² without trimming, flat with it) although nothing is held. Cost: well under a
    millisecond per call.
    """
    global _LIBC
    if not sys.platform.startswith("linux"):
        return False
    if _LIBC is None:
        try:
            _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _LIBC.malloc_trim  # noqa: B018 - musl and other libcs do not have it
        except (OSError, AttributeError):
            _LIBC = False
    if not _LIBC:
        return False
    return bool(_LIBC.malloc_trim(0))


def stored_outputs(inference_state: Dict[str, Any]) -> Dict[str, int]:
    """Counts of what the inference state holds: per-object non-conditioning and conditioning frame
    outputs, cached frame features, and the frames with prompts."""
    per_obj = inference_state["output_dict_per_obj"].values()
    return {
        "non_cond_frame_outputs": sum(len(d["non_cond_frame_outputs"]) for d in per_obj),
        "cond_frame_outputs": sum(len(d["cond_frame_outputs"]) for d in per_obj),
        "cached_features": len(inference_state["cached_features"]),
        "prompted_frames": sum(len(v) for v in inference_state["point_inputs_per_obj"].values())
        + sum(len(v) for v in inference_state["mask_inputs_per_obj"].values()),
    }
