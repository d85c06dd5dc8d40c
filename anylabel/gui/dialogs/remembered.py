"""The last options of the GUI's dialogs (export, import), kept between sessions.

A small JSON file beside the settings file (``dialogs.json`` next to ``config.yaml``; ``$ANYLABEL_CONFIG``
moves both), written atomically. It is a convenience, not a setting: a missing, unreadable or corrupt file
means "nothing remembered" (logged), never an error in the user's way.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict

from anylabel.config import config_path
from anylabel.errors import AnylabelError, FormatError
from anylabel.fileio import atomic_write_json, read_json

log = logging.getLogger(__name__)


def _file() -> Path:
    return config_path().parent / "dialogs.json"


def _read_all() -> Dict[str, Any]:
    path = _file()
    if not path.exists():
        return {}
    try:
        data = read_json(path)
    except FormatError as e:
        log.warning("ignoring the remembered dialog options: %s", e)
        return {}
    return data if isinstance(data, dict) else {}


def recall(dialog: str) -> Dict[str, Any]:
    """The options ``dialog`` last ran with (empty when none)."""
    values = _read_all().get(dialog)
    return values if isinstance(values, dict) else {}


def remember(dialog: str, values: Dict[str, Any]) -> None:
    """Keep ``values`` (JSON-able) as ``dialog``'s last options; a failed write is logged, not raised."""
    data = _read_all()
    data[dialog] = values
    try:
        _file().parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(_file(), data)
    except (OSError, AnylabelError) as e:
        log.warning("cannot remember the dialog options in %s: %s", _file(), e)
