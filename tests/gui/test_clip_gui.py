"""CLIP in the real window (pytest-qt, offscreen): the find box turns a text into the AI preview that F
finishes, and the label dialog shows CLIP's top-k next to the SSA vote.

The CLIP model is the colour stand-in of ``tests/classify/clip_standin.py`` (its right answer is known:
a mask's colour word), injected through ``clip_suggestions.load_model``; the segmenter's automatic masks are
the colour scene's known masks.
"""
from __future__ import annotations

import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PyQt5.QtCore import QPoint, Qt

from anylabel.backends import MaskCandidate
from anylabel.config import Config
from anylabel.geometry import polygon_to_mask
from anylabel.models import ModelRegistry, ModelSpec

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "classify"))
from clip_standin import ColourModel, colour_scene  # noqa: E402
from gui_fakes import DiskSegmenter  # noqa: E402
from gui_testutil import answer_message_box, when_dialog  # noqa: E402

pytestmark = pytest.mark.gui
SCENE, MASKS = colour_scene()  # grey image: red square, blue disk, red ring (around a blue inner disk)
SQUARE, BLUE_DISK, RING = MASKS


class SceneSegmenter(DiskSegmenter):
    """Clicks give disks (radius 25); the automatic masks are the colour scene's three objects."""

    name = "scene"

    def __init__(self) -> None:
        super().__init__(radius=25.0)
        self.everything_calls = 0

    def everything(self, image=None, key=None, progress=None):
        assert image is not None and image.shape == SCENE.shape
        self.everything_calls += 1
        return [MaskCandidate(m.copy(), 0.9) for m in MASKS]


@pytest.fixture
def scene_folder(tmp_path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(SCENE).save(folder / "scene.png")
    return folder


@pytest.fixture
def scene(scene_folder, monkeypatch):
    """The scene's folder, a registry with the scene segmenter and a clip model, and the stand-in CLIP
    loaded through ``load_model`` (records the thread it ran on)."""
    from anylabel.gui.suggestions import clip as clip_suggestions

    loads = []

    def fake_load(name, registry, progress=None, cancel=None, device=None):
        assert registry.get(name).family == "clip"
        loads.append(threading.current_thread())
        return ColourModel()

    monkeypatch.setattr(clip_suggestions, "load_model", fake_load)
    registry = ModelRegistry([ModelSpec("scene", "classical", "scene"), ModelSpec("colour", "clip", "Colour CLIP")])
    return scene_folder, registry, loads


def _window(make_window, scene, **settings):
    folder, registry, _ = scene
    made = {}

    def segmenter():
        made["seg"] = SceneSegmenter()
        return made["seg"]

    w = make_window({"scene": segmenter}, config=Config(**settings), registry=registry)
    assert w.open_path(str(folder))
    clip = w.features["clip"]
    return w, clip, made


def _dialog_seen(qtbot, w):
    """Record the next label dialog (pre-filled text, suggestion buttons) and accept it (an empty
    pre-fill is replaced, so that the dialog closes and the test fails on the assertion, not a hang)."""
    seen = {}

    def act(dialog):
        seen["text"] = dialog.edit.text()
        seen["buttons"] = [(b.toolTip().split(":")[0], b.text()) for b in dialog.suggestion_buttons]
        if not seen["text"]:
            dialog.edit.setText("<empty>")
        dialog.accept()

    when_dialog(qtbot, lambda: w.label_dialog, act)
    return seen


def test_find_box_makes_the_matching_mask_the_preview_and_f_finishes_it(make_window, scene, qtbot):
    w, clip, made = _window(make_window, scene, clip_model="colour")
    qtbot.waitUntil(lambda: clip.classifier is not None, timeout=10000)
    assert scene[2] and threading.main_thread() not in scene[2]  # the model loaded off the GUI thread
    find = clip.find_box

    qtbot.keyClick(w.canvas, Qt.Key_F, Qt.ControlModifier | Qt.ShiftModifier)
    assert find.edit.hasFocus()
    qtbot.keyClicks(find.edit, "blue")
    with qtbot.waitSignal(find.found, timeout=10000):
        qtbot.keyClick(find.edit, Qt.Key_Return)
    ai = w.ai
    assert ai.result is not None and ai.result.version == ai.version and not ai.waiting
    assert np.array_equal(ai.preview_mask, BLUE_DISK) and len(ai.result.candidates) == 1
    ys, xs = np.nonzero(BLUE_DISK)
    box = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
    assert [(b.box, b.negative) for b in w.canvas.prompt_boxes] == [(box, False)] and w.canvas.preview is not None
    assert "best match" in w.statusBar().currentMessage()
    assert w.canvas.hasFocus()  # F goes to the window, not into the find box

    expected = MaskCandidate(BLUE_DISK, 1.0, None).polygons(tolerance=ai.tolerance, min_area=ai.min_area)
    seen = _dialog_seen(qtbot, w)
    qtbot.keyClick(w.canvas, Qt.Key_F)
    qtbot.waitUntil(lambda: len(w.annotation.shapes) == 1, timeout=10000)
    assert seen["text"] == "blue" and seen["buttons"][0] == ("Find", "blue  100%")
    shape = w.annotation.shapes[0]
    assert shape.label == "blue" and shape.shape_type == "polygon"
    assert np.allclose(np.asarray(shape.points), expected[0])
    drawn = polygon_to_mask(shape.points, BLUE_DISK.shape)
    assert (drawn & BLUE_DISK).sum() / (drawn | BLUE_DISK).sum() >= 0.95
    assert not ai.actions and find.provider(SCENE, BLUE_DISK) == []  # finished: the text is spent

    # a second text on the same image reuses its automatic masks and embeddings; "red" matches two
    with qtbot.waitSignal(find.found, timeout=10000):
        assert find.run("red")
    assert made["seg"].everything_calls == 1
    first, second = (c.mask for c in ai.result.candidates)
    assert sorted([first.sum(), second.sum()]) == sorted([SQUARE.sum(), RING.sum()])
    qtbot.keyClick(w.canvas, Qt.Key_C)  # the next match; the box prompt follows it
    ys, xs = np.nonzero(second)
    assert ai.candidate == 1 and w.canvas.prompt_boxes[0].box == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    assert find.provider(SCENE, ai.preview_mask) == [("red", 1.0)]
    qtbot.keyClick(w.canvas, Qt.Key_B)
    assert ai.actions == [] and w.canvas.preview is None and find.provider(SCENE, second) == []


def test_a_click_refines_the_found_object_and_keeps_the_text(make_window, scene, qtbot):
    w, clip, _ = _window(make_window, scene, clip_model="colour")
    qtbot.waitUntil(lambda: clip.classifier is not None, timeout=10000)
    find = clip.find_box
    with qtbot.waitSignal(find.found, timeout=10000):
        find.run("blue")
    found_version = w.ai.version
    p = w.canvas.to_widget(140, 60)
    qtbot.mouseClick(w.canvas, Qt.LeftButton, Qt.NoModifier, QPoint(round(p.x()), round(p.y())))
    qtbot.waitUntil(lambda: w.ai.result is not None and w.ai.version > found_version
                    and w.ai.result.version == w.ai.version, timeout=10000)
    prompt = w.ai.result.prompt  # the model answered the find's box plus the click
    assert prompt.box is not None and len(prompt.positive_points) == 1
    assert find.provider(SCENE, w.ai.preview_mask) == [("blue", 1.0)]


def test_find_without_a_clip_model_says_so(make_window, scene, qtbot):
    folder, _, _ = scene
    registry = ModelRegistry([ModelSpec("scene", "classical", "scene")])
    w = make_window({"scene": SceneSegmenter}, registry=registry)
    assert w.open_path(str(folder))
    find = w.features["clip"].find_box
    assert not find.run("blue")
    assert "CLIP labels" in w.messages["Find"].text()
    assert w.ai.actions == []


def test_label_dialog_shows_clip_top_k_next_to_the_ssa_vote(make_window, scene, qtbot, tmp_path):
    maps = tmp_path / "maps"
    maps.mkdir()
    Image.fromarray(np.where(BLUE_DISK, 1, 0).astype(np.uint8)).save(maps / "scene.png")
    (maps / "class_names.txt").write_text("_background_\nsea\n")
    w, clip, _ = _window(make_window, scene, semantic=f"labelmap:{maps}", clip_model="colour",
                         clip_vocabulary="blue, red")
    qtbot.waitUntil(lambda: w.semantic.suggester is not None and clip.classifier is not None, timeout=10000)
    assert [n for n, _ in w.suggestion_providers] == ["SSA vote", "CLIP"]
    model = clip.classifier.model
    p = w.canvas.to_widget(140, 60)  # a click in the blue disk: a disk of radius 25, all "sea" in the map
    qtbot.mouseClick(w.canvas, Qt.LeftButton, Qt.NoModifier, QPoint(round(p.x()), round(p.y())))
    ai = w.ai
    qtbot.waitUntil(lambda: ai.result is not None and ai.result.version == ai.version, timeout=10000)
    # the preview's CLIP embedding and its candidates' text embeddings are computed in the background:
    # F then runs neither tower on the GUI thread
    qtbot.waitUntil(lambda: clip._embedded is not None and clip._embedded[0] is ai.preview_mask, timeout=10000)
    image_calls, text_calls = model.image_calls, len(model.text_calls)
    assert any("a photo of a sea." in call for call in model.text_calls)

    seen = _dialog_seen(qtbot, w)
    qtbot.keyClick(w.canvas, Qt.Key_F)
    qtbot.waitUntil(lambda: len(w.annotation.shapes) == 1, timeout=10000)
    assert model.image_calls == image_calls and len(model.text_calls) == text_calls
    rows = {}
    for source, text in seen["buttons"]:
        name, pct = text.rsplit("  ", 1)
        rows.setdefault(source, []).append((name, int(pct.rstrip("%"))))
    assert list(rows) == ["SSA vote", "CLIP"]  # side by side, the vote first
    assert rows["SSA vote"] == [("sea", 100)]
    # CLIP ranks the vote's candidate ∪ the vocabulary; the stand-in knows the disk is blue
    assert sorted(n for n, _ in rows["CLIP"]) == ["blue", "red", "sea"]
    assert rows["CLIP"][0][0] == "blue" and rows["CLIP"][0][1] >= 90
    assert [c for _, c in rows["CLIP"]] == sorted((c for _, c in rows["CLIP"]), reverse=True)
    assert seen["text"] in ("sea", "blue")  # the dialog pre-fills the most confident suggestion


def test_clip_labels_dialog_picks_model_and_vocabulary(make_window, scene, qtbot, tmp_path):
    w, clip, _ = _window(make_window, scene)
    assert clip.classifier is None and all(n != "CLIP" for n, _ in w.suggestion_providers)
    steps = []

    def act(dialog):
        dialog.model.setCurrentIndex(dialog.model.findData("colour"))
        dialog.vocab.setText(str(tmp_path / "missing.txt"))
        answer_message_box(qtbot, "OK")
        dialog.accept()  # a vocabulary file that does not exist: a message, and the dialog stays open
        steps.append(dialog.isVisible())
        dialog.vocab.setText("red, green, red")
        dialog.top_k.setValue(2)
        dialog.accept()

    when_dialog(qtbot, lambda: w.features["clip"].clip_dialog, act)
    menu = w.menus["ai"]
    next(a for a in menu.actions() if a.text() == "CLIP labels…").trigger()
    assert steps == [True]
    qtbot.waitUntil(lambda: clip.classifier is not None, timeout=10000)
    assert clip.vocabulary() == ["red", "green"] and clip.top_k == 2
    assert w.config.clip_model == "colour" and [n for n, _ in w.suggestion_providers] == ["CLIP"]
    votes = clip.provider(SCENE, SQUARE)
    assert [n for n, _ in votes] == ["red", "green"] and votes[0][1] > 0.9


def test_a_random_weight_clip_loads_through_the_registry(make_window, scene_folder, qtbot, tmp_path):
    """The real loading path (models file, checksum, open_clip) on the job thread, then both uses."""
    import importlib.util

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("random_checkpoints", root / "tools" / "random_checkpoints.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    models = tool.write_all(tmp_path / "clip", only=["clip"])
    registry = ModelRegistry.load(extra_files=[models], include_shipped=False, include_env=False)
    registry = ModelRegistry(registry.specs() + [ModelSpec("scene", "classical", "scene")])
    w = make_window({"scene": SceneSegmenter}, config=Config(clip_model="clip_vit_b32", labels=["car", "dog", "tree"]),
                    registry=registry)
    assert w.open_path(str(scene_folder))
    clip = w.features["clip"]
    qtbot.waitUntil(lambda: clip.classifier is not None, timeout=60000)
    votes = clip.provider(SCENE, BLUE_DISK)
    assert len(votes) == 3 and {n for n, _ in votes} <= {"car", "dog", "tree"}
    assert [c for _, c in votes] == sorted((c for _, c in votes), reverse=True) and sum(c for _, c in votes) <= 1 + 1e-6
    find = clip.find_box
    with qtbot.waitSignal(find.found, timeout=30000):
        assert find.run("a blue disk")
    assert any(np.array_equal(w.ai.preview_mask, m) for m in MASKS)


def test_a_model_that_cannot_load_is_a_message_and_no_provider(make_window, scene, qtbot, monkeypatch):
    from anylabel.errors import ModelError
    from anylabel.gui.suggestions import clip as clip_suggestions

    shown = threading.Event()  # fail once the window is up (a message box would take the activation)

    def broken(name, registry, progress=None, cancel=None, device=None):
        assert shown.wait(10)
        raise ModelError("CLIP weights file not found", "/nowhere/clip.bin")

    monkeypatch.setattr(clip_suggestions, "load_model", broken)
    w, clip, _ = _window(make_window, scene, clip_model="colour")
    shown.set()
    qtbot.waitUntil(lambda: "CLIP labels" in w.messages, timeout=10000)
    assert "/nowhere/clip.bin" in w.messages["CLIP labels"].text()
    assert clip.classifier is None and clip.model_name is None
    assert all(n != "CLIP" for n, _ in w.suggestion_providers)
