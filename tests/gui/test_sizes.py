"""One size formatter: the model picker and ``anylabel models list`` print the same text for one file."""
from __future__ import annotations

from anylabel.cli.models import human_size
from anylabel.gui.ai.model_picker import ModelPicker
from anylabel.models import ModelRegistry, ModelSpec
from anylabel.sizes import format_size

SAM_VIT_B = 375042383  # bytes, from models.yaml


def test_format_size_is_decimal_and_labelled_so():
    assert format_size(SAM_VIT_B) == "375.0 MB"
    assert [format_size(n) for n in (0, 999, 1000, 1_500_000_000)] == ["0 B", "999 B", "1.0 kB", "1.5 GB"]
    assert format_size(None) == "-" and format_size(None, unknown="") == ""


def test_cli_and_model_picker_agree(qtbot, tmp_path):
    spec = ModelSpec("big", "sam", "Big SAM", url="https://example.invalid/big.pth", filename="big.pth",
                     size=SAM_VIT_B)
    picker = ModelPicker()
    qtbot.addWidget(picker)
    picker.set_registry(ModelRegistry([spec], cache_dir=tmp_path / "cache"), None)
    text = picker.itemText(picker.findData("big"))
    assert human_size(SAM_VIT_B) == "375.0 MB"
    assert "(375.0 MB)" in text  # was 357.7 MB (MiB labelled MB)
