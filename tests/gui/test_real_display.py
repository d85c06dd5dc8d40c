"""The real app on a real X server (Xvfb with GLX, as on a Mesa desktop), not offscreen: issue 12's crash
(SIGSEGV as soon as a torch model loaded: Mesa's LLVM, loaded by Qt's GLX integration, interposed on
triton's; see anylabel/gui/display.py) only shows there.

Each test runs ``real_display_driver.py`` in a process of its own (this one is offscreen): the window as a
user starts it, a real mouse click answered by a random-weight model, F + a label, Ctrl+S, quit. The checks:
a clean exit (not a signal), the LabelMe file, and no second LLVM in the process. They skip only where no X
server can start (no Xvfb binary, or Xvfb fails), and fail even then with ``ANYLABEL_REQUIRE_XVFB=1`` (set by
.ci/run once it installed Xvfb).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

from anylabel.formats.labelme import load_labelme

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).resolve().parent / "real_display_driver.py"


def cannot_start(reason: str) -> None:
    """Skip: no X server can start here; fail instead where .ci/run installed Xvfb (the tests must run)."""
    if os.environ.get("ANYLABEL_REQUIRE_XVFB"):
        pytest.fail(f"{reason} (ANYLABEL_REQUIRE_XVFB is set)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def xvfb() -> Iterator[str]:
    """A fresh Xvfb with GLX and RENDER on a free display number (``-displayfd``); its DISPLAY value."""
    binary = shutil.which("Xvfb")
    if binary is None:
        cannot_start("no Xvfb binary: install it (Debian / Ubuntu: apt-get install xvfb; Fedora: dnf install "
                     "xorg-x11-server-Xvfb) to run the real-display tests")
    read, write = os.pipe()
    proc = subprocess.Popen([binary, "-displayfd", str(write), "-screen", "0", "1600x1000x24",
                             "+extension", "GLX", "+render", "-noreset", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()  # written once the server accepts connections; "" if it died
    if not number:
        proc.kill()
        err = proc.communicate(timeout=10)[1].decode(errors="replace")[-1000:]
        cannot_start(f"Xvfb could not start: {err or 'no display number'}")
    try:
        yield f":{number}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory, random_checkpoints) -> Path:
    """A models file of random-weight SAM and SAM2.1 checkpoints only (what these tests load)."""
    return random_checkpoints.write_all(tmp_path_factory.mktemp("real_display_zoo"), only=["sam", "sam2"])


def desktop_env(display: str, runtime: Path) -> Dict[str, str]:
    """This process's environment as a desktop session has it: the xcb platform on ``display``; no
    QT_QPA_PLATFORM_PLUGIN_PATH from cv2, which this process imported (tested in test_display_check.py)."""
    child = {k: v for k, v in os.environ.items() if not (k.startswith("QT_") and "cv2" in v)}
    child.pop("QT_QPA_PLATFORM", None)
    child.pop("QT_XCB_GL_INTEGRATION", None)
    runtime.mkdir(mode=0o700, exist_ok=True)
    child.update(DISPLAY=display, XDG_RUNTIME_DIR=str(runtime),
                 PYTHONPATH=os.pathsep.join([str(ROOT)] + ([child["PYTHONPATH"]] if child.get("PYTHONPATH") else [])))
    return child


def run_driver(display: str, zoo: Path, tmp_path: Path, target: Path, settings: str, *extra: str,
               env: Dict[str, str] = None) -> dict:
    """The driver on ``display``; returns its result, after asserting a clean exit."""
    config = tmp_path / "config.yaml"
    config.write_text(settings, encoding="utf-8")
    out = tmp_path / "out"
    result_file = tmp_path / "result.json"
    child = desktop_env(display, tmp_path / "xdg-runtime")
    child.update(ANYLABEL_CONFIG=str(config), ANYLABEL_MODELS=str(zoo), ANYLABEL_CACHE_DIR=str(tmp_path / "cache"),
                 **(env or {}))
    proc = subprocess.run([sys.executable, str(DRIVER), str(target), "--output", str(out), "--result",
                           str(result_file), *extra], env=child, capture_output=True, text=True, timeout=240)
    how = f"died on {signal.Signals(-proc.returncode).name}" if proc.returncode < 0 else f"exited {proc.returncode}"
    assert proc.returncode == 0, f"the app {how}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(result_file.read_text(encoding="utf-8"))


def check_saved(result: dict, out: Path, label: str) -> List:
    saved = Path(result["saved"])
    assert saved.parent == out and saved.suffix == ".json"
    shapes = load_labelme(saved).shapes
    assert shapes and {s.label for s in shapes} == {label}
    assert result["shapes"]["count"] == len(shapes)
    return shapes


def assert_one_llvm(result: dict) -> None:
    """Qt's GL integration did not bring Mesa and its LLVM beside torch's triton."""
    libs: List[str] = result["libraries"]
    assert not [n for n in libs if n.startswith("libLLVM") or n.endswith("_dri.so") or n.startswith("libgallium")]


@pytest.fixture
def frames(sam2_demo_dir: Path, tmp_path: Path) -> Path:
    """The first 4 frames of sam2's bedroom video, as a folder of frames."""
    out = tmp_path / "bedroom"
    out.mkdir()
    for f in sorted((sam2_demo_dir / "bedroom").glob("*.jpg"))[:4]:
        shutil.copy(f, out / f.name)
    return out


def test_sam_vit_b_click_to_saved_file_on_a_real_x_server(xvfb, zoo, sam2_demo_dir, tmp_path) -> None:
    result = run_driver(xvfb, zoo, tmp_path, sam2_demo_dir / "truck.jpg", "default_model: sam_vit_b\n",
                        "--label", "truck")
    assert result["image_model"] == "sam_vit_b"
    shapes = check_saved(result, tmp_path / "out", "truck")
    assert Path(result["saved"]).name == "truck.json" and all(len(s.points) >= 3 for s in shapes)
    assert "libtriton.so" in result["libraries"]  # torch's triton was loaded, and did not crash
    assert_one_llvm(result)


def test_sam2_frames_folder_as_images_then_video_on_a_real_x_server(xvfb, zoo, frames,
                                                                    tmp_path) -> None:
    result = run_driver(xvfb, zoo, tmp_path, frames, "default_model: sam2.1_hiera_tiny\n", "--video",
                        "--label", "bed")
    assert result["image_model"] == "sam2.1_hiera_tiny" and result["tracking_model"] == "sam2.1_hiera_tiny"
    shapes = check_saved(result, tmp_path / "out", "bed")
    assert Path(result["saved"]).name == "00000.json"
    assert {s.track_id for s in shapes} == {1}  # the tracker's object
    assert_one_llvm(result)


FORCED_GL = """
from PyQt5.QtTest import QTest
from PyQt5.QtWidgets import QApplication
from anylabel.gui.app import create_window
app = QApplication(["embedding"])  # made by the caller: Qt's GLX integration, anylabel had no say
w = create_window(model="classical")  # no model thread importing torchvision while this script does
QTest.qWait(200)
import torchvision  # torch._dynamo, then triton: its LLVM's static initialisers run now
maps = open("/proc/self/maps").read()
print("mesa-llvm" if "libLLVM" in maps else "no-mesa-llvm", "triton" if "libtriton.so" in maps else "no-triton")
w.close()
"""


def test_where_qt_loads_mesa_anyway_triton_is_imported_first(xvfb, tmp_path) -> None:
    # a QApplication made before create_window (an embedding program), with Qt's default GLX integration:
    # Qt loads Mesa and its LLVM with the window; triton, imported before that, keeps its own. (The same
    # preload serves QT_XCB_GL_INTEGRATION=xcb_glx set by the user: test_display_check.py.)
    child = desktop_env(xvfb, tmp_path / "xdg-runtime")
    proc = subprocess.run([sys.executable, "-c", FORCED_GL], env=child, capture_output=True, text=True,
                          timeout=120)
    how = f"died on {signal.Signals(-proc.returncode).name}" if proc.returncode < 0 else f"exited {proc.returncode}"
    assert proc.returncode == 0, f"the app {how}:\n{proc.stderr[-3000:]}"
    if "no-mesa-llvm" in proc.stdout:
        pytest.skip("this machine's GL driver brings no LLVM (no Mesa llvmpipe): nothing could interpose")
    assert "mesa-llvm triton" in proc.stdout
