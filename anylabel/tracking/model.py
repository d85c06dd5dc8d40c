"""sam2's video predictor for a model of the zoo (family ``sam2``), set up for tracking.

Building goes through :func:`anylabel.backends.sam2_build.build_sam2_model` (sam2's own
``build_sam2_video_predictor``: packaged config names and config files, ``weights_only`` checkpoint
loading), so the image backend and the tracker build SAM2 one way. On top of it, two settings:

* ``add_all_frames_to_correct_as_cond = True``: a correction click makes its frame a conditioning frame;
* ``fill_hole_area = 0`` when sam2's CUDA extension (``sam2._C``) is missing, as on CPU-only installs:
  sam2 would call its connected-components kernel on every frame, fail, warn and skip the step anyway.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, List, Optional, Union

from anylabel.errors import ModelError

PathLike = Union[str, Path]


def has_sam2_extension() -> bool:
    """True when sam2's compiled extension (used for hole filling) is importable."""
    try:
        from sam2 import _C  # noqa: F401
    except ImportError:
        return False
    return True


def prepare_for_tracking(predictor: Any) -> Any:
    """Apply the tracking settings above to a ``SAM2VideoPredictor`` (in place) and return it."""
    predictor.add_all_frames_to_correct_as_cond = True
    if not has_sam2_extension():
        predictor.fill_hole_area = 0
    return predictor


def build_video_predictor(config: str, checkpoint: Optional[PathLike], device: Optional[str] = "cpu") -> Any:
    """A ``SAM2VideoPredictor`` in eval mode, set up for tracking.

    Args:
        config: a sam2 package config name (``configs/sam2.1/sam2.1_hiera_t.yaml``) or a config file path.
        checkpoint: sam2's ``{"model": state_dict}`` file, or ``None`` for random weights.
        device: a name of :mod:`anylabel.devices` (``auto``, ``cpu``, ``cuda:N``, ``mps``; None:
            ``$ANYLABEL_DEVICE`` or auto).

    Raises:
        ModelError: unknown config, or a checkpoint that does not fit it.
        DeviceError: a device this machine does not have.
    """
    from anylabel.backends.sam2_build import build_sam2_model
    from anylabel.devices import resolve_device

    device = resolve_device(device)
    return prepare_for_tracking(build_sam2_model(config, checkpoint, video=True, device=device))


def load_video_predictor(name: str, models_files: Optional[Iterable[PathLike]] = None,
                         device: Optional[str] = None,
                         progress: Any = None, registry: Any = None) -> Any:
    """The video predictor of zoo model ``name``, its checkpoint found (or downloaded) and verified by
    the registry.

    Args:
        name: registry name of a ``sam2`` model (``settings.config``: config name or file; a relative file
            is resolved against the models file that declares it).
        models_files: extra models files (``--models FILE``), besides the shipped one and
            ``$ANYLABEL_MODELS`` (ignored when ``registry`` is given).
        progress: ``progress(done_bytes, total_bytes)`` during a download or first verification.
        registry: an already loaded :class:`~anylabel.models.ModelRegistry` (the GUI's).
    """
    if registry is None:
        from anylabel.models import ModelRegistry

        registry = ModelRegistry.load(models_files)
    spec = registry.get(name)
    if spec.family != "sam2":
        raise ModelError(f"model {name!r} is a {spec.family} model; tracking needs a sam2 model "
                         f"({', '.join(sam2_models(registry)) or 'none declared'})")
    config = spec.settings.get("config")
    if not config or not isinstance(config, str):
        raise ModelError(f"model {name!r} has no settings.config (the SAM2 config name or file)", spec.source)
    candidate = Path(config).expanduser()
    if candidate.suffix in (".yaml", ".yml") and not candidate.is_absolute() and spec.source is not None:
        if (spec.source.parent / candidate).is_file():
            config = str(spec.source.parent / candidate)
    from anylabel.devices import resolve_device

    device = resolve_device(device)  # DeviceError before a download
    checkpoint = registry.ensure(spec, progress=progress)
    return build_video_predictor(config, checkpoint, device=device)


def sam2_models(registry: Any) -> List[str]:
    """Names of the registry's sam2 models (the ones that can track), available ones first."""
    specs = [s for s in registry.specs() if s.family == "sam2"]
    return [s.name for s in sorted(specs, key=lambda s: not registry.is_available(s))]
