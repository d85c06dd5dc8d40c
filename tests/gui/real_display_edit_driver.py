"""Drive issue 15's mask and shape edits in the real app on a real X server (run by test_real_display_edit.py),
with real X key presses and mouse drags (XTEST, :mod:`xinput`; QTest when python-xlib is missing): a click
answered by a random-weight SAM, the brush (W) on the preview with its radius keys, F, the eraser (E) on the
finished shape, boolean edits of two rectangles, Ctrl+R on the shape, every shape type with Z / X, Help →
Shortcuts; a screenshot of the screen after each step; Ctrl+S; then quit.

    python tests/gui/real_display_edit_driver.py FOLDER --model sam_vit_b --result RESULT.json [--shots DIR]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Optional

from real_display_driver import wait_until
from xinput import open_input


class Driver:
    """The window and its input: real X events when possible (:attr:`x`), else QTest."""

    def __init__(self, w, shots: Path) -> None:
        from PyQt5.QtTest import QTest

        self.w, self.shots = w, shots
        self.x = open_input(lambda: QTest.qWait(30))
        self.taken: list = []

    def screen(self, qx: float, qy: float):
        """The screen pixel of image point (qx, qy)."""
        p = self.w.canvas.mapToGlobal(self.w.canvas.to_widget(qx, qy).toPoint())
        return p.x(), p.y()

    def key(self, combo: str) -> None:
        from PyQt5.QtGui import QKeySequence
        from PyQt5.QtTest import QTest

        self.w.activateWindow()
        if self.x is not None:
            self.x.key(combo)
        else:
            from PyQt5 import QtWidgets
            from PyQt5.QtCore import Qt

            try:  # QTest's keys reach window shortcuts only in the active window (a real key press activates it)
                wait_until(lambda: QtWidgets.QApplication.activeWindow() is self.w, 5, "the window to be active")
            except TimeoutError:
                pass  # a modal dialog is up: the key is for the canvas anyway
            code = QKeySequence(combo)[0]
            mods = code & int(Qt.KeyboardModifierMask)
            QTest.keyClick(self.w.canvas, Qt.Key(code & ~mods), Qt.KeyboardModifiers(mods))
        QTest.qWait(50)

    def drag(self, points, button: int = 1) -> None:
        """A mouse drag through image points (button 1 left, 3 right)."""
        from PyQt5 import QtCore, QtGui, QtWidgets
        from PyQt5.QtCore import Qt
        from PyQt5.QtTest import QTest

        if self.x is not None:
            self.x.drag([self.screen(*p) for p in points], button)
        else:
            c, b = self.w.canvas, Qt.LeftButton if button == 1 else Qt.RightButton

            def send(kind, p, buttons):
                QtWidgets.QApplication.sendEvent(c, QtGui.QMouseEvent(kind, c.to_widget(*p), b, buttons,
                                                                      Qt.NoModifier))

            send(QtCore.QEvent.MouseButtonPress, points[0], b)
            for p in points[1:]:
                send(QtCore.QEvent.MouseMove, p, b)
            send(QtCore.QEvent.MouseButtonRelease, points[-1], Qt.NoButton)
        QTest.qWait(50)

    def click(self, qx: float, qy: float, button: int = 1) -> None:
        self.drag([(qx, qy)], button)

    def hover(self, qx: float, qy: float) -> None:
        from PyQt5 import QtCore, QtGui, QtWidgets
        from PyQt5.QtCore import Qt
        from PyQt5.QtTest import QTest

        if self.x is not None:
            self.x.move(*self.screen(qx, qy))
        else:
            c = self.w.canvas
            QtWidgets.QApplication.sendEvent(c, QtGui.QMouseEvent(QtCore.QEvent.MouseMove, c.to_widget(qx, qy),
                                                                  Qt.NoButton, Qt.NoButton, Qt.NoModifier))
        QTest.qWait(50)

    def shot(self, name: str) -> None:
        """The whole X screen (dialogs too) as ``shots/name.png``."""
        from PyQt5 import QtWidgets
        from PyQt5.QtTest import QTest

        QTest.qWait(150)
        path = self.shots / f"{name}.png"
        QtWidgets.QApplication.primaryScreen().grabWindow(0).save(str(path))
        self.taken.append(str(path))


def answered(w) -> bool:
    return w.ai.result is not None and w.ai.result.version == w.ai.version


def when_dialog(get, act) -> None:
    """Run ``act(dialog)`` once ``get()`` returns a visible dialog (inside its modal loop)."""
    from PyQt5.QtCore import QTimer

    def tick() -> None:
        d = get()
        if d is None or not d.isVisible():
            QTimer.singleShot(20, tick)
            return
        act(d)

    QTimer.singleShot(20, tick)


def run(folder: str, model: str, shots: Path, refine_model: str = "", out: Optional[dict] = None) -> dict:

    from anylabel.gui.app import create_window

    out = {} if out is None else out  # filled step by step: what was done survives a failure
    w = create_window(folder, model=model)
    w.ask_unsaved = lambda *a: "discard"
    w.resize(1560, 940)
    try:
        steps(w, out, model, shots, refine_model)
    finally:  # also after a failed step: the window's threads end, the process exits
        w.close()
    return out


def steps(w, out: dict, model: str, shots: Path, refine_model: str) -> None:
    from PyQt5 import QtWidgets

    wait_until(lambda: w.isVisible() and w.image is not None and w.worker.segmenter is not None, 120, "the window")
    d = Driver(w, shots)
    out["input"] = "xtest" if d.x is not None else "qtest"
    s = w.session
    h, wd = w.image.shape[:2]
    cx, cy = wd * 0.5, h * 0.55

    # ---- an AI click, the brush on the preview with a larger radius, F
    d.click(cx, cy)
    wait_until(lambda: answered(w), 120, "the model's answer")
    before = int(s.preview.mask.sum())
    d.key("W")
    out["mode_after_w"] = w.canvas.mode
    r0 = s.view.brush_radius
    for _ in range(3):
        d.key("]")
    out["radius"] = [r0, s.view.brush_radius]
    x1, y1, x2, y2 = s.preview.box
    my = (y1 + y2) / 2
    d.drag([(x1 - 90, my), (x1 - 40, my - 10), (x1 + 20, my)])  # from outside the preview into it
    d.hover(x1 - 60, my + 60)
    out["painted"] = int(s.preview.mask.sum()) - before
    d.shot("01-brush-on-preview")

    def label(text: str, grab: str = "", details=None):
        def act(dialog) -> None:
            dialog.edit.setText(text)
            if details:
                details(dialog)
            if grab:
                d.shot(grab)
            dialog.accept()

        when_dialog(lambda: w.label_dialog, act)

    def truck_details(dialog) -> None:
        from PyQt5.QtTest import QTest

        QTest.qWait(100)  # the attributes of the typed label appear
        dialog.details.flag_boxes["occluded"].setChecked(True)
        box = dialog.details.attribute_boxes.get("colour")
        out["dialog_attributes"] = list(dialog.details.attribute_boxes)
        if box is not None:
            box.setCurrentText("white")
        screen = QtWidgets.QApplication.primaryScreen().availableGeometry()
        out["dialog_fits"] = screen.contains(dialog.frameGeometry())
        out["dialog_size"] = [dialog.width(), dialog.height()]

    label("truck", "02-label-dialog", truck_details)
    d.key("F")
    wait_until(lambda: bool(s.shapes), 30, "the finished shape")
    out["finished"] = [x.shape_type for x in s.shapes]
    out["truck_details"] = {"flags": s.shapes[0].flags, "attributes": s.shapes[0].attributes}
    # ---- the eraser on the finished, selected shape: it becomes an exact mask shape
    truck = s.shapes[0].id
    s.select([truck])
    d.key("E")
    x1, y1, x2, y2 = s.shape(truck).bbox()
    my = (y1 + y2) / 2
    d.drag([(x1 - 10, my), ((x1 + x2) / 2, my), (x2 + 10, my)])
    d.hover((x1 + x2) / 2, my + 40)
    out["erased"] = s.shape(truck).shape_type
    d.shot("03-eraser-on-shape")
    # ---- two rectangles, union / subtract / intersect with their keys, each undone
    label("box")
    d.key("R")
    d.drag([(60, 60), (160, 120), (260, 200)])
    wait_until(lambda: len(s.shapes) == 2, 20, "the first rectangle")
    label("box")
    d.key("R")
    d.drag([(200, 150), (280, 220), (360, 300)])
    wait_until(lambda: len(s.shapes) == 3, 20, "the second rectangle")
    a, b = s.shapes[1].id, s.shapes[2].id
    d.key("Ctrl+J")
    results = {}
    for op, combo in (("union", "Ctrl+Shift+U"), ("subtract", "Ctrl+Shift+-"), ("intersect", "Ctrl+Shift+I")):
        d.click(100, 80)  # the first rectangle, then Ctrl+click the second: the order subtract follows
        if d.x is not None:
            d.x.key_down("Ctrl")
            d.click(330, 280)
            d.x.key_up("Ctrl")
        else:
            s.select([a, b])
        out.setdefault("selected_by_clicks", []).append(sorted(s.selected) == sorted([a, b]))
        d.key(combo)
        results[op] = [(x.shape_type, [round(v) for v in x.bbox()]) for x in s.shapes[1:]]
        d.shot(f"04-{op}")
        d.key("Ctrl+Z")
        out.setdefault("undone", []).append([x.id for x in s.shapes[1:]] == [a, b])
    out["boolean"] = results
    # ---- Ctrl+R on the truck (with the mask-prompt model when given): its mask is the preview, F replaces it
    if refine_model:
        w.set_model(refine_model)
        wait_until(lambda: w.worker.segmenter is not None, 120, "the refining model")
    s.select([truck])
    d.key("Ctrl+R")
    out["reprompting"] = s.assist.reprompting == truck
    d.shot("05-reprompt")
    d.click(cx, cy)
    wait_until(lambda: answered(w), 120, "the refined answer")
    prompt = w.ai.result.prompt
    out["reprompt_prompt"] = {"mask_input": prompt.mask_logits is not None, "box": prompt.box is not None,
                              "model": w.worker.name}
    d.key("F")
    wait_until(lambda: s.assist.reprompting is None, 30, "the refined shape")
    out["refined_labels"] = sorted({x.label for x in s.shapes})
    if refine_model:
        w.set_model(model)  # back to the model of the other steps
        wait_until(lambda: w.worker.segmenter is not None, 120, "the model")
    # ---- every shape type, Z / X on the rotated rectangle, its turn handle
    label("eye")
    d.key("Shift+P")
    d.click(420, 80)
    label("edge")
    d.key("L")
    d.drag([(400, 120), (470, 160), (520, 180)])
    label("wire")
    d.key("Shift+L")
    for p in ((560, 80), (620, 140), (680, 90)):
        d.click(*p)
    d.key("Return")
    label("wheel")
    d.key("Shift+O")
    d.drag([(520, 300), (540, 310), (560, 330)])
    label("plate")
    d.key("Shift+R")
    d.drag([(640, 250), (700, 300), (760, 340)])
    wait_until(lambda: s.shapes[-1].shape_type == "rotation", 20, "the rotated rectangle")
    rot = s.shapes[-1].id
    s.select([rot])
    for _ in range(10):
        d.key("X")
    d.key("Z")
    d.key("Ctrl+J")
    _, _, knob = w.canvas.tool.turn_handle()
    kx, ky = w.canvas.to_image(knob)
    d.hover(kx, ky)
    d.shot("06-shape-types-turn-handle")
    from anylabel.geometry import rotated

    before_turn = rotated.direction(s.shape(rot).points)
    d.drag([(kx, ky), (kx + 30, ky + 5), (kx + 60, ky + 20)])
    out["turned_by_handle_deg"] = round(math.degrees(rotated.direction(s.shape(rot).points) - before_turn), 1)
    out["types"] = [x.shape_type for x in s.shapes]
    out["rows"] = [w.shape_list.item(i).text() for i in range(w.shape_list.count())]
    # ---- polygon detail on a new AI preview, view adjustment, everything, review
    d.key("I")
    d.click(cx, cy)
    wait_until(lambda: answered(w), 120, "the model's answer")
    counts = [s.assist.vertex_count()]
    for _ in range(3):
        d.key("Alt+-")
    counts.append(s.assist.vertex_count())
    out["vertex_counts"] = counts
    d.shot("07-polygon-detail")
    d.key("B")
    d.key("Ctrl+Shift+B")
    dialog = w.view_adjust.dialog
    wait_until(lambda: dialog is not None and dialog.isVisible(), 10, "the view adjustment dialog")
    dialog.sliders["brightness"].setValue(40)
    d.shot("08-view-adjust")
    dialog.sliders["brightness"].setValue(0)
    dialog.close()
    d.key("Ctrl+G")
    wait_until(lambda: bool(s.assist.candidates) and w.everything.layer.shown, 180, "the everything candidates")
    out["candidates"] = len(s.assist.candidates)
    d.hover(cx, cy * 0.4)
    d.shot("09-everything")
    d.key("Esc")
    w.docks["image"].raise_()
    d.key("K")
    out["checked"] = w.annotation.checked
    d.key("Ctrl+S")
    out["saved"] = str(s.folder.annotation_path(s.row))
    d.shot("10-review-image-dock")
    # ---- Help → Shortcuts, filtered to the mask edits
    def shortcuts(dialog) -> None:
        d.shot("11-shortcuts")
        dialog.filter.setText("shape")
        d.shot("12-shortcuts-filtered")
        out["shortcut_rows"] = len(dialog.rows())
        dialog.reject()

    when_dialog(lambda: QtWidgets.QApplication.activeModalWidget(), shortcuts)
    d.key("F1")
    d.key("Shift+D")
    out["row_after_next_unchecked"] = s.row
    out["shots"] = d.taken


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--model", default="classical")
    parser.add_argument("--result", required=True)
    parser.add_argument("--shots", default="")
    parser.add_argument("--refine-model", default="", help="the model Ctrl+R refines with (one with mask prompts)")
    args = parser.parse_args()
    shots = Path(args.shots) if args.shots else Path(args.result).parent / "shots"
    shots.mkdir(parents=True, exist_ok=True)
    out: dict = {}
    try:
        run(args.folder, args.model, shots, args.refine_model, out)
    finally:
        Path(args.result).write_text(json.dumps(out, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
