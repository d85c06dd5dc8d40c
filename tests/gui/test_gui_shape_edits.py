"""Boolean edits, conversions and re-prompting through the real window: the keys, the Edit menu, the
status-bar errors when the selection does not fit, one undo step each, and what is saved."""
from __future__ import annotations

import json

import numpy as np
import pytest
from gui_fakes import DiskSegmenter
from PyQt5 import QtWidgets
from PyQt5.QtCore import QPoint, Qt

from anylabel.backends.promptable import Embedding
from anylabel.document import Shape
from anylabel.geometry import rle_decode

pytestmark = pytest.mark.gui


def at(window, x, y) -> QPoint:
    p = window.canvas.to_widget(x, y)
    return QPoint(round(p.x()), round(p.y()))


@pytest.fixture
def win(make_window, image_dir, qtbot):
    w = make_window({"disk": DiskSegmenter})
    w.open_path(str(image_dir))
    w.canvas.set_zoom(1.0)
    w.canvas.offset = w.canvas.offset * 0
    return w


def square(label, x, y, size):
    return Shape(label, [(x, y), (x + size, y), (x + size, y + size), (x, y + size)])


def u_shapes():
    """Two U shapes that together make a square ring around (100, 100): their union has a hole."""
    top = Shape("ring", [(50, 50), (150, 50), (150, 100), (130, 100), (130, 70), (70, 70), (70, 100), (50, 100)])
    bottom = Shape("ring", [(50, 100), (70, 100), (70, 130), (130, 130), (130, 100), (150, 100), (150, 150),
                            (50, 150)])
    return [top, bottom]


def status(w) -> str:
    return w.statusBar().currentMessage()


def test_union_with_a_hole_is_one_mask_shape_saved_with_its_hole(win, qtbot):
    w = win
    a, b = w.session.add_shapes(u_shapes())
    w.session.select([a, b])
    qtbot.keyClick(w.canvas, Qt.Key_U, Qt.ControlModifier | Qt.ShiftModifier)
    (shape,) = w.session.shapes
    assert shape.shape_type == "mask" and shape.id == a and shape.label == "ring"
    m = rle_decode(shape.mask)
    assert m[60, 60] and m[140, 140] and not m[100, 100] and not m[85, 115]  # the ring, its hole open
    assert "holes kept" in status(w) and w.history.undo_text == "union"
    saved = json.loads(w.session.save().read_text())
    assert [s["shape_type"] for s in saved["shapes"]] == ["mask"]
    qtbot.keyClick(w.canvas, Qt.Key_Z, Qt.ControlModifier)  # one undo step brings both back
    assert [s.id for s in w.session.shapes] == [a, b] and all(s.shape_type == "polygon" for s in w.session.shapes)


def test_subtract_cuts_the_second_selected_out_of_the_first(win, qtbot):
    w = win
    big, small = w.session.add_shapes([square("wall", 50, 50, 100), square("window", 80, 80, 40)])
    w.set_mode("edit")
    w.session.select([])
    # select the small one first, Ctrl+click the big one: the big one is cut out of the small one
    qtbot.mouseClick(w.canvas, Qt.LeftButton, pos=at(w, 100, 100))  # the topmost at the centre: the window
    qtbot.mouseClick(w.canvas, Qt.LeftButton, Qt.ControlModifier, pos=at(w, 60, 60))
    assert w.session.selected == {big, small}
    assert w.shape_edits.ordered_selection() == [small, big]
    qtbot.keyClick(w.canvas, Qt.Key_Minus, Qt.ControlModifier | Qt.ShiftModifier)
    assert [s.id for s in w.session.shapes] == [big]  # nothing of the window is left outside the wall
    assert "nothing is left" in status(w)
    qtbot.keyClick(w.canvas, Qt.Key_Z, Qt.ControlModifier)
    # now the other order: the wall first, then the window
    w.session.select([])
    qtbot.mouseClick(w.canvas, Qt.LeftButton, pos=at(w, 60, 60))
    qtbot.mouseClick(w.canvas, Qt.LeftButton, Qt.ControlModifier, pos=at(w, 100, 100))
    assert w.shape_edits.ordered_selection() == [big, small]
    w.actions_["subtract_shapes"].trigger()
    shapes = {s.id: s for s in w.session.shapes}
    assert set(shapes) == {big, small} and shapes[big].shape_type == "mask"  # the wall with a hole
    m = rle_decode(shapes[big].mask)
    assert m[60, 60] and not m[100, 100]


def test_selections_that_do_not_fit_say_why_in_the_status_bar(win, qtbot):
    w = win
    a, b, c = w.session.add_shapes([square("a", 10, 10, 50), square("b", 40, 40, 50), square("c", 70, 70, 50)])
    line = w.session.add_shapes([Shape("edge", [(0, 0), (100, 100)], "line")])[0]
    w.session.select([a])
    w.actions_["union_shapes"].trigger()
    assert "Union needs at least two selected shapes, 1 is" in status(w)
    w.session.select([a, b, c])
    w.actions_["subtract_shapes"].trigger()
    assert "Subtract needs exactly two selected shapes, 3 are" in status(w)
    w.session.select([a, line])
    w.actions_["intersect_shapes"].trigger()
    assert "a line (edge) has no area" in status(w)
    w.session.select([])
    w.actions_["to_mask"].trigger()
    assert "Select shapes first" in status(w)
    w.session.select([a, b])
    w.actions_["reprompt_shape"].trigger()
    assert "Select one shape to refine (2 selected)" in status(w)
    assert len(w.session.shapes) == 4 and not w.history.can_redo and w.history.undo_text == "add shapes"


def test_intersect_and_to_mask_and_back_with_their_keys(win, qtbot):
    w = win
    a, b = w.session.add_shapes([square("a", 10, 10, 50), square("b", 40, 40, 50)])
    w.session.select([a, b])
    qtbot.keyClick(w.canvas, Qt.Key_I, Qt.ControlModifier | Qt.ShiftModifier)
    (shape,) = w.session.shapes
    assert shape.shape_type == "polygon" and shape.id == a
    xs, ys = zip(*shape.points)
    assert (min(xs), min(ys), max(xs), max(ys)) == (40, 40, 60, 60)
    w.session.select([a])
    qtbot.keyClick(w.canvas, Qt.Key_K, Qt.ControlModifier | Qt.ShiftModifier)
    assert w.session.shapes[0].shape_type == "mask" and w.session.shapes[0].id == a
    qtbot.keyClick(w.canvas, Qt.Key_O, Qt.ControlModifier | Qt.ShiftModifier)
    assert w.session.shapes[0].shape_type == "polygon"


def test_edit_menu_lists_the_new_edits(win):
    texts = {a.text().replace("&", "") for a in win.menus["edit"].actions()}
    for name in ("union_shapes", "subtract_shapes", "intersect_shapes", "to_mask", "to_polygons", "reprompt_shape",
                 "rotate_left", "rotate_right"):
        assert win.actions_[name].text().replace("&", "") in texts
    modes = {a.text().replace("&", "") for a in win.menus["mode"].actions()}
    assert {"Brush", "Eraser", "Point", "Line", "Line strip", "Circle", "Rotated rectangle"} <= modes


class FramedDiskSegmenter(DiskSegmenter):
    """The disk fake with SAM's logit grid: mask prompts arrive as 1x256x256 logits."""

    def current_embedding(self):
        if self.image_hw is None:
            raise ValueError("no image set")
        h, w = self.image_hw
        s = 1024 / max(h, w)
        return Embedding(orig_hw=(h, w), logit_hw=(h * s / 4, w * s / 4), features=None, pre_scale=4)


def answered(w) -> bool:
    return w.ai.result is not None and w.ai.result.version == w.ai.version


@pytest.mark.parametrize("framed", [False, True])
def test_reprompt_refines_the_selected_shape_and_f_replaces_it_in_one_step(make_window, image_dir, qtbot, framed):
    w = make_window({"disk": FramedDiskSegmenter if framed else DiskSegmenter})
    w.open_path(str(image_dir))
    if framed:  # the model has seen this image (the shape came from a click): its logit grid is known
        w.ai.add_point(10, 10, True)
        qtbot.waitUntil(lambda: answered(w))
        w.ai.clear()
    old = square("car", 60, 60, 80)
    old.flags = {"occluded": True}
    sid, other = w.session.add_shapes([old, square("tree", 300, 60, 40)])
    w.session.select([sid])
    qtbot.keyClick(w.canvas, Qt.Key_R, Qt.ControlModifier)
    assert w.canvas.mode == "ai" and w.session.assist.reprompting == sid
    assert "Refining car" in status(w)
    assert w.canvas.tool.hint.startswith("refining car:")  # the canvas's own line says it too
    np.testing.assert_array_equal(w.session.preview.mask[100, 55:66], [False] * 5 + [True] * 6)  # its mask shows
    w.ai.add_point(100, 100, True)
    qtbot.waitUntil(lambda: answered(w))
    seg = w.worker.segmenter
    prompt = seg.prompts[-1]
    if framed:  # the shape's mask is the model's mask input
        assert prompt.mask_logits.shape == (1, 256, 256) and prompt.multimask is False
        assert prompt.mask_logits.max() > 0 > prompt.mask_logits.min()
    else:  # no mask input: the shape's box
        assert prompt.box == pytest.approx((60, 60, 140, 140))
    qtbot.keyClick(w.canvas, Qt.Key_F)  # no label dialog: the shape keeps its label
    qtbot.waitUntil(lambda: w.session.assist.reprompting is None)
    shapes = {s.id: s for s in w.session.shapes}
    assert set(shapes) == {sid, other} and shapes[sid].label == "car" and shapes[sid].flags == {"occluded": True}
    assert shapes[sid].points != old.points and not w.session.prompts
    assert "Refined car" in status(w)
    qtbot.keyClick(w.canvas, Qt.Key_Z, Qt.ControlModifier)
    assert w.session.shape(sid).points == old.points


def test_reprompt_sends_the_mask_on_the_first_click_before_the_model_saw_the_image(make_window, image_dir, qtbot):
    """Ctrl+R on an image the model has not encoded yet: the first click's request already carries the shape's
    mask as the model's mask input (the worker knows the logit grid once it has set the image), not its box."""
    w = make_window({"disk": FramedDiskSegmenter})
    w.open_path(str(image_dir))
    qtbot.waitUntil(lambda: w.worker is not None and w.worker.segmenter is not None)
    assert w.shape_edits.logit_frame() is None  # no image set on the model yet
    sid = w.session.add_shapes([square("car", 60, 60, 80)])[0]
    w.session.select([sid])
    qtbot.keyClick(w.canvas, Qt.Key_R, Qt.ControlModifier)
    w.ai.add_point(100, 100, True)
    qtbot.waitUntil(lambda: answered(w))
    (first,) = w.worker.segmenter.prompts
    assert first.box is None and first.multimask is False
    assert first.mask_logits is not None and first.mask_logits.shape == (1, 256, 256)
    h, wd = w.session.image.shape[:2]
    cell = 4 * max(h, wd) / 1024  # one logit cell in image pixels
    assert first.mask_logits[0, int(100 / cell), int(100 / cell)] > 0 > first.mask_logits[0, int(20 / cell), 5]
    assert w.ai.result.prompt is first  # the answer says what was sent


def test_escape_and_b_cancel_a_reprompt(win, qtbot):
    w = win
    sid = w.session.add_shapes([square("car", 60, 60, 80)])[0]
    for key in (Qt.Key_Escape, Qt.Key_B):
        w.session.select([sid])
        w.actions_["reprompt_shape"].trigger()
        w.ai.add_point(100, 100, True)
        qtbot.waitUntil(lambda: answered(w))
        qtbot.keyClick(w.canvas, key)
        assert w.session.assist.reprompting is None and w.session.preview is None
        assert w.session.shape(sid).points == square("car", 60, 60, 80).points
    assert QtWidgets.QApplication.activeWindow() is w


def test_a_click_on_one_of_several_selected_shapes_selects_only_it(win, qtbot):
    """After an undo restores a selection of two, a plain click on one of them (no drag) selects that one, so
    the click, Ctrl+click order subtract follows can be given again; a drag still moves both."""
    from gui_testutil import drag

    w = win
    a, b = w.session.add_shapes([square("a", 10, 10, 50), square("b", 100, 100, 50)])
    w.set_mode("edit")
    w.session.select([a, b])
    qtbot.mouseClick(w.canvas, Qt.LeftButton, pos=at(w, 30, 30))
    assert w.session.selected == {a}
    qtbot.mouseClick(w.canvas, Qt.LeftButton, Qt.ControlModifier, pos=at(w, 120, 120))
    assert w.session.selected == {a, b} and w.shape_edits.ordered_selection() == [a, b]
    drag(w.canvas, at(w, 30, 30), at(w, 40, 30))
    assert w.session.selected == {a, b} and w.session.shape(b).points[0] == pytest.approx((110, 100), abs=1)


def test_an_unselected_mask_shape_shows_its_outline(win, qtbot):
    """A mask shape reads like a polygon: its edge is drawn in the label's colour, not only its faint fill."""
    from anylabel.geometry import rle_encode

    w = win
    h, wd = w.session.image.shape[:2]
    m = np.zeros((h, wd), bool)
    m[40:120, 40:160] = True
    w.session.add_shapes([Shape("blob", [(40, 40), (159, 119)], "mask", mask=rle_encode(m))])
    w.session.select([])
    qtbot.wait(20)
    shot = w.canvas.grab().toImage()
    colour = w.colors("blob")
    edge, inside = shot.pixelColor(at(w, 40, 80)), shot.pixelColor(at(w, 100, 80))
    assert max(abs(edge.red() - colour.red()), abs(edge.green() - colour.green()),
               abs(edge.blue() - colour.blue())) <= 40, (edge.name(), colour.name())
    assert edge != inside
