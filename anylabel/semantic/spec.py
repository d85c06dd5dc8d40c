"""``--semantic SPEC`` strings: ``labelmap:DIR``, ``yolo:MODEL``, ``hf:MODEL_DIR``.

``MODEL`` for ``yolo:`` is a ``.pt`` file, or the name of a model in the registry (``models.yaml``,
``--models FILE``, ``ANYLABEL_MODELS``), whose verified local file is used. Everything after the first
colon is the path, so Windows drive letters (``labelmap:C:\\maps``) work.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional, Union

from anylabel.errors import AnylabelError
from anylabel.semantic.branch import SemanticBranch

PathLike = Union[str, Path]

KINDS = ("labelmap", "yolo", "hf")
USAGE = "labelmap:DIR, yolo:MODEL or hf:MODEL_DIR"


def split_spec(spec: str) -> tuple:
    """``"kind:arg"`` -> ``(kind, arg)``; raises AnylabelError for anything else."""
    kind, sep, arg = str(spec).partition(":")
    kind = kind.strip().lower()
    if not sep or not arg.strip():
        raise AnylabelError(f"invalid semantic branch {spec!r}: expected {USAGE}")
    if kind not in KINDS:
        raise AnylabelError(f"unknown semantic branch kind {kind!r} in {spec!r}: expected {USAGE}")
    return kind, arg.strip()


def parse_semantic_spec(
    spec: str,
    names_file: Optional[PathLike] = None,
    models_files: Iterable[PathLike] = (),
    device: Optional[str] = None,
) -> SemanticBranch:
    """Build the branch a spec names.

    Args:
        spec: ``labelmap:DIR``, ``yolo:MODEL`` or ``hf:MODEL_DIR``.
        names_file: for ``labelmap``: the class names file, instead of ``DIR/class_names.txt``.
        models_files: extra models files for registry names in ``yolo:NAME``.
        device: where the model branches run (a name of :mod:`anylabel.devices`; None: ``$ANYLABEL_DEVICE``
            or auto).

    Raises:
        AnylabelError (or a subclass naming the file): unknown kind, missing folder or model.
    """
    kind, arg = split_spec(spec)
    if kind == "labelmap":
        from anylabel.semantic.labelmap import LabelMapBranch

        branch: SemanticBranch = LabelMapBranch(arg, names_file=names_file)
    elif kind == "yolo":
        from anylabel.semantic.yolo_branch import YoloBranch

        branch = YoloBranch(_model_file(arg, models_files), device=device)
    else:
        from anylabel.semantic.hf_branch import HFBranch

        branch = HFBranch(arg, device=device)
    branch.name = f"{kind}:{arg}"
    return branch


def _model_file(arg: str, models_files: Iterable[PathLike]) -> Path:
    """A path as given, or the verified file of a registry model of that name."""
    path = Path(arg).expanduser()
    if path.exists() or path.suffix or "/" in arg or "\\" in arg:
        return path
    from anylabel.models.registry import ModelRegistry

    registry = ModelRegistry.load(extra_files=list(models_files) or None)
    if arg not in registry:
        raise AnylabelError(f"{arg!r} is neither a model file nor a model in the registry")
    found = registry.ensure(registry.get(arg))
    if found is None:
        raise AnylabelError(f"model {arg!r} has no file to load as a YOLO segmentation model")
    return found
