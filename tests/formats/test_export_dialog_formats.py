"""issue 18 in the window: every new format through File → Export / Import, and the registry's
format-specific options (``--min-area-rect``) as checkboxes of the export dialog."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")

from formats_util import poly, write_doc  # noqa: E402

from anylabel.cli import build_parser, subcommands  # noqa: E402
from anylabel.document import Shape  # noqa: E402
from anylabel.formats.registry import MIN_AREA_RECT, export_options, formats_with, get_format  # noqa: E402
from anylabel.gui.dialogs.export import open_export_dialog, open_import_dialog  # noqa: E402

pytestmark = pytest.mark.gui

TRI = [(2, 2), (30, 4), (16, 28)]
BOX = [(4, 4), (40, 4), (40, 30), (4, 30)]


def _source(folder):
    for i in range(3):
        write_doc(folder, f"f{i}", [poly("cat", TRI, track_id=1), poly("dog", BOX, track_id=2)], frame_index=i)
    return folder


def _run(qtbot, dialog):
    with qtbot.waitSignal(dialog.finished_report, timeout=30000) as blocker:
        dialog.run_button.click()
    qtbot.waitUntil(lambda: dialog.run_button.isEnabled())
    return blocker.args[0]


def test_min_area_rect_is_one_registry_entry_for_the_cli_and_the_dialog(qtbot):
    assert export_options() == [MIN_AREA_RECT]
    assert formats_with(MIN_AREA_RECT) == ["yolo-obb", "dota"]
    assert MIN_AREA_RECT in get_format("dota").export_options and not get_format("coco").export_options
    export = build_parser(subcommands())._subparsers._group_actions[0].choices["export"]
    flag = next(a for a in export._actions if MIN_AREA_RECT.flag in a.option_strings)
    assert flag.dest == "min_area_rect" and flag.help.startswith("yolo-obb / dota: ")
    dialog = open_export_dialog(None, "")
    qtbot.addWidget(dialog)
    box = dialog.format_options["min_area_rect"]
    assert box.text() == "yolo-obb / dota: polygons as their minimum-area rotated rectangles"
    for fmt, enabled in (("coco", False), ("yolo-obb", True), ("voc", False), ("dota", True)):
        dialog.format.setCurrentText(fmt)
        assert box.isEnabled() == enabled, fmt
    box.setChecked(True)
    assert dialog.options().min_area_rect
    dialog.format.setCurrentText("coco")  # a format that does not read it gets the default
    assert not dialog.options().min_area_rect


@pytest.mark.parametrize("fmt", ["dota", "yolo-obb"])
def test_the_dialog_exports_polygons_as_rotated_boxes_when_asked(qtbot, tmp_path, fmt):
    src = _source(tmp_path / "src")
    dialog = open_export_dialog(None, str(src))
    qtbot.addWidget(dialog)
    dialog.format.setCurrentText(fmt)
    for i in range(3):  # and a rotated rectangle, which is a rotated box either way
        write_doc(src, f"f{i}", [poly("cat", TRI, track_id=1), poly("dog", BOX, track_id=2),
                                 Shape("car", [(10, 5), (30, 12), (25, 26), (5, 19)], "rotation", track_id=3)])
    dialog.output.setText(str(tmp_path / "plain"))
    plain = _run(qtbot, dialog)
    assert (plain.images, plain.instances) == (3, 3)
    assert sum(w.kind == "not_rotated" for w in plain.warnings) == 6  # the polygons, named with their files
    dialog.format_options["min_area_rect"].setChecked(True)
    dialog.output.setText(str(tmp_path / "rect"))
    report = _run(qtbot, dialog)
    assert (report.images, report.instances) == (3, 9) and not any(w.kind == "not_rotated" for w in report.warnings)
    rows = sorted((tmp_path / "rect").rglob("f0.txt"))[0].read_text().splitlines()
    assert len(rows) == 3 and all(len(r.split()) in (9, 10) for r in rows)  # 8 coordinates + class (+ difficult)


@pytest.mark.parametrize("fmt", ["voc", "masks", "yolo-obb", "dota", "cvat", "cvat-video"])
def test_every_new_format_through_the_export_and_import_dialogs(qtbot, tmp_path, fmt):
    src = _source(tmp_path / "src")
    export = open_export_dialog(None, str(src))
    qtbot.addWidget(export)
    export.format.setCurrentText(fmt)
    export.output.setText(str(tmp_path / "dataset"))
    if fmt in formats_with(MIN_AREA_RECT):
        export.format_options["min_area_rect"].setChecked(True)
    report = _run(qtbot, export)
    assert (report.images, report.instances) == (3, 6)
    assert (tmp_path / "dataset" / ".anylabel-export").is_file()  # the transactional writer's manifest
    imp = open_import_dialog(None)
    qtbot.addWidget(imp)
    imp.format.setCurrentText(fmt)
    imp.source.setText(str(tmp_path / "dataset"))
    imp.output.setText(str(tmp_path / "back"))
    imp.copy_images.setChecked(True)
    back = _run(qtbot, imp)
    assert back.images == 3
    files = [json.loads(p.read_text()) for p in (tmp_path / "back").glob("*.json")]
    labels = sorted({s["label"] for doc in files for s in doc["shapes"]})
    assert labels == ["cat", "dog"]
