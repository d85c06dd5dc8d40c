"""Drive issue 15 part B in the real app on a real X server (run by test_real_display_review.py): segment
everything (Ctrl+G) and keep a candidate with a real mouse click through the label dialog with flags and
attributes, the polygon detail keys, the view adjustment dialog, K and Shift+D, Ctrl+S; then quit.

    python tests/gui/real_display_review_driver.py FOLDER --result RESULT.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from real_display_driver import press, wait_until


def run(folder: str) -> dict:
    import numpy as np
    from PyQt5.QtCore import Qt, QTimer
    from PyQt5.QtTest import QTest

    from anylabel.gui.app import create_window

    out: dict = {}
    w = create_window(folder, model="classical")
    w.ask_unsaved = lambda *a: "discard"
    wait_until(lambda: w.isVisible() and w.image is not None and w.worker.segmenter is not None, 60, "the window")
    press(w, Qt.Key_G, Qt.ControlModifier)
    wait_until(lambda: bool(w.session.assist.candidates), 120, "the everything candidates")
    cands = w.session.assist.candidates
    out["candidates"] = len(cands)
    c = max(cands, key=lambda c: int(c.mask.sum()))
    ys, xs = np.nonzero(c.mask)
    k = len(xs) // 2
    x, y = float(xs[k]), float(ys[k])  # a pixel of the largest candidate (watershed regions do not overlap)
    seen = {}

    def answer() -> None:
        d = w.label_dialog
        if d is None or not d.isVisible():
            QTimer.singleShot(20, answer)
            return
        d.edit.setText("road")
        seen["flags"] = list(d.details.flag_boxes)
        seen["attributes"] = list(d.details.attribute_boxes)
        d.details.flag_boxes["occluded"].setChecked(True)
        d.details.attribute_boxes["surface"].setCurrentText("asphalt")
        d.accept()

    QTimer.singleShot(20, answer)
    QTest.mouseClick(w.canvas, Qt.LeftButton, Qt.NoModifier, w.canvas.to_widget(x, y).toPoint())
    wait_until(lambda: bool(w.annotation.shapes), 60, "the kept candidate")
    out["dialog"] = seen
    out["kept"] = {"label": w.annotation.shapes[0].label, "flags": w.annotation.shapes[0].flags,
                   "attributes": w.annotation.shapes[0].attributes}
    out["candidates_left"] = len(w.session.assist.candidates)
    press(w, Qt.Key_Escape)
    out["hidden"] = not w.session.assist.candidates
    press(w, Qt.Key_Minus, Qt.AltModifier)
    out["tolerance"] = w.session.tolerance
    press(w, Qt.Key_B, Qt.ControlModifier | Qt.ShiftModifier)
    dialog = w.view_adjust.dialog
    wait_until(lambda: dialog is not None and dialog.isVisible(), 10, "the view adjustment dialog")
    before = w.image.copy()
    dialog.sliders["brightness"].setValue(30)
    wait_until(lambda: not w.session.view.adjustment.neutral, 10, "the adjustment")
    out["image_unchanged"] = bool(np.array_equal(before, w.image))
    shown = w.canvas.pixmap.toImage().pixelColor(0, 0)
    out["shown"] = [shown.red(), shown.green(), shown.blue()]
    out["pixel"] = [int(v) for v in w.image[0, 0]]
    out["lut"] = [int(w.session.view.adjustment.lut()[v]) for v in w.image[0, 0]]
    dialog.close()
    press(w, Qt.Key_K)
    out["checked"] = w.annotation.checked
    press(w, Qt.Key_S, Qt.ControlModifier)
    out["saved"] = str(w.session.folder.annotation_path(0))
    press(w, Qt.Key_D, Qt.ShiftModifier)
    out["row_after_next_unchecked"] = w.row
    w.close()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--result", required=True)
    args = parser.parse_args(argv)
    result = run(args.folder)
    Path(args.result).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
