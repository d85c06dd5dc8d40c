"""Long videos in the window (issue 16): opening decodes one frame and scans no file on the GUI thread,
showing a frame decodes it from the video (no JPEG written), a tracked frame is shown from the annotation the
tracker wrote (not parsed back) unless its file changed since."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from gui_fakes import DiskSegmenter

from anylabel.document import ImageAnnotation, Shape
from anylabel.formats.labelme import load_labelme, save_labelme
from anylabel.gui.video.frames import MARKER, VideoFrameFolder
from anylabel.imaging.video import open_frames
from anylabel.tracking.state import FrameResult

pytestmark = pytest.mark.gui
N = 300


@pytest.fixture(scope="module")
def long_video(tmp_path_factory) -> Path:
    """A 300-frame 64x48 MJPG video whose frames differ (the frame number in the pixels)."""
    path = tmp_path_factory.mktemp("long") / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (64, 48))
    for i in range(N):
        img = np.full((48, 64, 3), (i * 7) % 256, np.uint8)
        cv2.putText(img, str(i), (2, 40), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
        writer.write(img)
    writer.release()
    return path


def _annotated(folder: Path, video: Path, frames, track_id: int) -> None:
    """LabelMe files for ``frames`` of ``video`` in its annotation folder (marker included), one shape each."""
    folder.mkdir(exist_ok=True)
    (folder / MARKER).write_text(json.dumps({"video": video.name}), encoding="utf-8")
    for f in frames:
        ann = ImageAnnotation(image_path=f"{video.stem}_{f:06d}.jpg", image_height=48, image_width=64, frame_index=f)
        ann.shapes.append(Shape(label="car", points=[(1, 1), (20, 1), (20, 20)], track_id=track_id))
        save_labelme(ann, folder / f"{video.stem}_{f:06d}.json")


@pytest.fixture
def video(long_video: Path, tmp_path: Path) -> Path:
    """The long video in a folder of its own, with 40 annotated frames of track 7 beside it."""
    path = tmp_path / long_video.name
    path.symlink_to(long_video)
    _annotated(tmp_path / "clip.anylabel", path, range(0, N, 7)[:40], track_id=7)
    return path


def test_opening_decodes_one_frame_and_scans_no_file_on_the_gui_thread(make_window, video, qtbot, monkeypatch):
    import anylabel.tracking.folder as tracked

    scans = []
    real = tracked.highest_track_id
    monkeypatch.setattr(tracked, "highest_track_id",
                        lambda folder: scans.append(threading.current_thread()) or real(folder))
    w = make_window({"disk": DiskSegmenter})
    parsed = []
    monkeypatch.setattr("anylabel.gui.video.frames.load_labelme", lambda p: parsed.append(p) or load_labelme(p))
    assert w.open_path(str(video))
    panel = w.features["video"]
    assert len(w.folder) == N and w.row == 0
    assert w.folder.source.decoded <= 2, "frame 0 (decoded by the open) and at most its neighbour"
    assert scans == [] or threading.main_thread() not in scans, "the track id scan is off the GUI thread"
    assert [p.name for p in parsed] == ["clip_000000.json"], "only the shown frame's file is read"
    qtbot.waitUntil(lambda: panel.max_track_id == 7, timeout=10000)
    assert threading.main_thread() not in scans and len(scans) == 1
    assert panel.current_obj == 8, "a new object never reuses the id of one annotated earlier"
    assert not list(video.with_name("clip.anylabel").glob("*.jpg")), "no frame extracted by showing it"


def test_a_shown_frame_comes_from_the_video_and_is_extracted_only_when_saved(make_window, video, qtbot):
    w = make_window({"disk": DiskSegmenter})
    assert w.open_path(str(video))
    panel, out = w.features["video"], video.with_name("clip.anylabel")
    reference = open_frames(video)
    for frame in (150, 151, 152, 10):
        before = w.folder.source.decoded
        panel.goto(frame)
        assert w.row == frame and np.array_equal(w.image, reference[frame])
        assert w.folder.source.decoded - before <= 3  # the frame (unless decoded ahead) and its neighbours
    assert not list(out.glob("*.jpg"))
    assert w.folder.image_path(10) == out / "clip_000010.jpg"  # where it goes, not made yet
    w.session.add_shapes([Shape(label="dog", points=[(2, 2), (30, 2), (30, 30)])], "draw")
    assert w.save()
    assert [p.name for p in out.glob("*.jpg")] == ["clip_000010.jpg"]
    saved = load_labelme(out / "clip_000010.json")
    assert saved.image_path == "clip_000010.jpg" and saved.frame_index == 10
    assert cv2.imread(str(out / "clip_000010.jpg")).shape == (48, 64, 3)


def _result(frame: int, x: int) -> FrameResult:
    mask = np.zeros((48, 64), bool)
    mask[10:30, x:x + 20] = True
    return FrameResult(frame, masks={3: mask}, scores={3: 0.9}, labels={3: "cat"})


def test_a_tracked_frame_is_shown_from_what_was_written_unless_the_file_changed(video: Path) -> None:
    folder = VideoFrameFolder(open_frames(video), video.with_name("clip.anylabel"))
    written = folder.write_result(_result(5, 10))
    ann, exists = folder.load(5)
    assert exists and ann is written and folder.parsed == 0, "handed over, not parsed back"
    assert [s.track_id for s in ann.shapes] == [3]
    assert not folder.versions.changed(5, folder.annotation_path(5)), "its version is known: Ctrl+S does not ask"
    ann2, _ = folder.load(5)  # handed over once: the next load reads the file
    assert folder.parsed == 1 and ann2 is not written and [s.label for s in ann2.shapes] == ["cat"]

    folder.write_result(_result(6, 20))
    path = folder.annotation_path(6)
    other = load_labelme(path)
    other.shapes[0].label = "changed elsewhere"
    save_labelme(other, path)  # another program rewrote the file after the tracker
    ann3, _ = folder.load(6)
    assert [s.label for s in ann3.shapes] == ["changed elsewhere"] and folder.parsed == 2


def test_clicks_before_the_track_id_scan_answers_never_join_an_earlier_track(make_window, video, qtbot,
                                                                              monkeypatch):
    """Before: clicks made in the first second (before the scan of the files answered) kept id 1, so F merged
    the new object into a track of the files with that id."""
    import anylabel.tracking.folder as tracked

    _annotated(video.with_name("clip.anylabel"), video, [3], track_id=1)
    answer = threading.Event()
    real = tracked.highest_track_id
    monkeypatch.setattr(tracked, "highest_track_id", lambda folder: answer.wait(10) and real(folder))
    w = make_window({"disk": DiskSegmenter})
    assert w.open_path(str(video))
    panel = w.features["video"]
    assert panel.current_obj == 1  # provisional, until the scan answers
    w.ai.add_point(30, 20, True)
    assert w.ai.has_prompts
    said = []
    monkeypatch.setattr(panel, "_status", said.append)
    answer.set()
    qtbot.waitUntil(lambda: panel.max_track_id == 7, timeout=10000)
    assert panel.current_obj == 8 and not w.ai.has_prompts
    assert any("track 7" in text and "object 8" in text for text in said), said
