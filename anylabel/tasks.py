"""Background jobs, Qt-free: a cancel token, a progress callback, and one worker thread with a job queue.

The one idiom for long work (clicks, tracking, CLIP, suggestions, export, statistics, downloads); the GUI
wraps it once (:mod:`anylabel.gui.tasks`) and the command line can use it as is. Modelled on napari's
``thread_worker``: a job is a plain function that receives a :class:`JobContext` (its cancel token, a
progress callback, a message callback) and returns its result; the runner reports start, progress,
messages, the result, the error or the cancellation to a :class:`TaskListener`.

Policies, chosen per submit:

* :attr:`Policy.QUEUED`: jobs run one after the other in submission order (export, opening a video).
* :attr:`Policy.LATEST`: "newest request wins": a new job of a kind replaces the job of that kind still
  waiting (it is reported cancelled, never run) and cancels the running one's token, so a burst of
  requests (clicks, preview changes) runs at most the one in progress and the newest one.
* :attr:`Policy.COALESCE`: like LATEST, but the running job finishes (a find text: the automatic masks it
  is computing are cached for the next text).

Threads are never daemons: :meth:`TaskRunner.close` cancels what is queued and running and joins the
thread; a job that does not look at its token (a model load) is waited for, never abandoned mid-way,
so the interpreter exits cleanly after it.
"""
from __future__ import annotations

import enum
import itertools
import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, List, Optional, Protocol

from anylabel.errors import AnylabelError, CancelledError

log = logging.getLogger(__name__)

#: ``progress(done, total, stage="", item=None)``: ``item`` names what was just done (a frame index, ...)
ProgressFn = Callable[..., None]
_ids = itertools.count(1)


class CancelToken(threading.Event):
    """Set to ask a job to stop (from any thread). An :class:`threading.Event`, so the core functions that
    take a ``cancel`` event (exports, downloads, CLIP, automatic masks) accept it as it is."""

    def cancel(self) -> None:
        self.set()

    @property
    def cancelled(self) -> bool:
        return self.is_set()

    def check(self) -> None:
        """Raise :class:`CancelledError` when cancelled: the job's way of stopping at a safe point."""
        if self.is_set():
            raise CancelledError("cancelled")


class Policy(enum.Enum):
    QUEUED = "queued"  # run every job, in order
    LATEST = "latest"  # replaces the waiting job of its kind and cancels the running one
    COALESCE = "coalesce"  # replaces the waiting job of its kind; the running one finishes (its work is reused)


@dataclass(eq=False)
class Job:
    """One submitted piece of work.

    Attributes:
        fn: ``fn(ctx: JobContext) -> result``, run on the worker thread.
        kind: what it is (``"click"``, ``"load"``, ``"export"``...): :attr:`Policy.LATEST` replaces by kind.
        policy: see :class:`Policy`.
        token: its cancel token.
        id: unique per process, increasing.
    """

    fn: Callable[["JobContext"], Any]
    kind: str = "job"
    policy: Policy = Policy.QUEUED
    token: CancelToken = field(default_factory=CancelToken)
    id: int = field(default_factory=lambda: next(_ids))

    def cancel(self) -> None:
        self.token.cancel()


class TaskListener(Protocol):
    """What a :class:`TaskRunner` reports, on its own thread (the GUI adapter turns these into signals)."""

    def started(self, job: Job) -> None: ...
    def progressed(self, job: Job, done: int, total: int, stage: str, item: Any) -> None: ...
    def message(self, job: Job, text: str) -> None: ...
    def finished(self, job: Job, result: Any) -> None: ...
    def failed(self, job: Job, message: str, error: BaseException) -> None: ...
    def cancelled(self, job: Job) -> None: ...


class NullListener:
    """A listener that ignores everything (scripts that only want the result of :meth:`Job`)."""

    def started(self, job: Job) -> None:
        """Nothing to report."""

    def progressed(self, job: Job, done: int, total: int, stage: str, item: Any) -> None:
        """Nothing to report."""

    def message(self, job: Job, text: str) -> None:
        """Nothing to report."""

    def finished(self, job: Job, result: Any) -> None:
        """Nothing to report."""

    def failed(self, job: Job, message: str, error: BaseException) -> None:
        """Nothing to report."""

    def cancelled(self, job: Job) -> None:
        """Nothing to report."""


@dataclass
class JobContext:
    """What a running job gets: its token, and callbacks for progress and status messages."""

    job: Job
    progress: ProgressFn
    say: Callable[[str], None]

    @property
    def token(self) -> CancelToken:
        return self.job.token

    @property
    def cancelled(self) -> bool:
        return self.job.token.cancelled

    def check(self) -> None:
        self.job.token.check()


def error_message(e: BaseException) -> str:
    """A failure as the user reads it: an :class:`AnylabelError`'s own words, else ``Type: message``."""
    if isinstance(e, AnylabelError):
        return str(e)
    return f"{type(e).__name__}: {e}"


class JobQueue:
    """The waiting jobs, thread-safe. :meth:`put` applies the job's policy; :meth:`take` blocks."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._jobs: Deque[Job] = deque()
        self._closed = False

    def put(self, job: Job) -> List[Job]:
        """Queue ``job``; returns the jobs it replaced (:attr:`Policy.LATEST`), now cancelled.

        Raises:
            RuntimeError: the queue is closed.
        """
        with self._cond:
            if self._closed:
                raise RuntimeError("the task queue is closed")
            dropped: List[Job] = []
            if job.policy in (Policy.LATEST, Policy.COALESCE):
                dropped = [j for j in self._jobs if j.kind == job.kind]
                for j in dropped:
                    self._jobs.remove(j)
                    j.cancel()
            self._jobs.append(job)
            self._cond.notify()
            return dropped

    def take(self) -> Optional[Job]:
        """The next job, waiting for one; None once the queue is closed."""
        with self._cond:
            while not self._jobs and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            return self._jobs.popleft()

    def drop(self, kind: Optional[str] = None) -> List[Job]:
        """Remove (and cancel) the waiting jobs of ``kind`` (all when None); returns them."""
        with self._cond:
            dropped = [j for j in self._jobs if kind is None or j.kind == kind]
            for j in dropped:
                self._jobs.remove(j)
                j.cancel()
            return dropped

    def close(self) -> List[Job]:
        """No more jobs: :meth:`take` returns None; returns the jobs that were waiting (cancelled)."""
        dropped = self.drop()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        return dropped

    def __len__(self) -> int:
        with self._cond:
            return len(self._jobs)


class TaskRunner:
    """One worker thread running :class:`Job` s from a :class:`JobQueue`, reporting to ``listener``.

    The thread starts with the first :meth:`submit` (a feature that is never used costs no thread), is not a
    daemon, and ends at :meth:`close`. ``on_exit`` runs on the worker thread after its last job (releasing
    a model there).
    """

    def __init__(self, name: str, listener: Optional[TaskListener] = None,
                 on_exit: Optional[Callable[[], None]] = None) -> None:
        self.name = name
        self.listener: TaskListener = listener or NullListener()
        self._on_exit = on_exit
        self._queue = JobQueue()
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self._running: Optional[Job] = None
        self._outstanding = 0  # submitted jobs not yet run or dropped (idle = 0)
        self._closed = False

    # ------------------------------------------------------------------ any thread
    def submit(self, fn: Callable[[JobContext], Any], kind: str = "job", policy: Policy = Policy.QUEUED,
               token: Optional[CancelToken] = None) -> Job:
        """Queue ``fn`` (see :class:`Policy`); returns its :class:`Job`. ``token``: the job's cancel token when
        the caller made it already (e.g. it is the core's ``cancel`` flag of an operation's options). After
        :meth:`close`, the job is returned already cancelled and never runs."""
        job = Job(fn, kind, policy, token if token is not None else CancelToken())
        with self._lock:
            if self._closed:
                job.cancel()
                return job
            if policy is Policy.LATEST and self._running is not None and self._running.kind == kind:
                self._running.cancel()  # newest wins: the running one stops at its next check
            replaced = self._queue.put(job)
            self._outstanding += 1 - len(replaced)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self.name, daemon=False)
                self._thread.start()
        for old in replaced:  # outside the lock: a listener may submit again
            self._report(self.listener.cancelled, old)
        return job

    def cancel(self, kind: Optional[str] = None) -> None:
        """Cancel the running job and drop the waiting ones, of ``kind`` (all kinds when None)."""
        with self._lock:
            running = self._running
            dropped = self._queue.drop(kind)
            self._outstanding -= len(dropped)
        if running is not None and (kind is None or running.kind == kind):
            running.cancel()
        for job in dropped:
            self._report(self.listener.cancelled, job)

    @property
    def running(self) -> Optional[Job]:
        """The job in progress, if any."""
        return self._running

    @property
    def idle(self) -> bool:
        """Nothing running and nothing waiting."""
        return self._outstanding == 0

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def close(self, timeout: Optional[float] = None) -> bool:
        """Cancel everything and stop the thread after its current job; wait up to ``timeout`` seconds
        (None: until it has ended; 0: do not wait). Returns True when the thread has ended."""
        with self._lock:
            self._closed = True
            running = self._running
            dropped = self._queue.close()
            self._outstanding -= len(dropped)
        if running is not None:
            running.cancel()
        for job in dropped:
            self._report(self.listener.cancelled, job)
        thread = self._thread
        if thread is None:
            if self._on_exit is not None:
                self._on_exit()  # never started: nothing runs on another thread
                self._on_exit = None
            return True
        if timeout != 0 and thread is not threading.current_thread():
            thread.join(timeout)
        return not thread.is_alive()

    # ------------------------------------------------------------------ worker thread
    def _loop(self) -> None:
        try:
            while True:
                job = self._queue.take()
                if job is None:
                    return
                with self._lock:
                    self._running = job
                try:
                    self._run(job)
                finally:
                    with self._lock:
                        self._running = None
                        self._outstanding -= 1
                    job = None  # not kept until the next job: its function may hold the caller's objects
        finally:
            if self._on_exit is not None:
                try:
                    self._on_exit()
                except Exception:  # noqa: BLE001 - logged: the thread is ending anyway
                    log.exception("%s: releasing at exit failed", self.name)

    def _run(self, job: Job) -> None:
        if job.token.cancelled:
            self._report(self.listener.cancelled, job)
            return
        listener = self.listener
        self._report(listener.started, job)

        def progress(done: int, total: int, stage: str = "", item: Any = None) -> None:
            self._report(listener.progressed, job, int(done), int(total or 0), stage, item)

        ctx = JobContext(job, progress, lambda text: self._report(listener.message, job, text))
        try:
            result = job.fn(ctx)
        except CancelledError:
            self._report(listener.cancelled, job)
        except AnylabelError as e:  # an expected problem (a file, a model): a message, no traceback
            log.warning("%s: %s", self.name, e)
            self._report(listener.failed, job, error_message(e), e)
        except Exception as e:  # noqa: BLE001 - every failure must reach the user as a message
            log.exception("%s: job %s failed", self.name, job.kind)
            self._report(listener.failed, job, error_message(e), e)
        else:
            if job.token.cancelled:
                self._report(listener.cancelled, job)
            else:
                self._report(listener.finished, job, result)

    def _report(self, method: Callable[..., None], *args: Any) -> None:
        try:
            method(*args)
        except Exception:  # noqa: BLE001 - a listener's bug must not kill the worker thread
            log.exception("%s: listener %s failed", self.name, getattr(method, "__name__", method))
