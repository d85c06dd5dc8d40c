"""One writer per output folder: a lock file beside the folder, naming its owner.

``PARENT/.NAME.anylabel-lock`` (beside ``PARENT/NAME``, because the folder itself is swapped whole at the
end of an export) holds ``{"pid", "host", "since", "command"}`` of the process that owns it, so a second
export into the same folder stops with a message naming the folder and the other process (or waits for
it, up to a timeout) instead of mixing its files into the first one's.

Where ``fcntl`` exists (Linux, macOS) the file is also ``flock``-ed: the kernel releases that lock when
its process dies, however it dies, so a lock left by a killed export is taken over at once. Elsewhere
the file is created exclusively and a lock whose pid is dead on this host is taken over.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Optional

from anylabel.errors import AnylabelError
from anylabel.fileio import host_tag, pid_alive

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]


class FolderBusyError(AnylabelError):
    """Another process is writing the same output folder."""


def lock_path(folder: Path) -> Path:
    """Where the lock of ``folder`` lives (beside it)."""
    return folder.parent / f".{folder.name}.anylabel-lock"


def _owner_text(info: dict) -> str:
    if not info:
        return "another process"
    host = "" if info.get("tag") == host_tag() else f" on {info.get('host', '?')}"
    since = info.get("since")
    when = time.strftime(" since %H:%M:%S", time.localtime(since)) if isinstance(since, (int, float)) else ""
    return f"process {info.get('pid', '?')}{host}{when} ({info.get('command', 'anylabel')})"


def _read_info(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class FolderLock:
    """``with FolderLock(folder, wait=0):`` owns ``folder`` for writing.

    Args:
        folder: the output folder (it need not exist; its parent is created).
        wait: seconds to wait for another owner to finish; 0 fails at once.

    Raises:
        FolderBusyError: another live process owns the folder (after ``wait`` seconds).
        AnylabelError: the lock file cannot be created (the parent folder is not writable).
    """

    def __init__(self, folder: Path, wait: float = 0.0) -> None:
        self.folder = Path(folder)
        self.path = lock_path(self.folder)
        self.wait = max(0.0, float(wait))
        self._fd: Optional[int] = None
        self.took_over: dict = {}  # the dead owner of a stale lock we took over, if any

    def __enter__(self) -> "FolderLock":
        deadline = time.monotonic() + self.wait
        while True:
            if self._try_acquire():
                return self
            if time.monotonic() >= deadline:
                raise FolderBusyError(f"is being written by {_owner_text(self._owner())}; wait for it to finish "
                                      f"(or use --wait SECONDS); the lock is {self.path.name} beside the folder",
                                      self.folder)
            time.sleep(min(0.2, max(0.01, deadline - time.monotonic())))

    def __exit__(self, *exc) -> None:
        self.release()

    def _owner(self) -> dict:
        # the owner writes its name just after taking the lock: give it a moment before saying "another"
        for _ in range(10):
            info = _read_info(self.path)
            if info:
                return info
            time.sleep(0.02)
        return {}

    def _info(self) -> bytes:
        return json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "tag": host_tag(),
                           "since": time.time(), "command": " ".join(sys.argv[:2])[:200] or "anylabel"},
                          ensure_ascii=True).encode()

    def _try_acquire(self) -> bool:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise AnylabelError(f"cannot create the folder: {e.strerror or e}", self.path.parent) from e
        try:
            if fcntl is not None:
                return self._try_flock()
            return self._try_exclusive()
        except PermissionError as e:
            raise AnylabelError(f"cannot create the output folder's lock here: {e.strerror or e}",
                                self.path.parent) from e
        except OSError as e:
            raise AnylabelError(f"cannot lock the output folder: {e.strerror or e}", self.folder) from e

    def _try_flock(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        try:  # the file we locked must still be the one at the path (a releasing owner unlinks it)
            same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            return False
        previous = os.read(fd, 4096)
        if previous:  # its owner died without releasing it (the kernel dropped its flock)
            try:
                self.took_over = json.loads(previous.decode("utf-8", "replace"))
            except ValueError:
                self.took_over = {"pid": "?"}
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        os.write(fd, self._info())
        self._fd = fd
        return True

    def _try_exclusive(self) -> bool:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            info = _read_info(self.path)
            if info.get("tag") == host_tag() and isinstance(info.get("pid"), int) and not pid_alive(info["pid"]):
                self.took_over = info
                try:
                    os.unlink(self.path)
                except FileNotFoundError:
                    pass
            return False if not self.took_over else self._try_exclusive_once()
        os.write(fd, self._info())
        self._fd = fd
        return True

    def _try_exclusive_once(self) -> bool:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        os.write(fd, self._info())
        self._fd = fd
        return True

    def release(self) -> None:
        """Give the folder back (removes the lock file); safe to call twice."""
        if self._fd is None:
            return
        try:
            os.unlink(self.path)  # before unlocking: a waiter that locks the old inode sees it is gone
        except OSError:
            pass
        os.close(self._fd)  # closing releases the flock
        self._fd = None
