"""The window's propagation does no more file work than ``anylabel track`` (issue 16, GUI speed): each frame the
tracker writes is shown from the annotation it wrote, not parsed back from its file, and its pixels come from
the video's cache, not from the JPEG the tracker extracted."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from test_gui_video import click_object, finish, video_file, window  # noqa: E402,F401 (fixtures)

from anylabel.formats.labelme import load_labelme  # noqa: E402

pytestmark = pytest.mark.gui


def test_followed_frames_are_shown_from_what_the_tracker_wrote(qtbot, window, video_file: Path,  # noqa: F811
                                                               monkeypatch) -> None:
    assert window.open_path(str(video_file))
    panel = window.features["video"]
    qtbot.waitUntil(lambda: panel.worker.session is not None, timeout=60000)
    click_object(qtbot, window, 210, 350)
    finish(qtbot, window, "child")
    decoded_files, parsed = [], []
    real_decode = window.readahead.loader  # every image file the window decodes goes through it
    window.readahead.loader = lambda p: decoded_files.append(p) or real_decode(p)
    monkeypatch.setattr("anylabel.gui.video.frames.load_labelme", lambda p: parsed.append(p) or load_labelme(p))
    shown = []
    window.imageLoaded.connect(lambda _path: shown.append((window.row, [s.track_id for s in window.annotation.shapes])))
    with qtbot.waitSignal(panel.worker.propagationFinished, timeout=120000) as done:
        panel.propagate()
    assert done.args == [8, False]
    qtbot.waitUntil(lambda: window.row == 7)
    assert [row for row, _ in shown][:8] == list(range(8)), "Follow showed each frame as it arrived"
    assert all(set(ids) == {1} for _, ids in shown), shown
    # frame 7 was shown from what was written, then reloaded once the run finished (the file, unchanged)
    assert len(parsed) <= 1, f"tracked frames were not parsed back from their files: {parsed}"
    assert decoded_files == [], "no extracted JPEG was decoded to show a frame"
    on_disk = load_labelme(window.folder.annotation_path(7))
    assert [(s.label, s.points) for s in window.annotation.shapes] == [(s.label, s.points) for s in on_disk.shapes]
