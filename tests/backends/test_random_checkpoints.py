"""tools/random_checkpoints.py writes the official file formats, and the registry accepts what it writes."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from anylabel.models import safe_torch_load

NAMES = {
    "sam": ["sam_vit_b", "sam_vit_l", "sam_vit_h", "sam_vit_b_onnx", "sam_vit_l_onnx", "sam_vit_h_onnx"],
    "mobile_sam": ["mobile_sam"],
    "sam_hq": ["sam_hq_vit_b", "sam_hq_vit_l", "sam_hq_vit_h"],
    "sam2": ["sam2.1_hiera_tiny", "sam2.1_hiera_small", "sam2.1_hiera_base_plus", "sam2.1_hiera_large"],
    "fastsam": ["fastsam_s", "fastsam_x"],
    "clip": ["clip_vit_b32", "clip_vit_l14"],
}


def test_models_file_lists_every_registry_name_with_its_sha256(random_models: Path) -> None:
    entries = yaml.safe_load(random_models.read_text())["models"]
    by_name = {e["name"]: e for e in entries}
    for family, names in NAMES.items():
        for name in names:
            e = by_name[name]
            assert e["family"] == family
            data = Path(e["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == e["sha256"]
            assert e["size"] == len(data)


def test_registry_loads_the_models_file(registry) -> None:
    for names in NAMES.values():
        for name in names:
            spec = registry.get(name)
            assert registry.is_available(spec)
            assert registry.ensure(spec) == spec.path  # checksum verified


def test_sam_checkpoint_is_a_plain_state_dict_with_upstream_keys(registry) -> None:
    state = safe_torch_load(registry.get("sam_vit_b").path)  # weights_only=True
    assert isinstance(state, dict)
    for key in ("image_encoder.patch_embed.proj.weight", "prompt_encoder.point_embeddings.0.weight",
                "mask_decoder.iou_prediction_head.layers.0.weight"):
        assert key in state


def test_sam2_checkpoint_is_model_dict_and_builds_image_and_video_models(registry) -> None:
    from sam2.sam2_video_predictor import SAM2VideoPredictor

    from anylabel.backends.sam2_build import build_sam2_model

    spec = registry.get("sam2.1_hiera_tiny")
    ckpt = safe_torch_load(spec.path)
    assert set(ckpt) == {"model"} and "image_encoder.trunk.pos_embed" in ckpt["model"]
    video = build_sam2_model(spec.settings["config"], spec.path, video=True)
    assert isinstance(video, SAM2VideoPredictor)
    # hydra is restored for sam2's packaged configs afterwards
    packaged = build_sam2_model("configs/sam2.1/sam2.1_hiera_t.yaml", None)
    assert packaged.image_encoder.trunk.pos_embed.shape[1] == 96


def test_sam2_wrong_checkpoint_is_a_model_error(registry, tmp_path: Path) -> None:
    import torch

    from anylabel.backends.sam2_build import build_sam2_model
    from anylabel.errors import ModelError

    bad = tmp_path / "bad.pt"
    torch.save({"model": {"nonsense": torch.zeros(1)}}, bad)
    with pytest.raises(ModelError, match="cannot build sam2 model"):
        build_sam2_model(registry.get("sam2.1_hiera_tiny").settings["config"], bad)


def test_fastsam_checkpoint_is_an_ultralytics_segmentation_checkpoint(registry) -> None:
    from ultralytics.nn.tasks import SegmentationModel, torch_safe_load

    ckpt, _ = torch_safe_load(str(registry.get("fastsam_s").path), safe_only=True)
    assert isinstance(ckpt["model"], SegmentationModel)
    assert ckpt["model"].names == {0: "object"} and ckpt["train_args"]["task"] == "segment"
