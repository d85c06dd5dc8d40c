"""The prompts of the object being segmented, typed, versioned, with undo / redo. Plain Python, no Qt.

A prompt is a small frozen dataclass, in the order the user gave them (image pixels, float, x right,
y down):

* :class:`PointPrompt` ``(x, y, positive)``: a click (``positive`` False = "not this");
* :class:`BoxPrompt` ``(x1, y1, x2, y2, negative)``: a dragged box (a negative box excludes its area);
* :class:`MaskPrompt` ``(mask, frame, shape_id)``: a painted preview or a re-prompted shape's mask.

One object has at most one positive box: a new one replaces the old (and undo brings the old one back).
Ctrl+Z (:meth:`PromptSet.undo`) goes back one change, Ctrl+Shift+Z (:meth:`PromptSet.redo`) forward again;
a new prompt after an undo drops what could be redone, as in any editor. :meth:`PromptSet.clear` (B, a
finished object, another image) starts afresh: nothing to undo or redo.

Two rules live here, each in one function:

* **which answer is current** (:func:`is_current`): every change bumps :attr:`PromptSet.version`; an
  answer carries the image key and the version it was computed for, and only the answer for the current
  image and version is accepted (older ones are stale: the user clicked again meanwhile);
* **when the last logits refine the next prompt** (:func:`logits_to_reuse`): SAM's interactive
  refinement feeds the previous answer's low-resolution logits back with the next click, but only while
  prompts were only *added as points* since that answer's prompts; a removed prompt (undo), a new or
  replaced box, a cleared set or another model start from scratch (:attr:`PromptSet.refine_from`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Protocol, Sequence, Tuple, Union

import numpy as np

from anylabel.backends.prompt import MaskCandidate, Prompt

Box = Tuple[float, float, float, float]


@dataclass(frozen=True)
class PointPrompt:
    """A click at image pixel (x, y); ``positive`` False = a "not this object" click."""

    x: float
    y: float
    positive: bool = True


@dataclass(frozen=True)
class BoxPrompt:
    """A dragged box (x1, y1, x2, y2) in image pixels, x1 <= x2, y1 <= y2; ``negative`` = exclude its area."""

    x1: float
    y1: float
    x2: float
    y2: float
    negative: bool = False

    @classmethod
    def of(cls, box: Sequence[float], negative: bool = False) -> "BoxPrompt":
        x1, y1, x2, y2 = (float(v) for v in box)
        return cls(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2), bool(negative))

    @property
    def box(self) -> Box:
        return (self.x1, self.y1, self.x2, self.y2)


@dataclass(frozen=True, eq=False)
class MaskPrompt:
    """A mask the object starts from: a brushed AI preview or a finished shape being re-prompted.

    While it is the newest prompt, its mask *is* the preview (no model run needed); clicks after it refine it
    (the mask is the model's mask input, :func:`anylabel.editing.reprompt.reprompt`).

    Attributes:
        mask: bool HxW full-size mask (not copied: never change it in place).
        frame: the model's logit grid (:class:`~anylabel.editing.reprompt.LogitFrame`), None for models
            without mask prompts (then the mask's box is the box prompt).
        shape_id: the finished shape being re-prompted (finish replaces it), or None.
    """

    mask: np.ndarray
    frame: Optional[object] = None
    shape_id: Optional[int] = None

    def candidate(self) -> MaskCandidate:
        """The preview this mask gives (with its logits where the model takes mask prompts)."""
        from anylabel.editing.reprompt import candidate_from_mask

        return candidate_from_mask(self.mask, self.frame)


PromptItem = Union[PointPrompt, BoxPrompt, MaskPrompt]


class Answer(Protocol):
    """What a segmenter run returns to the session (the GUI's ``SegmentResult`` is one).

    Attributes:
        image_id: the key of the image it was computed on; version: the prompt version it answers;
        candidates: best first, each a bool HxW mask with score and low-resolution logits.
    """

    image_id: Optional[str]
    version: int
    candidates: List[MaskCandidate]


@dataclass
class PlainAnswer:
    """A Qt-free :class:`Answer` (scripts, tests, the headless workflow)."""

    image_id: Optional[str]
    version: int
    candidates: List[MaskCandidate]
    prompt: Optional[Prompt] = None


class PromptSet:
    """The current object's prompts (:attr:`items`, oldest first), their version and undo / redo steps."""

    def __init__(self) -> None:
        self.items: List[PromptItem] = []
        self.version = 0  # bumped by every change
        self.refine_from = 0  # answers to versions from here on may refine the next prompt (see module doc)
        self._undo: List[List[PromptItem]] = []  # the items before each change, newest last
        self._redo: List[List[PromptItem]] = []  # the items an undo left, newest last

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

    @property
    def points(self) -> List[PointPrompt]:
        return [a for a in self.items if isinstance(a, PointPrompt)]

    @property
    def boxes(self) -> List[BoxPrompt]:
        return [a for a in self.items if isinstance(a, BoxPrompt)]

    @property
    def base(self) -> Optional[MaskPrompt]:
        """The newest :class:`MaskPrompt` (the mask the object starts from), or None."""
        masks = [a for a in self.items if isinstance(a, MaskPrompt)]
        return masks[-1] if masks else None

    def add_mask(self, mask: MaskPrompt) -> None:
        """Make ``mask`` the object's base (a brush stroke on the preview, a re-prompted shape): an undo step."""
        self._change(self.items + [mask])

    def _bump(self, refine: bool) -> None:
        self.version += 1
        if not refine:
            self.refine_from = self.version

    def _change(self, items: Sequence[PromptItem], refine: bool = False) -> None:
        self._undo.append(list(self.items))
        self._redo.clear()
        self.items[:] = items  # in place: holders of ``items`` see the change
        self._bump(refine)

    def add_point(self, x: float, y: float, positive: bool = True) -> PointPrompt:
        point = PointPrompt(float(x), float(y), bool(positive))
        self._change(self.items + [point], refine=True)  # only an added point keeps refining
        return point

    def add_box(self, box: Sequence[float], negative: bool = False) -> bool:
        """Add a box; a positive box replaces the positive box already there. True when one was replaced."""
        new = BoxPrompt.of(box, negative)
        kept = self.items
        replaces = not negative and any(isinstance(a, BoxPrompt) and not a.negative for a in kept)
        if replaces:
            kept = [a for a in kept if not (isinstance(a, BoxPrompt) and not a.negative)]
        self._change(kept + [new])
        return replaces

    def replace(self, items: Sequence[PromptItem]) -> None:
        """Make ``items`` the prompts, as one undoable change (e.g. the box of a found object)."""
        self._change(list(items))

    def retarget(self, old: PromptItem, new: PromptItem) -> bool:
        """Swap prompt ``old`` for ``new`` in place, not as an undo step (the find box follows the candidate
        shown). It is still a change: the version moves on. False when ``old`` is not there."""
        for i, a in enumerate(self.items):
            if a is old:
                self.items[i] = new
                self._bump(refine=False)
                return True
        return False

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
        self._bump(refine=False)
        return True

    def redo(self) -> bool:
        """Bring back what the last undo removed; False when there is nothing to redo."""
        if not self._redo:
            return False
        self._undo.append(list(self.items))
        self.items[:] = self._redo.pop()
        self._bump(refine=False)
        return True

    def forget_redo(self) -> None:
        """Another undo level acted (e.g. a shape was undone): redo must not jump back over it."""
        self._redo.clear()

    def forbid_refinement(self) -> None:
        """No answer computed so far may refine the next prompt (another model: its logits mean nothing)."""
        self.refine_from = self.version + 1

    def clear(self) -> None:
        """No prompts, nothing to undo or redo (a change: the version moves on)."""
        self.items[:] = []
        self._undo.clear()
        self._redo.clear()
        self._bump(refine=False)

    def to_prompt(self, mask_logits: Optional[np.ndarray] = None) -> Prompt:
        """The backend :class:`~anylabel.backends.prompt.Prompt` of these prompts (the newest positive box),
        a mask base on the logit grid it was made with (see :class:`PromptPlan` for a grid known later)."""
        base = self.base
        return build_prompt(self.items, mask_logits, base.frame if base is not None else None)

    def plan(self, mask_logits: Optional[np.ndarray] = None) -> Optional["PromptPlan"]:
        """A snapshot of these prompts to build on the model's side, when they start from a mask (a
        re-prompted shape, a brushed preview); None without one (:meth:`to_prompt` is then final)."""
        if self.base is None:
            return None
        return PromptPlan(tuple(self.items), mask_logits)


@dataclass(frozen=True, eq=False)
class PromptPlan:
    """Prompts that start from a mask, built once the model's logit grid is known.

    The mask becomes the model's mask input on its logit grid (:class:`~anylabel.editing.reprompt.LogitFrame`),
    which only the model knows, and only once it has an image set: Ctrl+R on an image not encoded yet has
    no grid on the GUI side. The worker calls :meth:`prompt` after setting the image, so even the first click
    sends the shape's mask (not its box). Frozen, a copy of the items: safe to hand to another thread.
    """

    items: Tuple["PromptItem", ...]
    mask_logits: Optional[np.ndarray] = None

    def prompt(self, frame: Optional[object]) -> Prompt:
        """The backend prompt with the base mask on ``frame`` (None: a model without mask prompts, the
        mask's box is the box prompt)."""
        return build_prompt(self.items, self.mask_logits, frame)


def build_prompt(items: Sequence["PromptItem"], mask_logits: Optional[np.ndarray],
                 frame: Optional[object]) -> Prompt:
    """The backend prompt of ``items``: the clicks, the newest positive box, the negative boxes; the newest
    mask base as the model's mask input on ``frame`` (:func:`anylabel.editing.reprompt.reprompt`);
    ``mask_logits`` (a newer answer's, when it may refine) replace the base's."""
    pts = [a for a in items if isinstance(a, PointPrompt)]
    boxes = [a for a in items if isinstance(a, BoxPrompt)]
    masks = [a for a in items if isinstance(a, MaskPrompt)]
    positive_boxes = [b.box for b in boxes if not b.negative]
    clicks = ([(p.x, p.y) for p in pts if p.positive], [(p.x, p.y) for p in pts if not p.positive])
    box = positive_boxes[-1] if positive_boxes else None
    negative_boxes = [b.box for b in boxes if b.negative]
    base = masks[-1] if masks else None
    if base is not None and not base.mask.any():  # erased to nothing: only the clicks are left
        base = None
    if base is not None:  # the base mask as the model's mask input (or its box, for models without one)
        from anylabel.editing.reprompt import reprompt

        prompt = reprompt(base.mask, frame, *clicks, box=box, negative_boxes=negative_boxes)
    else:
        prompt = Prompt.from_clicks(*clicks, box=box, negative_boxes=negative_boxes)
    if mask_logits is not None or base is None:  # a newer answer's logits refine further
        prompt.mask_logits = mask_logits
    return prompt


def is_current(answer: Answer, image_id: Optional[str], prompts: PromptSet) -> bool:
    """True when ``answer`` was computed for this image and the newest prompt version (else it is stale)."""
    return answer.image_id == image_id and answer.version == prompts.version


def logits_to_reuse(answer: Optional[Answer], candidate: int, prompts: PromptSet) -> Optional[np.ndarray]:
    """The low-resolution logits (1x256x256 float32 for SAM / SAM2) that go with the next prompt set: the
    shown candidate's of ``answer``, when that answer's prompts were only extended by points since
    (``answer.version >= prompts.refine_from``); else None (start from scratch)."""
    if answer is None or not answer.candidates or answer.version < prompts.refine_from:
        return None
    return answer.candidates[min(candidate, len(answer.candidates) - 1)].logits
