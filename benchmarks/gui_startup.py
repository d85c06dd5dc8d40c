"""Time from starting the process to the main window shown on an X server, for the ways of keeping one LLVM in
the GUI process (issue 12, anylabel/gui/display.py):

* ``gl none``: the default now, Qt's xcb platform without a GL integration (no Mesa loaded);
* ``glx``: Qt's own default before (``QT_XCB_GL_INTEGRATION=xcb_glx``; the app then imports triton first);
* ``torch first``: the alternative not taken, torch + torchvision imported before the QApplication.

    DISPLAY=:99 python benchmarks/gui_startup.py [--runs 5] [PATH]

Each run is a fresh process (``create_window(PATH)``, then the window's first expose); the table gives the
median and the spread, with the load average (the machine is shared).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import os, sys
{before}
from anylabel.gui.app import create_window
from PyQt5.QtTest import QTest
w = create_window({path!r})
while not (w.windowHandle() is not None and w.windowHandle().isExposed()):
    QTest.qWait(5)
print("shown", flush=True)
maps = open("/proc/self/maps").read()
print("mesa" if "libLLVM" in maps or "_dri.so" in maps else "no-mesa", flush=True)
os._exit(0)
"""
VARIANTS = {
    "gl none (default)": ({}, ""),
    "glx (+ triton first)": ({"QT_XCB_GL_INTEGRATION": "xcb_glx"}, ""),
    "torch first": ({}, "import torch, torchvision"),
}


def one_run(env: dict, before: str, path: str) -> tuple:
    child_env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "QT_XCB_GL_INTEGRATION")}
    child_env.update(env, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD.format(before=before, path=path)], env=child_env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline().strip()
    shown = time.perf_counter() - t0
    mesa = proc.stdout.readline().strip()
    proc.wait()
    if line != "shown":
        raise SystemExit(f"the window did not show (exit {proc.returncode})")
    return shown, mesa


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        print("DISPLAY is not set: start an X server (e.g. Xvfb :99 +extension GLX) and set DISPLAY")
        return 2
    print(f"time to window shown, {args.runs} fresh processes each, path={args.path or '(none)'}")
    print(f"{'variant':24} {'median s':>9} {'min s':>7} {'max s':>7}  GL driver   load avg")
    for name, (env, before) in VARIANTS.items():
        one_run(env, before, args.path)  # warm the file cache
        runs = [one_run(env, before, args.path) for _ in range(args.runs)]
        times = [t for t, _ in runs]
        load = Path("/proc/loadavg").read_text().split()[0]
        print(f"{name:24} {statistics.median(times):9.2f} {min(times):7.2f} {max(times):7.2f}  "
              f"{runs[0][1]:10}  {load}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
