"""Reproduce the README screenshot: the real window, offscreen, after finishing an object.

    QT_QPA_PLATFORM=offscreen python -m anylabel.gui.screenshot docs/screenshot.png [--model classical]

Opens ``truck.jpg`` of sam2's demo data, prompts the truck with a box and a click, finishes it as
"truck" through the label dialog, starts a second object (a wheel: a positive and a negative click) so
the preview and the prompts show, and saves ``window.grab()``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

DEFAULT_IMAGE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sam2-demo" / "truck.jpg"


def _wait(app, condition, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the model did not answer in time")
        app.processEvents()
        time.sleep(0.005)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="PNG file to write")
    parser.add_argument("--image", default=str(DEFAULT_IMAGE))
    parser.add_argument("--model", default="classical")
    parser.add_argument("--size", default="1600x1000")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt5 import QtCore, QtWidgets

    from anylabel.config import Config
    from anylabel.gui.app import create_window

    w, h = (int(v) for v in args.size.split("x"))
    # default settings (autosave off) and nothing saved: the shared data folder is never written to
    window = create_window(args.image, config=Config(), model=args.model)
    app = QtWidgets.QApplication.instance()
    window.resize(w, h)
    window.canvas.fit_to_window()
    app.processEvents()

    def answered() -> bool:
        ai = window.ai
        return ai.result is not None and ai.result.version == ai.version

    def label(text: str) -> None:
        def tick() -> None:
            if window.label_dialog is not None:
                window.label_dialog.edit.setText(text)
                window.label_dialog.accept()
            else:
                QtCore.QTimer.singleShot(20, tick)

        QtCore.QTimer.singleShot(20, tick)

    ai = window.ai
    ai.add_box((95, 250, 1705, 835), negative=False)
    _wait(app, answered)
    label("truck")
    ai.finish()
    _wait(app, lambda: bool(window.annotation.shapes))
    ai.add_box((415, 560, 735, 835), negative=False)  # the rear wheel, in progress
    ai.add_point(575, 700, True)
    _wait(app, answered)
    window.canvas.set_selection(set())
    window.canvas.cursorMoved.emit(575, 700)
    app.processEvents()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    ok = window.grab().save(args.out)
    print(f"{args.out}: {'written' if ok else 'FAILED'}; status: {window.model_status.text()}")
    window.history.mark_saved()
    window.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
