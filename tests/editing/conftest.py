"""Fixtures of the editing tests: the random-weight model registry, one torch thread."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def registry(random_models: Path):
    from anylabel.models import ModelRegistry

    return ModelRegistry.load(extra_files=[random_models])


@pytest.fixture(scope="module")
def one_torch_thread():
    """Small random models gain nothing from two threads on the shared 2-core machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def voc_image(voc_dir: Path):
    from anylabel.imaging import load_image

    return load_image(voc_dir / "data_annotated" / "2011_000003.jpg")
