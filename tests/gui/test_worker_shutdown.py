"""The GUI's one worker idiom (anylabel.gui.tasks.TaskWorker): delivery on the GUI thread, newest wins,
cancel, and shutdown: the app quits while a slow job runs -> a clean exit, nothing emitted afterwards."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PyQt5 import QtCore  # noqa: E402

from anylabel.gui import tasks as gui_tasks
from anylabel.gui.tasks import TaskWorker  # noqa: E402
from anylabel.tasks import Policy  # noqa: E402

DRIVER = Path(__file__).with_name("quit_during_load.py")


def test_results_progress_and_errors_arrive_on_the_gui_thread(qtbot) -> None:
    worker = TaskWorker("test")
    gui = threading.current_thread()
    seen = []

    def job(ctx):
        ctx.progress(1, 2, "half")
        return threading.current_thread().name

    worker.submit(job, on_done=lambda r: seen.append(("done", r, threading.current_thread() is gui)),
                  on_progress=lambda d, t, s, i: seen.append(("progress", d, t, s)))
    worker.submit(lambda ctx: 1 / 0, on_failed=lambda m: seen.append(("failed", m, threading.current_thread() is gui)))
    qtbot.waitUntil(lambda: len(seen) == 3, timeout=5000)
    assert seen == [("progress", 1, 2, "half"), ("done", "test", True),
                    ("failed", "ZeroDivisionError: division by zero", True)]
    assert worker.shutdown(5)


def test_newest_request_wins_and_replaced_jobs_report_cancelled(qtbot) -> None:
    worker = TaskWorker("test")
    gate = threading.Event()
    done, cancelled = [], []
    worker.submit(lambda ctx: gate.wait(5) and "first", kind="click", policy=Policy.LATEST,
                  on_done=done.append, on_cancelled=lambda: cancelled.append("first"))
    qtbot.waitUntil(lambda: worker.running_kind == "click", timeout=5000)
    for n in range(3):
        worker.submit(lambda ctx, n=n: n, kind="click", policy=Policy.LATEST, on_done=done.append,
                      on_cancelled=lambda n=n: cancelled.append(n))
    gate.set()
    qtbot.waitUntil(lambda: not worker.busy, timeout=5000)
    qtbot.wait(20)
    assert done == [2] and sorted(cancelled, key=str) == [0, 1, "first"]
    worker.shutdown(5)


def test_deleting_the_parent_during_a_job_emits_nothing_and_the_thread_ends(qtbot) -> None:
    parent = QtCore.QObject()
    worker = TaskWorker("test", parent=parent)
    started, release = threading.Event(), threading.Event()
    worker.submit(lambda ctx: (started.set(), release.wait(5), ctx.progress(1, 1))[-1])
    assert started.wait(5)
    runner = worker._runner
    parent.deleteLater()
    qtbot.wait(50)  # deleted (C++) while the job runs
    release.set()  # the job now reports progress and a result: nothing may reach the deleted object
    end = time.monotonic() + 5
    while runner.alive and time.monotonic() < end:
        time.sleep(0.01)
    assert not runner.alive and worker.closed


def test_shutdown_all_joins_every_worker(qtbot) -> None:
    workers = [TaskWorker(f"w{i}") for i in range(3)]
    for w in workers:
        w.submit(lambda ctx: [ctx.check() or time.sleep(0.01) for _ in range(500)])
    qtbot.wait(50)
    gui_tasks.shutdown_all(timeout=10)
    assert not gui_tasks.live_workers()
    assert not any(w._runner.alive for w in workers)


@pytest.mark.gui
def test_quitting_during_a_slow_tracker_model_load_exits_cleanly(tmp_path: Path) -> None:
    """The known bug: quitting while the tracker loads a model for longer than the exit's wait aborted
    (exit 134, "QThread: Destroyed while thread is still running" / an exception thrown through Qt). Now
    the load finishes on its own thread, its result is dropped, and the process exits with 0."""
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        cv2.imwrite(str(frames / f"{i:05d}.jpg"), np.full((64, 80, 3), 40 * i, np.uint8))
    model = tmp_path / "fake_sam2.pt"
    model.write_bytes(b"not loaded: the fake load sleeps")
    # the load takes 4 s; the exit waits 1 s for it (the real code waits 30 s / 60 s for a real load)
    proc = subprocess.run([sys.executable, str(DRIVER), str(frames), str(model), "4", "1000"],
                          capture_output=True, text=True, timeout=180)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "quitting" in out and "load finished" in out, out[-3000:]  # joined, not killed mid-way
    for bad in ("Traceback", "RuntimeError", "Destroyed while thread", "Qt has caught an exception"):
        assert bad not in out, out[-3000:]


def test_closing_the_window_stops_its_features_workers(make_window) -> None:
    # before: closeEvent stopped only the click worker; the features' workers (SSA, CLIP, the tracker)
    # stayed alive, so a script that closed the window and quit without an event loop (no aboutToQuit)
    # hung in the interpreter's exit, joining their non-daemon threads
    before = set(map(id, gui_tasks.live_workers()))
    w = make_window()
    mine = [t for t in gui_tasks.live_workers() if id(t) not in before]
    assert mine, "the window's features start workers"
    w.close()
    assert not [t.name for t in mine if not t.closed]
