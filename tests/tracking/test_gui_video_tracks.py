"""Video mode of the real window, offscreen (issue 16): both directions, range and keep / replace, the object
list (one label per track, ids kept after Reset tracker), instance counts in the labels dock, the track tag
after a correction, and keyframe interpolation in the window."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

import test_gui_video as base  # noqa: E402
from PyQt5.QtCore import Qt  # noqa: E402
from test_gui_video import answer_label, click_object, finish, frame_tracks, press  # noqa: E402

from anylabel.document import ImageAnnotation, Shape  # noqa: E402
from anylabel.gui.video.frames import VideoFrameFolder  # noqa: E402

pytestmark = pytest.mark.gui
video_file, window = base.video_file, base.window  # the fixtures of the window's video tests
SQUARE = [(100.0, 100.0), (180.0, 100.0), (180.0, 180.0), (100.0, 180.0)]


def write_frames(video: Path, out: Path, frames) -> None:
    """Write LabelMe files for frames of ``video`` in the window's output folder: ``{frame: [Shape]}``."""
    folder = VideoFrameFolder.open(str(video), str(out))
    for f, shapes in frames.items():
        folder.save(f, ImageAnnotation("", 540, 960, list(shapes)))


def part(label: str, track: int, dx: float = 0.0, group=None) -> Shape:
    return Shape(label, [(x + dx, y) for x, y in SQUARE], "polygon", group_id=group, track_id=track)


def label_rows(window):
    return [window.label_list.item(i).text() for i in range(window.label_list.count())]


def test_labels_dock_counts_tracks_not_polygons_in_video_mode(qtbot, window, video_file, tmp_path) -> None:
    # a noisy mask of one girl traced as 40 polygons (parts share group_id = track_id), and an untracked dog
    girl = [part("girl", 1, dx=3.0 * i, group=1) for i in range(40)]
    write_frames(video_file, tmp_path / "out", {0: girl + [part("dog", 0, dx=400)]})
    assert window.open_path(str(video_file))
    assert len(window.annotation.shapes) == 41
    rows = label_rows(window)
    assert rows[:2] == ["dog   1", "girl   1"], rows  # not "girl   40"


def two_tracks(video_file, tmp_path) -> None:
    """Frames 0-3: object 1 (child, two parts) and object 2 (bed), as the tracker writes them."""
    write_frames(video_file, tmp_path / "out", {f: [part("child", 1, group=1), part("child", 1, dx=300, group=1),
                                                    part("bed", 2, dx=500)] for f in range(4)})


def test_a_correction_on_a_later_frame_shows_its_own_track(qtbot, window, video_file, tmp_path) -> None:
    two_tracks(video_file, tmp_path)
    assert window.open_path(str(video_file))
    panel = window.features["video"]
    panel.goto(3)
    panel.set_object(1)
    mask = np.zeros((540, 960), bool)
    mask[50:150, 50:150] = True
    mask[300:400, 600:700] = True  # a correction with two parts
    timer = answer_label(qtbot, window, "child")
    assert panel._on_finish(mask, [])
    timer.stop()
    mine = [s for s in window.annotation.shapes if s.track_id == 1]
    assert len(mine) == 2 and {s.group_id for s in mine} == {1}
    texts = [window.shape_list.item(i).text() for i in range(window.shape_list.count())]
    assert [t.split("   ")[0] for t in texts if t.startswith("child")] == ["child track 1", "child track 1"], texts
    window.undo()  # one undo step brings the old parts back
    assert len([s for s in window.annotation.shapes if s.track_id == 1]) == 2
    assert [s.points for s in window.annotation.shapes if s.track_id == 1][0] == [tuple(p) for p in SQUARE]


def test_objects_keep_their_ids_after_reset_tracker(qtbot, window, video_file, tmp_path) -> None:
    two_tracks(video_file, tmp_path)
    assert window.open_path(str(video_file))
    panel = window.features["video"]
    qtbot.waitUntil(lambda: panel.worker.session is not None, timeout=60000)
    with qtbot.waitSignal(panel.worker.trackerReset, timeout=60000):
        press(qtbot, window, Qt.Key_R, Qt.ControlModifier | Qt.ShiftModifier)
    box = panel.dock_widget.object_box
    assert [box.itemText(i) for i in range(box.count())] == ["1: child", "2: bed", "3 (new)"]
    assert [r[0] for r in panel.dock_widget.object_list.row_texts()] == ["1", "2"]
    assert panel.current_obj == 3


def test_backward_and_both_ways_from_a_late_prompt(qtbot, window, video_file, tmp_path) -> None:
    out = tmp_path / "out"
    assert window.open_path(str(video_file))
    panel = window.features["video"]
    qtbot.waitUntil(lambda: panel.worker.session is not None, timeout=60000)
    # what the SSA vote says at F is recorded in the shapes: the object list's one label per track
    window.host.add_suggestion_provider("SSA vote", lambda image, mask: [("child", 0.8), ("dog", 0.2)])
    panel.goto(5)
    click_object(qtbot, window, 210, 350)
    finish(qtbot, window, "child")
    assert {s.extra["semantic"]["label"] for s in window.annotation.shapes} == {"child"}
    window.host.remove_suggestion_provider("SSA vote")
    with qtbot.waitSignal(panel.worker.propagationFinished, timeout=120000) as done:
        press(qtbot, window, Qt.Key_M, Qt.ControlModifier | Qt.ShiftModifier)  # backward
    assert done.args == [6, False]
    assert all((1, "child") in frame_tracks(out, f) for f in range(6))
    assert not (out / "clip_000006.json").exists() and not (out / "clip_000007.json").exists()

    panel.goto(4)
    panel.new_object()
    click_object(qtbot, window, 560, 260)
    finish(qtbot, window, "bed")
    with qtbot.waitSignal(panel.worker.propagationFinished, timeout=120000) as done:
        press(qtbot, window, Qt.Key_M, Qt.ControlModifier | Qt.AltModifier)  # both ways
    assert done.args == [8, False]
    for f in range(8):
        assert (2, "bed") in frame_tracks(out, f), f
    assert all(t != 1 for t, _ in frame_tracks(out, 7)), "object 1 was not re-tracked"
    rows = {r[0]: r for r in panel.dock_widget.object_list.row_texts()}
    assert rows["1"][1:3] == ["child (80%)", "0–5 (6)"] and rows["2"][1:3] == ["bed", "0–7 (8)"]
    assert json.loads((out / "clip_000005.json").read_text())["shapes"][0]["semantic"]["label"] == "child", \
        "the vote outlives the re-tracking of its frame"


def test_range_n_frames_and_keep_earlier_annotations(qtbot, window, video_file, tmp_path) -> None:
    from anylabel.gui.dialogs.remembered import recall

    out = tmp_path / "out"
    assert window.open_path(str(video_file))
    panel = window.features["video"]
    d = panel.dock_widget
    qtbot.waitUntil(lambda: panel.worker.session is not None, timeout=60000)
    d.range_box.setCurrentIndex(d.range_box.findData("count"))
    d.range_box.activated.emit(d.range_box.currentIndex())
    d.count_box.setValue(2)
    assert d.count_box.isVisible() and not d.end_box.isVisible()
    click_object(qtbot, window, 210, 350)
    finish(qtbot, window, "child")
    with qtbot.waitSignal(panel.worker.propagationFinished, timeout=120000) as done:
        d.propagate_button.click()
    assert done.args == [3, False] and not (out / "clip_000003.json").exists()

    # a person's box for object 1 on frame 2; "keep earlier" fills only the frames where it has none
    panel.goto(0)  # Follow showed the last tracked frame
    path = out / "clip_000002.json"
    data = json.loads(path.read_text())
    data["shapes"] = [{"label": "child", "points": [[1, 1], [9, 9]], "shape_type": "rectangle", "group_id": None,
                       "track_id": 1, "flags": {}, "description": ""}]
    path.write_text(json.dumps(data))
    d.range_box.setCurrentIndex(d.range_box.findData("end"))
    d.existing_box.setCurrentIndex(d.existing_box.findData("keep"))
    d.existing_box.activated.emit(d.existing_box.currentIndex())
    with qtbot.waitSignal(panel.worker.propagationFinished, timeout=120000) as done:
        press(qtbot, window, Qt.Key_M, Qt.ControlModifier)
    assert done.args == [8, False]
    kept = json.loads(path.read_text())["shapes"]
    assert [(s["shape_type"], s["points"]) for s in kept] == [("rectangle", [[1, 1], [9, 9]])]
    assert (1, "child") in frame_tracks(out, 7)
    assert recall("video") == {"direction": "forward", "range": "end", "count": 2, "existing": "keep"}


def test_interpolation_in_the_window_is_marked_and_undoable(qtbot, window, video_file, tmp_path) -> None:
    out = tmp_path / "out"

    def car(x: float) -> Shape:
        return Shape("car", [(x, 100.0), (x + 50, 150.0)], "rectangle", track_id=7)

    write_frames(video_file, out, {0: [car(100)], 4: [car(500)]})
    assert window.open_path(str(video_file))
    panel = window.features["video"]
    panel.goto(2)
    assert window.annotation.shapes == []
    press(qtbot, window, Qt.Key_J, Qt.ControlModifier | Qt.ShiftModifier)
    qtbot.waitUntil(lambda: len(window.annotation.shapes) == 1, timeout=20000)
    shape = window.annotation.shapes[0]
    assert shape.track_id == 7 and shape.points == [(300.0, 100.0), (350.0, 150.0)]
    assert window.shape_list.item(0).text().endswith("interpolated")
    assert not window.history.dirty, "the shown frame equals its file"
    assert all(frame_tracks(out, f) == {(7, "car")} for f in (1, 2, 3))
    rows = panel.dock_widget.object_list.row_texts()
    assert rows == [["7", "car", "0–4 (5), 3 interpolated", ""]]
    window.undo()
    assert window.annotation.shapes == [] and window.history.dirty
    assert "outside_tracks" not in window.annotation.extra, "undoing the fill is no deletion"
    window.redo()
    assert len(window.annotation.shapes) == 1 and not window.history.dirty

    # the car is hidden on frame 2: deleting its box marks it "outside" there, and interpolating again
    # leaves the frame empty (as CVAT); frame 1 keeps frame 0's box, frame 3 stays empty up to frame 4
    press(qtbot, window, Qt.Key_J, Qt.ControlModifier)  # edit mode
    window.canvas.set_selection({0})
    press(qtbot, window, Qt.Key_Delete)

    assert window.annotation.shapes == [] and window.annotation.extra.get("outside_tracks") == [7]
    window.undo()
    assert len(window.annotation.shapes) == 1 and "outside_tracks" not in window.annotation.extra
    window.redo()
    assert window.annotation.shapes == [] and window.annotation.extra.get("outside_tracks") == [7]
    assert window.save()
    press(qtbot, window, Qt.Key_J, Qt.ControlModifier | Qt.ShiftModifier)
    qtbot.waitUntil(lambda: "Interpolated" in panel.dock_widget.status.text(), timeout=20000)
    assert window.annotation.shapes == [] and frame_tracks(out, 2) == set()
    assert frame_tracks(out, 1) == {(7, "car")} and frame_tracks(out, 3) == set()


def test_vote_track_labels_runs_the_ssa_vote_over_every_frame(qtbot, window, video_file, tmp_path) -> None:
    from PIL import Image

    out, maps = tmp_path / "out", tmp_path / "maps"
    maps.mkdir()
    (maps / "class_names.txt").write_text("_background_\ngirl\ndog\n")
    for f in range(4):  # the label map says girl under track 1 on frames 0-2, dog on frame 3
        cm = np.zeros((540, 960), np.uint8)
        cm[100:181, 100:181] = 1 if f < 3 else 2
        Image.fromarray(cm, mode="L").save(maps / f"clip_{f:06d}.png")
    write_frames(video_file, out, {f: [part("child", 1)] for f in range(4)})
    window.config.semantic = f"labelmap:{maps}"
    assert window.open_path(str(video_file))
    panel = window.features["video"]
    qtbot.waitUntil(lambda: panel.index.track_ids() == [1], timeout=10000)
    panel.dock_widget.vote_button.click()
    qtbot.waitUntil(lambda: "Voted" in panel.dock_widget.status.text(), timeout=30000)
    assert panel.dock_widget.object_list.row_texts() == [["1", "girl (75%)", "0–3 (4)", "⚑ review"]]
    assert [s.label for s in window.annotation.shapes] == ["child"], "a person applies the decision"
    assert window.annotation.shapes[0].extra["semantic"]["label"] == "girl" and not window.history.dirty
    assert json.loads((out / "clip_000003.json").read_text())["shapes"][0]["semantic"]["label"] == "dog"
