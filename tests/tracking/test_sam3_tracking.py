"""SAM 3's video tracker behind the tracking session (anylabel/tracking/sam3_session.py), on the CPU.

The default tests run a small random SAM 3 tracker (tests/tracking/sam3_testutil.py: upstream's
``build_tracker(with_backbone=True)``, a narrow ViT, 336 px) beside upstream's own ``propagate_in_video`` on the
same frames; the slow ones load a random full-size ``sam3.pt`` through the registry and run ``anylabel track``.
Everything skips when the optional sam3 package is not installed."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest
import torch

from anylabel.backends.prompt import Prompt
from anylabel.errors import ModelError
from anylabel.imaging.video import open_frames
from anylabel.tracking import Propagation

pytestmark = pytest.mark.skipif(importlib.util.find_spec("sam3") is None,
                                reason='the optional sam3 package is not installed (pip install "anylabel[sam3]")')

POINT = Prompt(points=np.array([[420.0, 300.0]]), labels=np.array([1]))
BOX = Prompt.from_clicks(box=(600, 150, 900, 500))


_BUILT: Dict[bool, object] = {}


def _tracker(memory_selection: bool):
    if memory_selection not in _BUILT:
        from sam3_testutil import small_sam3_tracker

        model = small_sam3_tracker(memory_selection=memory_selection)
        model.max_obj_ptrs_in_encoder = 3  # a short memory, so that 8 frames release outputs
        _BUILT[memory_selection] = model
    return _BUILT[memory_selection]


@pytest.fixture(params=[True, False], ids=["memory-selection", "fixed-window"])
def tracker(request):
    """Both memory designs (the masks are compared with upstream's for each)."""
    return _tracker(request.param)


@pytest.fixture
def selecting():
    """The tracker as SAM 3's video model builds it (memory selection on)."""
    return _tracker(True)


def _session(tracker, frames_dir: Path, **kw):
    from anylabel.tracking.model import open_session

    return open_session(tracker, open_frames(str(frames_dir)), **kw)


def _upstream(tracker, session, prompts: Dict[int, Prompt], frame: int, reverse: bool = False,
              then_reverse: bool = False) -> Dict[int, np.ndarray]:
    """Masks of one object by upstream's own API on one state: init_state, add_new_points_or_box (relative
    coordinates), propagate_in_video (then in reverse from the same frame, as upstream's demo does)."""
    from anylabel.backends.sam3_device import on_device

    h, w = session.frames.size
    out: Dict[int, np.ndarray] = {}
    with on_device("cpu"), torch.inference_mode():
        st = tracker.init_state(video_height=h, video_width=w, num_frames=session.num_frames)
        st["images"] = session.images
        for f, p in prompts.items():
            kw = {}
            if len(p.points):
                kw.update(points=p.points.astype(np.float32) / [w, h], labels=p.labels.astype(np.int32))
            if p.box is not None:
                kw.update(box=np.asarray(p.box, np.float32) / [w, h, w, h])
            tracker.add_new_points_or_box(st, frame_idx=f, obj_id=1, **kw)
        runs = [reverse] + ([True] if then_reverse else [])
        for i, rev in enumerate(runs):
            for t, _, _, video_res, _ in tracker.propagate_in_video(st, frame, None, rev, tqdm_disable=True,
                                                                   propagate_preflight=i == 0):
                out.setdefault(t, (video_res[0, 0] > 0).cpu().numpy())
    return out


def _masks(results, obj: int = 1) -> Dict[int, np.ndarray]:
    out: Dict[int, np.ndarray] = {}
    for r in results:
        out.setdefault(r.frame_index, r.masks[obj])
    return out


def test_the_session_is_sam3s_and_answers_a_click_at_the_frames_size(selecting, frames_dir: Path) -> None:
    from anylabel.tracking.sam3_session import Sam3TrackingSession

    session = _session(selecting, frames_dir)
    assert isinstance(session, Sam3TrackingSession) and session.precision == "float32"
    mask = session.add_prompt(0, 1, POINT, label="bed")
    assert mask.shape == (540, 960) and mask.dtype == bool and mask.any()
    assert session.obj_ids == [1] and session.pending == {1: {0}} and session.frames.decoded == 1
    assert session.images.mean == (0.5, 0.5, 0.5)  # SAM 3's normalisation, not sam2's ImageNet one


@pytest.mark.parametrize("prompt", [POINT, BOX], ids=["point", "box"])
def test_forward_masks_equal_upstreams_propagate_in_video(tracker, frames_dir: Path, prompt: Prompt) -> None:
    session = _session(tracker, frames_dir)
    session.add_prompt(0, 1, prompt)
    results = list(session.run(Propagation("forward")))
    assert [r.frame_index for r in results] == list(range(8))
    ours, theirs = _masks(results), _upstream(tracker, session, {0: prompt}, 0)
    assert sorted(theirs) == list(range(8))
    for t in range(8):
        assert np.array_equal(ours[t], theirs[t]), f"frame {t}"
    assert all(0.0 <= r.scores[1] <= 1.0 for r in results)
    assert session.released > 0, "outputs outside the memory window are released"


def test_backward_masks_equal_upstreams_reverse_propagation(tracker, frames_dir: Path) -> None:
    session = _session(tracker, frames_dir)
    session.add_prompt(6, 1, POINT)
    results = list(session.run(Propagation("backward")))
    assert [r.frame_index for r in results] == [6, 5, 4, 3, 2, 1, 0]
    theirs = _upstream(tracker, session, {6: POINT}, 6, reverse=True)
    for t, mask in _masks(results).items():
        assert np.array_equal(mask, theirs[t]), f"frame {t}"


def test_both_ways_equal_upstreams_forward_then_reverse_with_memory_released(tracker, frames_dir: Path) -> None:
    """The backward pass reads the forward pass's outputs next to the prompt: they are kept until it has."""
    session = _session(tracker, frames_dir)
    session.add_prompt(3, 1, POINT)
    assert session.frames_to_track(Propagation("both")) == 8
    results = list(session.run(Propagation("both")))
    assert [r.frame_index for r in results] == [3, 4, 5, 6, 7, 2, 1, 0]
    theirs = _upstream(tracker, session, {3: POINT}, 3, then_reverse=True)
    for t, mask in _masks(results).items():
        assert np.array_equal(mask, theirs[t]), f"frame {t}"


def test_releasing_memory_changes_no_mask_and_keeps_memory_flat(tracker, frames_dir: Path) -> None:
    kept = _session(tracker, frames_dir, release_memory=False)
    bounded = _session(tracker, frames_dir)
    for s in (kept, bounded):
        s.add_prompt(0, 1, POINT)
    full, lean = list(kept.run()), list(bounded.run())
    for a, b in zip(full, lean):
        assert np.array_equal(a.masks[1], b.masks[1]), f"frame {a.frame_index}"
    assert kept.stats()["non_cond_frame_outputs"] == 7
    window = tracker.max_obj_ptrs_in_encoder if tracker.use_memory_selection else tracker.num_maskmem
    assert bounded.stats()["non_cond_frame_outputs"] <= window and bounded.released >= 7 - window


def test_a_new_object_after_propagation_leaves_the_first_as_it_was(selecting, frames_dir: Path) -> None:
    """Upstream's one state refuses a new object once tracking started; one state per object does not."""
    session = _session(selecting, frames_dir)
    session.add_prompt(0, 1, POINT)
    first = _masks(session.run())
    session.add_prompt(4, 2, BOX)
    assert session.obj_ids == [1, 2]
    later = list(session.run())
    assert [r.frame_index for r in later] == [4, 5, 6, 7] and all(r.obj_ids == [2] for r in later)
    again = list(session.run(Propagation("forward", start=0), obj_ids=[1, 2]))
    assert [r.obj_ids for r in again][:4] == [[1]] * 4 and again[4].obj_ids == [1, 2]
    for r in again:
        assert np.array_equal(r.masks[1], first[r.frame_index]), f"frame {r.frame_index}"


def test_a_correction_becomes_a_conditioning_frame_and_repropagates_from_it(selecting, frames_dir: Path) -> None:
    session = _session(selecting, frames_dir)
    session.add_prompt(0, 1, POINT)
    list(session.run())
    fixed = session.add_prompt(5, 1, Prompt(points=np.array([[420.0, 300.0], [100.0, 100.0]]), labels=np.array([1, 0])),
                               previous_mask=np.ones((540, 960), bool))
    assert fixed.shape == (540, 960)
    assert session.pending[1] == {5}
    rerun = list(session.run())
    assert [r.frame_index for r in rerun] == [5, 6, 7]
    assert session.state["objects"][1]["output_dict"]["cond_frame_outputs"].keys() == {0, 5}
    assert np.array_equal(rerun[0].masks[1], fixed)


def test_remove_and_reset(selecting, frames_dir: Path) -> None:
    from anylabel.errors import TrackingError

    session = _session(selecting, frames_dir)
    session.add_prompt(0, 1, POINT)
    session.add_prompt(0, 2, BOX)
    session.remove_object(1)
    assert session.obj_ids == [2]
    assert [r.obj_ids for r in session.run()] == [[2]] * 8
    with pytest.raises(TrackingError, match="no object 1"):
        session.remove_object(1)
    session.reset()
    assert session.obj_ids == [] and session.stats()["cached_features"] == 1  # the last frame's features stay
    with pytest.raises(TrackingError, match="nothing to track"):
        list(session.run())


def test_bfloat16_when_asked_for_tracks_close_to_float32(selecting, frames_dir: Path) -> None:
    """Only when asked for (no measured CPU choice for SAM 3): auto stays float32."""
    assert _session(selecting, frames_dir).precision == "float32"
    runs = {}
    for precision in ("float32", "bfloat16"):
        session = _session(selecting, frames_dir, precision=precision)
        assert session.precision == precision
        session.add_prompt(0, 1, POINT)
        runs[precision] = [r.masks[1] for r in session.run(Propagation("forward", count=3))]
    for a, b in zip(runs["float32"], runs["bfloat16"]):
        assert (a & b).sum() / max(1, (a | b).sum()) > 0.95


def test_a_file_that_is_not_sam3_pt_is_refused_before_the_model_is_built(tmp_path: Path, monkeypatch) -> None:
    from anylabel.tracking import sam3_model

    bad = tmp_path / "sam3.pt"
    torch.save({"model": {"image_encoder.weight": torch.zeros(1)}}, bad)
    monkeypatch.setattr("sam3.model_builder.build_tracker", lambda **kw: pytest.fail("built before the check"))
    with pytest.raises(ModelError, match="not a SAM 3 checkpoint") as err:
        sam3_model.build_sam3_tracker(bad, "cpu")
    assert str(bad) in str(err.value)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="cannot read"):
        sam3_model.build_sam3_tracker(tmp_path / "junk.pt", "cpu")


def test_a_sam3_model_is_a_tracking_model_once_its_file_is_there(tmp_path: Path) -> None:
    from anylabel.gui.video.model import tracking_model
    from anylabel.models import ModelRegistry
    from anylabel.tracking.model import tracking_models

    shipped = ModelRegistry.load(include_env=False)
    assert "sam3" not in tracking_models(shipped)  # gated: not offered before the user has the file
    weights = tmp_path / "sam3.pt"
    weights.write_bytes(b"x")
    (tmp_path / "m.yaml").write_text(f"models:\n  - {{name: sam3, path: {weights}}}\n")
    mine = ModelRegistry.load(extra_files=[tmp_path / "m.yaml"], include_env=False)
    names = tracking_models(mine)
    assert names[-1] == "sam3" and names[0].startswith("sam2")
    assert tracking_model(mine, "sam3") == "sam3"  # SAM 3 chosen in the window: Ctrl+M tracks with it
    assert tracking_model(mine, "sam_vit_b") == names[0]


# ------------------------------------------------------------------------- full size, through the registry
@pytest.fixture(scope="module")
def sam3_models(tmp_path_factory) -> Path:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
    from random_checkpoints import write_all

    return write_all(tmp_path_factory.mktemp("sam3"), only=["sam3"])


@pytest.mark.slow
def test_anylabel_track_with_the_full_size_sam3(sam3_models: Path, frames_dir: Path, tmp_path: Path,
                                                monkeypatch) -> None:
    """``anylabel track --model sam3`` loads sam3.pt's tracker through the registry and writes every frame."""
    from anylabel.cli import main

    monkeypatch.setenv("ANYLABEL_MODELS", str(sam3_models))
    out = tmp_path / "out"
    assert main(["track", str(frames_dir), "--model", "sam3", "--device", "cpu", "--point", "2:1:420,300",
                 "--box", "2:2:600,150,900,500", "--label", "1:bed", "--direction", "both", "--frames", "1",
                 "-o", str(out), "-q"]) == 0
    written: List[Path] = sorted(out.glob("*.json"))
    assert [p.stem for p in written] == [p.stem for p in sorted(frames_dir.glob("*.jpg"))[1:4]]
    for p in written:
        shapes = json.loads(p.read_text())["shapes"]
        assert {s["track_id"] for s in shapes} <= {1, 2}
