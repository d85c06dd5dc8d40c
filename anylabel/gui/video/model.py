"""Which model video mode tracks with (SAM2, or SAM 3 when it is the window's model), and what to tell the user
when there is none. Qt-free.

Tracking is optional: without a usable SAM2 / SAM 3 model (none declared, its file not downloaded, or a file that
does not load) the frames are still browsed, annotated by hand or with the image model, and saved. These
messages say which model, what is wrong and how to get it (the model picker), in one place.
"""
from __future__ import annotations

from typing import Any, Optional

#: where the user downloads or chooses models in the window
PICKER = "the model picker (the Model list in the toolbar: ⬇ entries download)"
STILL_USABLE = "The frames can still be browsed, annotated by hand or with the image model, and saved."


def tracking_model(registry: Any, current: Optional[str]) -> Optional[str]:
    """The model to track with: the window's model when it can track (a SAM2 model, or SAM 3 whose file is
    there), else the first SAM2 model (available first)."""
    from anylabel.tracking.model import tracking_models

    names = tracking_models(registry)
    return current if current in names else (names[0] if names else None)


def no_model_message() -> str:
    return f"No SAM2 model is declared: tracking needs one (anylabel models list). {STILL_USABLE}"


def missing_model_message(registry: Any, name: str) -> str:
    """The model's file is not there (and the user did not download it)."""
    spec = registry.get(name)
    where = registry.local_path(spec)
    how = f"download it with {PICKER}" if spec.url else f"put its file at {where}"
    return (f"Tracking is off: the SAM2 model {spec.display_name or name} ({name}) is not downloaded "
            f"(expected at {where}).\nTo track objects, {how}, or choose another SAM2 model there.\n{STILL_USABLE}")


def load_failed_message(name: str, reason: str) -> str:
    """The model's file is there but did not load (corrupt, wrong checksum, wrong architecture)."""
    return (f"The tracking model {name} could not be loaded:\n{reason}\n\nTracking is off. {STILL_USABLE} "
            f"Choose another SAM2 model in {PICKER} to track.")


def tracking_off_message(name: Optional[str]) -> str:
    """Ctrl+M while tracking is off."""
    which = f"the SAM2 model {name} is not loaded" if name else "no SAM2 model is declared"
    return f"Tracking is off: {which}. Download or choose a SAM2 model in {PICKER}, then propagate again."
