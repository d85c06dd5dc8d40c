"""Tracking results to LabelMe files: merging by track id, multi-part masks, extracted frames, paths."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from anylabel.document import ImageAnnotation, Shape
from anylabel.formats.labelme import load_labelme, save_labelme
from anylabel.geometry import mask_iou, polygon_to_mask
from anylabel.imaging.video import open_frames
from anylabel.tracking import FrameResult
from anylabel.tracking.output import FrameAnnotations, mask_shapes, merge_result


def _disk(h: int, w: int, cx: int, cy: int, r: int) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r


def test_merge_replaces_only_the_results_tracks() -> None:
    manual = Shape("table", [(1, 1), (5, 1), (5, 5)])
    old1 = Shape("child", [(0, 0), (1, 0), (1, 1)], track_id=1)
    old2 = Shape("bed", [(2, 2), (3, 2), (3, 3)], track_id=2)
    ann = ImageAnnotation("f.jpg", 60, 80, [manual, old1, old2])
    mask = _disk(60, 80, 40, 30, 10)
    result = FrameResult(5, masks={1: mask, 3: np.zeros((60, 80), bool)}, scores={1: 0.9, 3: 0.1},
                         labels={1: "child", 3: ""})
    merge_result(ann, result)
    assert ann.frame_index == 5
    assert ann.shapes[:2] == [manual, old2], "other shapes are kept, in order"
    new = ann.shapes[2:]
    assert [(s.track_id, s.label, s.score, s.group_id) for s in new] == [(1, "child", 0.9, None)]
    assert mask_iou(polygon_to_mask(new[0].points_array(), (60, 80)), mask) > 0.9
    # an empty mask (object hidden) removes the object's shapes from the frame
    merge_result(ann, FrameResult(5, masks={2: np.zeros((60, 80), bool)}))
    assert [s.track_id for s in ann.shapes] == [None, 1]


def test_multi_part_masks_share_the_track_as_group() -> None:
    mask = _disk(60, 80, 15, 15, 6) | _disk(60, 80, 60, 40, 9)
    shapes = mask_shapes(mask, 4, "cup", 0.5)
    assert len(shapes) == 2 and {s.group_id for s in shapes} == {4} and {s.track_id for s in shapes} == {4}
    assert polygon_to_mask(shapes[0].points_array(), (60, 80)).sum() > polygon_to_mask(shapes[1].points_array(),
                                                                                        (60, 80)).sum()
    assert mask_shapes(np.zeros((60, 80), bool), 4, "cup") == []
    assert mask_shapes(_disk(60, 80, 30, 30, 8), 9, "")[0].label == ""  # the label is the caller's


def test_frame_files_for_a_folder_and_for_a_video(frames_dir: Path, tmp_path: Path) -> None:
    folder = FrameAnnotations(open_frames(frames_dir), tmp_path / "a")
    mask = _disk(540, 960, 300, 300, 50)
    ann = folder.write(FrameResult(3, masks={1: mask}, scores={1: 1.0}, labels={1: ""}))
    data = json.loads((tmp_path / "a" / "00003.json").read_text())
    assert data["frame_index"] == 3 and not Path(data["imagePath"]).is_absolute()
    assert (tmp_path / "a" / data["imagePath"]).resolve() == (frames_dir / "00003.jpg").resolve()
    assert [s["label"] for s in data["shapes"]] == ["object_1"] and ann.shapes[0].track_id == 1
    assert not list((tmp_path / "a").glob("*.jpg")), "frame files are referenced, not copied"
    # a manual shape saved in the file before is kept by the next result
    existing = load_labelme(tmp_path / "a" / "00003.json")
    existing.shapes.append(Shape("lamp", [(10, 10), (20, 10), (20, 20)]))
    save_labelme(existing, tmp_path / "a" / "00003.json")
    folder.write(FrameResult(3, masks={1: _disk(540, 960, 310, 300, 50)}, labels={1: "child"}))
    assert [(s.label, s.track_id) for s in load_labelme(tmp_path / "a" / "00003.json").shapes] == \
        [("lamp", None), ("child", 1)]

    video = tmp_path / "v.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (96, 64))
    for i in range(6):
        writer.write(np.full((64, 96, 3), 40 * i, np.uint8))
    writer.release()
    source = open_frames(video)
    vid = FrameAnnotations(source, tmp_path / "b")
    vid.write(FrameResult(4, masks={2: _disk(64, 96, 40, 30, 10)}, labels={2: "ball"}))
    ann = load_labelme(tmp_path / "b" / "v_000004.json")
    assert ann.image_path == "v_000004.jpg" and ann.frame_index == 4 and (ann.image_height, ann.image_width) == (64, 96)
    frame = cv2.imread(str(tmp_path / "b" / "v_000004.jpg"))
    assert abs(int(frame.mean()) - 160) <= 3, "the extracted JPEG is frame 4"
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["v_000004.jpg", "v_000004.json"]


def test_keep_leaves_an_objects_earlier_shapes_and_fills_only_frames_without_them() -> None:
    mine = Shape(label="corrected", points=[(1.0, 1.0), (5.0, 1.0), (5.0, 5.0)], shape_type="polygon", track_id=1)
    other = Shape(label="x", points=[(0.0, 0.0), (2.0, 0.0), (2.0, 2.0)], shape_type="polygon")
    ann = ImageAnnotation(image_path="a.jpg", image_height=40, image_width=40, shapes=[mine, other])
    mask = np.zeros((40, 40), bool)
    mask[10:30, 10:30] = True
    result = FrameResult(frame_index=3, masks={1: mask, 2: mask}, scores={1: 0.9, 2: 0.8}, labels={1: "a", 2: "b"})
    kept = merge_result(ann.copy(), result, existing="keep")
    assert [s.label for s in kept.shapes if s.track_id == 1] == ["corrected"]
    assert [s.label for s in kept.shapes if s.track_id == 2] == ["b"] and "x" in [s.label for s in kept.shapes]
    hidden = FrameResult(frame_index=3, masks={1: np.zeros((40, 40), bool)}, scores={1: 0.1}, labels={1: "a"})
    assert [s.label for s in merge_result(ann.copy(), hidden, existing="keep").shapes] == ["corrected", "x"]
    replaced = merge_result(ann.copy(), result)
    assert [s.label for s in replaced.shapes if s.track_id == 1] == ["a"]
    with pytest.raises(ValueError, match="existing must be one of"):
        merge_result(ann.copy(), result, existing="merge")


def test_a_replaced_object_keeps_its_details_and_votes_on_that_frame() -> None:
    old = Shape("child", [(0, 0), (1, 0), (1, 1)], track_id=1, flags={"occluded": True}, description="left",
                attributes={"pose": "sitting"}, difficult=True)
    old.extra.update({"semantic": {"label": "girl", "confidence": 0.8}, "other": 1})
    ann = ImageAnnotation("f.jpg", 60, 80, [old])
    mask = _disk(60, 80, 15, 15, 6) | _disk(60, 80, 60, 40, 9)
    merge_result(ann, FrameResult(3, masks={1: mask}, scores={1: 0.9}, labels={1: "child"}))
    assert len(ann.shapes) == 2
    for s in ann.shapes:
        assert (s.flags, s.attributes, s.difficult, s.description) == ({"occluded": True}, {"pose": "sitting"},
                                                                         True, "left")
        assert s.extra == {"semantic": {"label": "girl", "confidence": 0.8}}, "only the object's own keys"


def test_an_object_marked_outside_is_kept_hidden_by_keep_and_shown_again_by_replace() -> None:
    from anylabel.tracking.interpolate import OUTSIDE, mark_outside

    mask = _disk(60, 80, 40, 30, 10)
    ann = ImageAnnotation("f.jpg", 60, 80, [])
    mark_outside(ann, 1)
    merge_result(ann, FrameResult(2, masks={1: mask}, labels={1: "child"}), existing="keep")
    assert ann.shapes == [] and ann.extra[OUTSIDE] == [1], "a person said it is not visible here"
    merge_result(ann, FrameResult(2, masks={1: mask}, labels={1: "child"}))
    assert [s.track_id for s in ann.shapes] == [1] and OUTSIDE not in ann.extra
