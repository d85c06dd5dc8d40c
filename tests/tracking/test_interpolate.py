"""Keyframe interpolation: geometry per shape type, marks, re-runs that respect people's edits, and
``anylabel interpolate`` on folders of per-frame LabelMe files (frame folders and video files)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from anylabel.cli import main
from anylabel.document.shape import ImageAnnotation, Shape
from anylabel.formats.labelme import load_labelme, save_labelme
from anylabel.geometry import polygon_area
from anylabel.tracking.interpolate import (
    MARK,
    corresponding_rings,
    interpolate_points,
    interpolate_track,
    is_interpolated,
    mark_edited,
)


def _rect(x1, y1, x2, y2, tid=1, label="car") -> Shape:
    return Shape(label=label, points=[(x1, y1), (x2, y2)], shape_type="rectangle", track_id=tid)


def _rotated(cx, cy, w, h, angle, tid=2) -> Shape:
    u, v = np.array([math.cos(angle), math.sin(angle)]), np.array([-math.sin(angle), math.cos(angle)])
    p0 = np.array([cx, cy]) - u * w / 2 - v * h / 2
    pts = [p0, p0 + u * w, p0 + u * w + v * h, p0 + v * h]
    return Shape(label="boat", points=[tuple(p) for p in pts], shape_type="rotation", track_id=tid)


def _square(x, y, s, n_per_side=1, start=0, reverse=False, tid=3) -> Shape:
    corners = np.array([(x, y), (x + s, y), (x + s, y + s), (x, y + s)], float)
    pts = []
    for i in range(4):
        a, b = corners[i], corners[(i + 1) % 4]
        pts += [tuple(a + (b - a) * k / n_per_side) for k in range(n_per_side)]
    pts = pts[start:] + pts[:start]
    if reverse:
        pts = pts[::-1]
    return Shape(label="dog", points=pts, shape_type="polygon", track_id=tid)


def test_rectangles_points_and_lines_move_linearly() -> None:
    mid = interpolate_points(_rect(0, 0, 10, 10), _rect(20, 10, 40, 30), 0.5)
    assert np.allclose(mid, [[10, 5], [25, 20]])
    pa = Shape(label="p", points=[(0, 0)], shape_type="point")
    pb = Shape(label="p", points=[(8, 4)], shape_type="point")
    assert np.allclose(interpolate_points(pa, pb, 0.25), [[2, 1]])
    assert interpolate_points(_rect(0, 0, 1, 1), pa, 0.5) is None  # different types
    mask = Shape(label="m", points=[(0, 0), (1, 1)], shape_type="mask")
    assert interpolate_points(mask, mask, 0.5) is None


def test_rotated_box_turns_the_short_way_and_keeps_its_corner_order() -> None:
    a, b = _rotated(50, 50, 40, 10, math.radians(170)), _rotated(150, 50, 60, 20, math.radians(-170))
    mid = interpolate_points(a, b, 0.5)
    e1, e2 = mid[1] - mid[0], mid[2] - mid[1]
    assert np.allclose(mid.mean(axis=0), [100, 50])
    assert math.isclose(np.hypot(*e1), 50) and math.isclose(np.hypot(*e2), 15)
    assert math.isclose(abs(math.degrees(math.atan2(e1[1], e1[0]))), 180, abs_tol=1e-6)  # via 180, not 0
    assert np.allclose(interpolate_points(a, b, 0.0), a.points_array())


def test_polygons_with_different_vertex_counts_and_starts_correspond_by_arc_length() -> None:
    a = _square(0, 0, 10)                                        # 4 vertices, clockwise on screen
    b = _square(100, 0, 10, n_per_side=3, start=5, reverse=True)  # 12 vertices, other start and orientation
    ra, rb = corresponding_rings(a.points_array(), b.points_array())
    assert len(ra) == len(rb) == 12
    assert np.allclose(rb - ra, [100, 0]), "a polygon that only moved maps onto itself"
    mid = interpolate_points(a, b, 0.5)
    assert math.isclose(polygon_area(mid), 100) and np.allclose(mid.mean(axis=0), [55, 5])
    grown = interpolate_points(_square(0, 0, 10), _square(0, 0, 30, n_per_side=2), 0.5)
    assert math.isclose(polygon_area(grown), 400)


def test_track_fills_the_gaps_marks_the_shapes_and_a_rerun_respects_edits() -> None:
    frames = {0: [_rect(0, 0, 10, 10)], 4: [_rect(40, 0, 50, 10)], 5: [_rect(50, 0, 60, 10)]}
    fill = interpolate_track(1, frames)
    assert sorted(fill.shapes) == [1, 2, 3] and not fill.skipped
    s2 = fill.shapes[2][0]
    assert s2.points == [(20, 0), (30, 10)] and s2.label == "car" and s2.track_id == 1
    assert is_interpolated(s2) and s2.extra[MARK]["keyframes"] == [0, 4]
    # a re-run over its own output changes nothing
    frames.update({f: v for f, v in fill.shapes.items()})
    again = interpolate_track(1, frames)
    assert {f: [s.points for s in v] for f, v in again.shapes.items()} == \
        {f: [s.points for s in v] for f, v in fill.shapes.items()}
    # a person moves the frame-2 box (the GUI may or may not clear the mark): it becomes a keyframe
    frames[2][0].points = [(25.0, 5.0), (35.0, 15.0)]
    assert not is_interpolated(frames[2][0])
    third = interpolate_track(1, frames)
    assert sorted(third.shapes) == [1, 3]
    assert third.shapes[1][0].points == [(12.5, 2.5), (22.5, 12.5)]
    confirmed = mark_edited(fill.shapes[3][0])
    assert MARK not in confirmed.extra


def _frame_folder(tmp_path: Path, n: int = 6) -> Path:
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(n):
        cv2.imwrite(str(folder / f"{i:05d}.png"), np.full((60, 80, 3), 20 * i, np.uint8))
    return folder


def _write(folder: Path, frame: int, shapes, image=None) -> Path:
    ann = ImageAnnotation(image_path=image or f"{frame:05d}.png", image_height=60, image_width=80,
                          shapes=list(shapes), frame_index=frame)
    path = folder / f"{frame:05d}.json"
    save_labelme(ann, path)
    return path


def test_cli_interpolates_every_track_of_a_frame_folder_and_keeps_edits(tmp_path: Path, capsys) -> None:
    folder = _frame_folder(tmp_path)
    manual = Shape(label="sign", points=[(1, 1), (5, 5)], shape_type="rectangle")
    _write(folder, 0, [_rect(0, 0, 10, 10), _rotated(20, 30, 10, 4, 0.0), _square(40, 10, 8)])
    _write(folder, 2, [manual])
    _write(folder, 4, [_rect(40, 0, 50, 10), _rotated(40, 30, 10, 4, 0.4), _square(48, 10, 8, n_per_side=2)])
    assert main(["interpolate", str(folder)]) == 0
    assert "wrote 9 interpolated shape(s) on 3 frame(s) of 3 track(s)" in capsys.readouterr().out
    for f in (1, 2, 3):
        ann = load_labelme(folder / f"{f:05d}.json")
        assert ann.frame_index == f and ann.image_path == f"{f:05d}.png"
        by_track = {s.track_id: s for s in ann.shapes if s.track_id is not None}
        assert set(by_track) == {1, 2, 3} and all(is_interpolated(s) for s in by_track.values())
        assert by_track[2].shape_type == "rotation" and len(by_track[2].points) == 4
    assert [s.label for s in load_labelme(folder / "00002.json").shapes if s.track_id is None] == ["sign"]
    assert load_labelme(folder / "00002.json").shapes[0].points == manual.points
    raw = json.loads((folder / "00001.json").read_text())
    assert raw["shapes"][0][MARK]["keyframes"] == [0, 4]  # the mark is in the file

    # a person edits track 1 on frame 3; a re-run keeps it and writes only what changed
    ann = load_labelme(folder / "00003.json")
    edited = next(s for s in ann.shapes if s.track_id == 1)
    edited.points = [(33.0, 3.0), (43.0, 13.0)]
    save_labelme(ann, folder / "00003.json")
    before = (folder / "00003.json").read_bytes()
    assert main(["interpolate", str(folder), "--track", "1"]) == 0
    assert (folder / "00003.json").read_bytes() == before
    assert next(s for s in load_labelme(folder / "00002.json").shapes if s.track_id == 1).points == \
        [(22.0, 2.0), (32.0, 12.0)]  # now between frames 0 and 3
    assert main(["interpolate", str(folder), "--track", "9"]) == 2
    assert "no track [9]" in capsys.readouterr().err


def test_cli_errors_name_the_file(tmp_path: Path, capsys) -> None:
    folder = _frame_folder(tmp_path)
    _write(folder, 0, [_rect(0, 0, 10, 10)])
    (folder / "00003.json").write_text("{not json", encoding="utf-8")
    assert main(["interpolate", str(folder)]) == 2
    assert "00003.json" in capsys.readouterr().err
    (folder / "00003.json").unlink()
    _write(folder, 3, [_rect(0, 0, 10, 10)], image="00003.png")
    data = json.loads((folder / "00003.json").read_text())
    data["frame_index"] = 7
    (folder / "00003.json").write_text(json.dumps(data))
    assert main(["interpolate", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "00003.json" in err and "frame_index is 7" in err and "--video" in err
    empty = tmp_path / "labels"
    empty.mkdir()
    assert main(["interpolate", str(empty)]) == 2
    assert "give it with --video" in capsys.readouterr().err


def test_cli_video_file_folder_found_by_its_marker_extracts_the_new_frames(tmp_path: Path, capsys) -> None:
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (80, 60))
    for i in range(6):
        writer.write(np.full((60, 80, 3), 30 * i, np.uint8))
    writer.release()
    out = tmp_path / "clip.anylabel"
    out.mkdir()
    (out / ".anylabel-video").write_text(json.dumps({"video": "clip.avi"}))
    for f, x in ((1, 0), (5, 40)):
        ann = ImageAnnotation(image_path=f"clip_{f:06d}.jpg", image_height=60, image_width=80,
                              shapes=[_rect(x, 0, x + 10, 10)], frame_index=f)
        save_labelme(ann, out / f"clip_{f:06d}.json")
    assert main(["interpolate", str(out), "--dry-run"]) == 0
    assert "would write 3 interpolated shape(s) on 3 frame(s)" in capsys.readouterr().out
    assert not (out / "clip_000002.json").exists()
    assert main(["interpolate", str(out), "--start", "2", "--end", "3"]) == 0
    assert sorted(p.name for p in out.glob("*.json")) == [f"clip_{f:06d}.json" for f in (1, 2, 3, 5)]
    ann = load_labelme(out / "clip_000003.json")
    assert ann.image_path == "clip_000003.jpg" and (out / "clip_000003.jpg").is_file()
    assert ann.shapes[0].points == [(20.0, 0.0), (30.0, 10.0)]


@pytest.mark.parametrize("n", [3, 50])
def test_resampled_rings_keep_the_shape(n: int) -> None:
    from anylabel.tracking.interpolate import resample

    ring = resample(_square(0, 0, 10).points_array(), n * 4, closed=True)
    assert len(ring) == n * 4 and math.isclose(polygon_area(ring), 100)


def test_highest_track_id_scans_every_frame_file(tmp_path: Path) -> None:
    from anylabel.tracking.folder import highest_track_id

    folder = _frame_folder(tmp_path, n=3)
    assert highest_track_id(folder) == 0
    _write(folder, 0, [_rect(0, 0, 10, 10, tid=4)])
    _write(folder, 2, [_rect(0, 0, 10, 10, tid=12), _rect(0, 0, 10, 10, tid=-3)])
    (folder / "00001.json").write_bytes(b"\xff\xfe not json")
    assert highest_track_id(folder) == 12 and highest_track_id(tmp_path / "missing") == 0


def test_a_frame_marked_outside_stops_interpolation_and_is_never_refilled(tmp_path: Path) -> None:
    from anylabel.tracking.interpolate import OUTSIDE, mark_outside, outside_tracks

    folder = _frame_folder(tmp_path)
    _write(folder, 0, [_rect(0, 0, 10, 10)])
    _write(folder, 5, [_rect(50, 0, 60, 10)])
    assert main(["interpolate", str(folder)]) == 0
    # the object is hidden on frame 2: a person deletes its interpolated box there
    ann = load_labelme(folder / "00002.json")
    mark_outside(ann, 1)
    assert ann.shapes == [] and outside_tracks(ann) == {1}
    save_labelme(ann, folder / "00002.json")
    assert json.loads((folder / "00002.json").read_text())[OUTSIDE] == [1]
    assert main(["interpolate", str(folder)]) == 0
    assert not [s for s in load_labelme(folder / "00002.json").shapes if s.track_id == 1], "not put back"
    # as CVAT: frame 1 keeps frame 0's box up to the outside frame; after it the track is hidden up to 5
    kept = [s for s in load_labelme(folder / "00001.json").shapes if s.track_id == 1]
    assert [s.points for s in kept] == [[(0.0, 0.0), (10.0, 10.0)]] and is_interpolated(kept[0])
    for f in (3, 4):
        assert not [s for s in load_labelme(folder / f"{f:05d}.json").shapes if s.track_id == 1], f
    mark_outside(ann, 1, outside=False)
    assert OUTSIDE not in ann.extra


def test_interpolate_folder_reports_progress_and_stops_when_cancelled(tmp_path: Path) -> None:
    from anylabel.tracking.folder import open_tracked_folder
    from anylabel.tracking.interpolate import interpolate_folder

    folder = _frame_folder(tmp_path)
    _write(folder, 0, [_rect(0, 0, 10, 10)])
    _write(folder, 5, [_rect(50, 0, 60, 10)])
    calls = []
    stop_after = 2
    report = interpolate_folder(open_tracked_folder(folder), progress=lambda n, total: calls.append((n, total)),
                                cancelled=lambda: len(calls) > stop_after)
    assert report.cancelled and report.frames_written == [1, 2, 3] and calls == [(0, 4), (1, 4), (2, 4)]
    assert not (folder / "00004.json").exists(), "nothing written after the cancel"
    calls.clear()
    report = interpolate_folder(open_tracked_folder(folder), progress=lambda n, total: calls.append((n, total)))
    assert not report.cancelled and calls[-1] == (4, 4) and (folder / "00004.json").exists()
