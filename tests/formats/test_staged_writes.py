"""Writes inside the staging folder (anylabel.formats.staged): plain new files, one flush at the commit.

The staging folder is swapped in as a whole, so its files need no temporary + rename, no lock and no
fsync each; what must be durable before the old export is deleted is flushed once (syncfs)."""
from __future__ import annotations

import errno
import os

import pytest
from formats_util import poly, write_doc
from test_export_transaction import leftovers, snapshot

import anylabel.fileio
import anylabel.formats.staged as staged
from anylabel.errors import AnylabelError
from anylabel.formats.base import Options
from anylabel.formats.registry import export_folder

TRI = [(1, 1), (20, 1), (10, 15)]
FORMATS = ["coco", "yolo-seg", "voc", "masks", "yolo-obb", "dota", "cvat", "cvat-video", "mot", "labelme"]


def _source(folder, n: int):
    for i in range(n):
        write_doc(folder, f"f{i}", [poly("cat", TRI, track_id=1)], frame_index=i)
    return folder


class _Count:
    def __init__(self, monkeypatch) -> None:
        self.fsync = self.temps = self.syncfs = 0
        real_fsync, real_temp, real_syncfs = os.fsync, anylabel.fileio.make_temp, staged._syncfs

        def fsync(fd):
            self.fsync += 1
            return real_fsync(fd)

        def temp(*a, **k):
            self.temps += 1
            return real_temp(*a, **k)

        def syncfs(folder):
            self.syncfs += 1
            return real_syncfs(folder)

        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(anylabel.fileio, "make_temp", temp)
        monkeypatch.setattr(staged, "_syncfs", syncfs)


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_export_flushes_once_and_writes_no_temporaries(tmp_path, monkeypatch, fmt):
    src = _source(tmp_path / "src", 12)
    count = _Count(monkeypatch)
    report = export_folder(src, fmt, tmp_path / "out", Options(split=0.5) if fmt.startswith("yolo") else None)
    assert report.images == 12
    assert count.syncfs == 1  # the staging folder, once, before the swap
    assert count.temps == 0  # no temporary file + rename per file
    assert count.fsync <= 2, count.fsync  # the lock file's folder and the parent after the swap, not per file
    assert not leftovers(tmp_path)


def test_without_syncfs_every_file_is_fsynced_before_the_swap(tmp_path, monkeypatch):
    src = _source(tmp_path / "src", 5)
    synced = []
    real = staged._fsync
    monkeypatch.setattr(staged, "_syncfs", lambda folder: False)
    monkeypatch.setattr(staged, "_fsync", lambda p: synced.append(os.path.basename(p)) or real(p))
    export_folder(src, "coco", tmp_path / "out")
    assert sorted(synced[:-1]) == sorted(["annotations.json", ".anylabel-export", *(f"f{i}.png" for i in range(5))])
    assert synced[-1].startswith(".out.anylabel-staging-")  # the folder itself, last


@pytest.mark.parametrize("fmt", ["coco", "voc", "cvat"])
def test_a_failed_flush_leaves_the_previous_export_byte_for_byte(tmp_path, monkeypatch, fmt):
    src = _source(tmp_path / "src", 3)
    out = tmp_path / "out"
    export_folder(src, fmt, out)
    before = snapshot(out)
    write_doc(src, "f0", [poly("dog", TRI, track_id=1)], frame_index=0)

    def failing(folder):
        raise OSError(errno.EIO, "Input/output error", str(folder))

    with monkeypatch.context() as m:
        m.setattr(staged, "_syncfs", failing)
        with pytest.raises(AnylabelError, match="Input/output error"):
            export_folder(src, fmt, out, Options(overwrite=True))
    assert snapshot(out) == before and not leftovers(tmp_path)


def test_a_staged_file_is_never_replaced(tmp_path):
    staged.write_new_text(tmp_path / "a" / "b.txt", "first")
    with pytest.raises(AnylabelError, match="exists"):
        staged.write_new_bytes(tmp_path / "a" / "b.txt", b"second")
    assert (tmp_path / "a" / "b.txt").read_text() == "first"


@pytest.mark.parametrize("fmt", ["coco", "masks", "dota", "yolo-seg", "yolo-obb"])
def test_images_copied_by_the_workers_reach_their_names(tmp_path, monkeypatch, fmt):
    """The worker copies each image to staging/.anylabel-incoming/JOB.ext (it cannot know the final name);
    the writer renames it; the same image under a second JSON is copied once, nothing incoming is left."""
    import json

    import anylabel.formats.images as images
    import anylabel.formats.parallel as parallel

    monkeypatch.setattr(parallel, "SERIAL_BELOW", 0)  # a real pool of 2 processes, even for 6 files
    src = _source(tmp_path / "src", 6)
    doc = json.loads((src / "f0.json").read_text())
    (src / "again.json").write_text(json.dumps(doc))  # f0.png a second time: duplicate_image
    placed = []
    real = images.copy_new  # what place_image copies with, for every writer
    monkeypatch.setattr(images, "copy_new", lambda s, dest: placed.append(dest) or real(s, dest))
    options = Options(workers=2, min_area_rect=True)
    report = export_folder(src, fmt, tmp_path / "out", options)
    assert report.images == 6 and [w.kind for w in report.warnings] == ["duplicate_image"]
    images = sorted((tmp_path / "out" / "images").rglob("*.png"), key=lambda p: p.name)
    assert [p.name for p in images] == [f"f{i}.png" for i in range(6)]
    for i, image in enumerate(images):
        assert image.read_bytes() == (src / f"f{i}.png").read_bytes()
    assert not list((tmp_path / "out").rglob(".anylabel-incoming*")) and not leftovers(tmp_path)
    assert placed == []  # this process copied nothing: the workers did (their calls are not seen here)
