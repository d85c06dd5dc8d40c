"""Read the tensors of a TorchScript archive without running it (OpenAI's official CLIP files).

OpenAI publishes CLIP (``ViT-B-32.pt``, ``ViT-L-14.pt``, ...) as *TorchScript archives*: a zip holding
``<name>/code/`` (TorchScript source), ``<name>/constants.pkl`` and ``<name>/data.pkl`` (the module tree:
each module pickled as ``__torch__.<module> <Class>`` + a dict of its attributes, tensors as persistent
storage ids pointing to ``<name>/data/<key>``). open_clip loads them with ``torch.jit.load`` (see
``open_clip/openai.py: load_openai_model``), which compiles and can execute the archive's code, and
``torch.load(weights_only=True)`` refuses them outright ("Cannot use weights_only=True with TorchScript
archives"). Neither is acceptable for a file from the internet.

Here ``data.pkl`` is read by a restricted unpickler that can only build: tensors from the archive's raw
storages, ``OrderedDict``, plain containers, numbers and strings, and inert placeholder objects for the
``__torch__.*`` module classes (their attribute dict is kept, nothing is called). ``code/`` is never read
and nothing in the archive is executed. The module tree is then flattened into a ``state_dict``
(``visual.conv1.weight``, ...), which is what open_clip's ``build_model_from_openai_state_dict`` would
have extracted from the loaded script module.
"""
from __future__ import annotations

import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any, Dict, Union

import numpy as np

from anylabel.errors import ModelError

PathLike = Union[str, Path]

# storage class name -> (numpy dtype, torch dtype name); what TorchScript writes for each tensor dtype.
_STORAGES = {
    "FloatStorage": (np.float32, "float32"),
    "HalfStorage": (np.float16, "float16"),
    "DoubleStorage": (np.float64, "float64"),
    "BFloat16Storage": (np.uint16, "bfloat16"),
    "LongStorage": (np.int64, "int64"),
    "IntStorage": (np.int32, "int32"),
    "ShortStorage": (np.int16, "int16"),
    "CharStorage": (np.int8, "int8"),
    "ByteStorage": (np.uint8, "uint8"),
    "BoolStorage": (np.bool_, "bool"),
}


def is_torchscript_archive(path: PathLike) -> bool:
    """True when ``path`` is a zip with a ``constants.pkl`` record (torch's own TorchScript test)."""
    try:
        with zipfile.ZipFile(path) as z:
            return any(n.endswith("/constants.pkl") or n == "constants.pkl" for n in z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


class _ScriptObject:
    """Inert stand-in for a ``__torch__.*`` class: remembers its class name and attribute dict."""

    __slots__ = ("qualname", "state")

    def __init__(self, qualname: str) -> None:
        self.qualname = qualname
        self.state: Dict[str, Any] = {}

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict):
            raise pickle.UnpicklingError(f"unexpected state of type {type(state).__name__} for {self.qualname}")
        self.state = dict(state)


def _script_class(qualname: str) -> type:
    """A placeholder class whose instances record ``qualname`` (NEWOBJ calls ``cls.__new__(cls)``)."""

    def __new__(cls, *args: Any) -> _ScriptObject:
        return _ScriptObject(qualname)

    return type("ScriptObjectFactory", (), {"__new__": __new__})


class _StorageRef:
    """A storage id: the dtype name and the record key, resolved lazily into a flat array."""

    __slots__ = ("storage", "key", "numel")

    def __init__(self, storage: str, key: str, numel: int) -> None:
        self.storage, self.key, self.numel = storage, key, numel


def _rebuild_tensor(storage: "_StorageArray", offset: int, size: tuple, stride: tuple, *unused: Any) -> Any:
    import torch

    flat = storage.tensor
    if len(size) == 0:
        return flat[offset].clone()
    return torch.as_strided(flat, tuple(size), tuple(stride), int(offset)).clone()


def _rebuild_parameter(data: Any, requires_grad: bool, backward_hooks: Any, *unused: Any) -> Any:
    return data  # weights only: a Parameter is its tensor


def _identity(value: Any, *unused: Any) -> Any:
    return value


class _StorageArray:
    """A flat torch tensor over one raw storage record of the archive."""

    __slots__ = ("tensor",)

    def __init__(self, tensor: Any) -> None:
        self.tensor = tensor


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler of ``data.pkl`` that resolves only the globals a weights archive needs."""

    _ALLOWED = {
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("collections", "OrderedDict"): OrderedDict,
        # TorchScript's typed-container tags: each returns its argument (as torch/jit/_pickle.py does).
        ("torch.jit._pickle", "build_intlist"): _identity,
        ("torch.jit._pickle", "build_tensorlist"): _identity,
        ("torch.jit._pickle", "build_doublelist"): _identity,
        ("torch.jit._pickle", "build_boollist"): _identity,
        ("torch.jit._pickle", "restore_type_tag"): _identity,
    }

    def __init__(self, file: Any, archive: zipfile.ZipFile, prefix: str, path: Path) -> None:
        super().__init__(file)
        self._archive, self._prefix, self._path = archive, prefix, path
        self._storages: Dict[str, _StorageArray] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module.startswith("__torch__"):
            return _script_class(f"{module}.{name}")
        if module == "torch" and name in _STORAGES:
            return name  # only used as a tag inside persistent ids
        found = self._ALLOWED.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a weights archive")
        return found

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage" and pid[1] in _STORAGES):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r:.80}")
        storage, key, numel = pid[1], str(pid[2]), int(pid[4])
        if key not in self._storages:
            self._storages[key] = self._read_storage(storage, key, numel)
        return self._storages[key]

    def _read_storage(self, storage: str, key: str, numel: int) -> _StorageArray:
        import torch

        np_dtype, torch_name = _STORAGES[storage]
        record = f"{self._prefix}data/{key}"
        try:
            info = self._archive.getinfo(record)
        except KeyError as e:
            raise ModelError(f"TorchScript archive is missing tensor data {record}", self._path) from e
        expected = numel * np.dtype(np_dtype).itemsize
        if info.file_size != expected:  # also guards against a huge decompressed record
            raise ModelError(f"tensor data {record} has {info.file_size} bytes, expected {expected}", self._path)
        raw = np.frombuffer(self._archive.read(record), dtype=np_dtype).copy()
        tensor = torch.from_numpy(raw)
        if torch_name == "bfloat16":
            tensor = tensor.view(torch.bfloat16)
        return _StorageArray(tensor)


def read_torchscript_state_dict(path: PathLike) -> Dict[str, Any]:
    """The tensors of a TorchScript archive's module tree as a flat ``state_dict``, without executing it.

    Args:
        path: a TorchScript ``.pt`` archive (for example OpenAI's ``ViT-B-32.pt``).

    Returns:
        ``{"visual.conv1.weight": Tensor, ...}``: every tensor attribute of every module, keyed by its
        dotted path (parameters, buffers and plain tensor attributes alike), in the archive's dtype.

    Raises:
        ModelError: naming the file, when it is not a TorchScript archive, is truncated, or holds anything
            other than modules, tensors and plain values.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            data = [n for n in names if n.endswith("data.pkl") and n.count("/") <= 1]
            if not data or not any(n.endswith("constants.pkl") for n in names):
                raise ModelError("not a TorchScript archive (no data.pkl / constants.pkl)", path)
            prefix = data[0][: -len("data.pkl")]
            with archive.open(data[0]) as f:
                root = _RestrictedUnpickler(f, archive, prefix, path).load()
    except ModelError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise ModelError(f"truncated or corrupt TorchScript archive: {type(e).__name__}: {e}", path) from e
    except (pickle.UnpicklingError, ValueError, TypeError, AttributeError, IndexError, RuntimeError) as e:
        raise ModelError(f"TorchScript archive holds more than weights, refused: {e}", path) from e
    if not isinstance(root, _ScriptObject):
        raise ModelError("TorchScript archive does not hold a module", path)
    out: Dict[str, Any] = {}
    _flatten(root, "", out, depth=0)
    if not out:
        raise ModelError("TorchScript archive holds no tensors", path)
    return out


def _flatten(obj: _ScriptObject, prefix: str, out: Dict[str, Any], depth: int) -> None:
    import torch

    if depth > 64:  # a module tree this deep is not a model; refuse rather than recurse forever
        raise ModelError("TorchScript module tree is too deep")
    for name, value in obj.state.items():
        key = f"{prefix}{name}"
        if isinstance(value, _ScriptObject):
            _flatten(value, key + ".", out, depth + 1)
        elif isinstance(value, torch.Tensor):
            out[key] = value
