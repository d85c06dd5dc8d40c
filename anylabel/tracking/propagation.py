"""What one propagation covers: direction (forward, backward, both ways) and range (N frames, up to a chosen
frame, or to the end), turned into the passes a :class:`~anylabel.tracking.session.TrackingSession` runs.

The rules, as a person annotating a video expects them:

* **forward** tracks each object from its (pending, else first) prompted frame towards the end;
* **backward** tracks each object from its (pending, else latest) prompted frame towards frame 0, as sam2's
  ``propagate_in_video(reverse=True)``;
* **both** is a forward pass, then a backward pass from each object's *first* prompt: an object first prompted
  on frame 500 gets frames 0..499 too, and the frames between its prompts are not tracked twice (nor the
  prompted frame itself: the backward pass starts on the frame before it). This is the
  order of sam2's own demo (forward, then reverse from the same frame), and the masks equal raw sam2's for it:
  the outputs the backward pass reads from the forward one (the frames just after the prompt) are kept until
  it has read them (:func:`second_pass_reads`), however much memory the forward pass releases elsewhere.
* **range**: ``count`` frames past the starting frame in each direction (sam2's ``max_frame_num_to_track``;
  the starting frame itself is always included), never beyond ``last`` (forward) or below ``first``
  (backward); the default is to the video's end (and to frame 0 backwards).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Set

from anylabel.errors import TrackingError
from anylabel.tracking.memory import frames_read

DIRECTIONS = ("forward", "backward", "both")


@dataclass(frozen=True)
class Propagation:
    """A propagation request (all frame numbers are video frame indices, inclusive).

    Attributes:
        direction: ``forward``, ``backward`` or ``both``.
        count: frames to track past the starting frame in each direction (None: up to ``first`` / ``last``).
        first: the lowest frame a backward pass may reach (None: 0).
        last: the highest frame a forward pass may reach (None: the last frame).
        start: the frame to start from (None: the objects' pending, else prompted, frames; see the module).
    """

    direction: str = "forward"
    count: Optional[int] = None
    first: Optional[int] = None
    last: Optional[int] = None
    start: Optional[int] = None

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise TrackingError(f"unknown direction {self.direction!r} (expected one of {', '.join(DIRECTIONS)})")
        if self.count is not None and int(self.count) < 0:
            raise TrackingError(f"the frame count must be 0 or more, got {self.count}")


@dataclass(frozen=True)
class Pass:
    """One run of the propagation loop: frames ``start`` → ``end`` (inclusive) in one direction.

    ``from_first_prompt``: in a backward pass, an object is tracked only on frames up to its first prompt
    (both-ways mode), instead of up to its latest.
    """

    start: int
    end: int
    reverse: bool
    from_first_prompt: bool = False

    @property
    def frames(self) -> range:
        if self.reverse:
            return range(self.start, self.end - 1, -1) if self.end <= self.start else range(0)
        return range(self.start, self.end + 1) if self.end >= self.start else range(0)


def plan_passes(plan: Propagation, num_frames: int, pending: List[int], first_prompts: List[int],
                prompts: List[int]) -> List[Pass]:
    """The passes of ``plan`` for a video of ``num_frames`` frames.

    Args:
        pending: frames with prompts not yet propagated through, of the objects to track.
        first_prompts: the first prompted frame of each object to track.
        prompts: every prompted frame of the objects to track.
    """
    lo = 0 if plan.first is None else _check(plan.first, num_frames, "first")
    hi = num_frames - 1 if plan.last is None else _check(plan.last, num_frames, "last")
    if lo > hi:
        raise TrackingError(f"the range {lo}..{hi} is empty")
    count = None if plan.count is None else int(plan.count)
    passes: List[Pass] = []
    if plan.direction in ("forward", "both"):
        s = plan.start if plan.start is not None else min(pending or prompts)
        s = _check(s, num_frames, "start")
        e = hi if count is None else min(hi, s + count)
        passes.append(Pass(max(s, lo), e, False))
    if plan.direction == "backward":
        s = plan.start if plan.start is not None else max(pending or prompts)
        s = _check(s, num_frames, "start")
        e = lo if count is None else max(lo, s - count)
        passes.append(Pass(min(s, hi), e, True))
    if plan.direction == "both":
        s = plan.start if plan.start is not None else max(first_prompts)
        s = _check(s, num_frames, "start")
        e = lo if count is None else max(lo, s - count)
        # the forward pass yielded frame s already: backwards from the frame before it
        s = min(s, hi) - 1 if passes and s in passes[0].frames else min(s, hi)
        passes.append(Pass(s, e, True, from_first_prompt=True))
    return [p for p in passes if len(p.frames)]


def second_pass_reads(model: Any, second: Pass, num_frames: int) -> Set[int]:
    """The frames on the far side of ``second.start`` whose outputs the pass ``second`` reads from the pass
    before it (sam2's memory looks both ways once two passes met at a prompt). Only the first few frames of
    a pass reach across: at most the memory bank's and the object pointers' span."""
    reach = int(model.num_maskmem) * int(getattr(model, "memory_temporal_stride_for_eval", 1)) + int(
        getattr(model, "max_obj_ptrs_in_encoder", 0)) + 2
    out: Set[int] = set()
    for t in list(second.frames)[:reach]:
        out |= frames_read(model, t, second.reverse, num_frames)
    return {t for t in out if (t > second.start if second.reverse else t < second.start)}


def _check(frame: Any, num_frames: int, what: str) -> int:
    f = int(frame)
    if not 0 <= f < num_frames:
        raise TrackingError(f"{what} frame {frame} out of range (the video has {num_frames} frames)")
    return f
