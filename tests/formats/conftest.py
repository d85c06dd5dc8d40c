"""Fixtures of the format tests (helpers live in formats_util.py)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture
def voc_copy(voc_dir: Path, tmp_path: Path) -> Path:
    """A writable copy of labelme's data_annotated folder."""
    dst = tmp_path / "voc"
    shutil.copytree(voc_dir / "data_annotated", dst)
    return dst
