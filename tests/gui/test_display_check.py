"""Before the QApplication: Qt's environment (no GL integration, so no second LLVM; no cv2 plugin path) and
a clear message, exit 2, instead of Qt's "Could not load the Qt platform plugin xcb" abort."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from anylabel.gui import app, display

ROOT = Path(__file__).resolve().parents[2]
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb platform is Linux's")


# ------------------------------------------------------------------ the GL integration (issue 12)
@linux
def test_no_gl_integration_by_default_on_xcb(monkeypatch) -> None:
    preloaded = []
    monkeypatch.setattr(display, "preload_llvm_users", lambda: preloaded.append(True))
    env = {"DISPLAY": ":0"}
    display.prepare_qt_environment(env)
    assert env["QT_XCB_GL_INTEGRATION"] == "none" and not preloaded  # no Mesa: nothing to import early
    env = {"QT_QPA_PLATFORM": "xcb"}
    display.prepare_qt_environment(env)
    assert env["QT_XCB_GL_INTEGRATION"] == "none"


@linux
@pytest.mark.parametrize("env", [{"QT_XCB_GL_INTEGRATION": "xcb_glx"}, {"QT_XCB_GL_INTEGRATION": "xcb_egl"},
                                 {"QT_QPA_PLATFORM": "wayland"}, {"QT_QPA_PLATFORM": "eglfs"}])
def test_where_gl_may_load_triton_is_imported_first(monkeypatch, env) -> None:
    preloaded = []
    monkeypatch.setattr(display, "preload_llvm_users", lambda: preloaded.append(True))
    before = dict(env)
    display.prepare_qt_environment(env)
    assert env == before and preloaded == [True]  # the user's choice is kept, and made safe


@linux
@pytest.mark.parametrize("platform", ["offscreen", "minimal", "vnc"])
def test_platforms_without_gl_are_left_alone(monkeypatch, platform) -> None:
    monkeypatch.setattr(display, "preload_llvm_users", lambda: pytest.fail("nothing to preload"))
    env = {"QT_QPA_PLATFORM": platform}
    display.prepare_qt_environment(env)
    assert env == {"QT_QPA_PLATFORM": platform}


@linux
@pytest.mark.parametrize("platform, env, expected", [
    ("xcb", {}, True), ("xcb", {"QT_XCB_GL_INTEGRATION": "xcb_glx"}, True),
    ("xcb", {"QT_XCB_GL_INTEGRATION": "none"}, False), ("offscreen", {}, False)])
def test_a_qapplication_made_by_the_caller_is_protected_where_gl_may_load(monkeypatch, platform, env,
                                                                          expected) -> None:
    preloaded = []
    monkeypatch.setattr(display, "preload_llvm_users", lambda: preloaded.append(True))
    display.protect_running_app(platform, env)
    assert preloaded == ([True] if expected else [])


@linux
def test_preload_imports_triton_when_installed() -> None:
    pytest.importorskip("triton")
    code = ("import sys; from anylabel.gui.display import preload_llvm_users; preload_llvm_users(); "
            "print('triton._C.libtriton' in sys.modules, 'PyQt5' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert out.stdout.split() == ["True", "False"], out.stderr[-2000:]


@linux
def test_cv2s_qt_plugin_path_is_dropped_others_kept() -> None:
    import cv2

    cv2_qt = Path(cv2.__file__).parent / "qt"
    env = {"QT_QPA_PLATFORM": "offscreen", "QT_QPA_PLATFORM_PLUGIN_PATH": str(cv2_qt / "plugins"),
           "QT_QPA_FONTDIR": str(cv2_qt / "fonts")}
    display.prepare_qt_environment(env)
    assert env == {"QT_QPA_PLATFORM": "offscreen"}
    env = {"QT_QPA_PLATFORM": "offscreen", "QT_QPA_PLATFORM_PLUGIN_PATH": "/opt/myqt/plugins"}
    display.prepare_qt_environment(env)
    assert env["QT_QPA_PLATFORM_PLUGIN_PATH"] == "/opt/myqt/plugins"


def test_the_gui_uses_no_opengl() -> None:
    """QT_XCB_GL_INTEGRATION=none is right only while the window paints without OpenGL."""
    gl = re.compile(r"\b(QOpenGL\w*|QtOpenGL|QGLWidget|QtQuick\w*|QQuick\w*|QSurfaceFormat|QtWebEngine\w*)\b")
    users = [f"{p.name}: {m.group(0)}" for p in sorted((ROOT / "anylabel" / "gui").glob("*.py"))
             if p.name != "display.py" for m in [gl.search(p.read_text(encoding="utf-8"))] if m]
    assert not users, f"OpenGL in the GUI: revisit anylabel/gui/display.py ({users})"


# ------------------------------------------------------------------ a display Qt cannot use
def _gui_process(env_changes: dict, *args: str) -> subprocess.CompletedProcess:
    plugin = display._qt_plugin("libqxcb.so")
    if plugin is not None and display.missing_libraries(plugin):
        pytest.skip("Qt's xcb plugin lacks system libraries here: that message comes first (tested below)")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(PYTHONPATH=str(ROOT), **env_changes)
    return subprocess.run([sys.executable, "-m", "anylabel", *args], capture_output=True, text=True, timeout=120,
                          env=env)


@linux
def test_no_display_is_a_message_and_exit_2_not_a_qt_abort(tmp_path) -> None:
    proc = _gui_process({"ANYLABEL_CONFIG": str(tmp_path / "c.yaml")})
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "DISPLAY is not set" in proc.stderr and "xvfb-run" in proc.stderr
    assert "Qt platform plugin" not in proc.stderr and "Traceback" not in proc.stderr


@linux
def test_an_x_server_that_does_not_answer_is_named(tmp_path) -> None:
    proc = _gui_process({"DISPLAY": ":237", "ANYLABEL_CONFIG": str(tmp_path / "c.yaml")})
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "cannot connect to the X display ':237'" in proc.stderr and "Qt platform plugin" not in proc.stderr


@linux
def test_a_missing_system_library_is_named_with_its_package(monkeypatch, capsys) -> None:
    """The loader's own error for a missing libxkbcommon-x11 (the commonest one on a fresh machine)."""
    def cdll(name, *a, **k):
        raise OSError("libxkbcommon-x11.so.0: cannot open shared object file: No such file or directory")

    monkeypatch.setattr(display.ctypes, "CDLL", cdll)
    monkeypatch.setattr(display.shutil, "which", lambda name: None)  # no ldd: the loader's message only
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    assert app.run_gui() == 2
    err = capsys.readouterr().err
    assert "needs libxkbcommon-x11.so.0, which is not installed" in err
    assert "sudo apt-get install libxkbcommon-x11-0" in err and "sudo dnf install libxkbcommon-x11" in err


@linux
def test_every_missing_library_is_listed_from_the_real_loader(tmp_path) -> None:
    """A copy of PyQt5's xcb plugin away from its Qt libraries: the real dynamic loader fails on it."""
    plugin = display._qt_plugin("libqxcb.so")
    if plugin is None:
        pytest.skip("PyQt5 has no xcb plugin here")
    copy = tmp_path / "platforms" / "libqxcb.so"
    copy.parent.mkdir()
    shutil.copy(plugin, copy)
    # a fresh process: in this one the Qt libraries may be loaded already, and would satisfy the copy
    code = ("import sys; from pathlib import Path; from anylabel.gui.display import missing_libraries as m; "
            "print(' '.join(m(Path(sys.argv[1]))) or '-'); print(' '.join(m(Path(sys.argv[2]))) or '-')")
    out = subprocess.run([sys.executable, "-c", code, str(copy), str(plugin)], capture_output=True, text=True,
                         timeout=60, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    missing, installed = [line.split() for line in out.stdout.splitlines()]
    assert "libQt5XcbQpa.so.5" in missing, out.stderr[-2000:]  # its RUNPATH ($ORIGIN/../../lib) finds no Qt
    if shutil.which("ldd"):
        assert {"libQt5Gui.so.5", "libQt5Core.so.5"} <= set(missing)
    assert installed == ["-"]  # the installed plugin loads
    assert "package manager" in display.install_hint(["libQt5XcbQpa.so.5"])


def test_install_hint_names_debian_and_fedora_packages_once() -> None:
    hint = display.install_hint(["libxcb-icccm.so.4", "libxcb-shape.so.0", "libxcb-randr.so.0"])
    assert "apt-get install libxcb-icccm4 libxcb-randr0 libxcb-shape0" in hint
    assert "dnf install libxcb xcb-util-wm" in hint


def test_the_readme_lists_the_same_packages() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    debian = re.search(r"sudo apt-get install (libgl1 .*?)\n```", readme, re.S).group(1)
    assert sorted(debian.replace("\\", " ").split()) == display.system_packages("debian")
    fedora = re.search(r"sudo dnf install (libglvnd-glx .*?)`", readme, re.S).group(1)
    assert sorted(fedora.split()) == display.system_packages("fedora")
