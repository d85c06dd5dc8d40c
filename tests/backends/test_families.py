"""Every family loads through the registry path and answers point / box / point+negative+box prompts."""
from __future__ import annotations

import numpy as np
import pytest

from anylabel.backends import Prompt, load_segmenter
from anylabel.backends.factory import best_available, segmenter_specs

FAMILIES = ["sam_vit_b", "sam_vit_b_onnx", "mobile_sam", "sam_hq_vit_b", "sam2.1_hiera_tiny", "fastsam_s", "classical"]
#: SAM-like models answer a box with a mask that may leave it (the others clip to the box)
SAM_LIKE = ("sam", "mobile_sam")


@pytest.fixture(scope="module", params=FAMILIES)
def loaded(request, registry, voc_image):
    seg = load_segmenter(request.param, registry=registry)
    seg.set_image(voc_image, key=f"voc-{request.param}")
    yield seg
    seg.close()


def _prompts(seg, image):
    """A point, a box and point + negative point + box. For FastSAM (random weights: few, odd masks) the
    prompts are placed on a mask it found, as a user would click on a visible proposal."""
    h, w = image.shape[:2]
    if seg.name.startswith("fastsam"):
        target = seg.everything()[0]
        ys, xs = np.nonzero(target.mask)
        x0, y0, x1, y1 = target.box
        pos = (float(xs[len(xs) // 2]), float(ys[len(ys) // 2]))
        box = (x0, y0, x1, y1)
        neg = (float(w - 1 - pos[0]), float(h - 1 - pos[1]))
    else:
        pos, box, neg = (250.0, 200.0), (150.0, 100.0, 350.0, 350.0), (60.0, 40.0)
    return [Prompt.from_clicks([pos]), Prompt.from_clicks(box=box), Prompt.from_clicks([pos], [neg], box=box)]


def test_answers_point_box_and_mixed_prompts_with_full_size_masks(loaded, voc_image) -> None:
    h, w = voc_image.shape[:2]
    for prompt in _prompts(loaded, voc_image):
        cands = loaded.predict(prompt)
        assert 1 <= len(cands) <= 3
        scores = [c.score for c in cands]
        assert scores == sorted(scores, reverse=True)
        for c in cands:
            assert c.mask.shape == (h, w) and c.mask.dtype == bool
            if c.box is not None:  # the box is tight: every foreground pixel inside, edges touched
                x0, y0, x1, y1 = c.box
                assert c.mask[y0:y1, x0:x1].sum() == c.mask.sum()
                assert c.mask[y0:y1, x0].any() and c.mask[y0, x0:x1].any()
            else:
                assert not c.mask.any()
        if prompt.box is not None and not loaded.name.startswith(SAM_LIKE):  # clipped to the box
            x0, y0, x1, y1 = (int(v) for v in prompt.box)
            outside = cands[0].mask.copy()
            outside[y0:y1 + 1, x0:x1 + 1] = False
            assert not outside.any()


def test_single_mask_mode_gives_one_candidate(loaded, voc_image) -> None:
    prompt = _prompts(loaded, voc_image)[0]
    prompt.multimask = False
    assert len(loaded.predict(prompt)) == 1


def test_previous_logits_are_accepted(loaded, voc_image) -> None:
    prompt = _prompts(loaded, voc_image)[0]
    first = loaded.predict(prompt)[0]
    if loaded.name in ("fastsam_s", "classical"):  # no low-resolution logits to feed back
        assert first.logits is None
        return
    assert first.logits.shape == (1, 256, 256)
    again = Prompt(points=prompt.points, labels=prompt.labels, mask_logits=first.logits)
    assert loaded.predict(again)[0].mask.shape == first.mask.shape


def test_predict_without_image_is_an_error(registry) -> None:
    seg = load_segmenter("classical", registry=registry)
    with pytest.raises(ValueError, match="no image set"):
        seg.predict(Prompt.from_clicks([(1, 1)]))


def test_every_segmenter_entry_builds(registry) -> None:
    from anylabel.backends.factory import adapter_class

    names = [s.name for s in segmenter_specs(registry)]
    for expected in ("sam_vit_l", "sam_vit_h_onnx", "mobile_sam", "sam_hq_vit_l", "sam_hq_vit_h",
                     "sam2.1_hiera_large", "fastsam_x", "classical"):
        assert expected in names
    assert "clip_vit_b32" not in names
    for name in ("sam_vit_h", "sam_hq_vit_h", "sam2.1_hiera_large", "fastsam_x"):
        seg = load_segmenter(name, registry=registry)
        assert isinstance(seg, adapter_class(registry.get(name))) and seg.name == name


def test_best_available_prefers_sam2_then_sam_then_classical(registry, random_models) -> None:
    from anylabel.models import ModelRegistry

    assert best_available(registry).family == "sam2"
    only_sam = ModelRegistry([s for s in registry.specs() if s.family in ("sam", "clip")])
    assert best_available(only_sam).family == "sam"
    nothing = ModelRegistry([s for s in registry.specs() if s.family == "clip"])
    assert best_available(nothing).name == "classical"
    assert load_segmenter(None, registry=nothing).name == "classical"


def test_wrong_architecture_is_a_model_error(registry, tmp_path) -> None:
    import dataclasses

    from anylabel.errors import ModelError

    sam2_file = registry.get("sam2.1_hiera_tiny").path
    wrong = dataclasses.replace(registry.get("sam_vit_b"), path=sam2_file, sha256=None)
    from anylabel.models import ModelRegistry

    with pytest.raises(ModelError, match="SAM2-style checkpoint"):
        load_segmenter("sam_vit_b", registry=ModelRegistry([wrong]))
    other = dataclasses.replace(registry.get("sam_vit_b"), settings={"model_type": "vit_b"})  # real vit_b dims
    with pytest.raises(ModelError, match="do not fit SAM vit_b"):
        load_segmenter("sam_vit_b", registry=ModelRegistry([other]))
