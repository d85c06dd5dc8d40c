"""The Qt-free job runner (anylabel.tasks): policies, cancel, progress, errors, shutdown."""
from __future__ import annotations

import threading
import time
from typing import Any, List, Tuple

import pytest

from anylabel.errors import FormatError
from anylabel.tasks import CancelToken, Job, JobQueue, Policy, TaskRunner


class Recorder:
    """A listener that records every event, and can hold jobs of a kind until released."""

    def __init__(self) -> None:
        self.events: List[Tuple[str, str, Any]] = []
        self.done = threading.Event()
        self.lock = threading.Lock()

    def _add(self, what: str, job: Job, data: Any = None) -> None:
        with self.lock:
            self.events.append((what, job.kind, data))

    def started(self, job: Job) -> None:
        self._add("started", job)

    def progressed(self, job: Job, done: int, total: int, stage: str, item: Any) -> None:
        self._add("progress", job, (done, total, stage, item))

    def message(self, job: Job, text: str) -> None:
        self._add("message", job, text)

    def finished(self, job: Job, result: Any) -> None:
        self._add("finished", job, result)

    def failed(self, job: Job, message: str, error: BaseException) -> None:
        self._add("failed", job, message)

    def cancelled(self, job: Job) -> None:
        self._add("cancelled", job)

    def of(self, what: str) -> list:
        with self.lock:
            return [(k, d) for w, k, d in self.events if w == what]


def _wait(cond, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


def test_cancel_token_is_an_event_and_raises_when_checked() -> None:
    token = CancelToken()
    token.check()
    assert isinstance(token, threading.Event) and not token.cancelled
    token.cancel()
    assert token.is_set() and token.cancelled
    with pytest.raises(Exception, match="cancelled"):
        token.check()


def test_queued_jobs_run_in_order_with_results_progress_and_messages() -> None:
    rec = Recorder()
    runner = TaskRunner("t", rec)

    def work(n):
        def fn(ctx):
            ctx.progress(1, 2, "half", n)
            ctx.say(f"job {n}")
            return n * 10
        return fn

    for n in range(3):
        runner.submit(work(n), kind="export")
    _wait(lambda: runner.idle)
    assert runner.close(timeout=10)
    assert [d for _, d in rec.of("finished")] == [0, 10, 20]
    assert rec.of("progress")[0] == ("export", (1, 2, "half", 0))
    assert [d for _, d in rec.of("message")] == ["job 0", "job 1", "job 2"]


def test_latest_policy_replaces_the_waiting_job_and_cancels_the_running_one() -> None:
    rec = Recorder()
    runner = TaskRunner("t", rec)
    gate = threading.Event()
    seen = []

    def slow(ctx):
        gate.wait(10)
        seen.append(("slow", ctx.cancelled))
        ctx.check()  # the newest request has arrived: stop here
        return "slow"

    def quick(n):
        def fn(ctx):
            seen.append(n)
            return n
        return fn

    runner.submit(slow, kind="click", policy=Policy.LATEST)
    _wait(lambda: runner.running is not None)
    for n in range(5):  # a burst of clicks while the first one runs
        runner.submit(quick(n), kind="click", policy=Policy.LATEST)
    gate.set()
    _wait(lambda: runner.idle)
    assert seen == [("slow", True), 4]  # only the newest of the burst ran; the running one was told to stop
    assert [d for _, d in rec.of("finished")] == [4]
    assert len(rec.of("cancelled")) == 5  # the slow one and the four replaced clicks
    runner.close(timeout=10)


def test_latest_policy_replaces_only_its_own_kind() -> None:
    queue = JobQueue()
    a, b, c = Job(lambda ctx: 1, "embed", Policy.LATEST), Job(lambda ctx: 2, "load"), Job(lambda ctx: 3, "embed",
                                                                                          Policy.LATEST)
    for job in (a, b):
        assert queue.put(job) == []
    assert queue.put(c) == [a] and a.token.cancelled
    assert [queue.take(), queue.take()] == [b, c]


def test_errors_become_messages_and_the_thread_goes_on() -> None:
    rec = Recorder()
    runner = TaskRunner("t", rec)

    def broken(ctx):
        raise ValueError("boom")

    def expected(ctx):
        raise FormatError("bad file", "x.json")

    runner.submit(broken)
    runner.submit(expected)
    runner.submit(lambda ctx: "after")
    _wait(lambda: runner.idle)
    runner.close(timeout=10)
    messages = [d for _, d in rec.of("failed")]
    assert messages[0] == "ValueError: boom" and "x.json" in messages[1] and "bad file" in messages[1]
    assert rec.of("finished") == [("job", "after")]


def test_cancel_by_kind_drops_waiting_jobs_and_stops_the_running_one() -> None:
    rec = Recorder()
    runner = TaskRunner("t", rec)
    started = threading.Event()

    def loop(ctx):
        started.set()
        while True:
            ctx.check()
            time.sleep(0.005)

    runner.submit(loop, kind="propagate")
    runner.submit(lambda ctx: 1, kind="propagate")
    started.wait(5)
    runner.cancel("propagate")
    _wait(lambda: runner.idle)
    assert len(rec.of("cancelled")) == 2 and not rec.of("finished")
    runner.close(timeout=10)


def test_close_joins_the_thread_after_a_job_that_ignores_its_token() -> None:
    # a model load cannot be interrupted: close waits for it, runs on_exit on the worker thread, and
    # reports the load cancelled (nobody wants its result any more); nothing runs after close
    rec = Recorder()
    exits = []
    runner = TaskRunner("t", rec, on_exit=lambda: exits.append(threading.current_thread().name))
    runner.submit(lambda ctx: time.sleep(0.3) or "model", kind="load")
    queued = runner.submit(lambda ctx: "never", kind="click")
    _wait(lambda: runner.running is not None)
    assert runner.close(timeout=10)
    assert not runner.alive and exits == ["t"]
    assert queued.token.cancelled and not rec.of("finished")
    late = runner.submit(lambda ctx: "late")
    assert late.token.cancelled
    time.sleep(0.05)
    assert not rec.of("finished")


def test_no_thread_until_the_first_job_and_threads_are_not_daemons() -> None:
    runner = TaskRunner("t")
    assert not runner.alive
    runner.submit(lambda ctx: None)
    assert runner._thread is not None and not runner._thread.daemon
    assert runner.close(timeout=10)


def test_a_failing_listener_does_not_kill_the_thread() -> None:
    class Bad(Recorder):
        def started(self, job):
            raise RuntimeError("listener bug")

    rec = Bad()
    runner = TaskRunner("t", rec)
    runner.submit(lambda ctx: 1)
    runner.submit(lambda ctx: 2)
    _wait(lambda: runner.idle)
    runner.close(timeout=10)
    assert [d for _, d in rec.of("finished")] == [1, 2]


def test_coalesce_policy_replaces_the_waiting_job_and_lets_the_running_one_finish() -> None:
    rec = Recorder()
    runner = TaskRunner("t", rec)
    gate = threading.Event()
    runner.submit(lambda ctx: gate.wait(10) and not ctx.cancelled and "first", kind="find", policy=Policy.COALESCE)
    _wait(lambda: runner.running is not None)
    for n in range(3):
        runner.submit(lambda ctx, n=n: n, kind="find", policy=Policy.COALESCE)
    gate.set()
    _wait(lambda: runner.idle)
    assert [d for _, d in rec.of("finished")] == ["first", 2] and len(rec.of("cancelled")) == 2
    runner.close(timeout=10)
