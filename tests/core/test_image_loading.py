"""Image loading: formats, EXIF orientation, bit depths, channels, bad files, large images."""
from __future__ import annotations

import resource
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anylabel.errors import ImageLoadError
from anylabel.imaging import file_key, image_size, load_image


def _gradient(h: int = 24, w: int = 32) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), np.full_like(x, 128)], axis=2).astype(np.uint8)


@pytest.mark.parametrize("ext, lossless", [("png", True), ("bmp", True), ("tiff", True), ("webp", False),
                                           ("jpg", False)])
def test_every_format_loads_as_rgb_uint8(tmp_path: Path, ext: str, lossless: bool) -> None:
    src = _gradient()
    path = tmp_path / f"img.{ext}"
    Image.fromarray(src).save(path, **({"quality": 95} if ext in ("jpg", "webp") else {}))
    img = load_image(path)
    assert img.dtype == np.uint8 and img.shape == (24, 32, 3)
    if lossless:
        np.testing.assert_array_equal(img, src)
    else:
        assert np.abs(img.astype(int) - src).mean() < 6


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    src = _gradient(20, 40)
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was rotated: display rotated 90 degrees clockwise
    path = tmp_path / "rotated.jpg"
    Image.fromarray(src).save(path, exif=exif, quality=98)
    img = load_image(path)
    assert img.shape == (40, 20, 3)
    assert image_size(path) == (40, 20)
    expected = np.rot90(src, k=-1)
    assert np.abs(img.astype(int) - expected).mean() < 6


def test_sixteen_bit_is_stretched_to_eight_bit(tmp_path: Path) -> None:
    data = np.linspace(1000, 4000, 64 * 48).reshape(48, 64).astype(np.uint16)  # a 12-bit camera's range
    path = tmp_path / "depth.png"
    Image.fromarray(data).save(path)
    img = load_image(path)
    assert img.dtype == np.uint8 and img.shape == (48, 64, 3)
    assert img.min() == 0 and img.max() == 255
    assert (img[..., 0] == img[..., 2]).all()


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA", "1", "CMYK"])
def test_other_modes_become_rgb(tmp_path: Path, mode: str) -> None:
    base = Image.fromarray(_gradient())
    converted = base.convert(mode)
    path = tmp_path / ("img.tiff" if mode == "CMYK" else "img.png")
    converted.save(path)
    img = load_image(path)
    assert img.shape == (24, 32, 3) and img.dtype == np.uint8
    if mode == "RGBA":
        np.testing.assert_array_equal(img, _gradient())
    if mode == "P":
        np.testing.assert_array_equal(img, np.asarray(converted.convert("RGB")))


def test_corrupt_and_truncated_files_raise_clear_errors(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.jpg"
    garbage.write_bytes(b"this is not an image at all")
    with pytest.raises(ImageLoadError, match="not a supported image") as e:
        load_image(garbage)
    assert e.value.path == garbage

    full = tmp_path / "full.jpg"
    Image.fromarray(_gradient(200, 200)).save(full, quality=95)
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(ImageLoadError, match="truncated") as e:
        load_image(truncated)
    assert str(truncated) in str(e.value)

    with pytest.raises(ImageLoadError, match="no such image file"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ImageLoadError, match="not a file"):
        load_image(tmp_path)


def test_large_image_loads_without_blowing_memory(tmp_path: Path) -> None:
    """A 10,000 x 10,000 image (100 MP, above Pillow's default bomb limit) loads; peak RSS stays bounded."""
    path = tmp_path / "huge.png"
    Image.new("L", (10_000, 10_000), 7).save(path, compress_level=1)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    img = load_image(path)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert img.shape == (10_000, 10_000, 3) and img[5000, 5000, 0] == 7
    del img
    assert grown_mb < 1000, f"peak grew by {grown_mb:.0f} MB for a 300 MB result"


def test_file_key_follows_content_not_name(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"
    Image.fromarray(_gradient()).save(a)
    b.write_bytes(a.read_bytes())
    Image.fromarray(255 - _gradient()).save(c)
    assert file_key(a) == file_key(b) != file_key(c)


def test_corrupt_file_fails_fast_even_after_ultralytics_patched_pillow(tmp_path: Path) -> None:
    """ultralytics wraps PIL.Image.open to pip-install a HEIF plugin on unknown files; we must not go there."""
    import PIL.Image
    import ultralytics.utils.patches  # noqa: F401  (applies the patch)

    assert PIL.Image.open.__module__.startswith("ultralytics")
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"\x00" * 64)
    with pytest.raises(ImageLoadError, match="not a supported image"):
        load_image(garbage)
