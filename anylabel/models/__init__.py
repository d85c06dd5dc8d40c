"""The model zoo: registry (models.yaml), verified resumable downloads, safe checkpoint loading.

Typical use (the backends' factory does this)::

    from anylabel.models import ModelRegistry, safe_torch_load
    registry = ModelRegistry.load()            # shipped models.yaml + $ANYLABEL_MODELS
    spec = registry.get("sam_vit_b")
    path = registry.ensure(spec, progress=cb)  # downloads if needed; always checksum-verified
    state_dict = safe_torch_load(path)         # torch.load(..., weights_only=True), typed errors
"""
from anylabel.models.checksum import expected_checksum, file_checksum, verify_checksum
from anylabel.models.downloader import download, part_path
from anylabel.models.loading import load_torchscript_state_dict, safe_torch_load
from anylabel.models.registry import (
    ENV_CACHE,
    ENV_MODELS,
    SHIPPED_MODELS,
    ModelRegistry,
    cache_root,
    models_cache_dir,
)
from anylabel.models.spec import FAMILIES, ModelSpec, spec_from_dict

__all__ = [
    "ENV_CACHE",
    "ENV_MODELS",
    "FAMILIES",
    "SHIPPED_MODELS",
    "ModelRegistry",
    "ModelSpec",
    "cache_root",
    "download",
    "expected_checksum",
    "file_checksum",
    "load_torchscript_state_dict",
    "models_cache_dir",
    "part_path",
    "safe_torch_load",
    "spec_from_dict",
    "verify_checksum",
]
