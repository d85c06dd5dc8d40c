"""The prompts of the object being segmented (AI mode), with undo and redo. Plain Python, no Qt.

A prompt is a tuple, in the order the user gave them:

* ``("point", x, y, positive)``: a click (image pixels, float; ``positive`` False = "not this");
* ``("box", (x1, y1, x2, y2), negative)``: a dragged box (a negative box excludes its area).

One object has at most one positive box: a new one replaces the old (and undo brings the old one back).
Ctrl+Z (:meth:`PromptSet.undo`) goes back one change, Ctrl+Shift+Z (:meth:`PromptSet.redo`) forward again;
a new prompt after an undo drops what could be redone, as in any editor. :meth:`PromptSet.clear` (B, a
finished object, another image) starts afresh: nothing to undo or redo.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

Box = Tuple[float, float, float, float]


class PromptSet:
    """The current object's prompts (:attr:`items`, oldest first) and their undo / redo steps."""

    def __init__(self) -> None:
        self.items: List[tuple] = []
        self._undo: List[List[tuple]] = []  # the items before each change, newest last
        self._redo: List[List[tuple]] = []  # the items an undo left, newest last

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo) or bool(self.items)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def _change(self, items: Sequence[tuple]) -> None:
        self._undo.append(list(self.items))
        self._redo.clear()
        self.items[:] = items  # in place: holders of ``items`` see the change

    def add_point(self, x: float, y: float, positive: bool) -> None:
        self._change(self.items + [("point", float(x), float(y), bool(positive))])

    def add_box(self, box: Box, negative: bool) -> bool:
        """Add a box; a positive box replaces the positive box already there. True when one was replaced."""
        kept = self.items
        replaces = not negative and any(a[0] == "box" and not a[2] for a in kept)
        if replaces:
            kept = [a for a in kept if not (a[0] == "box" and not a[2])]
        self._change(kept + [("box", tuple(float(v) for v in box), bool(negative))])
        return replaces

    def replace(self, items: Sequence[tuple]) -> None:
        """Make ``items`` the prompts, as one undoable change (e.g. the box of a found object)."""
        self._change(list(items))

    def undo(self) -> bool:
        """Go back one change; False when there is nothing to undo."""
        if self._undo:
            previous = self._undo.pop()
        elif self.items:  # prompts set from outside the undo steps: remove the newest
            previous = self.items[:-1]
        else:
            return False
        self._redo.append(list(self.items))
        self.items[:] = previous
        return True

    def redo(self) -> bool:
        """Bring back what the last undo removed; False when there is nothing to redo."""
        if not self._redo:
            return False
        self._undo.append(list(self.items))
        self.items[:] = self._redo.pop()
        return True

    def forget_redo(self) -> None:
        """Another undo level acted (e.g. a shape was undone): redo must not jump back over it."""
        self._redo.clear()

    def clear(self) -> None:
        """No prompts, nothing to undo or redo."""
        self.items[:] = []
        self._undo.clear()
        self._redo.clear()
