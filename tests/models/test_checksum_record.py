"""The remembered verification (verified.json) does not trust a file whose bytes changed behind a kept size
and mtime: ctime, inode and device are part of the record."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from anylabel.errors import ModelError
from anylabel.models import ModelSpec
from anylabel.models.checksum import VerifiedRecord, verify_bytes, verify_checksum


def _spec(path: Path, data: bytes) -> ModelSpec:
    return ModelSpec(name="m", family="sam", path=path, sha256=hashlib.sha256(data).hexdigest())


def test_same_size_and_mtime_with_new_bytes_is_checked_again(tmp_path: Path) -> None:
    path = tmp_path / "model.pth"
    good = b"weights" * 1000
    path.write_bytes(good)
    spec = _spec(path, good)
    record = VerifiedRecord(tmp_path / "verified.json")
    assert verify_checksum(path, spec, record) == "sha256"
    assert record.is_verified(path, "sha256", spec.sha256)
    st = path.stat()
    with open(path, "r+b") as f:  # the same size, in place (same inode) ...
        f.write(b"X")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # ... and the old mtime put back
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    assert not record.is_verified(path, "sha256", spec.sha256)
    with pytest.raises(ModelError, match="checksum mismatch"):
        verify_checksum(path, spec, record)


def test_a_replaced_file_is_checked_again(tmp_path: Path) -> None:
    path = tmp_path / "model.pth"
    good = b"weights" * 1000
    path.write_bytes(good)
    spec = _spec(path, good)
    record = VerifiedRecord(tmp_path / "verified.json")
    verify_checksum(path, spec, record)
    st = path.stat()
    other = tmp_path / "other.pth"
    other.write_bytes(b"W" + good[1:])
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(other, path)  # a new inode with the old size and mtime
    assert not record.is_verified(path, "sha256", spec.sha256)


def test_verify_bytes_checks_what_was_read(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    spec = _spec(path, b"abc")
    assert verify_bytes(b"abc", path, spec) == "sha256"
    with pytest.raises(ModelError, match=r"model\.pt: checksum mismatch"):
        verify_bytes(b"abd", path, spec)


@pytest.mark.skipif(os.name != "posix", reason="bytes file names are POSIX")
def test_a_model_file_name_that_is_not_utf8_is_verified_and_remembered(tmp_path: Path) -> None:
    path = Path(os.fsdecode(os.fsencode(str(tmp_path)) + b"/mod\xe8le.pth"))
    path.write_bytes(b"weights")
    spec = _spec(path, b"weights")
    record = VerifiedRecord(tmp_path / "verified.json")
    assert verify_checksum(path, spec, record) == "sha256"
    assert record.is_verified(path, "sha256", spec.sha256)
    (tmp_path / "verified.json").read_bytes().decode("utf-8")  # a valid UTF-8 record
