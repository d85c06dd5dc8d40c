"""Fixtures of the tracking tests: a small random-weight SAM2 in the zoo, the first frames of bedroom.

The model is tools/random_checkpoints.py's small SAM2.1 (``write_sam2``: the real classes, narrow and
shallow) with two test-only changes, written into a models file of its own:

* input size 256 instead of 1024 (a config override; the weights do not depend on it), so a tracked frame
  costs ~0.1 s instead of ~2 s on CI's CPU;
* the object-score head's last bias set to +5: random weights put the "object visible" probability near
  0.5, so masks would vanish at random; tracking tests need objects that stay visible.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

TEST_MODEL = "sam2_track_test"
N_FRAMES = 8


@pytest.fixture(scope="session")
def track_models(tmp_path_factory: pytest.TempPathFactory, random_checkpoints) -> Path:
    """A models file declaring :data:`TEST_MODEL` (family sam2, config file relative to the models file)."""
    import torch

    out = tmp_path_factory.mktemp("track_models")
    rc = random_checkpoints
    entry = next(e for e in rc.write_sam2(out) if e["name"] == "sam2.1_hiera_tiny")
    cfg = yaml.safe_load(Path(entry["settings"]["config"]).read_text(encoding="utf-8"))
    cfg["model"]["image_size"] = 256
    for attn in ("self_attention", "cross_attention"):
        cfg["model"]["memory_attention"]["layer"][attn]["feat_sizes"] = [16, 16]
    (out / "track_test.yaml").write_text("# @package _global_\n" + yaml.safe_dump(cfg, sort_keys=False),
                                         encoding="utf-8")
    ckpt = torch.load(entry["path"], map_location="cpu", weights_only=True)
    ckpt["model"]["sam_mask_decoder.pred_obj_score_head.layers.2.bias"].fill_(5.0)
    torch.save(ckpt, out / "track_test.pt")
    models = {"models": [{"name": TEST_MODEL, "family": "sam2", "display_name": "SAM2 tracking test (random)",
                          "path": "track_test.pt", "sha256": rc.sha256_of(out / "track_test.pt"),
                          "settings": {"config": "track_test.yaml"}}]}
    models_file = out / "models.yaml"
    models_file.write_text(yaml.safe_dump(models, sort_keys=False), encoding="utf-8")
    return models_file


@pytest.fixture(scope="session")
def predictor(track_models: Path):
    """The test model's SAM2VideoPredictor, built once through the registry (shared: sessions do not
    change its weights)."""
    from anylabel.tracking.model import load_video_predictor

    return load_video_predictor(TEST_MODEL, [track_models])


@pytest.fixture(scope="session")
def frames_dir(sam2_demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the first :data:`N_FRAMES` frames of sam2's bedroom video (960x540 JPEG)."""
    out = tmp_path_factory.mktemp("bedroom8")
    for src in sorted((sam2_demo_dir / "bedroom").glob("*.jpg"))[:N_FRAMES]:
        shutil.copy(src, out / src.name)
    return out


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """One intra-op thread while a tracking test runs (restored after): on the shared 2-core CI machine two
    spinning OpenMP threads under load made a 0.1 s frame take seconds."""
    import torch

    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


@pytest.fixture(autouse=True)
def _restore_predictor(request):
    """Tests may tweak memory settings of the shared predictor; put them back afterwards."""
    if "predictor" not in request.fixturenames:
        yield
        return
    p = request.getfixturevalue("predictor")
    saved = (p.max_obj_ptrs_in_encoder, p.memory_temporal_stride_for_eval, p.num_maskmem)
    yield
    p.max_obj_ptrs_in_encoder, p.memory_temporal_stride_for_eval, p.num_maskmem = saved
