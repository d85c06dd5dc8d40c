"""One way to print a byte count, for the command line and the GUI alike.

Decimal SI units (1 MB = 1,000,000 bytes), as on the download pages the model sizes come from and as file
managers on most desktops show them: ``375042354`` is ``375.0 MB`` everywhere (the GUI used to print
``357.7 MB`` for it, a MiB count labelled MB).
"""
from __future__ import annotations

from typing import Optional

_UNITS = ("B", "kB", "MB", "GB", "TB")


def format_size(size: Optional[int], unknown: str = "-") -> str:
    """``1234567`` -> ``"1.2 MB"``; ``unknown`` when ``size`` is None."""
    if size is None:
        return unknown
    value = float(size)
    for unit in _UNITS:
        if abs(value) < 1000 or unit == _UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")
