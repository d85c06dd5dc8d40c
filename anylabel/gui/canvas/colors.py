"""Label colours: stable across sessions (derived from the name), overridable in the settings file."""
from __future__ import annotations

import colorsys
import hashlib
from typing import Dict, Optional, Tuple

from PyQt5 import QtGui

# A few hand-picked, well separated colours for the first labels people usually type; everything else
# gets a hue from a hash of its name, so the same label has the same colour on every machine.
_FIXED = {
    "": "#9aa0a6",
    "person": "#ff6b6b",
    "car": "#4dabf7",
    "truck": "#ffa94d",
    "dog": "#69db7c",
    "cat": "#da77f2",
}


def label_rgb(label: str) -> tuple:
    """(r, g, b) 0..255 of a label, from its name only."""
    if label in _FIXED:
        h = _FIXED[label]
        return int(h[1:3], 16), int(h[3:5], 16), int(h[5:7], 16)
    digest = hashlib.md5(label.encode("utf-8")).digest()
    hue = digest[0] / 255.0
    sat = 0.55 + 0.35 * digest[1] / 255.0
    val = 0.85 + 0.15 * digest[2] / 255.0
    r, g, b = colorsys.hsv_to_rgb(hue, sat, val)
    return int(r * 255), int(g * 255), int(b * 255)


class LabelColors:
    """label -> QColor, with the user's overrides from ``Config.label_colors``."""

    def __init__(self, overrides: Optional[Dict[str, str]] = None) -> None:
        self._overrides = dict(overrides or {})
        self._cache: Dict[str, QtGui.QColor] = {}
        self._icons: Dict[Tuple[str, int], QtGui.QIcon] = {}  # the shape list asks once per shape and refresh

    def __call__(self, label: str) -> QtGui.QColor:
        colour = self._cache.get(label)
        if colour is None:
            if label in self._overrides:
                colour = QtGui.QColor(self._overrides[label])
            else:
                colour = QtGui.QColor(*label_rgb(label))
            self._cache[label] = colour
        return colour

    def icon(self, label: str, size: int = 14) -> QtGui.QIcon:
        """A small rounded colour swatch for lists (made once per label and size)."""
        icon = self._icons.get((label, size))
        if icon is None:
            icon = self._icons[(label, size)] = self._swatch(label, size)
        return icon

    def _swatch(self, label: str, size: int) -> QtGui.QIcon:
        pix = QtGui.QPixmap(size, size)
        pix.fill(QtGui.QColor(0, 0, 0, 0))
        p = QtGui.QPainter(pix)
        p.setRenderHint(QtGui.QPainter.Antialiasing)
        p.setPen(QtGui.QPen(self(label).darker(150), 1))
        p.setBrush(self(label))
        p.drawRoundedRect(1, 1, size - 2, size - 2, 3, 3)
        p.end()
        return QtGui.QIcon(pix)
