"""Video frame sources: a video file (through OpenCV) or a folder of frame images, decoded on demand.

A :class:`FrameSource` is a random-access sequence of HxWx3 uint8 RGB frames. Nothing is decoded ahead:
``source[i]`` decodes frame ``i`` when it is asked for, and a small LRU keeps the last few decoded frames
(the GUI shows a frame while the tracker reads it; both hit the cache). A 10,000-frame video therefore
costs ``cache_size`` frames of memory, not 10,000.

* Video files (mp4, avi, mov, mkv, m4v, webm) are read with ``cv2.VideoCapture`` (no decord). Reading
  frame ``i + 1`` after frame ``i`` is the fast path (one ``read``); a short jump forward is served by
  ``grab`` without converting the skipped frames; anything else seeks (``CAP_PROP_POS_FRAMES``).
* A folder of frames is every image file in it (see :data:`anylabel.imaging.IMAGE_EXTENSIONS`) in natural
  order (``2.jpg`` before ``10.jpg``); each frame goes through :func:`anylabel.imaging.load_image`.
* A missing, unreadable or corrupt file raises :class:`ImageLoadError` naming it (and the frame index).

Sources are safe to use from two threads (GUI and tracker): decoding is serialised by a lock, and the cache
has its own, so a cached frame is answered while another thread decodes.

For a viewer (the video window), :class:`FrameReader` decodes in one background thread: the frame asked
for, then its neighbours; while the slider moves, the newest request wins and queued ones are dropped, so
scrubbing a 10,000-frame video never queues up seconds of decoding. ``benchmarks/video_open.py`` measures
opening, random seeks, sequential frames and scrubbing against raw ``cv2.VideoCapture``.
"""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from concurrent.futures import Future
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from anylabel.errors import ImageLoadError
from anylabel.imaging.loader import image_size, is_image_file, load_image

PathLike = Union[str, Path]

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm")

#: a forward jump of at most this many frames is decoded through (grab) instead of seeking
SEEK_THRESHOLD = 24


def is_video_file(path: PathLike) -> bool:
    """True when the file name has one of :data:`VIDEO_EXTENSIONS` (case-insensitive)."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


class FrameSource(ABC):
    """A random-access sequence of video frames, each HxWx3 uint8 RGB, decoded lazily.

    Attributes:
        path: the video file or the frame folder.
        fps: frames per second (``None`` for a folder of frames).
        cache_size: how many decoded frames the LRU keeps.
    """

    def __init__(self, path: PathLike, cache_size: int = 8) -> None:
        self.path = Path(path)
        self.fps: Optional[float] = None
        self.cache_size = max(0, int(cache_size))
        self._cache: "OrderedDict[int, np.ndarray]" = OrderedDict()
        self._lock = threading.Lock()  # the decoder: one decode at a time
        self._cache_lock = threading.Lock()  # the LRU: never held during a decode
        self.decoded = 0  # frames actually decoded (cache misses), for tests and benchmarks

    @abstractmethod
    def __len__(self) -> int:
        """Number of frames."""

    @property
    @abstractmethod
    def size(self) -> Tuple[int, int]:
        """(height, width) of every frame in pixels."""

    @abstractmethod
    def _decode(self, index: int) -> np.ndarray:
        """Decode frame ``index`` (already bounds-checked; called with the lock held)."""

    @abstractmethod
    def frame_name(self, index: int) -> str:
        """A file-name stem for frame ``index`` (annotation files are named after it)."""

    def frame_file(self, index: int) -> Optional[Path]:
        """The image file holding frame ``index``, or ``None`` when the frame lives inside a video file."""
        return None

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as HxWx3 uint8 RGB (negative indices count from the end).

        The returned array is shared with the cache: treat it as read-only.

        Raises:
            IndexError: ``index`` is out of range.
            ImageLoadError: the frame cannot be decoded.
        """
        n = len(self)
        i = int(index)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"frame {index} out of range (the video has {n} frames)")
        cached = self._cached(i)
        if cached is not None:
            return cached
        with self._lock:  # one decode at a time; the cache stays readable meanwhile (peek)
            cached = self._cached(i)  # decoded by another thread while this one waited
            if cached is not None:
                return cached
            img = self._decode(i)
            self.decoded += 1
            img.setflags(write=False)
            with self._cache_lock:
                if self.cache_size:
                    self._cache[i] = img
                    while len(self._cache) > self.cache_size:
                        self._cache.popitem(last=False)
            return img

    def _cached(self, i: int) -> Optional[np.ndarray]:
        with self._cache_lock:
            cached = self._cache.get(i)
            if cached is not None:
                self._cache.move_to_end(i)
            return cached

    __getitem__ = frame

    def peek(self, index: int) -> Optional[np.ndarray]:
        """Frame ``index`` if it is in the cache (never decodes, never waits for a decode): what a viewer
        can paint at once while the slider moves."""
        with self._cache_lock:
            return self._cache.get(int(index))

    def cached_indices(self) -> List[int]:
        """Indices of the frames the LRU holds, least recently used first."""
        with self._cache_lock:
            return list(self._cache)

    def close(self) -> None:
        """Release the decoder and the cached frames."""
        with self._cache_lock:
            self._cache.clear()

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        h, w = self.size
        return f"{type(self).__name__}({str(self.path)!r}, frames={len(self)}, size={w}x{h}, fps={self.fps})"


class FrameFolder(FrameSource):
    """The image files of a folder, in natural order, as the frames of a video."""

    def __init__(self, path: PathLike, cache_size: int = 8) -> None:
        super().__init__(path, cache_size)
        if not self.path.is_dir():
            raise ImageLoadError("no such folder" if not self.path.exists() else "not a folder", self.path)
        from natsort import natsorted

        try:
            files = [p for p in self.path.iterdir() if p.is_file() and is_image_file(p)]
        except OSError as e:
            raise ImageLoadError(f"cannot list the folder: {e.strerror or e}", self.path) from e
        self.files: List[Path] = natsorted(files, key=lambda p: p.name)
        if not self.files:
            raise ImageLoadError("the folder holds no image frames", self.path)
        self._size = image_size(self.files[0])

    def __len__(self) -> int:
        return len(self.files)

    @property
    def size(self) -> Tuple[int, int]:
        return self._size

    def frame_name(self, index: int) -> str:
        return self.files[index].stem

    def frame_file(self, index: int) -> Optional[Path]:
        return self.files[index]

    def _decode(self, index: int) -> np.ndarray:
        img = load_image(self.files[index])
        if img.shape[:2] != self._size:
            raise ImageLoadError(
                f"frame {index} is {img.shape[1]}x{img.shape[0]} but the first frame is "
                f"{self._size[1]}x{self._size[0]}; every frame of a video must have one size",
                self.files[index],
            )
        return img


class VideoFile(FrameSource):
    """The frames of a video file, decoded on demand through ``cv2.VideoCapture``."""

    def __init__(self, path: PathLike, cache_size: int = 8) -> None:
        super().__init__(path, cache_size)
        import cv2

        if not self.path.is_file():
            raise ImageLoadError("no such video file" if not self.path.exists() else "not a file", self.path)
        self._cv2 = cv2
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise ImageLoadError("cannot open the video (unknown or corrupt format)", self.path)
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if fps > 0 else None
        self._pos = 0  # the index of the frame the next read() returns
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        first = self._read_next()
        if first is None:
            self._cap.release()
            raise ImageLoadError("the video has no decodable frame (corrupt or empty)", self.path)
        self._size = first.shape[:2]
        if count <= 0:  # some containers do not store a frame count: count by grabbing once
            count = 1 + self._grab_to_end()
            self._seek(1)
        self._len = count
        if self.cache_size:
            first.setflags(write=False)
            self._cache[0] = first

    def __len__(self) -> int:
        return self._len

    @property
    def size(self) -> Tuple[int, int]:
        return self._size

    def frame_name(self, index: int) -> str:
        return f"{self.path.stem}_{index:06d}"

    def _read_next(self) -> Optional[np.ndarray]:
        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            return None
        self._pos += 1
        return self._cv2.cvtColor(bgr, self._cv2.COLOR_BGR2RGB)

    def _grab_to_end(self) -> int:
        n = 0
        while self._cap.grab():
            n += 1
        return n

    def _seek(self, index: int) -> None:
        self._cap.set(self._cv2.CAP_PROP_POS_FRAMES, index)
        self._pos = index

    def _decode(self, index: int) -> np.ndarray:
        if self._cap is None:
            raise ImageLoadError("the video was closed", self.path)
        if index < self._pos or index > self._pos + SEEK_THRESHOLD:
            self._seek(index)
        while self._pos < index:  # short forward jump: grab without converting the skipped frames
            if not self._cap.grab():
                break
            self._pos += 1
        img = self._read_next() if self._pos == index else None
        if img is None:
            self._pos = -SEEK_THRESHOLD - 1  # unknown position: the next request seeks
            raise ImageLoadError(f"cannot decode frame {index} of {len(self)} (corrupt or truncated video)",
                                 self.path)
        if img.shape[:2] != self._size:
            raise ImageLoadError(f"frame {index} has size {img.shape[1]}x{img.shape[0]}, the video "
                                 f"{self._size[1]}x{self._size[0]}", self.path)
        return img

    def close(self) -> None:
        super().close()
        with self._lock:
            if self._cap is not None:
                self._cap.release()
                self._cap = None


def open_frames(path: PathLike, cache_size: int = 8) -> FrameSource:
    """Open a video file or a folder of frames as a :class:`FrameSource`.

    Raises:
        ImageLoadError: the path is missing, of an unsupported type, or holds no decodable frame.
    """
    p = Path(path)
    if p.is_dir():
        return FrameFolder(p, cache_size)
    if not p.exists():
        raise ImageLoadError("no such video file or frame folder", p)
    if not is_video_file(p):
        raise ImageLoadError(
            f"not a video (expected a folder of frames or one of {', '.join(VIDEO_EXTENSIONS)})", p
        )
    return VideoFile(p, cache_size)


class FrameReader:
    """Frames for a viewer: decoded in one background thread, the newest request first.

    Args:
        source: the video's frames (its LRU is the cache: ``cache_size`` frames).
        neighbours: offsets decoded ahead after a frame is shown (Next / Prev: +1, -1).

    * :meth:`get` (the frame to paint now): from the cache, from a decode in flight (waits for it), or
      decoded in the caller's thread; raises ImageLoadError / IndexError as :meth:`FrameSource.frame`.
    * :meth:`request` (slider moving): a ``Future`` of the frame, done at once when cached; requests
      queued and not started yet are cancelled, so only the newest position is decoded next.
    * :meth:`prefetch`: decode some frames in the background (queued ones not in the list are dropped).
    """

    def __init__(self, source: FrameSource, neighbours: Tuple[int, ...] = (1, -1)) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.source = source
        self.neighbours = tuple(int(n) for n in neighbours)
        self._lock = threading.Lock()
        self._queued: "OrderedDict[int, Future]" = OrderedDict()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="anylabel-frames")

    def get(self, index: int) -> np.ndarray:
        """Frame ``index`` now, then its neighbours queued in the background."""
        index = self._index(index)
        with self._lock:
            running = self._queued.get(index)
            if running is not None and running.cancel():  # not started: decoded here instead
                del self._queued[index]
                running = None
        image = None
        if running is not None:
            try:
                image = running.result()
            except (ImageLoadError, IndexError):
                image = None  # decoded again below, to raise in this thread
        if image is None:
            image = self.source.frame(index)
        self.prefetch([index + n for n in self.neighbours])
        return image

    def request(self, index: int) -> Future:
        """A future of frame ``index``; queued requests for other frames are cancelled (newest wins)."""
        index = self._index(index)
        cached = self.source.peek(index)
        if cached is not None:
            done: Future = Future()
            done.set_result(cached)
            return done
        with self._lock:
            self._drop_queued(keep=(index,))
            future = self._queued.get(index)
            if future is None:
                future = self._queued[index] = self._pool.submit(self._decode, index)
            return future

    def prefetch(self, indices: Sequence[int]) -> None:
        """Decode ``indices`` (those inside the video) in the background, in order."""
        n = len(self.source)
        wanted = [int(i) for i in indices if 0 <= int(i) < n]
        with self._lock:
            self._drop_queued(keep=wanted)
            for i in wanted:
                if i not in self._queued and self.source.peek(i) is None:
                    self._queued[i] = self._pool.submit(self._decode, i)

    def close(self) -> None:
        """Drop the queue (a decode already running finishes); the source stays open."""
        with self._lock:
            self._drop_queued(keep=())
        self._pool.shutdown(wait=False)

    def _decode(self, index: int) -> np.ndarray:
        try:
            return self.source.frame(index)
        finally:
            with self._lock:
                self._queued.pop(index, None)

    def _drop_queued(self, keep: Sequence[int]) -> None:
        for i, future in list(self._queued.items()):
            if i not in keep and future.cancel():
                del self._queued[i]

    def _index(self, index: int) -> int:
        n = len(self.source)
        i = int(index) + (n if int(index) < 0 else 0)
        if not 0 <= i < n:
            raise IndexError(f"frame {index} out of range (the video has {n} frames)")
        return i
