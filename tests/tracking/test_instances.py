"""The labels count instances (tracks, groups), not polygons."""
from __future__ import annotations

from anylabel.document.shape import ImageAnnotation, Shape
from anylabel.tracking.instances import LabelCount, count_instances

TRI = [(0, 0), (4, 0), (4, 4)]


def _ann(shapes) -> ImageAnnotation:
    return ImageAnnotation(image_path="f.jpg", image_height=10, image_width=10, shapes=list(shapes))


def test_a_noisy_mask_of_one_tracked_girl_counts_once() -> None:
    girl = [Shape(label="girl", points=TRI, track_id=1, group_id=1) for _ in range(202)]
    other = [Shape(label="girl", points=TRI), Shape(label="dog", points=TRI, group_id=4),
             Shape(label="dog", points=TRI, group_id=4), Shape(label="dog", points=TRI)]
    counts = count_instances(_ann(girl + other))
    assert counts == [LabelCount("dog", 2, 0, 3), LabelCount("girl", 2, 1, 203)]  # equal counts: by name


def test_a_track_counts_once_across_frames_under_its_majority_label() -> None:
    frames = [_ann([Shape(label="girl", points=TRI, track_id=1), Shape(label="car", points=TRI, track_id=2)])
              for _ in range(5)]
    frames.append(_ann([Shape(label="boy", points=TRI, track_id=1), Shape(label="car", points=TRI)]))
    counts = {c.label: c for c in count_instances(frames)}
    assert counts["girl"].instances == 1 and counts["girl"].tracks == 1 and counts["girl"].shapes == 5
    assert counts["boy"].instances == 0 and counts["boy"].shapes == 1
    assert counts["car"].instances == 2 and counts["car"].tracks == 1  # track 2, plus one untracked car


def test_the_video_index_gives_each_tracks_label_and_frame_range() -> None:
    from anylabel.tracking.index import TrackRow, VideoIndex
    from anylabel.tracking.interpolate import interpolate_track

    a = Shape(label="car", points=[(0, 0), (10, 10)], shape_type="rectangle", track_id=3)
    b = Shape(label="car", points=[(40, 0), (50, 10)], shape_type="rectangle", track_id=3)
    fill = interpolate_track(3, {2: [a], 6: [b]})
    frames = {2: _ann([a]), 6: _ann([b, Shape(label="dog", points=TRI, track_id=1)])}
    frames.update({f: _ann(shapes) for f, shapes in fill.shapes.items()})
    index = VideoIndex()
    for f, ann in frames.items():
        index.update(f, ann)
    assert index.tracks() == [TrackRow(1, "dog", 6, 6, 1, 0), TrackRow(3, "car", 2, 6, 5, 3)]
