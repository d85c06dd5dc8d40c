"""Model files are loaded once, from what was checked: FastSAM and ``yolo:`` checkpoints are read, hashed and
unpickled in memory, so bytes swapped on disk after the check are never unpickled; a SAM2 file holding
non-weight objects gives one sentence naming the file."""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import shutil
from pathlib import Path

import pytest
import torch

from anylabel.backends import load_segmenter
from anylabel.errors import ModelError
from anylabel.models import ModelRegistry


class _Marker:
    """Unpickling this runs code: it creates a file (what a malicious checkpoint would do)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def _evil_checkpoint(path: Path, marker: Path) -> None:
    torch.save({"model": _Marker(str(marker))}, path)


def test_the_evil_payload_is_real(tmp_path: Path) -> None:
    evil, marker = tmp_path / "evil.pt", tmp_path / "ran"
    _evil_checkpoint(evil, marker)
    torch.load(evil, weights_only=False)  # what an unrestricted second load would do
    assert marker.exists()


def _swap_after_reading(monkeypatch, checkpoint: Path, marker: Path) -> list:
    """Replace the file's bytes right after anylabel has read (and checked) them."""
    import anylabel.models.ultralytics_loading as ul

    real, swapped = ul.restricted_unpickle, []

    def swap_then_unpickle(data: bytes, path):
        _evil_checkpoint(checkpoint, marker)
        swapped.append(path)
        return real(data, path)

    monkeypatch.setattr(ul, "restricted_unpickle", swap_then_unpickle)
    return swapped


def test_fastsam_bytes_swapped_after_the_check_are_never_unpickled(registry, tmp_path, monkeypatch) -> None:
    spec = registry.get("fastsam_s")
    checkpoint = tmp_path / "FastSAM-s.pt"
    shutil.copyfile(spec.path, checkpoint)
    spec = dataclasses.replace(spec, path=checkpoint, sha256=hashlib.sha256(checkpoint.read_bytes()).hexdigest())
    marker = tmp_path / "ran"
    swapped = _swap_after_reading(monkeypatch, checkpoint, marker)
    seg = load_segmenter("fastsam_s", registry=ModelRegistry([spec]))
    assert swapped and not marker.exists()
    assert seg.model.task == "segment"
    # and the file on disk now is the evil one: loading it again is refused (checksum), never unpickled
    monkeypatch.undo()
    with pytest.raises(ModelError, match="checksum mismatch"):
        load_segmenter("fastsam_s", registry=ModelRegistry([spec]))
    assert not marker.exists()


def test_yolo_branch_bytes_swapped_after_reading_are_never_unpickled(registry, tmp_path, monkeypatch) -> None:
    from anylabel.semantic.yolo_branch import YoloBranch

    checkpoint = tmp_path / "yolo-seg.pt"
    shutil.copyfile(registry.get("fastsam_s").path, checkpoint)  # a YOLOv8-seg model
    marker = tmp_path / "ran"
    swapped = _swap_after_reading(monkeypatch, checkpoint, marker)
    branch = YoloBranch(checkpoint)
    assert swapped and not marker.exists()
    assert branch.names[0] == "background" and len(branch.names) == 2


def test_a_sam2_checkpoint_with_non_weight_objects_names_the_file(registry, tmp_path) -> None:
    spec = registry.get("sam2.1_hiera_tiny")
    state = torch.load(spec.path, map_location="cpu", weights_only=True)
    bad = tmp_path / "sam2-objects.pt"
    torch.save({**state, "saved_at": datetime.datetime(2024, 1, 1)}, bad)
    with pytest.raises(ModelError) as info:
        load_segmenter(spec.name, registry=ModelRegistry([dataclasses.replace(spec, path=bad, sha256=None)]))
    message = str(info.value)
    assert message.startswith(f"{bad}: the checkpoint contains non-weight objects (datetime.datetime)")
    assert "save only the weights" in message and "\n" not in message


def test_a_pickled_sam_module_gives_one_sentence(registry, tmp_path) -> None:
    spec = registry.get("sam_vit_b")
    bad = tmp_path / "sam-module.pth"
    torch.save(torch.nn.Linear(2, 2), bad)  # torch.save(model) instead of model.state_dict()
    with pytest.raises(ModelError) as info:
        load_segmenter(spec.name, registry=ModelRegistry([dataclasses.replace(spec, path=bad, sha256=None)]))
    assert str(info.value).startswith(f"{bad}: the checkpoint contains non-weight objects "
                                      "(torch.nn.modules.linear.Linear)")
    assert "\n" not in str(info.value) and "weights_only" not in str(info.value)
