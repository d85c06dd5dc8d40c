"""CPU runtime settings for interactive decoding: the allocator, and how many threads a click may use.

Both matter as much as the arithmetic on a small CPU (numbers: SAM vit_b decoder, 4000x3000 image, this
project's 2-core machine; see benchmarks/click_latency.py):

* :func:`tune_allocator`: glibc's malloc gives large freed blocks back to the kernel (chunks above its
  mmap threshold are unmapped, the heap top is trimmed), so the ~25 MB of temporary tensors of every click
  are page-faulted in again: ~6000 minor faults, 8-10 ms of a ~35 ms single-thread decode. A fixed mmap
  threshold of 32 MB (glibc's own ceiling for its dynamic threshold) and a 64 MB trim threshold keep those
  pages mapped (0 faults per click); the price is up to 64 MB of freed memory kept per malloc arena. Set
  ``ANYLABEL_MALLOC_TUNING=0`` to leave malloc alone. A no-op outside glibc.
* :func:`click_threads`: torch's intra-op threads (OpenMP) split every large operation evenly and wait at
  its end for all of them. When another process or our own prefetcher is running on a core, the thread
  that lands on it waits for the scheduler at each of the decoder's ~50 parallel regions: 2 threads took
  670 ms per click instead of 34 ms with 1. A click therefore uses as many threads as there are idle
  cores right now (runnable tasks of other processes, from ``/proc/loadavg``), at most torch's setting, and
  1 while this process encodes an image (:func:`encoding`).
* :func:`background_priority`: the prefetcher's encoder runs for seconds on every core; a click arriving
  meanwhile shared the CPU with it as an equal. The encoding thread (and the OpenMP threads it starts,
  which inherit its priority) runs at nice 10 instead, so a click takes the cores when it needs them and
  the prefetch goes on in the remaining time (measured: decoder during a background encode 221 -> 109 ms
  on a machine that was busy with another process too).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from contextlib import contextmanager
from typing import Iterator, Optional

from anylabel.devices import cores  # noqa: F401 - the CPUs this process may run on (used here and re-exported)

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc <malloc.h>
_tuned: Optional[bool] = None
_tune_lock = threading.Lock()


def tune_allocator(mmap_threshold_mb: int = 32, trim_threshold_mb: int = 64) -> bool:
    """Keep freed tensor memory mapped (see the module docstring); once per process. True when applied."""
    global _tuned
    with _tune_lock:
        if _tuned is not None:
            return _tuned
        _tuned = False
        if os.environ.get("ANYLABEL_MALLOC_TUNING", "1") == "0":
            return False
        name = ctypes.util.find_library("c")
        try:
            libc = ctypes.CDLL(name)
            mallopt = libc.mallopt
        except (OSError, AttributeError, TypeError):  # not glibc (macOS, Windows, musl without mallopt)
            return False
        mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        _tuned = bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold_mb << 20)) and \
            bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold_mb << 20))
        return _tuned


def _own_running() -> int:
    """Threads of this process that are runnable right now (``/proc/self/task/*/stat`` state R), 0 if unknown."""
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return 0
    n = 0
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/stat", "rb") as f:
                stat = f.read()
        except OSError:  # the thread ended meanwhile
            continue
        end = stat.rfind(b")")  # the command name may contain spaces and parentheses
        n += stat[end + 2:end + 3] == b"R"
    return n


def idle_cores() -> int:
    """Cores not used by another process's runnable task right now (Linux: ``/proc/loadavg`` minus this
    process's own runnable threads; else all cores). At least 1.

    Our own threads are not counted: right after a parallel operation torch's OpenMP workers spin for a few
    milliseconds (they would make the next click look like it had company). In-process work that does use
    the cores (an image being encoded) is reported by :func:`encoding` instead.
    """
    n = cores()
    try:
        with open("/proc/loadavg", "rb") as f:
            running = int(f.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return n
    return max(1, n - max(0, running - max(1, _own_running())))


_encodes = 0
_encodes_lock = threading.Lock()


@contextmanager
def encoding() -> Iterator[None]:
    """Mark an image encoder run (seconds on every core) in this process: clicks meanwhile use 1 thread."""
    global _encodes
    with _encodes_lock:
        _encodes += 1
    try:
        yield
    finally:
        with _encodes_lock:
            _encodes -= 1


@contextmanager
def click_threads() -> Iterator[int]:
    """Run the block with ``min(torch's threads, idle cores)`` intra-op threads (1 during an encode); yields
    that number.

    ``torch.set_num_threads`` sets the calling thread's OpenMP/MKL threads and torch's default for threads
    that have not run a parallel operation yet; it is restored on exit, so only such a thread starting its
    first parallel operation during a click could pick up the reduced count.
    """
    import torch

    configured = torch.get_num_threads()
    n = 1 if _encodes else min(configured, idle_cores())
    if n != configured:
        torch.set_num_threads(n)
    try:
        yield n
    finally:
        if n != configured:
            torch.set_num_threads(configured)


_lowered = threading.local()


def background_priority(nice: int = 10) -> bool:
    """Lower the calling thread's CPU priority by ``nice`` (Linux threads other than the main thread; once per
    thread, permanently: raising it back needs privileges). True when the thread runs at the lowered priority.

    Call it in a thread dedicated to background work before its first torch call, so that the OpenMP worker
    threads torch starts for it inherit the priority.
    """
    if getattr(_lowered, "done", False):
        return True
    if threading.current_thread() is threading.main_thread() or not hasattr(os, "setpriority"):
        return False
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except OSError:  # not permitted (containers, other OSes): leave the priority alone
        return False
    _lowered.done = True
    return True
