"""ImageReadAhead: neighbours decoded in the background, one decode per image, bounded memory, errors raised
in the caller's thread naming the file, changed files decoded again."""
from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anylabel.errors import ImageLoadError
from anylabel.imaging.loader import load_image
from anylabel.imaging.readahead import ImageReadAhead


def _images(folder: Path, n: int, size=(64, 48)) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"{i:03d}.png"
        Image.fromarray(np.full((size[1], size[0], 3), i * 10, dtype=np.uint8)).save(p)
        paths.append(p)
    return paths


class CountingLoader:
    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list = []
        self.threads: list = []
        self.delay = delay

    def __call__(self, path):
        self.calls.append(Path(path).name)
        self.threads.append(threading.get_ident())
        time.sleep(self.delay)
        return load_image(path)


def _wait(cond, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


def test_prefetched_image_is_decoded_once_in_the_background(tmp_path) -> None:
    paths = _images(tmp_path, 3)
    loader = CountingLoader()
    ra = ImageReadAhead(loader=loader)
    ra.prefetch([paths[1], paths[2]])
    _wait(lambda: ra.cached(paths[1]) and ra.cached(paths[2]))
    assert all(t != threading.get_ident() for t in loader.threads)  # not this (the GUI's) thread
    image = ra.get(paths[1])
    assert image.shape == (48, 64, 3) and image[0, 0, 0] == 10
    assert loader.calls == ["001.png", "002.png"]  # get() did not decode again
    assert ra.hits == 1 and ra.misses == 0
    ra.prefetch([paths[1]])  # already cached: nothing queued
    assert loader.calls == ["001.png", "002.png"]
    ra.close()


def test_get_waits_for_the_decode_in_flight_instead_of_starting_another(tmp_path) -> None:
    paths = _images(tmp_path, 1)
    loader = CountingLoader(delay=0.3)
    ra = ImageReadAhead(loader=loader)
    ra.prefetch(paths)
    _wait(lambda: loader.calls)  # the background decode has started
    assert ra.get(paths[0])[0, 0, 0] == 0
    assert loader.calls == ["000.png"]
    ra.close()


def test_a_miss_decodes_in_the_callers_thread(tmp_path) -> None:
    paths = _images(tmp_path, 1)
    loader = CountingLoader()
    ra = ImageReadAhead(loader=loader)
    ra.get(paths[0])
    assert loader.threads == [threading.get_ident()] and ra.misses == 1
    ra.get(paths[0])
    assert len(loader.calls) == 1 and ra.hits == 1
    ra.close()


def test_bounded_by_count_and_memory(tmp_path) -> None:
    paths = _images(tmp_path, 5, size=(100, 100))  # 30 kB each
    ra = ImageReadAhead(max_images=2, max_mb=1.0)
    for p in paths:
        ra.get(p)
    assert [ra.cached(p) for p in paths] == [False, False, False, True, True]
    small = ImageReadAhead(max_images=10, max_mb=0.05)  # room for one image only
    for p in paths[:3]:
        small.get(p)
    assert [small.cached(p) for p in paths[:3]] == [False, False, True]  # the newest is always kept
    ra.close()
    small.close()


def test_a_changed_file_is_decoded_again(tmp_path) -> None:
    paths = _images(tmp_path, 2)
    ra = ImageReadAhead()
    assert ra.get(paths[0])[0, 0, 0] == 0
    shutil.copy(paths[1], paths[0])
    st = paths[1].stat()
    os.utime(paths[0], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a newer modification time
    assert ra.get(paths[0])[0, 0, 0] == 10
    ra.close()


def test_errors_are_raised_by_get_naming_the_file_and_never_cached(tmp_path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8not really a jpeg")
    ra = ImageReadAhead()
    ra.prefetch([bad, tmp_path / "missing.png"])
    _wait(lambda: not ra._running)
    assert not ra.cached(bad)
    with pytest.raises(ImageLoadError) as e:
        ra.get(bad)
    assert "broken.jpg" in str(e.value)
    with pytest.raises(ImageLoadError, match="missing.png"):
        ra.get(tmp_path / "missing.png")
    ra.close()


def test_prefetch_drops_queued_paths_that_are_no_longer_wanted(tmp_path) -> None:
    paths = _images(tmp_path, 4)
    loader = CountingLoader(delay=0.2)
    ra = ImageReadAhead(loader=loader)
    ra.prefetch(paths[:3])  # 000 starts, 001 and 002 wait
    _wait(lambda: loader.calls)
    ra.prefetch([paths[3]])  # the user jumped elsewhere
    _wait(lambda: ra.cached(paths[3]))
    assert "001.png" not in loader.calls and "002.png" not in loader.calls
    ra.close()


def test_concurrent_gets_and_prefetch_decode_an_image_once(tmp_path) -> None:
    """The GUI thread, the embedding prefetch and the read-ahead asking for one image at once: one decode."""
    paths = _images(tmp_path, 1)
    loader = CountingLoader(delay=0.3)
    ra = ImageReadAhead(loader=loader)
    results = []
    threads = [threading.Thread(target=lambda: results.append(ra.get(paths[0]))) for _ in range(3)]
    threads[0].start()
    _wait(lambda: loader.calls)  # the first get() is decoding in its thread
    for t in threads[1:]:
        t.start()
    ra.prefetch(paths)  # in flight already: not queued again
    for t in threads:
        t.join(10)
    assert loader.calls == ["000.png"] and len(results) == 3
    assert all(r is results[0] for r in results)
    ra.close()


def test_waiters_on_a_failed_decode_raise_their_own_error(tmp_path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    loader = CountingLoader(delay=0.2)
    ra = ImageReadAhead(loader=loader)
    errors = []

    def get() -> None:
        try:
            ra.get(bad)
        except ImageLoadError as e:
            errors.append(str(e))

    threads = [threading.Thread(target=get) for _ in range(2)]
    threads[0].start()
    _wait(lambda: loader.calls)
    threads[1].start()
    for t in threads:
        t.join(10)
    assert len(errors) == 2 and all("broken.png" in e for e in errors)
    assert not ra.cached(bad)
    ra.close()
