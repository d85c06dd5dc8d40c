"""The embedding cache: LRU bounded in MB, thread-safe; a cached image is never decoded again."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from anylabel.backends import EmbeddingCache, Prompt, load_segmenter
from anylabel.backends.cache import nbytes_of

MB = 1024 * 1024


def _mb(n: float) -> np.ndarray:
    return np.zeros(int(n * MB), dtype=np.uint8)


def test_lru_eviction_by_megabytes() -> None:
    cache = EmbeddingCache(max_mb=3)
    for key in "abc":
        assert cache.put("m", key, _mb(1))
    assert cache.size_bytes == 3 * MB
    assert cache.get("m", "a") is not None  # a becomes the most recently used
    cache.put("m", "d", _mb(1))  # evicts b, the least recently used
    assert [k for _, k in cache.keys()] == ["c", "a", "d"]
    cache.put("m", "e", _mb(2))  # needs 2 MB: evicts c and a
    assert [k for _, k in cache.keys()] == ["d", "e"] and cache.size_bytes == 3 * MB
    assert not cache.put("m", "huge", _mb(4))  # larger than the bound: not stored, nothing evicted
    assert len(cache) == 2
    cache.set_max_mb(1.5)
    assert [k for _, k in cache.keys()] == [] or cache.size_bytes <= 1.5 * MB


def test_keys_are_per_model_and_sizes_are_measured() -> None:
    import torch

    cache = EmbeddingCache(max_mb=100)
    value = {"a": torch.zeros(256, 64, 64), "b": [np.zeros((10, 10), np.float32)]}
    assert nbytes_of(value) == 256 * 64 * 64 * 4 + 400
    cache.put("sam", "k", value)
    assert cache.contains("sam", "k") and not cache.contains("sam2", "k")
    cache.clear("sam")
    assert len(cache) == 0


def test_concurrent_puts_keep_the_bound() -> None:
    cache = EmbeddingCache(max_mb=5)

    def worker(i: int) -> None:
        for j in range(50):
            cache.put("m", (i, j), _mb(0.25))
            cache.get("m", (i, j - 1))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.size_bytes <= 5 * MB
    assert cache.size_bytes == sum(nbytes_of(cache.get(*k)) for k in cache.keys())


def test_bad_cache_size_setting_is_a_config_error(monkeypatch) -> None:
    from anylabel.backends import cache as cache_mod
    from anylabel.errors import ConfigError

    monkeypatch.setattr(cache_mod, "_shared", None)
    monkeypatch.setenv(cache_mod.ENV_CACHE_MB, "lots")
    with pytest.raises(ConfigError, match="ANYLABEL_EMBEDDING_CACHE_MB"):
        cache_mod.shared_cache()


@pytest.fixture
def count_loads(monkeypatch):
    """Counts calls of anylabel.imaging.loader.load_image."""
    from anylabel.imaging import loader

    calls = []
    real = loader.load_image

    def counting(path):
        calls.append(Path(path))
        return real(path)

    monkeypatch.setattr(loader, "load_image", counting)
    return calls


@pytest.mark.parametrize("name", ["sam_vit_b", "classical"])
def test_a_cached_image_is_never_decoded_again(name, registry, voc_dir, tmp_path, count_loads) -> None:
    seg = load_segmenter(name, registry=registry, cache=EmbeddingCache(max_mb=200))
    a = voc_dir / "data_annotated" / "2011_000003.jpg"
    b = tmp_path / "renamed copy.jpg"
    shutil.copy(voc_dir / "data_annotated" / "2011_000006.jpg", b)
    key_a = seg.set_image_path(a)
    first = seg.predict(Prompt.from_clicks([(250, 200)]))
    seg.set_image_path(b)
    assert len(count_loads) == 2
    assert seg.set_image_path(a) == key_a  # back to a: from the cache
    again = seg.predict(Prompt.from_clicks([(250, 200)]))
    assert len(count_loads) == 2
    np.testing.assert_array_equal(first[0].mask, again[0].mask)
    c = tmp_path / "same content.jpg"  # same bytes, other name: the content key hits
    shutil.copy(a, c)
    seg.set_image_path(c)
    assert len(count_loads) == 2


def test_eviction_makes_the_image_decode_again(registry, voc_dir, count_loads) -> None:
    seg = load_segmenter("sam_vit_b", registry=registry, cache=EmbeddingCache(max_mb=5))  # one 4 MB embedding
    a, b = (voc_dir / "data_annotated" / f"2011_0000{n}.jpg" for n in ("03", "06"))
    seg.set_image_path(a)
    seg.set_image_path(b)  # evicts a
    seg.set_image_path(a)
    assert len(count_loads) == 3
