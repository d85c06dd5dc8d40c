"""Decode image files into HxWx3 uint8 RGB arrays, the one image type of anylabel's core.

* EXIF orientation is applied, so what the user sees, what the model segments and the size written into
  the annotation all agree (labelme does the same).
* Grayscale, palette, RGBA / LA (alpha dropped onto black... i.e. the colour channels are kept) and CMYK
  become RGB. 16-bit and 32-bit images are scaled linearly from their own minimum and maximum to 0..255,
  so 12-bit camera and depth images are visible instead of nearly black.
* Large images: Pillow's decompression-bomb limit is raised to :data:`MAX_PIXELS` (a 30,000 x 30,000
  photo); 8-bit JPEG and PNG decode straight into the result (OpenCV) and 16-bit images are stretched in
  strips, so the peak stays under twice the result (a 10,000 x 10,000 image: about its own 300 MB).
* Sizes (:func:`image_size`) come from the header, EXIF orientation included, without decoding pixels.
* A missing, corrupt or truncated file raises :class:`ImageLoadError` that names the file.
"""
from __future__ import annotations

import hashlib
import mmap
import os
import struct
import warnings
from pathlib import Path
from typing import BinaryIO, Tuple, Union

import cv2
import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from anylabel.errors import ImageLoadError

PathLike = Union[str, Path]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
MAX_PIXELS = 30_000 * 30_000

Image.MAX_IMAGE_PIXELS = MAX_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is an error, never a silently grey image


def is_image_file(path: PathLike) -> bool:
    """True when the file name has one of the supported image extensions (case-insensitive)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def load_image(path: PathLike) -> np.ndarray:
    """Decode ``path`` to an HxWx3 uint8 RGB array with EXIF orientation applied.

    Memory: 8-bit JPEG and PNG files (RGB, RGBA, grey, palette) are decoded by OpenCV straight into the
    preallocated HxWx3 result (pixel for pixel what Pillow decodes), so the peak is the result's own size
    (Pillow keeps RGB at 4 bytes a pixel and every conversion is another copy: 4.7x the result before); 16-bit
    PNG is decoded to uint16 the same way and stretched in strips (1.8x). Pillow reads the header (size, mode,
    orientation, the decompression-bomb limit) and decodes every other kind
    (``benchmarks/load_image_memory.py`` measures it).

    Raises:
        ImageLoadError: the file is missing, not an image, corrupt or truncated.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageLoadError("no such image file" if not path.exists() else "not a file", path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with pillow_open(path) as img:
                orientation = _orientation(img, path)
                if img.format in ("JPEG", "PNG") and img.mode in _OPENCV_MODES:
                    rgb = _decode_opencv(path, img.format, img.size)
                elif img.format == "PNG" and img.mode in _SIXTEEN_BIT:
                    rgb = _stretch_to_rgb(_decode_opencv(path, img.format, img.size, np.uint16))
                else:
                    rgb = _decode_pillow(img)
        return _orient(rgb, orientation)
    except UnidentifiedImageError as e:
        raise ImageLoadError("not a supported image (unknown or corrupt format)", path) from e
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageLoadError(f"image too large (more than {MAX_PIXELS:,} pixels)", path) from e
    except MemoryError as e:
        raise ImageLoadError("not enough memory to decode this image", path) from e
    except (OSError, SyntaxError, ValueError, cv2.error) as e:
        reason = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        if "truncated" in reason.lower():
            reason = f"truncated image file ({reason})"
        raise ImageLoadError(f"cannot decode image: {reason}", path) from e


def image_size(path: PathLike) -> Tuple[int, int]:
    """(height, width) after EXIF orientation, read from the header without decoding pixels (a PNG's eXIf
    chunk is found by walking the chunk headers, not by decoding the image as Pillow's ``getexif`` does)."""
    path = Path(path)
    try:
        with pillow_open(path) as img:
            w, h = img.size
            orientation = _orientation(img, path)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as e:
        raise ImageLoadError(f"cannot read the image header: {e}", path) from e
    return (w, h) if orientation in (5, 6, 7, 8) else (h, w)


#: Pillow modes of JPEG / PNG files that OpenCV decodes to the same 8-bit RGB (alpha dropped, palette expanded)
_OPENCV_MODES = ("RGB", "RGBA", "L", "LA", "P", "PA", "1")
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_ORIENTATION = 0x0112


def _orientation(img: Image.Image, path: Path) -> int:
    """The EXIF orientation (1..8, 1 = as stored) from the file's header, without decoding the pixels."""
    if img.format == "PNG":
        raw = img.info.get("exif") or _png_exif_after_pixels(path)
        if not raw:
            return 1
        exif = Image.Exif()
        exif.load(raw)
    else:
        exif = img.getexif()  # JPEG APP1, TIFF tags, WebP chunks: all read with the header
    value = exif.get(_ORIENTATION, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _png_exif_after_pixels(path: Path) -> bytes:
    """The eXIf chunk of a PNG that stores it after the image data (Pillow reads it only by decoding all of
    the pixels): the chunk headers are walked with seeks, a few bytes each."""
    with open(path, "rb") as f:
        f.seek(8)  # the signature
        while True:
            header = f.read(8)
            if len(header) < 8:
                return b""
            length, kind = struct.unpack(">I4s", header)
            if kind == b"eXIf":
                return f.read(length)
            if kind == b"IEND":
                return b""
            f.seek(length + 4, os.SEEK_CUR)  # the data and its CRC


def _orient(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """``rgb`` as displayed for an EXIF orientation, as Pillow's ``exif_transpose`` (one copy when not 1)."""
    if orientation == 1:
        return rgb
    view = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
            5: lambda a: a.transpose(1, 0, 2), 6: lambda a: np.rot90(a, k=-1),
            7: lambda a: a[::-1, ::-1].transpose(1, 0, 2), 8: lambda a: np.rot90(a, k=1)}[orientation](rgb)
    return np.ascontiguousarray(view)


def _decode_opencv(path: Path, kind: str, size: Tuple[int, int], depth: type = np.uint8) -> np.ndarray:
    """OpenCV's decode straight into a preallocated array (``size`` = Pillow's (width, height)): HxWx3 RGB
    uint8, or HxW grey uint16 for ``depth=np.uint16``. No second copy of the pixels exists at any time."""
    w, h = size
    rgb_flag = getattr(cv2, "IMREAD_COLOR_RGB", None)
    if depth == np.uint16:
        out, flags, rgb_flag = np.empty((h, w), dtype=np.uint16), cv2.IMREAD_UNCHANGED, True
    else:
        out = np.empty((h, w, 3), dtype=np.uint8)
        flags = (cv2.IMREAD_COLOR if rgb_flag is None else rgb_flag) | cv2.IMREAD_IGNORE_ORIENTATION  # ours
    name = os.fsdecode(path)
    fd = None
    try:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:  # OpenCV takes UTF-8 names only: open it ourselves, hand over the descriptor
            fd = os.open(path, os.O_RDONLY)
            name = f"/proc/self/fd/{fd}"
        if fd is None or os.path.exists(name):
            got = cv2.imread(name, out, flags)
        else:  # no /proc: decode from memory (the compressed bytes and one extra copy)
            got = cv2.imdecode(np.fromfile(path, dtype=np.uint8), flags)
    finally:
        if fd is not None:
            os.close(fd)
    if got is None or got.size == 0 or got.shape != out.shape or got.dtype != out.dtype:
        raise OSError("the file is truncated or corrupt")
    if kind == "JPEG" and not _jpeg_has_end(path):
        # libjpeg pads a truncated JPEG with grey and only warns: refuse it like Pillow does
        raise OSError("image file is truncated (no end-of-image marker)")
    if rgb_flag is None:  # an OpenCV without IMREAD_COLOR_RGB: BGR -> RGB in strips, in place
        for y in range(0, got.shape[0], 256):
            got[y:y + 256] = got[y:y + 256, :, ::-1].copy()
    return got


def _jpeg_has_end(path: Path) -> bool:
    """True when the JPEG's end-of-image marker follows its first scan (an embedded EXIF thumbnail has its own
    markers before the scan; inside entropy-coded data 0xFF is always stuffed, so FFD9 is only the real end)."""
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        pos, size = 2, len(data)
        while pos + 4 <= size:  # segment by segment up to the first start-of-scan
            if data[pos] != 0xFF:
                return False
            marker = data[pos + 1]
            if marker == 0xFF:  # fill byte
                pos += 1
                continue
            if marker == 0xDA:
                return data.rfind(b"\xff\xd9", pos) > pos
            if 0xD0 <= marker <= 0xD7 or marker == 0x01:
                pos += 2
                continue
            pos += 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
        return False


def _decode_pillow(img: Image.Image) -> np.ndarray:
    """Every other kind through Pillow. Pillow's own copy is released (``close``) as soon as the pixels are a
    numpy array, before the RGB result is made."""
    img.load()
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img)
        img.close()
        return _stretch_to_rgb(arr)
    if mode in ("RGB", "RGBA", "RGBa", "RGBX", "LA", "La", "L", "1"):
        arr = np.asarray(img)
        img.close()
        if mode == "1":
            return _gray_to_rgb(arr.astype(np.uint8) * 255)
        if arr.ndim == 2:
            return _gray_to_rgb(arr)
        if mode in ("LA", "La"):
            return _gray_to_rgb(arr[..., 0])
        return np.ascontiguousarray(arr[..., :3]) if arr.shape[2] != 3 else np.array(arr)
    # palette (P, PA), CMYK, YCbCr, LAB, HSV: Pillow knows the conversion
    return np.array(img.convert("RGB"))


def pillow_open(path: Union[Path, BinaryIO]) -> Image.Image:
    """Pillow's own ``Image.open`` of a file or a binary file object (embedded base64 images).

    Importing ultralytics replaces ``PIL.Image.open`` with a wrapper that, on a file Pillow cannot identify,
    pip-installs pi-heif (a network call at run time) and retries. A corrupt file must fail fast with our
    error instead, so the original function is used when the wrapper is in place.
    """
    opener = Image.open
    if getattr(opener, "__module__", "").startswith("ultralytics"):
        opener = opener.__globals__.get("_image_open", opener)
    return opener(path)


def file_key(path: PathLike) -> str:
    """A key for the file's content (BLAKE2b of its bytes), computed without decoding the image.

    The embedding cache uses it, so a renamed or copied image still hits and an edited one misses.
    """
    h = hashlib.blake2b(digest_size=16)
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as e:
        raise ImageLoadError(f"cannot read: {e.strerror or e}", path) from e
    return h.hexdigest()


def _stretch_to_rgb(arr: np.ndarray, rows: int = 256) -> np.ndarray:
    """Grey values of any depth, linearly min..max to 0..255, as HxWx3 uint8; converted in strips of ``rows``
    so that the float32 working copy never exceeds a strip."""
    lo, hi = float(arr.min()), float(arr.max())
    out = np.empty(arr.shape[:2] + (3,), dtype=np.uint8)
    if hi <= lo:
        out.fill(0)
        return out
    scale = 255.0 / (hi - lo)
    for y in range(0, arr.shape[0], rows):
        strip = arr[y:y + rows].astype(np.float32)
        strip -= lo
        strip *= scale
        np.rint(strip, out=strip)
        out[y:y + rows] = strip.astype(np.uint8)[..., None]
    return out


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[..., None], 3, axis=2)
