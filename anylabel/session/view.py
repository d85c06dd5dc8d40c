"""Which shapes are selected and which are hidden: sets of stable shape ids (never list positions); the brush
radius and the display adjustment (brightness / contrast / gamma). None of it is undoable or saved. Qt-free.

The session keeps one :class:`ViewState` for the current image; a canvas used without a session (benchmarks,
widget tests) makes its own. Changes are announced by plain callbacks with the new frozenset of ids.
"""
from __future__ import annotations

from typing import Callable, FrozenSet, Iterable, Optional

import numpy as np

from anylabel.document.history import Callbacks
from anylabel.editing.view import ViewAdjustment, adjusted


class ViewState:
    """Selected and hidden shape ids.

    Args:
        present: ``fn() -> ids`` of the shapes there now; ids not present are ignored (None: all accepted).
    """

    def __init__(self, present: Optional[Callable[[], Iterable[int]]] = None) -> None:
        self.selected: FrozenSet[int] = frozenset()
        self.brush_radius = 10.0  # pixels (session.brush); like the adjustment below, never saved
        self.adjustment = ViewAdjustment()  # brightness / contrast / gamma of the display only
        self.hidden: FrozenSet[int] = frozenset()
        self.selection_changed = Callbacks()  # (ids)
        self.visibility_changed = Callbacks()  # (ids)
        self.adjustment_changed = Callbacks()  # (ViewAdjustment)
        self._present = present

    def only_present(self, ids: Iterable[int]) -> FrozenSet[int]:
        if self._present is None:
            return frozenset(ids)
        present = set(self._present())
        return frozenset(i for i in ids if i in present)

    def select(self, ids: Iterable[int]) -> None:
        """Select exactly these shapes."""
        new = self.only_present(ids)
        if new != self.selected:
            self.selected = new
            self.selection_changed.emit(new)

    def set_hidden(self, ids: Iterable[int]) -> None:
        """Hide exactly these shapes (the others are shown)."""
        new = self.only_present(ids)
        if new != self.hidden:
            self.hidden = new
            self.visibility_changed.emit(new)

    def hide(self, ids: Iterable[int]) -> None:
        self.set_hidden(self.hidden | set(ids))

    def show(self, ids: Iterable[int]) -> None:
        self.set_hidden(self.hidden - set(ids))

    def display_image(self, image: np.ndarray) -> np.ndarray:
        """The image to show: a copy of ``image`` (HxWx3 uint8) through :attr:`adjustment`
        (:func:`anylabel.editing.view.adjusted`); the image itself, which models and files see, is unchanged."""
        return adjusted(image, self.adjustment)

    def set_adjustment(self, brightness: float = 0.0, contrast: float = 1.0, gamma: float = 1.0) -> None:
        """New display adjustment (ValueError for values out of range); not an undo step, never saved."""
        new = ViewAdjustment(brightness, contrast, gamma)
        if new != self.adjustment:
            self.adjustment = new
            self.adjustment_changed.emit(new)

    def reset(self) -> None:
        """Nothing selected or hidden (another image: no events, the image change says it all)."""
        self.selected = self.hidden = frozenset()
