"""Bounded cost of reading images: sizes from headers (no pixel decode, EXIF orientation included) and a
``load_image`` peak under twice the result, for RGB / RGBA / palette / 16-bit PNG and JPEG."""
from __future__ import annotations

import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from anylabel.imaging import image_size, load_image

ROOT = Path(__file__).resolve().parents[2]
linux_only = pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="peak RSS reset needs Linux")

PEAK = r"""
import sys
from anylabel.imaging.loader import load_image, image_size

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024

open("/proc/self/clear_refs", "w").write("5")
base = status("VmRSS:")
result = load_image(sys.argv[1]) if sys.argv[2] == "load" else image_size(sys.argv[1])
print(status("VmHWM:") - base, getattr(result, "nbytes", 0))
"""


def _peak(path: Path, what: str = "load") -> tuple:
    out = subprocess.run([sys.executable, "-c", PEAK, str(path), what], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300).stdout.split()
    return int(out[0]), int(out[1])


def _photo(side: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:side, 0:side]
    smooth = ((x + y) * 255 // (2 * side)).astype(np.uint8)
    return np.stack([smooth, smooth // 2 + rng.integers(0, 40, (side, side), dtype=np.uint8), 255 - smooth], axis=2)


@linux_only
@pytest.mark.parametrize("kind", ["rgb.png", "rgb.jpg", "rgba.png", "palette.png", "gray16.png"])
def test_load_image_peaks_under_twice_the_result(tmp_path: Path, kind: str) -> None:
    rgb = _photo(3000)  # 27 MB result
    path = tmp_path / kind
    if kind == "rgb.png":
        Image.fromarray(rgb).save(path, compress_level=1)
    elif kind == "rgb.jpg":
        Image.fromarray(rgb).save(path, quality=90)
    elif kind == "rgba.png":
        Image.fromarray(np.dstack([rgb, rgb[..., 0]])).save(path, compress_level=1)
    elif kind == "palette.png":
        Image.fromarray(rgb).convert("P", palette=Image.ADAPTIVE, colors=64).save(path, compress_level=1)
    else:
        Image.fromarray(rgb[..., 0].astype(np.uint16) * 200).save(path, compress_level=1)
    peak, nbytes = _peak(path)
    assert nbytes == 3000 * 3000 * 3
    assert peak < 2 * nbytes, f"{kind}: peak {peak / 1e6:.0f} MB for a {nbytes / 1e6:.0f} MB result"  # was 4.7x


def test_opencv_decodes_exactly_what_pillow_decodes(tmp_path: Path) -> None:
    rgb = _photo(300)
    for name, options in (("a.jpg", {"quality": 85}), ("a.png", {}), ("p.png", {})):
        path = tmp_path / name
        img = Image.fromarray(rgb)
        (img.convert("P", palette=Image.ADAPTIVE) if name == "p.png" else img).save(path, **options)
        with Image.open(path) as ref:
            np.testing.assert_array_equal(load_image(path), np.asarray(ref.convert("RGB")))


def _png_with_exif_after_pixels(path: Path, rgb: np.ndarray, orientation: int) -> None:
    """A PNG whose eXIf chunk follows IDAT (allowed by the PNG spec; Pillow writes it before)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(rgb).save(path)
    data = path.read_bytes()
    payload = exif.tobytes()
    chunk = struct.pack(">I", len(payload)) + b"eXIf" + payload + struct.pack(">I", zlib.crc32(b"eXIf" + payload))
    end = data.rindex(b"IEND") - 4
    path.write_bytes(data[:end] + chunk + data[end:])


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pillow_and_the_header_size(tmp_path: Path, orientation: int) -> None:
    rgb = _photo(40)[:30]  # 30 x 40, not square
    for where in ("before", "after"):
        path = tmp_path / f"o{orientation}{where}.png"
        if where == "before":
            exif = Image.Exif()
            exif[0x0112] = orientation
            Image.fromarray(rgb).save(path, exif=exif)
        else:
            _png_with_exif_after_pixels(path, rgb, orientation)
        with Image.open(path) as ref:
            ref.load()
            expected = np.asarray(ImageOps.exif_transpose(ref).convert("RGB"))
        got = load_image(path)
        np.testing.assert_array_equal(got, expected)
        assert image_size(path) == got.shape[:2]


@linux_only
def test_image_size_reads_only_the_header(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    Image.new("L", (12_000, 12_000), 7).save(path, compress_level=1)
    t0 = time.perf_counter()
    assert image_size(path) == (12_000, 12_000)
    assert time.perf_counter() - t0 < 0.5  # was ~1 s (the whole PNG decoded for its EXIF)
    peak, _ = _peak(path, "size")
    assert peak < 20e6  # was 144 MB (12,000^2 decoded); a 20,000^2 PNG: 1.7 s / 401 MB before, 0.01 s / 1 MB now


@pytest.mark.skipif(os.name != "posix", reason="bytes file names are POSIX")
def test_a_non_utf8_name_loads(tmp_path: Path) -> None:
    raw = os.fsencode(str(tmp_path)) + b"/caf\xe9.png"
    Image.fromarray(_photo(50)).save(raw)
    path = Path(os.fsdecode(raw))
    np.testing.assert_array_equal(load_image(path), _photo(50))
    assert image_size(path) == (50, 50)
