"""Per-file work of an export on every core: a process pool over chunks of files, or a plain loop.

Reading and validating LabelMe files and rasterising their instances is pure CPU work per file, so an
export maps a top-level function over its files (:func:`map_files`). Small inputs run in this process:
below :data:`SERIAL_BELOW` files, or with one usable core, a pool costs more than it saves (starting a
worker imports numpy, PIL and shapely again: about 0.4 s).

* Workers: ``Options.workers`` when set, else ``$ANYLABEL_WORKERS``, else the cores this process may
  run on (``os.sched_getaffinity``). ``1`` means no pool.
* Start method: ``fork`` when this process runs a single thread (the command line: a worker starts in
  milliseconds), else ``forkserver`` (the GUI runs exports in a thread, and forking a threaded process can
  copy a held lock), or ``spawn`` where neither exists (Windows, macOS defaults).
* Results come back in input order; progress is reported per finished chunk; a cancel (or Ctrl+C, which
  the workers ignore so only this process handles it) stops submitting, waits for the chunks already
  running (they may be writing into the staging folder, which must not be removed under them) and raises.
* An exception in a worker (a full disk) is raised here, after the running chunks have finished.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Callable, Dict, List, Optional, Sequence, TypeVar

from anylabel.errors import AnylabelError, CancelledError
from anylabel.formats.base import Options

T = TypeVar("T")
R = TypeVar("R")

#: inputs smaller than this run in this process (measured: 200 files of 20 polygons take ~0.8 s serially,
#: about what starting the workers and shipping the results costs on 2 cores)
SERIAL_BELOW = 200


def worker_count(options: Optional[Options] = None) -> int:
    """How many processes an export may use (see the module docstring)."""
    if options is not None and options.workers is not None:
        return max(1, int(options.workers))
    env = os.environ.get("ANYLABEL_WORKERS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise AnylabelError(f"ANYLABEL_WORKERS must be a whole number, got {env!r}") from None
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _start_method() -> str:
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_chunk(fn: Callable[[T], R], jobs: List[T]) -> List[R]:
    return [fn(job) for job in jobs]


def map_files(fn: Callable[[T], R], jobs: Sequence[T], options: Options, stage: str,
              serial_below: Optional[int] = None) -> List[R]:
    """``[fn(job) for job in jobs]``, on a process pool when that pays (see the module docstring).

    ``fn`` must be a module-level function and ``jobs`` / results picklable. ``options.tick(done, total,
    stage)`` reports progress and raises :class:`CancelledError` once ``options.cancel`` is set.
    """
    total = len(jobs)
    serial_below = SERIAL_BELOW if serial_below is None else serial_below
    workers = min(worker_count(options), max(1, total))
    if workers <= 1 or total < serial_below:
        out = []
        for k, job in enumerate(jobs):
            options.tick(k, total, stage)
            out.append(fn(job))
        return out
    size = max(8, min(256, total // (workers * 6) or 1))  # a few chunks per worker: balance and progress
    chunks = [list(jobs[i : i + size]) for i in range(0, total, size)]
    results: Dict[int, List[R]] = {}
    ctx = multiprocessing.get_context(_start_method())
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_ignore_sigint)
    try:
        pending: Dict[Future, int] = {pool.submit(_run_chunk, fn, c): i for i, c in enumerate(chunks)}
        done_files = 0
        options.tick(0, total, stage)
        while pending:
            finished, _ = wait(list(pending), timeout=0.2, return_when=FIRST_COMPLETED)
            for fut in finished:
                i = pending.pop(fut)
                results[i] = fut.result()
                done_files += len(chunks[i])
            if options.cancel.is_set():
                raise CancelledError("cancelled by the user")
            if finished:
                options.tick(done_files, total, stage)
    finally:
        # wait for running chunks (they may write into the staging folder), drop the queued ones
        pool.shutdown(wait=True, cancel_futures=True)
    return [r for i in range(len(chunks)) for r in results[i]]
