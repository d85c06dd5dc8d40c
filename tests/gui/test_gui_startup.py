"""The window as a user starts it: ``create_window`` with nothing injected (the registry from the models files,
the real segmenter factory, the settings' precision), including a broken ``$ANYLABEL_MODELS`` file."""
from __future__ import annotations

from PyQt5 import QtWidgets

from anylabel.config import Config


def _start(qtbot, path=None, config=None):
    from anylabel.gui.app import create_window

    w = create_window(path, config=config or Config())
    qtbot.waitExposed(w)
    return w


def _close(w) -> None:
    w.ask_unsaved = lambda *a: "discard"
    for box in w.messages.values():
        box.close()
    w.close()


def test_starts_with_the_shipped_models_and_the_classical_default(qtbot, monkeypatch, tmp_path, voc_dir) -> None:
    monkeypatch.delenv("ANYLABEL_MODELS", raising=False)
    monkeypatch.setenv("ANYLABEL_CACHE_DIR", str(tmp_path / "cache"))  # a fresh machine: no model file
    w = _start(qtbot, str(voc_dir / "data_annotated"))
    try:
        assert "sam_vit_b" in w.registry and "sam2.1_hiera_tiny" in w.registry
        assert w.worker is not None and w.worker.name == "classical"  # nothing downloaded: the default
        assert w.image is not None and w.row == 0
        h, wd = w.image.shape[:2]
        w.ai.add_box((wd * 0.2, h * 0.2, wd * 0.8, h * 0.8), negative=False)  # the real factory answers
        qtbot.waitUntil(lambda: w.ai.result is not None and w.ai.result.version == w.ai.version, timeout=60000)
        assert w.ai.preview_mask is not None and w.ai.preview_mask.shape == (h, wd)
    finally:
        _close(w)


def test_a_broken_models_file_is_a_warning_not_a_crash(qtbot, monkeypatch, tmp_path) -> None:
    bad = tmp_path / "mine.yaml"
    bad.write_text("models: [ {name: x, family: sam, url: 3", encoding="utf-8")
    monkeypatch.setenv("ANYLABEL_MODELS", str(bad))
    monkeypatch.setenv("ANYLABEL_CACHE_DIR", str(tmp_path / "cache"))
    w = _start(qtbot)
    try:
        assert "sam_vit_b" in w.registry  # the shipped models are still there
        box = next(b for b in w.messages.values() if "mine.yaml" in b.text())
        assert "could not be read" in box.text()
        assert isinstance(box, QtWidgets.QMessageBox)
    finally:
        _close(w)
