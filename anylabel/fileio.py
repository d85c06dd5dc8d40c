"""Atomic file writes: nothing already saved is ever replaced by a half-written file.

The data goes to a temporary file in the destination's folder (same file system, so the final
``os.replace`` is atomic), is flushed and fsynced, and only then renamed over the destination. On any
error the temporary file is removed and the old file is left exactly as it was.

A process killed between the two steps leaves its temporary file behind. Our temporaries have
recognisable names, ``.NAME.~anylabel-HOST-PID-RANDOM.tmp`` (:func:`make_temp`), so the next save into
that folder removes the stale ones (:func:`clean_stale_temps`): those of a dead process of this host, or
untouched for a minute. Nothing else is ever removed.

File names that are not valid UTF-8 (``caf\\xe9.jpg`` on Linux, which Python holds as the lone
surrogate ``\\udce9``) are written into JSON as ``\\udce9`` escapes, which :func:`read_json` turns back
into the same name: the round trip is lossless and never raises.
"""
from __future__ import annotations

import json
import os
import re
import socket
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

from anylabel.errors import AnylabelError

PathLike = Union[str, Path]

#: seconds after its last change when another process's temporary file counts as abandoned
STALE_AFTER = 60.0
_TEMP_RE = re.compile(r"^\..*\.~anylabel-([0-9a-f]{6})-(\d+)-[^.]+\.tmp$")
_cleaned: Dict[str, float] = {}  # folder -> when this process last cleaned it


def host_tag() -> str:
    """6 hex digits naming this machine in temporary and lock file names (a pid means little elsewhere)."""
    return f"{zlib.crc32(socket.gethostname().encode('utf-8', 'surrogateescape')) & 0xFFFFFF:06x}"


def pid_alive(pid: int) -> bool:
    """True when process ``pid`` exists on this machine (or cannot be checked)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, owned by someone else
        return True
    return True


def make_temp(folder: Path, name: str, kind: str = "") -> Tuple[int, str]:
    """A new temporary file in ``folder`` for the future file ``name``: ``(fd, path)``, named so that
    :func:`clean_stale_temps` recognises it (``kind`` is an optional tag such as ``link``)."""
    short = name[:80]  # the whole name must stay under the file system's 255 bytes
    prefix = f".{short}.~anylabel-{host_tag()}-{os.getpid()}-{kind}"
    return tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)


def is_stale_temp(path: Path, now: float = 0.0) -> bool:
    """True for a temporary file of ours that nobody is writing any more."""
    m = _TEMP_RE.match(path.name)
    if m is None:
        return False
    host, pid = m.group(1), int(m.group(2))
    if host == host_tag() and pid == os.getpid():
        return False  # ours, in flight in another thread
    if host == host_tag() and not pid_alive(pid):
        return True
    try:
        age = (now or time.time()) - path.lstat().st_mtime
    except OSError:
        return False
    return age > STALE_AFTER


def clean_stale_temps(folder: PathLike, every: float = STALE_AFTER) -> int:
    """Remove abandoned temporary files of ours in ``folder`` (not recursive); returns how many.

    A folder is scanned at most once per ``every`` seconds by one process, so saving often costs nothing.
    """
    key = os.path.abspath(folder)
    now = time.time()
    if now - _cleaned.get(key, -1e18) < every:
        return 0
    _cleaned[key] = now
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if entry.name.endswith(".tmp") and ".~anylabel-" in entry.name and is_stale_temp(Path(entry.path), now):
            try:
                os.unlink(entry.path)
                removed += 1
            except OSError:
                pass  # gone already, or not ours to remove
    return removed


_SURROGATE = re.compile("[\ud800-\udfff]")


def json_text(data: Any, indent: Optional[int] = 2) -> str:
    """``data`` as JSON text (non-ASCII kept readable, as labelme writes it), with the lone surrogates of
    undecodable file names written as ``\\udcXX`` escapes so that the text is always valid UTF-8 (in a JSON
    document they only occur inside strings). Raises TypeError / ValueError for what JSON cannot hold."""
    text = json.dumps(data, indent=indent, ensure_ascii=False)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically; raises :class:`AnylabelError` naming the file on failure."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        clean_stale_temps(folder)
        fd, tmp = make_temp(folder, path.name)
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
    fsync_dir(folder)


def atomic_write_text(path: PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path: PathLike, obj: Any, indent: int = 2) -> None:
    """Serialise ``obj`` first (so a serialisation error never touches the file), then write atomically."""
    try:
        text = json_text(obj, indent=indent)
    except (TypeError, ValueError) as e:
        raise AnylabelError(f"cannot serialise to JSON: {e}", path) from e
    atomic_write_text(path, text)


def fsync_dir(folder: Path) -> None:
    """fsync a folder (its entries: a rename in it), where the OS allows it."""
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
