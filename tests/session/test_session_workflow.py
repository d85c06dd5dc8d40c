"""The annotation workflow through the session alone, no Qt: click -> preview -> finish -> label -> save ->
undo with the real classical backend; and one mask makes the same shapes through the CLI and the session."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from anylabel.backends import MaskCandidate
from anylabel.backends.classical import ClassicalSegmenter
from anylabel.formats.labelme import load_labelme
from anylabel.session import AnnotationSession, NothingToFinish, PlainAnswer


@pytest.fixture
def photo(tmp_path: Path, voc_dir: Path) -> Path:
    src = sorted((voc_dir / "data_annotated").glob("*.jpg"))[0]
    return Path(shutil.copy(src, tmp_path / "photo.jpg"))


def ask_model(session: AnnotationSession, segmenter) -> PlainAnswer:
    """What the GUI's worker does, synchronously: the prompt for the newest version, answered."""
    version, prompt = session.prompts.version, session.prompt()
    return PlainAnswer(session.image_key, version, segmenter.predict(prompt), prompt)


def test_click_preview_finish_label_save_undo_headless(photo: Path):
    session = AnnotationSession()
    session.load(session.open(photo))
    h, w = session.image.shape[:2]
    segmenter = ClassicalSegmenter()
    segmenter.set_image(session.image, key=session.image_key)
    events = []
    for name in ("prompts_changed", "preview_changed", "shapes_changed", "selection_changed", "saved"):
        getattr(session, name).connect(lambda *a, n=name: events.append(n))

    session.add_box((w * 0.25, h * 0.25, w * 0.75, h * 0.75))
    stale = ask_model(session, segmenter)
    session.add_point(w / 2, h / 2, True)  # a second prompt before the first answer arrived
    assert not session.accept(stale) and session.preview is None  # the answer to the older prompts is dropped
    assert session.waiting
    with pytest.raises(NothingToFinish):
        session.finish("dog")
    answer = ask_model(session, segmenter)
    assert session.accept(answer) and not session.waiting
    preview = session.preview
    assert preview is not None and preview.mask.shape == (h, w) and preview.mask.dtype == bool and preview.mask.any()

    ids = session.finish("dog", description="front")
    assert ids and session.selected == set(ids) and not session.prompts and session.preview is None
    finished = [session.shape(i) for i in ids]
    assert all(s.label == "dog" and s.shape_type == "polygon" and s.description == "front" for s in finished)
    session.relabel(ids, label="cat")  # label
    path = session.save()
    on_disk = load_labelme(path)
    assert [s.label for s in on_disk.shapes] == ["cat"] * len(ids)
    assert [s.points for s in on_disk.shapes] == [s.points for s in session.shapes]

    assert session.undo() and [s.label for s in session.shapes] == ["dog"] * len(ids)  # the relabel
    assert session.undo() and session.shapes == [] and session.dirty  # the finish
    assert len(load_labelme(path).shapes) == len(ids)  # the saved file is untouched by the undo
    assert session.redo() and len(session.shapes) == len(ids)
    assert {"prompts_changed", "preview_changed", "shapes_changed", "selection_changed", "saved"} <= set(events)


def _mask(h: int = 120, w: int = 160) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[20:60, 30:80] = True  # the object
    m[90:94, 100:105] = True  # a 20-pixel part: below the GUI's old min_area (25), above the CLI's (16)
    return m


class _FixedMask:
    """A segmenter whose every answer is one given mask (the CLI loads it instead of a model)."""

    name = "fixed"

    def __init__(self, mask: np.ndarray) -> None:
        self.mask = mask

    def set_image_path(self, path, image=None, key=None) -> str:
        return key or str(path)

    def predict(self, prompt):
        return [MaskCandidate(self.mask, 0.75)]


@pytest.mark.parametrize("mask", [_mask(), _mask() & (np.arange(160)[None, :] > 99)], ids=["speck", "tiny-only"])
@pytest.mark.parametrize("as_mask", [False, True], ids=["polygons", "mask"])
def test_one_mask_gives_the_same_shapes_through_the_cli_and_the_session(tmp_path, monkeypatch, mask, as_mask):
    from PIL import Image

    import anylabel.cli.segment as segment_cli
    from anylabel.cli import main

    image = tmp_path / "img.png"
    Image.fromarray(np.zeros(mask.shape + (3,), np.uint8)).save(image)
    monkeypatch.setattr(segment_cli, "load_cli_segmenter", lambda args: _FixedMask(mask))
    out = tmp_path / "cli.json"
    argv = ["segment", str(image), "--point", "40,30", "--label", "thing", "-o", str(out)] + ["--mask"] * as_mask
    assert main(argv) == 0, sys.stderr
    cli_shapes = load_labelme(out).shapes

    (tmp_path / "gui").mkdir()
    session = AnnotationSession(output_dir=str(tmp_path / "gui"), mask_output=as_mask)
    session.load(session.open(image))
    session.add_point(40, 30)
    assert session.accept(PlainAnswer(session.image_key, session.prompts.version, [MaskCandidate(mask, 0.75)]))
    session.finish("thing")
    session_shapes = load_labelme(session.save()).shapes
    assert session_shapes == cli_shapes and len(cli_shapes) >= 1
