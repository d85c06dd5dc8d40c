"""The SSA vote over every frame of a video's tracks (what the window's "Vote track labels" runs)."""
from __future__ import annotations

from pathlib import Path

from test_track_labels import _tracked_folder

from anylabel.formats.labelme import load_labelme
from anylabel.semantic.proposers import Labeler, SemanticVoter
from anylabel.semantic.spec import parse_semantic_spec
from anylabel.tracking.folder import open_tracked_folder
from anylabel.tracking.index import VideoIndex
from anylabel.tracking.track_votes import vote_tracks


def test_votes_are_recorded_per_frame_and_give_one_label_per_track(tmp_path: Path) -> None:
    root = _tracked_folder(tmp_path)
    labeler = Labeler(SemanticVoter(parse_semantic_spec(f"labelmap:{root / 'maps'}")))
    tracked = open_tracked_folder(root / "frames")
    calls = []
    report = vote_tracks(tracked, labeler, progress=lambda n, total: calls.append((n, total)))
    assert report.frames_written == list(range(6)) and report.votes == 12 and calls[-1] == (6, 6)
    for f in range(6):
        shapes = {s.track_id: s for s in load_labelme(root / "frames" / f"{f:05d}.json").shapes}
        assert shapes[1].label == "object_1", "labels are not changed: a person applies the decision"
        assert shapes[2].extra["semantic"]["label"] == ("girl" if f < 3 else "dog")
        assert "semantic" not in shapes[None].extra, "untracked shapes are no track's"
    index = VideoIndex()
    for f in range(6):
        index.update(f, load_labelme(root / "frames" / f"{f:05d}.json"))
    rows = {r.track_id: r for r in index.tracks()}
    assert rows[1].label == "girl" and not rows[1].review
    assert rows[2].review and 0.45 < rows[2].confidence < 0.55

    only = vote_tracks(tracked, labeler, track_ids=[1], cancelled=lambda: True)
    assert only.cancelled and only.frames_written == []
