"""Fixtures of the CLIP tests: the small random-weight CLIP written by tools/random_checkpoints.py."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def clip_models_file(tmp_path_factory: pytest.TempPathFactory, random_checkpoints) -> Path:
    """models.yaml with only the small random clip_vit_b32 / clip_vit_l14 (fast: no SAM/FastSAM)."""
    out = tmp_path_factory.mktemp("random_clip")
    return random_checkpoints.write_all(out, only=["clip"])


@pytest.fixture(scope="session")
def clip_registry(clip_models_file: Path):
    from anylabel.models import ModelRegistry

    return ModelRegistry.load(extra_files=[clip_models_file], include_shipped=False, include_env=False)


@pytest.fixture(scope="session")
def random_clip(clip_registry):
    """The small random clip_vit_b32, loaded through the registry and the safe-loading path."""
    import torch

    from anylabel.classify import load_clip

    torch.set_num_threads(1)  # tiny model: threads only add contention on the shared 2-core box
    return load_clip("clip_vit_b32", registry=clip_registry)
