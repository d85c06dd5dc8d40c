"""bfloat16 products (anylabel.backends.precision): the choice of precision, and SAM / SAM2 answers in
bfloat16 close to the float32 ones (not equal: bfloat16 has 8 bits of mantissa)."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from anylabel.backends import EmbeddingCache, Prompt, load_segmenter
from anylabel.backends import precision as prec
from anylabel.errors import ModelError

PROMPTS = [
    Prompt.from_clicks([(250, 200)]),
    Prompt.from_clicks([(250, 200), (90, 300)], [(60, 40)]),
    Prompt.from_clicks([(250, 200)], box=(150, 100, 350, 350)),
]


def test_precision_names_and_auto(monkeypatch) -> None:
    from anylabel.backends import engines

    monkeypatch.delenv("ANYLABEL_PRECISION", raising=False)
    assert prec.resolve_precision("float32") == "float32"
    assert prec.resolve_precision("bfloat16") == "bfloat16"
    # auto on a CPU: the torch encoder the engine probe measured faster (tests/backends/test_engines.py)
    monkeypatch.setattr(engines, "cpu_bfloat16", lambda: True)
    monkeypatch.setattr(engines, "measured_times", lambda: {
        "encoder": {engines.TORCH_FP32: 10.0, engines.TORCH_BF16: 5.0, engines.ONNX_FP32: 4.0},
        "decoder": {engines.TORCH_FP32: 0.03, engines.TORCH_BF16: 0.02, engines.ONNX_FP32: 0.04}})
    assert prec.resolve_precision("auto") == "bfloat16"  # ONNX Runtime is no torch precision: not offered
    assert prec.resolve_precision(None) == "bfloat16"  # no request, no environment: auto
    assert prec.resolve_precision("auto", device="cuda") == "float32"  # the probe concerns CPUs
    monkeypatch.setattr(engines, "cpu_bfloat16", lambda: False)
    assert prec.resolve_precision("auto") == "float32"  # no bfloat16 instructions: never bfloat16
    monkeypatch.setenv("ANYLABEL_PRECISION", "bfloat16")
    assert prec.resolve_precision(None) == "bfloat16"
    assert prec.resolve_precision("float32") == "float32"  # an explicit request wins over the environment
    with pytest.raises(ValueError, match="half"):
        prec.resolve_precision("half")
    assert prec.torch_dtype("bfloat16") is torch.bfloat16 and prec.torch_dtype("float32") is torch.float32


def test_unknown_precision_is_a_model_error(registry) -> None:
    with pytest.raises(ModelError, match="precision 'fp8'"):
        load_segmenter("sam_vit_b", registry=registry, precision="fp8")


def test_precision_is_ignored_by_backends_without_a_choice(registry) -> None:
    seg = load_segmenter("classical", registry=registry, precision="bfloat16")
    assert seg.name == "classical"


@pytest.mark.parametrize("name", ["sam_vit_b", "sam2.1_hiera_tiny"])
def test_bfloat16_answers_are_close_to_float32(name, registry, voc_image) -> None:
    cache = EmbeddingCache(512)
    exact = load_segmenter(name, registry=registry, precision="float32", cache=cache)
    fast = load_segmenter(name, registry=registry, precision="bfloat16", cache=cache)
    assert (exact.precision, fast.precision) == ("float32", "bfloat16")
    assert exact.cache_name == name and fast.cache_name == f"{name}@bfloat16"
    exact.set_image(voc_image, key="img")
    fast.set_image(voc_image, key="img")
    assert len(cache) == 2  # the two embeddings differ, so they are cached apart
    emb_exact, _ = exact._state()
    emb_fast, _ = fast._state()
    feats = [emb_exact.features, emb_fast.features]
    if isinstance(feats[0], dict):
        feats = [f["image_embed"] for f in feats]
    assert feats[1].dtype == torch.float32  # stored as float32 whatever the encoder ran in
    rel = float((feats[0] - feats[1]).norm() / feats[0].norm())
    assert 0 < rel < 0.03  # bfloat16 really ran, and stayed close
    for prompt in PROMPTS:
        a = exact.predict(prompt)
        b = fast.predict(prompt)
        assert [c.mask.shape for c in b] == [voc_image.shape[:2]] * 3
        sa = np.array(sorted(c.score for c in a))
        sb = np.array(sorted(c.score for c in b))
        assert np.abs(sa - sb).max() < 0.05
        # the same decoder on the same (float32) embedding: compare logits of the same candidate
        lb, _ = fast._decode(emb_exact, prompt.points, prompt.labels, prompt.box, None, True)
        le, _ = exact._decode(emb_exact, prompt.points, prompt.labels, prompt.box, None, True)
        assert np.abs(lb - le).max() <= 0.03 * np.abs(le).max()
        inter = ((lb > 0) & (le > 0)).sum()
        union = max(1, ((lb > 0) | (le > 0)).sum())
        assert inter / union >= 0.97


def test_bfloat16_refinement_click_keeps_the_mask_prompt_path(registry, voc_image) -> None:
    exact = load_segmenter("sam_vit_b", registry=registry, precision="float32")
    fast = load_segmenter("sam_vit_b", registry=registry, precision="bfloat16")
    exact.set_image(voc_image, key="refine")
    emb, _ = exact._state()
    prompt = Prompt.from_clicks([(250, 200), (300, 250)])
    previous = np.random.default_rng(0).normal(0, 4, (1, 256, 256)).astype(np.float32)
    le, se = exact._decode(emb, prompt.points, prompt.labels, None, previous, True)
    lb, sb = fast._decode(emb, prompt.points, prompt.labels, None, previous, True)
    assert lb.dtype == np.float32 and lb.shape == le.shape == (3, 256, 256)
    assert np.abs(lb - le).max() <= 0.03 * np.abs(le).max()
    assert np.abs(sb - se).max() < 0.05


def test_cli_precision_option(tmp_path, voc_image_path, random_models) -> None:
    out = tmp_path / "out.json"
    env = {**os.environ, "ANYLABEL_MODELS": str(random_models)}
    run = [sys.executable, "-m", "anylabel", "segment", str(voc_image_path), "--model", "sam_vit_b",
           "--point", "250,200", "--label", "thing", "-o", str(out)]
    done = subprocess.run(run + ["--precision", "bfloat16"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert out.exists()
    bad = subprocess.run(run + ["--precision", "half"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "invalid choice: 'half'" in bad.stderr
