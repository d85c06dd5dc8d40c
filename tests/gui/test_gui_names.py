"""File names that are not UTF-8 (bytes such as ``caf\\xe9.jpg`` on Linux): listed, shown, saved, never a crash.

Python gives such a name as a str with a lone surrogate (``os.fsdecode``: ``'caf\\udce9.jpg'``). The save used to
raise UnicodeEncodeError inside Qt's Ctrl+S slot, which PyQt turns into an abort (SIGABRT) with the work lost;
so the whole session runs in a subprocess and the test asserts its exit code and the file it wrote.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from anylabel.formats.labelme import load_labelme
from anylabel.session.folder import ImageFolder, display_name

ROOT = Path(__file__).resolve().parents[2]

SESSION = textwrap.dedent(r"""
    import os, sys
    from PyQt5 import QtCore, QtWidgets
    from PyQt5.QtTest import QTest
    from anylabel.document import Shape
    from anylabel.gui.main_window import MainWindow
    from anylabel.models import ModelRegistry

    folder = sys.argv[1]
    app = QtWidgets.QApplication([])
    w = MainWindow(registry=ModelRegistry([]), features=())
    w.ask_unsaved = lambda *a: "save"
    w.show()
    assert w.open_path(folder)
    shown = [w.file_list.model.data(w.file_list.model.index(r)) for r in range(len(w.folder))]
    print("LIST", ascii(shown), flush=True)
    w.activateWindow()
    for _ in range(500):                    # shortcuts need the active window
        app.processEvents()
        if QtWidgets.QApplication.activeWindow() is w:
            break
        QtCore.QThread.msleep(10)
    for _ in range(2):                      # Next across the non-UTF-8 name and back
        QTest.keyClick(w, QtCore.Qt.Key_D)
    QTest.keyClick(w, QtCore.Qt.Key_A)
    assert w.folder.names[w.row] == "caf\udce9.jpg", w.row
    print("TITLE", ascii(w.windowTitle()), flush=True)
    w.history.add([Shape("cat", [(1, 1), (30, 1), (30, 30)])])
    QTest.keyClick(w, QtCore.Qt.Key_S, QtCore.Qt.ControlModifier)   # the Ctrl+S that aborted
    app.processEvents()
    print("DIRTY", w.history.dirty, flush=True)
    QTest.keyClick(w, QtCore.Qt.Key_D)
    QTest.keyClick(w, QtCore.Qt.Key_A)
    print("SHAPES", len(w.annotation.shapes), flush=True)
    w.close()
""")


@pytest.fixture
def bytes_dir(tmp_path, voc_dir) -> Path:
    if sys.platform == "win32" or sys.getfilesystemencoding().lower() != "utf-8":
        pytest.skip("non-UTF-8 byte names exist on POSIX file systems with a UTF-8 locale")
    folder = tmp_path / "imgs"
    folder.mkdir()
    data = sorted((voc_dir / "data_annotated").glob("*.jpg"))[0].read_bytes()
    for name in (b"a.jpg", b"caf\xe9.jpg", b"z.jpg"):
        with open(os.fsencode(folder) + b"/" + name, "wb") as f:
            f.write(data)
    return folder


def test_ctrl_s_on_a_non_utf8_name_saves_and_does_not_abort(bytes_dir, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen",
               ANYLABEL_CONFIG=str(tmp_path / "config.yaml"), ANYLABEL_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, "-c", SESSION, str(bytes_dir)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr  # was -6 (SIGABRT) on the Ctrl+S
    out = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    assert out["LIST"] == ascii(["a.jpg", "caf\\xe9.jpg", "z.jpg"])  # the byte shown, no lone surrogate
    assert out["TITLE"].startswith(ascii("caf\\xe9.jpg (2/3)")[:-1])
    assert out["DIRTY"] == "False" and out["SHAPES"] == "1"
    written = os.fsencode(bytes_dir) + b"/caf\xe9.json"
    assert os.path.isfile(written)
    raw = open(written, "rb").read()
    raw.decode("utf-8")  # valid UTF-8 JSON: the byte is an escape (\udce9) that reads back to the same name
    ann = load_labelme(os.fsdecode(written))
    assert ann.image_path == "caf\udce9.jpg" and [s.label for s in ann.shapes] == ["cat"]
    assert os.fsencode(ann.image_path) == b"caf\xe9.jpg"


def test_folder_of_non_utf8_names_round_trips_in_the_core(bytes_dir):
    folder = ImageFolder(bytes_dir)
    assert folder.names == ["a.jpg", "caf\udce9.jpg", "z.jpg"]
    ann, existed = folder.load(1)
    assert not existed and ann.image_path == "caf\udce9.jpg"
    path = folder.save(1, ann)
    assert load_labelme(path).image_path == "caf\udce9.jpg"
    assert ImageFolder(bytes_dir).is_annotated(1)
    shutil.rmtree(bytes_dir)


def test_display_name_shows_the_bytes():
    assert display_name("caf\udce9.jpg") == "caf\\xe9.jpg"
    assert display_name("café.jpg") == "café.jpg"
    assert display_name(Path("/x/caf\udce9")) == "/x/caf\\xe9"
