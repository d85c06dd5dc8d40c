"""Resumable, atomic, verified downloads of model files (urllib only).

The bytes go to ``<dest>.part``. An interrupted transfer (dropped connection, cancel, crash) leaves the
``.part`` behind, and the next attempt asks the server for the rest with an HTTP ``Range`` request. Only
when the whole file is there and its checksum matches is ``.part`` renamed to ``dest`` (atomic on one file
system), so ``dest`` is either absent or complete and verified. A checksum mismatch deletes ``.part``:
nothing unverified stays in the cache.

The checksum is computed while the bytes arrive (after re-reading an existing ``.part`` once), so a
2.5 GB checkpoint is not read a second time after the download. A lock file next to ``.part`` keeps two
downloads of the same file (two threads, or the GUI and the CLI) from appending to the same ``.part``.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import socket
import urllib.error
import urllib.request
from http.client import HTTPException
from pathlib import Path
from typing import Callable, Iterator, Optional, Tuple

from anylabel import __version__
from anylabel.errors import CancelledError, DownloadError
from anylabel.models.checksum import CHUNK, is_cancelled

ProgressFn = Callable[[int, int], None]
USER_AGENT = f"anylabel/{__version__} (+model download)"
# Transport failures worth resuming from the .part; an HTTPError (404, 403) is not among them.
_TRANSIENT = (urllib.error.URLError, HTTPException, socket.timeout, ConnectionError, OSError)


def part_path(dest: Path) -> Path:
    """Where the partial download of ``dest`` is kept."""
    dest = Path(dest)
    return dest.with_name(dest.name + ".part")


def _offline_message(url: str, dest: Path, reason: str, expected: Tuple[str, str]) -> str:
    return (
        f"could not download {url}: {reason}. If this machine is offline, fetch the file elsewhere "
        f"(browser, curl -L -o) and put it at {dest} ; it is checked against its {expected[0]} "
        f"({expected[1]}) before first use"
    )


def download(url: str, dest: Path, expected: Tuple[str, str], size: Optional[int] = None,
             progress: Optional[ProgressFn] = None, cancel: object = None, retries: int = 3,
             timeout: float = 30.0) -> Path:
    """Download ``url`` to ``dest``, resuming ``dest.part``; return ``dest`` once its checksum matched.

    Args:
        url: http(s) or file URL.
        dest: final path of the file; its folder is created.
        expected: ``(algorithm, hexdigest)`` the complete file must match ("sha256" or "md5").
        size: expected size in bytes, if known (progress when the server sends none, a disk-space check,
            and noticing a complete ``.part`` without a request).
        progress: ``progress(done_bytes, total_bytes)`` after every chunk; total is 0 when unknown.
        cancel: None, a ``threading.Event`` or a callable returning True to stop; checked per chunk.
        retries: how many times a dropped connection is resumed automatically before giving up.
        timeout: socket timeout in seconds per read.

    Raises:
        CancelledError: when ``cancel`` fired; ``.part`` is kept so the next call resumes.
        DownloadError: network/HTTP failure (names the URL and where to put the file by hand; ``.part``
            is kept), another download of the same file in progress, not enough disk space, or checksum
            mismatch (``.part`` deleted, nothing left in the cache).
    """
    dest = Path(dest)
    part = part_path(dest)
    algorithm, hexdigest = expected
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DownloadError(f"cannot create the model cache folder: {e.strerror or e}", dest.parent) from e
    with _exclusive(part.with_name(part.name + ".lock"), dest):
        if dest.is_file() and _hash_file(dest, algorithm, cancel) == hexdigest:
            return dest  # another process finished it while we waited for nothing
        actual = _download_to_part(url, dest, part, expected, size, progress, cancel, retries, timeout)
        if actual != hexdigest:
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"downloaded {url} but its {algorithm} is {actual}, expected {hexdigest}; the file was "
                "deleted. The server may have changed the file, or the download was corrupted or tampered with",
                dest,
            )
        os.replace(part, dest)
    return dest


def _download_to_part(url: str, dest: Path, part: Path, expected: Tuple[str, str], size: Optional[int],
                      progress: Optional[ProgressFn], cancel: object, retries: int, timeout: float) -> str:
    """Fetch (and re-fetch after drops) until ``part`` is complete; return its hex digest."""
    attempts = 0
    while True:
        try:
            digest = _fetch_into_part(url, part, expected[0], size, progress, cancel, timeout)
        except _TRANSIENT as e:
            transient = not isinstance(e, urllib.error.HTTPError) and part.is_file() and part.stat().st_size > 0
            if transient and attempts < retries:
                attempts += 1
                continue
            if isinstance(e, urllib.error.HTTPError):
                reason = f"HTTP {e.code} {e.reason}"
            else:
                reason = str(getattr(e, "reason", None) or e) or type(e).__name__
            if part.is_file() and part.stat().st_size > 0:
                reason += f" (partial file kept at {part}; run again to resume)"
            raise DownloadError(_offline_message(url, dest, reason, expected), dest) from e
        if digest is not None:
            return digest
        # The server ended the body early without an error: resume like after a drop.
        if attempts >= retries:
            done = part.stat().st_size if part.is_file() else 0
            reason = f"connection closed after {done} bytes (partial file kept at {part}; run again to resume)"
            raise DownloadError(_offline_message(url, dest, reason, expected), dest)
        attempts += 1


def _fetch_into_part(url: str, part: Path, algorithm: str, size: Optional[int],
                     progress: Optional[ProgressFn], cancel: object, timeout: float) -> Optional[str]:
    """One request appending to ``part``; the hex digest of the whole file when complete, else None."""
    start = part.stat().st_size if part.is_file() else 0
    if size is not None and start > size:
        part.unlink()  # longer than the real file: it cannot be a prefix of it
        start = 0
    if size is not None and start == size and start > 0:
        return _hash_file(part, algorithm, cancel)
    headers = {"User-Agent": USER_AGENT}
    if start > 0:
        headers["Range"] = f"bytes={start}-"
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and start > 0:
            # Range not satisfiable: the .part already holds the whole file (the hash decides).
            return _hash_file(part, algorithm, cancel)
        raise
    with resp:
        status = getattr(resp, "status", None)
        if start > 0 and status != 206:
            start = 0  # the server ignored Range (or file://): start over rather than append garbage
        total = _total_from_headers(resp, start) or (size or 0)
        if total:
            _check_space(part, total - start)
        digest = hashlib.new(algorithm)
        if start > 0:
            _hash_into(digest, part, cancel)  # the prefix already on disk, read once
        done = start
        if progress is not None:
            progress(done, total)
        with open(part, "ab" if start > 0 else "wb") as f:
            while True:
                if is_cancelled(cancel):
                    raise CancelledError(f"download of {url} cancelled; partial file kept for resume", part)
                chunk = resp.read(CHUNK)
                if not chunk:
                    break
                f.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
            f.flush()
            os.fsync(f.fileno())
    if total and done < total:
        return None
    # No length known: the server closing the stream is the only end marker.
    return digest.hexdigest()


def _total_from_headers(resp, start: int) -> int:
    """Full file size from Content-Range (206) or Content-Length (200); 0 when the server does not say."""
    m = re.match(r"bytes\s+\d+-\d+/(\d+)", resp.headers.get("Content-Range") or "")
    if m:
        return int(m.group(1))
    length = resp.headers.get("Content-Length")
    if length and length.isdigit():
        return int(length) + start
    return 0


def _check_space(part: Path, needed: int) -> None:
    """Fail early, naming both numbers, rather than filling the disk and failing late."""
    try:
        free = shutil.disk_usage(part.parent).free
    except OSError:
        return  # unknown: let the write report it
    if needed > free:
        raise DownloadError(
            f"not enough disk space for the download: {needed / 1e6:.0f} MB needed, {free / 1e6:.0f} MB free "
            f"in {part.parent} (set ANYLABEL_CACHE_DIR to a bigger disk)", part)


def _hash_into(digest, path: Path, cancel: object) -> None:
    with open(path, "rb") as f:
        while True:
            if is_cancelled(cancel):
                raise CancelledError("checksum of the download cancelled; partial file kept", path)
            chunk = f.read(CHUNK)
            if not chunk:
                return
            digest.update(chunk)


def _hash_file(path: Path, algorithm: str, cancel: object) -> str:
    digest = hashlib.new(algorithm)
    _hash_into(digest, path, cancel)
    return digest.hexdigest()


@contextlib.contextmanager
def _exclusive(lock_path: Path, dest: Path) -> Iterator[None]:
    """Hold an OS lock on ``lock_path`` (released by the OS if the process dies: no stale locks)."""
    for _ in range(5):
        handle = open(lock_path, "a+b")
        try:
            _lock(handle)
        except OSError as e:
            handle.close()
            raise DownloadError("another download of this file is in progress (another anylabel window "
                                "or command?); wait for it to finish", dest) from e
        # The previous holder unlinks the lock file after releasing it: make sure ours is still the one
        # on disk, otherwise two processes could each hold a lock on a different inode.
        try:
            same = os.stat(lock_path).st_ino == os.fstat(handle.fileno()).st_ino
        except OSError:
            same = False
        if same:
            break
        handle.close()
    else:
        raise DownloadError("could not lock the download (the lock file keeps changing)", dest)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            lock_path.unlink()  # before closing, so nobody can lock this inode after us
        handle.close()


def _lock(handle) -> None:
    if os.name == "nt":
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
