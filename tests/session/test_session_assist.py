"""session.assist: re-prompt a finished shape (classical backend and a random-weight SAM), polygon detail of the
preview, segment-everything candidates kept by a click."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anylabel.backends import MaskCandidate
from anylabel.backends.classical import ClassicalSegmenter
from anylabel.document import Shape
from anylabel.editing.convert import shape_mask
from anylabel.editing.reprompt import LogitFrame, mask_logits
from anylabel.formats.labelme import load_labelme
from anylabel.session import AnnotationSession, PlainAnswer


def _image(h: int = 120, w: int = 200) -> np.ndarray:
    img = np.full((h, w, 3), 40, np.uint8)
    img[30:80, 40:110] = (220, 60, 60)  # a red block
    img[40:60, 140:180] = (60, 60, 220)  # a blue one
    return img


@pytest.fixture
def session(tmp_path: Path) -> AnnotationSession:
    Image.fromarray(_image()).save(tmp_path / "a.png")
    s = AnnotationSession()
    s.load(s.open(tmp_path / "a.png"))
    return s


def ask(s: AnnotationSession, segmenter) -> bool:
    prompt = s.prompt()
    return s.accept(PlainAnswer(s.image_key, s.prompts.version, segmenter.predict(prompt), prompt))


def test_reprompt_a_shape_with_the_classical_backend_replaces_it_in_one_step(session):
    s = session
    seg = ClassicalSegmenter()
    seg.set_image(s.image, key=s.image_key)
    rough = Shape("block", [(45, 35), (100, 35), (100, 75), (45, 75)], flags={"occluded": True},
                  attributes={"color": "red"}, difficult=True)
    other, sid = s.add_shapes([Shape("x", [(0, 0), (5, 0), (5, 5)]), rough])
    before = [sh.copy() for sh in s.shapes]
    s.assist.reprompt_shape(sid)
    assert s.assist.reprompting == sid and s.selected == {sid}
    assert s.preview is not None and np.array_equal(s.preview.mask, shape_mask(rough, s.annotation.size))
    s.add_point(100, 50)
    prompt = s.prompt()
    assert prompt.box == pytest.approx((45, 35, 100, 75))  # no mask input here: the shape's box is the prompt
    assert ask(s, seg)
    ids = s.finish("")
    assert ids[0] == sid and len(s.shapes) == 1 + len(ids) and s.shapes[0].id == other
    new = s.shape(sid)
    details = (new.label, new.flags, new.attributes, new.difficult)
    assert details == ("block", {"occluded": True}, {"color": "red"}, True)
    assert new.points != rough.points and not s.prompts and s.assist.reprompting is None
    assert s.undo_shapes() and s.shapes == before and [sh.id for sh in s.shapes] == [other, sid]
    saved = load_labelme(s.save()).shapes
    assert saved == before


def test_clear_cancels_a_reprompt(session):
    s = session
    sid = s.add_shapes([Shape("b", [(45, 35), (100, 35), (100, 75), (45, 75)])])[0]
    s.assist.reprompt_shape(sid)
    s.clear_prompts()
    assert s.assist.reprompting is None and s.preview is None
    s.add_point(150, 50)
    s.accept(PlainAnswer(s.image_key, s.prompts.version, [MaskCandidate(np.ones((120, 200), bool), 1.0)]))
    s.finish("new")
    assert [sh.label for sh in s.shapes] == ["b", "new"]  # a new object, the old shape untouched


@pytest.fixture
def one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # a small random model gains nothing from both shared cores
    yield
    torch.set_num_threads(before)


def test_reprompt_gives_sam_the_shapes_mask_as_its_mask_input(session, random_models, one_torch_thread):
    from anylabel.backends import load_segmenter
    from anylabel.models import ModelRegistry

    seg = load_segmenter("sam_vit_b", registry=ModelRegistry.load(extra_files=[random_models]), precision="float32")
    s = session
    seg.set_image(s.image, key=s.image_key)
    frame = LogitFrame.of(seg)
    sid = s.add_shapes([Shape("b", [(45, 35), (100, 35), (100, 75), (45, 75)])])[0]
    s.assist.reprompt_shape(sid, frame)
    s.add_point(150, 50, positive=False)
    prompt = s.prompt()
    expected = mask_logits(shape_mask(s.shape(sid), s.annotation.size), frame)
    assert not prompt.multimask and np.array_equal(prompt.mask_logits, expected)
    seen = []
    hook = seg.model.prompt_encoder.mask_downscaling[0].register_forward_pre_hook(
        lambda m, args: seen.append(args[0].clone()))
    try:
        assert ask(s, seg)
    finally:
        hook.remove()
    assert len(seen) == 1 and np.array_equal(seen[0][0].numpy(), expected)
    assert len(s.answer.candidates) == 1
    s.finish("")  # random weights: whatever mask it is, it replaces the shape (or raises when empty)
    assert [sh.id for sh in s.shapes][0] == sid and s.shape(sid).label == "b"


def test_polygon_detail_and_the_tolerance_finish_uses(session):
    s = session
    yy, xx = np.mgrid[:120, :200]
    disc = (xx - 100) ** 2 + (yy - 60) ** 2 <= 40 ** 2
    assert s.assist.vertex_count() == 0 and s.assist.detail() is None
    s.add_point(100, 60)
    s.accept(PlainAnswer(s.image_key, s.prompts.version, [MaskCandidate(disc, 1.0)]))
    detail = s.assist.detail()
    assert s.assist.detail() is detail  # cached per candidate
    fine, coarse = s.assist.vertex_count(0.5), s.assist.vertex_count(5.0)
    assert fine > coarse >= 4
    s.assist.set_polygon_tolerance(5.0)
    assert s.assist.vertex_count() == coarse
    ids = s.finish("disc")
    assert len(s.shape(ids[0]).points) == coarse
    with pytest.raises(ValueError, match=">= 0"):
        s.assist.set_polygon_tolerance(-1)


def test_segment_everything_candidates_a_click_keeps_with_the_suggested_label(session):
    s = session
    seg = ClassicalSegmenter()
    fired = []
    s.assist.candidates_changed.connect(lambda: fired.append(len(s.assist.candidates)))
    seen = []
    n = s.assist.run_everything(seg, progress=lambda done, total: seen.append(done) is None)
    assert n == len(s.assist.candidates) and seen
    assert n >= 2 and fired == [n]
    s.assist.suggest_label = lambda candidate: "red" if candidate.mask[50, 70] else None
    sid = s.assist.keep_candidate_at(70, 50)
    kept = s.shape(sid)
    assert kept.label == "red" and s.selected == {sid} and len(s.assist.candidates) == n - 1
    assert shape_mask(kept, s.annotation.size)[50, 70]
    assert s.undo_shapes() and s.shapes == []
    s.close_image()
    assert s.assist.candidates == []


def test_a_reprompted_shape_deleted_meanwhile_makes_finish_add_a_new_object(session):
    s = session
    sid = s.add_shapes([Shape("b", [(45, 35), (100, 35), (100, 75), (45, 75)])])[0]
    s.assist.reprompt_shape(sid)
    s.delete([sid])
    assert s.assist.reprompting is None
    ids = s.finish("again")
    assert [sh.label for sh in s.shapes] == ["again"] and ids[0] != sid


def test_cancelling_segment_everything_keeps_the_old_candidates(session):
    from anylabel.errors import CancelledError

    s = session
    seg = ClassicalSegmenter()
    s.assist.set_everything([MaskCandidate(np.ones((120, 200), bool), 1.0)])
    with pytest.raises(CancelledError):
        s.assist.run_everything(seg, progress=lambda done, total: False)
    assert len(s.assist.candidates) == 1


def test_painting_a_reprompted_shapes_preview_still_replaces_that_shape(session):
    s = session
    sid = s.add_shapes([Shape("b", [(45, 35), (100, 35), (100, 75), (45, 75)], flags={"f": True})])[0]
    s.assist.reprompt_shape(sid)
    s.brush.begin_stroke(None, radius=5)
    s.brush.extend_stroke([(120, 55), (130, 55)])
    s.brush.end_stroke()
    assert s.assist.reprompting == sid and s.preview.mask[55, 125] and s.preview.mask[50, 70]
    s.mask_output = True
    assert s.finish("") == [sid]
    new = s.shape(sid)
    assert new.shape_type == "mask" and new.flags == {"f": True} and len(s.shapes) == 1
    assert s.undo_shapes() and s.shape(sid).shape_type == "polygon"
