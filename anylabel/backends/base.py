"""The one interface every segmentation backend implements.

Like segment-anything's ``SamPredictor``, the expensive step (``set_image``: the image encoder) is split
from the cheap one (``predict``: prompt encoder and mask decoder), so that after one encoding every
click answers in milliseconds.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Callable, List, Optional, Union

import numpy as np

from anylabel.backends.prompt import MaskCandidate, Prompt

#: ``progress(done, total) -> False to cancel`` (None/True to go on); total 0 when unknown
Progress = Callable[[int, int], Optional[bool]]


def report(progress: Optional[Progress], done: int, total: int) -> None:
    """Call ``progress`` (if any); raise CancelledError when it answers False."""
    if progress is not None and progress(done, total) is False:
        from anylabel.errors import CancelledError

        raise CancelledError("cancelled")


class Segmenter(ABC):
    """A promptable segmenter.

    Usage::

        seg.set_image(image, key="path/or/content-hash")   # expensive, cached by key
        candidates = seg.predict(Prompt.from_clicks([(120, 80)]))  # cheap, best first
    """

    #: registry name of the model this instance runs (for example ``"sam_vit_b"``)
    name: str = "segmenter"
    #: the torch device string it runs on (``"cpu"``, ``"cuda:0"``, ``"mps"``; see :mod:`anylabel.devices`)
    device: str = "cpu"
    #: why it runs elsewhere than asked, or which runtime runs it (shown with the device), else ""
    device_note: str = ""

    @classmethod
    def resolve_device(cls, requested: str) -> str:
        """The device this adapter runs on for a device name (``auto``, ``cuda:1``...): torch's rules
        (:func:`anylabel.devices.resolve_device`); adapters with another runtime override it.

        Raises:
            DeviceError: the machine does not have the requested device.
        """
        from anylabel.devices import resolve_device

        return resolve_device(requested)

    def runs_on(self) -> str:
        """Device and precision for the status bar: ``cuda:0 (NVIDIA ...), bfloat16``; ``cpu, float32``."""
        from anylabel.devices import describe_device

        parts = [describe_device(self.device)]
        plan = getattr(self, "engines", None)  # torch SAM / SAM2: the engine of each role (backends.engines)
        precision = getattr(self, "precision", None)
        if plan is not None:
            parts.append(plan.describe())
        elif precision:
            parts.append(str(precision))
        if self.device_note:
            parts.append(self.device_note)
        return ", ".join(parts)

    @abstractmethod
    def set_image(self, image: np.ndarray, key: Optional[str] = None) -> None:
        """Encode ``image`` (HxWx3 uint8 RGB) and make it the current image.

        ``key`` identifies the image content for the embedding cache; when the cache already holds
        ``key`` for this model, the encoder does not run and ``image`` may be ``None``.
        """

    @abstractmethod
    def predict(self, prompt: Prompt) -> List[MaskCandidate]:
        """Masks for ``prompt`` on the current image: up to 3 candidates, best score first.

        Every mask is bool HxW at the current image's full size. Raises ``ValueError`` when no image is
        set.
        """

    @abstractmethod
    def everything(self, image: Optional[np.ndarray] = None, key: Optional[str] = None,
                   progress: Optional[Progress] = None) -> List[MaskCandidate]:
        """Automatic masks of every object in ``image`` (or the current image), largest first.

        ``key``: ``image``'s content key in the embedding cache (as given to ``set_image``), so that an image
        encoded under its file's key (the GUI's prefetch) is not encoded again; default: a hash of the pixels.
        The current image stays current either way.
        ``progress(done, total)``: called as the work advances (``total`` 0 when unknown); returning False
        stops it with :class:`~anylabel.errors.CancelledError` (SAM / SAM2: between point batches).
        """

    def has_embedding(self, key: str) -> bool:
        """True when ``set_image(None, key)`` would not need to run the encoder."""
        return False

    def encode(self, image: np.ndarray, key: str) -> None:
        """Compute and cache the embedding of ``image`` (HxWx3 uint8 RGB) under ``key`` without making it the
        current image (the prefetcher calls this from a background thread). Default: nothing to precompute.
        """

    def set_image_path(self, path: "Union[str, Path]", image: Optional[np.ndarray] = None,
                       key: Optional[str] = None) -> str:
        """Make the image file ``path`` current; the file is decoded only when its embedding is not cached.

        Args:
            image: the file's decoded HxWx3 uint8 RGB pixels when the caller has them (no second decode).
            key: the file's content key when the caller knows it (no second hash of the file).

        Returns the content key (:func:`anylabel.imaging.file_key`) used for the cache.
        """
        from anylabel.imaging import loader  # module attribute lookup: tests count load_image calls

        key = key or loader.file_key(path)
        if self.has_embedding(key):
            try:
                self.set_image(None, key)
                return key
            except LookupError:  # evicted by another thread between the check and the use: decode below
                pass
        self.set_image(image if image is not None else loader.load_image(path), key)
        return key

    def close(self) -> None:
        """Release memory held by the model (optional)."""
