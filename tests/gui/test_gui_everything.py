"""Segment everything, view adjustment and polygon detail in the real window (issue 15 GUI part B)."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from gui_fakes import DiskSegmenter
from gui_testutil import when_dialog
from PyQt5 import QtWidgets
from PyQt5.QtCore import QPoint, QPointF, Qt

from anylabel.backends import MaskCandidate
from anylabel.errors import CancelledError
from anylabel.votes import LabelSuggestion

pytestmark = pytest.mark.gui


class EverythingSegmenter(DiskSegmenter):
    """Three automatic masks: a big box, a small disk inside it, a box elsewhere; progress per mask; the
    thread it ran on and the key it was given are recorded. ``gate``: wait for the test before answering."""

    def __init__(self) -> None:
        super().__init__()
        self.threads, self.keys_given = [], []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def everything(self, image=None, key=None, progress=None):
        self.threads.append(threading.current_thread())
        self.keys_given.append(key)
        self.entered.set()
        h, w = image.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w]
        big = (xx >= 20) & (xx < 220) & (yy >= 20) & (yy < 200)
        small = (xx - 100) ** 2 + (yy - 100) ** 2 <= 30 ** 2
        other = (xx >= 300) & (xx < 400) & (yy >= 100) & (yy < 250)
        out = []
        for k, m in enumerate((big, other, small)):
            if progress is not None and progress(k, 3) is False:
                raise CancelledError("cancelled")
            if not self.gate.wait(20):
                raise TimeoutError("the test never opened the gate")
            ys, xs = np.nonzero(m)
            out.append(MaskCandidate(m, 0.9, None, (int(xs.min()), int(ys.min()), int(xs.max()) + 1,
                                                    int(ys.max()) + 1)))
        return out


def click(qtbot, w, x, y, button=Qt.LeftButton):
    p = w.canvas.to_widget(x, y)
    qtbot.mouseClick(w.canvas, button, Qt.NoModifier, QPoint(round(p.x()), round(p.y())))


def settle(qtbot, w):
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is w)


def test_ctrl_g_candidates_click_keeps_one_with_the_suggestion_prefilled(make_window, image_dir, qtbot):
    seg = EverythingSegmenter()
    w = make_window({"everything": lambda: seg})
    w.open_path(str(image_dir))
    qtbot.waitUntil(lambda: w.worker.segmenter is not None, timeout=20000)
    # a CLIP-like suggestion source: the label dialog must be pre-filled with it for the kept mask
    asked = []

    def clip(image, mask):
        asked.append(int(mask.sum()))
        return [LabelSuggestion("wheel", 0.8)] if mask.sum() < 4000 else [LabelSuggestion("truck", 0.7)]

    w.host.add_suggestion_provider("CLIP", clip)
    qtbot.keyClick(w.canvas, Qt.Key_G, Qt.ControlModifier)
    qtbot.waitUntil(lambda: len(w.session.assist.candidates) == 3, timeout=20000)
    assert seg.threads and seg.threads[0] is not threading.main_thread()  # off the GUI thread
    assert seg.keys_given[0] == w.worker._key(w.session.image_key)  # the worker's cache key: no second encode
    layer = w.everything.layer
    assert layer.shown and not w.everything.progress.isVisible()
    index = layer.render.index
    assert index[100, 100] == 2 and index[30, 30] == 0 and index[150, 350] == 1 and index[300, 480] == -1
    assert layer.render.bgra[30, 30, 3] > 0 and layer.render.bgra[300, 480, 3] == 0
    for x, y in ((100, 100), (30, 30), (150, 350), (480, 300), (131, 100), (69, 100)):  # the picture is the pick
        k = w.session.assist.candidate_at(x, y)
        assert layer.candidate_under(x, y) is (None if k is None else w.session.assist.candidates[k])
    p = w.canvas.to_widget(100, 100)
    qtbot.mouseMove(w.canvas, QPoint(round(p.x()), round(p.y())))
    qtbot.waitUntil(lambda: layer.hover is not None)
    assert layer.hover is w.session.assist.candidates[2]  # the small disk is highlighted
    prefill = {}

    def act(dialog):
        prefill["text"] = dialog.edit.text()
        prefill["buttons"] = [b.text() for b in dialog.suggestion_buttons]
        dialog.accept()

    when_dialog(qtbot, lambda: w.label_dialog, act)  # (it only reads the dialog: nothing can raise)
    click(qtbot, w, 100, 100)  # inside the small disk and the big box: the small one is kept
    settle(qtbot, w)
    assert prefill["text"] == "wheel" and prefill["buttons"] == ["wheel  80%"]
    assert [s.label for s in w.annotation.shapes] == ["wheel"]
    kept = w.annotation.shapes[0].points_array()
    assert 65 <= kept[:, 0].min() <= 72 and 128 <= kept[:, 0].max() <= 131
    assert len(w.session.assist.candidates) == 2
    assert layer.render.index[100, 100] == 0  # the big box shows through where the disk was
    assert not w.ai.has_prompts  # the click kept a candidate; it was no point prompt
    # Esc hides the rest; a click is a prompt again
    qtbot.keyClick(w.canvas, Qt.Key_Escape)
    assert not w.session.assist.candidates and not layer.shown
    click(qtbot, w, 350, 150)
    assert w.ai.has_prompts
    assert w.history.can_undo
    w.session.undo_shapes()
    assert w.annotation.shapes == []


def test_everything_progress_and_cancel_and_another_image_drops_it(make_window, image_dir, qtbot, request):
    seg = EverythingSegmenter()
    seg.gate.clear()
    request.addfinalizer(seg.gate.set)  # never leave the worker waiting
    w = make_window({"everything": lambda: seg})
    w.open_path(str(image_dir))
    qtbot.keyClick(w.canvas, Qt.Key_G, Qt.ControlModifier)
    assert seg.entered.wait(20)
    qtbot.waitUntil(lambda: w.everything.progress.isVisible())
    assert w.everything.running and w.everything.progress.isVisible() and w.everything.cancel_button.isVisible()
    w.everything.cancel_button.click()
    assert not w.everything.running  # at once: its answer will not be shown
    seg.gate.set()
    qtbot.waitUntil(lambda: not w.everything.tasks.busy, timeout=20000)  # the worker stopped between batches
    assert not w.everything.progress.isVisible() and not w.session.assist.candidates
    assert w.canvas.busy_text == ""
    # a run whose image is left while it works shows nothing on the next image
    seg.gate.clear()
    seg.entered.clear()
    w.everything.start()
    assert seg.entered.wait(20)
    w.next_image()
    seg.gate.set()
    qtbot.waitUntil(lambda: not w.everything.tasks.busy, timeout=20000)
    qtbot.wait(50)
    assert w.row == 1 and not w.session.assist.candidates and not w.everything.layer.shown
    # Esc cancels a run too
    seg.gate.clear()
    seg.entered.clear()
    qtbot.keyClick(w.canvas, Qt.Key_G, Qt.ControlModifier)
    assert seg.entered.wait(20) and w.everything.running
    qtbot.keyClick(w.canvas, Qt.Key_Escape)
    assert not w.everything.running
    seg.gate.set()
    qtbot.waitUntil(lambda: not w.everything.tasks.busy, timeout=20000)
    qtbot.wait(50)
    assert not w.session.assist.candidates
    # and a finished run shows its candidates; Ctrl+G again hides them
    w.everything.start()
    qtbot.waitUntil(lambda: len(w.session.assist.candidates) == 3, timeout=20000)
    qtbot.keyClick(w.canvas, Qt.Key_G, Qt.ControlModifier)
    assert not w.session.assist.candidates and not w.everything.layer.shown


def test_view_adjustment_changes_the_display_only(make_window, image_dir, qtbot):
    w = make_window({"disk": DiskSegmenter})
    w.open_path(str(image_dir))
    original = w.image.copy()
    before = w.canvas.pixmap.toImage()
    qtbot.keyClick(w.canvas, Qt.Key_B, Qt.ControlModifier | Qt.ShiftModifier)
    dialog = w.view_adjust.dialog
    assert dialog is not None and dialog.isVisible()
    w.canvas.zoom_at(1.5)  # the user's zoom and pan (not "fit", which follows resizes)
    scale, offset = w.canvas.scale, QPointF(w.canvas.offset)
    dialog.sliders["brightness"].setValue(40)
    dialog.sliders["gamma"].setValue(150)
    qtbot.waitUntil(lambda: not w.session.view.adjustment.neutral)
    adj = w.session.view.adjustment
    assert (adj.brightness, adj.contrast, adj.gamma) == (0.4, 1.0, 1.5)
    shown = w.canvas.pixmap.toImage()
    lut = adj.lut()
    y, x = 10, 20
    r, g, b = original[y, x]
    assert (shown.pixelColor(x, y).red(), shown.pixelColor(x, y).green()) == (lut[r], lut[g])
    assert shown.pixelColor(x, y) != before.pixelColor(x, y)
    assert np.array_equal(w.image, original)  # the model and the files see the image itself
    assert (w.canvas.scale, w.canvas.offset) == (scale, offset)  # the view did not jump
    assert "view:" in w.view_adjust.indicator.text()
    w.next_image()  # stays on the next image
    assert w.canvas.pixmap.toImage().pixelColor(0, 0).red() == adj.lut()[w.image[0, 0, 0]]
    assert w.save() is not False
    dialog.reset_button.click()
    assert w.session.view.adjustment.neutral and w.view_adjust.indicator.text() == ""
    assert w.canvas.pixmap.toImage().pixelColor(0, 0).red() == w.image[0, 0, 0]


def test_polygon_detail_control_changes_the_preview_and_what_f_saves(make_window, image_dir, qtbot, tmp_path):
    from anylabel.config import load_config

    settings = tmp_path / "settings.yaml"
    w = make_window({"disk": lambda: DiskSegmenter(radius=80)}, config=load_config(settings))
    w.open_path(str(image_dir))
    h, wd = w.image.shape[:2]
    click(qtbot, w, wd / 2, h / 2)
    qtbot.waitUntil(lambda: w.ai.result is not None and w.ai.result.version == w.ai.version, timeout=20000)
    detail = w.polygon_detail
    fine = w.session.assist.vertex_count()
    assert detail.count.text() == f"{fine} vertices"
    assert sum(len(p) for p in w.canvas.preview.polygons) == fine
    qtbot.keyClick(w.canvas, Qt.Key_Minus, Qt.AltModifier)  # coarser: 1.0 -> 1.5 px
    assert w.session.tolerance == 1.5
    for _ in range(4):
        detail.coarser()
    assert w.session.tolerance == 5.0 and detail.spin.value() == 5.0
    coarse = w.session.assist.vertex_count()
    assert coarse < fine and detail.count.text() == f"{coarse} vertices"
    assert sum(len(p) for p in w.canvas.preview.polygons) == coarse  # the outline drawn follows
    qtbot.keyClick(w.canvas, Qt.Key_Equal, Qt.AltModifier)  # finer: 4 px
    assert w.session.tolerance == 4.0
    detail.spin.setValue(5.0)
    assert detail.slider.value() == 9 and w.session.tolerance == 5.0
    when_dialog(qtbot, lambda: w.label_dialog, lambda d: (d.edit.setText("disk"), d.accept()))
    qtbot.keyClick(w.canvas, Qt.Key_F)
    qtbot.waitUntil(lambda: bool(w.annotation.shapes), timeout=20000)
    assert sum(len(s.points) for s in w.annotation.shapes) == coarse  # F saved what the preview showed
    qtbot.waitUntil(lambda: settings.exists(), timeout=5000)  # a setting: kept once the slider rests
    assert load_config(settings).polygon_tolerance == 5.0
