"""Icons and sample images, installed as the package ``anylabel.resources``.

Use :func:`path` to find a file, so the same code works from a checkout and from an installed wheel.
"""
from pathlib import Path

HERE = Path(__file__).resolve().parent


def path(*parts: str) -> Path:
    """The path of a resource file, e.g. ``path("icons", "anylabel.png")``."""
    return HERE.joinpath(*parts)
