"""Steps every dataset writer shares: the class list, non-ASCII notices, the train/val split."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Set

import numpy as np

from anylabel.formats.base import Item, Options, Report
from anylabel.formats.instances import AREA_TYPES
from anylabel.formats.labels import LabelMap, build_label_map


def resolve_label_map(items: Sequence[Item], options: Options) -> LabelMap:
    """The classes of an export: ``options.labels`` when given, else discovered from the labels of the
    area shapes (polygon, rectangle, circle, mask) of all items, sorted."""
    found = [lb for it in items for lb in (
        it.prepared.area_labels if it.prepared is not None else
        (s.label for s in it.annotation.shapes if s.shape_type in AREA_TYPES))]
    return build_label_map(options.labels, found)


class NonAsciiNotes:
    """Warns once per distinct non-ASCII label or file name.

    Nothing is wrong with them (everything is written as UTF-8), but some training tools still break on
    them (OpenCV's ``imread`` on Windows returns ``None`` for non-ASCII paths; old COCO tools read JSON as
    Latin-1), so the user is told where they are.
    """

    def __init__(self, report: Report) -> None:
        self.report = report
        self._seen: Set[str] = set()

    def label(self, label: str, file: str, shape: Optional[int]) -> None:
        if not label.isascii() and ("l:" + label) not in self._seen:
            self._seen.add("l:" + label)
            self.report.warn(file, shape, "non_ascii", f"label {label!r} is not ASCII (written as UTF-8)")

    def path(self, name: str, file: str) -> None:
        if not name.isascii() and ("p:" + name) not in self._seen:
            self._seen.add("p:" + name)
            self.report.warn(file, None, "non_ascii", f"file name {name!r} is not ASCII; some tools (OpenCV on "
                             "Windows) cannot open it")


def split_subsets(items: Sequence[Item], split: Optional[float], seed: int) -> List[str]:
    """``"train"`` or ``"val"`` for each item, reproducibly.

    The items are ordered by their source path (so the order they were listed in does not matter), shuffled
    by ``numpy.random.default_rng(seed)``, and the first ``round(split * n)`` go to train. With at least 2
    items and ``split < 1`` both subsets get at least one image. ``split=None`` puts all in train.
    """
    n = len(items)
    if split is None or split >= 1.0 or n == 0:
        return ["train"] * n
    order = sorted(range(n), key=lambda i: (items[i].source.as_posix(), items[i].annotation.image_path))
    perm = np.random.default_rng(seed).permutation(n)
    n_train = int(round(split * n))
    if n >= 2:
        n_train = min(max(n_train, 1), n - 1)
    subset: Dict[int, str] = {}
    for rank, j in enumerate(perm):
        subset[order[j]] = "train" if rank < n_train else "val"
    return [subset[i] for i in range(n)]
