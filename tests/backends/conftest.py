"""Fixtures of the backend tests: a test image and segmenters built once per module from the random models."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from anylabel.imaging import load_image


@pytest.fixture(scope="session")
def voc_image_path(voc_dir: Path) -> Path:
    return voc_dir / "data_annotated" / "2011_000003.jpg"


@pytest.fixture(scope="session")
def voc_image(voc_image_path: Path) -> np.ndarray:
    return load_image(voc_image_path)


@pytest.fixture(scope="session")
def registry(random_models: Path):
    from anylabel.models import ModelRegistry

    return ModelRegistry.load(extra_files=[random_models])


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """One torch thread in these tests: the small models gain little from two, and on a busy 2-core machine
    two threads per process oversubscribe the cores (measured 6x slower decoder calls)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
