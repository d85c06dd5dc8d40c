"""Safe checkpoint loading: weights load, everything else is a ModelError naming the file and the problem."""
from __future__ import annotations

import pickle

import pytest
import torch

from anylabel.errors import ModelError
from anylabel.models import load_torchscript_state_dict, safe_torch_load


@pytest.fixture
def state_dict() -> dict:
    torch.manual_seed(0)
    return {"encoder.weight": torch.randn(8, 4), "encoder.bias": torch.randn(8), "step": torch.tensor(3)}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("zip_format", [True, False])
def test_state_dicts_load_in_both_torch_formats(tmp_path, state_dict, zip_format):
    path = tmp_path / "ok.pth"
    torch.save({"model": state_dict}, path, _use_new_zipfile_serialization=zip_format)  # SAM2 layout
    loaded = safe_torch_load(path)
    assert _same(loaded["model"], state_dict)
    assert loaded["model"]["encoder.weight"].device.type == "cpu"


@pytest.mark.parametrize("zip_format", [True, False])
def test_truncated_checkpoint(tmp_path, state_dict, zip_format):
    path = tmp_path / "cut.pth"
    torch.save(state_dict, path, _use_new_zipfile_serialization=zip_format)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # what an interrupted copy leaves behind
    with pytest.raises(ModelError) as err:
        safe_torch_load(path)
    assert str(path) in str(err.value) and "truncated" in str(err.value)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty (0 bytes)"),
        (b"<html><body>404 Not Found</body></html>", "not a PyTorch checkpoint"),
        (bytes(range(256)) * 40, "not a PyTorch checkpoint"),
        (pickle.dumps({"plain": "pickle"}), "not a PyTorch checkpoint"),
    ],
)
def test_non_checkpoints(tmp_path, content, message):
    path = tmp_path / "bad.pth"
    path.write_bytes(content)
    with pytest.raises(ModelError) as err:
        safe_torch_load(path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)


def test_pickled_module_is_refused_not_executed(tmp_path):
    path = tmp_path / "module.pt"
    torch.save(torch.nn.Linear(2, 2), path)  # the shape of an ultralytics .pt: a pickled nn.Module
    with pytest.raises(ModelError) as err:
        safe_torch_load(path)
    assert "contains non-weight objects" in str(err.value)
    assert "torch.nn.modules.linear.Linear" in str(err.value)
    # Allow-listing the class explicitly is the caller's informed choice.
    module = safe_torch_load(path, safe_globals=[torch.nn.Linear])
    assert isinstance(module, torch.nn.Linear)


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match="model file not found"):
        safe_torch_load(tmp_path / "nope.pth")


def test_torchscript_archives_have_their_own_loader(tmp_path):
    torch.manual_seed(1)
    module = torch.jit.script(torch.nn.Linear(3, 2))
    path = tmp_path / "ViT-tiny.pt"
    torch.jit.save(module, str(path))
    with pytest.raises(ModelError, match="TorchScript archive"):
        safe_torch_load(path)
    weights = load_torchscript_state_dict(path)
    assert _same(weights, dict(module.state_dict()))
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ModelError, match="not a TorchScript archive"):
        load_torchscript_state_dict(path)
