"""Decode image files into HxWx3 uint8 RGB arrays, the one image type of anylabel's core.

* EXIF orientation is applied, so what the user sees, what the model segments and the size written into
  the annotation all agree (labelme does the same).
* Grayscale, palette, RGBA / LA (alpha dropped onto black... i.e. the colour channels are kept) and CMYK
  become RGB. 16-bit and 32-bit images are scaled linearly from their own minimum and maximum to 0..255,
  so 12-bit camera and depth images are visible instead of nearly black.
* Large images: Pillow's decompression-bomb limit is raised to :data:`MAX_PIXELS` (a 30,000 x 30,000
  photo), and conversion works in place where possible, so a 10,000 x 10,000 image costs about its own
  300 MB.
* A missing, corrupt or truncated file raises :class:`ImageLoadError` that names the file.
"""
from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Tuple, Union

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

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
                img.load()
                img = ImageOps.exif_transpose(img) or img
                return _to_rgb8(img)
    except UnidentifiedImageError as e:
        raise ImageLoadError("not a supported image (unknown or corrupt format)", path) from e
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageLoadError(f"image too large (more than {MAX_PIXELS:,} pixels)", path) from e
    except MemoryError as e:
        raise ImageLoadError("not enough memory to decode this image", path) from e
    except (OSError, SyntaxError, ValueError) as e:
        reason = str(e) or type(e).__name__
        if "truncated" in reason.lower():
            reason = f"truncated image file ({reason})"
        raise ImageLoadError(f"cannot decode image: {reason}", path) from e


def image_size(path: PathLike) -> Tuple[int, int]:
    """(height, width) after EXIF orientation, read from the header without decoding pixels."""
    path = Path(path)
    try:
        with pillow_open(path) as img:
            w, h = img.size
            orientation = img.getexif().get(0x0112, 1)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as e:
        raise ImageLoadError(f"cannot read the image header: {e}", path) from e
    return (w, h) if orientation in (5, 6, 7, 8) else (h, w)


def pillow_open(path: Path) -> Image.Image:
    """Pillow's own ``Image.open``.

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


def _to_rgb8(img: Image.Image) -> np.ndarray:
    mode = img.mode
    if mode == "RGB":
        return np.array(img)
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return _gray_to_rgb(_stretch(np.asarray(img)))
    if mode in ("RGBA", "RGBa", "RGBX"):
        return np.array(img)[..., :3]
    if mode in ("LA", "La"):
        return _gray_to_rgb(np.asarray(img)[..., 0])
    if mode == "L":
        return _gray_to_rgb(np.asarray(img))
    if mode == "1":
        return _gray_to_rgb(np.asarray(img, dtype=np.uint8) * 255)
    # palette (P, PA), CMYK, YCbCr, LAB, HSV: Pillow knows the conversion
    return np.array(img.convert("RGB"))


def _stretch(arr: np.ndarray) -> np.ndarray:
    """Linear min..max to 0..255, computed in float32 to bound memory on huge images."""
    arr = np.asarray(arr)
    lo, hi = float(arr.min()), float(arr.max())
    if hi <= lo:
        return np.zeros(arr.shape, dtype=np.uint8)
    out = arr.astype(np.float32)
    out -= lo
    out *= 255.0 / (hi - lo)
    np.rint(out, out=out)
    return out.astype(np.uint8)


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[..., None], 3, axis=2)
