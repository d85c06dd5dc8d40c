"""Safe loading of PyTorch checkpoints.

``torch.load`` unpickles arbitrary Python objects unless ``weights_only=True``; a downloaded checkpoint
must never be able to run code. Here every load uses ``weights_only=True`` (tensors, dicts, lists,
numbers, strings only) and maps each failure to a :class:`ModelError` that names the file and says what
is wrong with it, instead of a pickle or zip traceback.
"""
from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Union

from anylabel.errors import ModelError

PathLike = Union[str, Path]


def safe_torch_load(path: PathLike, safe_globals: Optional[Iterable[Any]] = None) -> Any:
    """Load a checkpoint on the CPU with ``torch.load(path, map_location="cpu", weights_only=True)``.

    Args:
        path: the checkpoint (.pth / .pt, zip or legacy format).
        safe_globals: extra classes/functions the unpickler may rebuild (passed to
            ``torch.serialization.safe_globals``), for formats that store a few plain types beyond tensors.

    Returns:
        What the file holds, typically a ``dict[str, Tensor]`` state dict or ``{"model": state_dict}``.

    Raises:
        ModelError: naming the file, when it is missing, empty, truncated/corrupt, or holds objects other
            than weights (a pickled model, which ``weights_only`` refuses to execute).
    """
    import torch  # heavy: imported only when a model is actually loaded

    path = Path(path)
    if not path.is_file():
        raise ModelError("model file not found", path)
    if path.stat().st_size == 0:
        raise ModelError("model file is empty (0 bytes): the download or copy did not finish", path)
    try:
        if safe_globals:
            with torch.serialization.safe_globals(list(safe_globals)):
                return torch.load(path, map_location="cpu", weights_only=True)
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        unsupported = unsupported_global(str(e))
        if unsupported.startswith("Unsupported global"):
            # weights_only refuses anything but tensors and plain containers; say why in user terms, in one
            # sentence instead of torch's paragraphs about weights_only and safe globals.
            found = unsupported.split(" was not")[0].replace("Unsupported global: GLOBAL ", "").strip()
            raise ModelError(
                f"the checkpoint contains non-weight objects ({found}), which are never unpickled because that "
                "could run code; save only the weights, e.g. torch.save(model.state_dict(), path) "
                "(SAM2: {'model': state_dict}), or use the official file",
                path,
            ) from e
        raise ModelError(f"not a PyTorch checkpoint, or a corrupt one (cannot unpickle: {unsupported or e})",
                         path) from e
    except EOFError as e:
        raise ModelError("truncated checkpoint: the file ends early (incomplete download or copy?)", path) from e
    except zipfile.BadZipFile as e:
        raise ModelError(f"truncated or corrupt checkpoint: {e}", path) from e
    except RuntimeError as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        if "TorchScript" in first:
            raise ModelError("a TorchScript archive, not a weights checkpoint: load it with "
                             "load_torchscript_state_dict()", path) from e
        # e.g. "PytorchStreamReader failed reading zip archive: failed finding central directory"
        raise ModelError(f"truncated or corrupt checkpoint: {first[:200]}", path) from e
    except (IndexError, ValueError, TypeError, AttributeError, KeyError, OSError) as e:
        # Random bytes reach the legacy unpickler and fail in arbitrary ways.
        raise ModelError(f"not a PyTorch checkpoint, or a corrupt one ({type(e).__name__}: {e})", path) from e


def load_torchscript_state_dict(path: PathLike) -> Dict[str, Any]:
    """The weights of a TorchScript archive (e.g. OpenAI's CLIP ``ViT-B-32.pt``) as a CPU state dict.

    TorchScript archives cannot be read with ``weights_only=True``. ``torch.jit.load`` reads them with
    TorchScript's own loader instead of Python's unpickler (no arbitrary Python objects are built); the
    archive's TorchScript code is compiled but never run here, only ``state_dict()`` is taken. Verify the
    file's checksum first (``ModelRegistry.ensure``).

    Raises:
        ModelError: naming the file when it is missing or not a readable TorchScript archive.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise ModelError("model file not found", path)
    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except (RuntimeError, ValueError, OSError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ModelError(f"not a TorchScript archive, or a corrupt one: {first[:200]}", path) from e
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def unsupported_global(message: str) -> str:
    """The 'Unsupported global: GLOBAL x.y' phrase of torch's weights-only error, if present."""
    for line in message.splitlines():
        if "Unsupported global" in line or "Unsupported operand" in line:
            line = line.strip()
            prefix = "WeightsUnpickler error:"
            return line[len(prefix):].strip() if line.startswith(prefix) else line
    return ""
