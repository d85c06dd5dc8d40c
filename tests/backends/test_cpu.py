"""CPU runtime settings of the click path (anylabel.backends.cpu)."""
from __future__ import annotations

import os
import sys
import threading

import pytest
import torch

from anylabel.backends import cpu


def test_click_threads_uses_idle_cores_and_restores_torch_threads(monkeypatch) -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        monkeypatch.setattr(cpu, "idle_cores", lambda: 1)  # another task is running on the other core
        with cpu.click_threads() as n:
            assert n == 1 and torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        monkeypatch.setattr(cpu, "idle_cores", lambda: 8)  # never more than torch's setting
        with cpu.click_threads() as n:
            assert n == 2 and torch.get_num_threads() == 2
        monkeypatch.setattr(cpu, "idle_cores", lambda: 1)
        with pytest.raises(RuntimeError):
            with cpu.click_threads():
                raise RuntimeError("decoder failed")
        assert torch.get_num_threads() == 2  # restored on errors too
    finally:
        torch.set_num_threads(before)


@pytest.mark.skipif(not os.path.exists("/proc/loadavg"), reason="Linux only")
def test_idle_cores_counts_other_runnable_tasks(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(cpu, "cores", lambda: 4)
    real_open = open

    def fake(running):
        def opener(path, *args, **kwargs):
            if path == "/proc/loadavg":
                target = tmp_path / "loadavg"
                target.write_text(f"0.50 0.40 0.30 {running}/300 12345\n")
                return real_open(target, *args, **kwargs)
            return real_open(path, *args, **kwargs)
        return opener

    monkeypatch.setattr(cpu, "_own_running", lambda: 1)  # the caller
    for running, idle in [(1, 4), (2, 3), (4, 1), (9, 1)]:
        monkeypatch.setattr("builtins.open", fake(running))
        assert cpu.idle_cores() == idle
    # this process's own runnable threads (e.g. OpenMP workers still spinning) are not other tasks
    monkeypatch.setattr(cpu, "_own_running", lambda: 3)
    monkeypatch.setattr("builtins.open", fake(4))
    assert cpu.idle_cores() == 3


def test_own_running_counts_this_process() -> None:
    if not os.path.isdir("/proc/self/task"):
        pytest.skip("no /proc")
    assert 1 <= cpu._own_running() <= len(os.listdir("/proc/self/task"))  # at least the caller


def test_clicks_use_one_thread_while_an_image_is_encoded(monkeypatch) -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        monkeypatch.setattr(cpu, "idle_cores", lambda: 2)
        with cpu.encoding():
            with cpu.click_threads() as n:
                assert n == 1
        with cpu.click_threads() as n:
            assert n == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux-only")
def test_background_priority_lowers_only_the_calling_thread() -> None:
    assert cpu.background_priority() is False  # never the main thread
    main_nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen = {}

    def worker() -> None:
        tid = threading.get_native_id()
        seen["before"] = os.getpriority(os.PRIO_PROCESS, tid)
        seen["ok"] = cpu.background_priority(nice=5)
        seen["again"] = cpu.background_priority(nice=5)  # once per thread, not cumulative
        seen["after"] = os.getpriority(os.PRIO_PROCESS, tid)

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen["ok"] and seen["again"]
    assert seen["after"] == min(19, seen["before"] + 5)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main_nice


def test_tune_allocator_is_applied_once() -> None:
    first = cpu.tune_allocator()
    assert cpu.tune_allocator() is first
    if sys.platform.startswith("linux") and os.environ.get("ANYLABEL_MALLOC_TUNING", "1") != "0":
        assert first is True  # glibc
