"""SSA's voting: each mask takes the most frequent semantic class among its pixels.

Conventions (all documented behaviour, tested in ``tests/semantic/test_voting.py``):

* **Masks** are bool (or uint8, non-zero = inside) HxW arrays at the image's full size, given as a list
  or an NxHxW stack. They may overlap (SAM's "everything" masks do).
* **Class map**: an int HxW array of class ids; ``names[i]`` is the name of id ``i``. Ids outside
  ``0..len(names)-1`` (for example VOC's 255 boundary) never vote, and neither do ids in ``ignore_ids``
  (for example 0 to make a background class abstain).
* **Resolution**: when the class map's size differs from the masks' size (a semantic model that works at
  a lower resolution), the class map is resized to the mask size with nearest-neighbour sampling at pixel
  centres, so ids are never blended into ids that do not exist. Masks are never resized.
* **Vote**: the top-1 class by pixel count; ``confidence`` is that class's share of the mask's *voting*
  pixels (ignored pixels excluded); ``proposals`` are the top-k classes with their shares.
* **Ties** are broken deterministically in favour of the **lowest class id** (a stable sort).
* **Empty masks**, and masks whose pixels all abstain, get no vote: ``label is None``,
  ``class_id == -1``, ``confidence == 0.0`` and no proposals.
* **Groups**: masks with the same non-``None`` group key are parts of one instance (a LabelMe
  ``group_id``); they get one vote over the *union* of their pixels (overlaps count once), and every
  part receives the same :class:`Vote`.
* ``ignore_label``: when given, pixels with an ignore id form one extra pseudo-class of that name
  instead of abstaining. labelme's ``labelme2voc`` writes its ``__ignore__`` regions as 255, so with
  ``ignore_label="__ignore__"`` a mask lying in such a region gets that label back.

Speed: each mask's pixels are gathered in the band of rows it occupies (a short-circuit scan finds it)
and counted with ``np.bincount``; there is no loop over pixels, the loop over masks only slices.
``benchmarks/voting.py`` measures it (target: 100 masks on 1500x2250 in <= 200 ms) against the naive
loop and against a single bincount over ``mask_index * n_bins + class`` keys.
"""
from __future__ import annotations

from typing import Hashable, List, Optional, Sequence, Tuple, Union

import numpy as np

from anylabel.errors import GeometryError
from anylabel.votes import NO_VOTE, Proposal, Vote  # noqa: F401 - re-exported: the shared types

Masks = Union[np.ndarray, Sequence[np.ndarray]]
Box = Tuple[int, int, int, int]




def resize_class_map(class_map: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of an HxW id map to ``size`` = (height, width).

    Output pixel (r, c) takes the id at the input pixel containing its centre, so a class map at half
    resolution maps each of its pixels to a 2x2 block and nothing is interpolated.
    """
    h, w = int(size[0]), int(size[1])
    ch, cw = class_map.shape
    if (ch, cw) == (h, w):
        return class_map
    rows = np.minimum(((np.arange(h) + 0.5) * (ch / h)).astype(np.int64), ch - 1)
    cols = np.minimum(((np.arange(w) + 0.5) * (cw / w)).astype(np.int64), cw - 1)
    return class_map[rows[:, None], cols[None, :]]


def prepare_class_map(
    class_map: np.ndarray,
    n_classes: int,
    size: Optional[Tuple[int, int]] = None,
    ignore_ids: Sequence[int] = (),
    ignore_bin: bool = False,
) -> np.ndarray:
    """Map a raw class map to contiguous *bins* for :func:`class_counts`.

    Ids ``0..n_classes-1`` keep their value; with ``ignore_bin`` the ignore ids go to bin ``n_classes``
    (the ignore pseudo-class); every other pixel abstains and gets the value ``n_bins`` (=
    ``n_classes + ignore_bin``). The result is C-contiguous, at ``size`` (default: the map's own size),
    uint8 when the bins fit in it (less memory traffic when gathering) and int32 otherwise. Callers voting
    many times on one image (the GUI) prepare once and reuse it.
    """
    cm = np.asarray(class_map)
    if cm.ndim != 2:
        raise GeometryError(f"a class map must be 2-D (HxW), got shape {cm.shape}")
    if not np.issubdtype(cm.dtype, np.integer):
        raise GeometryError(f"a class map must hold integer ids, got dtype {cm.dtype}")
    if size is not None:
        cm = resize_class_map(cm, size)
    n_bins = n_classes + int(ignore_bin)
    dtype = np.uint8 if n_bins < 255 else np.int32
    ignore = [int(i) for i in ignore_ids]
    lo, hi = (int(cm.min()), int(cm.max())) if cm.size else (0, 0)
    # Ids beyond every named or ignored id all abstain alike: clip them, so the table stays small even
    # for a map holding garbage like 2**31.
    floor, cap = min([-1] + ignore), max([n_classes] + [i + 1 for i in ignore])
    if lo < floor or hi > cap:
        cm = np.clip(cm, floor, cap)
        lo, hi = max(lo, floor), min(hi, cap)
    base = min(lo, 0)
    # A lookup table over the ids present is one gather instead of several comparisons per pixel.
    lut = np.full(hi - base + 1, n_bins, dtype=dtype)
    valid = np.arange(max(lo, 0), min(hi, n_classes - 1) + 1)
    lut[valid - base] = valid
    for i in ignore:
        if lo <= i <= hi:
            lut[i - base] = n_classes if ignore_bin else n_bins
    if base == 0:
        return np.ascontiguousarray(lut[cm])
    return np.ascontiguousarray(lut[cm.astype(np.int64) - base])


#: bytes scanned per step when looking for a mask's last pixel from the end (see :func:`_row_range`)
_SCAN_BLOCK = 1 << 18


def class_counts(masks: Masks, bins: np.ndarray, n_bins: int,
                 boxes: Optional[Sequence[Optional[Box]]] = None) -> np.ndarray:
    """Pixel counts per (mask, bin): an N x n_bins int64 array.

    Each mask's pixels are gathered in the band of rows it occupies (found by a short-circuit scan, see
    :func:`_row_range`), then counted by ``np.bincount``. The gathered bins are uint8 for up to 254
    classes. One ``bincount`` per mask was measured 2-3x faster than a single ``bincount`` over
    ``mask_index * (n_bins + 1) + bin`` keys for all masks (those int64 keys cost two more passes of
    memory traffic); ``benchmarks/voting.py`` prints both. Abstaining pixels (value ``n_bins``) fall in a
    column that is dropped.

    Args:
        masks: N bool/uint8 HxW masks (list or NxHxW stack), the same size as ``bins``.
        bins: HxW from :func:`prepare_class_map`.
        n_bins: number of bins (class count, plus one when the ignore pseudo-class is on).
        boxes: optional tight box per mask, ``(x1, y1, x2, y2)`` ints with exclusive ends (what
            ``MaskCandidate.box`` holds); a known box skips the scan for the mask's rows.
    """
    bins = np.ascontiguousarray(bins)
    h, w = bins.shape
    rows_out: List[np.ndarray] = []
    for i, mask in enumerate(masks):
        m = np.asarray(mask)
        if m.shape != (h, w):
            raise GeometryError(f"mask {i} has shape {m.shape}, expected {(h, w)}")
        if m.dtype != np.bool_:
            m = m != 0
        box = boxes[i] if boxes is not None else None
        if box is not None:
            x1, y1, x2, y2 = (int(v) for v in box)
            ids = bins[max(0, y1):y2, max(0, x1):x2][m[max(0, y1):y2, max(0, x1):x2]]
        else:
            m = np.ascontiguousarray(m)
            rows = _row_range(m)
            if rows is None:
                rows_out.append(np.zeros(n_bins + 1, dtype=np.int64))
                continue
            ids = bins[rows[0]:rows[1]][m[rows[0]:rows[1]]]
        rows_out.append(np.bincount(ids, minlength=n_bins + 1)[: n_bins + 1])
    if not rows_out:
        return np.zeros((0, n_bins), dtype=np.int64)
    return np.stack(rows_out)[:, :n_bins].astype(np.int64, copy=False)


def _row_range(mask: np.ndarray) -> Optional[Tuple[int, int]]:
    """Rows ``(r0, r1)`` (end exclusive) holding the pixels of a C-contiguous bool mask; None if empty.

    ``argmax`` on a bool array stops at the first True, so finding the first pixel costs only the bytes
    before it. Searching backwards with a reversed view is not vectorised, so the last pixel is found
    by scanning blocks from the end with ``any`` and reversing only the block that holds it.
    """
    flat = mask.ravel()
    first = int(flat.argmax())
    if not flat[first]:
        return None
    end = flat.size
    last = first
    while end > first:
        start = max(first, end - _SCAN_BLOCK)
        block = flat[start:end]
        if block.any():
            last = start + block.size - 1 - int(block[::-1].argmax())
            break
        end = start
    width = mask.shape[1]
    return first // width, last // width + 1


def votes_from_counts(counts: np.ndarray, names: Sequence[str], top_k: int = 3, source: str = "semantic") -> List[Vote]:
    """Turn an N x len(names) count matrix into votes (top-1, share, top-k; ties to the lowest id)."""
    counts = np.asarray(counts, dtype=np.int64)
    totals = counts.sum(axis=1)
    # Stable sort of -count: equal counts keep ascending id order, so the lowest id wins a tie.
    order = np.argsort(-counts, axis=1, kind="stable")
    votes: List[Vote] = []
    for row, total in enumerate(totals):
        if total == 0:
            votes.append(Vote(label=None, source=source))
            continue
        props = []
        for cid in order[row, : max(1, top_k)]:
            c = counts[row, cid]
            if c == 0:
                break
            props.append(Proposal(label=names[cid], class_id=int(cid), score=float(c) / float(total)))
        best = props[0]
        votes.append(Vote(label=best.label, class_id=best.class_id, confidence=best.score,
                          proposals=tuple(props), pixels=int(total), source=source))
    return votes


def vote_masks(
    masks: Masks,
    class_map: np.ndarray,
    names: Sequence[str],
    *,
    ignore_ids: Sequence[int] = (),
    ignore_label: Optional[str] = None,
    top_k: int = 3,
    groups: Optional[Sequence[Optional[Hashable]]] = None,
    boxes: Optional[Sequence[Optional[Box]]] = None,
) -> List[Vote]:
    """Vote a class for every mask; see the module docstring for every convention.

    Args:
        masks: N bool HxW masks at the image size (list or NxHxW stack).
        class_map: int HxW class ids, any resolution (resized nearest to the masks' size).
        names: class names, ``names[id]``.
        ignore_ids: ids that do not vote (in addition to ids without a name).
        ignore_label: name of a pseudo-class formed by the ignore ids (off by default).
        top_k: number of proposals per vote.
        groups: one key per mask; masks sharing a non-``None`` key vote once over their union.
        boxes: optional tight box per mask (x1, y1, x2, y2, exclusive ends), e.g. ``MaskCandidate.box``;
            a box that does not contain all of its mask's pixels gives wrong counts. Ignored with groups.

    Returns:
        One :class:`Vote` per mask, in the order of ``masks``.
    """
    seq = _as_sequence(masks)
    if len(seq) == 0:
        return []
    size = np.shape(seq[0])
    if len(size) != 2:
        raise GeometryError(f"masks must be 2-D (HxW), got shape {size}")
    all_names = list(names) + ([ignore_label] if ignore_label is not None else [])
    bins = prepare_class_map(class_map, len(names), size, ignore_ids, ignore_bin=ignore_label is not None)
    units, owner = group_units(seq, groups)
    counts = class_counts(units, bins, len(all_names), boxes=boxes if groups is None else None)
    unit_votes = votes_from_counts(counts, all_names, top_k)
    return [unit_votes[u] for u in owner]


def _as_sequence(masks: Masks) -> Sequence[np.ndarray]:
    """Masks as an indexable sequence; a lazy Sequence (decoding on access) is used as it is."""
    if isinstance(masks, np.ndarray):
        return masks[None] if masks.ndim == 2 else masks
    if isinstance(masks, Sequence):
        return masks
    return list(masks)


def group_units(masks: Sequence[np.ndarray], groups: Optional[Sequence[Optional[Hashable]]]):
    """The masks to label once each, and for every input mask the index of its unit.

    Ungrouped masks (key ``None``) are their own unit; masks sharing a key form one unit, the union of
    their pixels (so overlapping parts count once). Without ``groups`` the masks are returned as they
    are (a lazy sequence stays lazy).

    Returns:
        ``(units, owner)``: a sequence of bool HxW masks and a list with one unit index per mask.
    """
    if groups is None:
        return masks, list(range(len(masks)))
    if len(groups) != len(masks):
        raise ValueError(f"{len(groups)} group keys for {len(masks)} masks")
    units: List[np.ndarray] = []
    owner: List[int] = []
    unit_of_group: dict = {}
    members: dict = {}
    for m, g in zip(masks, groups):
        if g is None:
            owner.append(len(units))
            units.append(m)
        elif g in unit_of_group:
            owner.append(unit_of_group[g])
            members[g].append(m)
        else:
            unit_of_group[g] = len(units)
            owner.append(len(units))
            units.append(m)
            members[g] = [m]
    for g, parts in members.items():
        if len(parts) > 1:  # overlapping parts must count once: vote over the union
            units[unit_of_group[g]] = np.logical_or.reduce([np.asarray(p) != 0 for p in parts])
    return units, owner
