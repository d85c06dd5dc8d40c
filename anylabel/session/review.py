"""Review over the session's folder (``session.review``): "Go -> next unchecked" and how many are checked.

The checked state of each image is read from its LabelMe file by :class:`anylabel.editing.review.ReviewIndex`
(cached by size and mtime); the shown image counts with its state *in the session* (a mark not saved yet
counts), and a file the session saves is forgotten from the cache so it is read afresh.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from anylabel.editing.review import ReviewIndex, next_unchecked

if TYPE_CHECKING:
    from anylabel.session.session import AnnotationSession


class Review:
    """``session.review`` (see the module docstring)."""

    def __init__(self, session: "AnnotationSession") -> None:
        self.session = session
        self.index = ReviewIndex()
        session.saved.connect(self.index.forget)

    def _paths(self) -> list:
        folder = self.session.folder
        return [] if folder is None else [folder.annotation_path(r) for r in range(len(folder))]

    def is_checked(self, row: int) -> bool:
        """Image ``row``'s review mark (the shown image's from the session, the others' from their files)."""
        s = self.session
        if row == s.row and s.annotation is not None:
            return s.annotation.checked
        return self.index.checked(s.folder.annotation_path(row))

    def next_unchecked(self, backwards: bool = False) -> Optional[int]:
        """The row of the next image (after the shown one, wrapping around) that is not checked, or None when
        every other image is; load it with ``session.load``."""
        paths = self._paths()
        current = self.session.row if self.session.row is not None else -1
        return next_unchecked(paths, current, self.index, backwards=backwards)

    def count_checked(self) -> int:
        """How many images of the folder are checked (the shown one as in the session)."""
        folder = self.session.folder
        return 0 if folder is None else sum(self.is_checked(r) for r in range(len(folder)))
