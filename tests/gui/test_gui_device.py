"""AI > Device: the devices offered, a choice saved to the settings and the model reloaded there, and the
status bar naming device and precision. GPUs are simulated (monkeypatched torch)."""
from __future__ import annotations

import pytest
import yaml

from anylabel.config import Config
from anylabel.models import ModelRegistry, ModelSpec

pytestmark = pytest.mark.gui


def _window(qtbot, tmp_path, config: Config):
    from anylabel.gui.main_window import MainWindow

    registry = ModelRegistry([ModelSpec("classical", "classical", "Classical")])
    w = MainWindow(config=config, registry=registry, model="classical", features=())
    qtbot.addWidget(w)
    return w


def test_device_menu_offers_this_machines_devices(qtbot, tmp_path, fake_gpus) -> None:
    fake_gpus(cuda=2)
    w = _window(qtbot, tmp_path, Config())
    menu = w.device_menu
    assert list(menu.actions) == ["auto", "cuda:0", "cuda:1", "cpu"]
    assert menu.actions["cuda:1"].text() == "cuda:1 (Fake GPU)" and menu.actions["auto"].isChecked()
    assert menu.menu.menuAction() in w.menus["ai"].actions()
    qtbot.waitUntil(lambda: "ready on" in w.model_status.text(), timeout=20000)
    assert w.model_status.text().startswith("classical: ready on cpu (loaded in")


def test_choosing_a_device_saves_it_and_reloads_the_model(qtbot, tmp_path, fake_gpus) -> None:
    fake_gpus(cuda=1)
    settings = tmp_path / "config.yaml"
    w = _window(qtbot, tmp_path, Config(path=settings))
    qtbot.waitUntil(lambda: "ready on" in w.model_status.text(), timeout=20000)
    first = w.worker
    w.device_menu.actions["cuda:0"].trigger()
    assert w.config.device == "cuda:0" and w.device_menu.actions["cuda:0"].isChecked()
    assert yaml.safe_load(settings.read_text())["device"] == "cuda:0"
    assert w.worker is not first and w.worker.name == "classical"  # a new worker: the model loads again
    # classical is OpenCV: it says that it stays on the CPU
    qtbot.waitUntil(lambda: "not cuda:0" in w.model_status.text(), timeout=20000)
    assert "ready on cpu, the classical backend runs on the CPU only, not cuda:0" in w.model_status.text()
    same = w.worker
    w.device_menu.actions["cuda:0"].trigger()  # the same device again: nothing reloads
    assert w.worker is same


def test_a_settings_device_the_machine_lacks_is_reported(qtbot, tmp_path, fake_gpus) -> None:
    fake_gpus(cuda=0)
    w = _window(qtbot, tmp_path, Config(device="cuda:1"))
    assert list(w.device_menu.actions) == ["auto", "cpu", "cuda:1"] and w.device_menu.actions["cuda:1"].isChecked()
    qtbot.waitUntil(lambda: "cannot load" in w.model_status.text(), timeout=20000)
    assert "cuda:1 is not available here" in w.model_status.text()
    w.device_menu.actions["cpu"].trigger()
    qtbot.waitUntil(lambda: "ready on cpu" in w.model_status.text(), timeout=20000)


def test_clip_is_loaded_again_on_the_new_device(qtbot, tmp_path, fake_gpus, monkeypatch) -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "classify"))
    from clip_standin import ColourModel

    from anylabel.gui.main_window import MainWindow
    from anylabel.gui.suggestions import clip as clip_suggestions

    fake_gpus(cuda=1)
    devices = []

    def fake_load(name, registry, progress=None, cancel=None, device=None):
        devices.append(device)
        return ColourModel()

    monkeypatch.setattr(clip_suggestions, "load_model", fake_load)
    registry = ModelRegistry([ModelSpec("classical", "classical", "Classical"), ModelSpec("colour", "clip", "C")])
    w = MainWindow(config=Config(clip_model="colour"), registry=registry, model="classical",
                   features=(clip_suggestions.attach,))
    qtbot.addWidget(w)
    clip = w.features["clip"]
    qtbot.waitUntil(lambda: clip.classifier is not None, timeout=20000)
    assert devices == ["auto"]
    w.device_menu.choose("cuda:0")
    qtbot.waitUntil(lambda: len(devices) == 2 and clip.classifier is not None, timeout=20000)
    assert devices == ["auto", "cuda:0"]
