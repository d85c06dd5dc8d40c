"""Writing an export or an import as one transaction: all of it or, on any failure, nothing.

:class:`OutputTransaction` is how every writer's output reaches its folder ``OUT``:

1. ``OUT`` must not contain an input folder nor lie inside one (:func:`check_separate`): an export there
   would read its own files, or replace the user's.
2. ``OUT`` is locked (:class:`~anylabel.formats.lock.FolderLock`); stale staging folders of earlier,
   killed runs beside it are removed (or an interrupted swap is undone).
3. ``OUT`` must be empty, or hold a previous export of ours (its manifest, :data:`MANIFEST`) and
   ``overwrite`` was asked for. Anything else is refused.
4. The writer writes into a new staging folder beside ``OUT`` (same parent, so the same file system).
5. :meth:`OutputTransaction.commit`: the manifest is written (every file with its size, mtime and, for
   small files, a hash); files of the old ``OUT`` that its manifest does not list, or that changed since
   it was written, are kept (hard-linked into the new folder) and reported; then the staging folder and
   ``OUT`` swap places (one atomic ``renameat2(RENAME_EXCHANGE)`` on Linux, two renames elsewhere) and
   the old export's own files are deleted.

A failure at any point before the swap (an exception, a full disk, Ctrl+C) removes the staging folder and
leaves ``OUT`` exactly as it was; after a kill, the next run cleans up.
"""
from __future__ import annotations

import ctypes
import datetime
import errno
import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Set

from anylabel import __version__
from anylabel.errors import AnylabelError
from anylabel.fileio import fsync_dir, json_text, read_json
from anylabel.formats.base import Options, Report
from anylabel.formats.lock import FolderLock
from anylabel.formats.staged import flush_folder, write_new_text

MANIFEST = ".anylabel-export"  # JSON, without the suffix: a glob of *.json in a LabelMe folder must not find it
#: files up to this size get a content hash in the manifest (labels, JSON); bigger ones size + mtime
HASH_LIMIT = 4 << 20


class OutputNotEmptyError(AnylabelError):
    """The output folder holds files and replacing them was not asked for (the CLI / GUI add their hint)."""


def _real(path: Path) -> Path:
    return Path(os.path.realpath(os.path.abspath(path)))


def check_separate(out: Path, inputs: Sequence[Path], what: str = "input folder", inside_ok: bool = False) -> None:
    """Refuse an output folder that is, contains or (unless ``inside_ok``) lies inside one of ``inputs``."""
    o = _real(out)
    for given in inputs:
        i = _real(given)
        if o == i:
            raise AnylabelError(f"the output folder is the {what}; choose another folder", out)
        if i.is_relative_to(o):
            raise AnylabelError(f"the output folder contains the {what} {given}: writing there would replace "
                                "its files; choose a folder outside it", out)
        if o.is_relative_to(i) and not inside_ok:
            raise AnylabelError(f"the output folder lies inside the {what} {given}: choose a folder outside it",
                                out)


def _digest(path: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _walk(root: Path):
    """(relative posix path, os.DirEntry-like stat) of every file and symlink, and the relative folders."""
    files, dirs = {}, []
    for folder, subdirs, names in os.walk(root):
        rel_folder = os.path.relpath(folder, root)
        for d in subdirs:
            p = os.path.join(folder, d)
            if os.path.islink(p):  # a symlink to a folder is a file entry; never descend into it
                names.append(d)
            else:
                dirs.append(Path(rel_folder, d).as_posix())
        subdirs[:] = [d for d in subdirs if not os.path.islink(os.path.join(folder, d))]
        for n in names:
            rel = Path(rel_folder, n).as_posix()
            files[rel.removeprefix("./")] = os.path.join(folder, n)
    return files, [d.removeprefix("./") for d in dirs]


def _record(path: str) -> dict:
    st = os.lstat(path)
    if os.path.islink(path):
        return {"link": os.readlink(path)}
    rec = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if st.st_nlink > 1:
        rec["linked"] = True  # a hard link to the user's image: removing it never removes the data
    elif st.st_size <= HASH_LIMIT:
        rec["blake2b"] = _digest(path)
    return rec


def _still_ours(path: str, rec: dict) -> bool:
    """True when the file at ``path`` is still what the manifest record says we wrote."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if "link" in rec:
        return os.path.islink(path)  # removing a symlink never removes data
    if os.path.islink(path):
        return False
    if rec.get("linked") and st.st_nlink > 1:
        return True  # another name still holds the data
    if st.st_size != rec.get("size"):
        return False
    if "blake2b" in rec:
        return _digest(path) == rec["blake2b"]
    return st.st_mtime_ns == rec.get("mtime_ns")


def _safe_rel(rel: object) -> bool:
    if not isinstance(rel, str) or not rel or rel.startswith("/") or "\\" in rel:
        return False
    return ".." not in rel.split("/")


@dataclass
class OldOutput:
    """What a previous export left in the output folder."""

    owned: Set[str] = field(default_factory=set)  # recorded in its manifest and unchanged: ours to delete
    changed: List[str] = field(default_factory=list)  # recorded, but changed since: kept
    foreign: List[str] = field(default_factory=list)  # not recorded: kept
    dirs: List[str] = field(default_factory=list)
    format: str = ""


def read_old_output(out: Path) -> Optional[OldOutput]:
    """The previous export in ``out`` (``None`` when ``out`` holds files but no readable manifest of ours)."""
    files, dirs = _walk(out)
    if not files and not dirs:
        return OldOutput()
    manifest = out / MANIFEST
    try:
        data = read_json(manifest) if manifest.is_file() else None
    except AnylabelError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        return None
    records = {rel: rec for rel, rec in data["files"].items() if _safe_rel(rel) and isinstance(rec, dict)}
    old = OldOutput(dirs=dirs, format=str(data.get("format", "")))
    for rel, path in sorted(files.items()):
        if rel == MANIFEST:
            old.owned.add(rel)
        elif rel not in records:
            old.foreign.append(rel)
        elif _still_ours(path, records[rel]):
            old.owned.add(rel)
        else:
            old.changed.append(rel)
    recorded_dirs = set(data["dirs"]) if isinstance(data.get("dirs"), list) else set()
    old.dirs = [d for d in dirs if d not in recorded_dirs]
    return old


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False when not available."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    res = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if res == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False  # the file system cannot exchange: fall back to two renames
    raise OSError(err, os.strerror(err), str(b))


class OutputTransaction:
    """``with OutputTransaction(out, fmt, options) as tx:`` write into ``tx.staging``, then ``tx.commit()``.

    Leaving the block without a commit (an error, a cancel, Ctrl+C) removes the staging folder; ``out`` is
    then exactly as before.
    """

    def __init__(self, out: Path, fmt: str, options: Options) -> None:
        out = Path(os.path.abspath(out))
        self.out = _real(out) if out.is_symlink() else out  # write where the link points, keep the link
        self.fmt = fmt
        self.options = options
        self.lock = FolderLock(self.out, wait=options.lock_wait)
        self.staging: Path = Path()
        self.old: Optional[OldOutput] = None
        self._committed = False

    # --- set-up ---------------------------------------------------------------------------------------
    def __enter__(self) -> "OutputTransaction":
        out = self.out
        if out.exists() and not out.is_dir():
            raise AnylabelError("the output exists and is not a folder", out)
        self.lock.__enter__()
        try:
            self._recover()
            self.old = self._check_old()
            try:
                self.staging = Path(tempfile.mkdtemp(prefix=f".{out.name[:80]}.anylabel-staging-", dir=out.parent))
                mode = out.stat().st_mode & 0o7777 if out.exists() else 0o777 & ~_umask()
                os.chmod(self.staging, mode | 0o700)
            except OSError as e:
                raise AnylabelError(f"cannot create the output folder here: {e.strerror or e}", out.parent) from e
        except BaseException:
            self.lock.release()
            raise
        return self

    def _check_old(self) -> Optional[OldOutput]:
        out = self.out
        if not out.exists():
            return None
        try:
            empty = not any(os.scandir(out))
        except OSError as e:
            raise AnylabelError(f"cannot read the output folder: {e.strerror or e}", out) from e
        if empty:
            return OldOutput()
        if not self.options.overwrite:
            raise OutputNotEmptyError("the output folder is not empty", out)
        old = read_old_output(out)
        if old is None:
            names = sorted(p.name for p in out.iterdir())
            raise AnylabelError(f"the output folder holds files that are not an anylabel export ({MANIFEST} "
                                f"is missing): {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}; "
                                "nothing is replaced: choose an empty folder", out)
        return old

    def _siblings(self, tag: str) -> List[Path]:
        prefix = f".{self.out.name[:80]}.anylabel-{tag}-"
        try:
            return [p for p in self.out.parent.iterdir() if p.name.startswith(prefix) and p.is_dir()]
        except OSError:
            return []

    def _recover(self) -> None:
        """Undo what a killed run left beside ``out`` (we hold the lock, so nobody else is writing).

        A staging folder holds either a new export that was never swapped in, or (after the swap) the old
        export, every file of which is ours or was already linked into ``out``: either way it can go. A
        backup (``old``) folder without ``out`` is the old export of an interrupted two-rename swap: it is
        put back.
        """
        for backup in self._siblings("old"):
            if not self.out.exists():
                os.rename(backup, self.out)
            else:
                shutil.rmtree(backup, ignore_errors=True)
        for staging in self._siblings("staging"):
            shutil.rmtree(staging, ignore_errors=True)

    # --- commit ---------------------------------------------------------------------------------------
    def commit(self, report: Report) -> None:
        """Swap the staging folder in as ``out`` (see the module docstring); adds ``kept`` warnings."""
        new_files, new_dirs = _walk(self.staging)
        old = self.old or OldOutput()
        kept = old.changed + old.foreign
        clash = [rel for rel in kept if rel in new_files]
        if clash:
            raise AnylabelError("the output folder holds files that the previous export did not write, or that "
                                f"were changed since, and this export would replace them: {', '.join(clash[:5])}"
                                f"{' ...' if len(clash) > 5 else ''}; move them away and export again", self.out)
        manifest = {"anylabel_export": 1, "format": self.fmt, "version": __version__,
                    "created": datetime.datetime.now().isoformat(timespec="seconds"),
                    "files": {rel: _record(path) for rel, path in sorted(new_files.items())},
                    "dirs": sorted(new_dirs)}
        write_new_text(self.staging / MANIFEST, json_text(manifest, indent=None))  # one line: C encoder
        for rel in old.dirs:
            (self.staging / rel).mkdir(parents=True, exist_ok=True)
        for rel in kept:
            _keep(self.out / rel, self.staging / rel)
            why = "changed after the previous export wrote it" if rel in old.changed else "not written by an export"
            report.warn(rel, None, "kept", f"{why}: kept in the output folder")
        # the writers' files went in without a per-file fsync (see .staged): one flush of the whole folder
        # before the swap, which deletes the old export, and one of the parent after it
        flush_folder(self.staging, [*new_files.values(), self.staging / MANIFEST])
        self._swap(old, kept)
        self._committed = True

    def _swap(self, old: OldOutput, kept: Sequence[str]) -> None:
        out, staging = self.out, self.staging
        try:
            if not out.exists():
                os.rename(staging, out)
                fsync_dir(out.parent)
                return
            if not _exchange(staging, out):
                backup = out.parent / staging.name.replace("anylabel-staging-", "anylabel-old-")
                os.rename(out, backup)
                try:
                    os.rename(staging, out)
                except BaseException:
                    os.rename(backup, out)
                    raise
                staging = backup
        except OSError as e:
            raise AnylabelError(f"cannot put the new export in place: {e.strerror or e}", out) from e
        fsync_dir(out.parent)
        # ``staging`` now holds the old export: its own files go, kept files are already in ``out``
        for rel in sorted(old.owned) + list(kept):
            try:
                os.unlink(staging / rel)
            except OSError:
                pass
        for folder, _, _ in sorted(os.walk(staging), key=lambda t: -len(t[0])):
            try:
                os.rmdir(folder)
            except OSError:
                pass
        if staging.exists():  # a file appeared during the export: never deleted, set aside
            aside = out.parent / f"{out.name}.leftover-{time.strftime('%Y%m%d-%H%M%S')}"
            os.rename(staging, aside)

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if not self._committed and self.staging != Path() and self.staging.exists():
                shutil.rmtree(self.staging, ignore_errors=True)
        finally:
            self.lock.release()


def _keep(src: Path, dest: Path) -> None:
    """Bring a kept file of the old output into the new one: a hard link (same data), else a copy."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.is_symlink():
        os.symlink(os.readlink(src), dest)
        return
    try:
        os.link(src, dest, follow_symlinks=False)
    except OSError:
        shutil.copy2(src, dest)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask

