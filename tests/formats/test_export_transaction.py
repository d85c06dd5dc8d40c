"""issue 13 #1, #2, #5, #7: an export never deletes what it did not write, is all-or-nothing, and ends in a
result or a typed error (exit 2)."""
from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import Dict

import pytest
from formats_util import poly, write_doc

import anylabel.formats.output
import anylabel.formats.staged
from anylabel.cli import main
from anylabel.errors import AnylabelError
from anylabel.formats.base import NothingWrittenError, Options
from anylabel.formats.output import MANIFEST, OutputNotEmptyError
from anylabel.formats.registry import export_folder, import_dataset

TRI = [(1, 1), (20, 1), (10, 15)]
ALL_FORMATS = ["labelme", "coco", "yolo-seg", "yolo-det", "mot", "voc", "masks", "yolo-obb", "dota", "cvat",
               "cvat-video"]


def snapshot(folder: Path) -> Dict[str, bytes]:
    """Every file under ``folder`` (relative path -> bytes); symlinks as their target."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_symlink():
            out[p.relative_to(folder).as_posix()] = os.readlink(p).encode()
        elif p.is_file():
            out[p.relative_to(folder).as_posix()] = p.read_bytes()
    return out


def leftovers(parent: Path) -> list:
    """Temporary files and staging folders of ours anywhere under ``parent``."""
    return [p.name for p in parent.rglob("*") if ".~anylabel-" in p.name or "anylabel-staging" in p.name
            or "anylabel-old" in p.name or "anylabel-lock" in p.name]


def _source(folder: Path, labels=("cat",), n: int = 4) -> Path:
    for i in range(n):
        write_doc(folder, f"f{i}", [poly(labels[i % len(labels)], TRI, track_id=1)], frame_index=i)
    return folder


# --- #1: never delete the user's files -------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["yolo-seg", "coco"])
def test_overwrite_into_the_project_folder_keeps_the_annotations(tmp_path, fmt, capsys):
    """The issue's case: ``export proj/images -o proj --overwrite`` deleted 6 of 6 source files."""
    src = _source(tmp_path / "proj" / "images", n=3)
    before = snapshot(src)
    assert main(["export", str(src), "-f", fmt, "-o", str(tmp_path / "proj"), "--overwrite", "-q"]) == 2
    assert "contains the input folder" in capsys.readouterr().err
    assert snapshot(src) == before


def test_overwrite_removes_only_what_the_previous_export_recorded(tmp_path):
    src = _source(tmp_path / "src", n=3)
    out = tmp_path / "out"
    export_folder(src, "yolo-seg", out)
    assert (out / MANIFEST).is_file()
    (out / "images" / "train" / "mine.png").write_bytes(b"the user's own file")  # added by the user
    (out / "README.md").write_text("notes")
    (out / "labels" / "train" / "f2.txt").write_text("0 0.1 0.1 0.2 0.1 0.2 0.2\n")  # edited by the user
    (src / "f2.json").unlink()  # f2 is no longer exported: its old files are stale
    report = export_folder(src, "yolo-seg", out, Options(overwrite=True))
    assert not (out / "images" / "train" / "f2.png").exists()  # ours, unchanged: removed
    assert (out / "images" / "train" / "mine.png").read_bytes() == b"the user's own file"
    assert (out / "README.md").read_text() == "notes"
    assert (out / "labels" / "train" / "f2.txt").read_text().startswith("0 0.1")  # changed since: kept
    kept = {w.file for w in report.warnings if w.kind == "kept"}
    assert kept == {"images/train/mine.png", "README.md", "labels/train/f2.txt"}
    # kept files stay the user's on the next overwrite too (they are not in the new manifest)
    export_folder(src, "yolo-seg", out, Options(overwrite=True))
    assert (out / "README.md").read_text() == "notes"


def test_a_changed_file_the_new_export_would_replace_is_refused(tmp_path):
    src = _source(tmp_path / "src", n=2)
    out = tmp_path / "out"
    export_folder(src, "coco", out)
    (out / "annotations.json").write_text('{"edited": "by hand"}')
    before = snapshot(out)
    with pytest.raises(AnylabelError, match="annotations.json"):
        export_folder(src, "coco", out, Options(overwrite=True))
    assert snapshot(out) == before and not leftovers(tmp_path)


def test_a_folder_without_a_manifest_is_never_replaced(tmp_path):
    src = _source(tmp_path / "src", n=1)
    (tmp_path / "out" / "images").mkdir(parents=True)
    (tmp_path / "out" / "images" / "holiday.jpg").write_bytes(b"photo")
    with pytest.raises(AnylabelError, match="not an anylabel export"):
        export_folder(src, "coco", tmp_path / "out", Options(overwrite=True))
    assert (tmp_path / "out" / "images" / "holiday.jpg").read_bytes() == b"photo"


def test_not_empty_message_is_neutral_in_the_core_and_hinted_by_the_cli(tmp_path, capsys):
    src = _source(tmp_path / "src", n=1)
    export_folder(src, "coco", tmp_path / "out")
    with pytest.raises(OutputNotEmptyError) as info:
        export_folder(src, "coco", tmp_path / "out")
    assert "not empty" in str(info.value) and "--overwrite" not in str(info.value)
    assert main(["export", str(src), "-f", "coco", "-o", str(tmp_path / "out"), "-q"]) == 2
    assert "add --overwrite" in capsys.readouterr().err


# --- #2: all or nothing ------------------------------------------------------------------------------------
class _DiskFull:
    """Makes the N-th file write fail with ENOSPC (or KeyboardInterrupt), as a full disk does."""

    def __init__(self, monkeypatch, after: int, exc: BaseException) -> None:
        self.left, self.exc = after, exc
        real_create, real_copy = anylabel.formats.staged._create, shutil.copyfileobj

        def create(path):  # every new file of the staging folder (images, labels, the manifest)
            self.tick()
            return real_create(path)

        def copy(*a, **k):
            self.tick()
            return real_copy(*a, **k)

        monkeypatch.setattr(anylabel.formats.staged, "_create", create)
        monkeypatch.setattr(shutil, "copyfileobj", copy)

    def tick(self) -> None:
        if self.left == 0:
            raise self.exc
        self.left -= 1


@pytest.mark.parametrize("fmt", ALL_FORMATS)
@pytest.mark.parametrize("after", [0, 2, 4])
def test_a_failed_overwrite_leaves_the_previous_export_byte_for_byte(tmp_path, monkeypatch, fmt, after):
    src = _source(tmp_path / "src", labels=("cat",), n=4)
    out = tmp_path / "out"
    export_folder(src, fmt, out)
    before = snapshot(out)
    for i in range(4):  # a new class map: every label file of a YOLO export changes
        write_doc(src, f"f{i}", [poly(("ant", "cat")[i % 2], TRI, track_id=2)], frame_index=i)
    with monkeypatch.context() as m:
        _DiskFull(m, after, OSError(errno.ENOSPC, "No space left on device"))
        with pytest.raises(AnylabelError, match="No space left"):
            export_folder(src, fmt, out, Options(overwrite=True))
    assert snapshot(out) == before
    assert not leftovers(tmp_path)
    export_folder(src, fmt, out, Options(overwrite=True))  # and the next try succeeds
    assert snapshot(out) != before and not leftovers(tmp_path)


@pytest.mark.parametrize("fmt", ["coco", "yolo-det"])
def test_ctrl_c_and_a_failed_swap_leave_the_previous_export(tmp_path, monkeypatch, fmt):
    src = _source(tmp_path / "src", n=4)
    out = tmp_path / "out"
    export_folder(src, fmt, out, Options(image_mode="hardlink"))
    before = snapshot(out)
    with monkeypatch.context() as m:
        _DiskFull(m, 2, KeyboardInterrupt())
        with pytest.raises(KeyboardInterrupt):
            export_folder(src, fmt, out, Options(overwrite=True))
    assert snapshot(out) == before and not leftovers(tmp_path)

    def broken_swap(a, b):
        raise OSError(errno.EIO, "Input/output error")

    with monkeypatch.context() as m:
        m.setattr(anylabel.formats.output, "_exchange", broken_swap)
        with pytest.raises(AnylabelError, match="Input/output error"):
            export_folder(src, fmt, out, Options(overwrite=True))
    assert snapshot(out) == before and not leftovers(tmp_path)


def test_two_rename_fallback_and_hard_links(tmp_path, monkeypatch):
    """Where the file system cannot exchange two folders, two renames do it; hard links stay links."""
    src = _source(tmp_path / "src", n=2)
    out = tmp_path / "out"
    export_folder(src, "coco", out, Options(image_mode="hardlink"))
    monkeypatch.setattr(anylabel.formats.output, "_exchange", lambda a, b: False)
    (src / "f1.json").unlink()
    report = export_folder(src, "coco", out, Options(overwrite=True, image_mode="hardlink"))
    assert report.images == 1 and sorted(p.name for p in (out / "images").iterdir()) == ["f0.png"]
    assert (out / "images" / "f0.png").stat().st_ino == (src / "f0.png").stat().st_ino
    assert (src / "f1.png").is_file() and not leftovers(tmp_path)


def test_a_killed_swap_is_recovered_by_the_next_run(tmp_path):
    src = _source(tmp_path / "src", n=2)
    out = tmp_path / "out"
    export_folder(src, "coco", out)
    before = snapshot(out)
    # killed between "out -> backup" and "staging -> out": no out, a backup and a staging folder
    os.rename(out, tmp_path / ".out.anylabel-old-x1")
    (tmp_path / ".out.anylabel-staging-x1").mkdir()
    (tmp_path / ".out.anylabel-staging-x1" / "half.txt").write_text("half")
    with pytest.raises(OutputNotEmptyError):  # the old export is back, so replacing it must be asked for
        export_folder(src, "coco", out)
    assert snapshot(out) == before and not leftovers(tmp_path)


def test_import_is_transactional_too(tmp_path, monkeypatch):
    src = _source(tmp_path / "src", n=3)
    export_folder(src, "coco", tmp_path / "coco")
    import_dataset(tmp_path / "coco", "coco", tmp_path / "lm", Options(image_mode="copy"))
    before = snapshot(tmp_path / "lm")
    with monkeypatch.context() as m:
        _DiskFull(m, 2, OSError(errno.ENOSPC, "No space left on device"))
        with pytest.raises(AnylabelError):
            import_dataset(tmp_path / "coco", "coco", tmp_path / "lm", Options(image_mode="copy", overwrite=True))
    assert snapshot(tmp_path / "lm") == before and not leftovers(tmp_path)


# --- #5: an unwritable place is a typed error ------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["coco", "mot"])
def test_unwritable_new_output_folder_is_a_typed_error(tmp_path, monkeypatch, capsys, fmt):
    src = _source(tmp_path / "src", n=2)
    locked = tmp_path / "locked"
    locked.mkdir()
    real_mkdir, real_open = os.mkdir, os.open

    def deny(path, *a, **k):  # what a read-only folder does to everyone but root
        if str(path).startswith(str(locked)):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(os, "mkdir", lambda p, *a, **k: deny(p) or real_mkdir(p, *a, **k))
    monkeypatch.setattr(os, "open", lambda p, *a, **k: deny(p) or real_open(p, *a, **k))
    assert main(["export", str(src), "-f", fmt, "-o", str(locked / "new" / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "Permission denied" in err and str(locked) in err and "Traceback" not in err
    assert list(locked.iterdir()) == []


# --- #7: nothing from something is a failure ---------------------------------------------------------------
def test_every_json_unreadable_exits_2_with_the_reasons(tmp_path, capsys):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.json").write_text("{broken")
    (tmp_path / "src" / "b.json").write_text('{"not": "labelme"}')
    assert main(["export", str(tmp_path / "src"), "-f", "coco", "-o", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "nothing was written" in err and "a.json" in err and "b.json" in err
    assert not (tmp_path / "out").exists()
    write_doc(tmp_path / "src", "good", [poly("cat", TRI)])  # partial success: exit 0 with warnings
    assert main(["export", str(tmp_path / "src"), "-f", "coco", "-o", str(tmp_path / "out"), "-q"]) == 0
    assert "a.json" in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["coco", "yolo-seg", "yolo-det"])
def test_import_where_every_image_is_bad_exits_2(tmp_path, capsys, fmt):
    src = _source(tmp_path / "src", n=2)
    export_folder(src, fmt, tmp_path / "ds")
    for p in (tmp_path / "ds" / "images").rglob("*.png"):
        p.write_bytes(b"not an image")
    code = main(["import", str(tmp_path / "ds"), "-f", fmt, "-o", str(tmp_path / "lm"), "--copy-images", "-q"])
    assert code == 2
    assert "nothing was written" in capsys.readouterr().err and not (tmp_path / "lm").exists()


def test_nothing_written_keeps_the_previous_export(tmp_path):
    src = _source(tmp_path / "src", n=2)
    export_folder(src, "coco", tmp_path / "out")
    before = snapshot(tmp_path / "out")
    for p in src.glob("*.json"):
        p.write_text("{broken")
    with pytest.raises(NothingWrittenError):
        export_folder(src, "coco", tmp_path / "out", Options(overwrite=True))
    assert snapshot(tmp_path / "out") == before
