"""Opening a video: annotations go to a folder of our own; a missing SAM2 model is offered for download
(asked first), never downloaded silently, and the window stays usable without it."""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import cv2
import pytest
from gui_fakes import DiskSegmenter
from gui_testutil import answer_label
from PyQt5 import QtWidgets
from PyQt5.QtCore import Qt
from test_gui_ai_workflow import click, wait_preview

from anylabel.formats.labelme import load_labelme
from anylabel.gui.video.frames import MARKER, claim_video_folder
from anylabel.models import ModelRegistry, ModelSpec

pytestmark = pytest.mark.gui
SAM2 = "sam2_missing"


@pytest.fixture
def videos(tmp_path, sam2_demo_dir) -> Path:
    """``bedroom.avi`` (4 frames) beside a ``bedroom/`` folder that already holds the user's own frames."""
    out = tmp_path / "videos"
    mine = out / "bedroom"
    mine.mkdir(parents=True)
    frames = sorted((sam2_demo_dir / "bedroom").glob("*.jpg"))[:4]
    for f in frames[:2]:
        shutil.copy(f, mine / f.name)
    (mine / "notes.txt").write_text("my frames")
    writer = cv2.VideoWriter(str(out / "bedroom.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (960, 540))
    for f in frames:
        writer.write(cv2.imread(str(f)))
    writer.release()
    return out


def _registry(tmp_path) -> ModelRegistry:
    return ModelRegistry([
        ModelSpec("disk", "classical", "disk"),
        ModelSpec(SAM2, "sam2", "SAM2 (not downloaded)", url=(tmp_path / "nowhere.pt").as_uri(),
                  filename="sam2_missing.pt", sha256="0" * 64, size=155_906_050,
                  settings={"config": "configs/sam2.1/sam2.1_hiera_t.yaml"}),
    ], cache_dir=tmp_path / "cache")


def _listing(folder: Path):
    return sorted(p.name for p in folder.iterdir())


def test_video_without_its_model_asks_then_stays_usable(make_window, videos, tmp_path, qtbot, caplog):
    registry = _registry(tmp_path)
    w = make_window({"disk": DiskSegmenter}, model="disk", registry=registry)
    asked, downloads = [], []
    panel = w.features["video"]
    panel.ask_download = lambda parent, reg, spec: asked.append(spec.name) or False
    w.model_picker.start_download = lambda spec: downloads.append(spec.name)
    before = _listing(videos / "bedroom")
    with caplog.at_level(logging.INFO):
        assert w.open_path(str(videos / "bedroom.avi"))
        qtbot.waitUntil(lambda: asked == [SAM2])  # asked, like the model picker ...
    assert downloads == []  # ... and nothing downloaded after "no"
    box = w.messages["Tracking"]
    assert SAM2 in box.text() and "not downloaded" in box.text() and "model picker" in box.text()
    assert "loading the tracking model" not in panel.dock_widget.status.text()
    assert "Tracking is off" in panel.dock_widget.status.text()
    assert not any(r.exc_info for r in caplog.records)  # no traceback in the terminal
    assert w.ai.worker is w.worker and w.worker.name == "disk"  # clicks go to the image model
    # the frames are browsable and annotatable (once the message is read and closed)
    box.close()
    w.activateWindow()
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is w)
    qtbot.keyClick(w, Qt.Key_D)
    assert w.row == 1
    click(qtbot, w, 480, 270)
    wait_preview(qtbot, w)
    answer_label(qtbot, w, "bed")
    qtbot.keyClick(w.canvas, Qt.Key_F)
    qtbot.waitUntil(lambda: len(w.annotation.shapes) == 1)
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is w)
    qtbot.keyClick(w, Qt.Key_S, Qt.ControlModifier)
    assert not w.history.dirty
    ours = videos / "bedroom.anylabel"
    saved = load_labelme(w.folder.annotation_path(1))
    assert w.folder.annotation_path(1).parent == ours and saved.labels() == ["bed"]
    assert json.loads((ours / MARKER).read_text())["video"] == "bedroom.avi"
    assert _listing(videos / "bedroom") == before  # the user's folder was not touched
    panel.propagate()  # Ctrl+M without a tracker: says so and how to get one
    assert "Tracking is off" in w.messages["Tracking"].text() and "model picker" in w.messages["Tracking"].text()
    assert not panel.worker.propagating


def test_yes_starts_the_pickers_download(make_window, videos, tmp_path, qtbot):
    w = make_window({"disk": DiskSegmenter}, model="disk", registry=_registry(tmp_path))
    downloads = []
    panel = w.features["video"]
    panel.ask_download = lambda parent, reg, spec: True
    w.model_picker.start_download = lambda spec: downloads.append(spec.name)
    assert w.open_path(str(videos / "bedroom.avi"))
    qtbot.waitUntil(lambda: downloads == [SAM2])
    assert panel.tracking == "off" and w.ai.worker is w.worker  # until the download is done


def test_a_model_file_that_does_not_load_is_a_message(make_window, videos, tmp_path, qtbot, caplog):
    registry = _registry(tmp_path)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "sam2_missing.pt").write_bytes(b"not a checkpoint")  # present, wrong checksum
    w = make_window({"disk": DiskSegmenter}, model="disk", registry=registry)
    panel = w.features["video"]
    panel.ask_download = lambda *a: pytest.fail("the file is there: nothing to download")
    with caplog.at_level(logging.INFO):
        assert w.open_path(str(videos / "bedroom.avi"))
        qtbot.waitUntil(lambda: "Tracking" in w.messages, timeout=30000)
    assert SAM2 in w.messages["Tracking"].text() and "could not be loaded" in w.messages["Tracking"].text()
    qtbot.waitUntil(lambda: panel.tracking == "off" and w.ai.worker is w.worker)
    assert "loading the tracking model" not in panel.dock_widget.status.text()
    assert not any(r.exc_info for r in caplog.records)


def test_video_folder_is_ours_or_a_new_one(tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"")
    (tmp_path / "clip.anylabel").mkdir()  # someone else's folder of that name
    (tmp_path / "clip.anylabel" / "x.jpg").write_bytes(b"")
    first = claim_video_folder(video)
    assert first == tmp_path / "clip.anylabel-2" and (first / MARKER).is_file()
    assert claim_video_folder(video) == first  # ours next time
    other = tmp_path / "clip.avi"
    other.write_bytes(b"")
    assert claim_video_folder(other) == tmp_path / "clip.anylabel-3"  # another video of the same stem
