"""Backward and both-ways propagation and range control (TrackingSession.run with a Propagation): frames and
objects covered, and masks equal to raw sam2's propagate_in_video(reverse=...) with bounded memory."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import pytest
import torch

from anylabel.backends.prompt import Prompt
from anylabel.errors import TrackingError
from anylabel.imaging.video import open_frames
from anylabel.tracking import Propagation, TrackingSession

P1 = Prompt.from_clicks([(210, 350)])
P2 = Prompt.from_clicks(box=(420, 100, 700, 420))


def _session(predictor, frames_dir: Path, **kwargs) -> TrackingSession:
    return TrackingSession(predictor, open_frames(frames_dir), precision="float32", **kwargs)


def _raw(predictor, frames_dir: Path, frame: int, passes: List[bool]) -> List[Tuple[int, np.ndarray]]:
    """sam2's own predictor: objects 1 and 2 prompted on ``frame``, then propagate_in_video once per entry
    of ``passes`` (its ``reverse``), as sam2's demo does both ways."""
    state = predictor.init_state(str(frames_dir))
    with torch.inference_mode():
        predictor.add_new_points_or_box(state, frame, 1, points=P1.points.astype(np.float32), labels=P1.labels)
        predictor.add_new_points_or_box(state, frame, 2, box=P2.box)
        return [(f, (m[:, 0] > 0).numpy()) for reverse in passes
                for f, _, m in predictor.propagate_in_video(state, reverse=reverse)]


def _small_window(predictor) -> None:
    # 3 memory frames and 4 object pointers: smaller than the 8 frames, so memory is really released
    predictor.num_maskmem, predictor.max_obj_ptrs_in_encoder = 4, 5


def test_backward_from_a_late_prompt_equals_raw_sam2_reverse_with_bounded_memory(predictor, frames_dir: Path) -> None:
    _small_window(predictor)
    raw = dict(_raw(predictor, frames_dir, 7, [True]))
    session = _session(predictor, frames_dir)
    session.add_prompt(7, 1, P1)
    session.add_prompt(7, 2, P2)
    assert session.frames_to_track(Propagation("backward")) == 8
    got = list(session.run(Propagation("backward")))
    assert [r.frame_index for r in got] == list(range(7, -1, -1))
    for r in got:
        assert r.obj_ids == [1, 2]
        for i, obj in enumerate((1, 2)):
            assert np.array_equal(r.masks[obj], raw[r.frame_index][i]), (r.frame_index, obj)
    assert session.stats()["non_cond_frame_outputs"] <= 2 * 4 and session.stats()["released"] > 0


def test_both_ways_equals_raw_sam2_forward_then_reverse_and_keeps_what_the_reverse_pass_reads(
        predictor, frames_dir: Path) -> None:
    _small_window(predictor)
    raw = _raw(predictor, frames_dir, 2, [False, True])
    session = _session(predictor, frames_dir)
    session.add_prompt(2, 1, P1)
    session.add_prompt(2, 2, P2)
    got = list(session.run(Propagation("both")))
    # forward 2..7, then backward from the frame before the prompt (raw sam2 yields frame 2 twice); the
    # forward pass alone would have released frame 3, which the backward pass reads
    assert [r.frame_index for r in got] == [2, 3, 4, 5, 6, 7, 1, 0]
    raw_by_frame: Dict[int, np.ndarray] = {}
    for f, m in raw:
        raw_by_frame.setdefault(f, m)
        assert np.array_equal(raw_by_frame[f], m)
    for r in got:
        for i, obj in enumerate((1, 2)):
            assert np.array_equal(r.masks[obj], raw_by_frame[r.frame_index][i]), (r.frame_index, obj)
    assert session.stats()["released"] > 0
    assert session.stats()["non_cond_frame_outputs"] <= 2 * 4


def test_both_ways_without_the_kept_outputs_would_differ(predictor, frames_dir: Path) -> None:
    """The reverse pass really reads the forward pass's outputs beyond the prompt: released, they change the
    masks (so the test above checks something)."""
    _small_window(predictor)
    raw = dict(_raw(predictor, frames_dir, 2, [False, True])[6:])  # the reverse pass's frames 2, 1, 0
    session = _session(predictor, frames_dir)
    session.add_prompt(2, 1, P1)
    session.add_prompt(2, 2, P2)
    list(session.propagate(reverse=False))  # releases frame 3 (frame 8 would not read it)
    assert 3 not in session.state["output_dict_per_obj"][0]["non_cond_frame_outputs"]
    backward = list(session.propagate(start=1, end=0, reverse=True, obj_ids=[1, 2]))
    assert any(not np.array_equal(r.masks[o], raw[r.frame_index][i])
               for r in backward for i, o in enumerate((1, 2)))


def test_object_first_prompted_late_gets_every_frame_before_it_both_ways(predictor, frames_dir: Path) -> None:
    session = _session(predictor, frames_dir)
    session.add_prompt(0, 1, P1, label="child")
    session.add_prompt(5, 2, P2, label="bed")
    order = [(r.frame_index, tuple(r.obj_ids)) for r in session.run(Propagation("both"))]
    frames_of = {obj: sorted({f for f, ids in order if obj in ids}) for obj in (1, 2)}
    assert frames_of == {1: list(range(8)), 2: list(range(8))}
    # object 1 is not tracked again backwards over frames it was tracked forward (only its prompt frame 0)
    assert [f for f, ids in order[8:] if 1 in ids] == [0]
    assert [f for f, _ in order] == list(range(8)) + [4, 3, 2, 1, 0]


def test_range_n_frames_to_a_chosen_frame_and_to_the_end(predictor, frames_dir: Path) -> None:
    session = _session(predictor, frames_dir)
    session.add_prompt(3, 1, P1)
    assert [r.frame_index for r in session.run(Propagation(count=2))] == [3, 4, 5]
    session.pending[1] = {3}
    assert [r.frame_index for r in session.run(Propagation(last=4))] == [3, 4]
    session.pending[1] = {3}
    assert [r.frame_index for r in session.run(Propagation("backward", count=1))] == [3, 2]
    session.pending[1] = {3}
    assert [r.frame_index for r in session.run(Propagation("both", count=2, first=2))] == [3, 4, 5, 2]
    session.pending[1] = {3}
    assert [r.frame_index for r in session.run(Propagation())] == [3, 4, 5, 6, 7]
    assert session.frames_to_track(Propagation("both")) == 8


def test_cancel_stops_both_passes(predictor, frames_dir: Path) -> None:
    session = _session(predictor, frames_dir)
    session.add_prompt(4, 1, P1)
    got = []
    for r in session.run(Propagation("both")):
        got.append(r.frame_index)
        if r.frame_index == 5:
            session.cancel()
    assert got == [4, 5] and session.last_run_cancelled


def test_bad_propagation_requests_are_typed_errors(predictor, frames_dir: Path) -> None:
    with pytest.raises(TrackingError, match="unknown direction 'sideways'"):
        Propagation("sideways")
    with pytest.raises(TrackingError, match="0 or more"):
        Propagation(count=-1)
    session = _session(predictor, frames_dir)
    with pytest.raises(TrackingError, match="prompt an object first"):
        session.frames_to_track(Propagation())
    session.add_prompt(0, 1, P1)
    with pytest.raises(TrackingError, match="last frame 9 out of range"):
        list(session.run(Propagation(last=9)))
