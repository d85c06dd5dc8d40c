"""A LabelMe file changed behind the window's back: Ctrl+S asks (reload / keep mine / save as) instead of
overwriting someone else's edits."""
from __future__ import annotations

import pytest
from gui_testutil import answer_message_box
from PyQt5 import QtCore, QtWidgets

from anylabel.document import Shape
from anylabel.formats.labelme import load_labelme, save_labelme


def _open_with_their_edit(make_window, image_dir, qtbot):
    """Open IMG1.jpg, add "mine", then another program writes IMG1.json with "theirs"."""
    w = make_window()
    assert w.open_path(str(image_dir)) and w.folder.names[w.row] == "IMG1.jpg"
    w.history.add([Shape("mine", [(1, 1), (30, 1), (30, 30)])])
    theirs = w.annotation.copy()
    theirs.shapes = [Shape("theirs", [(40, 40), (60, 40), (60, 60)])]
    save_labelme(theirs, image_dir / "IMG1.json")
    return w


def _ctrl_s(qtbot, w) -> None:
    qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is w)  # after a dialog: shortcuts need it
    qtbot.keyClick(w, QtCore.Qt.Key_S, QtCore.Qt.ControlModifier)


def test_unchanged_file_saves_without_asking(make_window, image_dir, qtbot):
    w = make_window()
    w.open_path(str(image_dir))
    w.ask_changed = lambda *a: pytest.fail("asked although nobody else wrote the file")
    w.history.add([Shape("mine", [(1, 1), (30, 1), (30, 30)])])
    _ctrl_s(qtbot, w)
    w.history.add([Shape("more", [(5, 5), (30, 5), (30, 30)])])
    _ctrl_s(qtbot, w)  # our own previous save is not "someone else"
    assert load_labelme(image_dir / "IMG1.json").labels() == ["mine", "more"] and not w.history.dirty


def test_reload_shows_their_version(make_window, image_dir, qtbot):
    w = _open_with_their_edit(make_window, image_dir, qtbot)
    answer_message_box(qtbot, "Reload")
    _ctrl_s(qtbot, w)
    assert load_labelme(image_dir / "IMG1.json").labels() == ["theirs"]  # not overwritten
    assert w.annotation.labels() == ["theirs"] and not w.history.dirty
    assert [w.shape_list.item(i).text() for i in range(w.shape_list.count())][0].startswith("theirs")


def test_keep_mine_overwrites(make_window, image_dir, qtbot):
    w = _open_with_their_edit(make_window, image_dir, qtbot)
    seen = []
    answer_message_box(qtbot, "Keep mine")
    original = w.ask_changed
    w.ask_changed = lambda parent, name: seen.append(name) or original(parent, name)
    _ctrl_s(qtbot, w)
    assert seen == [str(image_dir / "IMG1.json")]
    assert load_labelme(image_dir / "IMG1.json").labels() == ["mine"] and not w.history.dirty
    w.history.add([Shape("again", [(5, 5), (30, 5), (30, 30)])])
    _ctrl_s(qtbot, w)  # the overwrite is now the known version: no second question
    assert seen == [str(image_dir / "IMG1.json")]
    assert load_labelme(image_dir / "IMG1.json").labels() == ["mine", "again"]


def test_save_as_keeps_both(make_window, image_dir, qtbot, tmp_path):
    w = _open_with_their_edit(make_window, image_dir, qtbot)
    target = tmp_path / "elsewhere" / "IMG1.mine.json"
    target.parent.mkdir()
    w.ask_save_path = lambda parent, suggested: str(target)
    answer_message_box(qtbot, "Save as…")
    _ctrl_s(qtbot, w)
    assert load_labelme(image_dir / "IMG1.json").labels() == ["theirs"]
    mine = load_labelme(target)
    assert mine.labels() == ["mine"] and mine.image_path == "../images/IMG1.jpg"
    assert (target.parent / mine.image_path).resolve() == (image_dir / "IMG1.jpg").resolve()
    assert not w.history.dirty  # leaving the image does not ask: the work is saved


def test_cancel_keeps_the_work_and_a_file_created_meanwhile_counts_too(make_window, image_dir, qtbot):
    w = make_window()
    w.open_path(str(image_dir))
    w.history.add([Shape("mine", [(1, 1), (30, 1), (30, 30)])])
    theirs = w.annotation.copy()
    theirs.shapes = []
    save_labelme(theirs, image_dir / "IMG1.json")  # there was no file when the image was opened
    answer_message_box(qtbot, "Cancel")
    _ctrl_s(qtbot, w)
    assert load_labelme(image_dir / "IMG1.json").labels() == [] and w.history.dirty
    assert QtWidgets.QApplication.activeModalWidget() is None


def test_an_unexpected_save_error_is_a_message_not_an_abort(make_window, image_dir, qtbot, monkeypatch):
    """PyQt aborts the process on an exception escaping a slot: Ctrl+S must never let one out."""
    w = make_window()
    w.open_path(str(image_dir))
    w.history.add([Shape("mine", [(1, 1), (30, 1), (30, 30)])])

    def broken(*args, **kwargs):
        raise UnicodeEncodeError("utf-8", "caf\udce9", 3, 4, "surrogates not allowed")

    monkeypatch.setattr(w.folder, "save", broken)
    _ctrl_s(qtbot, w)  # pytest-qt fails the test if the exception escapes the slot
    assert w.history.dirty and "Not saved" in w.messages["Cannot save"].text()
    assert "UnicodeEncodeError" in w.messages["Cannot save"].text()
