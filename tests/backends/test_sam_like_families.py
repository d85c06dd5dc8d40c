"""MobileSAM and SAM-HQ (thin adapters over ``mobile_sam`` and ``segment_anything_hq``) answer as their upstream
predictors on the same random weights, through the registry path a download takes; ``everything`` is the
upstream generator's answer on the cached embedding; the command line takes them by name."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from anylabel.backends import Prompt, load_segmenter
from anylabel.geometry import mask_iou

PROMPTS = [
    Prompt.from_clicks([(250, 200)]),
    Prompt.from_clicks(box=(150, 100, 350, 350)),
    Prompt.from_clicks([(250, 200)], [(60, 40)], box=(150, 100, 350, 350)),
]
#: name -> the upstream package whose SamPredictor / SamAutomaticMaskGenerator is the reference
UPSTREAM = {"mobile_sam": "mobile_sam", "sam_hq_vit_b": "segment_anything_hq"}
#: tiny everything runs: 4 point prompts, no quality filter (random weights score every mask low)
TINY_EVERYTHING = {"points_per_side": 2, "points_per_batch": 4, "pred_iou_thresh": 0.0,
                   "stability_score_thresh": 0.0, "box_nms_thresh": 1.0}


def _upstream_predict(predictor, prompt, hw, **extra):
    prompt = prompt.fit(hw)
    pts = prompt.points if len(prompt.points) else None
    labels = prompt.labels if len(prompt.points) else None
    box = np.array(prompt.box) if prompt.box is not None else None
    masks, scores, logits = predictor.predict(point_coords=pts, point_labels=labels, box=box,
                                              multimask_output=True, **extra)
    order = np.argsort(-scores, kind="stable")
    return masks[order], scores[order], logits[order]


def _predictor(name, model):
    import importlib

    return importlib.import_module(UPSTREAM[name]).SamPredictor(model)


@pytest.mark.parametrize("name", list(UPSTREAM))
def test_masks_equal_the_upstream_predictor(name, registry, voc_image) -> None:
    seg = load_segmenter(name, registry=registry, precision="float32")
    seg.set_image(voc_image, key=f"agree-{name}")
    assert type(seg.model).__module__.startswith(UPSTREAM[name])  # the upstream package's own Sam
    predictor = _predictor(name, seg.model)
    predictor.set_image(voc_image)
    for prompt in PROMPTS:
        ours = seg.predict(prompt)
        masks, scores, logits = _upstream_predict(predictor, prompt, voc_image.shape[:2])
        assert len(ours) == len(scores)  # SAM-HQ: one mask per prompt, as its predictor
        assert np.allclose([c.score for c in ours], scores, atol=1e-5)
        for c, m, lg in zip(ours, masks, logits):
            assert np.allclose(c.logits[0], lg, atol=1e-4)
            assert mask_iou(c.mask, m) >= 0.999
    seg.close()


def test_sam_hq_token_only_is_upstreams_hq_output(registry, voc_image) -> None:
    import dataclasses

    from anylabel.models import ModelRegistry

    base = registry.get("sam_hq_vit_b")
    spec = dataclasses.replace(base, settings={**base.settings, "hq_token_only": True})
    seg = load_segmenter("sam_hq_vit_b", registry=ModelRegistry([spec]), precision="float32")
    mixed = load_segmenter("sam_hq_vit_b", registry=registry, precision="float32")
    assert seg.hq_token_only and not mixed.hq_token_only
    seg.set_image(voc_image, key="hq-only")
    mixed.set_image(voc_image, key="hq-mixed")
    predictor = _predictor("sam_hq_vit_b", seg.model)
    predictor.set_image(voc_image)
    prompt = PROMPTS[2]
    ours = seg.predict(prompt)[0]
    _, _, logits = _upstream_predict(predictor, prompt, voc_image.shape[:2], hq_token_only=True)
    assert np.allclose(ours.logits[0], logits[0], atol=1e-4)
    assert not np.allclose(ours.logits, mixed.predict(prompt)[0].logits, atol=1e-3)  # the setting matters


@pytest.mark.parametrize("name", list(UPSTREAM))
def test_everything_is_the_upstream_generator_on_the_cached_embedding(name, registry, voc_image,
                                                                       monkeypatch) -> None:
    import importlib

    seg = load_segmenter(name, registry=registry, precision="float32")
    seg.everything_options = dict(TINY_EVERYTHING)
    seg.set_image(voc_image, key=f"everything-{name}")
    calls = []
    encoder = seg.model.image_encoder
    monkeypatch.setattr(encoder, "forward", lambda *a, **k: calls.append(1) or type(encoder).forward(encoder, *a, **k))
    ours = seg.everything()
    assert calls == []  # the cached embedding, no second encoder run
    monkeypatch.undo()
    generator = importlib.import_module(UPSTREAM[name]).SamAutomaticMaskGenerator(seg.model, **TINY_EVERYTHING)
    records = sorted(generator.generate(voc_image), key=lambda r: -int(r["area"]))
    assert ours and len(ours) == len(records)
    for c, r in zip(ours, records):
        assert c.mask.shape == voc_image.shape[:2]
        assert mask_iou(c.mask, r["segmentation"]) >= 0.999


@pytest.mark.parametrize("name", list(UPSTREAM))
def test_cli_segment_with_points_negative_points_and_a_box_then_everything(name, voc_image_path: Path,
                                                                         tmp_path: Path, random_models,
                                                                         monkeypatch) -> None:
    import yaml

    from anylabel.cli import main
    from anylabel.formats.labelme import load_labelme

    out = tmp_path / "ann.json"
    assert main(["segment", str(voc_image_path), "--model", name, "--point", "250,200", "--point", "300,260",
                 "--point", "60,40,0", "--box", "150,100,350,350", "--label", "dog", "-o", str(out),
                 "--device", "cpu"]) == 0
    shapes = load_labelme(out).shapes
    assert shapes and all(s.label == "dog" and len(s.points) >= 3 for s in shapes)
    # everything, with the tiny options in a models file patch (as a user would set them)
    patch = tmp_path / "patch.yaml"
    spec = yaml.safe_load(random_models.read_text())["models"]
    entry = next(e for e in spec if e["name"] == name)
    patch.write_text(yaml.safe_dump({"models": [{"name": name, "settings": {
        **entry["settings"], "everything": TINY_EVERYTHING}}]}))
    everything = tmp_path / "all.json"
    assert main(["everything", str(voc_image_path), "--model", name, "--models", str(patch),
                 "-o", str(everything)]) == 0
    assert json.loads(everything.read_text())["shapes"]
