"""The AI workflow with the real backends: the classical (GrabCut) default and a random-weight SAM ViT-B
(tools/random_checkpoints.py through the registry). Random weights say nothing about mask quality: these
tests check the plumbing (prompts in, a preview of the image's size, shapes and files out)."""
from __future__ import annotations

import pytest
from gui_testutil import answer_label
from PyQt5 import QtWidgets
from PyQt5.QtCore import QPoint, Qt

from anylabel.formats.labelme import load_labelme
from anylabel.geometry import mask_iou, polygon_to_mask, rle_decode

pytestmark = pytest.mark.gui


def click(qtbot, w, x, y, button=Qt.LeftButton):
    p = w.canvas.to_widget(x, y)
    qtbot.mouseClick(w.canvas, button, Qt.NoModifier, QPoint(round(p.x()), round(p.y())))


def wait_preview(qtbot, w):
    qtbot.waitUntil(lambda: w.ai.result is not None and w.ai.result.version == w.ai.version, timeout=120000)
    assert not w.messages.get("Model error") or not w.messages["Model error"].isVisible(), \
        w.messages["Model error"].text()
    return w.ai.preview_mask.copy()


def finish_undo_redo_save(qtbot, w, label):
    answer_label(qtbot, w, label)
    qtbot.keyClick(w.canvas, Qt.Key_F)
    qtbot.waitUntil(lambda: len(w.annotation.shapes) > 0, timeout=60000)
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is w)
    n = len(w.annotation.shapes)
    assert w.shape_list.count() == n and label in w.shape_list.item(0).text()
    qtbot.keyClick(w.canvas, Qt.Key_Z, Qt.ControlModifier)
    assert w.annotation.shapes == [] and w.shape_list.count() == 0
    qtbot.keyClick(w.canvas, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert len(w.annotation.shapes) == n
    qtbot.keyClick(w.canvas, Qt.Key_S, Qt.ControlModifier)
    assert not w.history.dirty
    return load_labelme(w.folder.annotation_path(w.row))


@pytest.fixture
def registry(random_models):
    from anylabel.models import ModelRegistry

    return ModelRegistry.load()


def test_classical_backend_polygon_matches_preview(make_window, image_dir, registry, qtbot):
    w = make_window(registry=registry, model="classical")
    w.open_path(str(image_dir))
    h, wd = w.image.shape[:2]
    click(qtbot, w, wd * 0.5, h * 0.5)
    click(qtbot, w, 5, 5, Qt.RightButton)
    mask = wait_preview(qtbot, w)
    assert mask.shape == (h, wd) and mask.any()
    assert w.ai.result.prompt.labels.tolist() == [1, 0]
    saved = finish_undo_redo_save(qtbot, w, "object")
    assert {s.label for s in saved.shapes} == {"object"}
    union = polygon_to_mask(saved.shapes[0].points_array(), (h, wd))
    for s in saved.shapes[1:]:
        union |= polygon_to_mask(s.points_array(), (h, wd))
    assert mask_iou(union, mask) >= 0.95


def test_random_sam_vit_b_mask_shape_and_refinement(make_window, image_dir, registry, qtbot):
    w = make_window(registry=registry, model="sam_vit_b")
    w.open_path(str(image_dir))
    h, wd = w.image.shape[:2]
    click(qtbot, w, wd * 0.5, h * 0.5)
    wait_preview(qtbot, w)
    result = w.ai.result
    assert len(result.candidates) == 3  # whole / part / subpart
    # only the shown (best) candidate's full-size mask, polygons and overlay were computed for the click
    assert len(result.polygons) == len(result.overlays) == 1
    assert [c._make is None for c in result.candidates[1:]] == [False, False]  # LazyMaskCandidate, not made
    qtbot.keyClick(w.canvas, Qt.Key_C)  # cycling computes the next one, once
    assert w.ai.candidate == 1 and len(result.polygons) == 2 and result.candidates[1]._make is None
    assert w.canvas.preview is not None and w.canvas.preview.polygons is result.polygons[1]
    qtbot.keyClick(w.canvas, Qt.Key_C)
    qtbot.keyClick(w.canvas, Qt.Key_C)  # back to the best: nothing recomputed
    assert w.ai.candidate == 0 and len(result.polygons) == 3
    click(qtbot, w, wd * 0.2, h * 0.2, Qt.RightButton)
    mask = wait_preview(qtbot, w)
    prompt = w.ai.result.prompt
    assert prompt.labels.tolist() == [1, 0]
    assert prompt.mask_logits is not None and prompt.mask_logits.shape[-2:] == (256, 256)  # refinement
    assert mask.shape == (h, wd)
    if not mask.any():
        pytest.skip("this random model answered an empty mask: nothing to finish")
    qtbot.keyClick(w.canvas, Qt.Key_O)  # mask output: random masks are noise, a mask shape keeps them exact
    saved = finish_undo_redo_save(qtbot, w, "thing")
    (shape,) = saved.shapes
    assert shape.shape_type == "mask" and mask_iou(rle_decode(shape.mask), mask) == 1.0


def test_random_sam_vit_b_segment_everything_reuses_the_clicks_embedding(make_window, image_dir, registry, qtbot):
    """Ctrl+G with a real SAM: the automatic masks run off the GUI thread under the key the click worker
    cached the image's embedding under, so the encoder does not run a second time (random weights may
    give no mask at all: then the window says so)."""
    from anylabel.config import Config

    w = make_window(registry=registry, model="sam_vit_b", config=Config(prefetch=0))  # no neighbours encoded
    w.open_path(str(image_dir))
    h, wd = w.image.shape[:2]
    click(qtbot, w, wd * 0.5, h * 0.5)
    wait_preview(qtbot, w)
    seg = w.worker.segmenter
    keys = list(seg.cache.keys())
    qtbot.keyClick(w.canvas, Qt.Key_G, Qt.ControlModifier)
    qtbot.waitUntil(lambda: not w.everything.running, timeout=300000)
    assert not w.messages.get("Segment everything") or not w.messages["Segment everything"].isVisible(), \
        w.messages["Segment everything"].text()
    assert list(seg.cache.keys()) == keys  # nothing new was encoded
    assert all(seg.cache.contains(*k) for k in keys)
    n = len(w.session.assist.candidates)
    assert w.everything.layer.shown == bool(n)
    assert (f"{n} candidates" in w.statusBar().currentMessage()) if n else \
        ("found no mask" in w.statusBar().currentMessage())
