"""The model picker shows the encode time measured on this machine and, on a CPU-only machine, offers the
fast models first (the rule itself: anylabel/models/speed.py, tests/models/test_speed.py)."""
from __future__ import annotations

import pytest

from anylabel.models import ModelRegistry, ModelSpec

pytestmark = pytest.mark.gui


def test_measured_times_and_fast_ones_first(qtbot, tmp_path, monkeypatch, fake_gpus):
    from anylabel.gui.ai.model_picker import ModelPicker
    from anylabel.models.speed import EncodeTimes

    monkeypatch.setenv("ANYLABEL_CACHE_DIR", str(tmp_path))
    url = "https://example.org/w.pt"
    reg = ModelRegistry([ModelSpec("classical", "classical", "Classical"),
                         ModelSpec("big", "sam", "Big SAM", url=url, size=3_000_000),
                         ModelSpec("small", "mobile_sam", "Small SAM", url=url, size=1_000_000)],
                        cache_dir=tmp_path / "models")
    EncodeTimes().record("big", "cpu", 0.5)
    fake_gpus(cuda=0)
    picker = ModelPicker()
    qtbot.addWidget(picker)
    picker.set_registry(reg, "classical")
    assert [picker.itemData(i) for i in range(picker.count())] == ["classical", "small", "big"]
    assert "0.50 s / image here" in picker.itemText(2) and "/ image here" not in picker.itemText(1)
    fake_gpus(cuda=1)  # with a GPU: the registry's order, and no CPU times shown for the GPU
    picker.refresh()
    assert [picker.itemData(i) for i in range(picker.count())] == ["classical", "big", "small"]
    assert "/ image here" not in picker.itemText(1)
