"""The AI workflow through the real window: click, preview, F, undo / redo, save, switch images."""
from __future__ import annotations

import numpy as np
import pytest
from gui_fakes import DiskSegmenter, GatedSegmenter
from gui_testutil import answer_label, answer_message_box, drag
from PyQt5 import QtWidgets
from PyQt5.QtCore import QPoint, Qt

from anylabel.document import Shape
from anylabel.formats.labelme import load_labelme
from anylabel.geometry import mask_iou, polygon_to_mask

pytestmark = pytest.mark.gui


def click(qtbot, window, x, y, button=Qt.LeftButton, modifier=Qt.NoModifier):
    p = window.canvas.to_widget(x, y)
    qtbot.mouseClick(window.canvas, button, modifier, QPoint(round(p.x()), round(p.y())))


def wait_preview(qtbot, window, timeout=20000):
    ai = window.ai
    qtbot.waitUntil(lambda: ai.result is not None and ai.result.version == ai.version, timeout=timeout)
    assert window.canvas.preview is not None
    return ai.preview_mask.copy()


def finish(qtbot, window, label):
    answer_label(qtbot, window, label)
    qtbot.keyClick(window.canvas, Qt.Key_F)
    qtbot.waitUntil(lambda: any(s.label == label for s in window.annotation.shapes), timeout=20000)
    settle(qtbot, window)


def settle(qtbot, window):
    """Wait until the window is active again after a dialog (the offscreen platform activates it
    asynchronously), so that the next shortcut reaches it."""
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is window)


def test_open_folder_natural_order_and_annotated_mark(make_window, image_dir, qtbot):
    (image_dir / "img3.json").write_text("{}")  # any json marks the image as annotated in the list
    w = make_window({"disk": DiskSegmenter})
    assert w.open_path(str(image_dir))
    assert w.folder.names == ["IMG1.jpg", "img2.jpg", "img3.jpg", "img10.jpg"]
    assert w.file_list.model.rowCount() == 4
    assert [w.folder.is_annotated(i) for i in range(4)] == [False, False, True, False]
    assert w.row == 0 and w.canvas.pixmap is not None
    assert w.canvas.image_size == w.image.shape[:2]


def test_click_preview_finish_undo_redo_save(make_window, image_dir, qtbot):
    w = make_window({"disk": DiskSegmenter})
    w.open_path(str(image_dir))
    h, wd = w.image.shape[:2]
    click(qtbot, w, wd / 2, h / 2)
    click(qtbot, w, wd / 2 + 30, h / 2, Qt.RightButton)
    mask = wait_preview(qtbot, w)
    prompt = w.ai.result.prompt
    assert prompt.labels.tolist() == [1, 0]
    assert mask.any() and not mask[int(h / 2), int(wd / 2 + 30)]  # the negative point's area is cut out
    finish(qtbot, w, "truck")
    assert w.shape_list.count() == 1 and "truck" in w.shape_list.item(0).text()
    assert w.canvas.preview is None and not w.ai.has_prompts
    qtbot.keyClick(w.canvas, Qt.Key_Z, Qt.ControlModifier)
    assert w.annotation.shapes == [] and w.shape_list.count() == 0
    qtbot.keyClick(w.canvas, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert len(w.annotation.shapes) == 1 and w.shape_list.count() == 1
    assert w.history.dirty
    qtbot.keyClick(w.canvas, Qt.Key_S, Qt.ControlModifier)
    assert not w.history.dirty
    saved = load_labelme(image_dir / "IMG1.json")
    assert saved.image_path == "IMG1.jpg" and (saved.image_height, saved.image_width) == (h, wd)
    assert [s.label for s in saved.shapes] == ["truck"]
    got = polygon_to_mask(saved.shapes[0].points_array(), (h, wd))
    assert mask_iou(got, mask) >= 0.95
    assert w.folder.is_annotated(0)


def test_box_and_negative_box(make_window, image_dir, qtbot):
    w = make_window({"disk": DiskSegmenter})
    w.open_path(str(image_dir))
    c = w.canvas
    a, b = c.to_widget(100, 100), c.to_widget(300, 250)
    drag(c, a, b)
    mask = wait_preview(qtbot, w)
    assert w.ai.result.prompt.box is not None
    assert mask[175, 200] and not mask[50, 50]
    na, nb = c.to_widget(190, 160), c.to_widget(260, 240)
    drag(c, na, nb, Qt.ControlModifier)
    mask2 = wait_preview(qtbot, w)
    assert len(w.ai.result.prompt.negative_boxes) == 1
    assert mask[200, 220] and not mask2[200, 220]


def test_shift_click_is_negative_and_b_clears(make_window, image_dir, qtbot):
    w = make_window({"disk": DiskSegmenter})
    w.open_path(str(image_dir))
    click(qtbot, w, 200, 150)
    click(qtbot, w, 220, 150, Qt.LeftButton, Qt.ShiftModifier)
    wait_preview(qtbot, w)
    assert w.ai.result.prompt.labels.tolist() == [1, 0]
    qtbot.keyClick(w.canvas, Qt.Key_B)
    assert not w.ai.has_prompts and w.canvas.preview is None and w.canvas.prompt_points == []


def test_cycle_candidates_and_logits_refine(make_window, image_dir, qtbot):
    w = make_window({"disk": DiskSegmenter})
    w.open_path(str(image_dir))
    click(qtbot, w, 200, 150)
    first = wait_preview(qtbot, w)
    qtbot.keyClick(w.canvas, Qt.Key_C)
    assert w.ai.candidate == 1 and w.ai.preview_mask.sum() < first.sum()
    click(qtbot, w, 210, 160)
    wait_preview(qtbot, w)
    # the second click carries the logits of the candidate that was shown for the first
    sent = w.ai.result.prompt.mask_logits
    assert sent is not None and float(sent.ravel()[0]) == 1.0
    qtbot.keyClick(w.canvas, Qt.Key_Z, Qt.ControlModifier)  # undo removes the last click, not a shape
    wait_preview(qtbot, w)
    assert len(w.ai.result.prompt.points) == 1 and w.ai.result.prompt.mask_logits is None


def test_clicks_while_busy_newest_prompt_wins(make_window, image_dir, qtbot):
    seg = GatedSegmenter()
    w = make_window({"gated": lambda: seg})
    w.open_path(str(image_dir))
    click(qtbot, w, 100, 100)
    assert seg.entered.wait(20)  # the worker is now stuck in the first predict
    for k in range(1, 5):
        click(qtbot, w, 100 + 10 * k, 100)
    assert len(w.ai.actions) == 5
    seg.gate.set()
    wait_preview(qtbot, w)
    res = w.ai.result
    assert res.version == w.ai.version
    assert len(res.prompt.points) == 5
    np.testing.assert_allclose(res.prompt.points[-1], [140, 100], atol=1.0)  # one screen pixel
    # the three clicks that arrived while busy were coalesced: the model ran twice, not five times
    qtbot.waitUntil(lambda: w.worker.requests_run == 2)
    assert len(seg.prompts) == 2


def test_finish_waits_for_the_newest_answer(make_window, image_dir, qtbot):
    seg = GatedSegmenter()
    w = make_window({"gated": lambda: seg})
    w.open_path(str(image_dir))
    click(qtbot, w, 150, 120)
    assert seg.entered.wait(20)
    answer_label(qtbot, w, "cat")
    qtbot.keyClick(w.canvas, Qt.Key_F)  # pressed before the model answered: finishes when it does
    assert w.annotation.shapes == []
    seg.gate.set()
    qtbot.waitUntil(lambda: len(w.annotation.shapes) == 1, timeout=20000)
    assert w.annotation.shapes[0].label == "cat"


def test_switching_images_asks_and_never_loses_changes(make_window, image_dir, qtbot):
    w = make_window({"disk": DiskSegmenter})
    w.open_path(str(image_dir))
    click(qtbot, w, 200, 150)
    wait_preview(qtbot, w)
    finish(qtbot, w, "dog")
    # Cancel: stay on the image, the change is still there and still unsaved
    answer_message_box(qtbot, "Cancel")
    qtbot.keyClick(w.canvas, Qt.Key_D)
    settle(qtbot, w)
    assert w.row == 0 and len(w.annotation.shapes) == 1 and w.history.dirty
    assert not (image_dir / "IMG1.json").exists()
    # Save: written to disk, then the next image opens
    answer_message_box(qtbot, "Save")
    qtbot.keyClick(w.canvas, Qt.Key_D)
    assert w.row == 1
    assert [s.label for s in load_labelme(image_dir / "IMG1.json").shapes] == ["dog"]
    # coming back shows the saved shape
    w.load_row(0)
    assert [s.label for s in w.annotation.shapes] == ["dog"]
    assert w.folder.is_annotated(0)


def test_autosave_saves_on_switch_without_asking(make_window, image_dir, qtbot):
    from anylabel.config import Config

    w = make_window({"disk": DiskSegmenter}, config=Config(autosave=True))
    w.open_path(str(image_dir))
    click(qtbot, w, 200, 150)
    wait_preview(qtbot, w)
    finish(qtbot, w, "dog")
    qtbot.keyClick(w.canvas, Qt.Key_D)
    assert w.row == 1
    assert [s.label for s in load_labelme(image_dir / "IMG1.json").shapes] == ["dog"]


def test_output_dir_and_mask_output(make_window, image_dir, tmp_path, qtbot):
    out = tmp_path / "labels"
    w = make_window({"disk": DiskSegmenter}, output_dir=str(out))
    w.open_path(str(image_dir))
    qtbot.keyClick(w.canvas, Qt.Key_O)  # output masks instead of polygons
    assert w.mask_output
    click(qtbot, w, 200, 150)
    mask = wait_preview(qtbot, w)
    finish(qtbot, w, "blob")
    assert w.save()
    saved = load_labelme(out / "IMG1.json")
    assert saved.image_path == "../images/IMG1.jpg"
    (shape,) = saved.shapes
    assert shape.shape_type == "mask"
    from anylabel.geometry import rle_decode

    assert mask_iou(rle_decode(shape.mask), mask) == 1.0


def test_model_error_is_a_message_not_a_crash(make_window, image_dir, qtbot):
    class Broken(DiskSegmenter):
        def predict(self, prompt):
            raise RuntimeError("the model exploded")

    w = make_window({"broken": Broken})
    w.open_path(str(image_dir))
    click(qtbot, w, 200, 150)
    qtbot.waitUntil(lambda: "Model error" in w.messages and w.messages["Model error"].isVisible())
    assert "the model exploded" in w.messages["Model error"].text()
    assert w.canvas.preview is None


def test_prefetch_encodes_the_next_images(make_window, image_dir, qtbot):
    seg = DiskSegmenter()
    w = make_window({"disk": lambda: seg})
    w.open_path(str(image_dir))
    qtbot.waitUntil(lambda: len(seg.encoded) >= 2, timeout=20000)  # images 2 and 3 (prefetch = 2)
    from anylabel.imaging.loader import file_key

    assert set(seg.encoded) == {file_key(w.folder.image_path(r)) for r in (1, 2)}
    qtbot.keyClick(w.canvas, Qt.Key_D)
    click(qtbot, w, 100, 100)
    wait_preview(qtbot, w)
    assert seg.keys[-1] == file_key(w.folder.image_path(1))


def test_a_mask_in_parts_gives_polygons_sharing_a_group_id(make_window, image_dir, qtbot):
    class TwoBlobs(DiskSegmenter):
        """An occluded object: two separate disks for one click."""

        def predict(self, prompt):
            cands = super().predict(prompt)
            for c in cands:
                c.mask[:, :] = False
                c.mask[40:90, 40:90] = True
                c.mask[40:90, 200:260] = True
            return cands

    w = make_window({"blobs": TwoBlobs})
    w.open_path(str(image_dir))
    w.history.add([Shape("old", [(1, 1), (5, 1), (5, 5)], group_id=7)])
    click(qtbot, w, 60, 60)
    wait_preview(qtbot, w)
    assert len(w.canvas.preview.polygons) == 2
    finish(qtbot, w, "person")
    parts = [s for s in w.annotation.shapes if s.label == "person"]
    assert len(parts) == 2 and parts[0].group_id == parts[1].group_id == 8  # a new id, above the used ones
