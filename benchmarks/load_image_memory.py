#!/usr/bin/env python
"""Peak memory of ``load_image`` per image kind, and the cost of ``image_size`` (header only), as a table.

Each measurement runs in a fresh subprocess: peak RSS growth during the call (Linux: VmHWM after resetting it
through /proc/self/clear_refs), divided by the size of the returned HxWx3 uint8 array.
Usage: ``python benchmarks/load_image_memory.py [--side 6000]``.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

KINDS = ["rgb.png", "rgb.jpg", "rgba.png", "gray16.png", "palette.png", "gray.png"]

CHILD = r"""
import sys, time
from anylabel.imaging.loader import load_image, image_size

def hwm():  # peak RSS in bytes since the last reset
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024

path, what = sys.argv[1], sys.argv[2]
open("/proc/self/clear_refs", "w").write("5")  # reset the peak to the current RSS
base = rss()
t = time.perf_counter()
if what == "load":
    out = load_image(path)
    nbytes = out.nbytes
else:
    out = image_size(path)
    nbytes = 0
dt = time.perf_counter() - t
print(hwm() - base, nbytes, dt)
"""


def make(kind: str, side: int, folder: Path) -> Path:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:side, 0:side]
    smooth = ((x + y) * 255 // (2 * side)).astype(np.uint8)
    noise = rng.integers(0, 40, (side, side), dtype=np.uint8)
    rgb = np.stack([smooth, smooth // 2 + noise, 255 - smooth], axis=2)
    path = folder / kind
    if kind == "rgb.png":
        Image.fromarray(rgb).save(path, compress_level=1)
    elif kind == "rgb.jpg":
        Image.fromarray(rgb).save(path, quality=90)
    elif kind == "rgba.png":
        Image.fromarray(np.dstack([rgb, smooth])).save(path, compress_level=1)
    elif kind == "gray16.png":
        Image.fromarray((smooth.astype(np.uint16) * 16 + noise)).save(path, compress_level=1)
    elif kind == "palette.png":
        Image.fromarray(rgb).convert("P", palette=Image.ADAPTIVE, colors=64).save(path, compress_level=1)
    elif kind == "gray.png":
        Image.fromarray(smooth + noise).save(path, compress_level=1)
    return path


def measure(path: Path, what: str) -> tuple:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), what], capture_output=True, text=True,
                         check=True).stdout.split()
    return int(out[0]), int(out[1]), float(out[2])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--side", type=int, default=6000, help="image side in pixels (default 6000: 108 MB RGB)")
    parser.add_argument("--size-side", type=int, default=20000, help="side of the PNG for image_size")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"load_image, {args.side}x{args.side}")
        print(f"{'kind':<12} {'peak MB':>8} {'array MB':>9} {'peak/array':>10} {'seconds':>8}")
        for kind in KINDS:
            peak, nbytes, dt = measure(make(kind, args.side, folder), "load")
            print(f"{kind:<12} {peak / 1e6:>8.0f} {nbytes / 1e6:>9.0f} {peak / nbytes:>10.2f} {dt:>8.2f}")
        big = folder / "big.png"
        Image.new("L", (args.size_side, args.size_side), 7).save(big, compress_level=1)
        peak, _, dt = measure(big, "size")
        print(f"\nimage_size of a {args.size_side}x{args.size_side} PNG: {dt:.3f} s, peak +{peak / 1e6:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
