"""Background prefetch: encodes ahead, cancels, and shares an in-flight encode with a click."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from anylabel.backends import EmbeddingCache, Prefetcher, Prompt
from anylabel.backends.promptable import CachedSegmenter, Embedding


class GatedSegmenter(CachedSegmenter):
    """A segmenter whose encoder blocks until the test opens the gate (to control timing exactly)."""

    def __init__(self) -> None:
        super().__init__("gated", EmbeddingCache(100))
        self.gate = threading.Event()
        self.started = threading.Event()
        self.encoded = 0

    def _encode(self, image: np.ndarray) -> Embedding:
        self.started.set()
        assert self.gate.wait(10)
        self.encoded += 1
        return Embedding(orig_hw=image.shape[:2], features=np.zeros(1))

    def _predict(self, emb: Embedding, prompt: Prompt):
        return []

    def everything(self, image=None, key=None, progress=None):
        return []


def _images(tmp_path: Path, n: int):
    from PIL import Image

    paths = []
    for i in range(n):
        p = tmp_path / f"img{i}.png"
        Image.fromarray(np.full((8, 8, 3), i * 10, np.uint8)).save(p)
        paths.append(p)
    return paths


def test_prefetch_encodes_ahead_and_the_switch_needs_no_decode(registry, tmp_path, monkeypatch) -> None:
    from anylabel.backends import load_segmenter
    from anylabel.imaging import loader

    seg = load_segmenter("sam_vit_b", registry=registry, cache=EmbeddingCache(100))
    paths = _images(tmp_path, 3)
    pre = Prefetcher(seg)
    pre.prefetch(paths)
    assert pre.wait(60)
    assert pre.encoded == paths and not pre.errors
    calls = []
    monkeypatch.setattr(loader, "load_image", lambda p: calls.append(p) or np.zeros((8, 8, 3), np.uint8))
    for p in paths:
        seg.set_image_path(p)
        assert seg.predict(Prompt.from_clicks([(4, 4)]))[0].mask.shape == (8, 8)
    assert calls == []
    pre.close()


def test_cancel_drops_pending_images(tmp_path) -> None:
    seg = GatedSegmenter()
    pre = Prefetcher(seg)
    paths = _images(tmp_path, 5)
    pre.prefetch(paths)
    assert seg.started.wait(10)  # the first image is in the encoder
    pre.cancel()
    assert pre.pending == 0
    seg.gate.set()
    assert pre.wait(10)
    assert seg.encoded == 1 and pre.encoded == paths[:1]  # the running one completes, no other starts
    pre.close()


def test_new_prefetch_replaces_the_pending_list(tmp_path) -> None:
    seg = GatedSegmenter()
    pre = Prefetcher(seg)
    paths = _images(tmp_path, 4)
    pre.prefetch(paths[:3])
    assert seg.started.wait(10)
    pre.prefetch(paths[3:])
    seg.gate.set()
    assert pre.wait(10)
    assert pre.encoded == [paths[0], paths[3]]
    pre.close()


def test_a_click_waits_for_the_prefetchers_encode_instead_of_encoding_twice(tmp_path) -> None:
    seg = GatedSegmenter()
    pre = Prefetcher(seg)
    path = _images(tmp_path, 1)[0]
    pre.prefetch([path])
    assert seg.started.wait(10)
    done = threading.Event()
    threading.Thread(target=lambda: (seg.set_image_path(path), done.set()), daemon=True).start()
    time.sleep(0.2)
    assert not done.is_set()  # waiting for the prefetcher's run
    seg.gate.set()
    assert done.wait(10) and pre.wait(10)
    assert seg.encoded == 1
    pre.close()


def test_unreadable_files_are_reported_and_the_batch_goes_on(tmp_path) -> None:
    seg = GatedSegmenter()
    seg.gate.set()
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image")
    good = _images(tmp_path, 1)[0]
    pre = Prefetcher(seg)
    pre.prefetch([bad, tmp_path / "missing.png", good])
    assert pre.wait(10)
    assert [p for p, _ in pre.errors] == [bad, tmp_path / "missing.png"]
    assert pre.encoded == [good]
    pre.close()
