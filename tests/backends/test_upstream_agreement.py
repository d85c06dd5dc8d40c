"""Our fast path (decoder + box-cropped upsampling) gives the masks of the upstream predictors; the ONNX
decoder agrees with torch within 1e-3; the export is cached next to the checkpoint."""
from __future__ import annotations

import numpy as np
import pytest

from anylabel.backends import Prompt, load_segmenter
from anylabel.geometry import mask_iou

PROMPTS = [
    Prompt.from_clicks([(250, 200)]),
    Prompt.from_clicks(box=(150, 100, 350, 350)),
    Prompt.from_clicks([(250, 200)], [(60, 40)], box=(150, 100, 350, 350)),
]


def _upstream(predictor, prompt, hw):
    prompt = prompt.fit(hw)  # what every backend is given: boxes clipped to the image (this one ends below it)
    pts = prompt.points if len(prompt.points) else None
    labels = prompt.labels if len(prompt.points) else None
    box = np.array(prompt.box) if prompt.box is not None else None
    masks, scores, logits = predictor.predict(point_coords=pts, point_labels=labels, box=box,
                                              multimask_output=True)
    order = np.argsort(-scores, kind="stable")
    return masks[order], scores[order], logits[order]


@pytest.mark.parametrize("name", ["sam_vit_b", "sam2.1_hiera_tiny"])
def test_masks_equal_the_upstream_predictor(name, registry, voc_image) -> None:
    seg = load_segmenter(name, registry=registry, precision="float32")
    seg.set_image(voc_image, key=f"agree-{name}")
    if name.startswith("sam2"):
        from sam2.sam2_image_predictor import SAM2ImagePredictor as P
    else:
        from segment_anything import SamPredictor as P
    predictor = P(seg.model)
    predictor.set_image(voc_image)
    for prompt in PROMPTS:
        ours = seg.predict(prompt)
        masks, scores, logits = _upstream(predictor, prompt, voc_image.shape[:2])
        assert np.allclose([c.score for c in ours], scores, atol=1e-5)
        for c, m, lg in zip(ours, masks, logits):
            assert np.allclose(c.logits[0], lg, atol=1e-4)
            assert mask_iou(c.mask, m) >= 0.999


def test_onnx_decoder_agrees_with_torch(registry, voc_image) -> None:
    torch_seg = load_segmenter("sam_vit_b", registry=registry, precision="float32")
    onnx_seg = load_segmenter("sam_vit_b_onnx", registry=registry)
    torch_seg.set_image(voc_image, key="onnx-agree")
    onnx_seg.set_image(voc_image, key="onnx-agree")
    emb_t, _ = torch_seg._state()
    emb_o, _ = onnx_seg._state()
    # the encoders agree too (same weights, float32)
    assert np.abs(emb_t.features.numpy() - emb_o.features).max() < 1e-3
    # the decoders, fed the same embedding
    emb_o.features = emb_t.features.numpy()
    for prompt in PROMPTS:
        for multimask in (True, False):
            a_logits, a_scores = torch_seg._decode(emb_t, prompt.points, prompt.labels, prompt.box, None, multimask)
            b_logits, b_scores = onnx_seg._decode(emb_o, prompt.points, prompt.labels, prompt.box, None, multimask)
            assert a_logits.shape == b_logits.shape == ((3 if multimask else 1), 256, 256)
            assert np.abs(a_logits - b_logits).max() < 1e-3
            assert np.abs(a_scores - b_scores).max() < 1e-3
        prev = a_logits[:1]
        a = torch_seg._decode(emb_t, prompt.points, prompt.labels, prompt.box, prev, True)
        b = onnx_seg._decode(emb_o, prompt.points, prompt.labels, prompt.box, prev, True)
        assert np.abs(a[0] - b[0]).max() < 1e-3 and np.abs(a[1] - b[1]).max() < 1e-3


def test_onnx_export_is_cached_by_checkpoint_hash(registry) -> None:
    from anylabel.backends.sam_onnx import onnx_dir_for
    from anylabel.models import cache_root

    spec = registry.get("sam_vit_b_onnx")
    first = load_segmenter("sam_vit_b_onnx", registry=registry)
    folder = onnx_dir_for(spec, spec.path)
    assert folder.parent == cache_root() / "onnx" and spec.sha256[:16] in folder.name
    assert (folder / "encoder.onnx").is_file() and (folder / "decoder.onnx").is_file()
    stamp = (folder / "decoder.onnx").stat().st_mtime_ns
    second = load_segmenter("sam_vit_b_onnx", registry=registry)
    assert second._torch_model is None  # no torch model built: nothing exported again
    assert (folder / "decoder.onnx").stat().st_mtime_ns == stamp
    assert first.onnx_dir == second.onnx_dir
