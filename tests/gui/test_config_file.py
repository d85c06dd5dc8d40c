"""The settings file: defaults, validation, shortcuts, ANYLABEL_CONFIG."""
from __future__ import annotations

import pytest

from anylabel.config import SHORTCUTS, Config, config_path, load_config, save_config
from anylabel.errors import ConfigError


def test_missing_file_gives_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("ANYLABEL_CONFIG", str(tmp_path / "none.yaml"))
    assert config_path() == tmp_path / "none.yaml"
    cfg = load_config()
    assert cfg == Config() and cfg.shortcut("finish_object") == ["F"]
    assert set(cfg.shortcuts) == set(SHORTCUTS)


def test_values_and_shortcuts_are_read(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("autosave: true\nlabels: [person, car]\npolygon_tolerance: 2\n"
                 "shortcuts:\n  finish_object: Return\n  next_image: [Right, N]\n  cycle_candidate: null\n")
    cfg = load_config(p)
    assert cfg.autosave is True and cfg.labels == ["person", "car"] and cfg.polygon_tolerance == 2.0
    assert cfg.shortcut("finish_object") == ["Return"]
    assert cfg.shortcut("next_image") == ["Right", "N"]
    assert cfg.shortcut("cycle_candidate") == []
    assert cfg.shortcut("save") == ["Ctrl+S"]  # untouched actions keep their defaults


@pytest.mark.parametrize("text, words", [
    ("autosav: true\n", ["unknown setting", "autosav"]),
    ("autosave: 1\n", ["autosave", "true or false"]),
    ("ai_output: outline\n", ["ai_output", "polygon, mask"]),
    ("mask_opacity: 2\n", ["mask_opacity", "0.0 to 1.0"]),
    ("label_colors: {car: red}\n", ["label_colors.car", "#rrggbb"]),
    ("shortcuts: {finsh: F}\n", ["unknown shortcut action", "finsh"]),
    ("shortcuts: {finish_object: Ctrl+S}\n", ["Ctrl+S", "save", "finish_object"]),
    ("- a\n- b\n", ["must be a mapping"]),
    ("autosave: [\n", ["not valid YAML"]),
])
def test_bad_files_name_the_file_and_the_problem(tmp_path, text, words):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(p)
    msg = str(info.value)
    assert str(p) in msg
    for w in words:
        assert w in msg


def test_save_writes_only_changes_and_round_trips(tmp_path):
    cfg = Config(autosave=True, labels=["a"])
    cfg.shortcuts["finish_object"] = ["Return"]
    p = save_config(cfg, tmp_path / "sub" / "c.yaml")
    text = p.read_text()
    assert "autosave: true" in text and "Return" in text and "Ctrl+S" not in text
    again = load_config(p)
    assert again.autosave and again.labels == ["a"] and again.shortcut("finish_object") == ["Return"]
