"""The error family of anylabel.

Every error that reaches a user is an :class:`AnylabelError`. Each names the file (when there is one) and
the problem, so the GUI can show it in a message box and the CLI can print it and exit non-zero.
Errors raised while handling another exception are raised ``from`` it, so the cause stays in tracebacks.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

PathLike = Union[str, Path]


class AnylabelError(Exception):
    """Base of every error anylabel raises on purpose.

    Args:
        message: what went wrong, in words a user understands.
        path: the file or folder concerned, if any; it is prepended to the message.
    """

    def __init__(self, message: str, path: Optional[PathLike] = None) -> None:
        self.path = Path(path) if path is not None else None
        self.reason = message
        super().__init__(f"{self.path}: {message}" if self.path is not None else message)


class FormatError(AnylabelError):
    """A file is not what its format requires (corrupt JSON, wrong keys, wrong shapes)."""


class ImageLoadError(AnylabelError):
    """An image (or video frame) could not be decoded: missing, corrupt, truncated or unsupported."""


class GeometryError(AnylabelError):
    """A shape has impossible geometry (too few points, wrong mask size)."""


class PromptError(AnylabelError, ValueError):
    """Clicks or boxes that cannot be used on the image: not finite numbers, or outside the image."""


class ModelError(AnylabelError):
    """A model is missing, corrupt, of the wrong architecture or failed to run."""


class DownloadError(ModelError):
    """A model download failed or its checksum did not match."""


class ConfigError(AnylabelError):
    """The user's settings file is invalid (unknown key, wrong type)."""


class CancelledError(AnylabelError):
    """A long operation was cancelled by the user."""

    def __init__(self, message: str = "cancelled", path: Optional[PathLike] = None) -> None:
        super().__init__(message, path)


class TrackingError(AnylabelError):
    """The video tracker was used wrongly (unknown object, frame out of range)."""


class AnylabelWarning(UserWarning):
    """Something unusual that does not stop the work (an absurd image size or vertex count in a file): the
    message names the file. The CLI prints these as ``anylabel CMD: warning: ...``."""
