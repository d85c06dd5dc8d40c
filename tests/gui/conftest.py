"""Fixtures for the GUI tests: a folder of real test images, a window with a chosen backend, and
helpers that answer the label dialog and the unsaved-changes question through the real widgets."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Callable, Dict, Optional

import pytest

pytest.importorskip("pytestqt")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from PyQt5 import QtWidgets  # noqa: E402

from anylabel.config import Config  # noqa: E402
from anylabel.models import ModelRegistry, ModelSpec  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path, monkeypatch):
    """Never read or write the real user's settings or model cache."""
    monkeypatch.setenv("ANYLABEL_CONFIG", str(tmp_path / "config.yaml"))
    monkeypatch.setenv("ANYLABEL_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def image_dir(tmp_path, voc_dir, sam2_demo_dir) -> Path:
    """A folder of four real images (VOC photos and one bedroom frame), named to test natural sorting."""
    out = tmp_path / "images"
    out.mkdir()
    sources = sorted((voc_dir / "data_annotated").glob("*.jpg"))[:3] + [sam2_demo_dir / "bedroom" / "00000.jpg"]
    for name, src in zip(["img10.jpg", "img2.jpg", "IMG1.jpg", "img3.jpg"], sources):
        shutil.copy(src, out / name)
    return out


@pytest.fixture
def make_window(qtbot):
    """``make_window(segmenters={name: factory}, model=name, config=Config(...))`` -> a shown MainWindow."""
    from anylabel.gui.main_window import MainWindow

    made = []

    def make(segmenters: Optional[Dict[str, Callable]] = None, model: Optional[str] = None,
             config: Optional[Config] = None, registry=None, output_dir=None) -> MainWindow:
        segmenters = segmenters or {}
        if registry is None:
            registry = ModelRegistry([ModelSpec(n, "classical", n) for n in segmenters])
        factory = (lambda name: segmenters[name]()) if segmenters else None
        w = MainWindow(config=config or Config(), registry=registry, segmenter_factory=factory,
                       model=model or (next(iter(segmenters)) if segmenters else None), output_dir=output_dir)
        w.show()  # not qtbot.addWidget: its teardown closes before ours and would meet the unsaved prompt
        qtbot.waitExposed(w)
        w.activateWindow()
        qtbot.waitUntil(lambda: QtWidgets.QApplication.activeWindow() is w)  # shortcuts need an active window
        made.append(w)
        return w

    yield make
    for w in made:
        w.ask_unsaved = lambda *a: "discard"  # nothing to ask on teardown
        for box in w.messages.values():
            box.close()
        w.close()
        if w.worker is not None:
            w.worker.stop()
            w.worker = None
        w.deleteLater()
