"""The reordered CPU decoder (anylabel.backends.fast_decoder) computes what upstream's mask decoders compute:
SAM and SAM2, with and without a mask prompt, multimask or not, points and boxes; and everything() reuses
the cached embedding instead of running the encoder again."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from anylabel.backends import Prompt, load_segmenter

PROMPTS = [
    Prompt.from_clicks([(250, 200)]),
    Prompt.from_clicks([(250, 200), (90, 300)], [(60, 40)]),
    Prompt.from_clicks([(250, 200)], [(60, 40)], box=(150, 100, 350, 350)),
]


def _inputs(seg, prompt, emb):
    """(points, box) tensors the adapter's prompt encoder call uses, via the adapter's own transforms."""
    if seg.name.startswith("sam2"):
        transforms = seg._predictor()._transforms
        pts = [transforms.transform_coords(torch.as_tensor(prompt.points, dtype=torch.float), normalize=True,
                                           orig_hw=emb.orig_hw)[None]]
        labels = [torch.as_tensor(prompt.labels, dtype=torch.int)[None]]
        if prompt.box is not None:
            b = transforms.transform_boxes(torch.as_tensor(prompt.box, dtype=torch.float)[None], normalize=True,
                                           orig_hw=emb.orig_hw)
            pts.insert(0, b.reshape(1, 2, 2))
            labels.insert(0, torch.tensor([[2, 3]], dtype=torch.int))
        return (torch.cat(pts, 1), torch.cat(labels, 1)), None
    c = seg.transform.apply_coords(prompt.points, emb.orig_hw)
    points = (torch.as_tensor(c, dtype=torch.float)[None], torch.as_tensor(prompt.labels, dtype=torch.int)[None])
    box = None
    if prompt.box is not None:
        box = torch.as_tensor(seg.transform.apply_boxes(np.array(prompt.box)[None], emb.orig_hw), dtype=torch.float)
    return points, box


@pytest.mark.parametrize("name", ["sam_vit_b", "sam2.1_hiera_tiny"])
def test_fast_decoder_equals_upstream_decoder(name, registry, voc_image) -> None:
    seg = load_segmenter(name, registry=registry, precision="float32")  # bfloat16: tests/backends/test_precision.py
    seg.set_image(voc_image, key=f"fast-{name}")
    emb, _ = seg._state()
    state = seg.prepared(emb)
    assert seg.prepared(emb) is state  # computed once per image
    sam2 = name.startswith("sam2")
    prompt_encoder = seg.model.sam_prompt_encoder if sam2 else seg.model.prompt_encoder
    decoder = seg.model.sam_mask_decoder if sam2 else seg.model.mask_decoder
    rng = np.random.default_rng(0)
    previous = torch.as_tensor(rng.normal(0, 4, (1, 1, 256, 256)).astype(np.float32))
    with torch.inference_mode():
        for prompt in PROMPTS:
            points, box = _inputs(seg, prompt, emb)
            for mask in (None, previous):
                sparse, dense = prompt_encoder(points=points, boxes=box, masks=mask)
                for multimask in (True, False):
                    if sam2:
                        f = emb.features
                        ref = decoder(image_embeddings=f["image_embed"], image_pe=prompt_encoder.get_dense_pe(),
                                      sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                      multimask_output=multimask, repeat_image=False,
                                      high_res_features=list(f["high_res_feats"]))[:2]
                    else:
                        ref = decoder(image_embeddings=emb.features, image_pe=prompt_encoder.get_dense_pe(),
                                      sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                      multimask_output=multimask)
                    ours = seg._fast(state, sparse, mask, multimask)
                    assert ours[0].shape == ref[0].shape == (1, 3 if multimask else 1, 256, 256)
                    assert ours[1].shape == ref[1].shape
                    scale = max(1.0, float(ref[0].abs().max()))
                    assert float((ours[0] - ref[0]).abs().max()) <= 1e-4 * scale
                    assert float((ours[1] - ref[1]).abs().max()) <= 1e-5
                    assert ((ours[0] > 0) == (ref[0] > 0)).float().mean() >= 0.999


@pytest.mark.parametrize("name", ["sam_vit_b", "sam2.1_hiera_tiny"])
def test_everything_reuses_the_cached_embedding(name, registry, voc_image, monkeypatch) -> None:
    seg = load_segmenter(name, registry=registry)
    seg.everything_options = {**seg.everything_options, "points_per_side": 2}  # 4 prompts: fast enough
    encoder = seg.model.image_encoder
    calls = []
    monkeypatch.setattr(encoder, "forward", _counting(encoder.forward, calls))
    seg.set_image(voc_image, key=f"everything-{name}")
    assert len(calls) == 1
    masks = seg.everything()
    assert len(calls) == 1  # the generator used the cached embedding
    assert all(m.mask.shape == voc_image.shape[:2] for m in masks)
    seg.everything(voc_image)  # the current image passed explicitly: still the cached embedding
    assert len(calls) == 1
    other = np.ascontiguousarray(voc_image[::-1])
    seg.everything(other)  # another image: encoded, once, and the current image stays current
    assert len(calls) == 2
    assert seg.current_key == f"everything-{name}"
    third = np.ascontiguousarray(voc_image[:, ::-1])
    seg.encode(third, "file-key-of-third")  # the GUI's prefetch caches under the file's key
    assert len(calls) == 3
    seg.everything(third, key="file-key-of-third")  # the find box passes that key: no second encoder run
    assert len(calls) == 3
    assert seg.current_key == f"everything-{name}"


def _counting(fn, calls):
    def wrapper(*args, **kwargs):
        calls.append(1)
        return fn(*args, **kwargs)

    return wrapper


def test_everything_batches_fit_the_memory_budget() -> None:
    from anylabel.backends.auto_masks import BATCH_BUDGET, bounded_options

    small = bounded_options({"points_per_side": 16, "points_per_batch": 64}, (375, 500))
    assert small == {"points_per_side": 16, "points_per_batch": 64}  # 64 x 3 x 0.19 M floats: within budget
    big = bounded_options({"points_per_batch": 64}, (3000, 4000))
    assert big["points_per_batch"] == BATCH_BUDGET // (3 * 3000 * 4000 * 4) >= 1
    assert bounded_options({"points_per_batch": 64}, (30000, 40000))["points_per_batch"] == 1


@pytest.mark.parametrize("name", ["sam_vit_b", "sam2.1_hiera_tiny", "classical"])
def test_everything_reports_progress_and_stops_when_cancelled(name, registry, voc_image) -> None:
    from anylabel.errors import CancelledError

    seg = load_segmenter(name, registry=registry)
    if name != "classical":  # 4 points in batches of 1: 4 steps
        seg.everything_options = {**seg.everything_options, "points_per_side": 2, "points_per_batch": 1}
    seg.set_image(voc_image, key=f"progress-{name}")
    seen = []
    masks = seg.everything(progress=lambda done, total: seen.append((done, total)))
    assert all(m.mask.shape == voc_image.shape[:2] for m in masks)
    total = seen[-1][1]
    assert total >= 1 and seen[-1][0] == total  # the last report says "all done"
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)  # monotonic
    if name != "classical":
        assert seen == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    calls = []

    def stop_after_two(done: int, total: int) -> bool:
        calls.append(done)
        return done < 2

    with pytest.raises(CancelledError):
        seg.everything(progress=stop_after_two)
    assert calls[-1] == 2 and max(calls) == 2  # stopped at the third step, not at the end
