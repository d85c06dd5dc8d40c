"""Getting each item's image into the output folder, under a unique name, checked first.

* :func:`check_image` verifies the image exists (or is embedded), its header is readable and its size
  (after EXIF orientation) equals the annotation's; otherwise the coordinates cannot be trusted and the
  image is skipped with a warning (``missing_image``, ``bad_image``, ``size_mismatch``). Its pixels are
  checked too (:func:`pixels_problem`): a truncated or corrupt image is left out (``corrupt_image``)
  unless ``Options.keep_corrupt``.
* Output names are valid UTF-8: a source name that is not (``caf\\xe9.jpg``, bytes a Linux file system
  allows) is exported percent-escaped, ``caf%E9.jpg``, with a ``non_utf8_name`` warning, so COCO's
  ``file_name``, YOLO and LabelMe files can always be written and read by any tool.
* :class:`NamePool` gives unique output names: two different images with the same file *stem* (compared
  case-insensitively, because Windows and macOS file systems are) would overwrite each other's image or
  YOLO label file, so the later one is renamed ``stem_1.ext`` (``duplicate_name``). The same image
  referenced by two annotation files is exported once (``duplicate_image``).
* :func:`place_image` copies (into the staging folder of the export, see :mod:`.output`) or links.
"""
from __future__ import annotations

import base64
import binascii
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Set, Tuple
from urllib.parse import quote

from PIL import Image, UnidentifiedImageError

from anylabel.errors import AnylabelError, ImageLoadError
from anylabel.formats.base import Item, Options, Report
from anylabel.formats.staged import copy_new, write_new_bytes
from anylabel.imaging import loader
from anylabel.imaging.loader import pillow_open

_FORMAT_EXT = {"JPEG": ".jpg", "PNG": ".png", "BMP": ".bmp", "TIFF": ".tif", "WEBP": ".webp", "GIF": ".gif"}


@dataclass
class ImageSource:
    """A checked image: a file, or the bytes embedded in the LabelMe JSON."""

    path: Optional[Path]
    data: Optional[bytes]
    suffix: str
    stem: str
    #: the file's real path (symlinks resolved): what tells two references to one image apart from two
    #: images; computed by the worker that checked it (``None``: computed when needed)
    key: Optional[str] = None


def pixels_problem(path: Path) -> str:
    """Why the pixels of the image file ``path`` do not decode ("" when they do).

    The check reads the whole file at a fraction of a full decode's cost: a JPEG is decoded at 1/8 scale
    (the entropy-coded data is still read to its end, so truncation and corrupt data show), a PNG has the
    CRC of every chunk checked up to IEND; other formats are decoded in full. One file (the same inode,
    size and mtime: hard links, frames referenced twice) is checked once per process.
    """
    try:
        st = os.stat(path)
    except OSError as e:
        return e.strerror or str(e)
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    if key not in _CHECKED:
        if len(_CHECKED) >= 100_000:
            _CHECKED.clear()
        _CHECKED[key] = _decode_problem(path)
    return _CHECKED[key]


_CHECKED: Dict[tuple, str] = {}  # (device, inode, size, mtime) -> problem


def _decode_problem(path: Path) -> str:
    try:
        with pillow_open(path) as img:
            if img.format == "PNG":
                img.verify()
                return ""
            if img.format == "JPEG":
                img.draft(img.mode, (max(1, img.width // 8), max(1, img.height // 8)))
            img.load()
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError, Image.DecompressionBombError) as e:
        reason = str(e) or type(e).__name__
        return f"truncated image file ({reason})" if "truncat" in reason.lower() else reason
    except MemoryError:
        return "not enough memory to decode it"
    return ""


_SIZES: Dict[Tuple[str, int, int, int], Tuple[int, int]] = {}


def header_size(path: Path) -> Tuple[int, int]:
    """:func:`anylabel.imaging.loader.image_size`, remembered per file (path, inode, size, mtime) in this
    process: an export reads each header twice (the reader's size check, then the writer's) in one worker."""
    try:
        st = os.stat(path)
    except OSError:
        return loader.image_size(path)  # raises the loader's error naming the file
    key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns)
    size = _SIZES.get(key)
    if size is None:
        if len(_SIZES) > 10_000:
            _SIZES.clear()
        size = _SIZES[key] = loader.image_size(path)
    return size


def check_image(item: Item, name: str, report: Report, options: Optional[Options] = None) -> Optional[ImageSource]:
    """The item's image when it can be exported, else ``None`` with a warning naming ``name``."""
    ann = item.annotation
    keep_corrupt = options is not None and options.keep_corrupt
    if item.image is not None and item.image.is_file():
        try:
            h, w = header_size(item.image)
        except ImageLoadError as e:
            report.warn(name, None, "bad_image", f"image {item.image.name}: {e.reason}: skipped")
            return None
        src = ImageSource(item.image, None, item.image.suffix.lower() or ".jpg", item.image.stem,
                          os.path.realpath(item.image))
        problem = pixels_problem(item.image) if (h, w) == (ann.image_height, ann.image_width) else ""
        if problem:
            if not keep_corrupt:
                report.warn(name, None, "corrupt_image", f"image {item.image.name} does not decode: {problem}: "
                            "skipped (--keep-corrupt keeps it)")
                return None
            report.warn(name, None, "corrupt_image", f"image {item.image.name} does not decode: {problem}: "
                        "kept on request")
    elif ann.image_data:
        if not isinstance(ann.image_data, str):
            report.warn(name, None, "bad_image", f"imageData is a {type(ann.image_data).__name__}, not base64 text: "
                        "skipped")
            return None
        try:
            data = base64.b64decode(ann.image_data, validate=False)
            with Image.open(io.BytesIO(data)) as img:
                w, h, fmt = img.width, img.height, img.format
        except (binascii.Error, ValueError, OSError, UnidentifiedImageError) as e:
            report.warn(name, None, "bad_image", f"embedded imageData is not an image ({e}): skipped")
            return None
        stem = Path(ann.image_path.replace("\\", "/")).stem or Path(name).stem
        src = ImageSource(None, data, _FORMAT_EXT.get(fmt or "", ".png"), stem)
    else:
        report.warn(name, None, "missing_image", f"image {ann.image_path!r} not found: skipped")
        return None
    if (h, w) != (ann.image_height, ann.image_width):
        report.warn(name, None, "size_mismatch", f"image is {w}x{h} but the annotation says "
                    f"{ann.image_width}x{ann.image_height}: coordinates cannot be trusted, skipped")
        return None
    return src


def embedded_size(image_data: str) -> Tuple[int, int]:
    """(height, width) of a LabelMe ``imageData`` (base64 image bytes), from its header."""
    with Image.open(io.BytesIO(base64.b64decode(image_data, validate=False))) as img:
        return img.height, img.width


class NamePool:
    """Unique output stems within one export (case-insensitive), remembering which source got which."""

    def __init__(self) -> None:
        self._taken: Set[str] = set()
        self._by_source: Dict[str, str] = {}

    def claim(self, src: ImageSource, name: str, report: Report) -> Optional[str]:
        """The output stem for ``src``; ``None`` (with a warning) when that image was already exported."""
        key = (src.key or os.path.realpath(src.path)) if src.path is not None else None
        return self.claim_stem(key, src.stem, src.suffix, name, report)

    def claim_item(self, item: Item, report: Report,
                   options: Optional[Options] = None) -> Optional[Tuple[ImageSource, str]]:
        """The item's exportable image and its unique output stem, or ``None`` (warned, counted as skipped)
        when the image is missing, unreadable, corrupt, of another size or already exported."""
        src = check_image(item, item.label, report, options)
        stem = self.claim(src, item.label, report) if src is not None else None
        if src is None or stem is None:
            report.skipped_images += 1
            return None
        return src, stem

    def claim_stem(self, key: Optional[str], stem: str, suffix: str, name: str, report: Report) -> Optional[str]:
        """A unique stem for the file identified by ``key`` (``None``: always new) wanting ``stem``."""
        if key is not None and key in self._by_source:
            report.warn(name, None, "duplicate_image", f"image {stem}{suffix} is already exported with "
                        f"another annotation file: skipped")
            return None
        stem, n = utf8_name(stem or "image", suffix, name, report), 0
        while (stem if n == 0 else f"{stem}_{n}").casefold() in self._taken:
            n += 1
        out = stem if n == 0 else f"{stem}_{n}"
        if n:
            report.warn(name, None, "duplicate_name", f"another image is also named {stem}{suffix}: "
                        f"exported as {out}{suffix}")
        self._taken.add(out.casefold())
        if key is not None:
            self._by_source[key] = out
        return out


def utf8_name(stem: str, suffix: str, name: str, report: Report) -> str:
    """``stem`` itself when it is valid UTF-8, else with its undecodable bytes as ``%XX`` (warned)."""
    try:
        stem.encode("utf-8")
        return stem
    except UnicodeEncodeError:
        escaped = quote(stem.encode("utf-8", "surrogateescape"), safe=" !#$&'()+,;=@[]^`{}~")
        report.warn(name, None, "non_utf8_name", f"the file name {stem}{suffix} is not valid UTF-8: exported as "
                    f"{escaped}{suffix}")
        return escaped


def place_image(src: ImageSource, dest: Path, mode: str) -> None:
    """Put the image at the new file ``dest`` by ``mode`` (copy, hardlink, symlink); embedded data is always
    written. ``dest`` lies in a staging folder (:mod:`.output`): a plain new file, no temporary + rename
    and no fsync (see :mod:`.staged`); an existing ``dest`` is an error, never replaced.

    Raises:
        AnylabelError: naming the destination when the file system refuses.
    """
    try:
        if src.path is not None and mode in ("hardlink", "symlink"):
            _link(src.path, dest, mode)
        elif src.data is not None:
            write_new_bytes(dest, src.data)
        else:
            copy_new(src.path, dest)
    except OSError as e:
        raise AnylabelError(f"cannot write the image: {e.strerror or e}", dest) from e


def _link(src: Path, dest: Path, mode: str) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        if mode == "hardlink":
            os.link(src, dest)
        else:
            os.symlink(src.resolve(), dest)
    except FileExistsError:
        raise
    except OSError:
        if mode == "symlink":
            raise
        # a hard link across file systems (or on a file system without them) is impossible: copy instead
        copy_new(src, dest)
