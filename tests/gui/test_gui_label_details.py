"""Label details in the real window (issue 15 GUI part B): shape flags, attributes per label and difficult in the
label dialog, image flags / tags / checked in the Image dock; saved where LabelMe keeps them, so labelme's
own LabelFile opens the file."""
from __future__ import annotations

import json

import pytest
from gui_fakes import DiskSegmenter
from gui_testutil import when_dialog
from PyQt5 import QtWidgets
from PyQt5.QtCore import QPoint, Qt

from anylabel.config import Config
from anylabel.document import Shape
from anylabel.formats.labelme import load_labelme

pytestmark = pytest.mark.gui

CONFIG = dict(shape_flags=["occluded", "truncated"], image_flags=["night", "blurry"], image_tags=["rain", "fog"],
              attributes={"color": ["red", "white", "blue"]}, label_attributes={"car": {"doors": ["2", "4"]}})


def closing(act):
    """``act(dialog)``, then the dialog is closed whatever happened (an error must fail the test, not leave a
    modal dialog open forever)."""
    def run(dialog):
        try:
            act(dialog)
        finally:
            if dialog.isVisible():
                dialog.reject()
    return run


def settle(qtbot, window):
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is window)


def finish_with_details(qtbot, w, label, flags=(), attributes=None, difficult=False):
    seen = {}

    def act(dialog):
        dialog.edit.setText(label)
        form = dialog.details
        seen["flags"] = list(form.flag_boxes)
        seen["attributes"] = list(form.attribute_boxes)
        for name in flags:
            form.flag_boxes[name].setChecked(True)
        for name, value in (attributes or {}).items():
            form.attribute_boxes[name].setCurrentText(value)
        form.difficult.setChecked(difficult)
        dialog.accept()

    when_dialog(qtbot, lambda: w.label_dialog, closing(act))
    h, wd = w.image.shape[:2]
    p = w.canvas.to_widget(wd / 2, h / 2)
    qtbot.mouseClick(w.canvas, Qt.LeftButton, Qt.NoModifier, QPoint(round(p.x()), round(p.y())))
    qtbot.waitUntil(lambda: w.ai.result is not None and w.ai.result.version == w.ai.version, timeout=20000)
    n = len(w.annotation.shapes)
    qtbot.keyClick(w.canvas, Qt.Key_F)
    qtbot.waitUntil(lambda: len(w.annotation.shapes) > n, timeout=20000)
    settle(qtbot, w)
    return seen


def test_the_window_passes_its_settings_to_the_session(make_window, image_dir):
    """Without ``config=`` the session checked attributes against the defaults (none) and refused all."""
    w = make_window({"disk": DiskSegmenter}, config=Config(**CONFIG))
    assert w.session.config is w.config
    w.open_path(str(image_dir))
    sid = w.session.add_shapes([Shape("car", [(1, 1), (30, 1), (30, 30)])])[0]
    w.session.details.set_attributes(sid, {"color": "red", "doors": "4"})  # InvalidAttribute before
    assert w.session.shape(sid).attributes == {"color": "red", "doors": "4"}


def test_flags_attributes_difficult_from_the_label_dialog_reach_labelme(make_window, image_dir, qtbot, tmp_path):
    label_file = pytest.importorskip("labelme._label_file")
    w = make_window({"disk": DiskSegmenter}, config=Config(**CONFIG))
    w.open_path(str(image_dir))
    seen = finish_with_details(qtbot, w, "car", flags=["occluded"], attributes={"color": "white", "doors": "2"},
                               difficult=True)
    assert seen == {"flags": ["occluded", "truncated"], "attributes": ["color", "doors"]}  # car's own attribute too
    car = w.annotation.shapes[-1]
    assert (car.label, car.flags, car.attributes, car.difficult) == (
        "car", {"occluded": True, "truncated": False}, {"color": "white", "doors": "2"}, True)
    seen = finish_with_details(qtbot, w, "dog", attributes={"color": "blue"})
    assert seen["attributes"] == ["color"]  # no doors for a dog
    dog = w.annotation.shapes[-1]
    assert dog.attributes == {"color": "blue"} and not dog.difficult and dog.flags == {"occluded": False,
                                                                                        "truncated": False}
    # the Image dock: flags, tags (offered and typed), checked
    panel = w.image_details
    assert list(panel.flag_boxes) == ["night", "blurry"]
    panel.flag_boxes["night"].setChecked(True)
    panel.tags.item(0).setCheckState(Qt.Checked)  # "rain"
    panel.new_tag.setText("highway")
    qtbot.keyClick(panel.new_tag, Qt.Key_Return)
    panel.checked.setChecked(True)
    ann = w.annotation
    assert ann.flags == {"night": True, "blurry": False} and ann.tags == ["rain", "highway"] and ann.checked
    assert w.save()
    path = image_dir / "IMG1.json"
    raw = json.loads(path.read_text())
    assert raw["flags"] == {"night": True, "blurry": False} and raw["tags"] == ["rain", "highway"]
    assert raw["checked"] is True
    assert raw["shapes"][0]["flags"] == {"occluded": True, "truncated": False}
    assert raw["shapes"][0]["attributes"] == {"color": "white", "doors": "2"} and raw["shapes"][0]["difficult"]
    lf = label_file.LabelFile(str(path))  # labelme 6's own loader opens it
    assert lf.flags == {"night": True, "blurry": False}
    assert [s["label"] for s in lf.shapes] == ["car", "dog"]
    assert lf.shapes[0]["flags"] == {"occluded": True, "truncated": False}
    assert lf.other_data["tags"] == ["rain", "highway"] and lf.other_data["checked"] is True
    assert lf.shapes[0]["other_data"]["attributes"] == {"color": "white", "doors": "2"}
    assert lf.shapes[0]["other_data"]["difficult"] is True
    back = load_labelme(path)
    assert back.shapes[0].attributes == {"color": "white", "doors": "2"} and back.checked


def test_change_label_prefills_and_edits_the_details_in_one_undo_step(make_window, image_dir, qtbot):
    w = make_window({"disk": DiskSegmenter}, config=Config(**CONFIG))
    w.open_path(str(image_dir))
    s = w.session
    sid = s.add_shapes([Shape("car", [(1, 1), (30, 1), (30, 30)], flags={"truncated": True, "legacy": True},
                              attributes={"color": "red", "pose": "side"}, difficult=True)])[0]
    s.select([sid])
    seen = {}

    def act(dialog):
        form = dialog.details
        seen["flags"] = form.flags()
        seen["attributes"] = form.attributes()
        seen["difficult"] = form.is_difficult()
        form.attribute_boxes["doors"].setCurrentText("4")
        form.attribute_boxes["color"].setCurrentText("—")  # unset
        form.flag_boxes["occluded"].setChecked(True)
        form.difficult.setChecked(False)
        dialog.accept()

    when_dialog(qtbot, lambda: w.label_dialog, closing(act))
    w.change_label()
    assert seen == {"flags": {"occluded": False, "truncated": True, "legacy": True},
                    "attributes": {"color": "red", "pose": "side"}, "difficult": True}
    shape = s.shape(sid)
    assert shape.flags == {"occluded": True, "truncated": True, "legacy": True}
    assert shape.attributes == {"doors": "4", "pose": "side"}  # a value from another tool is kept
    assert not shape.difficult
    assert s.undo_shapes()  # one step brings every detail back
    back = s.shape(sid)
    assert back.difficult and back.attributes == {"color": "red", "pose": "side"}
    assert back.flags == {"truncated": True, "legacy": True}
