"""Checksums of model files, and a small record of files already verified.

Hashing a 2.5 GB checkpoint takes seconds, so a file is hashed once: the result is remembered in
``<cache root>/models/verified.json`` keyed by the file's absolute path and the expected checksum, with the
file's size, mtime, inode, device and ctime (ns). Any change of the file (or of the expected value) makes
the record stale and the file is hashed again. The record only ever says "this exact file matched"; a
mismatch is never cached.

Why ctime: size and mtime alone are forgeable (rewrite the bytes, then ``os.utime`` the old mtime back);
ctime is set by the kernel on every write, rename or ``utime`` and cannot be set from user space, and the
inode changes when the file is replaced by another one. What remains: someone who can set the system clock
(root) or write the disk below the file system can still keep all five equal; a file system with coarse or
no ctime (FAT) weakens the check to size + mtime. Files that are unpickled (FastSAM, ``yolo:``) do not
rely on the record at all: their bytes are read once, hashed and unpickled from memory
(:mod:`anylabel.models.ultralytics_loading`).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Callable, Dict, Optional, Tuple, Union

from anylabel.errors import AnylabelError, ModelError
from anylabel.fileio import atomic_write_json
from anylabel.models.spec import ModelSpec

PathLike = Union[str, Path]
CHUNK = 1 << 20  # 1 MiB: large enough for throughput, small enough for responsive progress/cancel


def expected_checksum(spec: ModelSpec) -> Optional[Tuple[str, str]]:
    """The ``(algorithm, hex)`` a file of ``spec`` must match: sha256 when known, else md5, else None."""
    if spec.sha256:
        return "sha256", spec.sha256
    if spec.md5:
        return "md5", spec.md5
    return None


def file_checksum(path: PathLike, algorithm: str = "sha256",
                  progress: Optional[Callable[[int, int], None]] = None) -> str:
    """Lower-case hex digest of a file, read in 1 MiB chunks.

    Args:
        path: the file.
        algorithm: any ``hashlib`` name ("sha256", "md5").
        progress: optional ``progress(done_bytes, total_bytes)`` called per chunk.

    Raises:
        ModelError: naming the file when it cannot be read.
    """
    path = Path(path)
    digest = hashlib.new(algorithm)
    try:
        total = path.stat().st_size
        done = 0
        with open(path, "rb") as f:
            while True:
                chunk = f.read(CHUNK)
                if not chunk:
                    break
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    except OSError as e:
        raise ModelError(f"cannot read model file: {e.strerror or e}", path) from e
    return digest.hexdigest()


class VerifiedRecord:
    """The ``verified.json`` sidecar: which (file, size, mtime, checksum) tuples already matched."""

    def __init__(self, record_file: Path) -> None:
        self.record_file = Path(record_file)

    @staticmethod
    def _key(path: Path) -> str:
        """The resolved path; a name that is not UTF-8 (bytes on Linux) as ``bytes:HEX``, so the record stays
        valid JSON and names exactly that file."""
        name = str(Path(path).resolve())
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            return "bytes:" + os.fsencode(name).hex()
        return name

    def _read(self) -> Dict[str, dict]:
        try:
            data = json.loads(self.record_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            # A damaged record only costs a re-hash; it must never block loading a model.
            return {}
        return data if isinstance(data, dict) else {}

    @staticmethod
    def _identity(st) -> Dict[str, int]:
        """What must be unchanged for a remembered check to count (see the module docstring)."""
        return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns, "inode": st.st_ino,
                "device": st.st_dev}

    def is_verified(self, path: Path, algorithm: str, hexdigest: str) -> bool:
        """True when this exact file (same size, mtime, ctime, inode, device) already matched
        ``algorithm:hexdigest``. Records of older versions (size and mtime only) no longer count."""
        try:
            st = Path(path).stat()
        except OSError:
            return False
        entry = self._read().get(self._key(path))
        return (
            isinstance(entry, dict)
            and all(entry.get(k) == v for k, v in self._identity(st).items())
            and entry.get(algorithm) == hexdigest
        )

    def remember(self, path: Path, algorithm: str, hexdigest: str) -> None:
        """Record that ``path`` (as it is now) matched; failure to write the record is not an error."""
        st = Path(path).stat()
        data = self._read()
        data[self._key(path)] = {**self._identity(st), algorithm: hexdigest}
        try:
            atomic_write_json(self.record_file, data)
        except AnylabelError:
            # Read-only cache folder: the record is only an optimisation, the file is hashed again next time.
            return

    def forget(self, path: Path) -> None:
        """Drop the record of ``path`` (e.g. after the file was replaced)."""
        data = self._read()
        if data.pop(self._key(path), None) is not None:
            try:
                atomic_write_json(self.record_file, data)
            except AnylabelError:  # see remember()
                return


def verify_checksum(path: PathLike, spec: ModelSpec, record: Optional[VerifiedRecord] = None,
                    progress: Optional[Callable[[int, int], None]] = None) -> Optional[str]:
    """Check ``path`` against the checksum of ``spec``.

    Args:
        path: the model file.
        spec: its registry entry (``sha256`` is used when present, otherwise ``md5``).
        record: optional verification record; a file already verified (same size + mtime) is not re-hashed,
            and a successful check is remembered.
        progress: optional ``progress(done_bytes, total_bytes)`` while hashing.

    Returns:
        The algorithm used ("sha256" or "md5"), or None when ``spec`` has no checksum (nothing checked).

    Raises:
        ModelError: naming the file, when it cannot be read or its checksum does not match.
    """
    path = Path(path)
    expected = expected_checksum(spec)
    if expected is None:
        return None
    algorithm, hexdigest = expected
    if record is not None and record.is_verified(path, algorithm, hexdigest):
        return algorithm
    actual = file_checksum(path, algorithm, progress=progress)
    if actual != hexdigest:
        raise _mismatch(path, spec, algorithm, hexdigest, actual)
    if record is not None:
        record.remember(path, algorithm, hexdigest)
    return algorithm


def verify_bytes(data: bytes, path: PathLike, spec: ModelSpec) -> Optional[str]:
    """Check ``data`` (the bytes of ``path``, already read) against the checksum of ``spec``: what is then
    loaded is exactly what was checked, whatever happens to the file afterwards. No record is consulted.

    Returns:
        The algorithm used, or None when ``spec`` has no checksum.
    Raises:
        ModelError: naming ``path`` when the checksum does not match.
    """
    expected = expected_checksum(spec)
    if expected is None:
        return None
    algorithm, hexdigest = expected
    actual = hashlib.new(algorithm, data).hexdigest()
    if actual != hexdigest:
        raise _mismatch(Path(path), spec, algorithm, hexdigest, actual)
    return algorithm


def _mismatch(path: Path, spec: ModelSpec, algorithm: str, hexdigest: str, actual: str) -> ModelError:
    if spec.path is not None:
        hint = ("If it is your own model (e.g. fine-tuned), give its sha256 in the models file "
                f"{spec.source or ''} or declare the entry in full (with family:) so that the official "
                "checksum no longer applies")
    else:
        hint = f"Delete it and fetch it again (anylabel models fetch {spec.name})"
    return ModelError(
        f"checksum mismatch for model {spec.name!r}: expected {algorithm} {hexdigest}, got {actual}. "
        f"The file is corrupt, truncated or a different model. {hint}",
        path,
    )


def is_cancelled(cancel: object) -> bool:
    """True when ``cancel`` (None, a ``threading.Event``-like object or a callable) asks to stop."""
    if cancel is None:
        return False
    is_set = getattr(cancel, "is_set", None)
    if callable(is_set):
        return bool(is_set())
    if callable(cancel):
        return bool(cancel())
    raise TypeError(f"cancel must be a callable or an Event, got {type(cancel).__name__}")

