"""The image list and where each image's LabelMe file lives; safe saves. Qt-free (plain Python, testable alone).

Opening a folder of 10,000 images must not lag, so the scan reads the folder once with ``os.scandir``
(names and entry types come from the directory listing itself: no stat per file, no image decoding),
natural-sorts the names, and learns which images are annotated from the ``.json`` names of the same
listing (and of the output folder's listing). Image sizes are read only for the image being opened.

Another program may change an annotation file while it is open here (a colleague, labelme, a script):
:class:`FileVersions` remembers what each file held when it was loaded or saved (a
:class:`~anylabel.filelock.Fingerprint`), and a save that would overwrite a changed file raises
:class:`ChangedOnDiskError` instead (the window then asks: reload / keep mine / save as). Saves hold the
file's lock (:mod:`anylabel.filelock`), so the check and the write are one step for our own writers.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable, Dict, List, Optional, Set, Tuple, TypeVar, Union

from anylabel.document import ImageAnnotation
from anylabel.errors import AnylabelError, FormatError
from anylabel.filelock import Fingerprint, locked
from anylabel.formats.base import printable
from anylabel.formats.labelme import load_labelme, save_labelme
from anylabel.imaging.loader import IMAGE_EXTENSIONS, image_size

PathLike = Union[str, Path]
_DIGITS = re.compile(r"(\d+)")
T = TypeVar("T")


def display_name(name: Union[str, Path]) -> str:
    """``name`` (a file name, path or message) as text any widget can show.

    A file name that is not UTF-8 reaches Python as a str with lone surrogates (``os.fsdecode``:
    ``'caf\\udce9.jpg'``); shown as is it is a box or a ``?``. Here the undecodable bytes are spelled out
    (``caf\\xe9.jpg``), so the user sees which file it is.
    """
    return printable(str(name))


class ChangedOnDiskError(AnylabelError):
    """The annotation file was changed by someone else since it was loaded or saved here."""


class FileVersions:
    """What each row's annotation file held when this session last read or wrote it.

    ``read`` and ``write`` wrap the folder's own load and save: ``write`` holds the file's lock, checks
    that the file is still what was read (else :class:`ChangedOnDiskError`, unless ``overwrite``), writes,
    and remembers the new version.
    """

    def __init__(self) -> None:
        self._seen: Dict[int, Optional[Fingerprint]] = {}

    def read(self, row: int, path: Path, read: Callable[[], T]) -> T:
        """``read()`` the file of ``row`` and remember its version (re-read if it changed meanwhile)."""
        for _ in range(5):
            before = Fingerprint.of(path)
            value = read()
            after = Fingerprint.of(path)
            if before == after:
                break
        self._seen[row] = after
        return value

    def changed(self, row: int, path: Path) -> bool:
        """True when the file of ``row`` is not what this session last read or wrote (never read: False)."""
        return row in self._seen and Fingerprint.of(path) != self._seen[row]

    def write(self, row: int, path: Path, write: Callable[[], None], overwrite: bool = False) -> None:
        with locked(path):
            if not overwrite and self.changed(row, path):
                raise ChangedOnDiskError("it was changed on disk by another program since it was opened here",
                                         path)
            write()
            self._seen[row] = Fingerprint.of(path)


def natural_key(name: str) -> Tuple:
    """Sort key for "file names as people read them": img2 < img10, case-insensitive, ties by the name.

    ``re.split`` with a capturing group alternates text and digit runs, so text is always compared with
    text and numbers with numbers (natsort does the same, ~10x slower on 10,000 names).
    """
    parts = _DIGITS.split(name.lower())
    parts[1::2] = [int(d) for d in parts[1::2]]
    return (tuple(parts), name)


def _listing(folder: Path) -> Tuple[List[str], Set[str]]:
    """(image file names, stems of .json files) of ``folder``, from one directory read."""
    images: List[str] = []
    jsons: Set[str] = set()
    try:
        with os.scandir(folder) as it:
            for entry in it:
                name = entry.name
                dot = name.rfind(".")
                if dot <= 0:
                    continue
                ext = name[dot:].lower()
                if ext == ".json":
                    jsons.add(name[:dot])
                elif ext in IMAGE_EXTENSIONS and entry.is_file():  # d_type: no stat on Linux / Windows
                    images.append(name)
    except OSError as e:
        raise AnylabelError(f"cannot list the folder: {e.strerror or e}", folder) from e
    return images, jsons


class ImageFolder:
    """The images of one folder, in natural order, and their annotation files.

    Args:
        folder: the folder of the images.
        output_dir: where LabelMe files are written; ``None`` = next to the images.
        names: the image file names to use instead of scanning (already in the wanted order).
    """

    def __init__(self, folder: PathLike, output_dir: Optional[PathLike] = None,
                 names: Optional[List[str]] = None) -> None:
        self.folder = Path(folder)
        self.output_dir = Path(output_dir) if output_dir else None
        found, jsons = _listing(self.folder)
        self.names: List[str] = list(names) if names is not None else sorted(found, key=natural_key)
        if self.output_dir is not None:
            jsons = _listing(self.output_dir)[1] if self.output_dir.is_dir() else set()
        self._annotated: Set[str] = jsons
        self._index: Dict[str, int] = {}
        self.versions = FileVersions()

    @classmethod
    def for_path(cls, path: PathLike, output_dir: Optional[PathLike] = None) -> Tuple["ImageFolder", int]:
        """The folder to show for ``path`` (an image, a folder or a LabelMe JSON) and the row to open.

        A LabelMe JSON that is not next to its image makes its own folder the output folder, so saving
        writes back to the file that was opened.
        """
        path = Path(path).expanduser()
        if path.is_dir():
            return cls(path, output_dir), 0
        if not path.exists():
            raise AnylabelError("no such file or folder", path)
        if path.suffix.lower() == ".json":
            ann = load_labelme(path)
            image = (path.parent / ann.image_path).resolve()
            if not image.is_file():
                raise FormatError(f"the image it names ({ann.image_path}) does not exist at {image}", path)
            if output_dir is None and image.parent != path.parent.resolve():
                output_dir = path.parent
            path = image
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            raise AnylabelError(f"not an image, folder or LabelMe JSON (supported images: "
                                f"{', '.join(IMAGE_EXTENSIONS)})", path)
        folder = cls(path.parent, output_dir)
        row = folder.index_of(path.name)
        if row is None:  # e.g. an upper-case name filtered out by the listing: show it alone
            folder = cls(path.parent, output_dir, names=[path.name])
            row = 0
        return folder, row

    def __len__(self) -> int:
        return len(self.names)

    def index_of(self, name: str) -> Optional[int]:
        if not self._index:
            self._index = {n: i for i, n in enumerate(self.names)}
        return self._index.get(name)

    def image_path(self, row: int) -> Path:
        return self.folder / self.names[row]

    def annotation_path(self, row: int) -> Path:
        """The LabelMe file of image ``row``: ``<stem>.json`` next to it or in the output folder."""
        stem = Path(self.names[row]).stem
        return (self.output_dir or self.folder) / f"{stem}.json"

    def is_annotated(self, row: int) -> bool:
        return Path(self.names[row]).stem in self._annotated

    def set_annotated(self, row: int, annotated: bool = True) -> None:
        stem = Path(self.names[row]).stem
        if annotated:
            self._annotated.add(stem)
        else:
            self._annotated.discard(stem)

    def load(self, row: int) -> Tuple[ImageAnnotation, bool]:
        """The annotation of image ``row`` and whether it came from a file.

        A new annotation is made (with the image's size from its header) when there is no file.
        Raises FormatError for a file that exists but cannot be read: the user must know, and the
        broken file must not be overwritten by an empty annotation.
        """
        json_path = self.annotation_path(row)
        image = self.image_path(row)
        ann = self.versions.read(row, json_path, lambda: load_labelme(json_path) if json_path.exists() else None)
        if ann is not None:
            self.set_annotated(row, True)
            return ann, True
        h, w = image_size(image)
        rel = relative_image_path(image, json_path.parent)
        return ImageAnnotation(image_path=rel, image_height=h, image_width=w), False

    def save(self, row: int, ann: ImageAnnotation, overwrite: bool = False) -> Path:
        """Write ``ann`` as the LabelMe file of image ``row`` (atomically, under its lock) and return its path.

        Raises:
            ChangedOnDiskError: the file changed since it was loaded or saved here (not with ``overwrite``).
            AnylabelError: naming the file, when it cannot be written.
        """
        json_path = self.annotation_path(row)
        ann.image_path = relative_image_path(self.image_path(row), json_path.parent)
        self.versions.write(row, json_path, lambda: save_labelme(ann, json_path), overwrite)
        self.set_annotated(row, True)
        return json_path

    def save_copy(self, row: int, ann: ImageAnnotation, path: PathLike) -> Path:
        """Write ``ann`` to another file ``path`` (Save as), its ``imagePath`` relative to there. The row's
        own file and what is known about it are left alone."""
        path = Path(path)
        copy = ann.copy()
        copy.image_path = relative_image_path(self.image_path(row), path.parent)
        save_labelme(copy, path)
        return path


def relative_image_path(image: Path, folder: Path) -> str:
    """``image`` relative to ``folder`` with ``/`` separators (labelme's imagePath)."""
    try:
        rel = os.path.relpath(image.resolve(), folder.resolve())
    except ValueError:  # another drive on Windows
        rel = str(image.resolve())
    return rel.replace(os.sep, "/")
