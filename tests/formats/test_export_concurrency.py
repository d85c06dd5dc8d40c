"""issue 13 #3 and #12: two exports into one folder, and what killed processes leave behind."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from formats_util import poly, write_doc
from test_export_transaction import leftovers, snapshot

from anylabel.fileio import atomic_write_text, clean_stale_temps, make_temp
from anylabel.formats.base import Options
from anylabel.formats.lock import FolderBusyError, FolderLock, lock_path
from anylabel.formats.registry import export_folder

TRI = [(1, 1), (20, 1), (10, 15)]
ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _export(src: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "anylabel", "export", str(src), "-f", "coco", "-o", str(out),
                             "--overwrite", "-q", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=_env())


def _sources(tmp_path: Path, n: int) -> tuple:
    for name, label in (("a", "cat"), ("b", "dog")):
        for i in range(n):
            write_doc(tmp_path / name, f"{name}{i:03d}", [poly(label, TRI)], width=400, height=300)
    return tmp_path / "a", tmp_path / "b"


def _one_complete_export(out: Path):
    coco = json.loads((out / "annotations.json").read_text())
    names = sorted(im["file_name"] for im in coco["images"])
    assert names == sorted(p.name for p in (out / "images").iterdir())  # lists exactly the images there
    prefixes = {n[0] for n in names}
    assert len(prefixes) == 1, f"a mix of two exports: {prefixes}"  # never half of a and half of b
    return prefixes.pop()


def test_two_exports_into_one_folder_never_mix(tmp_path):
    a, b = _sources(tmp_path, 60)
    out = tmp_path / "out"
    for _ in range(2):
        procs = [_export(a, out), _export(b, out)]
        results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
        codes = sorted(code for code, _ in results)
        assert codes in ([0, 0], [0, 2]), results
        for code, err in results:
            if code == 2:  # the second writer stops at once with a message naming the folder and the owner
                assert "is being written by" in err and str(out) in err
        _one_complete_export(out)
        assert not leftovers(tmp_path)


def test_a_second_writer_stops_or_waits(tmp_path):
    a, _ = _sources(tmp_path, 2)
    out = tmp_path / "out"
    with FolderLock(out):
        with pytest.raises(FolderBusyError, match=f"is being written by process {os.getpid()}"):
            export_folder(a, "coco", out)
        proc = _export(a, out)
        assert proc.wait(timeout=120) == 2 and str(os.getpid()) in proc.stderr.read()
        waiting = _export(a, out, "--wait", "60")  # waits for the lock, then writes
        time.sleep(1.0)
        assert waiting.poll() is None
    assert waiting.wait(timeout=120) == 0, waiting.stderr.read()
    assert _one_complete_export(out) == "a" and not lock_path(out).exists()


def test_the_lock_of_a_killed_export_is_taken_over(tmp_path):
    a, b = _sources(tmp_path, 300)
    out = tmp_path / "out"
    export_folder(a, "coco", out)
    before = snapshot(out)
    proc = _export(b, out)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:  # kill it while it copies images into staging
        if any(next((p / "images").iterdir(), None) for p in tmp_path.glob(".out.anylabel-staging-*")
               if (p / "images").is_dir()):
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert lock_path(out).exists()  # a dead pid's lock, and its half-written staging folder
    assert snapshot(out) == before  # the old export is untouched
    assert export_folder(b, "coco", out, Options(overwrite=True)).images == 300
    assert _one_complete_export(out) == "b" and not leftovers(tmp_path)


def test_killed_saves_leave_temporaries_that_the_next_save_removes(tmp_path):
    """#12: 300 kill -9s left 150 temporary files (321 MB) that nobody ever removed."""
    folder = tmp_path / "ann"
    folder.mkdir()
    code = ("import sys; from anylabel.fileio import atomic_write_bytes\n"
            "atomic_write_bytes(sys.argv[1], b'x'); print('ready', flush=True)\n"
            "while True: atomic_write_bytes(sys.argv[1], b'x' * (1 << 22))\n")
    stale = 0
    for k in range(40):
        proc = subprocess.Popen([sys.executable, "-c", code, str(folder / "a.json")], env=_env(),
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"  # started (slow on a loaded machine), now writing
        time.sleep(0.05 + 0.01 * (k % 7))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stale = len([p for p in folder.iterdir() if p.name.endswith(".tmp")])
        if stale:  # (each new writer's first save already removes the previous one's leftovers)
            break
    assert stale >= 1, "no kill landed inside a write"
    (folder / "mine.tmp").write_text("someone else's")  # not ours: never touched
    (folder / ".a.json.x7.tmp").write_text("not our naming")
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        # a live process's fresh temporary stays; an old one (a minute untouched) goes
        fd, fresh = make_temp(folder, "b.json")
        os.close(fd)
        fresh_live = folder / Path(fresh).name.replace(f"-{os.getpid()}-", f"-{alive.pid}-")
        os.rename(fresh, fresh_live)
        old_live = folder / fresh_live.name.replace(".b.json.", ".c.json.")
        old_live.write_text("old")
        os.utime(old_live, (time.time() - 120, time.time() - 120))
        atomic_write_text(folder / "b.json", "{}")  # the next save into the folder cleans up
        names = sorted(p.name for p in folder.iterdir())
        assert fresh_live.name in names and old_live.name not in names
        assert "mine.tmp" in names and ".a.json.x7.tmp" in names
        assert [n for n in names if n.endswith(".tmp")] == sorted([fresh_live.name, "mine.tmp", ".a.json.x7.tmp"])
        assert clean_stale_temps(folder) == 0  # at most once a minute per folder: saving often costs nothing
    finally:
        alive.kill()
        alive.wait()
