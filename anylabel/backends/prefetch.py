"""Encode the next images in the background so that moving to them needs no wait.

One long-lived daemon thread per :class:`Prefetcher` works through a list of image files: for each file not
yet in the segmenter's embedding cache it decodes the image and runs ``segmenter.encode`` (which stores the
embedding without changing the segmenter's current image). ``prefetch(paths)`` replaces the list (the GUI
calls it on every image switch); ``cancel()`` empties it.

Cancellation is checked before each image and between decoding and encoding; an encoder run already under
way finishes (torch cannot be interrupted mid-forward) and its embedding is kept. When a click needs an
image the prefetcher is encoding, the segmenter waits for that run instead of starting a second one.
Plain threading: no Qt here (the GUI wraps it).
"""
from __future__ import annotations

import threading
from collections import deque
from pathlib import Path
from typing import Callable, Deque, List, Optional, Sequence, Tuple, Union

import numpy as np

from anylabel.backends.base import Segmenter
from anylabel.errors import AnylabelError

PathLike = Union[str, Path]


class Prefetcher:
    """Background encoder for a :class:`Segmenter`.

    Attributes:
        encoded: paths encoded by this prefetcher, in order.
        errors: (path, error) of images that failed (unreadable file, model error); the batch goes on.
    """

    def __init__(self, segmenter: Segmenter,
                 on_encoded: Optional[Callable[[Path, str], None]] = None,
                 load_image: Optional[Callable[[Path], np.ndarray]] = None) -> None:
        self.segmenter = segmenter
        self.on_encoded = on_encoded  # called from the worker thread with (path, key)
        # the GUI passes its display read-ahead (anylabel.imaging.readahead): one decode serves both
        self.load_image = load_image
        self.encoded: List[Path] = []
        self.errors: List[Tuple[Path, Exception]] = []
        self._cond = threading.Condition()
        self._pending: Deque[Path] = deque()
        self._generation = 0
        self._busy = False
        self._closed = False
        self._thread: Optional[threading.Thread] = None

    def prefetch(self, paths: Sequence[PathLike]) -> None:
        """Encode ``paths`` (in order) in the background, replacing whatever was still pending."""
        with self._cond:
            if self._closed:
                raise RuntimeError("prefetcher is closed")
            self._generation += 1
            self._pending = deque(Path(p) for p in paths)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="anylabel-prefetch", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def cancel(self) -> None:
        """Drop every pending image; the one being encoded (if any) completes."""
        with self._cond:
            self._generation += 1
            self._pending.clear()
            self._cond.notify_all()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until nothing is pending or running; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def close(self, timeout: Optional[float] = 5.0) -> None:
        """Cancel and stop the worker thread."""
        with self._cond:
            self._closed = True
            self._pending.clear()
            self._generation += 1
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    # ---------------------------------------------------------------- worker
    def _run(self) -> None:
        from anylabel.imaging import loader  # attribute lookup at call time (tests count load_image calls)

        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._closed)
                if self._closed:
                    return
                path = self._pending.popleft()
                generation = self._generation
                self._busy = True
            try:
                key = loader.file_key(path)
                if self.segmenter.has_embedding(key) or self._stale(generation):
                    continue
                image = (self.load_image or loader.load_image)(path)
                if self._stale(generation):
                    continue  # cancelled while decoding: skip the expensive part
                self.segmenter.encode(image, key)
                self.encoded.append(path)
                if self.on_encoded is not None:
                    self.on_encoded(path, key)
            except (AnylabelError, OSError, ValueError, RuntimeError) as e:
                self.errors.append((path, e))  # reported to whoever asks; the batch goes on
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _stale(self, generation: int) -> bool:
        with self._cond:
            return generation != self._generation or self._closed
