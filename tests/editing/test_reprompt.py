"""A finished shape as the model's mask input: the transform inverts upstream's own post-processing, and the
logits reach the upstream decoder (random-weight SAM and SAM2) unchanged and give upstream's answer."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from anylabel.backends import load_segmenter
from anylabel.document import Shape
from anylabel.editing.convert import shape_mask
from anylabel.editing.reprompt import LogitFrame, interior_point, mask_logits, reprompt
from anylabel.geometry import mask_iou


def _blob(hw) -> np.ndarray:
    h, w = hw
    ring = shape_mask(Shape("o", [(w * 0.45, h * 0.5), (w * 0.45, h * 0.2)], shape_type="circle"), hw)
    hole = shape_mask(Shape("o", [(w * 0.45, h * 0.5), (w * 0.45, h * 0.4)], shape_type="circle"), hw)
    return ring & ~hole  # a ring: its centroid is outside it


def test_sam_frame_is_resize_longest_side_plus_padding() -> None:
    from segment_anything.utils.transforms import ResizeLongestSide

    mask = np.zeros((300, 500), bool)
    mask[:, :250] = True  # the left half
    newh, neww = ResizeLongestSide.get_preprocess_shape(300, 500, 1024)
    logits = mask_logits(mask, LogitFrame(valid_hw=(newh / 4, neww / 4), pre_scale=4))
    assert logits.shape == (1, 256, 256) and logits.dtype == np.float32
    assert (newh, neww) == (614, 1024)
    rows = int(np.ceil(newh / 4))  # 153.5 cells cover the image; the rest is SAM's bottom padding
    assert np.all(logits[0, rows:] == -20) and np.all(logits[0, :153, :127] == 20)
    assert np.all(logits[0, :153, 129:] == -20) and logits[0, 10, 127:129] == pytest.approx([20, -20], abs=1e-3)
    assert logits[0, 153, 0] == pytest.approx(0.0, abs=0.2)  # half a cell of image, half of padding


def test_interior_point_of_a_ring_lies_on_the_ring() -> None:
    ring = _blob((200, 300))
    x, y = interior_point(ring)
    assert ring[int(y), int(x)]


@pytest.mark.parametrize("name", ["sam_vit_b", "sam2.1_hiera_tiny"])
def test_the_mask_input_reaches_the_upstream_decoder(name, registry, voc_image, one_torch_thread) -> None:
    seg = load_segmenter(name, registry=registry, precision="float32")
    seg.set_image(voc_image, key=f"reprompt-{name}")
    hw = voc_image.shape[:2]
    mask = _blob(hw)
    frame = LogitFrame.of(seg)
    prompt = reprompt(mask, frame, negative=[(10.0, 10.0)])
    assert prompt.mask_logits.shape == (1, 256, 256) and not prompt.multimask
    assert len(prompt.positive_points) == 1 and mask[int(prompt.points[0][1]), int(prompt.points[0][0])]

    # 1. upstream's own post-processing of these logits gives the shape back: the transform is its inverse
    if name.startswith("sam2"):
        from sam2.sam2_image_predictor import SAM2ImagePredictor as P

        predictor = P(seg.model)
        back = predictor._transforms.postprocess_masks(torch.from_numpy(prompt.mask_logits)[None], hw)[0, 0] > 0
    else:
        from segment_anything import SamPredictor as P

        predictor = P(seg.model)
        from segment_anything.utils.transforms import ResizeLongestSide

        input_size = ResizeLongestSide.get_preprocess_shape(*hw, 1024)
        back = seg.model.postprocess_masks(torch.from_numpy(prompt.mask_logits)[None], input_size, hw)[0, 0] > 0
    assert mask_iou(back.numpy(), mask) > 0.97

    # 2. the logits reach the upstream prompt encoder's mask downscaling unchanged
    encoder = seg.model.sam_prompt_encoder if name.startswith("sam2") else seg.model.prompt_encoder
    seen = []
    hook = encoder.mask_downscaling[0].register_forward_pre_hook(lambda m, args: seen.append(args[0].clone()))
    try:
        ours = seg.predict(prompt)
    finally:
        hook.remove()
    assert len(seen) == 1 and tuple(seen[0].shape) == (1, 1, 256, 256)
    assert np.array_equal(seen[0][0].numpy(), prompt.mask_logits)

    # 3. and the answer is the upstream predictor's for the same prompt and mask input
    predictor.set_image(voc_image)
    fitted = prompt.fit(hw)
    _, scores, logits = predictor.predict(point_coords=fitted.points, point_labels=fitted.labels,
                                          mask_input=prompt.mask_logits, multimask_output=False)
    assert len(ours) == 1
    assert np.allclose(ours[0].logits[0], logits[0], atol=1e-4)
    assert ours[0].score == pytest.approx(float(scores[0]), abs=1e-5)


def test_backends_without_mask_prompts_get_the_shape_box() -> None:
    mask = np.zeros((50, 80), bool)
    mask[10:20, 30:60] = True
    prompt = reprompt(mask, None, positive=[(40.0, 15.0)])
    assert prompt.box == (30.0, 10.0, 59.0, 19.0) and prompt.mask_logits is None
    assert LogitFrame.of(object()) is None


def test_a_brushed_preview_carries_the_logits_of_the_edited_mask() -> None:
    from anylabel.editing.brush import paint_stroke
    from anylabel.editing.reprompt import candidate_from_mask

    mask = np.zeros((300, 400), bool)
    mask[100:200, 100:200] = True
    paint_stroke(mask, [(200, 150), (300, 150)], 10)
    frame = LogitFrame(valid_hw=(192.0, 256.0), pre_scale=4)  # a 300x400 image on SAM's grid
    c = candidate_from_mask(mask, frame, score=0.5)
    assert c.box == (100, 100, 311, 200) and c.score == 0.5
    assert np.array_equal(c.logits, mask_logits(mask, frame))
    assert c.logits[0, 96, 179] == pytest.approx(20)  # the painted stroke (x 280, y 150; 2.56 / 4 per cell)
    assert candidate_from_mask(mask, None).logits is None


def test_cell_fractions_are_exact_areas() -> None:
    from anylabel.editing.reprompt import cell_fractions

    mask = np.zeros((8, 8), bool)
    mask[0:3, 0:1] = True  # 3 pixels
    f = cell_fractions(mask, LogitFrame(valid_hw=(2.0, 2.0), grid_hw=(2, 2)))  # 4x4-pixel cells
    assert f.tolist() == [[3 / 16, 0], [0, 0]]
    f = cell_fractions(mask, LogitFrame(valid_hw=(1.5, 1.5), pre_scale=2, grid_hw=(2, 2)))  # 16/3 px, padding
    assert f[0, 0] == pytest.approx(3 / (16 / 3) ** 2) and f[1, 1] == 0
    full = np.ones((5, 7), bool)
    g = cell_fractions(full, LogitFrame(valid_hw=(2.5, 3.5), pre_scale=2, grid_hw=(4, 4)))
    assert np.allclose(g[:2, :3], 1) and np.allclose(g[2, :3], 0.5) and np.allclose(g[:2, 3], 0.5)
    assert g[3].max() == 0 and g[2, 3] == pytest.approx(0.25)


def test_a_model_whose_logit_grid_is_not_256_gets_its_own_size() -> None:
    """SAM 3's low-resolution logits are 288 x 288 (4 x its 72-cell feature map at 1008 px) and cover the image:
    the mask input must be on that grid, not on SAM's 256 x 256."""
    from anylabel.backends.promptable import Embedding

    class Sam3Like:
        def current_embedding(self):
            return Embedding(orig_hw=(300, 500), features=None, logit_hw=(288.0, 288.0))

    frame = LogitFrame.of(Sam3Like())
    assert frame.grid_hw == (288, 288) and frame.pre_scale == 1
    mask = np.zeros((300, 500), bool)
    mask[:, :250] = True
    logits = mask_logits(mask, frame)
    assert logits.shape == (1, 288, 288)
    assert logits[0, :, :143].min() > 0 > logits[0, :, 145:].max()  # the left half of the grid
