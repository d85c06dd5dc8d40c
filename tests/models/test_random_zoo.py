"""The models file of tools/random_checkpoints.py (the backends' random-weight zoo) through ANYLABEL_MODELS."""
from __future__ import annotations

import pytest

from anylabel.cli import main
from anylabel.errors import ModelError
from anylabel.models import ModelRegistry, safe_torch_load


def test_random_zoo_overrides_the_registry_names(random_models, monkeypatch, capsys):
    monkeypatch.setenv("ANYLABEL_MODELS", str(random_models))
    reg = ModelRegistry.load()
    overridden = [s for s in reg.specs() if s.source == random_models.resolve()]
    assert {s.family for s in overridden} >= {"sam", "sam2", "fastsam"}
    for spec in overridden:
        assert spec.path is not None and spec.sha256 and reg.is_available(spec)
        path = reg.ensure(spec)
        assert path == spec.path
        if spec.family == "sam":
            state = safe_torch_load(path)
            assert "image_encoder.patch_embed.proj.weight" in state  # segment-anything's Sam state dict
        elif spec.family == "sam2":
            assert "model" in safe_torch_load(path)  # sam2's {"model": state_dict}
        elif spec.family == "fastsam":
            with pytest.raises(ModelError, match="not a plain weights checkpoint"):
                safe_torch_load(path)  # a pickled ultralytics model: never unpickled blindly
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    row = next(line.split() for line in out.splitlines() if line.startswith("sam_vit_b "))
    assert row[2] == "yes" and row[-1] == str(reg.get("sam_vit_b").path)
