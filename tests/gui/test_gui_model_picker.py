"""The model picker: marks, download with progress through the real registry, cancel."""
from __future__ import annotations

import hashlib
import threading

import pytest

from anylabel.errors import CancelledError
from anylabel.models import ModelRegistry, ModelSpec

pytestmark = pytest.mark.gui


def _registry(tmp_path, payload: bytes) -> ModelRegistry:
    src = tmp_path / "weights.bin"
    src.write_bytes(payload)
    specs = [
        ModelSpec("classical", "classical", "Classical (GrabCut)"),
        ModelSpec("remote", "sam", "Remote SAM", url=src.as_uri(), filename="remote.bin",
                  sha256=hashlib.sha256(payload).hexdigest(), size=len(payload)),
        ModelSpec("clip", "clip", "CLIP (not a segmenter)"),
    ]
    return ModelRegistry(specs, cache_dir=tmp_path / "cache")


def test_marks_and_download_with_progress(qtbot, tmp_path):
    from anylabel.gui.ai.model_picker import ModelPicker

    payload = b"x" * 3_000_000
    reg = _registry(tmp_path, payload)
    picker = ModelPicker()
    qtbot.addWidget(picker)
    picker.confirm_download = False
    picker.set_registry(reg, "classical")
    assert [picker.itemData(i) for i in range(picker.count())] == ["classical", "remote"]  # no CLIP
    assert picker.itemText(0).startswith("✓") and picker.itemText(1).startswith("⬇")
    assert "3.0 MB" in picker.itemText(1)  # 3,000,000 bytes, decimal units like the CLI
    progress = []
    with qtbot.waitSignal(picker.modelChosen, timeout=20000) as chosen:
        picker.downloads.progressed.connect(lambda job, d, t, _s, _i: progress.append((d, t)))
        picker.activated.emit(1)
    assert chosen.args == ["remote"]
    qtbot.waitUntil(lambda: not picker.downloads.busy)  # the job has returned
    assert (tmp_path / "cache" / "remote.bin").read_bytes() == payload
    assert picker.itemText(picker.findData("remote")).startswith("✓")
    assert not picker.progress_dialog.isVisible()


class _SlowRegistry:
    """Duck-typed registry whose download only ends when cancelled."""

    def __init__(self):
        self.spec = ModelSpec("big", "sam", "Big", url="https://example.invalid/big.pth", filename="big.pth",
                              md5="0" * 32, size=10 ** 9)
        self.started = threading.Event()

    def specs(self):
        return [self.spec]

    def get(self, name):
        return self.spec

    def is_available(self, spec):
        return False

    def local_path(self, spec):
        return None

    def ensure(self, spec, progress=None, cancel=None):
        done = 0
        while not cancel.is_set():
            done += 1_000_000
            progress(done, spec.size)
            self.started.set()
            cancel.wait(0.01)
        raise CancelledError("cancelled")


def test_download_can_be_cancelled(qtbot):
    from anylabel.gui.ai.model_picker import ModelPicker

    reg = _SlowRegistry()
    picker = ModelPicker()
    qtbot.addWidget(picker)
    picker.confirm_download = False
    picker.set_registry(reg, None)
    messages = []
    picker.message.connect(messages.append)
    picker.activated.emit(picker.findData("big"))
    qtbot.waitUntil(lambda: picker.progress_dialog.value() > 0, timeout=10000)
    assert "of 1.0 GB" in picker.progress_dialog.labelText()  # 10**9 bytes
    chosen = []
    picker.modelChosen.connect(chosen.append)
    from PyQt5 import QtWidgets

    picker.progress_dialog.findChild(QtWidgets.QPushButton).click()  # the dialog's Cancel button
    qtbot.waitUntil(lambda: not picker.downloads.busy, timeout=10000)
    qtbot.waitUntil(lambda: bool(messages))
    assert "cancelled" in messages[-1] and chosen == []


def test_window_picker_switches_worker(make_window, image_dir, qtbot):
    from gui_fakes import DiskSegmenter

    w = make_window({"a": DiskSegmenter, "b": lambda: DiskSegmenter(radius=10)})
    first = w.worker
    assert first.name == "a" and w.model_picker.currentData() == "a"
    w.model_picker.activated.emit(w.model_picker.findData("b"))
    assert w.worker is not first and w.worker.name == "b"
    qtbot.waitUntil(lambda: not first.tasks.alive)  # the old backend's thread stops: one per backend
    assert first.segmenter is None  # and its model is released
    w.open_path(str(image_dir))
    w.ai.add_point(100, 100, True)
    qtbot.waitUntil(lambda: w.ai.result is not None and w.ai.result.version == w.ai.version)
    assert w.ai.preview_mask.sum() < 3.2 * 10 * 10 + 50
    qtbot.waitUntil(lambda: "b:" in w.model_status.text())
