"""Advisory locks between processes (and threads) that write the same file or folder. Qt-free.

Two programs saving one LabelMe file used to interleave their read-modify-write cycles and lose updates
silently. Every writer of anylabel takes the lock of the path it writes, so writes serialise::

    from anylabel.filelock import locked

    with locked(json_path):                 # waits for another writer (up to ``timeout`` seconds)
        ann = load_labelme(json_path)       # read ...
        ann.shapes.append(shape)            # ... modify ...
        save_labelme(ann, json_path)        # ... write (save_labelme takes the same lock: re-entrant)

API:

* :func:`locked(path, timeout=30.0, lock_path=None) <locked>`: a context manager holding the lock of
  ``path`` (a file or a folder; it need not exist yet). Re-entrant in one thread: a nested ``locked`` of
  the same path (e.g. ``save_labelme`` inside the block above) does not wait for itself.
* :func:`lock_path_for(path)`: the lock file used for ``path``: ``.<name>.lock`` beside it.
* :class:`LockTimeout` (an :class:`~anylabel.errors.AnylabelError` naming ``path``): another writer held the
  lock for longer than ``timeout`` (``None`` = wait forever, ``0`` = do not wait).
* :class:`Fingerprint` (``Fingerprint.of(path)``: size, mtime_ns, content hash, or ``None`` for no file):
  to notice a writer that does not take our locks (compare what was read with what is there now).

How: the lock is a separate small file, because atomic writes replace the file itself (a lock on the
replaced inode would protect nothing). POSIX uses ``fcntl.flock`` (a lock on an open file description,
so threads of one process exclude each other as processes do); Windows uses ``msvcrt.locking`` on the
lock file's first byte. The holder writes ``{"pid", "host", "since", "command"}`` into the lock file, so a
writer that gives up names it ("process 1234 (anylabel export) is writing it"); the kernel drops the lock
when its process dies, however it dies, so a killed writer never leaves a stale lock (the file's content
is only a message). The lock file is removed when the lock is released, so folders are not littered
with ``.lock`` files; a waiter that then finds it held a lock on a removed file simply tries again. The
locks are advisory: programs that do not take them (labelme, an editor) are noticed by the GUI's
changed-on-disk check instead. Network file systems without ``flock`` support get no protection.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple, Union

from anylabel.errors import AnylabelError

PathLike = Union[str, Path]

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

    _REMOVE_ON_RELEASE = False  # an open file cannot be removed on Windows: the lock file stays
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

    _REMOVE_ON_RELEASE = True


class LockTimeout(AnylabelError):
    """Another writer held the lock of a file for longer than we were willing to wait."""


#: lock file -> (owning thread id, nesting depth, fd): makes ``locked`` re-entrant in one thread
_held: Dict[str, Tuple[int, int, int]] = {}
_held_guard = threading.Lock()


def lock_path_for(path: PathLike) -> Path:
    """The lock file of ``path``: ``.<name>.lock`` in the same folder."""
    path = Path(os.path.abspath(path))
    return path.parent / f".{path.name}.lock"


def _acquire(lock: Path, path: Path, timeout: Optional[float]) -> int:
    deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
    delay = 0.002
    while True:
        try:
            try:
                fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
            except FileNotFoundError:  # a new output folder: the write that follows would create it too
                lock.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as e:
            raise AnylabelError(f"cannot create the lock file {lock}: {e.strerror or e}", path) from e
        if _try_lock(fd):
            if not _REMOVE_ON_RELEASE or _same_file(fd, lock):
                _write_owner(fd)
                return fd
            os.close(fd)  # we locked a lock file its holder had just removed: take the new one
            continue
        os.close(fd)
        if deadline is not None and time.monotonic() >= deadline:
            raise LockTimeout(f"{lock_owner(lock)} is writing it (waited {timeout:g} s for {lock.name}); "
                              "try again when it has finished", path)
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _write_owner(fd: int) -> None:
    """Who holds the lock, for the message a waiting writer shows (best effort: the lock works without)."""
    info = {"pid": os.getpid(), "host": socket.gethostname(), "since": round(time.time(), 3),
            "command": " ".join(os.path.basename(a) for a in sys.argv[:2]) or "python"}
    try:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(info).encode("utf-8"))
    except OSError:
        pass  # e.g. Windows: the locked byte cannot be written; the message then says "another program"


def lock_owner(lock: Path) -> str:
    """"process 1234 (anylabel segment)" for the holder of the lock file ``lock``, or "another program"."""
    try:
        info = json.loads(lock.read_text(encoding="utf-8"))
        return f"process {int(info['pid'])} ({info.get('command') or 'python'})"
    except (OSError, ValueError, TypeError, KeyError):
        return "another program"


def _same_file(fd: int, lock: Path) -> bool:
    try:
        on_disk = os.stat(lock)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def _release(lock: Path, fd: int) -> None:
    try:
        if _REMOVE_ON_RELEASE:
            try:
                os.unlink(lock)  # while still holding it: a waiter on this inode re-checks and retries
            except FileNotFoundError:
                pass
        _unlock(fd)
    finally:
        os.close(fd)


@contextmanager
def locked(path: PathLike, timeout: Optional[float] = 30.0, lock_path: Optional[PathLike] = None,
           reentrant: bool = True) -> Iterator[Path]:
    """Hold the exclusive advisory lock of ``path`` for the ``with`` block (see the module docstring).

    Args:
        path: the file or folder being written (need not exist; the folder of the lock file is created).
        timeout: seconds to wait for another holder; ``None`` waits forever, ``0`` fails at once.
        lock_path: the lock file to use instead of :func:`lock_path_for(path) <lock_path_for>` (e.g. for a
            folder whose parent is not writable).
        reentrant: a nested ``locked`` of the same path in the same thread does not wait for itself (a save
            inside a read-modify-write); ``False`` makes it wait like any other writer (two exports into one
            folder must never run together, even nested).

    Yields:
        the lock file's path.

    Raises:
        LockTimeout: naming ``path``, when the lock stayed held for ``timeout`` seconds.
        AnylabelError: naming ``path``, when the lock file cannot be created (e.g. a read-only folder).
    """
    path = Path(path)
    lock = Path(lock_path) if lock_path is not None else lock_path_for(path)
    key = os.path.abspath(lock)
    me = threading.get_ident()
    with _held_guard:
        held = _held.get(key)
        if reentrant and held is not None and held[0] == me:
            _held[key] = (me, held[1] + 1, held[2])
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield lock
        finally:
            with _held_guard:
                owner, depth, fd = _held[key]
                _held[key] = (owner, depth - 1, fd)
        return
    fd = _acquire(lock, path, timeout)
    with _held_guard:
        _held[key] = (me, 1, fd)
    try:
        yield lock
    finally:
        with _held_guard:
            del _held[key]
        _release(lock, fd)


@dataclass(frozen=True)
class Fingerprint:
    """What a file held at one moment: size, modification time (ns) and a hash of its bytes.

    Compared to notice that another program changed a file since we read it: the hash catches a rewrite
    with the same size inside the file system's mtime resolution; size and mtime make the usual case cheap
    to explain in a message.
    """

    size: int
    mtime_ns: int
    digest: str

    @classmethod
    def of(cls, path: PathLike) -> Optional["Fingerprint"]:
        """The fingerprint of ``path`` now; ``None`` when there is no such file.

        Raises:
            AnylabelError: naming the file, when it exists but cannot be read.
        """
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                digest = hashlib.blake2b(f.read(), digest_size=16).hexdigest()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise AnylabelError(f"cannot read: {e.strerror or e}", Path(path)) from e
        return cls(st.st_size, st.st_mtime_ns, digest)
