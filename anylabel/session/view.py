"""Which shapes are selected and which are hidden: sets of stable shape ids (never list positions). Qt-free.

The session keeps one :class:`ViewState` for the current image; a canvas used without a session (benchmarks,
widget tests) makes its own. Changes are announced by plain callbacks with the new frozenset of ids.
"""
from __future__ import annotations

from typing import Callable, FrozenSet, Iterable, Optional

from anylabel.document.history import Callbacks


class ViewState:
    """Selected and hidden shape ids.

    Args:
        present: ``fn() -> ids`` of the shapes there now; ids not present are ignored (None: all accepted).
    """

    def __init__(self, present: Optional[Callable[[], Iterable[int]]] = None) -> None:
        self.selected: FrozenSet[int] = frozenset()
        self.hidden: FrozenSet[int] = frozenset()
        self.selection_changed = Callbacks()  # (ids)
        self.visibility_changed = Callbacks()  # (ids)
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

    def reset(self) -> None:
        """Nothing selected or hidden (another image: no events, the image change says it all)."""
        self.selected = self.hidden = frozenset()
