"""TrackingSession on a small random-weight SAM2 and the first frames of sam2's bedroom video.

Random weights say nothing about mask quality; these tests check the tracking machinery: which frames and
objects are tracked, that results equal sam2's own predictor where they should, what is kept and released.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Dict

import numpy as np
import pytest
import torch

from anylabel.backends.prompt import Prompt
from anylabel.errors import TrackingError
from anylabel.imaging.video import open_frames
from anylabel.tracking import FrameResult, TrackingSession
from anylabel.tracking.output import FrameAnnotations

P1 = Prompt.from_clicks([(210, 350)])                      # object 1: a click
P2 = Prompt.from_clicks(box=(420, 100, 700, 420))          # object 2: a box
P3 = Prompt.from_clicks([(800, 300)], [(850, 420)])        # object 3: a positive and a negative click


def _session(predictor, frames_dir: Path) -> TrackingSession:
    return TrackingSession(predictor, open_frames(frames_dir), precision="float32")  # compared with raw sam2


def _raw_masks(predictor, frames_dir: Path, **kwargs) -> Dict[int, np.ndarray]:
    """sam2's own init_state + propagate_in_video with the same prompts (objects 1 and 2 on frame 0)."""
    state = predictor.init_state(str(frames_dir))
    with torch.inference_mode():
        predictor.add_new_points_or_box(state, 0, 1, points=P1.points.astype(np.float32), labels=P1.labels)
        predictor.add_new_points_or_box(state, 0, 2, box=P2.box)
    return {f: (m[:, 0] > 0).numpy() for f, _, m in predictor.propagate_in_video(state, **kwargs)}


def _shapes_by_track(ann) -> Dict[int, list]:
    out: Dict[int, list] = {}
    for s in ann.shapes:
        out.setdefault(s.track_id, []).append((s.label, s.points))
    return out


def test_inference_state_has_the_keys_of_init_state(predictor, frames_dir: Path) -> None:
    session = _session(predictor, frames_dir)
    reference = predictor.init_state(str(frames_dir))
    assert set(session.state) == set(reference)
    assert session.state["num_frames"] == reference["num_frames"] == 8
    assert (session.state["video_height"], session.state["video_width"]) == (540, 960)
    assert session.frames.decoded == 0, "no frame is decoded before it is needed"


def test_two_objects_every_frame_both_ids_and_equal_to_raw_sam2(predictor, frames_dir: Path, tmp_path: Path) -> None:
    session = _session(predictor, frames_dir)
    m1 = session.add_prompt(0, 1, P1, label="child")
    m2 = session.add_prompt(0, 2, P2, label="bed")
    assert m1.shape == m2.shape == (540, 960) and m1.dtype == bool and m1.any() and m2.any()
    assert session.frames.decoded == 1 and session.images.prepared == 1  # clicks on frame 0 decode frame 0 only
    writer = FrameAnnotations(session.frames, tmp_path)
    results = []
    for r in session.propagate():
        results.append(r)
        writer.write(r)
    raw = _raw_masks(predictor, frames_dir)
    assert [r.frame_index for r in results] == list(range(8))
    for r in results:
        assert r.obj_ids == [1, 2] and r.labels == {1: "child", 2: "bed"}
        for i, obj in enumerate((1, 2)):
            assert np.array_equal(r.masks[obj], raw[r.frame_index][i]), (r.frame_index, obj)
        ann = writer.load(r.frame_index)
        assert ann.frame_index == r.frame_index
        tracks = _shapes_by_track(ann)
        assert set(tracks) == {1, 2}, f"frame {r.frame_index} lacks a track id"
        assert {lbl for lbl, _ in tracks[1]} == {"child"} and {lbl for lbl, _ in tracks[2]} == {"bed"}
    assert np.array_equal(results[0].masks[1], m1)  # frame 0 is the prompt's own answer
    assert session.pending == {1: set(), 2: set()}


def test_correction_becomes_conditioning_and_repropagates_from_k(predictor, frames_dir: Path, tmp_path: Path) -> None:
    session = _session(predictor, frames_dir)
    session.add_prompt(0, 1, P1)
    session.add_prompt(0, 2, P2)
    writer = FrameAnnotations(session.frames, tmp_path)
    for r in session.propagate():
        writer.write(r)
    before = {f: _shapes_by_track(writer.load(f)) for f in range(8)}
    k = 4
    fix = Prompt.from_clicks([(210, 350), (300, 300)], [(260, 420)])
    corrected = session.add_prompt(k, 1, fix)
    idx = session.state["obj_id_to_idx"][1]
    assert session.pending[1] == {k}
    assert k in session.state["frames_tracked_per_obj"][idx], "frame k was tracked: this is a correction"
    results = list(session.propagate())  # default: from the corrected frame, only the corrected object
    assert k in session.state["output_dict_per_obj"][idx]["cond_frame_outputs"], "frame k is conditioning"
    assert [r.frame_index for r in results] == list(range(k, 8))
    assert all(r.obj_ids == [1] for r in results)
    assert np.array_equal(results[0].masks[1], corrected)
    # sam2's own propagate_in_video from k (which re-tracks every object) gives object 1 the same masks
    with torch.inference_mode():
        raw = {f: (m[0, 0] > 0).numpy() for f, ids, m in
               predictor.propagate_in_video(session.state, start_frame_idx=k) if ids[0] == 1}
    for r in results:
        assert np.array_equal(r.masks[1], raw[r.frame_index]), r.frame_index
    for r in results:
        writer.write(r)
    for f in range(8):
        after = _shapes_by_track(writer.load(f))
        assert after[2] == before[f][2], "object 2 was not touched"
        if f < k:
            assert after[1] == before[f][1], "frames before the correction keep object 1"


def test_new_object_mid_video_leaves_the_others_intact(predictor, frames_dir: Path, tmp_path: Path) -> None:
    session = _session(predictor, frames_dir)
    session.add_prompt(0, 1, P1, label="child")
    session.add_prompt(0, 2, P2, label="bed")
    writer = FrameAnnotations(session.frames, tmp_path)
    first = {}
    for r in session.propagate():
        writer.write(r)
        first[r.frame_index] = r
    before = {f: _shapes_by_track(writer.load(f)) for f in range(8)}
    m3 = session.add_prompt(3, 3, P3, label="lamp")
    assert m3.any() and session.obj_ids == [1, 2, 3]
    results = list(session.propagate())
    assert [r.frame_index for r in results] == list(range(3, 8)) and all(r.obj_ids == [3] for r in results)
    for r in results:
        writer.write(r)
    for f in range(8):
        after = _shapes_by_track(writer.load(f))
        assert after[1] == before[f][1] and after[2] == before[f][2]
        assert (3 in after) == (f >= 3), f"object 3 exists from frame 3 on (frame {f})"
    # objects 1 and 2 keep their memory: asking for all objects again from frame 0 reproduces them
    again = {r.frame_index: r for r in session.propagate(start=0, end=2, obj_ids=[1, 2])}
    for f in range(3):
        for obj in (1, 2):
            assert np.array_equal(again[f].masks[obj], first[f].masks[obj])


def test_reset_clears_tracker_keeps_written_annotations(predictor, frames_dir: Path, tmp_path: Path) -> None:
    session = _session(predictor, frames_dir)
    session.add_prompt(0, 1, P1, label="child")
    writer = FrameAnnotations(session.frames, tmp_path)
    for r in session.propagate(end=3):
        writer.write(r)
    files = {p.name: p.read_bytes() for p in tmp_path.glob("*.json")}
    assert len(files) == 4 and session.stats()["non_cond_frame_outputs"] == 3
    session.reset()
    assert session.obj_ids == [] and session.labels == {} and session.pending == {}
    stats = session.stats()
    assert stats["non_cond_frame_outputs"] == stats["cond_frame_outputs"] == stats["prompted_frames"] == 0
    with pytest.raises(TrackingError, match="prompt an object first"):
        next(session.propagate())
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.json")} == files
    # the tracker starts afresh: a new object 1 on frame 2 is an initial conditioning frame again
    session.add_prompt(2, 1, P2, label="bed")
    assert [r.frame_index for r in session.propagate(end=4)] == [2, 3, 4]


def test_cancel_stops_within_one_frame(predictor, frames_dir: Path) -> None:
    session = _session(predictor, frames_dir)
    session.add_prompt(0, 1, P1)
    got = []
    for r in session.propagate():
        got.append(r.frame_index)
        if r.frame_index == 2:
            session.cancel()
    assert got == [0, 1, 2] and session.last_run_cancelled

    # from another thread, while a frame is being computed: at most the frame in flight completes
    seen, cancelled_at = [], []
    first_frame = threading.Event()

    def consume() -> None:
        for r in session.propagate(start=0):
            seen.append(r.frame_index)
            first_frame.set()

    worker = threading.Thread(target=consume)
    worker.start()
    assert first_frame.wait(60)
    cancelled_at.append(len(seen))
    session.cancel()
    worker.join(60)
    assert not worker.is_alive()
    assert len(seen) <= cancelled_at[0] + 1 < 8 and session.last_run_cancelled
    # the session is usable afterwards
    assert len(list(session.propagate(start=3, end=4))) == 2 and not session.last_run_cancelled


def test_memory_outside_the_window_is_released_and_results_do_not_change(predictor, frames_dir: Path) -> None:
    # a window smaller than the 8 frames: 3 memory frames (num_maskmem 4) and 4 object pointers
    predictor.num_maskmem, predictor.max_obj_ptrs_in_encoder = 4, 5
    from anylabel.tracking.memory import frames_read

    raw = _raw_masks(predictor, frames_dir)
    session = _session(predictor, frames_dir)
    session.add_prompt(0, 1, P1)
    session.add_prompt(0, 2, P2)
    counts = []
    for r in session.propagate():
        for i, obj in enumerate((1, 2)):
            assert np.array_equal(r.masks[obj], raw[r.frame_index][i]), "releasing must not change results"
        keep = frames_read(predictor, r.frame_index + 1, False, 8)
        for obj_idx in (0, 1):
            held = set(session.state["output_dict_per_obj"][obj_idx]["non_cond_frame_outputs"])
            assert held <= keep, f"frame {r.frame_index}: outputs {held - keep} outside the window are held"
        counts.append(session.stats()["non_cond_frame_outputs"])
    # window after frame t: frames t-3..t (pointers), i.e. at most 4 per object; frame 0 is conditioning
    assert counts == [0, 2, 4, 6, 8, 8, 8, 8]
    assert session.stats()["released"] == 2 * 7 - 8
    assert session.stats()["cond_frame_outputs"] == 2 and session.stats()["cached_features"] == 1
    assert session.images.prepared == 8 and len(session.images._cache) <= 2


@pytest.mark.parametrize("stride,reverse", [(1, False), (2, False), (3, True)])
def test_frames_read_matches_what_sam2_reads(predictor, frames_dir: Path, stride: int, reverse: bool) -> None:
    """Record the non-conditioning outputs sam2's memory looks up and compare with frames_read."""
    from anylabel.tracking.memory import frames_read

    predictor.memory_temporal_stride_for_eval = stride
    predictor.num_maskmem, predictor.max_obj_ptrs_in_encoder = 5, 4
    session = TrackingSession(predictor, open_frames(frames_dir), release_memory=False, precision="float32")
    start = 7 if reverse else 0
    session.add_prompt(start, 1, P1)
    looked_up: Dict[int, set] = {}

    class Recorder(dict):
        current = None

        def get(self, key, default=None):
            if 0 <= key < 8:
                looked_up.setdefault(Recorder.current, set()).add(key)
            return super().get(key, default)

    original = predictor._prepare_memory_conditioned_features

    def spy(frame_idx, *args, output_dict, **kwargs):
        Recorder.current = frame_idx
        output_dict = dict(output_dict, non_cond_frame_outputs=Recorder(output_dict["non_cond_frame_outputs"]))
        return original(frame_idx, *args, output_dict=output_dict, **kwargs)

    predictor._prepare_memory_conditioned_features = spy
    try:
        list(session.propagate(reverse=reverse))
    finally:
        del predictor._prepare_memory_conditioned_features
    assert len(looked_up) == 7
    for frame, keys in looked_up.items():
        assert keys == frames_read(predictor, frame, reverse, 8), frame


def test_previous_mask_feeds_the_correction_when_outputs_were_released(predictor, frames_dir: Path) -> None:
    predictor.num_maskmem, predictor.max_obj_ptrs_in_encoder = 3, 3
    session = _session(predictor, frames_dir)
    session.add_prompt(0, 1, P1)
    results = {r.frame_index: r for r in session.propagate()}
    assert 2 not in session.state["output_dict_per_obj"][0]["non_cond_frame_outputs"]  # released
    seen = {}
    original = predictor._run_single_frame_inference

    def spy(*args, **kwargs):
        seen["prev"] = kwargs.get("prev_sam_mask_logits")
        return original(*args, **kwargs)

    predictor._run_single_frame_inference = spy
    try:
        session.add_prompt(2, 1, Prompt.from_clicks([(220, 360)]), previous_mask=results[2].masks[1])
        assert seen["prev"] is not None
        low = predictor.image_size // 4
        assert tuple(seen["prev"].shape) == (1, 1, low, low)
        assert float(seen["prev"].max()) == pytest.approx(10.0) and float(seen["prev"].min()) == pytest.approx(-10.0)
        session.add_prompt(5, 1, Prompt.from_clicks([(220, 360)]))  # without it: no previous logits
        assert seen["prev"] is None
    finally:
        del predictor._run_single_frame_inference


def test_errors_are_typed(predictor, frames_dir: Path) -> None:
    session = _session(predictor, frames_dir)
    with pytest.raises(TrackingError, match="out of range"):
        session.add_prompt(8, 1, P1)
    with pytest.raises(TrackingError, match="negative boxes"):
        session.add_prompt(0, 1, Prompt.from_clicks([(10, 10)], negative_boxes=[(0, 0, 5, 5)]))
    with pytest.raises(TrackingError, match="no positive point and no box"):
        session.add_prompt(0, 1, Prompt.from_clicks(negative=[(10, 10)]))
    with pytest.raises(TrackingError, match="no object 5"):
        session.remove_object(5)
    session.add_prompt(0, 1, P1)
    session.add_prompt(0, 2, P2)
    with pytest.raises(TrackingError, match="no object"):
        next(session.propagate(obj_ids=[9]))
    gen = session.propagate()
    assert isinstance(next(gen), FrameResult)
    with pytest.raises(TrackingError, match="propagating in this thread"):
        session.add_prompt(1, 1, P1)
    gen.close()  # closing the generator releases the session
    session.remove_object(2)
    assert session.obj_ids == [1]
    assert [r.obj_ids for r in session.propagate(end=1)] == [[1], [1]]


def test_bfloat16_session_tracks_close_to_float32(predictor, frames_dir: Path) -> None:
    """Under bfloat16 autocast (anylabel.backends.precision) sam2 gives masks close to, not equal to, float32's."""
    runs = {}
    for precision in ("float32", "bfloat16"):
        session = TrackingSession(predictor, open_frames(frames_dir), precision=precision)
        assert session.precision == precision
        session.add_prompt(0, 1, P1)
        session.add_prompt(0, 2, P2)
        runs[precision] = list(session.propagate(0, 4))
    for a, b in zip(runs["float32"], runs["bfloat16"]):
        assert a.frame_index == b.frame_index and b.obj_ids == [1, 2]
        for obj in (1, 2):
            x, y = a.masks[obj], b.masks[obj]
            assert y.dtype == bool and y.shape == (540, 960) and y.any()
            assert (x & y).sum() / (x | y).sum() >= 0.95, (a.frame_index, obj)  # measured >= 0.98
            assert abs(a.scores[obj] - b.scores[obj]) < 0.01
