"""The embedding cache: image embeddings by (model name, image content key), LRU, bounded in megabytes.

Encoding an image is the expensive step of every SAM-style model (seconds on a CPU); everything after it
(a click) takes milliseconds. Keeping recent embeddings means that going back to an image, or arriving at
one the prefetcher already encoded, needs no encoder run and no image decoding at all.

Keys are ``(model_name, image_key)`` where ``image_key`` is :func:`anylabel.imaging.file_key` of the file (a
content hash, so a renamed file hits and an edited file misses). Values are whatever an adapter stores:
tensors, arrays or dicts/lists/tuples of them; their size is measured, not guessed.

All methods are thread-safe: the GUI worker, the prefetcher and a CLI batch may share one cache.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any, Hashable, List, Optional, Tuple

from anylabel.errors import ConfigError

#: default bound of the shared cache; override with ``ANYLABEL_EMBEDDING_CACHE_MB`` or ``set_max_mb``.
DEFAULT_MAX_MB = 1024.0
ENV_CACHE_MB = "ANYLABEL_EMBEDDING_CACHE_MB"

CacheKey = Tuple[str, Hashable]


def nbytes_of(value: Any) -> int:
    """Bytes held by the arrays/tensors in ``value`` (recursing into dicts, lists, tuples and dataclasses).

    numpy arrays count ``nbytes``; torch tensors count ``element_size() * numel()`` (duck-typed, so torch is
    not imported here). Other objects count a nominal 64 bytes.
    """
    if value is None:
        return 0
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int) and not isinstance(value, (bytes, bytearray)):
        return nbytes
    if hasattr(value, "element_size") and hasattr(value, "numel"):
        return int(value.element_size() * value.numel())
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, dict):
        return sum(nbytes_of(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(nbytes_of(v) for v in value)
    if hasattr(value, "__dataclass_fields__"):
        return sum(nbytes_of(getattr(value, f)) for f in value.__dataclass_fields__)
    return 64


class EmbeddingCache:
    """A thread-safe LRU map ``(model_name, image_key) -> embedding`` bounded by ``max_mb`` megabytes.

    A value larger than the whole bound is not stored (it would evict everything and then itself).
    """

    def __init__(self, max_mb: float = DEFAULT_MAX_MB) -> None:
        self._lock = threading.Lock()
        self._items: "OrderedDict[CacheKey, Tuple[Any, int]]" = OrderedDict()
        self._bytes = 0
        self._max_bytes = int(max_mb * 1024 * 1024)
        self.hits = 0
        self.misses = 0

    @property
    def max_mb(self) -> float:
        return self._max_bytes / (1024 * 1024)

    def set_max_mb(self, max_mb: float) -> None:
        """Change the bound; evicts least-recently-used entries at once if needed."""
        with self._lock:
            self._max_bytes = int(max_mb * 1024 * 1024)
            self._evict()

    @property
    def size_bytes(self) -> int:
        with self._lock:
            return self._bytes

    def get(self, model: str, key: Hashable) -> Optional[Any]:
        """The cached value (and mark it most recently used), or ``None``."""
        with self._lock:
            item = self._items.get((model, key))
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end((model, key))
            self.hits += 1
            return item[0]

    def contains(self, model: str, key: Hashable) -> bool:
        """True when cached; does not change the LRU order."""
        with self._lock:
            return (model, key) in self._items

    def put(self, model: str, key: Hashable, value: Any, nbytes: Optional[int] = None) -> bool:
        """Store ``value``; evict least-recently-used entries to stay within the bound.

        Returns False (and stores nothing) when the value alone exceeds the bound.
        """
        size = nbytes_of(value) if nbytes is None else int(nbytes)
        with self._lock:
            old = self._items.pop((model, key), None)
            if old is not None:
                self._bytes -= old[1]
            if size > self._max_bytes:
                return False
            self._items[(model, key)] = (value, size)
            self._bytes += size
            self._evict()
            return True

    def discard(self, model: str, key: Hashable) -> None:
        with self._lock:
            old = self._items.pop((model, key), None)
            if old is not None:
                self._bytes -= old[1]

    def clear(self, model: Optional[str] = None) -> None:
        """Drop every entry (of ``model`` only, when given)."""
        with self._lock:
            for k in [k for k in self._items if model is None or k[0] == model]:
                self._bytes -= self._items.pop(k)[1]

    def keys(self) -> List[CacheKey]:
        """Keys from least to most recently used."""
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def _evict(self) -> None:  # caller holds the lock
        while self._bytes > self._max_bytes and self._items:
            _, (_, size) = self._items.popitem(last=False)
            self._bytes -= size


_shared: Optional[EmbeddingCache] = None
_shared_lock = threading.Lock()


def shared_cache() -> EmbeddingCache:
    """The process-wide cache every adapter uses unless given its own (bound: $ANYLABEL_EMBEDDING_CACHE_MB)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            raw = os.environ.get(ENV_CACHE_MB)
            try:
                max_mb = float(raw) if raw else DEFAULT_MAX_MB
            except ValueError as e:
                raise ConfigError(f"{ENV_CACHE_MB} must be a number of megabytes, got {raw!r}") from e
            _shared = EmbeddingCache(max_mb)
        return _shared
