"""Annotation-file locks: two processes doing read-modify-write on one LabelMe file lose no update."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from anylabel.document import ImageAnnotation
from anylabel.filelock import Fingerprint, LockTimeout, lock_path_for, locked
from anylabel.formats.labelme import load_labelme, save_labelme

ROOT = Path(__file__).resolve().parents[2]

#: each writer appends one shape per cycle: read the file, add, write it back, under the file's lock
WRITER = r"""
import sys, time
from pathlib import Path
from anylabel.document import Shape
from anylabel.filelock import locked
from anylabel.formats.labelme import load_labelme, save_labelme

path, who, n, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
while not go.exists():
    time.sleep(0.001)
for i in range(n):
    with locked(path):
        ann = load_labelme(path)
        ann.shapes.append(Shape(f"{who}-{i}", [(1, 1), (5, 1), (5, 5)]))
        save_labelme(ann, path)
"""


def test_two_processes_hammering_one_file_lose_no_update(tmp_path):
    path = tmp_path / "img.json"
    save_labelme(ImageAnnotation("img.jpg", 10, 10), path)
    go = tmp_path / "go"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    n = 200
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), who, str(n), str(go)], env=env)
             for who in ("a", "b")]
    time.sleep(1.0)  # both interpreters started and waiting
    go.write_text("")
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    labels = load_labelme(path).labels()
    assert len(labels) == 2 * n  # before the lock: 194 of 400 updates lost
    assert sorted(labels) == sorted(f"{w}-{i}" for w in "ab" for i in range(n))
    assert [f"a-{i}" for i in range(n)] == [x for x in labels if x.startswith("a-")]  # each writer's order kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["go", "img.json"]  # no lock or temporary file left


def test_a_second_writer_waits_then_times_out_with_the_file_named(tmp_path):
    path = tmp_path / "x.json"
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with locked(path):
            held.set()
            release.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(5)
    try:
        t0 = time.monotonic()
        with pytest.raises(LockTimeout, match=rf"x.json: process {os.getpid()} \(.*\) is writing it"):
            with locked(path, timeout=0.2):
                pass
        assert time.monotonic() - t0 >= 0.2
        with pytest.raises(LockTimeout):
            save_labelme(ImageAnnotation("x.jpg", 4, 4), path, timeout=0)
        assert not path.exists()
    finally:
        release.set()
        t.join()
    with locked(path, timeout=0):  # free again, and re-entrant in one thread
        with locked(path, timeout=0):
            save_labelme(ImageAnnotation("x.jpg", 4, 4), path)
    assert not lock_path_for(path).exists()


def test_fingerprint_sees_a_same_size_rewrite(tmp_path):
    path = tmp_path / "f.json"
    assert Fingerprint.of(path) is None
    path.write_text("aaaa")
    before = Fingerprint.of(path)
    st = path.stat()
    path.write_text("bbbb")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime: only the hash differs
    after = Fingerprint.of(path)
    assert (after.size, after.mtime_ns) == (before.size, before.mtime_ns) and after != before
