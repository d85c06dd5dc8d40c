"""Before the QApplication exists: keep a second LLVM out of the process, and explain a display Qt cannot use.

Nothing here imports Qt: :func:`display_problem` must run where importing PyQt5 would itself fail (a missing
``libGL.so.1``), and both functions must run before Qt's platform plugin is loaded.

**Why the window must not load OpenGL (issue 12).** On a Mesa desktop (Intel / AMD graphics, llvmpipe, Xvfb)
Qt's xcb platform has a GLX integration; when the first window is created it initialises GLX, and Mesa
loads its driver with ``dlopen`` (``swrast_dri.so``, ``radeonsi_dri.so`` ...) into the *global* symbol scope, and with
it Mesa's ``libLLVM-15.so`` (``LD_DEBUG=scopes``: "add .../libLLVM-15.so.1 to global scope"). triton's
``libtriton.so`` carries its own, newer LLVM and exports the same C++ symbol names (24,253 ``llvm::``
symbols, unversioned, no ``-Bsymbolic``); ELF resolves a library's references in the global scope first, so
when triton is imported after that (torchvision imports ``torch._dynamo``, which imports triton, on the
first model load) 12,006 of them bind to Mesa's LLVM (``LD_DEBUG=bindings``), among them
``llvm::DebugCounter::instance()``: libtriton's static initialiser then writes LLVM 15's object with its own
layout and calls ``free()`` on a bad pointer. SIGSEGV a few seconds after start, for every torch model (SAM, SAM
ONNX through segment_anything, SAM2, FastSAM) and every way of opening. The thread does not matter:
``QWidget().show()`` then ``import triton`` on the main thread crashes the same way.

The window paints with QPainter only (nothing in ``anylabel.gui`` uses QOpenGL*, QtQuick or QGLWidget), so
the GLX integration buys nothing: ``QT_XCB_GL_INTEGRATION=none`` keeps Mesa, and its LLVM, out of the process
altogether. That removes the cause for any library that brings an LLVM (triton, llvmlite, ...), imported at
any time on any thread, and costs nothing at start-up (it saves loading the GL driver). Importing the torch
stack before Qt instead would only fix the load order for the libraries we thought of, and would make every
start-up wait for torch + torchvision, the classical backend's too (``benchmarks/gui_startup.py`` on a shared
2-core machine: window shown after 3.2-3.8 s with no GL, 3.4 s with Qt's GLX, 12.8-14.0 s torch first).

Where GL may still be loaded (the user set ``QT_XCB_GL_INTEGRATION`` to a GL integration, or a Wayland /
EGL platform plugin is chosen), triton is imported before Qt instead: loaded first, and privately
(``RTLD_LOCAL``, ``RTLD_NOW``), its symbols are already bound to its own LLVM, and Mesa's, loaded later into
the global scope, cannot interpose on them.
"""
from __future__ import annotations

import ctypes
import importlib
import importlib.util
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, MutableMapping, Optional, Tuple

log = logging.getLogger(__name__)

GL_INTEGRATION = "QT_XCB_GL_INTEGRATION"
# platform plugins that never load a GL driver at start-up
_NO_GL_PLATFORMS = ("offscreen", "minimal", "vnc", "linuxfb")

# The system libraries PyQt5's xcb plugin and Qt libraries need (``ldd`` on libqxcb.so, libQt5XcbQpa,
# libQt5Gui, libQt5Widgets, libQt5Core, libQt5DBus), by soname: (Debian / Ubuntu package, Fedora package).
SYSTEM_LIBRARIES: Dict[str, Tuple[str, str]] = {
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libGLX.so.0": ("libglx0", "libglvnd-glx"),
    "libGLdispatch.so.0": ("libglvnd0", "libglvnd"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxcb-glx.so.0": ("libxcb-glx0", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
}
# beside those, for the tests on a real X server: Xvfb, and Mesa's GLX (llvmpipe), the set-up of issue 12
TEST_PACKAGES: Dict[str, Tuple[str, ...]] = {"debian": ("xvfb", "libgl1-mesa-dri", "libglx-mesa0"),
                                             "fedora": ("xorg-x11-server-Xvfb", "mesa-dri-drivers")}
_MISSING = re.compile(r"([\w.+-]+\.so(?:\.\d+)*): cannot open shared object file")


def _platform(environ: MutableMapping[str, str]) -> str:
    """The platform plugin Qt will load (Linux): the first of ``QT_QPA_PLATFORM``'s choices, else xcb."""
    name = environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    return name or "xcb"


def prepare_qt_environment(environ: Optional[MutableMapping[str, str]] = None) -> None:
    """Keep the GUI process to one LLVM (see the module docstring). Call before the QApplication exists."""
    environ = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return
    plugins = environ.get("QT_QPA_PLATFORM_PLUGIN_PATH", "")
    if plugins and Path(plugins).parts[-3:-2] == ("cv2",):
        # opencv-python sets this to its own Qt's plugins on import; PyQt5's Qt cannot load them and aborts
        # ("Could not load the Qt platform plugin xcb in .../cv2/qt/plugins"). PyQt5 finds its own without it.
        del environ["QT_QPA_PLATFORM_PLUGIN_PATH"]
        if environ.get("QT_QPA_FONTDIR", "").startswith(str(Path(plugins).parent)):
            del environ["QT_QPA_FONTDIR"]
    platform = _platform(environ)
    if platform == "xcb":
        environ.setdefault(GL_INTEGRATION, "none")  # the user's own choice wins, and is handled below
        if environ[GL_INTEGRATION] == "none":
            return
    elif platform in _NO_GL_PLATFORMS:
        return
    log.info("%s=%s, platform %s: OpenGL may load Mesa's LLVM; importing triton first",
             GL_INTEGRATION, environ.get(GL_INTEGRATION, ""), platform)
    preload_llvm_users()


def protect_running_app(platform: str, environ: Optional[MutableMapping[str, str]] = None) -> None:
    """The QApplication was made by someone else, so Qt's GL integration is chosen already: where it may load
    Mesa (``platform`` xcb, the integration not ``none``), import triton now. Mesa is loaded when the first
    window is created, so this is in time unless a window was shown before; then say what to do."""
    environ = os.environ if environ is None else environ
    if not sys.platform.startswith("linux") or platform != "xcb" or environ.get(GL_INTEGRATION) == "none":
        return
    maps = Path("/proc/self/maps")
    if "libLLVM" in (maps.read_text() if maps.exists() else "") and "triton" not in sys.modules:
        log.warning("Mesa's LLVM is loaded already (a window was shown through Qt's GLX); loading a torch model "
                    "may crash the process. Set %s=none before creating the QApplication.", GL_INTEGRATION)
        return
    preload_llvm_users()


def preload_llvm_users() -> None:
    """Import triton (if installed) so its LLVM is bound before a GL driver's LLVM can be loaded."""
    if importlib.util.find_spec("triton") is None:
        return
    try:
        importlib.import_module("triton")
    except ImportError as e:  # a broken triton: torch then runs without it, as it would anyway
        log.warning("triton could not be imported before Qt: %s", e)


# ---------------------------------------------------------------------------- display problems
def _qt_plugin(name: str) -> Optional[Path]:
    """PyQt5's ``Qt5/plugins/platforms/<name>`` (found without importing PyQt5)."""
    spec = importlib.util.find_spec("PyQt5")
    for base in (spec.submodule_search_locations or []) if spec else []:
        for qt in ("Qt5", "Qt"):
            path = Path(base) / qt / "plugins" / "platforms" / name
            if path.exists():
                return path
    return None


def missing_libraries(library: Path) -> List[str]:
    """The shared libraries ``library`` needs that the system cannot find; ``[]`` if it loads."""
    try:
        ctypes.CDLL(str(library))
        return []
    except OSError as e:
        first = _MISSING.findall(str(e))
    ldd = shutil.which("ldd")  # every missing one at once, not only the first the loader met
    if ldd:
        out = subprocess.run([ldd, str(library)], capture_output=True, text=True, timeout=30).stdout
        found = [line.split()[0] for line in out.splitlines() if "not found" in line]
        if found:
            return sorted(set(found) | set(first))
    return first


def system_packages(distro: str = "debian") -> List[str]:
    """Every package of :data:`SYSTEM_LIBRARIES` for ``distro`` ("debian" or "fedora"), for install scripts."""
    column = {"debian": 0, "fedora": 1}[distro]
    return sorted({names[column] for names in SYSTEM_LIBRARIES.values()})


def install_hint(libraries: List[str]) -> str:
    """``apt-get install ...`` / ``dnf install ...`` lines for ``libraries`` (sonames)."""
    known = [SYSTEM_LIBRARIES[name] for name in libraries if name in SYSTEM_LIBRARIES]
    if not known:
        return "Install the package that provides it with your distribution's package manager."
    debian = " ".join(sorted({d for d, _ in known}))
    fedora = " ".join(sorted({f for _, f in known}))
    return f"Debian / Ubuntu:  sudo apt-get install {debian}\nFedora:           sudo dnf install {fedora}"


def _x_server_reachable(display: str) -> Optional[bool]:
    """Whether libxcb can connect to ``display``; ``None`` if libxcb itself cannot be loaded."""
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return None
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    conn = xcb.xcb_connect(display.encode(), None)
    try:
        return xcb.xcb_connection_has_error(conn) == 0
    finally:
        xcb.xcb_disconnect(conn)


def display_problem(environ: Optional[MutableMapping[str, str]] = None) -> Optional[str]:
    """Why Qt's xcb platform could not start here (a message for the user), or ``None``.

    Replaces Qt's bare "Could not load the Qt platform plugin xcb" abort: no ``DISPLAY``, an X server that
    does not answer, or a system library the plugin needs that is not installed (named, with its package).
    """
    environ = os.environ if environ is None else environ
    if not sys.platform.startswith("linux") or _platform(environ) != "xcb":
        return None
    plugin = _qt_plugin("libqxcb.so")
    if plugin is not None:
        missing = missing_libraries(plugin)
        if missing:
            return (f"anylabel: the window cannot start: Qt's X11 plugin ({plugin}) needs "
                    f"{', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not installed.\n"
                    f"{install_hint(missing)}\n"
                    "(The command line works without them: anylabel --help.)")
    display = environ.get("DISPLAY", "")
    if not display:
        wayland = " (a Wayland session without Xwayland?)" if environ.get("WAYLAND_DISPLAY") else ""
        return ("anylabel: the window needs an X display, and DISPLAY is not set" + wayland + ".\n"
                "Start it from a desktop session, over `ssh -X`, or under a virtual display "
                "(`xvfb-run anylabel ...`); every task also runs without a window: anylabel --help.")
    if _x_server_reachable(display) is False:
        return (f"anylabel: cannot connect to the X display {display!r} (DISPLAY): is the X server running and "
                "are you allowed to use it (xauth / XAUTHORITY)?\nEvery task also runs without a window: "
                "anylabel --help.")
    return None
