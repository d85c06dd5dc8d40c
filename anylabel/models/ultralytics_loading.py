"""Load an ultralytics checkpoint (FastSAM, ``yolo:`` branches) once, from the bytes that were checked.

ultralytics checkpoints are pickled ``nn.Module`` objects. Checking the file with the restricted unpickler
and then letting ultralytics open it again (``FastSAM(path)``: an unrestricted ``torch.load``) makes safety
rest on the file not changing in between. Here the file is read once; the checksum (when the registry entry
has one) is verified on those bytes; ultralytics' own restricted loader (``weights_only=True`` with its
allow-list of model classes) unpickles them from memory; and ultralytics' model class is built from that
object: its checkpoint reader is pointed at the object for the duration of the constructor, so it never
opens the file. Whatever is on disk afterwards is never unpickled.

Not covered: ultralytics' remapping of pre-8.0 module names (``ultralytics.yolo.*``), which only very old
checkpoints need; they are refused as holding unknown classes.
"""
from __future__ import annotations

import io
import pickle
import threading
import zipfile
from pathlib import Path
from typing import Any, Optional, Union

from anylabel.errors import ModelError
from anylabel.models.checksum import verify_bytes
from anylabel.models.spec import ModelSpec

PathLike = Union[str, Path]

# Swapping ultralytics' checkpoint reader is process-global: one construction at a time.
_LOCK = threading.Lock()


def read_checked_bytes(path: PathLike, spec: Optional[ModelSpec] = None) -> bytes:
    """The bytes of ``path``, read once and verified against ``spec``'s checksum (if any).

    Raises:
        ModelError: naming the file: missing, unreadable, empty or not matching the checksum.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise ModelError("model file not found", path) from e
    except OSError as e:
        raise ModelError(f"cannot read model file: {e.strerror or e}", path) from e
    if not data:
        raise ModelError("model file is empty (0 bytes): the download or copy did not finish", path)
    if spec is not None:
        verify_bytes(data, path, spec)
    return data


def restricted_unpickle(data: bytes, path: PathLike) -> dict:
    """An ultralytics checkpoint dict from ``data`` with ultralytics' restricted loader (only known model
    classes are rebuilt; anything else is refused before it runs).

    Raises:
        ModelError: naming ``path``: not a checkpoint, corrupt, or holding other classes.
    """
    import torch
    from ultralytics.nn.tasks import _SafeLoad  # the allow-list torch_safe_load(safe_only=True) uses

    path = Path(path)
    if not _SafeLoad.SUPPORTED:
        raise ModelError("restricted loading of ultralytics checkpoints needs torch 2.6 or newer", path)
    buffer = io.BytesIO(data)
    try:
        with _SafeLoad.loading(buffer):
            buffer.seek(0)
            ckpt = torch.load(buffer, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        from anylabel.models.loading import unsupported_global

        found = unsupported_global(str(e)).split(" was not")[0].replace("Unsupported global: GLOBAL ", "")
        raise ModelError(f"the checkpoint contains objects other than ultralytics model classes ({found or e}), "
                         "which are never unpickled because that could run code", path) from e
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, TypeError, AttributeError, KeyError) as e:
        first = (str(e).splitlines() or [type(e).__name__])[0]
        raise ModelError(f"not an ultralytics checkpoint, or a corrupt one ({first[:200]})", path) from e
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("ema") or ckpt.get("model"), torch.nn.Module):
        raise ModelError("not an ultralytics checkpoint: no model in it", path)
    return ckpt


def load_ultralytics_model(model_class: Any, path: PathLike, spec: Optional[ModelSpec] = None,
                           **kwargs: Any) -> Any:
    """``model_class(path, **kwargs)`` (ultralytics ``FastSAM`` / ``YOLO``) built from the file's bytes read
    once, checked and unpickled in memory (see the module docstring).

    Raises:
        ModelError: naming the file (see :func:`read_checked_bytes`, :func:`restricted_unpickle`).
    """
    import ultralytics.nn.tasks as tasks

    path = Path(path)
    ckpt = restricted_unpickle(read_checked_bytes(path, spec), path)
    with _LOCK:
        original = tasks.torch_safe_load

        def from_memory(weight: Any, safe_only: Optional[bool] = None) -> Any:
            if Path(weight) == path:
                return ckpt, str(path)
            return original(weight, safe_only)  # not ours (another caller's file): unchanged

        tasks.torch_safe_load = from_memory
        try:
            return model_class(str(path), **kwargs)
        finally:
            tasks.torch_safe_load = original
