"""Fixtures of the model-zoo tests: an isolated cache and a local HTTP server serving a model file."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from zoo_testutil import ModelServer, make_payload, serve


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own cache root and no extra models files from the environment."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("ANYLABEL_CACHE_DIR", str(cache))
    monkeypatch.delenv("ANYLABEL_MODELS", raising=False)
    return cache


@pytest.fixture
def model_server() -> Iterator[ModelServer]:
    """A 3 MiB + 123 byte model file served on 127.0.0.1 (3 chunks of 1 MiB plus a tail)."""
    yield from serve(make_payload(3 * (1 << 20) + 123))
