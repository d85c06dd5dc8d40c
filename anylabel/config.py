"""The user's settings file: defaults, strict validation, keyboard shortcuts.

The file is YAML at ``<platformdirs user config dir>/anylabel/config.yaml`` (for example
``~/.config/anylabel/config.yaml`` on Linux); the environment variable ``ANYLABEL_CONFIG`` names another
file (tests use it). A missing file means "all defaults". Only the keys a user wants to change need to be
in it::

    autosave: true
    output_dir: ~/labels
    labels: [person, car, truck]
    shortcuts:
      finish_object: Return
      next_image: Right

Validation is strict, like the models file: an unknown key, a value of the wrong type or two actions on
one key raise :class:`ConfigError` naming the file, so a typo never silently changes behaviour.
Shortcuts are Qt key-sequence strings (``"Ctrl+Shift+Z"``); the GUI checks that Qt can parse them.
This module is Qt-free on purpose: the CLI and tests read the same settings.
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import yaml

from anylabel.errors import ConfigError
from anylabel.fileio import atomic_write_text

PathLike = Union[str, Path]

#: the values of the ``precision`` setting (see anylabel.backends.precision); also the CLI's --precision choices
PRECISIONS = ("auto", "float32", "bfloat16")

#: action name -> (default key sequences, description). The first sequence is the one shown in menus.
#: Several keys for one action are written as a list in the file (``redo: [Ctrl+Shift+Z, Ctrl+Y]``).
SHORTCUTS: Dict[str, tuple] = {
    "open_file": (["Ctrl+O"], "Open an image, a LabelMe JSON or a video"),
    "open_dir": (["Ctrl+U"], "Open a folder of images"),
    "save": (["Ctrl+S"], "Save the annotation (LabelMe JSON)"),
    "next_image": (["D"], "Next image"),
    "prev_image": (["A"], "Previous image"),
    "ai_mode": (["I"], "AI mode: click / box prompts"),
    "polygon_mode": (["P"], "Draw polygons"),
    "rectangle_mode": (["R"], "Draw rectangles"),
    "edit_mode": (["Ctrl+J"], "Edit mode: select, move, delete shapes and vertices"),
    "finish_object": (["F"], "Finish the AI object (label dialog)"),
    "clear_prompts": (["B"], "Clear the AI prompts"),
    "cycle_candidate": (["C"], "Cycle the mask candidates (whole / part / subpart)"),
    "toggle_output": (["O"], "AI output: polygon or mask shape"),
    "undo": (["Ctrl+Z"], "Undo (the last prompt first, then the last edit)"),
    "redo": (["Ctrl+Shift+Z", "Ctrl+Y"], "Redo"),
    "delete": (["Delete", "Backspace"], "Delete the selected shapes (or the hovered vertex)"),
    "copy": (["Ctrl+C"], "Copy the selected shapes"),
    "paste": (["Ctrl+V"], "Paste shapes"),
    "change_label": (["Ctrl+E"], "Change the label of the selected shapes"),
    "select_all": (["Ctrl+Shift+A"], "Select all shapes"),
    "duplicate": (["Ctrl+D"], "Duplicate the selected shapes"),
    "bring_to_front": (["Ctrl+]"], "Draw the selected shapes on top"),
    "send_to_back": (["Ctrl+["], "Draw the selected shapes below the others"),
    "toggle_shapes": (["H"], "Hide / show all shapes"),
    "fit_window": (["Ctrl+F"], "Fit the image to the window"),
    "zoom_in": (["Ctrl+="], "Zoom in"),
    "zoom_out": (["Ctrl+-"], "Zoom out"),
    "zoom_original": (["Ctrl+0"], "Zoom to 100 %"),
    "shortcuts": (["F1"], "Show this list of shortcuts"),
    "quit": (["Ctrl+Q"], "Quit"),
    # used by the video panel (issue 5) and the export dialog (issue 7); reserved here so that the file
    # validates and clashes are found in one place
    "propagate": (["Ctrl+M"], "Video: propagate the tracked objects forward"),
    "propagate_backward": (["Ctrl+Shift+M"], "Video: propagate the tracked objects backward (towards frame 0)"),
    "propagate_both": (["Ctrl+Alt+M"], "Video: propagate both ways (an object gets the frames before its prompt too)"),
    "interpolate": (["Ctrl+Shift+J"], "Video: interpolate between keyframes (the selected track, else all)"),
    "reset_tracker": (["Ctrl+Shift+R"], "Video: reset the tracker (annotations are kept)"),
    "export": (["Ctrl+Shift+E"], "Export the dataset"),
    "find_text": (["Ctrl+Shift+F"], "Find objects by text (CLIP): the best matches become the AI preview"),
    # issue 15 part B (gui-review): segment everything, view adjustment, review, polygon detail
    "everything": (["Ctrl+G"], "Segment everything: click a candidate to keep it, Esc hides them"),
    "view_adjust": (["Ctrl+Shift+B"], "Adjust brightness / contrast / gamma of the display (never saved)"),
    "toggle_checked": (["K"], "Mark the image checked (reviewed), or not any more"),
    "next_unchecked": (["Shift+D"], "Go to the next image that is not checked"),
    "prev_unchecked": (["Shift+A"], "Go to the previous image that is not checked"),
    "detail_finer": (["Alt+="], "Polygon detail: finer AI polygons (more vertices)"),
    "detail_coarser": (["Alt+-"], "Polygon detail: coarser AI polygons (fewer vertices)"),
    # mask and shape editing (issue 15, gui-draw)
    "brush_mode": (["W"], "Brush: paint the AI preview or the selected shape (it becomes a mask)"),
    "eraser_mode": (["E"], "Eraser: erase from the AI preview or the selected shape"),
    "brush_smaller": (["["], "Brush / eraser radius smaller"),
    "brush_larger": (["]"], "Brush / eraser radius larger"),
    "point_mode": (["Shift+P"], "Draw points (one click each)"),
    "line_mode": (["L"], "Draw lines (two clicks, or drag)"),
    "linestrip_mode": (["Shift+L"], "Draw line strips (click vertices; double-click or Enter ends)"),
    "circle_mode": (["Shift+O"], "Draw circles (drag from the centre, or click centre then edge)"),
    "rotation_mode": (["Shift+R"], "Draw rotated rectangles (drag a box, then Z / X turn it)"),
    "rotate_left": (["Z"], "Turn the selected shapes 1° counter-clockwise"),
    "rotate_right": (["X"], "Turn the selected shapes 1° clockwise"),
    "union_shapes": (["Ctrl+Shift+U"], "Union of the selected shapes (a result with holes is a mask shape)"),
    "subtract_shapes": (["Ctrl+Shift+-"], "Subtract: the second selected shape cut out of the first"),
    "intersect_shapes": (["Ctrl+Shift+I"], "Intersection of the selected shapes"),
    "to_mask": (["Ctrl+Shift+K"], "Turn the selected shapes into exact mask shapes"),
    "to_polygons": (["Ctrl+Shift+O"], "Turn the selected mask shapes back into polygons"),
    "reprompt_shape": (["Ctrl+R"], "Refine the selected shape: clicks / box, F replaces it, Esc cancels"),
}

#: the sections of Help → Shortcuts and of the README's tables (tests/gui/test_shortcut_docs.py keeps them equal)
SHORTCUT_GROUPS: Dict[str, tuple] = {
    "Files and images": ("open_file", "open_dir", "save", "next_image", "prev_image", "toggle_checked",
                         "next_unchecked", "prev_unchecked", "export", "quit"),
    "Modes": ("ai_mode", "polygon_mode", "rectangle_mode", "edit_mode"),
    "AI objects": ("finish_object", "clear_prompts", "cycle_candidate", "toggle_output", "find_text", "everything",
                   "detail_finer", "detail_coarser"),
    "Editing": ("undo", "redo", "delete", "copy", "paste", "change_label", "select_all", "duplicate",
                "bring_to_front", "send_to_back"),
    "Mask and shape editing": ("brush_mode", "eraser_mode", "brush_smaller", "brush_larger", "point_mode",
                               "line_mode", "linestrip_mode", "circle_mode", "rotation_mode", "rotate_left",
                               "rotate_right", "union_shapes", "subtract_shapes", "intersect_shapes", "to_mask",
                               "to_polygons", "reprompt_shape"),
    "View": ("toggle_shapes", "fit_window", "zoom_in", "zoom_out", "zoom_original", "view_adjust", "shortcuts"),
    "Video": ("propagate", "propagate_backward", "propagate_both", "interpolate", "reset_tracker"),
}


@dataclass
class Config:
    """Every user setting, with its default.

    Attributes:
        autosave: save the annotation automatically when moving to another image and after each finished
            object, instead of asking.
        output_dir: folder for LabelMe JSON files; ``None`` writes them next to the images.
        labels: predefined label names offered first in the label dialog.
        label_colors: label -> ``"#rrggbb"``; other labels get a stable colour from their name.
        ai_output: ``"polygon"`` or ``"mask"``: what F turns the preview into.
        polygon_tolerance: simplification tolerance in pixels for masks turned into polygons.
        min_part_area: mask parts smaller than this many pixels are dropped when making polygons.
        default_model: registry name of the model to use at start; ``None`` = the best available.
        prefetch: how many of the next images get their embedding computed in the background.
        cache_mb: the embedding cache's memory bound in MB.
        precision: SAM / SAM2 arithmetic, ``auto`` (on a CPU, the engines a one-time probe finds fastest:
            torch float32 / bfloat16, ONNX Runtime for SAM, see :mod:`anylabel.backends.engines`; on a GPU,
            what the model's upstream runs there), ``float32`` or ``bfloat16`` (torch); see
            :mod:`anylabel.backends.precision`.
        device: where models run: ``auto`` (the first GPU, else the CPU), ``cpu``, ``cuda``, ``cuda:N`` or
            ``mps``; see :mod:`anylabel.devices`. ``$ANYLABEL_DEVICE`` and ``--device`` override it.
        mask_opacity: opacity of the preview mask and of shape fills (0..1).
        auto_accept_confidence: when a label suggestion reaches this confidence, F accepts it without
            the dialog; ``None`` always asks.
        semantic: the semantic branch whose vote pre-fills the label dialog (``labelmap:DIR``,
            ``yolo:MODEL`` or ``hf:MODEL_DIR``, as ``anylabel autolabel --semantic``); ``None`` = off.
        clip_model: registry name of the CLIP model (family ``clip``) whose top-k labels the label dialog
            shows and that the find box uses; ``None`` = off.
        clip_vocabulary: the names CLIP chooses from: a file (one name per line) or comma-separated words;
            ``None`` = the label list.
        shortcuts: action -> list of key sequences, see :data:`SHORTCUTS`.
        shape_flags: the per-shape flags the label dialog offers (labelme's shape ``flags``), e.g.
            ``[occluded, truncated]``.
        image_flags: the image-level flags offered (labelme's top-level ``flags``, its ``--flags``).
        image_tags: image-level tags offered first (free tags are allowed too; the file's ``tags`` list).
        attributes: attribute name -> its choices, for shapes of every label, e.g.
            ``{color: [red, white, blue]}`` (stored in the shape's ``attributes``).
        label_attributes: label -> attribute name -> choices, for shapes of that label only (X-AnyLabeling's
            attributes file); they add to and override ``attributes`` (:meth:`attribute_choices`).
    """

    autosave: bool = False
    output_dir: Optional[str] = None
    labels: List[str] = field(default_factory=list)
    label_colors: Dict[str, str] = field(default_factory=dict)
    ai_output: str = "polygon"
    polygon_tolerance: float = 1.0
    min_part_area: float = 25.0
    default_model: Optional[str] = None
    prefetch: int = 2
    cache_mb: int = 1024
    precision: str = "auto"
    device: str = "auto"
    mask_opacity: float = 0.45
    auto_accept_confidence: Optional[float] = None
    semantic: Optional[str] = None
    clip_model: Optional[str] = None
    clip_vocabulary: Optional[str] = None
    shortcuts: Dict[str, List[str]] = field(default_factory=lambda: {k: list(v[0]) for k, v in SHORTCUTS.items()})
    shape_flags: List[str] = field(default_factory=list)
    image_flags: List[str] = field(default_factory=list)
    image_tags: List[str] = field(default_factory=list)
    attributes: Dict[str, List[str]] = field(default_factory=dict)
    label_attributes: Dict[str, Dict[str, List[str]]] = field(default_factory=dict)
    #: the file this configuration was read from (not a setting)
    path: Optional[Path] = field(default=None, compare=False, repr=False)

    def shortcut(self, action: str) -> List[str]:
        """The key sequences of ``action`` (empty list = no shortcut)."""
        return list(self.shortcuts.get(action, []))

    def attribute_choices(self, label: str) -> Dict[str, List[str]]:
        """Attribute name -> choices for a shape labelled ``label``: ``attributes`` plus ``label_attributes``."""
        return {**{k: list(v) for k, v in self.attributes.items()},
                **{k: list(v) for k, v in self.label_attributes.get(label, {}).items()}}


_SETTING_KEYS = [k for k in Config.__dataclass_fields__ if k != "path"]


def config_path() -> Path:
    """The settings file: ``$ANYLABEL_CONFIG`` or the platform's user config folder."""
    env = os.environ.get("ANYLABEL_CONFIG")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("anylabel", appauthor=False)) / "config.yaml"


def load_config(path: Optional[PathLike] = None) -> Config:
    """Read and validate the settings file (default :func:`config_path`); a missing file gives defaults.

    Raises:
        ConfigError: naming the file, for invalid YAML, unknown keys, wrong types or shortcut clashes.
    """
    path = Path(path) if path is not None else config_path()
    if not path.exists():
        return Config(path=path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"cannot read the settings file: {e.strerror or e}", path) from e
    except yaml.YAMLError as e:
        raise ConfigError(f"not valid YAML: {e}", path) from e
    return config_from_dict(data or {}, path)


def config_from_dict(data: Any, path: Optional[PathLike] = None) -> Config:
    """Validate a parsed settings mapping; values not given keep their defaults."""
    path = Path(path) if path is not None else None
    if not isinstance(data, dict):
        raise ConfigError(f"the settings file must be a mapping, got {type(data).__name__}", path)
    unknown = sorted(set(map(str, data)) - set(_SETTING_KEYS))
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)} (known: {', '.join(_SETTING_KEYS)})", path)
    cfg = Config(path=path)
    for key, value in data.items():
        checker = _CHECKS[key]
        setattr(cfg, key, checker(key, value, path, getattr(cfg, key)))
    _check_clashes(cfg.shortcuts, path)
    return cfg


def save_config(cfg: Config, path: Optional[PathLike] = None) -> Path:
    """Write the settings that differ from the defaults (atomically) and return the file written."""
    path = Path(path) if path is not None else (cfg.path or config_path())
    defaults = Config()
    out: Dict[str, Any] = {}
    for key in _SETTING_KEYS:
        value = getattr(cfg, key)
        if key == "shortcuts":
            changed = {a: keys for a, keys in value.items() if keys != defaults.shortcuts.get(a)}
            if changed:
                out[key] = changed
        elif value != getattr(defaults, key):
            out[key] = copy.deepcopy(value)
    atomic_write_text(path, yaml.safe_dump(out, sort_keys=True, allow_unicode=True))
    return path


# ---------------------------------------------------------------------------------------- validation


def _fail(key: str, why: str, value: Any, path: Optional[Path]) -> ConfigError:
    return ConfigError(f"setting {key!r}: {why}, got {value!r}", path)


def _bool(key: str, value: Any, path: Optional[Path], default: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(key, "must be true or false", value, path)
    return value


def _opt_str(key: str, value: Any, path: Optional[Path], default: Any) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(key, "must be a non-empty string or null", value, path)
    return value.strip()


def _number(lo: float, hi: float, integer: bool = False, optional: bool = False):
    def check(key: str, value: Any, path: Optional[Path], default: Any) -> Any:
        if value is None and optional:
            return None
        ok_type = int if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, ok_type) or not lo <= value <= hi:
            kind = "an integer" if integer else "a number"
            raise _fail(key, f"must be {kind} from {lo} to {hi}" + (" or null" if optional else ""), value, path)
        return int(value) if integer else float(value)

    return check


def _choice(*choices: str):
    def check(key: str, value: Any, path: Optional[Path], default: Any) -> str:
        if value not in choices:
            raise _fail(key, f"must be one of {', '.join(choices)}", value, path)
        return value

    return check


def _device(key: str, value: Any, path: Optional[Path], default: Any) -> str:
    from anylabel.devices import DeviceError, check_device_name

    try:
        return check_device_name(value)
    except DeviceError as e:
        raise _fail(key, "must be auto, cpu, cuda, cuda:N or mps", value, path) from e


def _str_list(key: str, value: Any, path: Optional[Path], default: Any) -> List[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(key, "must be a list of non-empty strings", value, path)
    return [v.strip() for v in value]


def _colors(key: str, value: Any, path: Optional[Path], default: Any) -> Dict[str, str]:
    import re

    if not isinstance(value, dict):
        raise _fail(key, "must be a mapping label -> '#rrggbb'", value, path)
    for label, colour in value.items():
        if not isinstance(colour, str) or not re.fullmatch(r"#[0-9a-fA-F]{6}", colour):
            raise _fail(f"{key}.{label}", "must be a colour '#rrggbb'", colour, path)
    return {str(k): v.lower() for k, v in value.items()}


def _shortcuts(key: str, value: Any, path: Optional[Path], default: Dict[str, List[str]]) -> Dict[str, List[str]]:
    if not isinstance(value, dict):
        raise _fail(key, "must be a mapping action -> key sequence", value, path)
    out = {a: list(k) for a, k in default.items()}
    for action, keys in value.items():
        if action not in SHORTCUTS:
            raise ConfigError(f"unknown shortcut action {action!r} (known: {', '.join(sorted(SHORTCUTS))})", path)
        if keys is None:
            keys = []
        if isinstance(keys, str):
            keys = [keys]
        if not isinstance(keys, list) or not all(isinstance(k, str) and k.strip() for k in keys):
            raise _fail(f"{key}.{action}", "must be a key sequence string, a list of them, or null", keys, path)
        out[action] = [k.strip() for k in keys]
    return out


def _choices(key: str, value: Any, path: Optional[Path], default: Any) -> Dict[str, List[str]]:
    if not isinstance(value, dict):
        raise _fail(key, "must be a mapping name -> list of choices", value, path)
    return {str(name): _str_list(f"{key}.{name}", choices, path, None) for name, choices in value.items()}


def _label_choices(key: str, value: Any, path: Optional[Path], default: Any) -> Dict[str, Dict[str, List[str]]]:
    if not isinstance(value, dict):
        raise _fail(key, "must be a mapping label -> {name: list of choices}", value, path)
    return {str(label): _choices(f"{key}.{label}", v, path, None) for label, v in value.items()}


def _check_clashes(shortcuts: Dict[str, List[str]], path: Optional[Path]) -> None:
    owner: Dict[str, str] = {}
    for action, keys in shortcuts.items():
        for k in keys:
            norm = k.replace(" ", "").lower()
            if norm in owner and owner[norm] != action:
                raise ConfigError(f"shortcut {k!r} is given to both {owner[norm]!r} and {action!r}", path)
            owner[norm] = action


_CHECKS = {
    "autosave": _bool,
    "output_dir": _opt_str,
    "labels": _str_list,
    "label_colors": _colors,
    "ai_output": _choice("polygon", "mask"),
    "polygon_tolerance": _number(0.0, 50.0),
    "min_part_area": _number(0.0, 1e9),
    "default_model": _opt_str,
    "prefetch": _number(0, 64, integer=True),
    "cache_mb": _number(0, 1 << 20, integer=True),
    "precision": _choice(*PRECISIONS),
    "device": _device,
    "mask_opacity": _number(0.0, 1.0),
    "auto_accept_confidence": _number(0.0, 1.0, optional=True),
    "semantic": _opt_str,
    "clip_model": _opt_str,
    "clip_vocabulary": _opt_str,
    "shortcuts": _shortcuts,
    "shape_flags": _str_list,
    "image_flags": _str_list,
    "image_tags": _str_list,
    "attributes": _choices,
    "label_attributes": _label_choices,
}
