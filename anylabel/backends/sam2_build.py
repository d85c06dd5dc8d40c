"""Build sam2 models from a registry entry: sam2's packaged config names *and* config files on disk.

sam2's configs are hydra configs looked up in the ``sam2`` package (``configs/sam2.1/sam2.1_hiera_t.yaml``).
A model whose architecture is described by a yaml file elsewhere (a fine-tuned variant, or the small random
models of ``tools/random_checkpoints.py``) is built by pointing hydra at that file's folder for the duration
of the call. Either way the model is built by sam2's own ``build_sam2`` / ``build_sam2_video_predictor``,
and the ``{"model": state_dict}`` checkpoint is read by :func:`anylabel.models.safe_torch_load`
(``weights_only=True``, errors that name the file) and loaded into it as sam2's ``_load_checkpoint`` does.

The tracking package uses :func:`build_sam2_model` with ``video=True``.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Optional, Union

from anylabel.errors import ModelError

# hydra's GlobalHydra is process-global state: swapping it must not interleave between threads.
_HYDRA_LOCK = threading.Lock()


def build_sam2_model(config: str, checkpoint: Optional[Union[str, Path]], video: bool = False,
                     device: str = "cpu") -> Any:
    """Build a ``SAM2Base`` (``video=False``) or ``SAM2VideoPredictor`` (``video=True``) on ``device``.

    Args:
        config: a sam2 package config name (``configs/sam2.1/sam2.1_hiera_t.yaml``) or the path of a
            hydra yaml file describing the model (absolute, or relative to the current folder).
        checkpoint: the ``{"model": state_dict}`` file, or ``None`` for random initialisation.
    Raises:
        ModelError: the config is missing or the checkpoint does not fit the architecture.
    """
    from sam2.build_sam import build_sam2, build_sam2_video_predictor  # also initialises hydra for sam2

    builder = build_sam2_video_predictor if video else build_sam2
    # The checkpoint is read by our safe loader (typed errors naming the file, e.g. for pickled objects that
    # weights_only refuses) and loaded into the built model here, as sam2's _load_checkpoint would.
    state = _sam2_state_dict(Path(checkpoint)) if checkpoint is not None else None
    cfg_path = Path(config)
    try:
        if cfg_path.suffix in (".yaml", ".yml") and cfg_path.is_file():
            model = _build_from_file(builder, cfg_path.resolve(), None, device)
        else:
            with _HYDRA_LOCK:
                model = builder(config, None, device=device)
        if state is not None:
            model.load_state_dict(state, strict=True)
        return model
    except (RuntimeError, KeyError, ValueError) as e:
        # sam2 raises a bare RuntimeError after logging missing/unexpected keys: a wrong architecture.
        raise ModelError(f"cannot build sam2 model from config {config!r}: "
                         f"{e or 'checkpoint keys do not match the architecture'}", checkpoint) from e
    except Exception as e:  # hydra's MissingConfigException and friends, re-typed for the user
        if type(e).__module__.startswith(("hydra", "omegaconf")):
            raise ModelError(f"invalid sam2 config {config!r}: {e}", checkpoint) from e
        raise


def _sam2_state_dict(checkpoint: Path) -> Any:
    """The ``model`` state dict of a sam2 checkpoint (``{"model": state_dict}``), read safely."""
    from anylabel.models import safe_torch_load

    data = safe_torch_load(checkpoint)
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
        raise ModelError("not a SAM2 checkpoint: sam2 files hold {'model': state_dict}", checkpoint)
    return data["model"]


def _build_from_file(builder: Any, cfg_file: Path, ckpt: Optional[str], device: str) -> Any:
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.initialize import get_gh_backup, restore_gh_from_backup

    with _HYDRA_LOCK:
        backup = get_gh_backup()
        GlobalHydra.instance().clear()
        try:
            with initialize_config_dir(config_dir=str(cfg_file.parent), version_base="1.2"):
                return builder(cfg_file.name, ckpt, device=device)
        finally:
            restore_gh_from_backup(backup)
