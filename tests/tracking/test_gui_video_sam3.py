"""Video mode of the real main window (offscreen) with SAM 3 as the chosen model: the clicks and Ctrl+M go to SAM 3's
tracker (a small random one: tests/tracking/sam3_testutil.py, given to the window where the registry's file would be
loaded), not to the image model and not to a SAM2 model."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PyQt5.QtCore import Qt  # noqa: E402
from test_gui_video import StubSegmenter, click_object, finish, frame_tracks, press  # noqa: E402

from anylabel.config import Config  # noqa: E402
from anylabel.models import ModelRegistry, ModelSpec  # noqa: E402

pytestmark = [pytest.mark.gui, pytest.mark.skipif(importlib.util.find_spec("sam3") is None,
                                                  reason="the optional sam3 package is not installed")]


class Sam3Stub(StubSegmenter):
    """The window's image model is SAM 3 (its image side is not what this test is about)."""

    name = "sam3"


@pytest.fixture
def clip(frames_dir: Path, tmp_path: Path) -> Path:
    """The 8 bedroom frames as an MJPG .avi, as test_gui_video.py's video_file."""
    import cv2

    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (960, 540))
    for f in sorted(frames_dir.glob("*.jpg")):
        writer.write(cv2.imread(str(f)))
    writer.release()
    return path


@pytest.fixture
def window(qtbot, track_models: Path, tmp_path: Path, monkeypatch):
    from sam3_testutil import small_sam3_tracker

    monkeypatch.setenv("ANYLABEL_CONFIG", str(tmp_path / "config.yaml"))
    weights = tmp_path / "sam3.pt"
    weights.write_bytes(b"stands for the gated sam3.pt")
    mine = tmp_path / "mine.yaml"
    mine.write_text(f"models:\n  - {{name: sam3, family: sam3, path: {weights}}}\n")
    loaded = []

    def load(name, models_files=None, device=None, progress=None, registry=None):
        loaded.append(name)
        return small_sam3_tracker()

    monkeypatch.setattr("anylabel.tracking.model.load_video_predictor", load)
    from anylabel.gui.main_window import MainWindow

    registry = ModelRegistry.load([track_models, mine], include_shipped=False, include_env=False)
    registry._specs["stub"] = ModelSpec("stub", "classical", "stub")
    w = MainWindow(config=Config(), registry=registry, segmenter_factory=lambda name: Sam3Stub(),
                   model="sam3", output_dir=str(tmp_path / "out"))
    w.ask_unsaved = lambda *args: "discard"
    w.loaded_trackers = loaded
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


def test_with_sam3_chosen_clicks_and_ctrl_m_track_with_sam3(qtbot, window, clip: Path, tmp_path: Path) -> None:
    from anylabel.tracking.sam3_session import Sam3TrackingSession

    image_model_calls = StubSegmenter.calls
    assert window.open_path(str(clip))
    panel = window.features["video"]
    qtbot.waitUntil(lambda: panel.worker.session is not None, timeout=60000)
    assert window.loaded_trackers == ["sam3"] and panel.model == "sam3"
    assert isinstance(panel.worker.session, Sam3TrackingSession)
    click_object(qtbot, window, 420, 300)
    assert window.ai.preview_mask is not None and window.ai.preview_mask.shape == (540, 960)
    finish(qtbot, window, "bed")
    with qtbot.waitSignal(panel.worker.propagationFinished, timeout=300000) as done:
        press(qtbot, window, Qt.Key_M, Qt.ControlModifier)
    assert done.args == [8, False]
    out = tmp_path / "out"
    for f in range(8):
        assert frame_tracks(out, f) == {(1, "bed")}, f"frame {f}"
    assert StubSegmenter.calls == image_model_calls, "video clicks never reach the image model"
    shot = window.grab()  # what the user sees after Ctrl+M (looked at under Xvfb too)
    assert not shot.isNull() and shot.save(str(tmp_path / "sam3_video.png"))
