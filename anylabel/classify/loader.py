"""Load a CLIP model of the zoo (family ``clip``) through the registry and the safe-loading path.

Supported weight files (the format is detected from the file, not its name):

* **OpenAI's official TorchScript archives** (``ViT-B-32.pt``, ``ViT-L-14.pt`` from
  openaipublic.azureedge.net; the URLs of ``clip_vit_b32`` / ``clip_vit_l14``). Read by
  :mod:`anylabel.classify.torchscript`: tensors only, no code executed (``torch.jit.load``, what open_clip
  uses, is never called, and ``torch.load(weights_only=True)`` refuses such archives).
* **open_clip / torch state dicts** (``open_clip_pytorch_model.bin``, ``.pt``, ``.pth``; optionally under a
  ``"state_dict"`` key, DataParallel ``module.`` prefixes stripped): :func:`safe_torch_load`
  (``weights_only=True``).
* **safetensors** (``open_clip_model.safetensors``).

Model settings (``settings:`` of the models.yaml entry):

* ``arch`` (or ``model_name``): open_clip's architecture name, e.g. ``ViT-B-32``, ``ViT-L-14``;
* ``model_config`` (optional): an open_clip model config dict (``embed_dim``, ``vision_cfg``, ``text_cfg``)
  that replaces the named architecture (the small random test models use it);
* ``quick_gelu`` (optional bool): OpenAI's weights were trained with QuickGELU (open_clip marks every
  ``openai`` tag ``quick_gelu=True``); a wrong activation silently degrades accuracy. Default: true for
  an OpenAI TorchScript archive, false otherwise (open_clip's default).

The file is checksum-verified by ``registry.ensure`` before it is read; a file whose tensors do not fit the
architecture raises :class:`ModelError` naming the file and the first mismatches.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple, Union

from anylabel.classify.model import OpenClipModel
from anylabel.classify.torchscript import is_torchscript_archive, read_torchscript_state_dict
from anylabel.errors import ModelError

PathLike = Union[str, Path]
# Tensors of OpenAI's archives that are not parameters of open_clip's CLIP (ints saved as tensors, and
# attention masks open_clip rebuilds as non-persistent buffers).
_IGNORED_KEYS = ("input_resolution", "context_length", "vocab_size")


def read_clip_weights(path: PathLike) -> Tuple[Dict[str, Any], str]:
    """The state dict of a CLIP weights file, float32, and its format.

    Returns:
        (state_dict, fmt) with fmt one of ``"torchscript"``, ``"safetensors"``, ``"state_dict"``.

    Raises:
        ModelError: naming the file when it cannot be read safely or holds no state dict.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise ModelError("CLIP weights file not found", path)
    if is_torchscript_archive(path):
        state, fmt = read_torchscript_state_dict(path), "torchscript"
    elif path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file

            state, fmt = load_file(str(path), device="cpu"), "safetensors"
        except (OSError, ValueError, RuntimeError) as e:  # safetensors raises SafetensorError(Exception)
            raise ModelError(f"cannot read safetensors file: {e}", path) from e
    else:
        from anylabel.models import safe_torch_load

        state, fmt = safe_torch_load(path), "state_dict"
        if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
            state = state["state_dict"]
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelError("not a CLIP state dict (expected a mapping of parameter names to tensors)", path)
    if all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    return state, fmt


def build_clip(settings: Dict[str, Any], quick_gelu: bool) -> Any:
    """An open_clip ``CLIP`` (random init) for the entry's settings; see the module docstring."""
    import open_clip

    config = settings.get("model_config")
    arch = settings.get("arch") or settings.get("model_name")
    try:
        if config is not None:
            if not isinstance(config, dict):
                raise ModelError(f"settings.model_config must be a mapping, got {config!r:.80}")
            from open_clip.model import CLIP

            return CLIP(**config, quick_gelu=quick_gelu)
        if not arch:
            raise ModelError("a clip model needs settings.arch (open_clip name such as ViT-B-32) or model_config")
        if arch not in open_clip.list_models():
            raise ModelError(f"unknown open_clip architecture {arch!r} (settings.arch)")
        # open_clip warns "No pretrained weights loaded" on the root logger; we load them right after.
        quiet = _DropMessage("No pretrained weights loaded")
        logging.getLogger().addFilter(quiet)
        try:
            return open_clip.create_model(arch, pretrained=None, force_quick_gelu=quick_gelu)
        finally:
            logging.getLogger().removeFilter(quiet)
    except TypeError as e:
        raise ModelError(f"invalid CLIP settings {settings}: {e}") from e


class _DropMessage(logging.Filter):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


def load_clip_file(path: PathLike, settings: Dict[str, Any], name: str = "clip",
                   device: Optional[str] = "cpu") -> OpenClipModel:
    """Build the architecture of ``settings`` and load the weights file ``path`` into it (strict), on
    ``device`` (a name of :mod:`anylabel.devices`; None: ``$ANYLABEL_DEVICE`` or auto).

    Raises:
        ModelError: naming the file for unreadable files and for tensors that do not fit the architecture.
    """
    import torch

    path = Path(path)
    state, fmt = read_clip_weights(path)
    quick_gelu = settings.get("quick_gelu")
    if quick_gelu is None:
        quick_gelu = fmt == "torchscript"  # every OpenAI archive was trained with QuickGELU
    torch.manual_seed(0)  # the random init is overwritten; seeding only makes a failed load reproducible
    model = build_clip(settings, bool(quick_gelu))
    expected = model.state_dict()
    state = {k: v for k, v in state.items() if k in expected or not _ignorable(k)}
    if "logit_scale" in state and state["logit_scale"].shape != expected.get("logit_scale", state["logit_scale"]).shape:
        state["logit_scale"] = state["logit_scale"].reshape(expected["logit_scale"].shape)
    missing = [k for k in expected if k not in state and not _ignorable(k)]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}" for k, v in expected.items()
             if k in state and state[k].shape != v.shape]
    if missing or unexpected or wrong:
        arch = ("settings.model_config" if settings.get("model_config")
                else (settings.get("arch") or settings.get("model_name")))
        details = "; ".join(
            part for part in (
                f"missing {len(missing)} (e.g. {', '.join(missing[:3])})" if missing else "",
                f"unexpected {len(unexpected)} (e.g. {', '.join(unexpected[:3])})" if unexpected else "",
                f"wrong shape {len(wrong)} (e.g. {', '.join(wrong[:2])})" if wrong else "",
            ) if part
        )
        raise ModelError(f"the weights do not fit CLIP architecture {arch}: {details}", path)
    model.load_state_dict(state, strict=False)  # every expected key is present (checked above)
    from anylabel.devices import resolve_device

    return OpenClipModel(model.float().eval(), name=f"{name}@{path}", device=resolve_device(device))


def _ignorable(key: str) -> bool:
    return key in _IGNORED_KEYS or key.endswith("attn_mask")


def load_clip(name: str = "clip_vit_b32", registry: Any = None,
              progress: Optional[Callable[[int, int], None]] = None, cancel: object = None,
              device: Optional[str] = None) -> OpenClipModel:
    """Load the CLIP model ``name`` of the zoo: registry lookup, verified file (download if needed), weights.

    Args:
        name: registry name of a ``clip`` family model (``clip_vit_b32``, ``clip_vit_l14``, ...).
        registry: a :class:`~anylabel.models.ModelRegistry` (default: ``ModelRegistry.load()``, i.e. the
            shipped models.yaml plus ``$ANYLABEL_MODELS``).
        progress, cancel: passed to ``registry.ensure`` for the download.
        device: where it runs (``auto``, ``cpu``, ``cuda:N``, ``mps``; None: ``$ANYLABEL_DEVICE`` or auto),
            checked before the download.

    Raises:
        ModelError: unknown name, a model of another family, a missing / unverified / unreadable file.
    """
    from anylabel.models import ModelRegistry

    registry = registry if registry is not None else ModelRegistry.load()
    from anylabel.devices import resolve_device

    spec = registry.get(name)
    if spec.family != "clip":
        raise ModelError(f"model {name!r} is a {spec.family} model, not a CLIP model (family clip)")
    device = resolve_device(device)  # DeviceError before a download
    path = registry.ensure(spec, progress=progress, cancel=cancel)
    if path is None:
        raise ModelError(f"model {name!r} declares no weights file")
    return load_clip_file(path, dict(spec.settings), name=spec.name, device=device)
