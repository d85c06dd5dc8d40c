"""Writing files inside a transaction's staging folder: plain new files, flushed once at the commit.

An export or import writes into a staging folder that nobody else sees and that replaces ``OUT`` as a
whole at the end (:mod:`anylabel.formats.output`). The protections of a single saved file
(:func:`anylabel.fileio.atomic_write_bytes`: a temporary file renamed over the old one, a lock, an
``fsync`` per file) buy nothing there, and on a busy disk they cost most of an export's time:

* no temporary file + rename: a half-written file is never seen, a failure removes the whole folder;
* no per-file lock: the folder lock of ``OUT`` already makes its writer the only one;
* no ``fsync`` per file: :func:`flush_folder` makes the whole folder durable with one ``syncfs`` before the
  swap (one ``fsync`` per file where ``syncfs`` does not exist), which is what must be on disk before the
  old export is deleted.

Files are created with ``O_EXCL``: a second file given the same name (a bug) fails loudly instead of
replacing the first. Errors are :class:`~anylabel.errors.AnylabelError` naming the file.
"""
from __future__ import annotations

import ctypes
import os
import shutil
from pathlib import Path
from typing import Iterable, Union

from anylabel.errors import AnylabelError

PathLike = Union[str, Path]
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


def _create(path: Path):
    try:
        fd = os.open(path, _FLAGS, 0o666)  # the umask applies, as for any new file
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, _FLAGS, 0o666)
    return os.fdopen(fd, "wb")


def write_new_bytes(path: PathLike, data: bytes) -> None:
    """Create ``path`` (its folder too) holding ``data``; never replaces an existing file."""
    path = Path(path)
    try:
        with _create(path) as f:
            f.write(data)
    except OSError as e:
        raise AnylabelError(f"cannot write: {e.strerror or e}", path) from e


def write_new_text(path: PathLike, text: str, encoding: str = "utf-8") -> None:
    """:func:`write_new_bytes` of ``text`` encoded."""
    write_new_bytes(path, text.encode(encoding))


def copy_new(src: PathLike, dest: PathLike) -> None:
    """Copy the file ``src`` to the new file ``dest`` (contents, permissions and times, as ``copy2``).

    Raises OSError (the caller names the file it was placing)."""
    dest = Path(dest)
    with open(src, "rb") as s, _create(dest) as f:
        shutil.copyfileobj(s, f, 1 << 20)
    shutil.copystat(src, dest)


def _syncfs(folder: Path) -> bool:
    """One ``syncfs(2)`` of the file system holding ``folder``; False where it does not exist."""
    try:
        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return False
    fd = os.open(folder, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(folder))
    finally:
        os.close(fd)
    return True



def _fsync(path: PathLike) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def flush_folder(folder: PathLike, files: Iterable[PathLike]) -> None:
    """Make every file of ``folder`` durable before it is swapped in: one ``syncfs`` on Linux, else an
    ``fsync`` of each of ``files`` and of ``folder``.

    Raises:
        AnylabelError: the disk refused (an I/O error, a full disk discovered at write-back).
    """
    folder = Path(folder)
    try:
        if _syncfs(folder):
            return
        for p in files:
            _fsync(p)
    except OSError as e:
        raise AnylabelError(f"cannot write the export to disk: {e.strerror or e}", folder) from e
    try:
        _fsync(folder)
    except PermissionError:
        return  # a folder cannot be opened (Windows): its entries were written with the files
    except OSError as e:
        raise AnylabelError(f"cannot write the export to disk: {e.strerror or e}", folder) from e
