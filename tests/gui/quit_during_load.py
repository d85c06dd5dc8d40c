"""Driver for test_worker_shutdown: the app quits while the tracker loads a (fake, slow) model.

    python quit_during_load.py FRAMES_DIR MODEL_FILE LOAD_SECONDS [STOP_WAIT_MS]

The tracker's model load sleeps LOAD_SECONDS (a >30 s SAM2 load on a slow machine); the app quits 0.3 s
after the video is opened. STOP_WAIT_MS shortens how long the shutdown waits for the worker (the old
code's 30 s wait, so that the test need not take 30 s). Exit status and stderr are what the test checks.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    frames, model_file, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    wait_ms = int(sys.argv[4]) if len(sys.argv) > 4 else None
    from PyQt5 import QtCore, QtWidgets

    from anylabel.config import Config
    from anylabel.gui.video import panel as video_panel
    from anylabel.gui.video import worker as video_worker
    from anylabel.models import ModelRegistry, ModelSpec

    if wait_ms is not None:  # the bound the shutdown waits for a job, shortened for the test
        stop = video_worker.TrackerWorker.stop
        video_worker.TrackerWorker.stop = lambda self, wait_ms_=wait_ms: stop(self, wait_ms_)
        try:
            from anylabel.gui import tasks

            tasks.JOIN_TIMEOUT_S = wait_ms / 1000
        except ImportError:  # the old code has no anylabel.gui.tasks
            pass

    def slow_load(self, name):
        time.sleep(seconds)  # a model load cannot be interrupted
        print("load finished", flush=True)
        return object()

    video_panel.VideoPanel._load_predictor = slow_load
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["quit_during_load"])
    from anylabel.gui.main_window import MainWindow

    registry = ModelRegistry([ModelSpec("sam2_fake", "sam2", "SAM2 fake", path=Path(model_file)),
                              ModelSpec("classical", "classical", "classical")])
    window = MainWindow(config=Config(), registry=registry, model="classical")
    window.show()
    panel = window._video() if hasattr(window, "_video") and callable(window._video) else None
    if panel is None:
        panel = window.features["video"]
    assert panel.open(frames), "the frames did not open"
    window.ask_unsaved = lambda *a: "discard"
    held = [window]  # the timer must not keep the window alive past the `del` below
    QtCore.QTimer.singleShot(300, lambda: (print("quitting", flush=True), held[0].close(), app.quit()))
    code = app.exec_()
    print("event loop ended", flush=True)
    del window, panel  # as anylabel.gui.app.run_gui does
    held.clear()
    return code


if __name__ == "__main__":
    sys.exit(main())
