"""Decode the images the user will open next in a background thread, so that Next / Prev show at once.

Why: decoding a 12 MP JPEG takes ~250 ms here, and the GUI needs the pixels before it can paint. Annotators
move through a folder in order, so while one image is on screen the next (and previous) ones are decoded
by one background thread into a small cache bounded by count and memory. :meth:`ImageReadAhead.get` returns
a cached or in-flight image (waiting for the decode already running rather than starting a second one) and
decodes synchronously only on a miss, so callers keep a simple "give me the pixels" call.

Entries are keyed by path, size and modification time: a file changed on disk is decoded again. A failed
background decode is not cached: ``get`` decodes again in the caller's thread and raises the loader's error
(:class:`~anylabel.errors.ImageLoadError`, naming the file) there.

Qt-free on purpose: the GUI uses it, and tests drive it directly.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Dict, Iterable, Optional, Tuple

import numpy as np

from anylabel.imaging.loader import load_image

Key = Tuple[str, int, int]  # resolved path, size in bytes, mtime in ns


def _key(path: os.PathLike | str) -> Optional[Key]:
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return None  # missing: the loader reports it, naming the file
    return (str(p.resolve()), st.st_size, st.st_mtime_ns)


class ImageReadAhead:
    """A background decoder with a bounded cache of decoded images.

    Args:
        max_images: decoded images kept (the current one and its neighbours).
        max_mb: memory bound of the kept images (the newest one is kept even when larger).
        loader: ``fn(path) -> HxWx3 uint8``; :func:`~anylabel.imaging.loader.load_image` by default.
    """

    def __init__(self, max_images: int = 4, max_mb: float = 512.0,
                 loader: Callable[[os.PathLike | str], np.ndarray] = load_image) -> None:
        self.max_images = max(1, int(max_images))
        self.max_bytes = int(max_mb * 1e6)
        self.loader = loader
        self._lock = threading.Lock()
        self._done: "OrderedDict[Key, np.ndarray]" = OrderedDict()
        self._running: Dict[Key, Future] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="anylabel-readahead")
        self.hits = self.misses = 0

    def get(self, path: os.PathLike | str) -> np.ndarray:
        """The decoded image at ``path``: from the cache, from the decode in flight, or decoded now.

        A decode done here is registered as in flight too, so another thread asking for the same image (the
        embedding prefetch, a read-ahead) waits for it instead of decoding it a second time.

        Raises:
            ImageLoadError: the file is missing, not an image, corrupt or truncated.
        """
        key = _key(path)
        mine: Optional[Future] = None
        if key is not None:
            with self._lock:
                image = self._done.get(key)
                if image is not None:
                    self._done.move_to_end(key)
                    self.hits += 1
                    return image
                future = self._running.get(key)
                if future is None:
                    mine = self._running[key] = Future()
                    mine.set_running_or_notify_cancel()  # running: prefetch() cannot cancel it
            if future is not None:
                try:
                    image = future.result()
                except Exception:  # noqa: BLE001 - decoded again below, in this thread, to raise there
                    image = None
                if image is not None:
                    self.hits += 1
                    return image
        self.misses += 1
        image = None
        try:
            image = self.loader(path)
            return image
        finally:
            if mine is not None:
                with self._lock:  # cached and no longer in flight in one step (see _decode)
                    if image is not None:
                        self._keep(key, image)
                    self._running.pop(key, None)
                mine.set_result(image)  # None after a failure: waiters decode themselves, to raise there

    def prefetch(self, paths: Iterable[os.PathLike | str]) -> None:
        """Decode ``paths`` in the background, in order; queued decodes of other paths are dropped."""
        wanted = [k for k in (_key(p) for p in paths) if k is not None]
        with self._lock:
            for key, future in list(self._running.items()):
                if key not in wanted and future.cancel():  # not started yet: no longer needed
                    del self._running[key]
            for key in wanted:
                if key in self._done or key in self._running:
                    continue
                self._running[key] = self._pool.submit(self._decode, key)

    def _decode(self, key: Key) -> Optional[np.ndarray]:
        try:
            image = self.loader(key[0])
        except Exception:  # noqa: BLE001 - reported by get() in the caller's thread, never cached
            image = None
        with self._lock:  # stored and no longer running in one step: get() sees one or the other
            if image is not None:
                self._keep(key, image)
            self._running.pop(key, None)
        return image

    def _keep(self, key: Key, image: np.ndarray) -> None:
        """Cache ``image`` as the newest entry and evict the oldest beyond the bounds (lock held)."""
        self._done[key] = image
        self._done.move_to_end(key)
        total = sum(a.nbytes for a in self._done.values())
        while len(self._done) > 1 and (len(self._done) > self.max_images or total > self.max_bytes):
            _, old = self._done.popitem(last=False)
            total -= old.nbytes

    def cached(self, path: os.PathLike | str) -> bool:
        """Whether ``path``'s current content is decoded and kept."""
        key = _key(path)
        with self._lock:
            return key is not None and key in self._done

    def close(self) -> None:
        """Drop queued decodes and the cache (a decode already running finishes in the background)."""
        with self._lock:
            for future in self._running.values():
                future.cancel()
            self._running.clear()
            self._done.clear()
        self._pool.shutdown(wait=False)
