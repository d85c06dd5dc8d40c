"""Features attach explicitly to a small host API: every default feature is there, a broken or missing one
stops the start-up, and feature modules reach the window only through the host."""
from __future__ import annotations

import ast
import subprocess
import sys
import threading
from pathlib import Path
from unittest import mock

import pytest

pytest.importorskip("pytestqt")

from anylabel.gui.features import Feature, FeatureHost  # noqa: E402

GUI = Path(__file__).resolve().parents[2] / "anylabel" / "gui"
#: the modules of the window's features (each has attach(host) or is part of one)
FEATURE_MODULES = ("suggestions/semantic", "suggestions/clip", "suggestions/find", "video/panel", "video/objects",
                   "dialogs/export", "dialogs/stats")
#: window modules a feature must not import (it gets the host instead)
WINDOW_MODULES = ("main_window", "editing", "navigation", "ai.controller", "canvas.widget", "panels.docks",
                  "panels.file_list", "plugins", "host")


def test_every_default_feature_is_attached(make_window) -> None:
    w = make_window()
    assert list(w.features) == ["ssa", "clip", "video", "export", "stats"]
    assert all(isinstance(f, Feature) for f in w.features.values())
    assert w.semantic is w.features["ssa"]


def test_a_feature_that_fails_is_an_error_at_start_up(qtbot) -> None:
    from anylabel.gui.main_window import MainWindow
    from anylabel.models import ModelRegistry

    def broken(host: FeatureHost) -> Feature:
        raise RuntimeError("this feature cannot start")

    started = []

    def starts_a_worker(host: FeatureHost) -> Feature:
        feature = mock.Mock(name="a feature with a thread")
        started.append(feature)
        return feature

    before = set(threading.enumerate())
    with pytest.raises(RuntimeError, match="cannot start"):
        MainWindow(registry=ModelRegistry([]), features=(starts_a_worker, broken))
    # before: the classical model's worker thread stayed alive and the interpreter hung at exit
    left = [t.name for t in set(threading.enumerate()) - before if t.is_alive() and not t.daemon]
    assert left == []
    started[0].close.assert_called_once_with()


def test_a_missing_feature_module_is_an_error_at_start_up() -> None:
    # before: PLUGINS were imported by name and a ModuleNotFoundError for one of them was skipped silently
    code = ("import sys\nsys.modules['anylabel.gui.suggestions.clip'] = None\n"
            "from anylabel.gui.main_window import MainWindow\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(GUI.parents[1]),
                               "PATH": "/usr/bin:/bin"})
    assert proc.returncode != 0 and "suggestions.clip" in proc.stderr


def _reaches_past_the_host(path: Path) -> list:
    """What a feature module does that only the host may: import window modules, touch a ``window`` (or
    ``w.ai`` / ``.canvas`` ...) attribute, or another object's private attribute."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            mod = node.module.removeprefix("anylabel.gui.")
            if node.module.startswith("anylabel.gui.") and mod in WINDOW_MODULES:
                found.append(f"{path.name}:{node.lineno} imports {node.module}")
        elif isinstance(node, ast.Attribute):
            if node.attr in ("window", "ai", "canvas", "statusBar", "suggestion_providers", "plugins",
                             "file_list", "model_picker", "history"):
                found.append(f"{path.name}:{node.lineno} uses .{node.attr}")
            owner = node.value
            private = node.attr.startswith("_") and not node.attr.startswith("__")
            if private and not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                found.append(f"{path.name}:{node.lineno} reaches {ast.unparse(node)}")
        elif isinstance(node, ast.arg) and node.arg == "window":
            found.append(f"{path.name}:{node.lineno} takes a window")
    return found


def test_features_use_only_the_host_api() -> None:
    offenders = [o for name in FEATURE_MODULES for o in _reaches_past_the_host(GUI / f"{name}.py")]
    assert not offenders, "features reaching past the host:\n" + "\n".join(offenders)


def test_the_host_check_sees_window_access(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from anylabel.gui.main_window import MainWindow\n"
                   "def attach(window):\n    window.ai.set_worker(None)\n    return other._private\n")
    found = _reaches_past_the_host(bad)
    assert any("imports anylabel.gui.main_window" in f for f in found)
    assert any("takes a window" in f for f in found) and any(".ai" in f for f in found)
    assert any("other._private" in f for f in found)
