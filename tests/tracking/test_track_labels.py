"""One label per track: weighted votes over a track's frames, review flags, and ``anylabel autolabel`` on a
tracked folder (SSA's label-map vote per frame, then one label per track)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from anylabel.cli import main
from anylabel.document.shape import ImageAnnotation, Shape
from anylabel.formats.labelme import load_labelme, save_labelme
from anylabel.semantic import Proposal, Vote
from anylabel.tracking.track_labels import TRACK_LABEL, FrameVote, vote_track


def _vote(label: str, share: float = 1.0, other: str = "") -> Vote:
    props = (Proposal(label, -1, share),) + ((Proposal(other, -1, 1 - share),) if other else ())
    return Vote(label=label, confidence=share, proposals=props, pixels=100)


def test_large_clear_masks_outweigh_many_small_faint_ones() -> None:
    votes = [FrameVote(0, _vote("girl"), area=5000, score=0.95), FrameVote(1, _vote("girl", 0.8, "dog"), 4800, 0.9)]
    votes += [FrameVote(f, _vote("dog"), area=150, score=0.5) for f in range(2, 6)]  # a noisy slip, 4 frames
    d = vote_track(7, votes)
    assert d.label == "girl" and d.track_id == 7  # a vote by frame count would say dog (4 of 6)
    total = 5000 * 0.95 + 4800 * 0.9 + 4 * 150 * 0.5
    assert np.isclose(d.confidence, (5000 * 0.95 + 4800 * 0.9 * 0.8) / total)
    assert [p.label for p in d.proposals] == ["girl", "dog"]
    assert d.disagreeing_frames == (2, 3, 4, 5) and np.isclose(d.disagreement, 300 / total)
    assert not d.review  # 3 % of the weight disagrees
    split = vote_track(8, [FrameVote(0, _vote("girl"), 1000), FrameVote(1, _vote("dog"), 900)])
    assert split.label == "girl" and split.review and split.disagreeing_frames == (1,)
    assert vote_track(9, []).label is None


def _tracked_folder(tmp_path: Path) -> Path:
    """6 frames (40x40 PNG), label maps (1 girl, 2 dog) and per-frame LabelMe files with tracks 1 and 2."""
    frames, maps = tmp_path / "frames", tmp_path / "maps"
    frames.mkdir()
    maps.mkdir()
    (maps / "class_names.txt").write_text("_background_\ngirl\ndog\n")
    for f in range(6):
        Image.fromarray(np.full((40, 40, 3), 10 * f, np.uint8)).save(frames / f"{f:05d}.png")
        cm = np.zeros((40, 40), np.uint8)
        cm[0:20, 0:20] = 1                      # track 1's square: girl on every frame
        cm[20:40, 20:40] = 1 if f < 3 else 2    # track 2's square: girl, then dog
        if f == 5:
            cm[0:4, 0:20] = 2                   # a slip of the map onto track 1 on one frame
        Image.fromarray(cm, mode="L").save(maps / f"{f:05d}.png")
        shapes = [Shape(label="object_1", points=[(0, 0), (19, 0), (19, 19), (0, 19)], track_id=1, score=0.9),
                  Shape(label="object_2", points=[(20, 20), (39, 20), (39, 39), (20, 39)], track_id=2, score=0.8),
                  Shape(label="", points=[(25, 0), (35, 0), (35, 10)])]  # no track: labelled by itself
        save_labelme(ImageAnnotation(image_path=f"{f:05d}.png", image_height=40, image_width=40, shapes=shapes,
                                     frame_index=f), frames / f"{f:05d}.json")
    return tmp_path


def test_autolabel_gives_each_track_one_label_and_flags_the_one_that_disagrees(tmp_path: Path, capsys) -> None:
    root = _tracked_folder(tmp_path)
    out = tmp_path / "out"
    assert main(["autolabel", str(root / "frames"), "--masks", "existing", "--semantic",
                 f"labelmap:{root / 'maps'}", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2 track(s) got one label each" in text and "1 flagged for review" in text
    for f in range(6):
        ann = load_labelme(out / f"{f:05d}.json")
        by_track = {s.track_id: s for s in ann.shapes}
        assert by_track[1].label == "girl", f"frame {f}: the whole track has one label"
        assert by_track[1].extra[TRACK_LABEL]["review"] is False
        assert by_track[1].extra[TRACK_LABEL]["frames"] == 6
        assert by_track[1].extra["mask_score"] == 0.9  # the tracker's score, the vote's weight
        assert by_track[2].label == "girl" or by_track[2].label == "dog"
        assert len({load_labelme(out / f"{g:05d}.json").shapes[1].label for g in range(6)}) == 1
        record = by_track[2].extra[TRACK_LABEL]
        assert record["review"] is True and len(record["disagreeing_frames"]) == 3
        assert 0.45 < record["confidence"] < 0.55
        assert by_track[None].label in ("_background_", "girl", "dog") and TRACK_LABEL not in by_track[None].extra
    frame5 = load_labelme(out / "00005.json").shapes[0]
    assert frame5.extra["semantic"]["label"] == "girl" and frame5.extra["semantic"]["confidence"] < 1.0


def test_no_track_labels_keeps_the_per_frame_votes(tmp_path: Path) -> None:
    root = _tracked_folder(tmp_path)
    out = tmp_path / "out"
    assert main(["autolabel", str(root / "frames"), "--masks", "existing", "--semantic",
                 f"labelmap:{root / 'maps'}", "-o", str(out), "--no-track-labels"]) == 0
    labels = [next(s for s in load_labelme(out / f"{f:05d}.json").shapes if s.track_id == 2).label for f in range(6)]
    assert labels == ["girl"] * 3 + ["dog"] * 3
