"""pytest-qt: finishing an object (F) opens the label dialog pre-filled with the SSA vote, showing its
confidence and the alternatives; a confident vote is accepted without the dialog when the option is on."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PIL import Image  # noqa: E402
from PyQt5 import QtCore  # noqa: E402
from PyQt5.QtCore import QPoint, Qt  # noqa: E402

from anylabel.backends import MaskCandidate, Segmenter  # noqa: E402
from anylabel.config import Config  # noqa: E402
from anylabel.models import ModelRegistry, ModelSpec  # noqa: E402

pytestmark = pytest.mark.gui

STEM = "2011_000025"   # two buses and a car
BUS = 6


class DiskSegmenter(Segmenter):
    """Every prompt -> a disk of radius 30 around the first positive point (one candidate)."""

    name = "disk"

    def set_image(self, image, key=None):
        if image is not None:
            self.hw = image.shape[:2]

    def has_embedding(self, key):
        return False

    def predict(self, prompt):
        h, w = self.hw
        cx, cy = prompt.positive_points[0]
        yy, xx = np.mgrid[0:h, 0:w]
        return [MaskCandidate((xx - cx) ** 2 + (yy - cy) ** 2 <= 30 ** 2, 0.9)]

    def everything(self, image=None, key=None, progress=None):
        return []


@pytest.fixture
def setup(tmp_path, voc_dir, qtbot, monkeypatch):
    monkeypatch.setenv("ANYLABEL_CONFIG", str(tmp_path / "config.yaml"))
    monkeypatch.setenv("ANYLABEL_CACHE_DIR", str(tmp_path / "cache"))
    images, maps = tmp_path / "images", tmp_path / "maps"
    images.mkdir()
    maps.mkdir()
    shutil.copy(voc_dir / "data_annotated" / f"{STEM}.jpg", images / "photo.jpg")
    shutil.copy(voc_dir / "data_dataset_voc" / "SegmentationClass" / f"{STEM}.png", maps / "photo.png")
    shutil.copy(voc_dir / "data_dataset_voc" / "class_names.txt", maps / "class_names.txt")
    class_map = np.asarray(Image.open(maps / "photo.png"))
    # a point well inside a bus: the disk around it is all bus
    ys, xs = np.nonzero(class_map == BUS)
    inside = [(x, y) for x, y in zip(xs[::97], ys[::97])
              if (class_map[max(0, y - 31):y + 32, max(0, x - 31):x + 32] == BUS).all()]
    assert inside
    made = []

    def make(config: Config):
        from anylabel.gui.main_window import MainWindow

        registry = ModelRegistry([ModelSpec("disk", "classical", "disk")])
        w = MainWindow(config=config, registry=registry, segmenter_factory=lambda name: DiskSegmenter(), model="disk")
        w.ask_unsaved = lambda parent, name: "discard"  # closing at teardown must not wait for a question
        qtbot.addWidget(w)
        w.show()
        qtbot.waitExposed(w)
        made.append(w)
        assert w.open_path(str(images))
        return w

    yield make, f"labelmap:{maps}", inside[len(inside) // 2]
    for w in made:
        if w.history is not None:
            w.history.mark_saved()
        if w.worker is not None:
            w.worker.stop()


def _click_and_wait(qtbot, w, x, y):
    p = w.canvas.to_widget(x, y)
    qtbot.mouseClick(w.canvas, Qt.LeftButton, Qt.NoModifier, QPoint(round(p.x()), round(p.y())))
    ai = w.ai
    qtbot.waitUntil(lambda: ai.result is not None and ai.result.version == ai.version, timeout=20000)


def test_finishing_an_object_prefills_the_dialog_with_the_vote(setup, qtbot):
    make, spec, (x, y) = setup
    w = make(Config(semantic=spec))
    qtbot.waitUntil(lambda: w.semantic.suggester is not None, timeout=20000)  # loaded in the background
    assert w.suggestion_providers[0][0] == "SSA vote"
    _click_and_wait(qtbot, w, x, y)
    seen = {}

    def check_dialog():
        d = w.label_dialog
        if d is None or not d.isVisible():
            return
        timer.stop()
        seen["text"] = d.edit.text()
        seen["buttons"] = [b.text() for b in d.suggestion_buttons]
        d.accept()  # take the pre-filled vote

    timer = QtCore.QTimer()
    timer.setInterval(10)
    timer.timeout.connect(check_dialog)
    timer.start()
    qtbot.keyClick(w.canvas, Qt.Key_F)
    qtbot.waitUntil(lambda: len(w.annotation.shapes) > 0, timeout=20000)
    timer.stop()
    assert seen["text"] == "bus"
    assert seen["buttons"][0] == "bus  100%"          # the confidence is shown with the vote
    assert [s.label for s in w.annotation.shapes] == ["bus"]

    # an object across bus and background: the vote and its alternative both appear
    class_map = np.asarray(Image.open(spec.split(":", 1)[1] + "/photo.png"))
    h, wd = class_map.shape
    border = next((cx, cy) for cy in range(40, h - 40, 7) for cx in range(40, wd - 40, 7)
                  if 0.5 < (class_map[cy - 30:cy + 31, cx - 30:cx + 31] == BUS).mean() < 0.8
                  and (class_map[cy - 30:cy + 31, cx - 30:cx + 31] == 0).mean() > 0.2)
    _click_and_wait(qtbot, w, *border)
    seen.clear()
    timer.start()
    qtbot.keyClick(w.canvas, Qt.Key_F)
    qtbot.waitUntil(lambda: len(w.annotation.shapes) > 1, timeout=20000)
    timer.stop()
    assert seen["text"] == "bus"
    labels = [b.split()[0] for b in seen["buttons"]]
    assert labels[:2] == ["bus", "_background_"]
    assert 50 <= int(seen["buttons"][0].split()[-1].rstrip("%")) < 100


def test_a_confident_vote_is_accepted_without_the_dialog(setup, qtbot):
    make, spec, (x, y) = setup
    w = make(Config(semantic=spec, auto_accept_confidence=0.9))
    qtbot.waitUntil(lambda: w.semantic.suggester is not None, timeout=20000)
    opened = []
    timer = QtCore.QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: opened.append(1) if w.label_dialog is not None else None)
    timer.start()
    _click_and_wait(qtbot, w, x, y)
    qtbot.keyClick(w.canvas, Qt.Key_F)
    qtbot.waitUntil(lambda: len(w.annotation.shapes) > 0, timeout=20000)
    timer.stop()
    assert not opened and [s.label for s in w.annotation.shapes] == ["bus"]


def test_a_bad_branch_is_a_message_and_no_provider(setup, qtbot, tmp_path):
    make, _, _ = setup
    w = make(Config(semantic=f"labelmap:{tmp_path / 'missing'}"))
    qtbot.waitUntil(lambda: "Semantic labels" in w.messages, timeout=20000)
    assert "label-map folder not found" in w.messages["Semantic labels"].text()
    assert all(name != "SSA vote" for name, _ in w.suggestion_providers)
