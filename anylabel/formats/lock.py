"""One writer per output folder: the lock of :mod:`anylabel.filelock`, with the folder's own messages.

The lock file is ``PARENT/.NAME.anylabel-lock``, beside ``PARENT/NAME`` (the folder itself is swapped whole
at the end of an export, so a lock inside it would go with it). It names its owner, so a second export into
the same folder stops with a message naming the folder and the other process (or waits for it, up to a
timeout) instead of mixing its files into the first one's. The kernel releases the lock when its process
dies, however it dies, so a lock left by a killed export is taken over at once.
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Optional

from anylabel.errors import AnylabelError
from anylabel.filelock import LockTimeout, lock_owner, locked


class FolderBusyError(AnylabelError):
    """Another process is writing the same output folder."""


def lock_path(folder: Path) -> Path:
    """Where the lock of ``folder`` lives (beside it)."""
    return folder.parent / f".{folder.name}.anylabel-lock"


class FolderLock:
    """``with FolderLock(folder, wait=0):`` owns ``folder`` for writing (not re-entrant: a second export
    into the same folder waits even in the same thread).

    Args:
        folder: the output folder (it need not exist; its parent is created).
        wait: seconds to wait for another owner to finish; 0 fails at once.

    Raises:
        FolderBusyError: another owner holds the folder (after ``wait`` seconds).
        AnylabelError: the lock file cannot be created (the parent folder is not writable).
    """

    def __init__(self, folder: Path, wait: float = 0.0) -> None:
        self.folder = Path(folder)
        self.path = lock_path(self.folder)
        self.wait = max(0.0, float(wait))
        self._held: Optional[AbstractContextManager] = None

    def __enter__(self) -> "FolderLock":
        held = locked(self.folder, timeout=self.wait, lock_path=self.path, reentrant=False)
        try:
            held.__enter__()
        except LockTimeout as e:
            raise FolderBusyError(f"is being written by {lock_owner(self.path)}; wait for it to finish (or use "
                                  f"--wait SECONDS); the lock is {self.path.name} beside the folder",
                                  self.folder) from e
        self._held = held
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def release(self) -> None:
        """Give the folder back (removes the lock file); safe to call twice."""
        held, self._held = self._held, None
        if held is not None:
            held.__exit__(None, None, None)
