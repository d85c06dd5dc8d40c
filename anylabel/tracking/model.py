"""The video predictor of a model of the zoo, set up for tracking: sam2's (family ``sam2``) or SAM 3's tracker
(family ``sam3``: :mod:`anylabel.tracking.sam3_model`), and the tracking session that fits it
(:func:`open_session`).

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

#: the model families that track objects through a video
TRACKING_FAMILIES = ("sam2", "sam3")


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
            is resolved against the models file that declares it) or of a ``sam3`` model (its ``sam3.pt``;
            ``settings.memory_selection``, see :mod:`anylabel.tracking.sam3_model`).
        models_files: extra models files (``--models FILE``), besides the shipped one and
            ``$ANYLABEL_MODELS`` (ignored when ``registry`` is given).
        progress: ``progress(done_bytes, total_bytes)`` during a download or first verification.
        registry: an already loaded :class:`~anylabel.models.ModelRegistry` (the GUI's).
    """
    if registry is None:
        from anylabel.models import ModelRegistry

        registry = ModelRegistry.load(models_files)
    spec = registry.get(name)
    if spec.family not in TRACKING_FAMILIES:
        raise ModelError(f"model {name!r} is a {spec.family} model; tracking needs a sam2 or sam3 model "
                         f"({', '.join(tracking_models(registry)) or 'none declared'})")
    if spec.family == "sam3":
        from anylabel.devices import resolve_device
        from anylabel.tracking.sam3_model import build_sam3_tracker

        device = resolve_device(device)  # DeviceError before the file is read
        checkpoint = registry.ensure(spec, progress=progress)
        selection = bool(spec.settings.get("memory_selection", True))
        return build_sam3_tracker(checkpoint, device, memory_selection=selection)
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


def open_session(predictor: Any, frames: Any, release_memory: bool = True, precision: Optional[str] = None) -> Any:
    """The tracking session for ``predictor``: :class:`~anylabel.tracking.session.TrackingSession` for sam2's,
    :class:`~anylabel.tracking.sam3_session.Sam3TrackingSession` for SAM 3's tracker (one interface)."""
    from anylabel.tracking.sam3_model import is_sam3_tracker

    if is_sam3_tracker(predictor):
        from anylabel.tracking.sam3_session import Sam3TrackingSession

        return Sam3TrackingSession(predictor, frames, release_memory=release_memory, precision=precision)
    from anylabel.tracking.session import TrackingSession

    return TrackingSession(predictor, frames, release_memory=release_memory, precision=precision)


def tracking_models(registry: Any) -> List[str]:
    """Names of the models that can track: the sam2 models (available first), then the sam3 models whose file
    is there (SAM 3's weights are gated: never offered for a download that cannot happen)."""
    sam3 = [s.name for s in registry.specs() if s.family == "sam3" and registry.is_available(s)]
    return sam2_models(registry) + sam3


def sam2_models(registry: Any) -> List[str]:
    """Names of the registry's sam2 models (the ones that can track), available ones first."""
    specs = [s for s in registry.specs() if s.family == "sam2"]
    return [s.name for s in sorted(specs, key=lambda s: not registry.is_available(s))]
