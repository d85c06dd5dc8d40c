"""The image list and annotation paths; large folders; opening JSON files; broken files."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from anylabel.errors import AnylabelError, FormatError
from anylabel.formats.labelme import load_labelme
from anylabel.session.folder import ImageFolder


def test_natural_sort_extensions_and_annotated_marks(tmp_path):
    for name in ["b10.png", "b9.PNG", "a.jpg", "c.webp", "notes.txt", "x.json", "b9.json"]:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "dir.jpg").mkdir()  # a folder with an image-like name is not an image
    folder = ImageFolder(tmp_path)
    assert folder.names == ["a.jpg", "b9.PNG", "b10.png", "c.webp"]
    assert [folder.is_annotated(i) for i in range(4)] == [False, True, False, False]
    assert folder.annotation_path(1) == tmp_path / "b9.json"


def test_output_dir_changes_where_files_live(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.jpg").write_bytes(b"")
    (tmp_path / "img" / "a.json").write_text("{}")  # next to the image: not the output folder
    out = tmp_path / "out"
    folder = ImageFolder(tmp_path / "img", out)
    assert not folder.is_annotated(0)
    assert folder.annotation_path(0) == out / "a.json"


def test_ten_thousand_images_open_without_decoding_them(make_window, tmp_path, voc_dir, qtbot, monkeypatch):
    """Every file but the first is empty: opening the folder must touch only the first image."""
    big = tmp_path / "big"
    big.mkdir()
    shutil.copy(sorted((voc_dir / "data_annotated").glob("*.jpg"))[0], big / "frame_00000.jpg")
    for i in range(1, 10_000):
        (big / f"frame_{i:05d}.jpg").write_bytes(b"")
    from anylabel.imaging.loader import load_image
    from anylabel.imaging.readahead import ImageReadAhead

    decoded = []
    w = make_window()
    w.readahead = ImageReadAhead(loader=lambda p: decoded.append(Path(p).name) or load_image(p))
    assert w.open_path(str(big))
    assert w.file_list.model.rowCount() == 10_000 and w.row == 0
    qtbot.waitUntil(lambda: len(decoded) == 2)  # the image shown, then its next neighbour in the background
    assert decoded == ["frame_00000.jpg", "frame_00001.jpg"]
    assert w.folder.names[:3] == ["frame_00000.jpg", "frame_00001.jpg", "frame_00002.jpg"]
    w.file_list.filter.setText("0999")
    assert w.file_list.proxy.rowCount() == 11  # 00999 and 09990..09999


def test_open_labelme_json_elsewhere_saves_back_there(make_window, tmp_path, voc_dir, qtbot):
    images = tmp_path / "images"
    labels = tmp_path / "labels"
    images.mkdir()
    labels.mkdir()
    src = voc_dir / "data_annotated"
    shutil.copy(src / "2011_000003.jpg", images)
    ann = load_labelme(src / "2011_000003.json")
    ann.image_path = "../images/2011_000003.jpg"
    from anylabel.formats.labelme import save_labelme

    save_labelme(ann, labels / "2011_000003.json")
    w = make_window()
    assert w.open_path(str(labels / "2011_000003.json"))
    assert len(w.annotation.shapes) == len(ann.shapes) > 0
    assert w.shape_list.count() == len(ann.shapes)
    w.history.remove([0])
    assert w.save()
    again = load_labelme(labels / "2011_000003.json")
    assert len(again.shapes) == len(ann.shapes) - 1 and again.image_path == "../images/2011_000003.jpg"
    assert not (images / "2011_000003.json").exists()


def test_broken_json_is_reported_and_never_overwritten(make_window, image_dir, qtbot):
    broken = image_dir / "img2.json"
    broken.write_text("{not json")
    w = make_window()
    w.open_path(str(image_dir))
    assert not w.load_row(1)  # img2.jpg
    assert w.row == 0
    assert "not valid JSON" in w.messages["Cannot open the image"].text()
    assert broken.read_text() == "{not json"


def test_for_path_errors(tmp_path):
    with pytest.raises(AnylabelError, match="no such file"):
        ImageFolder.for_path(tmp_path / "missing.jpg")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(AnylabelError, match="not an image"):
        ImageFolder.for_path(tmp_path / "a.txt")
    (tmp_path / "b.json").write_text('{"shapes": [], "imagePath": "nowhere.jpg", "imageHeight": 1, "imageWidth": 1}')
    with pytest.raises(FormatError, match="does not exist"):
        ImageFolder.for_path(tmp_path / "b.json")


def test_file_menu_opens_export_and_stats_on_the_annotation_folder(make_window, image_dir, qtbot):
    pytest.importorskip("anylabel.gui.dialogs.export")
    from anylabel.document import Shape

    w = make_window()
    w.open_path(str(image_dir))
    w.history.add([Shape("cat", [(1, 1), (30, 1), (30, 30)])])
    w.config.autosave = True  # unsaved work is written before exporting
    w.actions_["export"].trigger()
    assert w.export_dialog.isVisible() and w.export_dialog.source.text() == str(image_dir)
    assert [s.label for s in load_labelme(image_dir / "IMG1.json").shapes] == ["cat"]
    w.export_dialog.close()
    w.actions_["stats"].trigger()
    assert w.stats_dialog.isVisible()
    w.stats_dialog.close()


def test_next_image_was_decoded_in_the_background(make_window, tmp_path, voc_dir, qtbot):
    """While one image is shown its neighbours are decoded off the GUI thread; Next then decodes nothing."""
    import threading

    from anylabel.imaging.loader import load_image
    from anylabel.imaging.readahead import ImageReadAhead

    folder = tmp_path / "imgs"
    folder.mkdir()
    for p in sorted((voc_dir / "data_annotated").glob("*.jpg")):
        shutil.copy(p, folder)
    decodes = []  # (file name, decoded on the GUI thread)
    gui = threading.get_ident()
    w = make_window()
    w.readahead = ImageReadAhead(loader=lambda p: decodes.append((Path(p).name, threading.get_ident() == gui))
                                 or load_image(p))
    assert w.open_path(str(folder))
    names = w.folder.names
    qtbot.waitUntil(lambda: w.readahead.cached(folder / names[1]))
    w.next_image()
    assert w.row == 1 and w.image.shape == load_image(folder / names[1]).shape
    qtbot.waitUntil(lambda: w.readahead.cached(folder / names[2]))
    w.next_image()
    w.prev_image()  # the previous image is kept too
    assert w.row == 1
    # each image decoded once; only the first on the GUI thread (the read-ahead and the embedding prefetch,
    # which decodes through it, may take the next two in either order)
    assert decodes[0] == (names[0], True)
    assert sorted(decodes[1:]) == [(names[1], False), (names[2], False)]
