"""Drive the real app as a user does, in a process of its own (run by tests/gui/test_real_display.py under
Xvfb): build the window through ``anylabel.gui.app.create_window``, wait for the model's answer to a real
mouse click on the canvas, finish the object (F + a label), save (Ctrl+S) and quit.

    python tests/gui/real_display_driver.py PATH --output DIR --result RESULT.json [--video] [--label L]
        [--screenshots DIR]

PATH is an image, a folder or a video file; with ``--video``, a folder of frames, opened as images first (a
click answered by the image model) and then in video mode (Video → Open video or frame folder: a click
answered by the tracker, which the object and the saved file come from).
RESULT.json gets what the test checks: the saved file, the shapes, which libraries the process loaded, the
time until the window was shown. A crash shows as the process dying on a signal, as a user would see it.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Callable

STARTED = time.perf_counter()


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    from PyQt5.QtTest import QTest

    end = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > end:
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        QTest.qWait(20)


def loaded_libraries() -> list:
    """The shared objects mapped into this process (``/proc/self/maps``)."""
    names = set()
    for line in Path("/proc/self/maps").read_text().splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and ".so" in parts[5]:
            names.add(Path(parts[5]).name)
    return sorted(names)


def model_error(w) -> str:
    texts = [b.text() for title, b in w.messages.items() if b.isVisible() and title != "Settings"]
    return "; ".join(texts)


def answer_label_dialog(w, label: str):
    from PyQt5 import QtCore

    timer = QtCore.QTimer()
    timer.setInterval(10)

    def tick() -> None:
        dialog = w.label_dialog
        if dialog is not None and dialog.isVisible():
            timer.stop()
            dialog.edit.setText(label)
            dialog.accept()

    timer.timeout.connect(tick)
    timer.start()
    return timer


def press(w, key, modifiers=None) -> None:
    from PyQt5 import QtWidgets
    from PyQt5.QtCore import Qt
    from PyQt5.QtTest import QTest

    w.activateWindow()
    w.raise_()
    try:
        wait_until(lambda: QtWidgets.QApplication.activeWindow() is w, 5, "the window to be active")
    except TimeoutError:
        pass  # keys still reach the canvas; only window-wide shortcuts need the active window
    QTest.keyClick(w.canvas, key, modifiers if modifiers is not None else Qt.NoModifier)


def grab(path: Path) -> None:
    """A screenshot of the whole X screen (what a user sees), through ImageMagick if installed."""
    import shutil
    import subprocess

    if shutil.which("import"):
        subprocess.run(["import", "-window", "root", str(path)], check=False, timeout=30)


def click_until_preview(w) -> tuple:
    """Left-click points of the image until the model answers a non-empty mask (random weights may answer
    an empty one); returns the clicked point."""
    from PyQt5.QtCore import Qt
    from PyQt5.QtTest import QTest

    h, wd = w.image.shape[:2]
    for fx, fy in ((0.5, 0.5), (0.35, 0.6), (0.65, 0.4), (0.25, 0.3), (0.75, 0.75)):
        w.ai.clear() if w.ai.has_prompts else None
        x, y = wd * fx, h * fy
        version = w.ai.version
        QTest.mouseClick(w.canvas, Qt.LeftButton, Qt.NoModifier, w.canvas.to_widget(x, y).toPoint())
        if w.ai.version == version:
            raise RuntimeError("the click did not reach the AI controller")
        wait_until(lambda: (w.ai.result is not None and w.ai.result.version == w.ai.version) or model_error(w),
                   90, "the model's answer to the click")
        if model_error(w):
            raise RuntimeError(f"the window reported: {model_error(w)}")
        if w.ai.preview_mask is not None and w.ai.preview_mask.any():
            return x, y
    raise RuntimeError("the model answered only empty masks")


def run(args: argparse.Namespace) -> dict:
    from PyQt5 import QtWidgets
    from PyQt5.QtCore import Qt

    from anylabel.gui.app import create_window
    from anylabel.gui.display import display_problem

    result: dict = {}
    problem = display_problem()  # as run_gui does, before Qt: it loads Qt's xcb plugin to check it
    if problem:
        raise RuntimeError(problem)
    w = create_window(args.path, output_dir=args.output)  # a frames folder opens as images first
    w.ask_unsaved = lambda *a: "discard"
    wait_until(lambda: w.isVisible() and w.windowHandle() is not None and w.windowHandle().isExposed(), 30,
               "the window to be shown")
    result["shown_s"] = time.perf_counter() - STARTED
    wait_until(lambda: w.image is not None, 60, "the image")
    result["image_model"] = w.worker.name if w.worker is not None else None
    shots = Path(args.screenshots) if args.screenshots else None
    if shots:
        QtWidgets.QApplication.processEvents()
        grab(shots / "1-image.png")
    result["clicked"] = click_until_preview(w)  # the image model (SAM, SAM2 ...) answers a click
    if args.video:
        w.ai.clear()
        w.features["video"].open(args.path)  # then Video → Open video or frame folder…
        wait_until(lambda: w.features["video"].worker.session is not None or model_error(w), 120, "the tracker")
        if model_error(w):
            raise RuntimeError(f"the window reported: {model_error(w)}")
        result["tracking_model"] = w.features["video"].model
        result["clicked"] = click_until_preview(w)  # the tracker answers a click on the frame
    if shots:
        from PyQt5.QtTest import QTest

        QTest.qWait(300)
        grab(shots / "2-preview.png")
    timer = answer_label_dialog(w, args.label)
    press(w, Qt.Key_F)
    wait_until(lambda: len(w.annotation.shapes) > 0, 30, "the finished object")
    timer.stop()
    press(w, Qt.Key_S, Qt.ControlModifier)
    wait_until(lambda: not w.history.dirty, 30, "the save")
    if shots:
        from PyQt5.QtTest import QTest

        QTest.qWait(300)
        grab(shots / "3-finished.png")
    from anylabel.formats.labelme import load_labelme  # after the QApplication: it imports cv2 (see display.py)

    saved = w.folder.annotation_path(w.row)
    result["saved"] = str(saved)
    shapes = load_labelme(saved).shapes
    result["shapes"] = {"count": len(shapes), "labels": sorted({s.label for s in shapes}),
                        "types": sorted({s.shape_type for s in shapes}),
                        "track_ids": sorted({s.track_id for s in shapes if getattr(s, "track_id", None) is not None})}
    result["libraries"] = loaded_libraries()
    w.close()
    QtWidgets.QApplication.instance().quit()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--output", required=True)
    parser.add_argument("--result", required=True)
    parser.add_argument("--video", action="store_true", help="open PATH (a frames folder) in video mode")
    parser.add_argument("--label", default="thing")
    parser.add_argument("--screenshots", help="save whole-screen screenshots (ImageMagick's import) here")
    args = parser.parse_args()
    result = run(args)
    Path(args.result).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
