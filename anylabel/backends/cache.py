"""The embedding cache: image embeddings by (model name, image content key), LRU, bounded in megabytes.

Encoding an image is the expensive step of every SAM-style model (seconds on a CPU); everything after it
(a click) takes milliseconds. Keeping recent embeddings means that going back to an image, or arriving at
one the prefetcher already encoded, needs no encoder run and no image decoding at all.

Keys are ``(model_name, image_key)`` where ``image_key`` is :func:`anylabel.imaging.file_key` of the file (a
content hash, so a renamed file hits and an edited file misses). Values are whatever an adapter stores:
tensors, arrays or dicts/lists/tuples of them; their size is measured, not guessed.

On a GPU the torch adapters keep their embeddings where the encoder left them, in GPU memory: a click on
an image already encoded then needs no host-to-device copy of its features (SAM 4 MB, SAM2 16 MB) and the
decoder's per-image constants are computed there. GPU memory is much scarcer than RAM (a laptop GPU has
4-8 GB, shared with the model's weights and the encoder's activations), so bytes are counted on the device
that holds them and each GPU has its own, smaller bound (``device_max_mb``, default 512 MB: 128 SAM or 32
SAM2 images; ``ANYLABEL_EMBEDDING_GPU_CACHE_MB``) beside the host bound (``max_mb``). An entry is evicted,
least recently used first, when a pool it occupies is over its bound.

All methods are thread-safe: the GUI worker, the prefetcher and a CLI batch may share one cache.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any, Dict, Hashable, List, Optional, Tuple

from anylabel.errors import ConfigError

#: default bound of the shared cache; override with ``ANYLABEL_EMBEDDING_CACHE_MB`` or ``set_max_mb``.
DEFAULT_MAX_MB = 1024.0
ENV_CACHE_MB = "ANYLABEL_EMBEDDING_CACHE_MB"
#: default bound of the embeddings held in one GPU's memory; override with ``ANYLABEL_EMBEDDING_GPU_CACHE_MB``
DEFAULT_DEVICE_MAX_MB = 512.0
ENV_DEVICE_CACHE_MB = "ANYLABEL_EMBEDDING_GPU_CACHE_MB"
HOST = "cpu"

CacheKey = Tuple[str, Hashable]


def nbytes_by_device(value: Any) -> Dict[str, int]:
    """Bytes held by the arrays/tensors in ``value`` per device (``"cpu"`` for host memory, ``"cuda:0"``...),
    recursing into dicts, lists, tuples and dataclasses.

    numpy arrays count ``nbytes`` on the host; torch tensors ``element_size() * numel()`` on their ``device``
    (duck-typed, so torch is not imported here). Other objects count a nominal 64 host bytes.
    """
    out: Dict[str, int] = {}
    _count(value, out)
    return out


def _count(value: Any, out: Dict[str, int]) -> None:
    if value is None:
        return
    if isinstance(value, dict):
        parts: Any = value.values()
    elif isinstance(value, (list, tuple)):
        parts = value
    elif hasattr(value, "__dataclass_fields__"):
        parts = [getattr(value, f) for f in value.__dataclass_fields__]
    else:
        where, size = _leaf(value)
        out[where] = out.get(where, 0) + size
        return
    for part in parts:
        _count(part, out)


def _leaf(value: Any) -> Tuple[str, int]:
    """(device, bytes) of one array / tensor / bytes object (64 nominal host bytes for anything else)."""
    if hasattr(value, "element_size") and hasattr(value, "numel"):  # a torch tensor
        device = getattr(value, "device", None)
        where = HOST if device is None or getattr(device, "type", "cpu") == "cpu" else str(device)
        return where, int(value.element_size() * value.numel())
    if isinstance(value, (bytes, bytearray)):
        return HOST, len(value)
    nbytes = getattr(value, "nbytes", None)
    return HOST, nbytes if isinstance(nbytes, int) else 64


def nbytes_of(value: Any) -> int:
    """Bytes held by the arrays/tensors in ``value``, on every device (see :func:`nbytes_by_device`)."""
    return sum(nbytes_by_device(value).values())


class EmbeddingCache:
    """A thread-safe LRU map ``(model_name, image_key) -> embedding`` bounded by ``max_mb`` megabytes of host
    memory and ``device_max_mb`` megabytes in each GPU's memory (see the module docstring).

    A value larger than a whole bound is not stored (it would evict everything and then itself).
    """

    def __init__(self, max_mb: float = DEFAULT_MAX_MB, device_max_mb: float = DEFAULT_DEVICE_MAX_MB) -> None:
        self._lock = threading.Lock()
        self._items: "OrderedDict[CacheKey, Tuple[Any, Dict[str, int]]]" = OrderedDict()
        self._pools: Dict[str, int] = {}  # device -> bytes held there
        self._max_bytes = int(max_mb * 1024 * 1024)
        self._device_max_bytes = int(device_max_mb * 1024 * 1024)
        self.hits = 0
        self.misses = 0

    @property
    def max_mb(self) -> float:
        return self._max_bytes / (1024 * 1024)

    @property
    def device_max_mb(self) -> float:
        return self._device_max_bytes / (1024 * 1024)

    def set_max_mb(self, max_mb: float, device_max_mb: Optional[float] = None) -> None:
        """Change the bound(s); evicts least-recently-used entries at once if needed."""
        with self._lock:
            self._max_bytes = int(max_mb * 1024 * 1024)
            if device_max_mb is not None:
                self._device_max_bytes = int(device_max_mb * 1024 * 1024)
            self._evict()

    @property
    def size_bytes(self) -> int:
        """Bytes held, on every device."""
        with self._lock:
            return sum(self._pools.values())

    def bytes_on(self, device: str = HOST) -> int:
        """Bytes held on ``device`` (``"cpu"``: host memory, ``"cuda:0"``...)."""
        with self._lock:
            return self._pools.get(device, 0)

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
        """Store ``value``; evict least-recently-used entries to stay within the bounds. ``nbytes``: its size
        in host memory when the caller knows it better (default: measured, per device).

        Returns False (and stores nothing) when the value alone exceeds a bound.
        """
        sizes = nbytes_by_device(value) if nbytes is None else {HOST: int(nbytes)}
        with self._lock:
            self._drop((model, key))
            if any(n > self._bound(d) for d, n in sizes.items()):
                return False
            self._items[(model, key)] = (value, sizes)
            for d, n in sizes.items():
                self._pools[d] = self._pools.get(d, 0) + n
            self._evict()
            return True

    def discard(self, model: str, key: Hashable) -> None:
        with self._lock:
            self._drop((model, key))

    def clear(self, model: Optional[str] = None) -> None:
        """Drop every entry (of ``model`` only, when given)."""
        with self._lock:
            for k in [k for k in self._items if model is None or k[0] == model]:
                self._drop(k)

    def keys(self) -> List[CacheKey]:
        """Keys from least to most recently used."""
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    # caller holds the lock in the helpers below
    def _bound(self, device: str) -> int:
        return self._max_bytes if device == HOST else self._device_max_bytes

    def _drop(self, key: CacheKey) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            for d, n in old[1].items():
                self._pools[d] -= n

    def _evict(self) -> None:
        for device in [d for d, n in self._pools.items() if n > self._bound(d)]:
            for key in [k for k, (_, sizes) in self._items.items() if sizes.get(device)]:  # oldest first
                if self._pools[device] <= self._bound(device):
                    break
                self._drop(key)


_shared: Optional[EmbeddingCache] = None
_shared_lock = threading.Lock()


def shared_cache() -> EmbeddingCache:
    """The process-wide cache every adapter uses unless given its own (bound: $ANYLABEL_EMBEDDING_CACHE_MB)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            max_mb = _env_mb(ENV_CACHE_MB, DEFAULT_MAX_MB)
            _shared = EmbeddingCache(max_mb, _env_mb(ENV_DEVICE_CACHE_MB, DEFAULT_DEVICE_MAX_MB))
        return _shared


def _env_mb(name: str, default: float) -> float:
    raw = os.environ.get(name)
    try:
        return float(raw) if raw else default
    except ValueError as e:
        raise ConfigError(f"{name} must be a number of megabytes, got {raw!r}") from e
