"""The review state of a folder: which images are marked checked, and "Go -> next unchecked".

An image is checked when its LabelMe file has ``"checked": true`` at the top level (X-AnyLabeling's key;
:attr:`anylabel.document.ImageAnnotation.checked`). An image without a LabelMe file is unchecked. A file that
cannot be read counts as unchecked too, so "next unchecked" leads the annotator to it, where opening it
shows the error; :meth:`ReviewIndex.problems` lists such files.

Reading is cheap and cached: a file whose bytes do not contain ``"checked"`` is unchecked without parsing;
in a file indented by two spaces (how anylabel, labelme and X-AnyLabeling write) the top-level key is the
line ``  "checked": true`` (deeper keys are indented more, and a ``"`` inside a string is escaped), found
without parsing the shapes (a 80 kB file parses in ~1 ms, the search takes microseconds); other files are
parsed. A result is kept until the file's size or modification time changes.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple, Union

PathLike = Union[str, Path]

_TOP_LEVEL_CHECKED = re.compile(rb'\n  "checked": (true|false)\s*[,}\n]')


class ReviewIndex:
    """The checked state of annotation files, cached per file by (size, mtime)."""

    def __init__(self) -> None:
        self._cache: Dict[str, Tuple[Tuple[int, int], bool]] = {}
        self._problems: Dict[str, str] = {}

    def checked(self, path: PathLike) -> bool:
        """True when the LabelMe file ``path`` exists and says ``"checked": true``."""
        key = os.fspath(path)
        try:
            st = os.stat(key)
        except FileNotFoundError:
            self._cache.pop(key, None)
            self._problems.pop(key, None)
            return False
        stamp = (st.st_size, st.st_mtime_ns)
        hit = self._cache.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        value = self._read(key)
        self._cache[key] = (stamp, value)
        return value

    def _read(self, key: str) -> bool:
        self._problems.pop(key, None)
        try:
            raw = Path(key).read_bytes()
        except OSError as e:
            self._problems[key] = f"cannot be read: {e.strerror or e}"
            return False
        if b'"checked"' not in raw:
            return False
        if raw.startswith(b'{\n  "'):  # indented by two: top-level keys are the lines at two spaces
            found = _TOP_LEVEL_CHECKED.search(raw)
            return found is not None and found.group(1) == b"true"
        try:
            data = json.loads(raw)
        except ValueError as e:  # JSONDecodeError and UnicodeDecodeError
            self._problems[key] = f"is not valid JSON: {e}"
            return False
        return isinstance(data, dict) and data.get("checked") is True

    def problems(self) -> Dict[str, str]:
        """File -> why it could not be read, for the files met so far."""
        return dict(self._problems)

    def forget(self, path: PathLike) -> None:
        """Drop the cached state of ``path`` (after the session saved it, say)."""
        self._cache.pop(os.fspath(path), None)


def next_unchecked(paths: Sequence[PathLike], current: int, index: Optional[ReviewIndex] = None,
                   backwards: bool = False, wrap: bool = True) -> Optional[int]:
    """The position in ``paths`` (the LabelMe files of the file list, in its order) of the next image after
    ``current`` that is not checked, or None when every other image is checked.

    Args:
        current: the shown image's position (-1 to search from the start).
        backwards: search towards the start (Go -> previous unchecked).
        wrap: continue from the other end; the current image itself is never the answer.
    """
    index = index if index is not None else ReviewIndex()
    n = len(paths)
    step = -1 if backwards else 1
    for k in range(1, n + 1):
        i = current + step * k
        if not wrap and not 0 <= i < n:
            return None
        i %= n
        if i == current:
            return None
        if not index.checked(paths[i]):
            return i
    return None


def count_checked(paths: Sequence[PathLike], index: Optional[ReviewIndex] = None) -> int:
    """How many of ``paths`` are checked."""
    index = index if index is not None else ReviewIndex()
    return sum(index.checked(p) for p in paths)
