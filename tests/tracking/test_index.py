"""The object list's index of a video's tracks: frame ranges, one label with its vote's confidence, review
flags, instance counts, and reading the files while the tracker writes newer frames."""
from __future__ import annotations

from pathlib import Path

from anylabel.document.shape import ImageAnnotation, Shape
from anylabel.formats.labelme import load_labelme, save_labelme
from anylabel.semantic import Proposal, Vote
from anylabel.tracking.index import TrackRow, VideoIndex
from anylabel.tracking.instances import label_instances
from anylabel.tracking.interpolate import interpolate_track

SQUARE = [(0, 0), (20, 0), (20, 20), (0, 20)]


def _ann(shapes) -> ImageAnnotation:
    return ImageAnnotation(image_path="f.jpg", image_height=40, image_width=40, shapes=list(shapes))


def _voted(label: str, track: int, vote: str, share: float = 0.9) -> Shape:
    s = Shape(label=label, points=SQUARE, track_id=track)
    s.extra["semantic"] = Vote(label=vote, confidence=share, proposals=(Proposal(vote, -1, share),),
                               pixels=400).to_dict()
    return s


def test_rows_give_range_label_and_interpolated_frames() -> None:
    index = VideoIndex()
    a = Shape(label="car", points=[(0, 0), (10, 10)], shape_type="rectangle", track_id=3)
    b = Shape(label="car", points=[(40, 0), (50, 10)], shape_type="rectangle", track_id=3)
    index.update(2, _ann([a]))
    index.update(6, _ann([b, Shape(label="dog", points=SQUARE, track_id=1)]))
    for f, shapes in interpolate_track(3, {2: [a], 6: [b]}).shapes.items():
        index.update(f, _ann(shapes))
    assert index.tracks() == [TrackRow(1, "dog", 6, 6, 1), TrackRow(3, "car", 2, 6, 5, interpolated=3)]
    index.update(6, _ann([b]))  # the dog deleted on its only frame
    assert index.track_ids() == [3]
    index.update(2, None)
    assert [(r.first, r.frames) for r in index.tracks()] == [(3, 4)]


def test_votes_give_one_label_with_confidence_and_flag_disagreement() -> None:
    index = VideoIndex()
    for f in range(4):  # girl on 4 frames by vote, but a person typed "kid" on the first
        index.update(f, _ann([_voted("kid" if f == 0 else "girl", 1, "girl"),
                              _voted("dog", 2, "dog" if f < 2 else "cat")]))
    rows = {r.track_id: r for r in index.tracks()}
    assert rows[1].label == "girl" and abs(rows[1].confidence - 1.0) < 1e-6
    assert rows[1].review and rows[1].disagreeing == (0,), "frames whose labels differ are flagged"
    assert rows[2].review and rows[2].confidence is not None and rows[2].confidence < 0.6
    assert index.label_tracks() == {"girl": 1, rows[2].label: 1}
    plain = VideoIndex()
    plain.update(0, _ann([Shape(label="car", points=SQUARE, track_id=5)]))
    assert plain.tracks()[0].confidence is None and not plain.tracks()[0].review


def test_a_noisy_track_is_one_instance_in_the_labels_list() -> None:
    girl = [Shape(label="girl", points=SQUARE, track_id=1, group_id=1) for _ in range(202)]
    assert label_instances(girl + [Shape(label="dog", points=SQUARE)]) == {"girl": 1, "dog": 1}


def test_read_keeps_frames_updated_meanwhile(tmp_path: Path) -> None:
    paths = []
    for f in range(3):
        p = tmp_path / f"{f}.json"
        save_labelme(_ann([Shape(label="old", points=SQUARE, track_id=1)]), p)
        paths.append((f, p))
    index = VideoIndex()
    seen = []

    def load(path: Path) -> ImageAnnotation:
        if not seen:  # the tracker writes frame 2 while the files are being read
            index.update(2, _ann([Shape(label="new", points=SQUARE, track_id=1)]))
        seen.append(path)
        return load_labelme(path)

    assert index.read(paths, load, total=3) == 3
    assert index.tracks() == [TrackRow(1, "old", 0, 2, 3, review=True, disagreeing=(2,))]
    assert index.read(paths, load_labelme, cancelled=lambda: True) == 0
