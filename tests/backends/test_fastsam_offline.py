"""FastSAM never reaches the network: loading, the everything pass and prompts with sockets forbidden."""
from __future__ import annotations

import socket

import pytest

from anylabel.backends import EmbeddingCache, Prompt, load_segmenter


def test_fastsam_makes_no_network_call(registry, voc_image, monkeypatch) -> None:
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    seg = load_segmenter("fastsam_x", registry=registry, cache=EmbeddingCache(200))
    seg.set_image(voc_image, key="offline")
    masks = seg.everything()
    assert masks and masks[0].mask.shape == voc_image.shape[:2]
    assert seg.predict(Prompt.from_clicks(box=masks[0].box))
    assert attempts == []
    import ultralytics.utils as uu

    assert uu.ONLINE is False


def test_a_pickle_with_foreign_classes_is_refused(registry, tmp_path) -> None:
    import dataclasses

    import torch

    from anylabel.errors import ModelError
    from anylabel.models import ModelRegistry

    bad = tmp_path / "FastSAM-evil.pt"
    torch.save({"model": socket.socket}, bad)  # any class outside ultralytics' allow-list
    spec = dataclasses.replace(registry.get("fastsam_s"), path=bad, sha256=None)
    with pytest.raises(ModelError, match=r"contains objects other than ultralytics model classes \(socket.socket\)"):
        load_segmenter("fastsam_s", registry=ModelRegistry([spec]))
