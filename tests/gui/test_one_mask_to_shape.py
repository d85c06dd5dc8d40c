"""F in the window and ``anylabel segment`` make identical shapes from one mask (issue 14: the GUI had its
own mask -> shape copy with another min_area, another fallback for tiny objects and another box)."""
from __future__ import annotations

import numpy as np
import pytest
from test_gui_ai_workflow import click, finish, wait_preview

from anylabel.backends import MaskCandidate, Segmenter
from anylabel.formats.labelme import load_labelme

pytestmark = pytest.mark.gui


def _masks(h: int, w: int) -> dict:
    speck = np.zeros((h, w), bool)
    speck[20:60, 30:80] = True  # the object
    speck[90:94, 100:105] = True  # a 20-pixel part: dropped by the GUI's old min_area 25, kept by the CLI's 16
    tiny = np.zeros((h, w), bool)
    tiny[40:43, 40:43] = True  # 9 pixels, every part "too small": the CLI refused it, the GUI kept it
    return {"speck": speck, "tiny": tiny}


class FixedMask(Segmenter):
    """Answers every prompt with one mask of the image's size (``kind`` in :func:`_masks`)."""

    name = "fixed"
    kind = "speck"

    def set_image(self, image, key=None):
        self.hw = image.shape[:2] if image is not None else self.hw

    def has_embedding(self, key):
        return False

    def predict(self, prompt):
        return [MaskCandidate(_masks(*self.hw)[self.kind], 0.75)]

    def everything(self, image, **kwargs):
        return []

    def set_image_path(self, path, image=None, key=None):
        from anylabel.imaging import load_image

        self.set_image(image if image is not None else load_image(path))
        return key or str(path)


@pytest.mark.parametrize("kind", ["speck", "tiny"])
def test_the_window_and_the_cli_make_the_same_shapes(make_window, image_dir, tmp_path, qtbot, monkeypatch, kind):
    import anylabel.cli.segment as segment_cli
    from anylabel.cli import main

    monkeypatch.setattr(FixedMask, "kind", kind)
    w = make_window({"fixed": FixedMask})
    w.open_path(str(image_dir))
    click(qtbot, w, 40, 41)
    wait_preview(qtbot, w)
    finish(qtbot, w, "thing")
    assert w.save()
    window_shapes = load_labelme(w.folder.annotation_path(w.row)).shapes

    monkeypatch.setattr(segment_cli, "load_cli_segmenter", lambda args: FixedMask())
    out = tmp_path / "cli.json"
    image = str(w.folder.image_path(w.row))
    assert main(["segment", image, "--point", "40,41", "--label", "thing", "-o", str(out)]) == 0
    assert load_labelme(out).shapes == window_shapes
