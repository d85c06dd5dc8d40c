"""File → Export / Import and the statistics view: the dialogs open and run the core off the GUI thread."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")

from formats_util import poly, write_doc  # noqa: E402

from anylabel.formats.stats import folder_stats  # noqa: E402
from anylabel.gui.dialogs.export import open_export_dialog, open_import_dialog  # noqa: E402
from anylabel.gui.dialogs.stats import open_stats_dialog  # noqa: E402

pytestmark = pytest.mark.gui


def test_export_dialog_runs_an_export(qtbot, voc_dir, tmp_path):
    dialog = open_export_dialog(None, str(voc_dir / "data_annotated"))
    qtbot.addWidget(dialog)
    assert dialog.isVisible() and dialog.source.text().endswith("data_annotated")
    dialog.format.setCurrentText("coco")
    dialog.output.setText(str(tmp_path / "coco"))
    dialog.labels.setText(str(voc_dir / "labels.txt"))
    with qtbot.waitSignal(dialog.finished_report, timeout=30000) as blocker:
        dialog.run_button.click()
    report = blocker.args[0]
    assert (report.images, report.instances) == (3, 12)
    data = json.loads((tmp_path / "coco" / "annotations.json").read_text())
    assert len(data["annotations"]) == 12
    assert "3 images, 12 instances" in dialog.summary.toPlainText()
    assert "2011_000006.json shape 3" in dialog.summary.toPlainText()  # warnings are shown
    qtbot.waitUntil(lambda: dialog.run_button.isEnabled())
    assert dialog.progress.value() == dialog.progress.maximum()


def test_export_dialog_yolo_split_and_error_shown(qtbot, voc_dir, tmp_path):
    dialog = open_export_dialog(None, str(voc_dir / "data_annotated"))
    qtbot.addWidget(dialog)
    dialog.output.setText("")
    dialog.run_button.click()  # no output folder: an error in the dialog, nothing started
    assert "choose" in dialog.summary.toPlainText() and dialog.job is None
    dialog.format.setCurrentText("yolo-seg")
    dialog.output.setText(str(tmp_path / "yolo"))
    dialog.use_split.setChecked(True)
    dialog.split.setValue(0.67)
    dialog.seed.setValue(2)
    with qtbot.waitSignal(dialog.finished_report, timeout=30000):
        dialog.run_button.click()
    assert len(list((tmp_path / "yolo" / "labels" / "val").glob("*.txt"))) == 1
    qtbot.waitUntil(lambda: dialog.run_button.isEnabled())
    dialog.run_button.click()  # again into the same folder: the core's error appears in the dialog
    qtbot.waitUntil(lambda: "not empty" in dialog.summary.toPlainText(), timeout=10000)
    text = dialog.summary.toPlainText()  # issue 13 #13: the dialog names its checkbox, not a CLI flag
    assert "--overwrite" not in text and f"“{dialog.overwrite.text()}”" in text
    qtbot.waitUntil(lambda: dialog.run_button.isEnabled())
    dialog.overwrite.setChecked(True)
    with qtbot.waitSignal(dialog.finished_report, timeout=30000):
        dialog.run_button.click()  # the checkbox replaces the previous export


def test_export_dialog_keep_corrupt_and_allow_outside(qtbot, tmp_path):
    from formats_util import poly, write_doc

    write_doc(tmp_path / "src", "a", [poly("cat", [(1, 1), (20, 1), (10, 15)])], suffix=".jpg", width=160,
              height=120)
    data = (tmp_path / "src" / "a.jpg").read_bytes()
    (tmp_path / "src" / "a.jpg").write_bytes(data[: len(data) // 2])
    dialog = open_export_dialog(None, str(tmp_path / "src"))
    qtbot.addWidget(dialog)
    dialog.format.setCurrentText("coco")
    dialog.output.setText(str(tmp_path / "out"))
    dialog.run_button.click()
    qtbot.waitUntil(lambda: "nothing was written" in dialog.summary.toPlainText(), timeout=10000)
    assert "a.jpg" in dialog.summary.toPlainText()
    qtbot.waitUntil(lambda: dialog.run_button.isEnabled())
    dialog.keep_corrupt.setChecked(True)
    assert dialog.options().keep_corrupt and not dialog.options().allow_outside
    dialog.allow_outside.setChecked(True)
    assert dialog.options().allow_outside
    with qtbot.waitSignal(dialog.finished_report, timeout=30000) as blocker:
        dialog.run_button.click()
    assert blocker.args[0].images == 1 and (tmp_path / "out" / "images" / "a.jpg").is_file()


def test_export_dialog_cancel(qtbot, tmp_path):
    for i in range(150):
        write_doc(tmp_path / "src", f"i{i:03d}", [poly("cat", [(1, 1), (20, 1), (10, 15)])])
    dialog = open_export_dialog(None, str(tmp_path / "src"))
    qtbot.addWidget(dialog)
    dialog.output.setText(str(tmp_path / "out"))
    dialog.run_button.click()
    assert dialog.is_running() and dialog.cancel_button.isEnabled()
    dialog.cancel_button.click()  # the worker checks the flag at every file: it stops long before the end
    qtbot.waitUntil(lambda: not dialog.is_running() and dialog.run_button.isEnabled(), timeout=30000)
    assert dialog.summary.toPlainText().startswith("cancelled") and dialog.report is None
    assert not (tmp_path / "out" / "annotations.json").exists()


def test_import_dialog_runs_an_import(qtbot, voc_dir, tmp_path):
    from anylabel.formats.registry import export_folder

    export_folder(voc_dir / "data_annotated", "coco", tmp_path / "coco")
    dialog = open_import_dialog(None)
    qtbot.addWidget(dialog)
    dialog.source.setText(str(tmp_path / "coco" / "annotations.json"))
    dialog.output.setText(str(tmp_path / "labelme"))
    with qtbot.waitSignal(dialog.finished_report, timeout=30000) as blocker:
        dialog.run_button.click()
    assert blocker.args[0].images == 3
    assert len(list((tmp_path / "labelme").glob("*.json"))) == 3


def test_stats_dialog_shows_the_cli_numbers(qtbot, voc_dir):
    dialog = open_stats_dialog(None, str(voc_dir / "data_annotated"))
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.stats is not None, timeout=30000)
    stats, _ = folder_stats(voc_dir / "data_annotated")
    assert dialog.chart.bars == list(stats.per_class.items())
    assert dialog.image_chart.bars == [("3 instances", 2), ("6 instances", 1)]
    rows = {dialog.class_table.item(r, 0).text(): int(dialog.class_table.item(r, 1).text())
            for r in range(dialog.class_table.rowCount())}
    assert rows == stats.per_class
    per_image = {dialog.image_table.item(r, 0).text(): int(dialog.image_table.item(r, 1).text())
                 for r in range(dialog.image_table.rowCount())}
    assert per_image == stats.per_image
    assert dialog.summary.text().startswith("3 images, 12 instances, 6 classes")
    dialog.chart.resize(400, 200)
    image = dialog.chart.grab().toImage()  # the chart paints bars (not only background)
    colours = {image.pixel(x, y) for x in range(0, image.width(), 5) for y in range(0, image.height(), 5)}
    assert len(colours) > 2


def test_dialogs_remember_their_last_options(qtbot, voc_dir, tmp_path):
    first = open_export_dialog(None, str(voc_dir / "data_annotated"))
    qtbot.addWidget(first)
    first.format.setCurrentText("yolo-seg")
    first.output.setText(str(tmp_path / "yolo"))
    first.use_split.setChecked(True)
    first.split.setValue(0.75)
    first.seed.setValue(7)
    first.overwrite.setChecked(True)
    with qtbot.waitSignal(first.finished_report, timeout=30000):
        first.run_button.click()
    qtbot.waitUntil(lambda: first.run_button.isEnabled())
    again = open_export_dialog(None, None)  # no folder given: the last one
    qtbot.addWidget(again)
    assert again.source.text() == str(voc_dir / "data_annotated")
    assert (again.format.currentText(), again.output.text()) == ("yolo-seg", str(tmp_path / "yolo"))
    assert again.use_split.isChecked() and again.split.value() == 0.75 and again.seed.value() == 7
    assert not again.overwrite.isChecked()  # replacing an export is asked for each time
    other = open_export_dialog(None, str(tmp_path))  # the caller's folder wins over the remembered one
    qtbot.addWidget(other)
    assert other.source.text() == str(tmp_path)

    imp = open_import_dialog(None)
    qtbot.addWidget(imp)
    imp.source.setText(str(tmp_path / "yolo" / "data.yaml"))
    imp.format.setCurrentText("yolo-seg")
    imp.output.setText(str(tmp_path / "back"))
    with qtbot.waitSignal(imp.finished_report, timeout=30000):
        imp.run_button.click()
    qtbot.waitUntil(lambda: imp.run_button.isEnabled())
    imp2 = open_import_dialog(None)
    qtbot.addWidget(imp2)
    assert (imp2.source.text(), imp2.format.currentText(), imp2.output.text()) == (
        str(tmp_path / "yolo" / "data.yaml"), "yolo-seg", str(tmp_path / "back"))


def test_a_corrupt_memory_file_is_ignored(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("ANYLABEL_CONFIG", str(tmp_path / "config.yaml"))
    (tmp_path / "dialogs.json").write_text("{not json", encoding="utf-8")
    dialog = open_export_dialog(None, None)
    qtbot.addWidget(dialog)
    assert dialog.output.text() == "" and dialog.format.currentText() == "coco"


def test_export_dialog_reads_the_images_the_window_has_open(qtbot, tmp_path):
    """A window opened with --output DIR exports DIR's JSONs with its images folder allowed."""
    from anylabel.gui.dialogs.export import ExportDialog

    dialog = ExportDialog(None, str(tmp_path / "labels"), image_roots=[str(tmp_path / "images")])
    qtbot.addWidget(dialog)
    assert dialog.options().image_roots == (tmp_path / "images",) and not dialog.options().allow_outside
    plain = ExportDialog(None, str(tmp_path / "labels"))
    qtbot.addWidget(plain)
    assert plain.options().image_roots == ()


def test_dialogs_list_every_format_of_the_registry(qtbot):
    """issue 18: a format registered in formats/registry.py appears in both dialogs without code of its own."""
    from anylabel.formats.registry import export_format_names, import_format_names

    export, imp = open_export_dialog(None, ""), open_import_dialog(None)
    for d in (export, imp):
        qtbot.addWidget(d)
    listed = [export.format.itemText(i) for i in range(export.format.count())]
    assert listed == export_format_names() and listed[0] == "coco"
    assert {"voc", "masks", "yolo-obb", "dota", "cvat", "cvat-video"} <= set(listed)
    assert [imp.format.itemText(i) for i in range(imp.format.count())] == import_format_names()
    assert "voc" in import_format_names() and "labelme" not in import_format_names()
