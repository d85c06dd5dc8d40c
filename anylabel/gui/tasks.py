"""The GUI's one worker idiom: :class:`TaskWorker`, a long-lived worker thread with Qt signals.

It wraps :class:`anylabel.tasks.TaskRunner` (the Qt-free core: cancel tokens, progress, the "newest request
wins" and "queued" policies) and delivers everything on the GUI thread, as signals of the worker and as the
per-job callbacks given to :meth:`TaskWorker.submit`::

    worker = TaskWorker("export", parent=dialog)
    job = worker.submit(lambda ctx: export_folder(..., progress=ctx.progress, cancel=ctx.token),
                        on_done=show_report, on_failed=show_error, on_progress=advance_bar)
    worker.cancel()          # the job's token: the core stops at its next check

Shutdown: every worker is stopped and joined when the application quits (``QApplication.aboutToQuit``),
when :meth:`shutdown` is called, or when its Qt parent is deleted. After that nothing is emitted: a job
still running (a model load cannot be interrupted) finishes on its non-daemon thread, its result is
dropped, and the interpreter waits for it at exit instead of Qt aborting ("QThread: Destroyed while thread
is still running", exit 134).
"""
from __future__ import annotations

import logging
import threading
import weakref
from typing import Any, Callable, Dict, Optional

from PyQt5 import QtCore, QtWidgets

from anylabel.tasks import CancelToken, Job, JobContext, Policy, TaskRunner

log = logging.getLogger(__name__)
#: how long the application's exit waits for each worker's current job before leaving it to the interpreter
JOIN_TIMEOUT_S = 60.0
_LIVE: "weakref.WeakSet[TaskWorker]" = weakref.WeakSet()
#: workers shut down while a job still ran, with what they keep alive, until their thread has ended: the
#: last reference to a QObject must be dropped on the GUI thread, never by the ending worker thread
_DRAINING: Dict[int, tuple] = {}
_hooked = False


class _Gate:
    """Whether the worker's Qt side may still be emitted to; closed once, under a lock, so that no emit is
    in progress after :meth:`close` returns."""

    def __init__(self) -> None:
        self.lock = threading.RLock()  # re-entrant: a GUI-thread emit runs its slot at once, which may submit
        self.open = True

    def close(self) -> None:
        with self.lock:
            self.open = False


class _Listener:
    """The runner's listener: forwards to the worker's signals while the gate is open (worker thread)."""

    def __init__(self, worker: "TaskWorker", gate: _Gate) -> None:
        self._worker = weakref.ref(worker)
        self._gate = gate

    def _emit(self, name: str, *args: Any) -> None:
        with self._gate.lock:
            worker = self._worker()
            if not self._gate.open or worker is None:
                return
            try:
                getattr(worker, name).emit(*args)
            except RuntimeError:  # the C++ object went away without a shutdown: nothing is listening
                self._gate.open = False
                worker._runner.close(timeout=0)  # and the thread ends after this job

    def started(self, job: Job) -> None:
        self._emit("started", job)

    def progressed(self, job: Job, done: int, total: int, stage: str, item: Any) -> None:
        self._emit("progressed", job, done, total, stage, item)

    def message(self, job: Job, text: str) -> None:
        self._emit("message", job, text)

    def finished(self, job: Job, result: Any) -> None:
        self._emit("finished", job, result)

    def failed(self, job: Job, message: str, error: BaseException) -> None:
        self._emit("failed", job, message)

    def cancelled(self, job: Job) -> None:
        self._emit("cancelled", job)


class _Callbacks:
    __slots__ = ("done", "failed", "progress", "cancelled", "message")

    def __init__(self, done, failed, progress, cancelled, message) -> None:
        self.done, self.failed, self.progress, self.cancelled, self.message = done, failed, progress, cancelled, message


class TaskWorker(QtCore.QObject):
    """A worker thread whose results arrive on the GUI thread.

    Signals (GUI thread; the job first):
        started(job), progressed(job, done, total, stage, item), message(job, text),
        finished(job, result), failed(job, message), cancelled(job).
    """

    started = QtCore.pyqtSignal(object)
    progressed = QtCore.pyqtSignal(object, object, object, str, object)  # python ints: may exceed 2**31
    message = QtCore.pyqtSignal(object, str)
    finished = QtCore.pyqtSignal(object, object)
    failed = QtCore.pyqtSignal(object, str)
    cancelled = QtCore.pyqtSignal(object)

    def __init__(self, name: str, parent: Optional[QtCore.QObject] = None,
                 on_exit: Optional[Callable[[], None]] = None) -> None:
        super().__init__(parent)
        self.name = name
        self._gate = _Gate()
        self._runner = TaskRunner(name, _Listener(self, self._gate), on_exit=on_exit)
        self._callbacks: Dict[int, _Callbacks] = {}
        self.finished.connect(self._on_finished)
        self.failed.connect(self._on_failed)
        self.progressed.connect(self._on_progress)
        self.cancelled.connect(self._on_cancelled)
        self.message.connect(self._on_message)
        gate, runner = self._gate, self._runner
        # Deleted without shutdown: by Python's garbage collector, the finalizer stops the thread; by a Qt
        # parent (C++), the next emit finds the object gone, stops emitting and ends the thread. (No Python
        # slot on ``destroyed``: one running while the object is being freed can crash.)
        weakref.finalize(self, _stop_runner, gate, runner)
        _LIVE.add(self)
        _hook_application()

    # ------------------------------------------------------------------ GUI thread
    def submit(self, fn: Callable[[JobContext], Any], kind: str = "job", policy: Policy = Policy.QUEUED,
               on_done: Optional[Callable[[Any], None]] = None, on_failed: Optional[Callable[[str], None]] = None,
               on_progress: Optional[Callable[..., None]] = None, on_cancelled: Optional[Callable[[], None]] = None,
               on_message: Optional[Callable[[str], None]] = None, token: Optional[CancelToken] = None) -> Job:
        """Run ``fn(ctx)`` on the worker thread (see :class:`anylabel.tasks.Policy`); the callbacks run on
        the GUI thread: ``on_done(result)``, ``on_failed(message)``, ``on_progress(done, total, stage,
        item)``, ``on_cancelled()``, ``on_message(text)``. ``token``: the job's cancel token, when the caller
        made it already. Returns the job (its ``token`` cancels it)."""
        callbacks = _Callbacks(on_done, on_failed, on_progress, on_cancelled, on_message)
        job = self._runner.submit(fn, kind, policy, token)
        if self._gate.open:
            self._callbacks[job.id] = callbacks
        return job

    def say(self, text: str) -> None:
        """Emit :attr:`message` (with no job) from any thread, unless the worker is shut down."""
        self.emit(self.message, None, text)

    def emit(self, signal: Any, *args: Any) -> None:
        """Emit ``signal`` (of this worker or of the object that owns it) from any thread, unless the worker
        is shut down: the owner's own signals get the same guarantee as the worker's."""
        with self._gate.lock:
            if not self._gate.open:
                return
            try:
                signal.emit(*args)
            except RuntimeError:  # the C++ object went away without a shutdown: nobody is listening
                self._gate.open = False

    def cancel(self, kind: Optional[str] = None) -> None:
        """Cancel the running job and drop the waiting ones (of ``kind``; all when None)."""
        self._runner.cancel(kind)

    @property
    def busy(self) -> bool:
        """A job is running or waiting."""
        return not self._runner.idle

    @property
    def running_kind(self) -> Optional[str]:
        job = self._runner.running
        return job.kind if job is not None else None

    def shutdown(self, timeout: Optional[float] = -1.0, keep_alive: Any = None) -> bool:
        """Stop emitting, cancel everything, and join the thread (up to ``timeout`` s, default
        :data:`JOIN_TIMEOUT_S`; 0: do not wait; None: until it ends).
        Until a thread still running has ended, this worker and ``keep_alive`` (its owner) are kept alive,
        so that they are freed on the GUI thread. Idempotent. Returns True when the thread has ended."""
        if timeout is not None and timeout < 0:
            timeout = JOIN_TIMEOUT_S
        if not self._gate.open:  # shut down already (quit, then the window's destruction): do not wait again
            timeout = 0
        self._gate.close()
        self._callbacks.clear()
        _LIVE.discard(self)
        ended = self._runner.close(timeout=timeout)
        if not ended:
            if timeout:
                log.warning("%s: the running job did not stop within %.0f s; the exit waits for it",
                            self.name, timeout)
            _drain(self, keep_alive)
        return ended

    @property
    def alive(self) -> bool:
        """Its thread is running (it starts with the first job and ends after shutdown)."""
        return self._runner.alive

    @property
    def closed(self) -> bool:
        return not self._gate.open

    # ------------------------------------------------------------------ delivery (GUI thread)
    def _take(self, job: Job) -> Optional[_Callbacks]:
        return self._callbacks.pop(job.id, None)

    def _on_finished(self, job: Job, result: Any) -> None:
        cb = self._take(job)
        if cb is not None and cb.done is not None:
            cb.done(result)

    def _on_failed(self, job: Job, message: str) -> None:
        cb = self._take(job)
        if cb is not None and cb.failed is not None:
            cb.failed(message)

    def _on_cancelled(self, job: Job) -> None:
        cb = self._take(job)
        if cb is not None and cb.cancelled is not None:
            cb.cancelled()

    def _on_progress(self, job: Job, done: int, total: int, stage: str, item: Any) -> None:
        cb = self._callbacks.get(job.id)
        if cb is not None and cb.progress is not None:
            cb.progress(done, total, stage, item)

    def _on_message(self, job: Optional[Job], text: str) -> None:
        cb = self._callbacks.get(job.id) if job is not None else None
        if cb is not None and cb.message is not None:
            cb.message(text)


def shutdown_all(timeout: Optional[float] = None) -> None:
    """Stop and join every live worker (the application is quitting), each up to ``timeout`` s (default
    :data:`JOIN_TIMEOUT_S`); a job still running then ends on its own, and the interpreter's exit waits."""
    timeout = JOIN_TIMEOUT_S if timeout is None else timeout
    workers = list(_LIVE)
    for worker in workers:  # first cancel every one, so they wind down in parallel
        worker._runner.cancel()
    for worker in workers:
        worker.shutdown(timeout)


def _stop_runner(gate: _Gate, runner: TaskRunner) -> None:
    """A worker was freed without :meth:`TaskWorker.shutdown` (any thread): no emits, the thread ends."""
    gate.close()
    runner.close(timeout=0)


def _drain(worker: TaskWorker, keep_alive: Any) -> None:
    _drained()
    _DRAINING[id(worker)] = (worker, keep_alive)


def _drained() -> None:
    """GUI thread: release the workers whose thread has ended (the rest go at the interpreter's exit, on
    the main thread, after it has joined their threads)."""
    for key, (worker, _) in list(_DRAINING.items()):
        if not worker._runner.alive:
            del _DRAINING[key]


def draining() -> int:
    """How many shut-down workers still wait for their thread to end."""
    _drained()
    return len(_DRAINING)


def live_workers() -> list:
    """The workers not shut down yet (tests check that nothing is left running)."""
    return [w for w in _LIVE if not w.closed]


def _hook_application() -> None:
    global _hooked
    app = QtWidgets.QApplication.instance()
    if app is not None and not _hooked:
        app.aboutToQuit.connect(shutdown_all)
        _hooked = True
