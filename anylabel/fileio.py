"""Atomic file writes: nothing already saved is ever replaced by a half-written file.

The data goes to a temporary file in the destination's folder (same file system, so the final
``os.replace`` is atomic), is flushed and fsynced, and only then renamed over the destination. On any
error the temporary file is removed and the old file is left exactly as it was.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Union

from anylabel.errors import AnylabelError

PathLike = Union[str, Path]


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically; raises :class:`AnylabelError` naming the file on failure."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise AnylabelError(f"cannot write: {e.strerror or e}", path) from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():  # keep the old file's permissions
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise AnylabelError(f"cannot write: {e.strerror or e}", path) from e
        raise
    _fsync_dir(folder)


def atomic_write_text(path: PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path: PathLike, obj: Any, indent: int = 2) -> None:
    """Serialise ``obj`` first (so a serialisation error never touches the file), then write atomically."""
    try:
        text = json.dumps(obj, indent=indent, ensure_ascii=False)
    except (TypeError, ValueError) as e:
        raise AnylabelError(f"cannot serialise to JSON: {e}", path) from e
    atomic_write_text(path, text + "\n")


def _fsync_dir(folder: Path) -> None:
    # The rename is durable only once the folder's entry is on disk; not possible on every OS.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_json(path: PathLike) -> Any:
    """Parse the JSON file at ``path`` (UTF-8, a BOM allowed).

    Raises:
        FormatError: naming the file: unreadable, not UTF-8 (with the byte offset), not valid JSON (with line
            and column) or nested too deeply to parse.
    """
    from anylabel.errors import FormatError

    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise FormatError(f"cannot read: {e.strerror or e}", path) from e
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise FormatError(f"not UTF-8 text ({e.reason} at byte {e.start})", path) from e
    except json.JSONDecodeError as e:
        raise FormatError(f"not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}", path) from e
    except RecursionError as e:
        raise FormatError("not valid JSON: nested too deeply", path) from e
