"""Getting each item's image into the output folder, under a unique name, checked first.

* :func:`check_image` verifies the image exists (or is embedded), its header is readable and its size
  (after EXIF orientation) equals the annotation's; otherwise the coordinates cannot be trusted and the
  image is skipped with a warning (``missing_image``, ``bad_image``, ``size_mismatch``).
* :class:`NamePool` gives unique output names: two different images with the same file *stem* (compared
  case-insensitively, because Windows and macOS file systems are) would overwrite each other's image or
  YOLO label file, so the later one is renamed ``stem_1.ext`` (``duplicate_name``). The same image
  referenced by two annotation files is exported once (``duplicate_image``).
* :func:`place_image` copies atomically (temporary file + rename) or links.
"""
from __future__ import annotations

import base64
import binascii
import io
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, Optional, Set, Tuple

from PIL import Image, UnidentifiedImageError

from anylabel.errors import AnylabelError, ImageLoadError
from anylabel.formats.base import Item, Report
from anylabel.imaging.loader import image_size

_FORMAT_EXT = {"JPEG": ".jpg", "PNG": ".png", "BMP": ".bmp", "TIFF": ".tif", "WEBP": ".webp", "GIF": ".gif"}


@dataclass
class ImageSource:
    """A checked image: a file, or the bytes embedded in the LabelMe JSON."""

    path: Optional[Path]
    data: Optional[bytes]
    suffix: str
    stem: str


def check_image(item: Item, name: str, report: Report) -> Optional[ImageSource]:
    """The item's image when it can be exported, else ``None`` with a warning naming ``name``."""
    ann = item.annotation
    if item.image is not None and item.image.is_file():
        try:
            h, w = image_size(item.image)
        except ImageLoadError as e:
            report.warn(name, None, "bad_image", f"image {item.image.name}: {e.reason}: skipped")
            return None
        src = ImageSource(item.image, None, item.image.suffix.lower() or ".jpg", item.image.stem)
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


class NamePool:
    """Unique output stems within one export (case-insensitive), remembering which source got which."""

    def __init__(self) -> None:
        self._taken: Set[str] = set()
        self._by_source: Dict[str, str] = {}

    def claim(self, src: ImageSource, name: str, report: Report) -> Optional[str]:
        """The output stem for ``src``; ``None`` (with a warning) when that image was already exported."""
        key = str(src.path.resolve()) if src.path is not None else None
        return self.claim_stem(key, src.stem, src.suffix, name, report)

    def claim_item(self, item: Item, report: Report) -> Optional[Tuple[ImageSource, str]]:
        """The item's exportable image and its unique output stem, or ``None`` (warned, counted as skipped)
        when the image is missing, unreadable, of another size or already exported."""
        src = check_image(item, item.label, report)
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
        stem, n = stem or "image", 0
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


def place_image(src: ImageSource, dest: Path, mode: str) -> None:
    """Put the image at ``dest`` by ``mode`` (copy, hardlink, symlink); embedded data is always written.

    Raises:
        AnylabelError: naming the destination when the file system refuses.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        if src.path is not None and mode in ("hardlink", "symlink"):
            _link(src.path, dest, mode)
            return
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                if src.data is not None:
                    f.write(src.data)
                else:
                    with open(src.path, "rb") as s:
                        shutil.copyfileobj(s, f, 1 << 20)
            if src.path is not None:
                shutil.copystat(src.path, tmp)
            os.replace(tmp, dest)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    except OSError as e:
        raise AnylabelError(f"cannot write the image: {e.strerror or e}", dest) from e


def _link(src: Path, dest: Path, mode: str) -> None:
    tmp = dest.with_name(f".{dest.name}.link.tmp")
    if tmp.exists() or tmp.is_symlink():
        tmp.unlink()
    try:
        if mode == "hardlink":
            os.link(src, tmp)
        else:
            os.symlink(src.resolve(), tmp)
    except OSError:
        if mode == "symlink":
            raise
        # a hard link across file systems (or on a file system without them) is impossible: copy instead
        place_image(ImageSource(src, None, src.suffix, src.stem), dest, "copy")
        return
    os.replace(tmp, dest)


def prepare_output(out: Path, options_overwrite: bool, ours: Iterable[str]) -> None:
    """Refuse to mix a new export into a folder holding other files, unless overwriting is allowed.

    ``ours`` are the top-level names an export of this format writes; with ``overwrite`` a folder that holds
    a previous export is accepted and :func:`remove_stale` later deletes what the new export did not write.
    """
    if out.exists() and not out.is_dir():
        raise AnylabelError("the output exists and is not a folder", out)
    if not out.exists():
        return
    entries = [p.name for p in out.iterdir()]
    if entries and not options_overwrite:
        raise AnylabelError("the output folder is not empty (use --overwrite to replace a previous export)", out)
    foreign = sorted(set(entries) - set(ours))
    if foreign and options_overwrite:
        raise AnylabelError(f"the output folder holds files that are not part of an export ({', '.join(foreign[:5])}); "
                            "choose an empty folder", out)


def remove_stale(out: Path, folders: Iterable[str], written: Set[Path]) -> int:
    """Delete files under ``out/<folder>`` that this export did not write (a previous export's leftovers
    would otherwise be trained on). Returns how many were removed."""
    removed = 0
    keep = {os.path.abspath(p) for p in written}  # compare link paths, not link targets
    for folder in folders:
        base = out / folder
        if not base.is_dir():
            continue
        for p in sorted(base.rglob("*")):
            if (p.is_file() or p.is_symlink()) and os.path.abspath(p) not in keep:
                p.unlink()
                removed += 1
    return removed
