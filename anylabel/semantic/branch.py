"""The semantic branch: anything that gives a class id for every pixel of an image.

SSA pairs SAM's precise but class-agnostic masks with such a branch (a semantic segmenter with blurry
boundaries) and lets the pixels inside each mask vote (:mod:`anylabel.semantic.voting`).

A class map is an int32 HxW array; ``names[i]`` is the name of class id ``i``. It may be at a different
resolution from the image (voting resizes it, nearest neighbour). Ids without a name, and the branch's
``ignore_ids``, never vote.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from anylabel.errors import FormatError

PathLike = Union[str, Path]
ClassMap = Tuple[np.ndarray, List[str]]


class SemanticBranch(ABC):
    """A per-pixel classifier.

    Attributes:
        name: the spec it was built from, e.g. ``"labelmap:/data/SegmentationClass"`` (recorded in the
            output files).
        ignore_ids: class ids that never vote (e.g. VOC's 255 boundary), in addition to ids without names.
        needs_image: False when :meth:`class_map` only needs the image's path (label maps on disk), so
            callers can skip decoding the image.
    """

    name: str = "semantic"
    ignore_ids: Tuple[int, ...] = ()
    needs_image: bool = True

    @abstractmethod
    def class_map(self, image: Optional[np.ndarray], image_path: Optional[PathLike] = None) -> ClassMap:
        """The class map of one image.

        Args:
            image: HxWx3 uint8 RGB, or ``None`` when the branch does not need pixels (``needs_image``).
            image_path: the image file; label-map branches find their map by its name.

        Returns:
            ``(class_map, names)``: int32 HxW class ids (any resolution) and the class names by id.
        """

    def pixels(self, image: Optional[np.ndarray], image_path: Optional[PathLike]) -> np.ndarray:
        """``image``, or the image decoded from ``image_path`` (ValueError when neither is given)."""
        if image is not None:
            return image
        if image_path is None:
            raise ValueError(f"the {self.name.split(':')[0]} branch needs the image or its path")
        from anylabel.imaging import load_image

        return load_image(image_path)

    def close(self) -> None:
        """Release the model (optional)."""


def read_names(path: PathLike) -> List[str]:
    """Class names from a text file: one name per line, line number (from 0) = class id.

    Surrounding whitespace and trailing empty lines are dropped; an empty line inside the file is kept
    as an unnamed id (``""``) so that the numbering stays right.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise FormatError(f"cannot read the class names file: {e.strerror or e}", path) from e
    except UnicodeDecodeError as e:
        raise FormatError(f"the class names file is not UTF-8 text ({e.reason})", path) from e
    names = [line.strip() for line in text.splitlines()]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise FormatError("the class names file is empty", path)
    return names


def as_int32_map(values: np.ndarray) -> np.ndarray:
    """A 2-D integer array as a C-contiguous int32 class map (raises ValueError for other shapes)."""
    arr = np.asarray(values)
    if arr.ndim != 2:
        raise ValueError(f"a class map must be 2-D, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.int32)


def stem_candidates(image_path: PathLike) -> Sequence[str]:
    """Names a per-image file may have: the image's stem (``a.jpg`` -> ``a``) and its full name."""
    p = Path(image_path)
    return (p.stem, p.name)
