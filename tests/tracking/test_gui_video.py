"""Video mode of the real main window, offscreen: open a video, click, F, Ctrl+M, cancel, Ctrl+Shift+R."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PyQt5 import QtCore, QtWidgets  # noqa: E402
from PyQt5.QtCore import Qt  # noqa: E402

from anylabel.backends import MaskCandidate, Segmenter  # noqa: E402
from anylabel.config import Config  # noqa: E402
from anylabel.models import ModelRegistry, ModelSpec  # noqa: E402

pytestmark = pytest.mark.gui
TRACK_MODEL = "sam2_track_test"


class StubSegmenter(Segmenter):
    """The window's image model; video mode must never use it."""

    name = "stub"
    calls = 0

    def set_image(self, image, key=None) -> None:
        StubSegmenter.calls += 1

    def predict(self, prompt):
        StubSegmenter.calls += 1
        return [MaskCandidate(np.zeros((2, 2), bool), 0.0)]

    def everything(self, image=None, key=None, progress=None):
        return []


@pytest.fixture
def video_file(frames_dir: Path, tmp_path: Path) -> Path:
    """The 8 bedroom frames as an MJPG .avi (decoded through OpenCV like any user video)."""
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (960, 540))
    for f in sorted(frames_dir.glob("*.jpg")):
        writer.write(cv2.imread(str(f)))
    writer.release()
    return path


@pytest.fixture
def window(qtbot, track_models: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("ANYLABEL_CONFIG", str(tmp_path / "config.yaml"))
    from anylabel.gui.main_window import MainWindow

    registry = ModelRegistry.load([track_models], include_shipped=False, include_env=False)
    registry._specs["stub"] = ModelSpec("stub", "classical", "stub")
    w = MainWindow(config=Config(), registry=registry, segmenter_factory=lambda name: StubSegmenter(),
                   model="stub", output_dir=str(tmp_path / "out"))
    w.ask_unsaved = lambda *args: "discard"  # qtbot closes the window before this fixture's teardown
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    yield w
    if w.history is not None:
        w.history.mark_saved()
    w.features["video"].shutdown()
    if w.worker is not None:
        w.worker.stop()
        w.worker = None


def answer_label(qtbot, window, label: str) -> QtCore.QTimer:
    """Type ``label`` into the next label dialog and accept it (polled from inside its event loop)."""
    timer = QtCore.QTimer()
    timer.setInterval(10)

    def tick() -> None:
        dialog = window.label_dialog
        if dialog is not None and dialog.isVisible():
            timer.stop()
            dialog.edit.setText(label)
            dialog.accept()

    timer.timeout.connect(tick)
    timer.start()
    return timer


def press(qtbot, window, key, modifiers=Qt.NoModifier) -> None:
    """A key press on the canvas, as a user types it: the window is active (a closed dialog leaves no
    active window offscreen, and window shortcuts need one)."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is window, timeout=5000)
    qtbot.keyClick(window.canvas, key, modifiers)


def click_object(qtbot, window, x: float, y: float) -> None:
    """A left click at image pixel (x, y) on the canvas, then wait for the tracker's preview."""
    canvas = window.canvas
    pos = canvas.to_widget(x, y).toPoint()
    version = window.ai.version
    qtbot.mouseClick(canvas, Qt.LeftButton, Qt.NoModifier, pos)
    assert window.ai.version > version, "the click reached the AI controller"
    qtbot.waitUntil(lambda: window.ai.result is not None and window.ai.result.version == window.ai.version,
                    timeout=60000)


def finish(qtbot, window, label: str) -> None:
    timer = answer_label(qtbot, window, label)
    press(qtbot, window, Qt.Key_F)
    qtbot.waitUntil(lambda: not window.ai.has_prompts, timeout=10000)
    timer.stop()


def frame_tracks(out: Path, frame: int):
    data = json.loads((out / f"clip_{frame:06d}.json").read_text())
    assert data["frame_index"] == frame
    return {(s["track_id"], s["label"]) for s in data["shapes"]}


def test_video_mode_click_finish_propagate_cancel_reset(qtbot, window, video_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert window.open_path(str(video_file))
    panel = window.features["video"]
    assert panel is not None and panel.active and len(window.folder) == 8
    assert window.row == 0 and window.canvas.image_size == (540, 960)
    qtbot.waitUntil(lambda: panel.worker.session is not None, timeout=60000)
    assert window.ai.worker is panel.worker

    click_object(qtbot, window, 210, 350)
    assert window.ai.preview_mask is not None and window.ai.preview_mask.any()
    finish(qtbot, window, "child")
    click_object(qtbot, window, 560, 260)
    finish(qtbot, window, "bed")
    assert {(s.track_id, s.label) for s in window.annotation.shapes} == {(1, "child"), (2, "bed")}
    assert panel.objects == {1: "child", 2: "bed"} and panel.current_obj == 3
    assert window.history.dirty

    # Ctrl+M: saves frame 0, tracks both objects to the end in the background, writing every frame
    with qtbot.waitSignal(panel.worker.propagationFinished, timeout=120000) as done:
        press(qtbot, window, Qt.Key_M, Qt.ControlModifier)
        assert panel.dock_widget.cancel_button.isEnabled()
    assert done.args == [8, False]
    for f in range(8):
        assert frame_tracks(out, f) == {(1, "child"), (2, "bed")}, f"frame {f}"
    assert not panel.dock_widget.progress.isVisible() and panel.dock_widget.propagate_button.isEnabled()
    assert {(s.track_id, s.label) for s in window.annotation.shapes} == {(1, "child"), (2, "bed")}
    assert StubSegmenter.calls == 0, "video clicks never reach the image model"

    # a correction of object 1 on frame 5: its shapes there are replaced in one undo step, and Ctrl+M
    # re-tracks only object 1, from frame 5
    panel.goto(5)
    before5 = [(s.track_id, s.points) for s in window.annotation.shapes]
    bed = next(i for i, s in enumerate(window.annotation.shapes) if s.track_id == 2)
    window.canvas.set_selection({bed})  # selecting a tracked shape picks its object
    assert panel.current_obj == 2
    panel.dock_widget.object_box.activated.emit(panel.dock_widget.object_box.findData(1))  # so does the list
    assert panel.current_obj == 1
    click_object(qtbot, window, 230, 330)
    window.canvas.set_selection(set())
    window.canvas.set_selection({bed})  # while object 1 is being prompted, its clicks are not thrown away
    assert panel.current_obj == 1 and window.ai.has_prompts
    window.canvas.set_selection(set())
    finish(qtbot, window, "child")
    after5 = [(s.track_id, s.points) for s in window.annotation.shapes]
    assert [t for t, _ in after5 if t == 2] == [t for t, _ in before5 if t == 2]
    assert [p for t, p in after5 if t == 1] != [p for t, p in before5 if t == 1]
    window.undo()
    assert [(s.track_id, s.points) for s in window.annotation.shapes] == before5
    window.redo()
    assert [(s.track_id, s.points) for s in window.annotation.shapes] == after5
    with qtbot.waitSignal(panel.worker.propagationFinished, timeout=120000) as done:
        press(qtbot, window, Qt.Key_M, Qt.ControlModifier)
    assert done.args == [3, False]
    assert frame_tracks(out, 4) == frame_tracks(out, 6) == {(1, "child"), (2, "bed")}

    # a third object from frame 3; Cancel after the first tracked frame stops within one frame
    panel.goto(3)
    assert window.row == 3 and panel.dock_widget.slider.value() == 3
    panel.dock_widget.follow_box.setChecked(False)
    assert panel.current_obj == 1, "after a correction the clicks stay with the corrected object"
    panel.dock_widget.new_object_button.click()
    assert panel.current_obj == 3
    click_object(qtbot, window, 800, 300)
    finish(qtbot, window, "lamp")
    with qtbot.waitSignal(panel.worker.propagationFinished, timeout=120000) as done:
        with qtbot.waitSignal(panel.worker.frameTracked, timeout=60000):
            panel.dock_widget.propagate_button.click()
        panel.dock_widget.cancel_button.click()
    frames, cancelled = done.args
    assert cancelled and 1 <= frames <= 2, done.args
    assert (3, "lamp") in frame_tracks(out, 3) and (1, "child") in frame_tracks(out, 3)
    assert all(t != 3 for t, _ in frame_tracks(out, 7)), "cancelled before frame 7"

    # Ctrl+Shift+R: the tracker forgets everything, the files stay; new ids do not reuse old ones
    before = {p.name: p.read_bytes() for p in out.glob("*.json")}
    with qtbot.waitSignal(panel.worker.trackerReset, timeout=60000):
        press(qtbot, window, Qt.Key_R, Qt.ControlModifier | Qt.ShiftModifier)
    assert panel.worker.session.obj_ids == [] and panel.objects == {} and panel.current_obj == 4
    box = panel.dock_widget.object_box  # the objects keep their ids in the object list (from the files)
    assert [box.itemText(i) for i in range(box.count())] == ["1: child", "2: bed", "3: lamp", "4 (new)"]
    assert [r[:2] for r in panel.dock_widget.object_list.row_texts()] == [["1", "child"], ["2", "bed"], ["3", "lamp"]]
    assert {p.name: p.read_bytes() for p in out.glob("*.json")} == before
    window.next_image()  # D moves to the next frame, which still shows the tracked shapes
    assert window.row == 4 and {s.track_id for s in window.annotation.shapes} >= {1, 2}

    # leaving video mode hands the clicks back to the image model
    images = tmp_path / "images"
    images.mkdir()
    cv2.imwrite(str(images / "a.jpg"), np.zeros((32, 32, 3), np.uint8))
    assert window.open_path(str(images))
    assert not panel.active and window.ai.worker is window.worker
