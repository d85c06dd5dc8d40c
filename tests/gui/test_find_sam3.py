"""The find box with a text-prompted model (SAM 3): the model itself answers the text, every instance it finds
is a candidate, and no CLIP model is needed (pytest-qt, offscreen).

The segmenter is a stand-in with SAM 3's ``segment_text`` (the colour scene's red objects for "red"): the real
SAM 3 is a 3.4 GB model whose encoder takes about half a minute here; ``tests/backends/test_sam3.py`` runs the
real adapter's ``segment_text`` on a random full-size SAM 3. The family rule (the window asks SAM 3 before the
model has loaded) is tested with the registry's entry.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PyQt5.QtCore import Qt

from anylabel.backends import MaskCandidate
from anylabel.models import ModelRegistry, ModelSpec

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "classify"))
from clip_standin import colour_scene  # noqa: E402
from gui_fakes import DiskSegmenter  # noqa: E402

pytestmark = pytest.mark.gui
SCENE, MASKS = colour_scene()  # red square, blue disk, red ring
SQUARE, BLUE_DISK, RING = MASKS


class TextSegmenter(DiskSegmenter):
    """SAM 3's text interface: "red" finds the square (0.9) and the ring (0.6), anything else nothing."""

    name = "text3"

    def __init__(self) -> None:
        super().__init__(radius=25.0)
        self.texts = []

    def segment_text(self, text, image=None, key=None):
        assert image is not None and image.shape == SCENE.shape
        self.texts.append(text)
        if text != "red":
            return []
        return [MaskCandidate(SQUARE.copy(), 0.9), MaskCandidate(RING.copy(), 0.6)]

    def everything(self, image=None, key=None, progress=None):
        raise AssertionError("a text-prompted model is asked the text, not for automatic masks")


@pytest.fixture
def window(make_window, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(SCENE).save(folder / "scene.png")
    made = {}

    def segmenter():
        made["seg"] = TextSegmenter()
        return made["seg"]

    registry = ModelRegistry([ModelSpec("text3", "sam3", "SAM 3 stand-in")])  # no CLIP model at all
    w = make_window({"text3": segmenter}, registry=registry)
    assert w.open_path(str(folder))
    return w, made


def test_the_find_box_asks_sam3_for_every_instance_without_clip(window, qtbot):
    w, made = window
    find = w.features["clip"].find_box
    with qtbot.waitSignal(find.found, timeout=10000):
        assert find.run("red")  # with a CLIP-only model this would stop at "Find needs a CLIP model"
    ai = w.ai
    assert made["seg"].texts == ["red"] and "Find" not in w.messages
    assert [c.score for c in ai.result.candidates] == [0.9, 0.6]  # both instances, best first
    assert np.array_equal(ai.preview_mask, SQUARE)
    ys, xs = np.nonzero(SQUARE)
    assert w.canvas.prompt_boxes[0].box == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    assert "2 instance(s) by text3" in w.statusBar().currentMessage()
    qtbot.keyClick(w.canvas, Qt.Key_C)  # the next instance
    assert ai.candidate == 1 and np.array_equal(ai.preview_mask, RING)
    assert find.provider(SCENE, ai.preview_mask) == [("red", 1.0)]  # the label dialog's pre-fill


def test_nothing_found_by_sam3_is_said(window, qtbot):
    w, made = window
    find = w.features["clip"].find_box
    with qtbot.waitSignal(find.found, timeout=10000):
        assert find.run("green")
    assert made["seg"].texts == ["green"] and w.ai.result is None
    assert "nothing found (text3 found no instance)" in w.statusBar().currentMessage()


def test_the_family_decides_before_the_model_has_loaded() -> None:
    from anylabel.gui.suggestions.find import understands_text

    class Unloaded:
        segmenter = None

        def __init__(self, name: str) -> None:
            self.name = name

    registry = ModelRegistry([ModelSpec("sam3", "sam3", "SAM 3"), ModelSpec("sam_vit_b", "sam", "SAM")])
    assert understands_text(Unloaded("sam3"), registry)
    assert not understands_text(Unloaded("sam_vit_b"), registry)
    assert not understands_text(Unloaded("not-in-the-registry"), registry)
