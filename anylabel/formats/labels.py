"""Class lists: labelme's ``labels.txt`` and discovered labels, and the ids each format gives them.

labelme's convention (its ``labelme2coco.py`` / ``labelme2voc.py``), which we follow:

* ``labels.txt`` has one class name per line, in id order. Its first line is usually ``__ignore__``:
  labelme gives it id -1 and writes no category for it; shapes labelled ``__ignore__`` mark regions to
  ignore and are never exported as instances (labelme drops them too).
* The next line is usually ``_background_`` with id 0. labelme's COCO export lists it as category 0 even
  though no annotation can use it; we keep its id 0 (so every other class keeps labelme's id: aeroplane=1
  in the VOC example) but do not write it as a category: COCO reserves 0 for "no category" and a phantom
  class makes detectors train an extra output. In YOLO it is not a class either.
* Shapes whose label is not in the file are left out with an ``unknown_label`` warning (labelme drops them
  silently).

Without a labels file the classes are discovered: every label found, except the two special names, in
sorted (code point) order, so the same folder always gives the same ids.
COCO ids are 1-based (0 only for a listed ``_background_``); YOLO ids are 0-based and contiguous.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Union

from anylabel.errors import FormatError

IGNORE = "__ignore__"
BACKGROUND = "_background_"
SPECIAL = (IGNORE, BACKGROUND)


@dataclass(frozen=True)
class LabelMap:
    """The classes of one export.

    Attributes:
        names: the real classes in order (no ``__ignore__`` / ``_background_``).
        coco_ids: COCO category id of each name in ``names``.
        from_file: True when the classes came from a labels file (unknown labels are then warned about).
    """

    names: tuple
    coco_ids: tuple
    from_file: bool
    _index: Dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {n: i for i, n in enumerate(self.names)})

    def __contains__(self, label: str) -> bool:
        return label in self._index

    def yolo_id(self, label: str) -> int:
        """0-based contiguous class index (YOLO)."""
        return self._index[label]

    def coco_id(self, label: str) -> int:
        """COCO category id (labelme-compatible when a labels file is used)."""
        return self.coco_ids[self._index[label]]

    def coco_categories(self) -> List[dict]:
        """The COCO ``categories`` list."""
        return [{"id": int(i), "name": n, "supercategory": ""} for n, i in zip(self.names, self.coco_ids)]


def read_labels_file(path: Union[str, Path]) -> List[str]:
    """The lines of a labels file (stripped, blank lines and ``#`` comments skipped), in order.

    Raises:
        FormatError: the file cannot be read, is not UTF-8, or repeats a name.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as e:
        raise FormatError(f"cannot read the labels file: {e.strerror or e}", path) from e
    except UnicodeDecodeError as e:
        raise FormatError(f"the labels file is not UTF-8 text ({e.reason})", path) from e
    names = [ln.strip() for ln in text.splitlines()]
    names = [n for n in names if n and not n.startswith("#")]
    seen = set()
    for n in names:
        if n in seen:
            raise FormatError(f"the labels file lists {n!r} twice", path)
        seen.add(n)
    if not [n for n in names if n not in SPECIAL]:
        raise FormatError("the labels file lists no class", path)
    return names


def label_map_from_list(names: Iterable[str]) -> LabelMap:
    """Ids for an explicit class list in labelme's labels.txt convention (see the module docstring)."""
    names = [n for n in names if n != IGNORE]
    start = 1
    if names and names[0] == BACKGROUND:
        start = 0
    ids = list(range(start, start + len(names)))
    pairs = [(n, i) for n, i in zip(names, ids) if n != BACKGROUND]
    return LabelMap(tuple(n for n, _ in pairs), tuple(i for _, i in pairs), True)


def discover_label_map(labels: Iterable[str]) -> LabelMap:
    """Sorted distinct labels (special names and empty labels excluded); COCO ids 1..N."""
    names = sorted({lb for lb in labels if lb and lb not in SPECIAL})
    return LabelMap(tuple(names), tuple(range(1, len(names) + 1)), False)


def build_label_map(explicit: Optional[Iterable[str]], found: Iterable[str]) -> LabelMap:
    """The explicit list when given, else the discovered one."""
    return label_map_from_list(explicit) if explicit is not None else discover_label_map(found)
